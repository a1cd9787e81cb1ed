"""The emulated shop's writes the adapter's ``WebOrderWriter`` uses: order creation and
cancellation (restock), fulfillment orders, preparing a pickup (Admin GraphQL mutation),
fulfilling through the fulfillment order API, refunds and their calculation, draft order
update and completion, the ``tag:`` search; and contract tests against Shopify's own examples
(``../shared/vendor-payloads/shopify``, read in place): each answer has the vendor's keys and
JSON types, and each vendor request example is accepted."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from silos.shopify import ShopifySiloConfig, ShopifyValidationError, create_app
from tests.shapes import as_json, assert_same_shape

from .factory import API, HEADERS, Shop, build_shop, location_body

pytestmark = pytest.mark.anyio

Payload = Callable[[str], Any]
GRAPHQL = f"{API}/graphql.json"
PREPARE = """mutation Prepare($input: FulfillmentOrderLineItemsPreparedForPickupInput!) {
  fulfillmentOrderLineItemsPreparedForPickup(input: $input) {
    userErrors { field message code } } }"""
READINESS = """query($q: String!) { orders(first: 5, query: $q) { nodes { legacyResourceId tags
  fulfillmentOrders(first: 5) { nodes { id status deliveryMethod { methodType }
    assignedLocation { name location { legacyResourceId } } } } } } }"""

# Deliberate differences from the vendor's examples, one reason each.
ORDER_CREATE_OMITTED = dict.fromkeys(
    ("$.order.billing_address", "$.order.shipping_address"),
    "the request gives no address: the emulator leaves the keys out, as Shopify does for an "
    "order without one (the vendor's order got them elsewhere)")
REFUND_ADDED = dict.fromkeys(
    ("$.refund.refund_line_items[].line_item.attributed_staffs",
     "$.refund.refund_line_items[].line_item.current_quantity"),
    "the refunded line is the order's own 2026-07 line item (order.json's refunds carry these "
    "keys; this older example does not)")
FULFILLMENT_ADDED = dict.fromkeys(
    ("$.fulfillment.line_items[].attributed_staffs",
     "$.fulfillment.line_items[].current_quantity"),
    "a fulfilled line is the order's own 2026-07 line item (order.json's fulfillments carry "
    "these keys; this example does not)")


@pytest.fixture
def shop() -> Shop:
    return build_shop()


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(shop.store, ShopifySiloConfig())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://shop.test", headers=HEADERS) as http:
        yield http


def gid(fo_id: int) -> str:
    return f"gid://shopify/FulfillmentOrder/{fo_id}"


async def new_order(client: httpx.AsyncClient, shop: Shop, *, pickup: bool = True,
                    **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"id": shop.customers[0]["id"]},
        "line_items": [{"variant_id": shop.product["variants"][0]["id"], "quantity": 2}],
        "financial_status": "pending", "tags": "c360-saga-1",
        "note_attributes": [{"name": "c360_saga", "value": "c360-saga-1"}], **extra}
    if pickup:
        name = shop.brooklyn["name"]
        body["shipping_lines"] = [{"title": name, "code": name, "source": "shopify",
                                   "price": "0.00"}]
    response = await client.post(f"{API}/orders.json", json={"order": body})
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()["order"]
    return order


async def fulfillment_orders(client: httpx.AsyncClient, order_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/orders/{order_id}/fulfillment_orders.json")
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()["fulfillment_orders"]
    return found


async def prepare(client: httpx.AsyncClient, *fo_ids: int | str) -> dict[str, Any]:
    ids = [fo if isinstance(fo, str) else gid(fo) for fo in fo_ids]
    response = await client.post(GRAPHQL, json={"query": PREPARE, "variables": {
        "input": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": i} for i in ids]}}})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# -- fulfillment orders, pickup preparation, fulfilment --------------------------------------
async def test_a_pickup_order_has_one_pickup_fulfillment_order(
        client: httpx.AsyncClient, shop: Shop) -> None:
    order = await new_order(client, shop)
    [fo] = await fulfillment_orders(client, order["id"])
    assert (fo["order_id"], fo["assigned_location_id"], fo["status"]) == (
        order["id"], shop.brooklyn["id"], "open")
    assert fo["delivery_method"]["method_type"] == "pick_up" and fo["destination"] is None
    assert fo["assigned_location"]["name"] == shop.brooklyn["name"]
    line = order["line_items"][0]
    assert [(i["line_item_id"], i["quantity"], i["fulfillable_quantity"]) for i in
            fo["line_items"]] == [(line["id"], 2, 2)]
    assert await fulfillment_orders(client, order["id"]) == [fo], "stable ids"
    single = await client.get(f"{API}/fulfillment_orders/{fo['id']}.json")
    assert single.json() == {"fulfillment_order": fo}
    shipped = await new_order(client, shop, pickup=False, shipping_address={"city": "Newark"})
    [other] = await fulfillment_orders(client, shipped["id"])
    assert other["delivery_method"]["method_type"] == "shipping"
    assert other["assigned_location_id"] == min(shop.store.locations)
    assert (await client.get(f"{API}/orders/1/fulfillment_orders.json")).status_code == 404


async def test_prepare_for_pickup_then_fulfil(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await new_order(client, shop)
    [fo] = await fulfillment_orders(client, order["id"])
    for _ in range(2):  # preparing again changes nothing
        answer = await prepare(client, fo["id"])
        assert answer["data"] == {
            "fulfillmentOrderLineItemsPreparedForPickup": {"userErrors": []}}
        assert answer["extensions"]["cost"]["actualQueryCost"] == 10
    [ready] = await fulfillment_orders(client, order["id"])
    assert ready["status"] == "in_progress" and ready["supported_actions"] == [
        "create_fulfillment"]
    assert shop.store.orders[order["id"]]["fulfillment_status"] is None
    seen = await client.post(GRAPHQL, json={"query": READINESS,
                                            "variables": {"q": f"id:{order['id']}"}})
    [node] = seen.json()["data"]["orders"]["nodes"]
    assert node["tags"] == ["c360-saga-1"]
    assert node["fulfillmentOrders"]["nodes"] == [{
        "id": gid(fo["id"]), "status": "IN_PROGRESS",
        "deliveryMethod": {"methodType": "PICK_UP"},
        "assignedLocation": {"name": shop.brooklyn["name"],
                             "location": {"legacyResourceId": str(shop.brooklyn["id"])}}}]

    made = await client.post(f"{API}/fulfillments.json", json={"fulfillment": {
        "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}],
        "notify_customer": False}})
    assert made.status_code == 201
    fulfillment = made.json()["fulfillment"]
    assert (fulfillment["location_id"], fulfillment["status"]) == (shop.brooklyn["id"],
                                                                    "success")
    assert shop.store.orders[order["id"]]["fulfillment_status"] == "fulfilled"
    [closed] = await fulfillment_orders(client, order["id"])
    assert (closed["status"], closed["supported_actions"]) == ("closed", [])
    assert closed["line_items"][0]["fulfillable_quantity"] == 0
    again = await client.post(f"{API}/fulfillments.json", json={"fulfillment": {
        "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}]}})
    assert again.status_code == 422
    errors = (await prepare(client, fo["id"]))["data"][
        "fulfillmentOrderLineItemsPreparedForPickup"]["userErrors"]
    assert [e["code"] for e in errors] == ["NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER"]
    assert errors[0]["field"] == ["input", "lineItemsByFulfillmentOrder", "0",
                                  "fulfillmentOrderId"]
    missing = await client.post(f"{API}/fulfillments.json", json={"fulfillment": {
        "line_items_by_fulfillment_order": [{"fulfillment_order_id": 1}]}})
    assert missing.status_code == 404


async def test_prepare_refuses_what_is_no_pickup_and_applies_all_or_nothing(
        client: httpx.AsyncClient, shop: Shop) -> None:
    pickup = await new_order(client, shop)
    shipped = await new_order(client, shop, pickup=False)
    [mine] = await fulfillment_orders(client, pickup["id"])
    [theirs] = await fulfillment_orders(client, shipped["id"])
    body = await prepare(client, mine["id"], theirs["id"], "gid://shopify/Order/1")
    errors = body["data"]["fulfillmentOrderLineItemsPreparedForPickup"]["userErrors"]
    assert [(e["code"], e["field"][2]) for e in errors] == [
        ("FULFILLMENT_ORDER_INVALID", "1"), ("FULFILLMENT_ORDER_INVALID", "2")]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    assert (await fulfillment_orders(client, pickup["id"]))[0]["status"] == "open"


async def test_cancel_closes_fulfillment_orders_and_restocks_what_was_claimed(
        client: httpx.AsyncClient, shop: Shop) -> None:
    store = shop.store
    item = shop.product["variants"][0]["inventory_item_id"]

    def available() -> int:
        level = store.inventory_level(item, shop.brooklyn["id"])
        assert level is not None
        return int(level["available"])

    before = available()
    claimed = await new_order(client, shop, inventory_behaviour="decrement_obeying_policy")
    assert available() == before - 2
    too_many = await client.post(f"{API}/orders.json", json={"order": {
        "line_items": [{"variant_id": shop.product["variants"][0]["id"], "quantity": 99}],
        "inventory_behaviour": "decrement_obeying_policy",
        "shipping_lines": [{"title": shop.brooklyn["name"], "price": "0.00"}]}})
    assert too_many.status_code == 422
    cancelled = await client.post(f"{API}/orders/{claimed['id']}/cancel.json",
                                  json={"reason": "customer", "restock": True})
    assert cancelled.json()["notice"] == "Order has been canceled"
    assert available() == before
    assert (await fulfillment_orders(client, claimed["id"]))[0]["status"] == "closed"
    twice = await client.post(f"{API}/orders/{claimed['id']}/cancel.json",
                              json={"restock": True})
    assert twice.status_code == 422 and available() == before
    bad = await client.post(f"{API}/orders/{claimed['id']}/cancel.json", json={"restock": "y"})
    assert bad.status_code == 400


# -- tags -------------------------------------------------------------------------------------
async def test_tag_search_finds_every_status_and_long_tags_are_refused(
        client: httpx.AsyncClient, shop: Shop) -> None:
    order = await new_order(client, shop)
    await client.post(f"{API}/orders/{order['id']}/cancel.json")
    query = "query($q: String!) { orders(first: 5, query: $q) { nodes { legacyResourceId } } }"
    for search in ('tag:"c360-saga-1"', "tag:C360-SAGA-1", "tag:'c360-saga-1'"):
        found = await client.post(GRAPHQL, json={"query": query, "variables": {"q": search}})
        assert found.json()["data"]["orders"]["nodes"] == [
            {"legacyResourceId": str(order["id"])}], search
    none = await client.post(GRAPHQL, json={"query": query, "variables": {"q": "tag:c360"}})
    assert none.json()["data"]["orders"]["nodes"] == []
    long = await client.post(f"{API}/orders.json", json={"order": {
        "line_items": [{"variant_id": shop.product["variants"][0]["id"]}], "tags": "x" * 41}})
    assert (long.status_code, list(long.json()["errors"])) == (422, ["tags"])


# -- refunds ------------------------------------------------------------------------------------
async def test_calculate_then_refund_restocking_at_a_store(
        client: httpx.AsyncClient, shop: Shop) -> None:
    store = shop.store
    order = shop.orders[2]  # paid, picked up nowhere yet
    line = order["line_items"][0]
    item = store.variants[line["variant_id"]]["inventory_item_id"]
    level = store.inventory_level(item, shop.brooklyn["id"])
    assert level is not None
    before = int(level["available"])
    lines = [{"line_item_id": line["id"], "quantity": 1, "restock_type": "return",
              "location_id": shop.brooklyn["id"]}]
    calc = await client.post(f"{API}/orders/{order['id']}/refunds/calculate.json",
                             json={"refund": {"refund_line_items": lines}})
    assert calc.status_code == 200
    [suggested] = calc.json()["refund"]["transactions"]
    assert (suggested["kind"], suggested["amount"], suggested["maximum_refundable"]) == (
        "suggested_refund", "199.00", order["total_price"])
    assert store.refunds(order["id"]) == [] and int(level["available"]) == before
    made = await client.post(f"{API}/orders/{order['id']}/refunds.json", json={"refund": {
        "note": "in store [c360:k]", "refund_line_items": lines, "transactions": [
            {"kind": "refund", "amount": suggested["amount"],
             "parent_id": suggested["parent_id"], "gateway": suggested["gateway"]}]}})
    assert made.status_code == 201
    refund = made.json()["refund"]
    assert refund["refund_line_items"][0]["location_id"] == shop.brooklyn["id"]
    assert int(level["available"]) == before + 1
    assert order["financial_status"] == "partially_refunded"
    listed = await client.get(f"{API}/orders/{order['id']}/refunds.json")
    assert listed.json() == {"refunds": [refund]}


async def test_an_unpaid_order_has_nothing_to_pay_back(client: httpx.AsyncClient,
                                                       shop: Shop) -> None:
    order = await new_order(client, shop)
    lines = [{"line_item_id": order["line_items"][0]["id"], "quantity": 1}]
    calc = await client.post(f"{API}/orders/{order['id']}/refunds/calculate.json",
                             json={"refund": {"refund_line_items": lines}})
    assert calc.json()["refund"]["transactions"] == []
    made = await client.post(f"{API}/orders/{order['id']}/refunds.json", json={"refund": {
        "refund_line_items": lines, "transactions": []}})
    assert made.json()["refund"]["transactions"] == []
    assert shop.store.orders[order["id"]]["financial_status"] == "pending"
    paying = await client.post(f"{API}/orders/{order['id']}/refunds.json", json={"refund": {
        "refund_line_items": lines, "transactions": [{"kind": "refund", "amount": "1.00"}]}})
    assert paying.status_code == 422


# -- draft orders ---------------------------------------------------------------------------
async def test_draft_update_then_complete_carries_tags_and_the_pickup(
        client: httpx.AsyncClient, shop: Shop) -> None:
    draft = shop.store.create_draft_order({"draft_order": {
        "customer": {"id": shop.customers[1]["id"]}, "tags": "agent",
        "line_items": [{"variant_id": shop.product["variants"][0]["id"], "quantity": 1}]}})
    updated = await client.put(f"{API}/draft_orders/{draft['id']}.json", json={"draft_order": {
        "tags": "agent, c360-saga-2",
        "note_attributes": [{"name": "c360_saga", "value": "c360-saga-2"}],
        "shipping_line": {"title": shop.brooklyn["name"], "price": "0.00"}}})
    assert updated.status_code == 200
    assert updated.json()["draft_order"]["tags"] == "agent, c360-saga-2"
    done = await client.put(f"{API}/draft_orders/{draft['id']}/complete.json",
                            params={"payment_pending": "true"})
    order = shop.store.orders[done.json()["draft_order"]["order_id"]]
    assert (order["tags"], order["financial_status"]) == ("agent, c360-saga-2", "pending")
    assert order["note_attributes"] == [{"name": "c360_saga", "value": "c360-saga-2"}]
    assert shop.store.order_ids_tagged("c360-saga-2") == [order["id"]]
    [fo] = await fulfillment_orders(client, order["id"])
    assert (fo["delivery_method"]["method_type"], fo["assigned_location_id"]) == (
        "pick_up", shop.brooklyn["id"])
    late = await client.put(f"{API}/draft_orders/{draft['id']}.json",
                            json={"draft_order": {"tags": "late"}})
    assert late.status_code == 422
    with pytest.raises(ShopifyValidationError):
        shop.store.update_draft_order(draft["id"], {"draft_order": {"shipping_line": 5}})


# -- contract: the vendor's examples -------------------------------------------------------
@pytest.mark.vendor_payloads
async def test_order_create_and_cancel_match_the_vendor(
        client: httpx.AsyncClient, shop: Shop, payload: Payload) -> None:
    request = copy.deepcopy(payload("shopify/order_create_request.json"))
    request["order"]["line_items"][0]["variant_id"] = shop.product["variants"][0]["id"]
    request["order"]["customer"]["id"] = shop.customers[0]["id"]
    created = await client.post(f"{API}/orders.json", json=request)
    assert created.status_code == 201
    ours = created.json()
    assert ours["order"]["financial_status"] == "pending"
    assert_same_shape(ours, payload("shopify/order_create.json"), ORDER_CREATE_OMITTED)
    cancelled = await client.post(f"{API}/orders/{ours['order']['id']}/cancel.json")
    assert cancelled.status_code == 200
    assert_same_shape(cancelled.json(), payload("shopify/order_cancel.json"),
                      ORDER_CREATE_OMITTED)


@pytest.mark.vendor_payloads
async def test_fulfillment_orders_and_fulfillment_match_the_vendor(
        client: httpx.AsyncClient, shop: Shop, payload: Payload) -> None:
    order = await new_order(client, shop, pickup=False, shipping_address={
        "address1": "Chestnut Street 92", "city": "Louisville", "country_code": "US"})
    listed = await client.get(f"{API}/orders/{order['id']}/fulfillment_orders.json")
    assert_same_shape(listed.json(), payload("shopify/fulfillment_orders_list.json"))
    [fo] = listed.json()["fulfillment_orders"]
    request = copy.deepcopy(payload("shopify/fulfillment_create_request.json"))
    request["fulfillment"]["line_items_by_fulfillment_order"][0]["fulfillment_order_id"] = \
        fo["id"]
    made = await client.post(f"{API}/fulfillments.json", json=request)
    assert made.status_code == 201
    fulfillment = made.json()
    assert fulfillment["fulfillment"]["tracking_number"] == "MS1562678"
    assert_same_shape(fulfillment, payload("shopify/fulfillment_create.json"),
                      added=FULFILLMENT_ADDED)


@pytest.mark.vendor_payloads
async def test_refund_calculate_and_create_match_the_vendor(
        client: httpx.AsyncClient, shop: Shop, payload: Payload) -> None:
    order = shop.orders[0]  # paid 204.00 with 5.00 of shipping
    line_id = order["line_items"][0]["id"]
    calc_request = copy.deepcopy(payload("shopify/refund_calculate_request.json"))
    calc_request["refund"]["refund_line_items"][0]["line_item_id"] = line_id
    calc = await client.post(f"{API}/orders/{order['id']}/refunds/calculate.json",
                             json=calc_request)
    assert calc.status_code == 200
    assert_same_shape(calc.json(), payload("shopify/refund_calculate.json"))
    assert calc.json()["refund"]["transactions"][0]["amount"] == "204.00"

    request = copy.deepcopy(payload("shopify/refund_create_request.json"))
    item = request["refund"]["refund_line_items"][0]
    item["line_item_id"], item["location_id"] = line_id, shop.brooklyn["id"]
    request["refund"]["transactions"][0]["parent_id"] = calc.json()["refund"][
        "transactions"][0]["parent_id"]
    made = await client.post(f"{API}/orders/{order['id']}/refunds.json", json=request)
    assert made.status_code == 201, made.text
    ours = made.json()
    assert ours["refund"]["transactions"][0]["amount"] == "41.94"
    assert ours["refund"]["order_adjustments"][0]["kind"] == "shipping_refund"
    assert_same_shape(ours, payload("shopify/refund_create.json"), added=REFUND_ADDED)


@pytest.mark.vendor_payloads
async def test_draft_order_complete_matches_the_vendor(
        client: httpx.AsyncClient, shop: Shop, payload: Payload) -> None:
    request = copy.deepcopy(payload("shopify/draft_order_create_request.json"))
    for line in request["draft_order"]["line_items"]:
        if "variant_id" in line:
            line["variant_id"] = shop.product["variants"][0]["id"]
    request["draft_order"]["customer"] = {"id": shop.customers[0]["id"]}
    created = await client.post(f"{API}/draft_orders.json", json=request)
    assert created.status_code == 201, created.text
    draft_id = created.json()["draft_order"]["id"]
    done = await client.put(f"{API}/draft_orders/{draft_id}/complete.json")
    assert done.status_code == 200
    assert_same_shape(as_json(done.json()), payload("shopify/draft_order_complete.json"))


async def test_connect_stocks_an_item_at_a_location_once(
        client: httpx.AsyncClient, shop: Shop) -> None:
    queens = shop.store.create_location(location_body("Queens Store", "Queens"))
    item = shop.product["variants"][0]["inventory_item_id"]
    body = {"location_id": queens["id"], "inventory_item_id": item}
    made = await client.post(f"{API}/inventory_levels/connect.json", json=body)
    assert made.status_code == 201
    assert made.json()["inventory_level"]["available"] == 0
    again = await client.post(f"{API}/inventory_levels/connect.json", json=body)
    assert again.json() == made.json()
    bad = await client.post(f"{API}/inventory_levels/connect.json",
                            json={"location_id": 1, "inventory_item_id": item})
    assert bad.status_code == 422
