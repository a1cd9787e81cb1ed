"""Faults at every step of ``placePickupOrder``, ``returnInStore`` and ``handOffCart``: each
write endpoint a journey uses is made to fail in turn — the silo down (503), answering 500,
or applying the write and losing its answer (504) — and the loyalty database down or losing
its answer. Whatever happens, every silo ends consistent, read straight from each silo: all
the journey's writes visible, or none (what was done, undone)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.errors import UpstreamTimeout, UpstreamUnavailable
from adapters.loyalty import LoyaltyAdapter
from adapters.models import LedgerEntry, NewLedgerEntry
from silos.sandbox import RunningSandbox, SandboxOptions
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.mutations import (
    direct,
    mutate,
    new_key,
    outcome,
    pickup_case,
    snapshot,
    store_link,
    store_stock,
    write_endpoints,
)
from tests.gateway.test_graph import people_with

pytestmark = pytest.mark.anyio
ONE_FAULT_AT_A_TIME = {"breakers": {"enabled": False}}
"""Every step's faults are injected in turn through one gateway: the breakers (tested in
test_breakers) would open on them and leave later steps unreached."""

HTTP_FAULTS = {"down": {"down": True}, "500": {"error_rate": 1.0},
               "lost answer": {"lost_response": True}}
LOYALTY_FAULTS = ("down", "lost answer")

PLACE = """mutation($c: ID!, $lines: [LineInput!]!, $store: ID!) {
  placePickupOrder(customer: $c, lines: $lines, store: $store) {
    pointsEarned saga { id status } order { id orderId status } } }"""
READY = """mutation($o: ID!) { markReadyForPickup(order: $o) { saga { status } } }"""
COMPLETE = """mutation($o: ID!) { completePickup(order: $o) { saga { status } } }"""
RETURN = """mutation($o: ID!, $lines: [LineInput!]!, $store: ID!) {
  returnInStore(order: $o, lines: $lines, store: $store) {
    refundId pointsReversed saga { id status } } }"""
HAND_OFF = """mutation($cart: ID!, $store: ID!, $mode: HandOffMode!, $c: ID) {
  handOffCart(cart: $cart, store: $store, mode: $mode, customer: $c) {
    saga { id status } order { orderId } } }"""
CARTS = """query($id: ID!) { customer(sourceRef: {kind: "shopify", id: $id}) {
  id loyalty { cardNumber pointsBalance } carts { id cartId kind lines { sku quantity } } } }"""

Call = Callable[[str], Awaitable[dict[str, Any]]]


@pytest.fixture(scope="module")
def faults_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=150, seed=53,
                                          data_dir=tmp_path_factory.mktemp("faults")))


@pytest.fixture
def gateway_sandbox(faults_sandbox: RunningSandbox) -> RunningSandbox:
    return faults_sandbox


def loyalty_fault(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """The loyalty database down (nothing written) or losing the answer of a write it
    committed, as its adapter reports them."""
    real = LoyaltyAdapter.post_points

    async def faulty(self: LoyaltyAdapter, entry: NewLedgerEntry, *, key: str) -> LedgerEntry:
        if mode == "down":
            raise UpstreamUnavailable(self.source, "post_points failed: unreachable")
        await real(self, entry, key=key)
        raise UpstreamTimeout(self.source, "post_points timed out")

    monkeypatch.setattr(LoyaltyAdapter, "post_points", faulty)


async def with_faults(silos: dict[str, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch,
                      field: str, call: Call, check: Callable[[str, str], Awaitable[None]],
                      journey_writes: dict[str, dict[str, int]], loyalty: bool) -> list[str]:
    """Run ``call`` once per (write endpoint, fault) and per loyalty fault; ``check`` each
    saga's end state. A saga left in flight (an outcome that could not be read back) is
    asked again, with the same key, once the silo is back. The statuses seen."""
    seen = []
    cases: list[tuple[str, str, str]] = [
        (kind, endpoint, fault) for kind, endpoints in sorted(journey_writes.items())
        for endpoint in sorted(endpoints) for fault in HTTP_FAULTS]
    if loyalty:
        cases += [("loyalty", "post_points", fault) for fault in LOYALTY_FAULTS]
    assert any(kind != "loyalty" for kind, _, _ in cases)
    for kind, endpoint, fault in cases:
        key = new_key()
        if kind == "loyalty":
            with monkeypatch.context() as patch:
                loyalty_fault(patch, fault)
                body = await call(key)
        else:
            await silos[kind].post("/_sandbox/faults",
                                   json={**HTTP_FAULTS[fault], "endpoints": [endpoint]})
            try:
                body = await call(key)
            finally:
                await silos[kind].post("/_sandbox/reset")
        saga_id, status = outcome(body, field)
        if status in ("RUNNING", "COMPENSATING"):
            body = await call(key)
            saga_id, status = outcome(body, field)
        where = f"{kind} {endpoint} {fault}"
        assert status in ("COMPLETED", "COMPENSATED"), f"{where}: {body}"
        await check(saga_id, status)
        seen.append(f"{where}: {status}")
    return seen


async def discover(silos: dict[str, httpx.AsyncClient], call: Call) -> dict[str, Any]:
    """A clean run of the journey and the write endpoints it used."""
    for client in silos.values():
        await client.post("/_sandbox/reset")
    body = await call(new_key())
    used = {k: v for k, v in (await write_endpoints(silos)).items() if v}
    return {"body": body, "writes": used}


async def test_place_pickup_order_is_all_or_nothing_at_every_step(
        faults_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch) -> None:
    person = people_with(faults_sandbox, "shopify", "loyalty")[0]
    async with gateway(config=ONE_FAULT_AT_A_TIME) as client:
        case = await pickup_case(client, "shopify", person["shopify"], units=10)

        async def call(key: str) -> dict[str, Any]:
            return await mutate(client, PLACE, key, c=case["id"], store=case["store"],
                                lines=[{"sku": case["sku"], "quantity": 1}])

        before = await snapshot(faults_sandbox, case)
        clean = await discover(silos, call)
        assert set(clean["writes"]) == {"shopify", "square"}, clean["writes"]
        state = {"units": before.units - 1,
                 "balance": before.balance + clean["body"]["data"]["placePickupOrder"][
                     "pointsEarned"]}

        async def check(saga_id: str, status: str) -> None:
            after = await snapshot(faults_sandbox, case, saga_id)
            active = [o for o in after.orders if o.status != "CANCELLED"]
            if status == "COMPLETED":
                assert len(active) == 1 and len(after.orders) == 1
                state["units"] -= 1
                state["balance"] += int(active[0].total.amount)
            else:
                assert active == [], "the web order was cancelled"
            assert after.units == state["units"], "reserved once, or released"
            assert after.balance == state["balance"], "accrued once, or reversed"

        seen = await with_faults(silos, monkeypatch, "placePickupOrder", call, check,
                                 clean["writes"], loyalty=True)
    assert any(s.endswith("COMPENSATED") for s in seen), seen
    assert any(s.endswith("COMPLETED") for s in seen), seen


async def test_return_in_store_is_all_or_nothing_at_every_step(
        faults_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch) -> None:
    person = people_with(faults_sandbox, "shopify", "loyalty")[1]
    async with gateway(config=ONE_FAULT_AT_A_TIME) as client:
        case = await pickup_case(client, "shopify", person["shopify"], units=10)
        placed = await mutate(client, PLACE, new_key(), c=case["id"], store=case["store"],
                              lines=[{"sku": case["sku"], "quantity": 10}])
        order = placed["data"]["placePickupOrder"]["order"]
        for step in (READY, COMPLETE):
            done = await mutate(client, step, new_key(), o=order["id"])
            assert "errors" not in done, done
        store = store_link(faults_sandbox, case["store"])

        async def call(key: str) -> dict[str, Any]:
            return await mutate(client, RETURN, key, o=order["id"], store=case["store"],
                                lines=[{"sku": case["sku"], "quantity": 1}])

        async def web_stock() -> Decimal:
            async with direct(faults_sandbox) as runtime:
                [levels] = await runtime.adapters["shopify"].inventory_by_skus(
                    [case["sku"]], [str(store.shopify_location_id)])
            return sum((lv.available for lv in levels), Decimal(0))

        before = await snapshot(faults_sandbox, case)
        stock = await web_stock()
        clean = await discover(silos, call)
        assert set(clean["writes"]) == {"shopify", "square"}, clean["writes"]
        reversed_points = abs(clean["body"]["data"]["returnInStore"]["pointsReversed"])
        state = {"returned": 1, "balance": before.balance - reversed_points,
                 "stock": stock + 1}

        async def check(saga_id: str, status: str) -> None:
            after = await snapshot(faults_sandbox, case)
            async with direct(faults_sandbox) as runtime:
                saga = await runtime.sagas.store.load(saga_id)
                assert saga is not None
                [found] = await runtime.adapters["shopify"].orders_by_ids([order["orderId"]])
                refunds = await runtime.adapters["shopify"].refunds_by_key(
                    order["orderId"], f"c360-{saga_id}-refund")
                made = next(s for s in saga.steps if s.name == "store_return")
                store_orders = await runtime.adapters["square"].orders_by_ids(
                    [made.output["id"]]) if made.output else []
            assert found is not None
            if status == "COMPLETED":
                state["returned"] += 1
                state["balance"] -= reversed_points
                state["stock"] += 1
                assert len(refunds) == 1
                assert [o.status for o in store_orders if o] == ["RETURN"]
            else:
                assert refunds == []
                assert all(o is None or o.status == "CANCELLED" for o in store_orders)
            assert sum((line.quantity for r in found.returns for line in r.lines),
                       Decimal(0)) == state["returned"], "refunded once, or not at all"
            assert after.balance == state["balance"], "reversed once, or restored"
            assert await web_stock() == state["stock"], "restocked once, or not at all"

        seen = await with_faults(silos, monkeypatch, "returnInStore", call, check,
                                 clean["writes"], loyalty=True)
    assert any(s.endswith("COMPENSATED") for s in seen), seen


@pytest.mark.parametrize("mode", ["PICKUP", "STORE_SALE"])
async def test_hand_off_cart_is_all_or_nothing_at_every_step(
        mode: str, faults_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch) -> None:
    async with gateway(config=ONE_FAULT_AT_A_TIME) as client:
        found = None
        for person in people_with(faults_sandbox, "shopify", "loyalty"):
            body = (await client.post("/graphql", json={
                "query": CARTS, "variables": {"id": person["shopify"]}})).json()
            customer = body["data"]["customer"]
            carts = [c for c in customer["carts"] or [] if c["kind"] == "CHECKOUT"
                     and len(c["lines"]) == 1 and c["lines"][0]["sku"]]
            for cart in carts:
                case = await pickup_case_for(client, customer, cart)
                if case is not None:
                    found = case
                    break
            if found:
                break
        assert found is not None, "a one-line checkout a store can serve many times"
        case = found

        async def call(key: str) -> dict[str, Any]:
            return await mutate(client, HAND_OFF, key, cart=case["cart"], store=case["store"],
                                mode=mode, c=case["id"])

        before = await snapshot(faults_sandbox, case)
        clean = await discover(silos, call)
        assert clean["body"]["data"]["handOffCart"]["saga"]["status"] == "COMPLETED", clean
        state = {"units": before.units - case["quantity"]}

        async def check(saga_id: str, status: str) -> None:
            after = await snapshot(faults_sandbox, case,
                                   saga_id if mode == "PICKUP" else None)
            async with direct(faults_sandbox) as runtime:
                saga = await runtime.sagas.store.load(saga_id)
                assert saga is not None
                made = next(s for s in saga.steps if s.name in ("hold_at_store", "create_order"))
                reader = runtime.adapters["square" if mode == "STORE_SALE" else "shopify"]
                orders = [o for o in await reader.orders_by_ids([made.output["id"]]) if o] \
                    if made.output else []
            if mode == "PICKUP":
                orders = list(after.orders)
            if status == "COMPLETED":
                state["units"] -= case["quantity"]
                assert [o.status for o in orders] == ["OPEN"]
            else:
                assert all(o.status == "CANCELLED" for o in orders)
            assert after.units == state["units"], "reserved once, or released"

        seen = await with_faults(silos, monkeypatch, "handOffCart", call, check,
                                 clean["writes"], loyalty=mode == "PICKUP")
    assert any(s.endswith("COMPENSATED") for s in seen), seen


async def pickup_case_for(client: httpx.AsyncClient, customer: dict[str, Any],
                          cart: dict[str, Any]) -> dict[str, Any] | None:
    line = cart["lines"][0]
    quantity = int(Decimal(line["quantity"]))
    stock = await store_stock(client, line["sku"])
    for store, available in sorted(stock.items()):
        if available >= quantity * 10:
            loyalty = customer["loyalty"] or {}
            return {"id": customer["id"], "cart": cart["id"], "store": store,
                    "sku": line["sku"], "quantity": quantity, "available": available,
                    "card": loyalty.get("cardNumber"), "balance": loyalty.get("pointsBalance")}
    return None
