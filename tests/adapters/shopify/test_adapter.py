"""The Shopify adapter against the emulated Shopify silo, in process, over generated data."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.models import Channel, FulfillmentType, LocationKind, Money
from adapters.protocols import (
    CatalogSource,
    CustomerSource,
    InventorySource,
    LocationSource,
    OrderSource,
)
from adapters.shopify import ShopifyAdapter, ShopifyConfig, parse
from silos.control import SandboxControl
from silos.generator import Sandbox, generate
from silos.shopify import ShopifySiloConfig, create_app, pickup_shipping_line

pytestmark = pytest.mark.anyio

BASE = "http://shop.test"
TOKEN = ShopifySiloConfig().access_token
EP = "GET /admin/api/{version}/"
GRAPHQL = "POST /admin/api/{version}/graphql.json"


class Gauge(httpx.AsyncBaseTransport):
    """Counts requests in flight (each one lingers a little so that overlaps show)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.active = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.001)
            return await self.inner.handle_async_request(request)
        finally:
            self.active -= 1


@pytest.fixture
def gauge(app: SandboxControl) -> Gauge:
    return Gauge(httpx.ASGITransport(app=app))


@pytest.fixture
async def client(gauge: Gauge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=gauge, base_url=BASE) as c:
        await c.post("/_sandbox/reset")
        yield c


def store_ids(data: Sandbox) -> frozenset[str]:
    return frozenset(str(store.shopify_location_id) for store in data.stores)


def adapter(client: httpx.AsyncClient, data: Sandbox, **overrides: Any) -> ShopifyAdapter:
    config = ShopifyConfig(
        url=BASE,
        access_token=TOKEN,
        references={"tag:loyalty:": "loyalty"},
        store_location_ids=store_ids(data),
        **overrides,
    )
    return ShopifyAdapter(config, client, source="shop")


async def requests(client: httpx.AsyncClient) -> dict[str, int]:
    endpoints: dict[str, int] = (await client.get("/_sandbox/stats")).json()["endpoints"]
    return {key.removeprefix(EP): count for key, count in endpoints.items()}


def readiness(data: Sandbox, ids: Any, counts: dict[str, int]) -> dict[str, int]:
    """``counts`` plus the Admin GraphQL queries reading whether the pending pickups among the
    orders ``ids`` were prepared (one per 50 of them; none when no pickup is pending)."""
    shop = data.shopify
    names = {loc["name"] for loc in shop.locations.values()}
    pending = sum(
        1 for i in {int(i) for i in ids}
        if (order := shop.orders.get(i)) is not None and not order["fulfillments"]
        and order["cancelled_at"] is None and order["closed_at"] is None
        and any(line["title"] in names for line in order["shipping_lines"]))
    queries = math.ceil(pending / 50)
    if queries:
        counts = {**counts, GRAPHQL: counts.get(GRAPHQL, 0) + queries}
    return counts


def customer_ids(data: Sandbox) -> list[str]:
    return [str(i) for i in data.shopify.customer_ids]


def order_ids(data: Sandbox) -> list[str]:
    return [str(i) for i in data.shopify.order_ids]


async def test_implements_the_capabilities(client: httpx.AsyncClient, data: Sandbox) -> None:
    shop = adapter(client, data)
    for protocol in (CustomerSource, OrderSource, CatalogSource, InventorySource, LocationSource):
        assert isinstance(shop, protocol)
    assert (shop.source, shop.kind) == ("shop", "shopify")


# ------------------------------------------------------------------------------- customers


