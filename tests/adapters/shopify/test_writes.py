"""The Shopify adapter's writes (``WebOrderWriter``) against the emulated shop: each method end
to end (read back through the adapter's reads and straight from the store), repeats after a
lost answer, typed errors, and the pure write builders and parsers."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.errors import (
    RecordNotFound,
    UpstreamBadResponse,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.models import (
    Fulfillment,
    FulfillmentType,
    LineRequest,
    NewRefund,
    NewWebOrder,
    Order,
)
from adapters.protocols import OrderSource, WebOrderWriter
from adapters.shopify import ShopifyAdapter, ShopifyConfig, parse
from adapters.shopify import requests as calls
from silos.shopify import ShopifySiloConfig, create_app
from tests.silos.shopify.factory import Shop, build_shop, location_body

pytestmark = pytest.mark.anyio

BASE = "http://shop.test"
API = "/admin/api/2026-07"
TOKEN = ShopifySiloConfig().access_token
ORDERS = "POST /admin/api/{version}/orders.json"
REFUNDS = "POST /admin/api/{version}/orders/{order_id:int}/refunds.json"
FULFILMENTS = "POST /admin/api/{version}/fulfillments.json"
TAG = "c360-saga-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
"""A saga tag as the engine makes them: 42 characters, over Shopify's 40 for a tag."""

Handler = Callable[[httpx.Request], Any]


async def no_sleep(seconds: float) -> None:
    return None


class Harness:
    """The adapter over the emulated shop (``httpx.ASGITransport``); ``intercept`` puts a
    ``httpx.MockTransport`` in front of it for faults the sandbox does not make."""

    def __init__(self) -> None:
        self.shop: Shop = build_shop()
        self.store = self.shop.store
        self.app = create_app(self.store, ShopifySiloConfig())
        self.asgi = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=self.asgi, base_url=BASE)
        self.adapter = self.make(self.client)

    def make(self, client: httpx.AsyncClient) -> ShopifyAdapter:
        config = ShopifyConfig(url=BASE, access_token=TOKEN,
                               store_location_ids=frozenset({str(self.brooklyn)}))
        return ShopifyAdapter(config, client, source="shop", sleep=no_sleep,
                              rng=random.Random(1))

    def intercept(self, handler: Callable[[httpx.Request, httpx.AsyncBaseTransport], Any]
                  ) -> ShopifyAdapter:
        """An adapter whose requests go through ``handler(request, emulator)``."""
        async def route(request: httpx.Request) -> httpx.Response:
            response: httpx.Response = await handler(request, self.asgi)
            return response

        client = httpx.AsyncClient(transport=httpx.MockTransport(route), base_url=BASE)
        return self.make(client)

    @property
    def brooklyn(self) -> int:
        return int(self.shop.brooklyn["id"])

    @property
    def customer(self) -> str:
        return str(self.shop.customers[0]["id"])

    def level(self, sku: str, location_id: int) -> int:
        variant = self.store.variant_by_sku(sku)
        assert variant is not None
        level = self.store.inventory_level(variant["inventory_item_id"], location_id)
        assert level is not None
        return int(level["available"])

    def tagged(self, tag: str = TAG) -> list[dict[str, Any]]:
        return [self.store.orders[i] for i in self.store.order_ids_tagged(calls.order_tag(tag))]

    async def faults(self, **faults: Any) -> None:
        response = await self.client.post("/_sandbox/faults", json=faults)
        assert response.status_code == 200, response.text

    async def stats(self) -> dict[str, int]:
        return dict((await self.client.get("/_sandbox/stats")).json()["endpoints"])

    def web_order(self, *, pickup: bool = True, quantity: int = 2, tag: str = TAG,
                  sku: str = "IPOD2008GREEN") -> NewWebOrder:
        return NewWebOrder(customer_id=self.customer, lines=(LineRequest(sku, quantity),),
                           saga_tag=tag, pickup_location_id=str(self.brooklyn) if pickup else None,
                           email="bob.norman0@mail.example.com", note="to collect")


@pytest.fixture
async def shop() -> AsyncIterator[Harness]:
    harness = Harness()
    async with harness.client:
        yield harness


async def read(shop: Harness, order_id: str) -> Order:
    [found] = await shop.adapter.orders_by_ids([order_id])
    assert found is not None
    return found


def test_the_adapter_is_a_web_order_writer() -> None:
    adapter = Harness().adapter
    assert isinstance(adapter, WebOrderWriter)
    assert isinstance(adapter, OrderSource)


