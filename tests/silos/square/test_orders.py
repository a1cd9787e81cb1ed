from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

import pytest

from silos.square.errors import SquareError
from silos.square.formats import MoneyCache
from silos.square.orders import amounts, build_fulfillments, build_line_items, build_returns

CASH = MoneyCache("USD")
VARIATION = {
    "type": "ITEM_VARIATION",
    "id": "VAR",
    "version": 7,
    "item_variation_data": {"item_id": "ITEM", "name": "Large", "price_money": CASH[350]},
}
CATALOG: dict[str, dict[str, Any]] = {
    "VAR": VARIATION,
    "ITEM": {"type": "ITEM", "id": "ITEM", "item_data": {"name": "Coffee"}},
}


def _uids() -> Any:
    numbers = count()
    return lambda: f"uid{next(numbers)}"


def _error(call: Any) -> SquareError:
    with pytest.raises(SquareError) as caught:
        call()
    return caught.value


def test_line_items_priced_from_catalog_or_explicitly() -> None:
    lines, total = build_line_items(
        [
            {"catalog_object_id": "VAR", "quantity": "3"},
            {"name": "Bag", "quantity": "1.5", "base_price_money": {"amount": 101}},
        ],
        CATALOG,
        CASH,
        _uids(),
    )
    first, second = lines
    assert first["name"] == "Coffee" and first["variation_name"] == "Large"
    assert first["catalog_version"] == 7 and first["quantity"] == "3"
    assert first["gross_sales_money"] == {"amount": 1050, "currency": "USD"}
    assert second["total_money"]["amount"] == 152 and "catalog_object_id" not in second
    assert total == 1050 + 152
    assert [line["uid"] for line in lines] == ["uid0", "uid1"]


def test_line_item_errors() -> None:
    unknown = _error(
        lambda: build_line_items(
            [{"catalog_object_id": "NOPE", "quantity": "1"}], CATALOG, CASH, _uids()
        )
    )
    assert (unknown.status, unknown.code) == (404, "NOT_FOUND")
    assert unknown.field == "order.line_items[0].catalog_object_id"
    no_price = _error(
        lambda: build_line_items([{"name": "x", "quantity": "1"}], CATALOG, CASH, _uids())
    )
    assert no_price.field == "order.line_items[0].base_price_money"
    no_quantity = _error(
        lambda: build_line_items([{"catalog_object_id": "VAR"}], CATALOG, CASH, _uids())
    )
    assert (no_quantity.code, no_quantity.field) == (
        "MISSING_REQUIRED_PARAMETER",
        "order.line_items[0].quantity",
    )


def _source() -> dict[str, Any]:
    lines, _ = build_line_items(
        [{"catalog_object_id": "VAR", "quantity": "2"}], CATALOG, CASH, _uids()
    )
    return {"id": "SRC", "line_items": lines}


def test_returns_take_price_from_the_source_line() -> None:
    source = _source()
    result = build_returns(
        [
            {
                "source_order_id": "SRC",
                "return_line_items": [{"source_line_item_uid": "uid0", "quantity": "1"}],
            }
        ],
        {"SRC": source},
        {},
        CATALOG,
        CASH,
        _uids(),
    )
    (order_return,) = result.returns
    (line,) = order_return["return_line_items"]
    assert line["source_line_item_uid"] == "uid0"
    assert line["catalog_object_id"] == "VAR" and line["name"] == "Coffee"
    assert line["gross_return_money"]["amount"] == 350
    assert order_return["return_amounts"] == amounts(350, CASH)
    assert result.total == 350 and result.taken == {("SRC", "uid0"): Decimal(1)}


def test_returns_cannot_exceed_what_was_sold() -> None:
    orders = {"SRC": _source()}

    def attempt(quantity: str, returned: dict[tuple[str, str], Decimal]) -> Any:
        return build_returns(
            [
                {
                    "source_order_id": "SRC",
                    "return_line_items": [{"source_line_item_uid": "uid0", "quantity": quantity}],
                }
            ],
            orders,
            returned,
            CATALOG,
            CASH,
            _uids(),
        )

    assert attempt("2", {}).total == 700
    error = _error(lambda: attempt("2", {("SRC", "uid0"): Decimal(1)}))
    assert (error.code, error.field) == (
        "INVALID_VALUE",
        "order.returns[0].return_line_items[0].quantity",
    )
    unknown_uid = _error(
        lambda: build_returns(
            [
                {
                    "source_order_id": "SRC",
                    "return_line_items": [{"source_line_item_uid": "zzz", "quantity": "1"}],
                }
            ],
            orders,
            {},
            CATALOG,
            CASH,
            _uids(),
        )
    )
    assert unknown_uid.code == "NOT_FOUND"
    unknown_order = _error(
        lambda: build_returns(
            [{"source_order_id": "NOPE", "return_line_items": [{"quantity": "1"}]}],
            orders,
            {},
            CATALOG,
            CASH,
            _uids(),
        )
    )
    assert unknown_order.field == "order.returns[0].source_order_id"


def test_pickup_fulfillment_is_stamped_by_state() -> None:
    (pickup,) = build_fulfillments(
        [
            {
                "type": "PICKUP",
                "state": "COMPLETED",
                "pickup_details": {
                    "recipient": {"display_name": "Ann"},
                    "pickup_at": "2024-03-01T09:00:00-05:00",
                },
            }
        ],
        "2024-03-01T12:00:00.000Z",
        _uids(),
    )
    details = pickup["pickup_details"]
    assert pickup["uid"] == "uid0" and pickup["state"] == "COMPLETED"
    assert details["pickup_at"] == "2024-03-01T14:00:00.000Z"
    assert details["schedule_type"] == "SCHEDULED"
    for stamp in ("placed_at", "accepted_at", "ready_at", "picked_up_at"):
        assert details[stamp] == "2024-03-01T12:00:00.000Z"
    (proposed,) = build_fulfillments(
        [
            {
                "type": "PICKUP",
                "pickup_details": {"recipient": {"customer_id": "C"}, "schedule_type": "ASAP"},
            }
        ],
        "2024-03-01T12:00:00.000Z",
        _uids(),
    )
    assert proposed["state"] == "PROPOSED"
    assert "accepted_at" not in proposed["pickup_details"]


@pytest.mark.parametrize(
    ("fulfillments", "field"),
    [
        (
            [{"type": "PICKUP", "pickup_details": {"recipient": {"display_name": "A"}}}],
            "order.fulfillments[0].pickup_details.pickup_at",
        ),
        (
            [{"type": "PICKUP", "pickup_details": {"pickup_at": "2024-03-01T09:00:00Z"}}],
            "order.fulfillments[0].pickup_details.recipient",
        ),
        ([{"type": "PICKUP"}], "order.fulfillments[0].pickup_details"),
        ([{"type": "TELEPORT"}], "order.fulfillments[0].type"),
        ([{"type": "DIGITAL"}, {"type": "DIGITAL"}], "order.fulfillments"),
    ],
)
def test_fulfillment_errors(fulfillments: list[Any], field: str) -> None:
    assert _error(lambda: build_fulfillments(fulfillments, "t", _uids())).field == field