async def test_customers_by_ids_match_the_shop(client: httpx.AsyncClient, data: Sandbox) -> None:
    ids = customer_ids(data)
    keys = [*ids, ids[0], "1", "not-an-id", ""]
    found = await adapter(client, data).customers_by_ids(keys)
    assert len(found) == len(keys)
    assert found[-3:] == [None, None, None]
    assert found[len(ids)] == found[0]
    for key, customer in zip(ids, found, strict=False):
        record = data.shopify.customers[int(key)]
        assert customer is not None and customer.id == key
        assert (customer.source, customer.kind) == ("shop", "shopify")
        assert customer.emails == ((record["email"],) if record["email"] else ())
        assert (customer.first_name, customer.last_name) == (
            record["first_name"], record["last_name"])
        if record["phone"]:
            assert customer.phones[0] == record["phone"]
        assert customer.country_code == record["default_address"]["country_code"]
        assert customer.addresses[0].line1 == record["addresses"][0]["address1"]
        assert customer.updated_at is not None and customer.updated_at.tzinfo is not None
    # ≤ 250 ids: one request; the unusable keys were never sent.
    assert await requests(client) == {"customers.json": 1}


async def test_customers_by_ids_split_at_250(client: httpx.AsyncClient, data: Sandbox) -> None:
    real = customer_ids(data)
    missing = [str(9_100_000_000_000 + n) for n in range(600 - len(real))]
    keys = missing[:200] + real + missing[200:]
    found = await adapter(client, data).customers_by_ids(keys)
    assert [c.id if c else None for c in found] == [k if k in real else None for k in keys]
    assert await requests(client) == {"customers.json": math.ceil(600 / 250)}


async def test_customers_by_ids_follow_pages(client: httpx.AsyncClient, data: Sandbox) -> None:
    ids = customer_ids(data)
    found = await adapter(client, data, page_size=40).customers_by_ids(ids)
    assert [c.id for c in found if c] == ids
    assert await requests(client) == {"customers.json": math.ceil(len(ids) / 40)}


async def test_tag_references(client: httpx.AsyncClient, data: Sandbox) -> None:
    found = await adapter(client, data).customers_by_ids(customer_ids(data))
    cards = {member["card_number"] for member in data.loyalty_members}
    tagged = [c for c in found if c and c.references]
    expected = sum("loyalty:" in r["tags"] for r in data.shopify.customers.values())
    assert len(tagged) == expected > 0
    for customer in tagged:
        ((source, card),) = customer.references
        assert source == "loyalty" and card in cards
        assert f"loyalty:{card}" in data.shopify.customers[int(customer.id)]["tags"]


async def test_search_by_email(client: httpx.AsyncClient, data: Sandbox) -> None:
    records = [r for r in data.shopify.customers.values() if r["email"]][:30]
    emails = [r["email"] for r in records]
    keys = [*emails, emails[0].upper(), "nobody@nowhere.example", emails[1], "  "]
    found = await adapter(client, data).customers_by_emails(keys)
    assert [[c.id for c in hits] for hits in found[:30]] == [[str(r["id"])] for r in records]
    assert [c.id for c in found[30]] == [str(records[0]["id"])]
    assert found[31] == [] and found[33] == []
    assert found[32] == found[1]
    assert await requests(client) == {"customers/search.json": 30 + 2}


async def test_search_by_phone_in_any_format(client: httpx.AsyncClient, data: Sandbox) -> None:
    records = [r for r in data.shopify.customers.values()
               if (r["phone"] or "").startswith("+1")][:10]
    assert records
    national = [f"({r['phone'][2:5]}) {r['phone'][5:8]}-{r['phone'][8:]}" for r in records]
    found = await adapter(client, data).customers_by_phones(
        [records[0]["phone"], *national, "+1 202 555 0000"])
    expected = [str(records[0]["id"]), *(str(r["id"]) for r in records)]
    assert [hits[0].id if hits else None for hits in found[:-1]] == expected
    assert found[-1] == []


async def test_crawl_every_customer_page_by_page(
    client: httpx.AsyncClient, data: Sandbox
) -> None:
    pages = [page async for page in adapter(client, data, page_size=90).crawl_customers()]
    ids = customer_ids(data)
    assert [len(page) for page in pages][:-1] == [90] * (len(pages) - 1)
    assert sorted(c.id for page in pages for c in page) == sorted(ids)
    assert await requests(client) == {"customers.json": math.ceil(len(ids) / 90)}


