"""Compare the emulator's JSON with a vendor payload: same keys, same JSON value types."""

from __future__ import annotations

from typing import Any

import orjson


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def as_json(value: Any) -> Any:
    """What the API puts on the wire (shared sub-objects and tuples flattened)."""
    return orjson.loads(orjson.dumps(value))


def shape_diff(
    ours: Any,
    theirs: Any,
    *,
    omitted: frozenset[str] = frozenset(),
    extra: frozenset[str] = frozenset(),
    path: str = "$",
) -> list[str]:
    """Differences in keys and value types; ``null`` on either side matches anything.

    ``omitted``: vendor paths the emulator deliberately lacks; ``extra``: emulator paths the
    payload lacks. Paths look like ``$.order.line_items[].tax_lines[].price``.
    """
    if ours is None or theirs is None:
        return []
    if json_type(ours) != json_type(theirs):
        return [f"{path}: {json_type(ours)} != vendor {json_type(theirs)}"]
    diffs: list[str] = []
    if isinstance(theirs, dict):
        for key in theirs.keys() - ours.keys():
            if f"{path}.{key}" not in omitted:
                diffs.append(f"{path}.{key}: missing")
        for key in ours.keys() - theirs.keys():
            if f"{path}.{key}" not in extra:
                diffs.append(f"{path}.{key}: not in the vendor payload")
        for key in ours.keys() & theirs.keys():
            diffs += shape_diff(
                ours[key], theirs[key], omitted=omitted, extra=extra, path=f"{path}.{key}"
            )
    elif isinstance(theirs, list):
        for mine in ours:
            for vendor in theirs:
                diffs += shape_diff(mine, vendor, omitted=omitted, extra=extra, path=f"{path}[]")
    return sorted(set(diffs))


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
