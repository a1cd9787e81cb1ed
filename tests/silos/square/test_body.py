from __future__ import annotations

from typing import Any

import pytest

from silos.square.body import (
    get_bool,
    get_enum,
    get_int,
    get_list,
    get_money,
    get_obj,
    get_str,
    get_str_list,
    objects,
    req_str,
)
from silos.square.errors import SquareError


def _error(call: Any) -> tuple[str, str | None]:
    with pytest.raises(SquareError) as caught:
        call()
    assert caught.value.status == 400
    assert caught.value.category == "INVALID_REQUEST_ERROR"
    return caught.value.code, caught.value.field


def test_values_pass_through() -> None:
    data = {"s": "x", "o": {"a": 1}, "l": ["a"], "i": 5, "b": True, "m": {"amount": 5}}
    assert get_str(data, "s") == "x"
    assert get_obj(data, "o") == {"a": 1}
    assert get_str_list(data, "l") == ["a"]
    assert get_int(data, "i", default=1, minimum=1, maximum=5) == 5
    assert get_bool(data, "b", default=False) is True
    assert get_money(data, "m", "", "USD") == 5
    assert get_str(data, "absent") is None and get_int(data, "absent", default=7) == 7


def test_type_errors_name_the_field() -> None:
    data: dict[str, Any] = {"s": 1, "o": [], "l": {}, "i": "5", "b": "yes", "m": {"amount": 1.5}}
    assert _error(lambda: get_str(data, "s", "order")) == ("EXPECTED_STRING", "order.s")
    assert _error(lambda: get_obj(data, "o")) == ("EXPECTED_OBJECT", "o")
    assert _error(lambda: get_list(data, "l")) == ("EXPECTED_ARRAY", "l")
    assert _error(lambda: get_int(data, "i", default=0)) == ("EXPECTED_INTEGER", "i")
    assert _error(lambda: get_bool(data, "b", default=False)) == ("EXPECTED_BOOLEAN", "b")
    assert _error(lambda: get_money(data, "m", "x", "USD")) == ("EXPECTED_INTEGER", "x.m.amount")
    assert _error(lambda: get_str_list({"l": ["a", 2]}, "l")) == ("EXPECTED_STRING", "l[1]")
    assert _error(lambda: list(objects([{}, 3], "items"))) == ("EXPECTED_OBJECT", "items[1]")


def test_limits_and_required_values() -> None:
    assert _error(lambda: req_str({}, "location_id", "order")) == (
        "MISSING_REQUIRED_PARAMETER",
        "order.location_id",
    )
    assert _error(lambda: req_str({"k": ""}, "k")) == ("VALUE_EMPTY", "k")
    assert _error(lambda: get_str({"k": "abc"}, "k", max_length=2)) == ("VALUE_TOO_LONG", "k")
    assert _error(lambda: get_int({"n": 0}, "n", default=1, minimum=1)) == ("VALUE_TOO_LOW", "n")
    assert _error(lambda: get_int({"n": 9}, "n", default=1, maximum=8)) == ("VALUE_TOO_HIGH", "n")
    assert _error(lambda: get_list({"l": []}, "l", required=True)) == ("ARRAY_EMPTY", "l")
    assert _error(lambda: get_list({"l": [1, 2]}, "l", max_items=1)) == (
        "ARRAY_LENGTH_TOO_LONG",
        "l",
    )
    assert _error(lambda: get_enum({"e": "X"}, "e", frozenset({"A"}))) == (
        "INVALID_ENUM_VALUE",
        "e",
    )
    assert _error(lambda: get_money({"m": {"amount": 1, "currency": "EUR"}}, "m", "", "USD")) == (
        "INVALID_VALUE",
        "m.currency",
    )