async def test_crawl_since(client: httpx.AsyncClient, data: Sandbox) -> None:
    moments = sorted(data.shopify.customer_updated_at.values())
    since = datetime.fromtimestamp(moments[len(moments) // 2], UTC)
    expected = {str(i) for i, ts in data.shopify.customer_updated_at.items()
                if ts >= since.timestamp()}
    pages = [page async for page in adapter(client, data).crawl_customers(since)]
    crawled = {c.id for page in pages for c in page}
    assert crawled == expected
    assert all(c.updated_at and c.updated_at >= since for page in pages for c in page)


# ---------------------------------------------------------------------------------- orders


def expected_status(record: dict[str, Any]) -> str:
    if record["cancelled_at"]:
        return "CANCELLED"
    if record["closed_at"] or record["fulfillment_status"] == "fulfilled":
        return "COMPLETED"
    return "OPEN"


async def test_orders_by_customer_ids(
    client: httpx.AsyncClient, data: Sandbox, gauge: Gauge
) -> None:
    ids = customer_ids(data)
    found = await adapter(client, data, max_concurrency=4).orders_by_customer_ids(
        [*ids, "424242", "x"])
    assert found[-2:] == [[], []]
    shop = data.shopify
    for key, orders in zip(ids, found, strict=False):
        assert sorted(o.id for o in orders) == sorted(
            str(i) for i in shop.order_ids_for_customer(int(key)))
        placed = [o.placed_at for o in orders]
        assert placed == sorted(placed, reverse=True)
        for order in orders:
            record = shop.orders[int(order.id)]
            assert order.customer_id == key
            assert (order.number, order.channel) == (record["name"], Channel.WEB)
            assert order.total == Money(Decimal(record["total_price"]), "USD")
            assert order.status == expected_status(record)
            assert order.financial_status == record["financial_status"]
            assert [line.sku for line in order.lines] == [
                line["sku"] for line in record["line_items"]]
            assert sum((line.total.amount for line in order.lines), Decimal(0)) == Decimal(
                record["subtotal_price"])
    assert sum(map(len, found)) == len(shop.orders)
    # One GraphQL search per 100 customers (424242 is a usable id too), following its pages of
    # 250 order ids; then the orders by id, 250 a request; plus the location names that
    # recognise pickups. Concurrent, but never above max_concurrency.
    searched = [*ids, "424242"]
    pages = sum(
        max(1, math.ceil(sum(len(shop.order_ids_for_customer(int(c))) for c in chunk) / 250))
        for chunk in (searched[n:n + 100] for n in range(0, len(searched), 100)))
    assert await requests(client) == readiness(data, shop.order_ids, {
        GRAPHQL: pages, "orders.json": math.ceil(len(shop.orders) / 250), "locations.json": 1})
    assert pages > math.ceil(len(searched) / 100)  # some search had a second page
    assert 1 < gauge.peak <= 4


async def test_fifty_customers_cost_one_search(client: httpx.AsyncClient, data: Sandbox) -> None:
    shop = data.shopify
    buyers = [c for c in shop.customer_ids if shop.order_ids_for_customer(c)]
    keys = [str(c) for c in buyers[:50]]
    orders = sum(len(shop.order_ids_for_customer(int(k))) for k in keys)
    assert len(keys) == 50 and 50 < orders <= 250
    found = await adapter(client, data).orders_by_customer_ids(keys)
    assert [sorted(o.id for o in got) for got in found] == [
        sorted(str(i) for i in shop.order_ids_for_customer(int(k))) for k in keys]
    assert await requests(client) == readiness(
        data, [o.id for got in found for o in got],
        {GRAPHQL: 1, "orders.json": 1, "locations.json": 1})
    # The 50 busiest customers have more than one page of orders: the search and the REST
    # batches both grow with the orders, never with the customers.
    await client.post("/_sandbox/reset")
    busiest = sorted(shop.customer_ids, key=lambda c: -len(shop.order_ids_for_customer(c)))[:50]
    orders = sum(len(shop.order_ids_for_customer(c)) for c in busiest)
    assert orders > 250
    got = await adapter(client, data).orders_by_customer_ids([str(c) for c in busiest])
    assert await requests(client) == readiness(
        data, [o.id for mine in got for o in mine],
        {GRAPHQL: math.ceil(orders / 250), "orders.json": math.ceil(orders / 250),
         "locations.json": 1})


async def test_one_customer_is_one_rest_call(client: httpx.AsyncClient, data: Sandbox) -> None:
    shop = data.shopify
    buyer = max(shop.customer_ids, key=lambda c: len(shop.order_ids_for_customer(c)))
    [found] = await adapter(client, data).orders_by_customer_ids([str(buyer)])
    assert sorted(o.id for o in found) == sorted(
        str(i) for i in shop.order_ids_for_customer(buyer))
    assert [o.placed_at for o in found] == sorted((o.placed_at for o in found), reverse=True)
    assert await requests(client) == readiness(
        data, [o.id for o in found], {"orders.json": 1, "locations.json": 1})


async def test_small_pages_are_followed(client: httpx.AsyncClient, data: Sandbox) -> None:
    shop = data.shopify
    keys = [str(c) for c in shop.customer_ids[:60]]
    orders = sum(len(shop.order_ids_for_customer(int(k))) for k in keys)
    found = await adapter(client, data, page_size=40).orders_by_customer_ids(keys)
    assert sum(map(len, found)) == orders > 80
    counts = await requests(client)
    # Search pages of 40 order ids; REST batches of up to 250 ids, read 40 a page.
    assert counts[GRAPHQL] == math.ceil(orders / 40)
    assert counts["orders.json"] == math.ceil(orders / 40)


async def test_orders_by_ids_split_at_250(client: httpx.AsyncClient, data: Sandbox) -> None:
    ids = order_ids(data)
    keys = [*ids, "77", ids[3]]
    found = await adapter(client, data).orders_by_ids(keys)
    assert [o.id if o else None for o in found] == [*ids, None, ids[3]]
    assert await requests(client) == readiness(data, ids, {
        "orders.json": math.ceil(len(ids) / 250), "locations.json": 1})
    again = await adapter(client, data).orders_by_ids([])
    assert again == []


async def test_reads_with_fields_parse_like_whole_records(
        client: httpx.AsyncClient, data: Sandbox) -> None:
    """Orders and customers come back with ``fields=`` (what the parsers read): over every
    generated record (open, completed, picked up in store, refunded…), the adapter's answer is what
    parsing the shop's whole record gives."""
    shop = adapter(client, data)
    names = {str(loc["name"]): str(loc["id"]) for loc in data.shopify.locations.values()}
    orders = await shop.orders_by_ids(order_ids(data))
    assert orders == [parse.parse_order(data.shopify.orders[int(i)], source="shop",
                                        pickup_locations=names) for i in order_ids(data)]
    customers = await shop.customers_by_ids(customer_ids(data))
    assert customers == [parse.parse_customer(
        data.shopify.customers[int(i)], source="shop", references={"tag:loyalty:": "loyalty"})
        for i in customer_ids(data)]
    assert {o.status for o in orders if o} >= {"COMPLETED", "OPEN"}
    assert any(o and o.returns for o in orders) and any(
        o and any(f.type is FulfillmentType.PICKUP for f in o.fulfillments) for o in orders)


async def test_native_local_pickup(client: httpx.AsyncClient, data: Sandbox) -> None:
    found = await adapter(client, data).orders_by_ids(order_ids(data))
    by_name = {store.name: str(store.shopify_location_id) for store in data.stores}
    pickups = 0
    for order in found:
        assert order is not None
        record = data.shopify.orders[int(order.id)]
        line = record["shipping_lines"][0]
        if line["title"] not in by_name:
            assert {f.type for f in order.fulfillments} <= {FulfillmentType.SHIPPING}
            assert [f.tracking_number for f in order.fulfillments] == [
                f["tracking_number"] for f in record["fulfillments"]]
            continue
        pickups += 1
        (fulfillment,) = order.fulfillments
        assert fulfillment.type is FulfillmentType.PICKUP
        assert fulfillment.location_id == by_name[line["title"]]
        assert fulfillment.status == ("COMPLETED" if record["fulfillments"] else "PENDING")
    assert pickups == data.counts["pickups"] > 0


async def test_pickup_pending_until_collected() -> None:
    fresh = generate(customers=20, seed=5)
    store = fresh.stores[0]
    location = fresh.shopify.locations[store.shopify_location_id]
    customer_id = fresh.shopify.customer_ids[0]
    variant_id = next(iter(fresh.shopify.variants))
    silo = create_app(fresh.shopify, ShopifySiloConfig())
    headers = {"X-Shopify-Access-Token": TOKEN}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=silo), base_url=BASE) as c:
        created = await c.post(
            "/admin/api/2026-07/orders.json", headers=headers,
            json={"order": {"customer": {"id": customer_id},
                            "line_items": [{"variant_id": variant_id, "quantity": 1}],
                            "shipping_lines": [pickup_shipping_line(location)]}})
        order_id = str(created.json()["order"]["id"])
        shop = adapter(c, fresh)
        (waiting,) = await shop.orders_by_ids([order_id])
        assert waiting is not None and waiting.status == "OPEN"
        assert [(f.type, f.status, f.location_id) for f in waiting.fulfillments] == [
            (FulfillmentType.PICKUP, "PENDING", str(store.shopify_location_id))]
        fresh.shopify.create_fulfillment(
            int(order_id), {"fulfillment": {"location_id": store.shopify_location_id}})
        (collected,) = await shop.orders_by_ids([order_id])
        assert collected is not None and collected.status == "COMPLETED"
        assert [(f.type, f.status, f.location_id) for f in collected.fulfillments] == [
            (FulfillmentType.PICKUP, "COMPLETED", str(store.shopify_location_id))]


