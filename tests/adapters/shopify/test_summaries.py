"""Order summaries (``OrderSummarySource``): the ``fields=`` they ask for, their parse over the
vendor payloads and every generated order, and the adapter over the emulated shop — each
summary is the whole order's :meth:`~adapters.models.Order.summary`, for fewer bytes."""

from __future__ import annotations

import copy
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import fields
from typing import Any

import httpx
import pytest

from adapters.models import Order, OrderSummary
from adapters.protocols import OrderSource, OrderSummarySource
from adapters.shopify import ShopifyAdapter, ShopifyConfig, parse
from adapters.shopify import requests as calls
from adapters.shopify.requests import Call
from silos.control import SandboxControl
from silos.generator import Sandbox, generate
from silos.shopify import ShopifySiloConfig, pickup_shipping_line

BASE = "http://shop.test"
TOKEN = ShopifySiloConfig().access_token
EP = "GET /admin/api/{version}/"
GRAPHQL = "POST /admin/api/{version}/graphql.json"
DETAIL = ("line_items", "refunds", "fulfillments", "shipping_lines")
Payload = Callable[[str], Any]


def _only(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """What Shopify answers for ``fields=names``: those top-level keys, whole."""
    return {key: value for key, value in record.items() if key in names}


def _owner(record: dict[str, Any]) -> Callable[[str], str | None]:
    customer = record.get("customer")
    found = None if not customer else str(customer["id"])
    return lambda _: found


# ------------------------------------------------------------------------- requests (pure)


def test_summary_reads_ask_for_the_summary_fields_only() -> None:
    (by_ids,) = calls.orders_by_ids("2026-07", ["42", "43"], 250, calls.ORDER_SUMMARY_FIELDS)
    assert by_ids == Call("/admin/api/2026-07/orders.json",
                          {"ids": "42,43", "status": "any", "limit": "250",
                           "fields": calls.ORDER_SUMMARY_FIELDS})
    one = calls.orders_of_customer("2026-07", "7", 100, calls.ORDER_SUMMARY_FIELDS)
    assert one == Call("/admin/api/2026-07/orders.json",
                       {"customer_id": "7", "status": "any", "limit": "100",
                        "fields": calls.ORDER_SUMMARY_FIELDS})
    summary = calls.ORDER_SUMMARY_FIELDS.split(",")
    assert summary == list(parse.ORDER_SUMMARY_FIELDS)
    # a subset of the whole read's fields, without what lines, returns, fulfillments (and the
    # pickups among them) and the customer record are made of
    assert set(summary) < set(parse.ORDER_FIELDS)
    assert set(parse.ORDER_FIELDS) - set(summary) == {*DETAIL, "customer"}
    # the whole reads are unchanged
    assert calls.orders_of_customer("2026-07", "7", 100).params["fields"] == calls.ORDER_FIELDS


def test_a_summary_has_every_field_of_an_order_but_its_details() -> None:
    whole = {f.name for f in fields(Order)}
    assert whole - {f.name for f in fields(OrderSummary)} == {
        "lines", "fulfillments", "returns"}
    assert not issubclass(OrderSummary, Order) and not issubclass(Order, OrderSummary)


# ------------------------------------------------------------------------ parse (payloads)


@pytest.mark.vendor_payloads
def test_summaries_of_the_vendor_payloads_are_the_orders_summaries(payload: Payload) -> None:
    store = payload("shopify/location.json")["location"]
    pickup = copy.deepcopy(payload("shopify/order.json")["order"])
    pickup["shipping_lines"] = [pickup_shipping_line(store)]
    names = {store["name"]: str(store["id"])}
    records = [payload("shopify/order.json")["order"], pickup,
               *payload("shopify/orders_list.json")["orders"],
               payload("shopify/legacy/order.json")["order"],
               *payload("shopify/legacy/orders_list.json")["orders"]]
    for record in records:
        whole = parse.parse_order(record, source="web", pickup_locations=names)
        read = _only(record, parse.ORDER_SUMMARY_FIELDS)
        assert parse.parse_order_summary(read, source="web", customer_of=_owner(record)) == \
            whole.summary()
        # a record that still carries its customer names it, whatever customer_of says
        assert parse.parse_order_summary(record, source="web",
                                         customer_of=lambda _: "other") == whole.summary()
    (listed,) = parse.parse_order_summaries(
        {"orders": [_only(records[2], parse.ORDER_SUMMARY_FIELDS)]},
        customer_of=_owner(records[2]))
    assert listed == parse.parse_orders({"orders": [records[2]]})[0].summary()


def test_summaries_of_every_generated_order_are_the_orders_summaries() -> None:
    """Projected equality over every kind of generated order (open, fulfilled, closed,
    cancelled, refunded, store sales, pickups pending and collected)."""
    shop = generate(customers=200, seed=7).shopify
    names = {str(loc["name"]): str(loc["id"]) for loc in shop.locations.values()}
    statuses = set()
    for record in shop.orders.values():
        whole = parse.parse_order(record, source="shop", pickup_locations=names)
        summary = parse.parse_order_summary(_only(record, parse.ORDER_SUMMARY_FIELDS),
                                            source="shop", customer_of=_owner(record))
        assert summary == whole.summary()
        statuses.add(summary.status)
    assert statuses >= {"OPEN", "COMPLETED"}


# ---------------------------------------------------------------- adapter (emulated shop)


class Recorder(httpx.AsyncBaseTransport):
    """Records each request's target and the bytes of each answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx.URL] = []
        self.bytes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.urls.append(request.url)
        self.bytes += len(body)
        return httpx.Response(response.status_code, headers=response.headers, content=body,
                              request=request)

    def reset(self) -> None:
        self.urls.clear()
        self.bytes = 0


@pytest.fixture
def recorder(app: SandboxControl) -> Recorder:
    return Recorder(httpx.ASGITransport(app=app))


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=recorder, base_url=BASE) as c:
        await c.post("/_sandbox/reset")
        recorder.reset()
        yield c


def adapter(client: httpx.AsyncClient, data: Sandbox, **overrides: Any) -> ShopifyAdapter:
    stores = frozenset(str(store.shopify_location_id) for store in data.stores)
    config = ShopifyConfig(url=BASE, access_token=TOKEN, store_location_ids=stores,
                           **overrides)
    return ShopifyAdapter(config, client, source="shop")


async def endpoints(client: httpx.AsyncClient) -> dict[str, int]:
    found: dict[str, int] = (await client.get("/_sandbox/stats")).json()["endpoints"]
    return {key.removeprefix(EP): count for key, count in found.items()}


@pytest.mark.anyio
async def test_shopify_reads_order_summaries(client: httpx.AsyncClient, data: Sandbox) -> None:
    shop = adapter(client, data)
    assert isinstance(shop, OrderSummarySource) and isinstance(shop, OrderSource)


@pytest.mark.anyio
@pytest.mark.parametrize("page_size", [250, 40])
async def test_summaries_are_the_whole_orders_summaries(
        client: httpx.AsyncClient, data: Sandbox, recorder: Recorder, page_size: int) -> None:
    """For every customer of the shop (and keys it does not have), in batches of 50 as the
    gateway's loaders send them and one by one: the same orders, in the same order, each the
    whole order's summary."""
    shop = adapter(client, data, page_size=page_size)
    keys = [str(i) for i in data.shopify.customer_ids]
    batches = [[*keys[n:n + 50], "424242", "x", keys[n]] for n in range(0, len(keys), 50)]
    for batch in [*batches, [keys[0]], [keys[-1]], ["x"], []]:
        recorder.reset()
        whole = await shop.orders_by_customer_ids(batch)
        whole_bytes = recorder.bytes
        recorder.reset()
        summaries = await shop.order_summaries_by_customer_ids(batch)
        assert summaries == [[order.summary() for order in mine] for mine in whole]
        assert recorder.bytes <= whole_bytes / 5 or not any(whole)
        assert all(u.params.get("fields") == calls.ORDER_SUMMARY_FIELDS
                   for u in recorder.urls if u.path.endswith("/orders.json"))
    assert sum(len(data.shopify.order_ids_for_customer(int(k))) for k in keys) == len(
        data.shopify.orders)


@pytest.mark.anyio
async def test_fifty_summaries_cost_the_search_and_one_read(
        client: httpx.AsyncClient, data: Sandbox, recorder: Recorder) -> None:
    """The whole read's requests less the location names and the pickup readiness (a summary
    has no fulfillments), and a fraction of its bytes."""
    shop = data.shopify
    buyers = [str(c) for c in shop.customer_ids if shop.order_ids_for_customer(c)][:50]
    orders = sum(len(shop.order_ids_for_customer(int(k))) for k in buyers)
    assert 50 < orders <= 250
    found = await adapter(client, data).order_summaries_by_customer_ids(buyers)
    assert sum(map(len, found)) == orders
    assert await endpoints(client) == {GRAPHQL: 1, "orders.json": 1}
    summary_bytes = recorder.bytes
    await client.post("/_sandbox/reset")
    recorder.reset()
    await adapter(client, data).orders_by_customer_ids(buyers)
    counts = await endpoints(client)
    assert counts["orders.json"] == 1 and counts["locations.json"] == 1
    assert counts[GRAPHQL] >= 1
    assert summary_bytes * 5 < recorder.bytes
    # one customer: one request, no search
    await client.post("/_sandbox/reset")
    busiest = max(shop.customer_ids, key=lambda c: len(shop.order_ids_for_customer(c)))
    [mine] = await adapter(client, data).order_summaries_by_customer_ids([str(busiest)])
    assert len(mine) == len(shop.order_ids_for_customer(busiest))
    assert {o.customer_id for o in mine} == {str(busiest)}
    assert await endpoints(client) == {"orders.json": math.ceil(len(mine) / 250)}
