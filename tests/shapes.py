"""Compare the emulator's JSON with a vendor payload: same keys, same JSON value types.

Used by the contract tests of every emulated silo (Shopify, Square, Zendesk).

* ``null`` on either side is compatible with any type; booleans, integers and other numbers are
  distinct types (``1`` is not ``1.0`` is not ``true``).
* Objects must have the same keys. A deliberate difference is declared by its path
  (``$.order.line_items[].tax_lines``, ``$[].item_data.sku``) with a reason: ``omitted`` for
  vendor keys the emulator lacks, ``added`` for keys only the emulator has. A declared path that
  does not occur is reported too (see :func:`assert_same_shape`).
* In a list, each of our elements is compared with the vendor elements it corresponds to (see
  :func:`counterparts`). For a vendor that leaves unset fields out (Square), ``merge_elements``
  compares instead the merged shape of each side's elements (the union of their keys), so an
  optional key present on some elements counts once. An empty list on either side is
  compatible with any list; :func:`covered` finds vendor lists whose elements went unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


class Mixed:
    """Several JSON types met at one path of merged list elements."""

    def __init__(self, kinds: set[str]) -> None:
        self.kinds = kinds


JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: True is an int to Python, not to JSON
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def json_type(value: Any) -> str:
    if isinstance(value, Mixed):
        return "|".join(sorted(value.kinds))
    for python_type, name in JSON_TYPES:
        if isinstance(value, python_type):
            return name
    raise TypeError(f"not a JSON value: {value!r}")


def as_json(value: Any) -> Any:
    """What the API puts on the wire (shared sub-objects and tuples flattened)."""
    return orjson.loads(orjson.dumps(value))


DISCRIMINATORS = ("type", "field_name")


def counterparts(ours: Any, theirs: list[Any]) -> list[Any]:
    """The vendor elements one of our elements is compared with (``theirs`` is not empty).

    Every vendor element, narrowed by each of :data:`DISCRIMINATORS` ours has to the elements with
    the same value (Zendesk audit events: same ``type``, then same ``field_name``). When none has
    it, the first remaining element stands in, so a kind the vendor sample lacks still shows up.
    """
    candidates = theirs
    if isinstance(ours, dict):
        for key in DISCRIMINATORS:
            if key in ours:
                same = [
                    item
                    for item in candidates
                    if isinstance(item, dict) and key in item and item[key] == ours[key]
                ]
                if not same:
                    return candidates[:1]
                candidates = same
    return candidates


def merge(values: list[Any]) -> Any:
    """One value with the shape of all of ``values`` (objects: the union of their keys)."""
    present = [value for value in values if value is not None]
    kinds = {json_type(value) for value in present}
    if kinds == {"object"}:
        keys: dict[str, list[Any]] = {}
        for value in present:
            for key, item in value.items():
                keys.setdefault(key, []).append(item)
        return {key: merge(items) for key, items in keys.items()}
    if kinds == {"array"}:
        return [item for value in present for item in value]
    if len(kinds) > 1:
        return Mixed(kinds)
    return present[0] if present else None


def shape_differences(
    ours: Any,
    theirs: Any,
    omitted: Mapping[str, str] | None = None,
    added: Mapping[str, str] | None = None,
    *,
    allow_extra: bool = False,
    merge_elements: bool = False,
) -> tuple[list[str], set[str]]:
    """(differences, declared paths met) between ``ours`` and the vendor's ``theirs``.

    ``allow_extra`` accepts every key only the emulator has (for minimal vendor examples);
    ``merge_elements`` compares lists by the merged shape of their elements.
    """
    omitted = omitted or {}
    added = added or {}
    differences: set[str] = set()
    met: set[str] = set()

    def walk(mine: Any, vendor: Any, path: str) -> None:
        if mine is None or vendor is None:
            return
        mine_type, vendor_type = json_type(mine), json_type(vendor)
        if mine_type != vendor_type:
            differences.add(f"{path}: {mine_type} here, {vendor_type} at the vendor")
            return
        if isinstance(mine, dict):
            for key in vendor.keys() - mine.keys():
                if f"{path}.{key}" in omitted:
                    met.add(f"{path}.{key}")
                else:
                    differences.add(f"{path}.{key}: missing here")
            for key in mine.keys() - vendor.keys():
                if f"{path}.{key}" in added:
                    met.add(f"{path}.{key}")
                elif not allow_extra:
                    differences.add(f"{path}.{key}: not in the vendor payload")
            for key in mine.keys() & vendor.keys():
                walk(mine[key], vendor[key], f"{path}.{key}")
        elif isinstance(mine, list) and mine and vendor:
            if merge_elements:
                walk(merge(mine), merge(vendor), f"{path}[]")
                return
            for item in mine:
                for match in counterparts(item, vendor):
                    walk(item, match, f"{path}[]")

    walk(ours, theirs, "$")
    return sorted(differences), met


def assert_same_shape(
    ours: Any,
    theirs: Any,
    omitted: Mapping[str, str] | None = None,
    added: Mapping[str, str] | None = None,
    **options: bool,
) -> None:
    """Fail on any undeclared difference, and on any declared one that does not occur.

    ``options`` (``allow_extra``, ``merge_elements``) are those of :func:`shape_differences`.
    """
    differences, met = shape_differences(ours, theirs, omitted, added, **options)
    assert not differences, "shape differences:\n" + "\n".join(differences)
    assert_all_met(met, omitted, added)


def assert_all_met(
    met: set[str], omitted: Mapping[str, str] | None = None, added: Mapping[str, str] | None = None
) -> None:
    """Fail on declared differences that did not occur (``met`` may gather several comparisons)."""
    stale = sorted((set(omitted or {}) | set(added or {})) - met)
    assert not stale, f"declared differences that did not occur: {stale}"


def covered(ours: Any, theirs: Any, path: str = "$") -> list[str]:
    """Vendor arrays that are non-empty but empty on our side (their elements went unchecked)."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        found: list[str] = []
        for key in ours.keys() & theirs.keys():
            found += covered(ours[key], theirs[key], f"{path}.{key}")
        return found
    if isinstance(theirs, list) and isinstance(ours, list):
        if theirs and not ours:
            return [f"{path}[]"]
        if theirs and ours:
            return covered(ours[0], theirs[0], f"{path}[]")
    return []
