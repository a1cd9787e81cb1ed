"""Buy online, pick up in store, and return in store, through the graph: every system the
journey touches moved on, read back through the graph and straight from each silo; a key
repeated or raced writes once; the roles and stores that may not act are refused with no
silo write."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from silos.sandbox import RunningSandbox, SandboxOptions
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.mutations import (
    direct,
    error_codes,
    mutate,
    new_key,
    pickup_case,
    snapshot,
    store_link,
    store_stock,
    writes,
)
from tests.gateway.test_graph import graphql, people_with

pytestmark = pytest.mark.anyio

PLACE = """mutation($c: ID!, $lines: [LineInput!]!, $store: ID!) {
  placePickupOrder(customer: $c, lines: $lines, store: $store) {
    pointsEarned saga { id status steps { name source status } }
    order { id orderId source status total { amount } lines { sku quantity }
            fulfillment { type status location { code } } }
    storeOrder { orderId source status lines { sku quantity } fulfillment { type status } } } }"""
READY = """mutation($o: ID!) { markReadyForPickup(order: $o) {
  saga { status } order { fulfillment { status location { code } } }
  storeOrder { status fulfillment { status } } } }"""
COMPLETE = """mutation($o: ID!) { completePickup(order: $o) {
  saga { status steps { name source status } } order { status fulfillment { status } }
  storeOrder { status fulfillment { status } } } }"""
RETURN = """mutation($o: ID!, $lines: [LineInput!]!, $store: ID!) {
  returnInStore(order: $o, lines: $lines, store: $store) {
    refundId pointsReversed saga { id status steps { name source status } }
    order { id returns { lines { sku quantity } location { code } } }
    storeReturn { id orderId source status store { code } } } }"""
BALANCE = """query($id: ID!) { customer(id: $id) { loyalty { pointsBalance }
  orders(first: 100) { edges { node { id fulfillment { type status } } } } } }"""


@pytest.fixture(scope="module")
def pickup_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=60, seed=23,
                                          data_dir=tmp_path_factory.mktemp("pickup")))


@pytest.fixture
def gateway_sandbox(pickup_sandbox: RunningSandbox) -> RunningSandbox:
    return pickup_sandbox


def shoppers(sandbox: RunningSandbox) -> list[dict[str, str]]:
    return people_with(sandbox, "shopify", "loyalty")


async def place(client: httpx.AsyncClient, case: dict[str, Any], quantity: int = 2,
                key: str | None = None) -> dict[str, Any]:
    return await mutate(client, PLACE, key or new_key(), c=case["id"], store=case["store"],
                        lines=[{"sku": case["sku"], "quantity": quantity}])


async def test_a_pickup_order_moves_the_shop_the_store_and_the_points_on(
        pickup_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = shoppers(pickup_sandbox)[0]
    async with gateway() as client:
        case = await pickup_case(client, "shopify", person["shopify"])
        before = await snapshot(pickup_sandbox, case)
        body = await place(client, case)
        assert "errors" not in body, body
        placed = body["data"]["placePickupOrder"]
        saga_id = placed["saga"]["id"]
        assert placed["saga"]["status"] == "COMPLETED"
        assert [(s["name"], s["source"], s["status"]) for s in placed["saga"]["steps"]] == [
            ("create_order", "shopify", "DONE"), ("hold_at_store", "square", "DONE"),
            ("accrue_points", "loyalty", "DONE")]
        order = placed["order"]
        assert order["source"] == "shopify" and order["status"] == "OPEN"
        assert order["lines"] == [{"sku": case["sku"], "quantity": "2"}]
        assert order["fulfillment"] == {"type": "PICKUP", "status": "PENDING",
                                        "location": {"code": case["store"]}}
        assert placed["pointsEarned"] == int(Decimal(order["total"]["amount"])) > 0
        held = placed["storeOrder"]
        assert (held["source"], held["status"], held["fulfillment"]) == (
            "square", "OPEN", {"type": "PICKUP", "status": "PENDING"})
        assert held["lines"] == [{"sku": case["sku"], "quantity": "2"}]

        # through the graph
        assert (await store_stock(client, case["sku"]))[case["store"]] == \
            case["available"] - 2
        who = await graphql(client, BALANCE, id=case["id"])
        assert who["data"]["customer"]["loyalty"]["pointsBalance"] == \
            case["balance"] + placed["pointsEarned"]
        assert order["id"] in [e["node"]["id"] for e in
                               who["data"]["customer"]["orders"]["edges"]]

        # straight from each silo
        after = await snapshot(pickup_sandbox, case, saga_id)
        assert [o.status for o in after.orders] == ["OPEN"]
        assert after.units == before.units - 2
        assert after.balance == before.balance + placed["pointsEarned"]
        async with direct(pickup_sandbox) as runtime:
            entry = await runtime.adapters["loyalty"].entry_by_key(
                f"c360-{saga_id}-accrue_points")
        assert (entry.points, entry.reason) == (placed["pointsEarned"], "PURCHASE")
        assert entry.order_ref is not None and entry.order_ref.id == after.orders[0].id

    store = case["store"]
    async with gateway(role="store_associate", store=store) as clerk:
        ready = await mutate(clerk, READY, new_key(), o=order["id"])
        assert ready["data"]["markReadyForPickup"]["order"]["fulfillment"] == {
            "status": "READY", "location": {"code": store}}, ready
        assert ready["data"]["markReadyForPickup"]["storeOrder"] == {
            "status": "OPEN", "fulfillment": {"status": "READY"}}
        done = await mutate(clerk, COMPLETE, new_key(), o=order["id"])
        completed = done["data"]["completePickup"]
        assert completed["saga"]["status"] == "COMPLETED", done
        assert [(s["name"], s["source"]) for s in completed["saga"]["steps"]] == [
            ("collect_at_store", "square"), ("fulfil_order", "shopify")]
        assert completed["order"]["fulfillment"]["status"] == "COMPLETED"
        assert completed["storeOrder"] == {"status": "COMPLETED",
                                           "fulfillment": {"status": "COMPLETED"}}
    sold = await snapshot(pickup_sandbox, case, saga_id)
    assert sold.units == before.units - 2, "a sale from the reservation leaves IN_STOCK as is"
    assert [f.status for f in sold.orders[0].fulfillments] == ["COMPLETED"]
    async with direct(pickup_sandbox) as runtime:
        [store_order] = await runtime.adapters["square"].orders_by_ids([held["orderId"]])
    assert store_order is not None and store_order.status == "COMPLETED"
    assert store_order.location_id == store_link(pickup_sandbox, store).square_location_id


async def test_a_web_order_returned_in_store_is_refunded_restocked_and_reversed(
        pickup_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = shoppers(pickup_sandbox)[1]
    async with gateway() as client:
        case = await pickup_case(client, "shopify", person["shopify"], units=3)
        placed = (await place(client, case, quantity=3))["data"]["placePickupOrder"]
        order = placed["order"]
        web_before = (await store_stock(client, case["sku"], "shopify")).get(case["store"], 0)
        balance = (await graphql(client, BALANCE, id=case["id"]))[
            "data"]["customer"]["loyalty"]["pointsBalance"]

    async with gateway(role="store_associate", store=case["store"]) as clerk:
        body = await mutate(clerk, RETURN, new_key(), o=order["id"], store=case["store"],
                            lines=[{"sku": case["sku"], "quantity": 2}])
        assert "errors" not in body, body
        returned = body["data"]["returnInStore"]
    assert returned["saga"]["status"] == "COMPLETED"
    assert [(s["name"], s["source"]) for s in returned["saga"]["steps"]] == [
        ("store_return", "square"), ("reverse_points", "loyalty"), ("refund", "shopify")]
    unit = Decimal(order["total"]["amount"]) / 3
    assert returned["pointsReversed"] == -int(unit * 2) or \
        returned["pointsReversed"] == int(unit * 2)
    assert returned["storeReturn"]["status"] == "RETURN"
    assert returned["storeReturn"]["source"] == "square"
    assert returned["storeReturn"]["store"]["code"] == case["store"]
    assert {"lines": [{"sku": case["sku"], "quantity": "2"}],
            "location": {"code": case["store"]}} in returned["order"]["returns"]

    async with gateway() as client:
        who = await graphql(client, BALANCE, id=case["id"])
        assert who["data"]["customer"]["loyalty"]["pointsBalance"] == \
            balance - abs(returned["pointsReversed"])
        assert (await store_stock(client, case["sku"], "shopify")).get(case["store"], 0) == \
            web_before + 2, "the refund restocked at the store's web location"

    store = store_link(pickup_sandbox, case["store"])
    async with direct(pickup_sandbox) as runtime:
        [found] = await runtime.adapters["shopify"].orders_by_ids([order["orderId"]])
        [refund] = found.returns
        assert refund.location_id == str(store.shopify_location_id)
        assert [(r.sku, r.quantity) for r in refund.lines] == [(case["sku"], Decimal(2))]
        [store_return] = await runtime.adapters["square"].orders_by_ids(
            [returned["storeReturn"]["orderId"]])
        assert store_return is not None and store_return.status == "RETURN"
        assert store_return.return_of is not None
        assert store_return.return_of.id == order["orderId"]
        assert store_return.location_id == store.square_location_id
        saga_id = returned["saga"]["id"]
        entry = await runtime.adapters["loyalty"].entry_by_key(
            f"c360-{saga_id}-reverse_points")
        assert (entry.points, entry.reason) == (-abs(returned["pointsReversed"]), "RETURN")

    async with gateway(role="store_associate", store=case["store"]) as clerk:
        again = await mutate(clerk, RETURN, new_key(), o=order["id"], store=case["store"],
                             lines=[{"sku": case["sku"], "quantity": 2}])
        assert error_codes(again) == ["RETURN_EXCEEDS_ORDER"], "only 1 unit is left"


async def test_a_key_repeated_or_raced_places_one_order(
        pickup_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    person = shoppers(pickup_sandbox)[2]
    key = new_key()
    async with gateway() as client:
        case = await pickup_case(client, "shopify", person["shopify"])
        before = await snapshot(pickup_sandbox, case)
        for s in silos.values():
            await s.post("/_sandbox/reset")
        bodies = await asyncio.gather(*(place(client, case, key=key) for _ in range(5)))
        ids = {b["data"]["placePickupOrder"]["saga"]["id"] for b in bodies
               if b["data"]["placePickupOrder"]}
        assert len(ids) == 1
        assert all(b["data"]["placePickupOrder"] or error_codes(b) == ["SAGA_IN_PROGRESS"]
                   for b in bodies)
        again = await place(client, case, key=key)
        assert again["data"]["placePickupOrder"]["saga"]["id"] in ids
    counted = await writes(silos)
    assert counted["shopify"] == 1 and counted["square"] == 1, counted
    after = await snapshot(pickup_sandbox, case, ids.pop())
    assert len(after.orders) == 1
    assert after.units == before.units - 2


@pytest.mark.parametrize(("role", "mutation", "code"), [
    ("service", "place", "FORBIDDEN"), ("agent", "ready", "FORBIDDEN"),
    ("agent", "return", "FORBIDDEN"), ("customer", "ready", "FORBIDDEN"),
    ("customer", "return", "FORBIDDEN"), ("customer", "place_other", "NOT_FOUND"),
    ("store_associate", "ready_elsewhere", "FORBIDDEN")])
async def test_roles_and_stores_that_may_not_act_are_refused_with_no_silo_write(
        role: str, mutation: str, code: str, pickup_sandbox: RunningSandbox,
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    mine, other = shoppers(pickup_sandbox)[3:5]
    async with gateway() as client:
        case = await pickup_case(client, "shopify", other["shopify"])
        placed = (await place(client, case, quantity=1))["data"]["placePickupOrder"]
    elsewhere = next(s.code for s in pickup_sandbox.data.stores if s.code != case["store"])
    claims: dict[str, Any] = {
        "customer": {"customer": f"shopify:{mine['shopify']}"},
        "store_associate": {"store": elsewhere}}.get(role, {})
    for s in silos.values():
        await s.post("/_sandbox/reset")
    async with gateway(role=role, **claims) as client:
        if mutation.startswith("place"):
            body = await place(client, case, quantity=1)
        elif mutation.startswith("ready"):
            body = await mutate(client, READY, new_key(), o=placed["order"]["id"])
        else:
            body = await mutate(client, RETURN, new_key(), o=placed["order"]["id"],
                                store=case["store"], lines=[{"sku": case["sku"], "quantity": 1}])
    assert error_codes(body) == [code], body
    assert await writes(silos) == {kind: 0 for kind in silos}


async def test_a_customer_places_their_own_pickup_order(
        pickup_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = shoppers(pickup_sandbox)[5]
    async with gateway() as client:
        case = await pickup_case(client, "shopify", person["shopify"], units=1)
    async with gateway(role="customer", customer=f"shopify:{person['shopify']}") as client:
        body = await place(client, case, quantity=1)
        placed = body["data"]["placePickupOrder"]
        assert placed["saga"]["status"] == "COMPLETED", body
        assert placed["order"]["fulfillment"]["type"] == "PICKUP"


async def test_a_suspended_membership_earns_nothing_and_the_order_still_goes_ahead(
        pickup_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = shoppers(pickup_sandbox)[6]
    engine = sa.create_engine(pickup_sandbox.loyalty_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE loyalty_member SET status = 'SUSPENDED' "
                             "WHERE card_number = :card"), {"card": person["loyalty"]})
    engine.dispose()
    async with gateway() as client:
        case = await pickup_case(client, "shopify", person["shopify"], units=1)
        before = await snapshot(pickup_sandbox, case)
        body = await place(client, case, quantity=1)
    placed = body["data"]["placePickupOrder"]
    assert placed["saga"]["status"] == "COMPLETED", body
    assert [s["name"] for s in placed["saga"]["steps"]] == ["create_order", "hold_at_store"]
    assert placed["pointsEarned"] == 0
    after = await snapshot(pickup_sandbox, case, placed["saga"]["id"])
    assert after.balance == before.balance
    assert [o.status for o in after.orders] == ["OPEN"]
