"""The online cart, visible in every channel, and stock per channel: ``Customer.carts``,
``Product.availability`` and ``storesWithStock.pickupToday`` over the emulated silos, values
asserted against the silos' own records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from silos.sandbox import RunningSandbox, SandboxOptions
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.test_graph import graphql, people_with

pytestmark = pytest.mark.anyio

CARTS = """query($card: String!) { customer(loyaltyCard: $card) { carts {
  cartId kind status name updatedAt recoveryUrl subtotal { amount } total { amount currency }
  lines { sku title quantity unitPrice { amount } total { amount } product { sku } } } } }"""
AVAILABILITY = """query($sku: String!, $quantity: Int!) { product(sku: $sku) {
  availability(quantity: $quantity) { online inStores
    stores { location { code } available pickupToday }
    pickupStores { code } } } }"""


@pytest.fixture(scope="module")
def carts_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    """A sandbox of its own: these tests write checkouts, draft orders and stock."""
    return indexed_sandbox(SandboxOptions(customers=60, seed=31,
                                          data_dir=tmp_path_factory.mktemp("carts")))


@pytest.fixture
def gateway_sandbox(carts_sandbox: RunningSandbox) -> RunningSandbox:
    return carts_sandbox


async def test_an_abandoned_cart_is_seen_by_the_agent_and_the_clerk_until_it_is_bought(
        carts_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = carts_sandbox.data
    person = people_with(carts_sandbox, "shopify", "loyalty")[0]
    variants = list(data.shopify.variants.values())[:2]
    now = datetime.now(UTC)
    checkout = data.shopify.create_checkout({"checkout": {
        "customer": {"id": int(person["shopify"])}, "email": None, "source_name": "web",
        "line_items": [{"variant_id": variants[0]["id"], "quantity": 2},
                       {"variant_id": variants[1]["id"], "quantity": 1}]}},
        at=now - timedelta(hours=3))
    draft = data.shopify.create_draft_order({"draft_order": {
        "customer": {"id": int(person["shopify"])}, "note": "prepared on the phone",
        "line_items": [{"variant_id": variants[1]["id"], "quantity": 1}]}}, at=now)
    for role, claims in (("agent", {}), ("store_associate", {"store": data.stores[0].code})):
        async with gateway(role=role, **claims) as client:
            body = await graphql(client, CARTS, card=person["loyalty"])
            assert "errors" not in body, body
            carts = {c["cartId"]: c for c in body["data"]["customer"]["carts"]}
            online, prepared = carts[str(checkout["id"])], carts[str(draft["id"])]
            assert list(carts)[:2] == [str(draft["id"]), str(checkout["id"])]  # newest first
            assert (online["kind"], online["status"]) == ("CHECKOUT", "OPEN")
            assert online["recoveryUrl"] == checkout["abandoned_checkout_url"]
            assert Decimal(online["total"]["amount"]) == Decimal(checkout["total_price"])
            assert [(line["sku"], Decimal(line["quantity"])) for line in online["lines"]] == [
                (variants[0]["sku"], 2), (variants[1]["sku"], 1)]
            assert online["lines"][0]["product"]["sku"] == variants[0]["sku"]
            assert (prepared["kind"], prepared["name"]) == ("DRAFT_ORDER", draft["name"])
            assert prepared["recoveryUrl"] == draft["invoice_url"]
    data.shopify.complete_checkout(checkout["id"], at=now)
    async with gateway(role="agent") as client:  # a new gateway: a fresh cart index
        body = await graphql(client, CARTS, card=person["loyalty"])
        assert str(checkout["id"]) not in {c["cartId"] for c in
                                           body["data"]["customer"]["carts"]}


async def test_availability_splits_online_and_store_stock_and_promises_pickups(
        carts_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = carts_sandbox.data
    sku = next(v["sku"] for v in data.shopify.variants.values())
    variant = data.shopify.variant_by_sku(sku)
    assert variant is not None
    item = variant["inventory_item_id"]
    _, levels = data.shopify.inventory_levels([item], data.warehouse_location_ids)
    warehouses = sum(max(level["available"], 0) for level in levels.values())
    async with gateway(role="agent") as client:
        body = await graphql(client, AVAILABILITY, sku=sku, quantity=2)
        assert "errors" not in body, body
        found = body["data"]["product"]["availability"]
        stores = {s["location"]["code"]: s for s in found["stores"]}
        assert set(stores) == {s.code for s in data.stores}
        assert Decimal(found["online"]) == warehouses
        assert Decimal(found["inStores"]) == sum(Decimal(s["available"])
                                                 for s in found["stores"])
        for store in found["stores"]:
            assert store["pickupToday"] == (Decimal(store["available"]) - 1 >= 2)
        assert {s["code"] for s in found["pickupStores"]} == {
            code for code, s in stores.items() if s["pickupToday"]}
        near = await graphql(client, """query($sku: String!) { storesWithStock(sku: $sku,
            near: {lat: 40.7128, lng: -74.006}, radiusKm: 50, minQuantity: 1) {
            location { code } available pickupToday } }""", sku=sku)
        for store in near["data"]["storesWithStock"]:
            assert store["available"] == stores[store["location"]["code"]]["available"]
            assert store["pickupToday"] == (Decimal(store["available"]) - 1 >= 1)
        refused = await graphql(client, AVAILABILITY, sku=sku, quantity=0)
        assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_clerk_sees_only_its_own_stores_stock_in_availability(
        carts_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = carts_sandbox.data
    sku = next(v["sku"] for v in data.shopify.variants.values())
    code = data.stores[0].code
    async with gateway(role="store_associate", store=code) as client:
        body = await graphql(client, AVAILABILITY, sku=sku, quantity=1)
    assert {s["location"]["code"] for s in body["data"]["product"]["availability"]["stores"]} \
        == {code}
