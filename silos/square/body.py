"""Typed access to request bodies, failing with Square's validation errors.

Every getter takes the containing object, the key and the dotted path Square reports in ``field``
(``order.line_items[0].quantity``), and raises :class:`SquareError` for a wrong type or a missing
required value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from silos.square.errors import bad_request, missing


def path_of(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _expected(code: str, what: str, field: str) -> Exception:
    return bad_request(code, f"Expected {what} for `{field}`", field)


def get_obj(
    data: dict[str, Any], key: str, prefix: str = "", *, required: bool = False
) -> dict[str, Any] | None:
    value = data.get(key)
    if value.__class__ is dict or (value is None and not required):
        return value
    field = path_of(prefix, key)
    if value is None:
        if required:
            raise missing(field)
        return None
    if not isinstance(value, dict):
        raise _expected("EXPECTED_OBJECT", "a JSON object", field)
    return value


def req_obj(data: dict[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
    value = get_obj(data, key, prefix, required=True)
    assert value is not None
    return value


def get_str(
    data: dict[str, Any],
    key: str,
    prefix: str = "",
    *,
    required: bool = False,
    max_length: int | None = None,
) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if value.__class__ is str and (max_length is None or len(value) <= max_length):
        if value or not required:
            return value
    field = path_of(prefix, key)
    if value is None:
        if required:
            raise missing(field)
        return None
    if not isinstance(value, str):
        raise _expected("EXPECTED_STRING", "a string value", field)
    if required and not value:
        raise bad_request("VALUE_EMPTY", f"`{field}` must not be empty", field)
    if max_length is not None and len(value) > max_length:
        raise bad_request(
            "VALUE_TOO_LONG", f"`{field}` must be at most {max_length} characters", field
        )
    return value


def req_str(
    data: dict[str, Any], key: str, prefix: str = "", *, max_length: int | None = None
) -> str:
    value = get_str(data, key, prefix, required=True, max_length=max_length)
    assert value is not None
    return value


def get_int(
    data: dict[str, Any],
    key: str,
    prefix: str = "",
    *,
    default: int,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = data.get(key)
    field = path_of(prefix, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _expected("EXPECTED_INTEGER", "an integer value", field)
    if minimum is not None and value < minimum:
        raise bad_request("VALUE_TOO_LOW", f"`{field}` must be at least {minimum}", field)
    if maximum is not None and value > maximum:
        raise bad_request("VALUE_TOO_HIGH", f"`{field}` must be at most {maximum}", field)
    return value


def get_bool(data: dict[str, Any], key: str, prefix: str = "", *, default: bool) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _expected("EXPECTED_BOOLEAN", "a boolean value", path_of(prefix, key))
    return value


def get_list(
    data: dict[str, Any],
    key: str,
    prefix: str = "",
    *,
    required: bool = False,
    max_items: int | None = None,
) -> list[Any] | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if value.__class__ is list and value and (max_items is None or len(value) <= max_items):
        return value
    field = path_of(prefix, key)
    if value is None:
        if required:
            raise missing(field)
        return None
    if not isinstance(value, list):
        raise _expected("EXPECTED_ARRAY", "an array", field)
    if required and not value:
        raise bad_request("ARRAY_EMPTY", f"`{field}` must contain at least one element", field)
    if max_items is not None and len(value) > max_items:
        raise bad_request(
            "ARRAY_LENGTH_TOO_LONG",
            f"`{field}` must contain at most {max_items} elements",
            field,
        )
    return value


def get_str_list(
    data: dict[str, Any],
    key: str,
    prefix: str = "",
    *,
    required: bool = False,
    max_items: int | None = None,
) -> list[str] | None:
    values = get_list(data, key, prefix, required=required, max_items=max_items)
    if values is None:
        return None
    field = path_of(prefix, key)
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise _expected("EXPECTED_STRING", "a string value", f"{field}[{index}]")
    return values


def objects(values: list[Any], field: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """``(path, object)`` for each element of an array that must hold JSON objects."""
    for index, value in enumerate(values):
        path = f"{field}[{index}]"
        if not isinstance(value, dict):
            raise _expected("EXPECTED_OBJECT", "a JSON object", path)
        yield path, value


def get_enum(
    data: dict[str, Any],
    key: str,
    allowed: frozenset[str],
    prefix: str = "",
    *,
    default: str | None = None,
) -> str | None:
    value = get_str(data, key, prefix)
    if value is None:
        return default
    if value not in allowed:
        field = path_of(prefix, key)
        raise bad_request(
            "INVALID_ENUM_VALUE", f"`{value}` is not a valid value for `{field}`", field
        )
    return value


def get_money(data: dict[str, Any], key: str, prefix: str, currency: str) -> int | None:
    """The ``amount`` of a ``{"amount", "currency"}`` object, checked against the currency."""
    value = get_obj(data, key, prefix)
    if value is None:
        return None
    field = path_of(prefix, key)
    amount = value.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise _expected("EXPECTED_INTEGER", "an integer value", f"{field}.amount")
    if amount < 0:
        raise bad_request("VALUE_TOO_LOW", "Money amounts must not be negative", f"{field}.amount")
    if value.get("currency", currency) != currency:
        raise bad_request(
            "INVALID_VALUE", f"`{field}.currency` must be {currency}", f"{field}.currency"
        )
    return amount