async def test_store_returns_of_web_orders(client: httpx.AsyncClient, data: Sandbox) -> None:
    found = await adapter(client, data).orders_by_customer_ids(customer_ids(data))
    returned = [o for orders in found for o in orders if o.returns]
    assert len(returned) == data.counts["store_returns_of_web_orders"] > 0
    stores = store_ids(data)
    for order in returned:
        record = data.shopify.orders[int(order.id)]
        (refund,) = record["refunds"]
        (back,) = order.returns
        assert (back.source, back.id) == ("shop", str(refund["id"]))
        assert back.location_id in stores
        assert back.location_id == str(refund["refund_line_items"][0]["location_id"])
        assert back.amount == Money(Decimal(refund["transactions"][0]["amount"]), "USD")
        assert [(line.sku, line.quantity) for line in back.lines] == [
            (item["line_item"]["sku"], Decimal(item["quantity"]))
            for item in refund["refund_line_items"]]
        assert back.returned_at > order.placed_at
        assert order.financial_status in ("refunded", "partially_refunded")


# ------------------------------------------------------------------- catalog, inventory


async def test_variants_by_skus_one_shared_crawl(
    client: httpx.AsyncClient, data: Sandbox
) -> None:
    variants = list(data.shopify.variants.values())
    skus = [v["sku"] for v in variants]
    shop = adapter(client, data, page_size=50)
    results = await asyncio.gather(*(shop.variants_by_skus(skus[n::5]) for n in range(5)),
                                   shop.variants_by_skus([*skus, "NO-SUCH-SKU"]))
    found = results[-1]
    assert found[-1] is None
    for record, variant in zip(variants, found, strict=False):
        assert variant is not None
        assert (variant.id, variant.sku, variant.title) == (
            str(record["id"]), record["sku"], record["title"])
        assert variant.price == Money(Decimal(record["price"]), "USD")
        assert variant.inventory_item_id == str(record["inventory_item_id"])
        product = data.shopify.products[record["product_id"]]
        assert (variant.product_id, variant.product_title) == (
            str(product["id"]), product["title"])
    pages = math.ceil(len(data.shopify.products) / 50)
    assert await requests(client) == {"products.json": pages}