# -- create_order, orders_by_tag -----------------------------------------------------------------
async def test_create_order_is_a_pickup_read_back_like_every_order(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    pending = Fulfillment(FulfillmentType.PICKUP, "PENDING", str(shop.brooklyn))
    assert made.fulfillments == (pending,)
    assert (made.status, made.financial_status, made.customer_id) == (
        "OPEN", "pending", shop.customer)
    assert [(line.sku, line.quantity) for line in made.lines] == [("IPOD2008GREEN", Decimal(2))]
    assert await read(shop, made.id) == made
    assert await shop.adapter.orders_by_tag(TAG) == [made]
    [record] = shop.tagged()
    assert record["id"] == int(made.id)
    assert record["tags"] == calls.order_tag(TAG) and len(record["tags"]) == 40
    assert record["note_attributes"] == [{"name": "c360_saga", "value": TAG}]
    assert record["shipping_lines"][0]["title"] == shop.shop.brooklyn["name"]
    [fo] = shop.store.order_fulfillment_orders(int(made.id))
    assert (fo["assigned_location_id"], fo["delivery_method"]["method_type"], fo["status"]) == (
        shop.brooklyn, "pick_up", "open")


async def test_create_order_without_pickup_ships(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order(pickup=False, tag="c360-saga-ship"))
    assert made.fulfillments == ()
    assert [o.id for o in await shop.adapter.orders_by_tag("c360-saga-ship")] == [made.id]
    assert await shop.adapter.orders_by_tag("c360-saga-none") == []


async def test_create_order_after_a_lost_answer_is_found_once(shop: Harness) -> None:
    async def forward_then_time_out(request: httpx.Request,
                                    emulator: httpx.AsyncBaseTransport) -> httpx.Response:
        response = await emulator.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/orders.json"):
            await response.aread()
            raise httpx.ReadTimeout("lost", request=request)
        return response

    lossy = shop.intercept(forward_then_time_out)
    with pytest.raises(UpstreamTimeout):
        await lossy.create_order(shop.web_order())
    assert len(shop.tagged()) == 1, "applied once (a create is not retried)"
    found = await shop.adapter.orders_by_tag(TAG)
    assert [o.id for o in found] == [str(shop.tagged()[0]["id"])]
    assert found[0].fulfillments[0].status == "PENDING"


async def test_orders_by_tag_finds_cancelled_orders(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    await shop.adapter.cancel_order(made.id, reason="other", restock=True)
    [found] = await shop.adapter.orders_by_tag(TAG)
    assert (found.id, found.status) == (made.id, "CANCELLED")


async def test_create_order_errors_are_typed(shop: Harness) -> None:
    with pytest.raises(RecordNotFound):
        await shop.adapter.create_order(shop.web_order(sku="NO-SUCH-SKU"))
    with pytest.raises(RecordNotFound):
        await shop.adapter.create_order(
            NewWebOrder(customer_id="x", lines=(LineRequest("IPOD2008GREEN", 1),), saga_tag=TAG))
    with pytest.raises(RecordNotFound):
        await shop.adapter.create_order(
            NewWebOrder(customer_id=shop.customer, lines=(LineRequest("IPOD2008GREEN", 1),),
                        saga_tag=TAG, pickup_location_id="4242"))
    with pytest.raises(UpstreamRejected) as refused:
        await shop.adapter.create_order(
            NewWebOrder(customer_id="4242", lines=(LineRequest("IPOD2008GREEN", 1),),
                        saga_tag=TAG, email="secret.person@example.org"))
    assert refused.value.status == 422 and "(customer)" in str(refused.value)
    assert "secret" not in str(refused.value)
    assert shop.tagged() == []


@pytest.mark.parametrize(("answer", "error"), [
    (httpx.Response(422, json={"errors": {"line_items": ["must have at least one"]}}),
     UpstreamRejected),
    (httpx.Response(500, json={"errors": "Internal Server Error"}), UpstreamUnavailable),
    (httpx.Response(200, content=b"<html>"), UpstreamBadResponse),
    (None, UpstreamTimeout),
])
async def test_write_failures_are_typed_and_not_retried(
        shop: Harness, answer: httpx.Response | None, error: type[Exception]) -> None:
    posts: list[str] = []

    async def fail_writes(request: httpx.Request,
                          emulator: httpx.AsyncBaseTransport) -> httpx.Response:
        if request.method == "GET" or request.url.path.endswith("graphql.json"):
            return await emulator.handle_async_request(request)
        posts.append(request.url.path)
        if answer is None:
            raise httpx.ConnectTimeout("slow", request=request)
        return answer

    faulty = shop.intercept(fail_writes)
    with pytest.raises(error) as raised:
        await faulty.create_order(shop.web_order())
    assert posts == [f"{API}/orders.json"]
    assert "bob" not in str(raised.value).lower()


# -- cancel_order ----------------------------------------------------------------------------
async def test_cancel_twice_is_harmless(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    cancelled = await shop.adapter.cancel_order(made.id, reason="customer", restock=True)
    assert cancelled.status == "CANCELLED"
    assert cancelled.fulfillments == (
        Fulfillment(FulfillmentType.PICKUP, "CANCELLED", str(shop.brooklyn)),)
    again = await shop.adapter.cancel_order(made.id, reason="customer", restock=True)
    assert again == cancelled
    record = shop.store.orders[int(made.id)]
    assert (record["cancel_reason"], record["financial_status"]) == ("customer", "voided")
    [fo] = shop.store.order_fulfillment_orders(int(made.id))
    assert fo["status"] == "closed"
    with pytest.raises(RecordNotFound):
        await shop.adapter.cancel_order("4242", reason="other", restock=False)
    other = await shop.adapter.create_order(shop.web_order(tag="c360-saga-other"))
    with pytest.raises(UpstreamRejected) as refused:
        await shop.adapter.cancel_order(other.id, reason="bored", restock=False)
    assert refused.value.status == 422 and "(reason)" in str(refused.value)
    assert (await read(shop, other.id)).status == "OPEN"


async def test_cancel_with_restock_returns_what_the_order_claimed(shop: Harness) -> None:
    sku = "IPOD2008RED"
    before = shop.level(sku, shop.brooklyn)
    variant = shop.store.variant_by_sku(sku)
    assert variant is not None
    claimed = shop.store.create_order({"order": {
        "line_items": [{"variant_id": variant["id"], "quantity": 2}],
        "inventory_behaviour": "decrement_obeying_policy", "tags": "claimed",
        "shipping_lines": [calls.pickup_shipping_line(shop.shop.brooklyn["name"])]}})
    assert shop.level(sku, shop.brooklyn) == before - 2
    await shop.adapter.cancel_order(str(claimed["id"]), reason="inventory", restock=True)
    assert shop.level(sku, shop.brooklyn) == before
    bypassed = await shop.adapter.create_order(shop.web_order(sku=sku))
    assert shop.level(sku, shop.brooklyn) == before, "API orders bypass inventory by default"
    await shop.adapter.cancel_order(bypassed.id, reason="other", restock=True)
    assert shop.level(sku, shop.brooklyn) == before


# -- mark_ready_for_pickup, complete_pickup --------------------------------------------------
async def test_ready_then_collected_and_repeats_are_harmless(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    where = str(shop.brooklyn)
    ready = await shop.adapter.mark_ready_for_pickup(made.id)
    assert ready.fulfillments == (Fulfillment(FulfillmentType.PICKUP, "READY", where),)
    assert ready.status == "OPEN"
    assert await shop.adapter.mark_ready_for_pickup(made.id) == ready
    assert await read(shop, made.id) == ready
    [fo] = shop.store.order_fulfillment_orders(int(made.id))
    assert fo["status"] == "in_progress"
    [mine] = (await shop.adapter.orders_by_customer_ids([shop.customer]))[0][:1]
    assert mine.id == made.id and mine.fulfillments[0].status == "READY"

    done = await shop.adapter.complete_pickup(made.id)
    assert done.status == "COMPLETED"
    [fulfilled] = done.fulfillments
    assert (fulfilled.type, fulfilled.status, fulfilled.location_id) == (
        FulfillmentType.PICKUP, "COMPLETED", where)
    again = await shop.adapter.complete_pickup(made.id)
    assert again == done
    record = shop.store.orders[int(made.id)]
    assert record["fulfillment_status"] == "fulfilled" and len(record["fulfillments"]) == 1
    assert record["fulfillments"][0]["location_id"] == shop.brooklyn
    [fo] = shop.store.order_fulfillment_orders(int(made.id))
    assert fo["status"] == "closed"
    assert await shop.adapter.mark_ready_for_pickup(made.id) == done


async def test_complete_pickup_without_preparing_first(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    done = await shop.adapter.complete_pickup(made.id)
    assert done.fulfillments[0].status == "COMPLETED"


async def test_complete_pickup_after_a_lost_answer(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    await shop.faults(lost_response=True, endpoints=[FULFILMENTS])
    with pytest.raises(UpstreamTimeout):
        await shop.adapter.complete_pickup(made.id)
    await shop.faults(lost_response=False)
    done = await shop.adapter.complete_pickup(made.id)
    assert done.status == "COMPLETED"
    assert len(shop.store.orders[int(made.id)]["fulfillments"]) == 1
    assert (await shop.stats())[FULFILMENTS] == 1


async def test_pickup_steps_of_an_order_that_is_no_pickup_are_refused(shop: Harness) -> None:
    shipped = await shop.adapter.create_order(shop.web_order(pickup=False))
    with pytest.raises(UpstreamRejected):
        await shop.adapter.mark_ready_for_pickup(shipped.id)
    with pytest.raises(UpstreamRejected):
        await shop.adapter.complete_pickup(shipped.id)
    with pytest.raises(RecordNotFound):
        await shop.adapter.mark_ready_for_pickup("4242")
    assert shop.store.orders[int(shipped.id)]["fulfillments"] == []


async def test_ready_of_a_cancelled_pickup_stays_cancelled(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    await shop.adapter.cancel_order(made.id, reason="other", restock=False)
    assert (await shop.adapter.mark_ready_for_pickup(made.id)).fulfillments[0].status == \
        "CANCELLED"


# -- create_refund, refunds_by_key -----------------------------------------------------------
async def test_refund_restocks_at_the_store_and_reads_back(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order(quantity=3))
    await shop.adapter.complete_pickup(made.id)
    before = shop.level("IPOD2008GREEN", shop.brooklyn)
    refund = NewRefund(order_id=made.id, lines=(LineRequest("IPOD2008GREEN", 2),), key="k-1",
                       restock_location_id=str(shop.brooklyn), note="returned in store")
    made_refund = await shop.adapter.create_refund(refund)
    assert made_refund.location_id == str(shop.brooklyn)
    assert [(line.sku, line.quantity) for line in made_refund.lines] == [
        ("IPOD2008GREEN", Decimal(2))]
    assert made_refund.amount is not None and made_refund.amount.amount == 0, \
        "nothing was paid on a pending order"
    assert shop.level("IPOD2008GREEN", shop.brooklyn) == before + 2
    [stored] = shop.store.refunds(int(made.id))
    assert stored["note"] == "returned in store [c360:k-1]"
    assert stored["refund_line_items"][0]["restock_type"] == "return"
    order = await read(shop, made.id)
    assert order.returns == (made_refund,)
    assert await shop.adapter.refunds_by_key(made.id, "k-1") == [made_refund]
    assert await shop.adapter.refunds_by_key(made.id, "k-2") == []
    with pytest.raises(UpstreamRejected):
        await shop.adapter.create_refund(
            NewRefund(order_id=made.id, lines=(LineRequest("IPOD2008GREEN", 2),), key="k-2"))
    with pytest.raises(RecordNotFound):
        await shop.adapter.create_refund(
            NewRefund(order_id=made.id, lines=(LineRequest("IPOD2008RED", 1),), key="k-3"))
    with pytest.raises(RecordNotFound):
        await shop.adapter.create_refund(
            NewRefund(order_id="4242", lines=(LineRequest("IPOD2008RED", 1),), key="k-4"))
    assert len(shop.store.refunds(int(made.id))) == 1


async def test_refund_of_a_paid_order_pays_back_what_shopify_suggests(shop: Harness) -> None:
    paid = shop.shop.orders[0]
    sku = paid["line_items"][0]["sku"]
    made = await shop.adapter.create_refund(
        NewRefund(order_id=str(paid["id"]), lines=(LineRequest(sku, 1),), key="k-paid"))
    assert made.amount is not None and made.amount.amount == Decimal("199.00")
    assert made.location_id is None
    [stored] = shop.store.refunds(int(paid["id"]))
    assert stored["transactions"][0]["kind"] == "refund"
    assert stored["refund_line_items"][0]["restock_type"] == "no_restock"


async def test_refund_after_a_lost_answer_is_found_by_its_key(shop: Harness) -> None:
    made = await shop.adapter.create_order(shop.web_order())
    await shop.faults(lost_response=True, endpoints=[REFUNDS])
    refund = NewRefund(order_id=made.id, lines=(LineRequest("IPOD2008GREEN", 1),), key="k-9",
                       restock_location_id=str(shop.brooklyn))
    with pytest.raises(UpstreamTimeout):
        await shop.adapter.create_refund(refund)
    await shop.faults(lost_response=False)
    [found] = await shop.adapter.refunds_by_key(made.id, "k-9")
    assert found.location_id == str(shop.brooklyn)
    assert len(shop.store.refunds(int(made.id))) == 1
    assert (await shop.stats())[REFUNDS] == 1, "a refund is not retried"


# -- complete_draft_order --------------------------------------------------------------------
def draft(shop: Harness, **extra: Any) -> str:
    variant = shop.shop.product["variants"][1]
    made = shop.store.create_draft_order({"draft_order": {
        "customer": {"id": int(shop.customer)}, "tags": "agent",
        "line_items": [{"variant_id": variant["id"], "quantity": 1}], **extra}})
    return str(made["id"])


async def test_complete_draft_order_carries_the_tag_and_the_pickup(shop: Harness) -> None:
    draft_id = draft(shop, note_attributes=[{"name": "channel", "value": "phone"}])
    order = await shop.adapter.complete_draft_order(
        draft_id, saga_tag=TAG, pickup_location_id=str(shop.brooklyn))
    assert order.fulfillments == (
        Fulfillment(FulfillmentType.PICKUP, "PENDING", str(shop.brooklyn)),)
    assert order.financial_status == "pending"
    assert await shop.adapter.orders_by_tag(TAG) == [order]
    [record] = shop.tagged()
    assert record["tags"] == f"agent, {calls.order_tag(TAG)}"
    assert record["note_attributes"] == [{"name": "channel", "value": "phone"},
                                         {"name": "c360_saga", "value": TAG}]
    again = await shop.adapter.complete_draft_order(
        draft_id, saga_tag=TAG, pickup_location_id=str(shop.brooklyn))
    assert again == order
    assert len(shop.tagged()) == 1
    ready = await shop.adapter.mark_ready_for_pickup(order.id)
    assert ready.fulfillments[0].status == "READY"


async def test_complete_draft_order_after_a_lost_answer(shop: Harness) -> None:
    draft_id = draft(shop)
    await shop.faults(lost_response=True, endpoints=[
        "PUT /admin/api/{version}/draft_orders/{draft_order_id:int}/complete.json"])
    with pytest.raises(UpstreamTimeout):
        await shop.adapter.complete_draft_order(draft_id, saga_tag=TAG, pickup_location_id=None)
    await shop.faults(lost_response=False)
    order = await shop.adapter.complete_draft_order(draft_id, saga_tag=TAG,
                                                    pickup_location_id=None)
    assert [o.id for o in await shop.adapter.orders_by_tag(TAG)] == [order.id]
    assert order.fulfillments == ()


async def test_complete_draft_order_errors(shop: Harness) -> None:
    with pytest.raises(RecordNotFound):
        await shop.adapter.complete_draft_order("4242", saga_tag=TAG, pickup_location_id=None)
    with pytest.raises(RecordNotFound):
        await shop.adapter.complete_draft_order("x", saga_tag=TAG, pickup_location_id=None)


# -- pure builders and parsers ---------------------------------------------------------------
def test_order_tag_fits_shopify_and_is_stable() -> None:
    assert calls.order_tag("c360-saga-short") == "c360-saga-short"
    long = calls.order_tag(TAG)
    assert len(long) == 40 and long == calls.order_tag(TAG) and long.startswith(TAG[:23])
    assert calls.order_tag(TAG + "x") != long
    assert calls.tag_search('a"b') == 'tag:"a\\"b"'


def test_create_order_request() -> None:
    write = calls.create_order("2026-07", customer_id=7, lines=[(44, 2)], saga_tag="t-1",
                               pickup_name="Brooklyn Store")
    assert (write.method, write.path) == ("POST", "/admin/api/2026-07/orders.json")
    order = write.body["order"]
    assert order["line_items"] == [{"variant_id": 44, "quantity": 2}]
    assert (order["customer"], order["financial_status"], order["tags"]) == (
        {"id": 7}, "pending", "t-1")
    assert order["note_attributes"] == [{"name": "c360_saga", "value": "t-1"}]
    assert order["shipping_lines"] == [{"title": "Brooklyn Store", "code": "Brooklyn Store",
                                        "source": "shopify", "price": "0.00"}]


def test_refund_requests_carry_the_key() -> None:
    write = calls.create_refund("2026-07", "9", [("5", 2)], location_id="61", key="k",
                                note=None, transactions=[])
    refund = write.body["refund"]
    assert refund["note"] == "[c360:k]" and refund["transactions"] == []
    assert refund["refund_line_items"] == [
        {"line_item_id": 5, "quantity": 2, "restock_type": "return", "location_id": 61}]
    assert calls.refund_note("in store", "k") == "in store [c360:k]"


def test_allocate_refund_spreads_a_sku_over_its_lines() -> None:
    lines = [("1", "A", 1), ("2", "B", 5), ("3", "A", 2)]
    assert parse.allocate_refund([("A", 3)], lines) == ([("1", 1), ("3", 2)], None)
    assert parse.allocate_refund([("A", 4)], lines) == ([], "exceeds")
    assert parse.allocate_refund([("C", 1)], lines) == ([], "missing")


def test_pickup_readiness_and_error_fields() -> None:
    payload = {"data": {"orders": {"nodes": [
        {"legacyResourceId": "1", "fulfillmentOrders": {"nodes": [
            {"status": "IN_PROGRESS", "deliveryMethod": {"methodType": "PICK_UP"}}]}},
        {"legacyResourceId": "2", "fulfillmentOrders": {"nodes": [
            {"status": "IN_PROGRESS", "deliveryMethod": {"methodType": "SHIPPING"}}]}},
    ]}}}
    assert parse.pickup_readiness(payload) == {"1": True, "2": False}
    assert parse.error_fields({"errors": {"customer": ["is invalid"], "a b": []}}) == [
        "customer"]
    assert parse.error_fields({"errors": "Not Found"}) == []


@pytest.mark.vendor_payloads
def test_vendor_write_answers_parse(payload: Any) -> None:
    refund = parse.parse_created_refund(payload("shopify/refund_create.json"))
    assert [line.quantity for line in refund.lines] == [Decimal(1)]
    assert refund.amount is not None and refund.amount.amount == Decimal("41.94")
    assert parse.refunds_with_marker({"refunds": [payload("shopify/refund_create.json")[
        "refund"]]}, "wrong size") == [refund]
    assert parse.refund_transactions(payload("shopify/refund_calculate.json")) == [
        {"kind": "refund", "amount": "41.94", "gateway": "bogus", "parent_id": 801038806}]
    assert parse.pickup_fulfillment_orders(payload("shopify/fulfillment_orders_list.json")) == []
    order_id, tags, _ = parse.draft_state(payload("shopify/draft_order_complete.json"))
    assert order_id is not None and isinstance(tags, list)
    created = parse.parse_order(payload("shopify/order_create.json")["order"])
    assert created.financial_status is not None


async def test_a_completed_draft_leaves_the_cached_open_carts(shop: Harness) -> None:
    draft_id = draft(shop)
    [carts] = await shop.adapter.carts_by_customer_ids([shop.customer])
    assert draft_id in [c.id for c in carts]
    await shop.adapter.complete_draft_order(draft_id, saga_tag=TAG, pickup_location_id=None)
    [carts] = await shop.adapter.carts_by_customer_ids([shop.customer])
    assert draft_id not in [c.id for c in carts]


async def test_refund_at_a_location_that_stocks_nothing_stocks_the_item_there(
        shop: Harness) -> None:
    queens = shop.store.create_location(location_body("Queens Store", "Queens"))
    variant = shop.store.variant_by_sku("IPOD2008BLACK")
    assert variant is not None
    item = variant["inventory_item_id"]
    assert shop.store.inventory_level(item, queens["id"]) is None
    made = await shop.adapter.create_order(shop.web_order(sku="IPOD2008BLACK", pickup=False))
    refund = NewRefund(order_id=made.id, lines=(LineRequest("IPOD2008BLACK", 1),), key="k-q",
                       restock_location_id=str(queens["id"]))
    returned = await shop.adapter.create_refund(refund)
    assert returned.location_id == str(queens["id"])
    level = shop.store.inventory_level(item, queens["id"])
    assert level is not None and level["available"] == 1
    [[found]] = await shop.adapter.inventory_by_skus(["IPOD2008BLACK"], [str(queens["id"])])
    assert found.available == 1
