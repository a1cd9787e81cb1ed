"""Compare JSON shapes: same keys and same JSON value types, recursively.

``null`` on either side is compatible with anything; an array compares the merged shape of its
elements (the union of their keys), so optional keys present on some elements count once.
"""

from __future__ import annotations

from typing import Any

Shape = Any


def _kind(value: Any) -> str:
    if value is None:
        return "null"
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


def shape(value: Any) -> Shape:
    """``"string"`` / ``"number"`` / ... / ``{"object": {key: shape}}`` / ``{"array": shape}``."""
    kind = _kind(value)
    if kind == "object":
        return {"object": {key: shape(item) for key, item in value.items()}}
    if kind == "array":
        return {"array": merge([shape(item) for item in value])}
    return kind


def merge(shapes: list[Shape]) -> Shape:
    present = [s for s in shapes if s != "null"]
    if not present:
        return "null"
    if all(isinstance(s, dict) and "object" in s for s in present):
        keys: dict[str, list[Shape]] = {}
        for s in present:
            for key, sub in s["object"].items():
                keys.setdefault(key, []).append(sub)
        return {"object": {key: merge(subs) for key, subs in keys.items()}}
    if all(isinstance(s, dict) and "array" in s for s in present):
        return {"array": merge([s["array"] for s in present])}
    kinds = {s if isinstance(s, str) else next(iter(s)) for s in present}
    if len(kinds) == 1:
        return present[0]
    return "|".join(sorted(kinds))


def differences(
    actual: Any,
    expected: Any,
    ignore: dict[str, str] | None = None,
    *,
    allow_extra: bool = False,
) -> tuple[list[str], set[str]]:
    """Mismatches between the emulator's JSON (``actual``) and the vendor's (``expected``).

    ``ignore`` maps paths such as ``order.line_items[].applied_taxes`` to the reason the key is
    deliberately absent on one side. Returns the mismatches and the ignore paths that were
    actually needed (a test should require both ``[]`` and all of ``ignore``).
    ``allow_extra`` accepts keys only the emulator has (for minimal vendor examples).
    """
    found: list[str] = []
    used: set[str] = set()
    _compare(shape(actual), shape(expected), "", ignore or {}, allow_extra, found, used)
    return found, used


def _compare(
    actual: Shape,
    expected: Shape,
    path: str,
    ignore: dict[str, str],
    allow_extra: bool,
    found: list[str],
    used: set[str],
) -> None:
    if actual == "null" or expected == "null":
        return
    a_kind = actual if isinstance(actual, str) else next(iter(actual))
    e_kind = expected if isinstance(expected, str) else next(iter(expected))
    where = path or "$"
    if a_kind != e_kind:
        found.append(f"{where}: emulator has {a_kind}, vendor has {e_kind}")
        return
    if a_kind == "array":
        _compare(actual["array"], expected["array"], f"{path}[]", ignore, allow_extra, found, used)
    elif a_kind == "object":
        a_keys, e_keys = actual["object"], expected["object"]
        for key in sorted(set(a_keys) | set(e_keys)):
            sub = f"{path}.{key}" if path else key
            if sub in ignore:
                if (key in a_keys) != (key in e_keys):
                    used.add(sub)
                continue
            if key not in a_keys:
                found.append(f"{sub}: missing in the emulator")
            elif key not in e_keys:
                if not allow_extra:
                    found.append(f"{sub}: not in the vendor payload")
            else:
                _compare(a_keys[key], e_keys[key], sub, ignore, allow_extra, found, used)
