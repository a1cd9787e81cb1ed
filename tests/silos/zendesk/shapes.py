"""Compare the emulator's JSON with a vendor payload: same keys, same JSON value types.

``null`` on either side is compatible with any type; a list compares each of our elements with a
vendor element of the same ``type`` (and ``field_name`` when the vendor has one), else with the
vendor's first element, so an event kind the vendor sample lacks shows up as differences.
Deliberate differences are declared by path (``$.ticket.fields``, ``$.users[].photo``) with a
reason, and every declared path must actually occur.
"""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def _counterpart(ours: Any, theirs: list[Any]) -> Any:
    if not isinstance(ours, dict) or "type" not in ours:
        return theirs[0]
    same_type = [
        item for item in theirs if isinstance(item, dict) and item.get("type") == ours["type"]
    ]
    for item in same_type:
        if "field_name" in item and item["field_name"] == ours.get("field_name"):
            return item
    return same_type[0] if same_type else theirs[0]


def shape_differences(
    ours: Any,
    theirs: Any,
    omitted: dict[str, str] | None = None,
    added: dict[str, str] | None = None,
) -> tuple[list[str], set[str]]:
    """(differences, declared paths met) between ``ours`` and the vendor's ``theirs``."""
    omitted = omitted or {}
    added = added or {}
    differences: list[str] = []
    met: set[str] = set()

    def walk(mine: Any, vendor: Any, path: str) -> None:
        if mine is None or vendor is None:
            return
        mine_type, vendor_type = json_type(mine), json_type(vendor)
        if mine_type != vendor_type:
            differences.append(f"{path}: {mine_type} here, {vendor_type} at the vendor")
            return
        if isinstance(mine, dict):
            for key in vendor.keys() - mine.keys():
                if f"{path}.{key}" in omitted:
                    met.add(f"{path}.{key}")
                else:
                    differences.append(f"{path}.{key}: missing here")
            for key in mine.keys() - vendor.keys():
                if f"{path}.{key}" in added:
                    met.add(f"{path}.{key}")
                else:
                    differences.append(f"{path}.{key}: not in the vendor payload")
            for key in mine.keys() & vendor.keys():
                walk(mine[key], vendor[key], f"{path}.{key}")
        elif isinstance(mine, list) and mine and vendor:
            for item in mine:
                walk(item, _counterpart(item, vendor), f"{path}[]")

    walk(ours, theirs, "$")
    return differences, met


def assert_same_shape(
    ours: Any,
    theirs: Any,
    omitted: dict[str, str] | None = None,
    added: dict[str, str] | None = None,
) -> None:
    """Fail on any undeclared difference, and on any declared one that does not occur."""
    differences, met = shape_differences(ours, theirs, omitted, added)
    declared = set(omitted or {}) | set(added or {})
    stale = sorted(declared - met)
    assert not differences, "shape differences:\n" + "\n".join(sorted(differences))
    assert not stale, f"declared differences that did not occur: {stale}"