async def test_catalog_cached_for_its_ttl(client: httpx.AsyncClient, data: Sandbox) -> None:
    now = [1000.0]
    config = ShopifyConfig(url=BASE, access_token=TOKEN, catalog_ttl_s=60)
    shop = ShopifyAdapter(config, client, clock=lambda: now[0])
    sku = next(iter(data.shopify.variants.values()))["sku"]
    await shop.variants_by_skus([sku])
    now[0] += 59
    await shop.inventory_by_skus([sku])
    assert (await requests(client))["products.json"] == 1
    now[0] += 2
    (variant,) = await shop.variants_by_skus([sku])
    assert variant is not None and variant.sku == sku
    assert (await requests(client))["products.json"] == 2


async def test_inventory_by_skus(client: httpx.AsyncClient, data: Sandbox) -> None:
    shop = adapter(client, data)
    variants = list(data.shopify.variants.values())[:120]
    skus = [v["sku"] for v in variants]
    warehouses = [str(i) for i in data.warehouse_location_ids]
    found = await shop.inventory_by_skus([*skus, "NO-SUCH-SKU"], warehouses)
    assert found[-1] == []
    for variant, levels in zip(variants, found, strict=False):
        expected = {}
        for location_id in data.warehouse_location_ids:
            level = data.shopify.inventory_level(variant["inventory_item_id"], location_id)
            if level is not None:
                expected[str(location_id)] = Decimal(level["available"])
        assert {lv.location_id: lv.available for lv in levels} == expected
        assert all(lv.sku == variant["sku"] and lv.source == "shop" for lv in levels)
    counts = await requests(client)
    assert counts["inventory_levels.json"] == math.ceil(120 / 50)
    # Web stock only lives in the warehouses: the stores' shelves are Square's.
    at_stores = await shop.inventory_by_skus(skus[:5], sorted(store_ids(data)))
    assert at_stores == [[]] * 5
    assert await shop.inventory_by_skus(skus[:5], []) == [[]] * 5
    everywhere = await shop.inventory_by_skus(skus[:5])
    assert [len(levels) for levels in everywhere] == [
        len(levels) for levels in found[:5]]


