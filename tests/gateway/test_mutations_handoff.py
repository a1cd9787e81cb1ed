"""``handOffCart``: an online cart turned into a pickup order (a draft order completed, or an
abandoned checkout's lines ordered) or into a sale prepared at the store's counter — nobody
re-enters a line. Read back through the graph and straight from the silos."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from silos.sandbox import RunningSandbox, SandboxOptions
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.mutations import (
    direct,
    error_codes,
    mutate,
    new_key,
    store_link,
    store_stock,
)
from tests.gateway.test_graph import graphql, people_with

pytestmark = pytest.mark.anyio

CARTS = """query($kind: String!, $id: ID!) { customer(sourceRef: {kind: $kind, id: $id}) {
  id loyalty { pointsBalance } carts { id cartId kind status lines { sku quantity } } } }"""
BALANCE = """query($id: ID!) { customer(id: $id) { loyalty { pointsBalance } } }"""
HAND_OFF = """mutation($cart: ID!, $store: ID!, $mode: HandOffMode!, $c: ID) {
  handOffCart(cart: $cart, store: $store, mode: $mode, customer: $c) {
    pointsEarned saga { id status steps { name source status } }
    order { id orderId source status channel total { amount } lines { sku quantity }
            fulfillment { type status location { code } } } } }"""


@pytest.fixture(scope="module")
def handoff_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=150, seed=47,
                                          data_dir=tmp_path_factory.mktemp("handoff")))


@pytest.fixture
def gateway_sandbox(handoff_sandbox: RunningSandbox) -> RunningSandbox:
    return handoff_sandbox


async def carts_of_kind(client: httpx.AsyncClient, sandbox: RunningSandbox,
                        kind: str, wanted: int = 2) -> list[dict[str, Any]]:
    """Up to ``wanted`` open carts of ``kind`` with a store holding every line (customer,
    cart, store, stock before)."""
    found: list[dict[str, Any]] = []
    for person in people_with(sandbox, "shopify"):
        if len(found) >= wanted:
            break
        body = await graphql(client, CARTS, kind="shopify", id=person["shopify"])
        customer = body["data"]["customer"]
        for cart in customer["carts"] or []:
            if cart["kind"] != kind or not cart["lines"] or \
                    any(not line["sku"] for line in cart["lines"]):
                continue
            stocks = {line["sku"]: await store_stock(client, line["sku"])
                      for line in cart["lines"]}
            for store in sorted(s.code for s in sandbox.data.stores):
                if all(stocks[line["sku"]].get(store, 0) >= float(line["quantity"]) + 1
                       for line in cart["lines"]):
                    found.append({"customer": customer, "cart": cart, "store": store,
                                  "stock": {sku: s[store] for sku, s in stocks.items()}})
                    break
    return found


def reserved(case: dict[str, Any]) -> dict[str, float]:
    wanted: dict[str, float] = {}
    for line in case["cart"]["lines"]:
        wanted[line["sku"]] = wanted.get(line["sku"], 0) + float(line["quantity"])
    return {sku: case["stock"][sku] - n for sku, n in wanted.items()}


def lines_of(cart: dict[str, Any]) -> list[tuple[str, Decimal]]:
    return sorted((line["sku"], Decimal(line["quantity"])) for line in cart["lines"])


@pytest.mark.parametrize("kind", ["CHECKOUT", "DRAFT_ORDER"])
async def test_a_cart_becomes_a_pickup_order_without_re_entering_a_line(
        kind: str, handoff_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        cases = await carts_of_kind(client, handoff_sandbox, kind)
        assert cases, f"the sandbox has an open {kind} a store can serve"
        case = cases[0]
        body = await mutate(client, HAND_OFF, new_key(), cart=case["cart"]["id"],
                            store=case["store"], mode="PICKUP", c=case["customer"]["id"])
        assert "errors" not in body, body
        made = body["data"]["handOffCart"]
        assert made["saga"]["status"] == "COMPLETED"
        steps = [(s["name"], s["source"]) for s in made["saga"]["steps"]]
        assert steps[:2] == [("create_order", "shopify"), ("hold_at_store", "square")]
        order = made["order"]
        assert order["source"] == "shopify" and order["status"] == "OPEN"
        assert sorted((line["sku"], Decimal(line["quantity"])) for line in order["lines"]) \
            == lines_of(case["cart"])
        assert order["fulfillment"] == {"type": "PICKUP", "status": "PENDING",
                                        "location": {"code": case["store"]}}
        for sku, units in reserved(case).items():
            assert (await store_stock(client, sku))[case["store"]] == units
        balance = await graphql(client, BALANCE, id=case["customer"]["id"])
        if case["customer"]["loyalty"]:
            assert made["pointsEarned"] == int(Decimal(order["total"]["amount"])) > 0
            assert balance["data"]["customer"]["loyalty"]["pointsBalance"] == \
                case["customer"]["loyalty"]["pointsBalance"] + made["pointsEarned"]
        if kind == "DRAFT_ORDER":  # a completed draft is no longer an open cart
            body = await mutate(client, HAND_OFF, new_key(), cart=case["cart"]["id"],
                                store=case["store"], mode="PICKUP", c=case["customer"]["id"])
            assert error_codes(body) == ["NOT_FOUND"], body
    async with direct(handoff_sandbox) as runtime:
        tagged = await runtime.adapters["shopify"].orders_by_tag(
            f"c360-saga-{made['saga']['id']}")
    assert [o.id for o in tagged] == [order["orderId"]]


async def test_a_cart_becomes_a_sale_prepared_at_the_store(
        handoff_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        cases = await carts_of_kind(client, handoff_sandbox, "CHECKOUT")
        case = cases[-1]
    store = store_link(handoff_sandbox, case["store"])
    async with gateway(role="store_associate", store=case["store"]) as clerk:
        body = await mutate(clerk, HAND_OFF, new_key(), cart=case["cart"]["id"],
                            store=case["store"], mode="STORE_SALE", c=case["customer"]["id"])
        assert "errors" not in body, body
        made = body["data"]["handOffCart"]
        assert [(s["name"], s["source"]) for s in made["saga"]["steps"]] == [
            ("hold_at_store", "square")]
        order = made["order"]
        assert order["source"] == "square" and order["channel"] == "STORE"
        assert sorted((line["sku"], Decimal(line["quantity"])) for line in order["lines"]) \
            == lines_of(case["cart"])
        assert order["fulfillment"]["type"] == "PICKUP"
        assert order["fulfillment"]["location"]["code"] == case["store"]
    async with gateway() as client:
        for sku, units in reserved(case).items():
            assert (await store_stock(client, sku))[case["store"]] == units
    async with direct(handoff_sandbox) as runtime:
        [sale] = await runtime.adapters["square"].orders_by_ids([order["orderId"]])
    assert sale is not None and sale.location_id == store.square_location_id
    assert sale.status == "OPEN"
    assert sorted((line.sku, line.quantity) for line in sale.lines) == lines_of(case["cart"])
