"""The emulated Square's order updates and the stock an open pickup holds: UpdateOrder with
versions and state rules, the idempotency of updates, and the Inventory API's read-only
states."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from decimal import Decimal as D
from functools import partial
from typing import Any

import pytest

from silos.square import create_app
from tests import shapes
from tests.silos.square.helpers import CONFIG, T0, Seeded, client

pytestmark = pytest.mark.anyio
assert_same_shape = partial(shapes.assert_same_shape, merge_elements=True)


def stock(seeded: Seeded, quantity: int = 10) -> None:
    seeded.store.batch_change_inventory({"idempotency_key": "count", "changes": [
        {"type": "PHYSICAL_COUNT", "physical_count": {
            "catalog_object_id": seeded.regular, "location_id": seeded.location["id"],
            "quantity": str(quantity), "state": "IN_STOCK",
            "occurred_at": (T0 - timedelta(hours=1)).isoformat()}}]}, at=T0)


def held(seeded: Seeded, state: str) -> Decimal:
    return sum((Decimal(c["quantity"]) for c in seeded.store._counts
                if c["catalog_object_id"] == seeded.regular
                and c["location_id"] == seeded.location["id"] and c["state"] == state),
               Decimal(0))


def pickup(seeded: Seeded, key: str = "p-1", quantity: str = "3") -> dict[str, Any]:
    return seeded.store.create_order({"idempotency_key": key, "order": {
        "location_id": seeded.location["id"], "reference_id": "web-1001",
        "source": {"name": "c360"},
        "line_items": [{"catalog_object_id": seeded.regular, "quantity": quantity}],
        "fulfillments": [{"type": "PICKUP", "pickup_details": {
            "recipient": {"display_name": "Ana"}, "schedule_type": "ASAP"}}]}}, at=T0)


def update(seeded: Seeded, order: dict[str, Any], key: str | None = None,
           **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"order": {"version": order["version"], **fields}}
    if key:
        body["idempotency_key"] = key
    return seeded.store.update_order(order["id"], body, at=T0 + timedelta(minutes=5))


def error_code(excinfo: pytest.ExceptionInfo[Exception]) -> str:
    return str(excinfo.value.code)  # type: ignore[attr-defined]


@pytest.mark.vendor_payloads
async def test_update_answers_square_shape(payload: Any) -> None:
    seeded = Seeded()
    stock(seeded)
    order = pickup(seeded)
    uid = order["fulfillments"][0]["uid"]
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = await http.put(f"/v2/orders/{order['id']}", json={
            "idempotency_key": "u-1",
            "order": {"version": 1, "fulfillments": [{"uid": uid, "state": "PREPARED"}]}})
    assert response.status_code == 200
    body = response.json()
    assert body["order"]["version"] == 2
    assert body["order"]["fulfillments"][0]["state"] == "PREPARED"
    assert body["order"]["fulfillments"][0]["pickup_details"]["ready_at"]
    assert_same_shape(body, payload("square/update_order_response.json"), {},
                      {"$.order.fulfillments": "the example has none",
                       "$.order.reference_id": "the example has none",
                       "$.order.line_items[].catalog_object_id": "the example is ad hoc",
                       "$.order.line_items[].catalog_version": "the example is ad hoc",
                       "$.order.line_items[].variation_name": "the example is ad hoc",
                       "$.order.line_items[].item_type": "postdates the example",
                       "$.order.total_tip_money": "postdates the example",
                       "$.order.net_amounts.tip_money": "postdates the example"})


async def test_open_pickup_holds_units_until_completed_or_cancelled() -> None:
    seeded = Seeded()
    stock(seeded, 10)
    order = pickup(seeded)
    assert (held(seeded, "IN_STOCK"), held(seeded, "RESERVED_FOR_SALE")) == (D(7), D(3))
    assert pickup(seeded)["id"] == order["id"]  # same key: same order, nothing held twice
    assert held(seeded, "IN_STOCK") == 7
    uid = order["fulfillments"][0]["uid"]
    done = update(seeded, order, "done", state="COMPLETED",
                  fulfillments=[{"uid": uid, "state": "COMPLETED"}])
    assert done["state"] == "COMPLETED" and done["closed_at"]
    assert (held(seeded, "IN_STOCK"), held(seeded, "RESERVED_FOR_SALE")) == (D(7), D(0))
    other = pickup(seeded, "p-2", "2")
    assert held(seeded, "IN_STOCK") == 5
    update(seeded, other, state="CANCELED")
    assert (held(seeded, "IN_STOCK"), held(seeded, "RESERVED_FOR_SALE")) == (D(7), D(0))
    third = pickup(seeded, "p-3", "1")
    update(seeded, third, fulfillments=[{"uid": third["fulfillments"][0]["uid"],
                                         "state": "CANCELED"}])
    assert held(seeded, "IN_STOCK") == 7  # a cancelled pickup holds nothing


async def test_update_rules() -> None:
    seeded = Seeded()
    stock(seeded)
    order = pickup(seeded)
    uid = order["fulfillments"][0]["uid"]
    with pytest.raises(Exception) as stale:
        seeded.store.update_order(order["id"], {"order": {"version": 7, "state": "CANCELED"}})
    assert error_code(stale) == "VERSION_MISMATCH"
    with pytest.raises(Exception) as unfinished:
        update(seeded, order, state="COMPLETED")
    assert error_code(unfinished) == "BAD_REQUEST"
    with pytest.raises(Exception) as no_version:
        seeded.store.update_order(order["id"], {"order": {"state": "CANCELED"}})
    assert error_code(no_version) == "MISSING_REQUIRED_PARAMETER"
    with pytest.raises(Exception) as unsupported:
        update(seeded, order, line_items=[])
    assert error_code(unsupported) == "BAD_REQUEST"
    prepared = update(seeded, order, fulfillments=[{"uid": uid, "state": "PREPARED"}])
    with pytest.raises(Exception) as backwards:
        update(seeded, prepared, fulfillments=[{"uid": uid, "state": "RESERVED"}])
    assert error_code(backwards) == "BAD_REQUEST"
    cancelled = update(seeded, prepared, state="CANCELED")
    with pytest.raises(Exception) as closed:
        update(seeded, cancelled, state="OPEN")
    assert error_code(closed) == "BAD_REQUEST"


async def test_update_idempotency_key() -> None:
    seeded = Seeded()
    stock(seeded)
    order = pickup(seeded)
    uid = order["fulfillments"][0]["uid"]
    moved = [{"uid": uid, "state": "RESERVED"}]
    first = update(seeded, order, "u-1", fulfillments=moved)
    again = update(seeded, order, "u-1", fulfillments=moved)  # same body: the first answer
    assert again == first and seeded.store.orders[order["id"]]["version"] == 2
    with pytest.raises(Exception) as reused:
        update(seeded, order, "u-1", state="CANCELED")
    assert error_code(reused) == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize("state", ["RESERVED_FOR_SALE", "SOLD_ONLINE", "RETURNED_BY_CUSTOMER"])
async def test_inventory_api_refuses_read_only_states(state: str) -> None:
    seeded = Seeded()
    stock(seeded)
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = await http.post("/v2/inventory/changes/batch-create", json={
            "idempotency_key": f"adj-{state}", "changes": [{"type": "ADJUSTMENT", "adjustment": {
                "catalog_object_id": seeded.regular, "location_id": seeded.location["id"],
                "quantity": "1", "from_state": "IN_STOCK", "to_state": state,
                "occurred_at": T0.isoformat()}}]})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["code"], error["field"]) == ("INVALID_VALUE", "changes[0].adjustment.to_state")
    assert held(seeded, "IN_STOCK") == 10