# ------------------------------------------------------------------------------- locations


async def test_locations(client: httpx.AsyncClient, data: Sandbox) -> None:
    found = await adapter(client, data).locations()
    assert sorted(loc.id for loc in found) == sorted(str(i) for i in data.shopify.locations)
    stores = {str(store.shopify_location_id): store for store in data.stores}
    for location in found:
        record = data.shopify.locations[int(location.id)]
        assert location.name == record["name"]
        assert location.address.city == record["city"]
        assert location.geo is None and location.active
        if location.id in stores:
            assert location.location_kind is LocationKind.STORE
            assert location.name == stores[location.id].name
        else:
            assert location.location_kind is LocationKind.WAREHOUSE
            assert int(location.id) in data.warehouse_location_ids
    assert await requests(client) == {"locations.json": 1}


async def test_locations_refresh_the_pickup_names(
    client: httpx.AsyncClient, data: Sandbox
) -> None:
    shop = adapter(client, data)
    await shop.locations()
    await shop.orders_by_ids(order_ids(data)[:3])
    assert (await requests(client))["locations.json"] == 1


async def test_naive_since_is_utc(client: httpx.AsyncClient, data: Sandbox) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    pages = [p async for p in adapter(client, data).crawl_customers(later.replace(tzinfo=None))]
    assert pages == [[]]
