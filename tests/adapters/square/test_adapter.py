"""The Square adapter against the emulated Square silo, in process, over generated data."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.models import Channel, FulfillmentType, LocationKind, SourceRef
from adapters.protocols import (
    CatalogSource,
    CustomerSource,
    InventorySource,
    LocationSource,
    OrderSource,
)
from adapters.square import SquareAdapter, SquareConfig
from silos.control import SandboxControl
from silos.generator import Sandbox, generate
from silos.square import SquareSiloConfig, create_app
from silos.square.customers import e164

pytestmark = pytest.mark.anyio
URL = "http://square.test"
Record = dict[str, Any]


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return generate(customers=300, seed=2024)


@pytest.fixture(scope="module")
def app(sandbox: Sandbox) -> SandboxControl:
    return create_app(sandbox.square, SquareSiloConfig())


@pytest.fixture
async def http(app: SandboxControl) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=URL) as client:
        await client.post("/_sandbox/reset")
        yield client


def adapter(http: httpx.AsyncClient, **overrides: Any) -> SquareAdapter:
    settings: dict[str, Any] = {
        "references": {"reference_id": "loyalty"},
        "return_reference_source": "shopify",
        **overrides,
    }
    config = SquareConfig(url=URL, access_token=SquareSiloConfig().access_token, **settings)
    return SquareAdapter(config, http, source="pos")


async def requests_made(http: httpx.AsyncClient) -> dict[str, int]:
    counts: dict[str, int] = (await http.get("/_sandbox/stats")).json()["endpoints"]
    await http.post("/_sandbox/reset")
    return counts


def sku_of(sandbox: Sandbox, variation_id: str) -> str:
    return str(sandbox.square.catalog[variation_id]["item_variation_data"]["sku"])


def variations(sandbox: Sandbox) -> list[Record]:
    return [o for o in sandbox.square.catalog.values() if o["type"] == "ITEM_VARIATION"]


async def test_protocols(http: httpx.AsyncClient) -> None:
    square = adapter(http)
    for protocol in (CustomerSource, OrderSource, CatalogSource, InventorySource,
                     LocationSource):
        assert isinstance(square, protocol)
    assert (square.source, square.kind) == ("pos", "square")


# -- customers -------------------------------------------------------------------------------


async def test_customers_by_ids_split_at_100(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    known = list(sandbox.square.customers)
    keys = [*known, *[f"UNKNOWN{i}" for i in range(250 - len(known))]]
    keys[5] = keys[0]
    result = await adapter(http).customers_by_ids(keys)
    assert await requests_made(http) == {"POST /v2/customers/bulk-retrieve": 3}
    assert len(result) == 250
    for key, found in zip(keys, result, strict=True):
        raw = sandbox.square.customers.get(key)
        if raw is None:
            assert found is None
            continue
        assert found is not None and (found.id, found.source, found.kind) == (key, "pos", "square")
        assert (found.first_name, found.last_name) == (raw.get("given_name"),
                                                        raw.get("family_name"))
        assert found.emails == ((raw["email_address"],) if raw.get("email_address") else ())
        assert found.phones == ((raw["phone_number"],) if raw.get("phone_number") else ())
        assert found.country_code == raw["address"]["country"]
        assert found.addresses[0].line1 == raw["address"]["address_line_1"]
        assert found.addresses[0].city == raw["address"]["locality"]
        expected_refs = (("loyalty", raw["reference_id"]),) if raw.get("reference_id") else ()
        assert found.references == expected_refs
    assert any(c is not None and c.references for c in result)
    assert await adapter(http).customers_by_ids([]) == []
    assert await requests_made(http) == {}


async def test_customers_by_emails_as_typed(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    with_email = [c for c in sandbox.square.customers.values() if c.get("email_address")][:6]
    emails = [c["email_address"] for c in with_email]
    keys = [*emails, emails[0].upper(), "nobody@nowhere.example", "", emails[1]]
    result = await adapter(http).customers_by_emails(keys)
    assert await requests_made(http) == {"POST /v2/customers/search": 8}
    for customer, found in zip(with_email, result, strict=False):
        assert customer["id"] in {c.id for c in found}
        assert all(c.emails[0].lower() == customer["email_address"].lower() for c in found)
    assert {c.id for c in result[6]} == {c.id for c in result[0]}
    assert result[7] == [] and result[8] == []
    assert result[9] == result[1]


async def test_customers_by_phones_exact_and_national(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    with_phone = [c for c in sandbox.square.customers.values() if c.get("phone_number")][:5]
    international = [e164(c["phone_number"]) for c in with_phone]
    national = [number[-10:] for number in international]
    spaced = [f"+{n[1]} ({n[2:5]}) {n[5:8]}-{n[8:]}" for n in international]
    result = await adapter(http).customers_by_phones([*international, *national, *spaced, "n/a"])
    assert result[-1] == []
    for index, customer in enumerate(with_phone):
        for found in (result[index], result[index + 5], result[index + 10]):
            assert customer["id"] in {c.id for c in found}
        for c in result[index + 5]:
            assert "".join(ch for ch in c.phones[0] if ch.isdigit()).endswith(national[index])
    assert (await requests_made(http))["POST /v2/customers/search"] == 15


async def test_crawl_every_customer_once(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    seen: list[str] = []
    pages = 0
    async for page in adapter(http).crawl_customers():
        pages += 1
        assert 0 < len(page) <= 100
        seen.extend(c.id for c in page)
    assert sorted(seen) == sorted(sandbox.square.customers)
    total = len(sandbox.square.customers)
    assert await requests_made(http) == {"GET /v2/customers": math.ceil(total / 100)}
    assert pages == math.ceil(total / 100)


async def test_crawl_since(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    stamps = sorted(datetime.fromisoformat(c["updated_at"])
                    for c in sandbox.square.customers.values())
    since = stamps[len(stamps) // 2]
    seen = [c async for page in adapter(http).crawl_customers(since) for c in page]
    expected = {cid for cid, c in sandbox.square.customers.items()
                if datetime.fromisoformat(c["updated_at"]) >= since}
    assert {c.id for c in seen} == expected and len(seen) == len(expected)
    assert all(c.updated_at is not None and c.updated_at >= since for c in seen)
    assert set(await requests_made(http)) == {"POST /v2/customers/search"}
    late = stamps[-1] + timedelta(days=1)
    assert [page async for page in adapter(http).crawl_customers(late)] == []


# -- orders ----------------------------------------------------------------------------------


def orders_by_customer(sandbox: Sandbox) -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = {}
    for order in sandbox.square.orders.values():
        if order.get("customer_id"):
            found.setdefault(order["customer_id"], []).append(order)
    return found


async def test_orders_by_customer_ids(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    silo = orders_by_customer(sandbox)
    customers = sorted(silo)[:25]
    keys = [*customers, "NO-SUCH-CUSTOMER", customers[0]]
    square = adapter(http)
    result = await square.orders_by_customer_ids(keys)
    made = await requests_made(http)
    assert made["POST /v2/orders/search"] == 3  # 25 customers, 10 per search, 10 locations
    assert made["GET /v2/locations"] == 1
    assert made["POST /v2/catalog/batch-retrieve"] == 1
    assert result[-2] == [] and result[-1] == result[0]
    for customer, orders in zip(customers, result, strict=False):
        raw = {o["id"]: o for o in silo[customer]}
        assert {o.id: o.total.amount for o in orders} == {
            i: Decimal(o["total_money"]["amount"]) / 100 for i, o in raw.items()}
        assert [o.placed_at for o in orders] == sorted((o.placed_at for o in orders),
                                                       reverse=True)
        for order in orders:
            data = raw[order.id]
            assert (order.customer_id, order.channel, order.location_id) == (
                customer, Channel.STORE, data["location_id"])
            assert order.number == order.id and order.total.currency == "USD"
            if order.status != "RETURN":
                assert [(ln.sku, ln.quantity) for ln in order.lines] == [
                    (sku_of(sandbox, li["catalog_object_id"]), Decimal(li["quantity"]))
                    for li in data["line_items"]]
    await square.orders_by_customer_ids(customers[:3])
    made = await requests_made(http)
    assert "GET /v2/locations" not in made and "POST /v2/catalog/batch-retrieve" not in made


async def test_sales_carry_their_return_orders(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    returns = [o for o in sandbox.square.orders.values()
               if o.get("returns") and o["returns"][0].get("source_order_id")]
    assert returns
    return_order = returns[0]
    entry = return_order["returns"][0]
    sale_id = entry["source_order_id"]
    (orders,) = await adapter(http).orders_by_customer_ids([return_order["customer_id"]])
    by_id = {o.id: o for o in orders}
    sale, back = by_id[sale_id], by_id[return_order["id"]]
    assert back.status == "RETURN" and back.return_of == SourceRef("pos", sale_id)
    assert back.total.amount == Decimal(0)  # Square's total_money of a return-only order
    (order_return,) = sale.returns
    assert (order_return.id, order_return.source, order_return.location_id) == (
        return_order["id"], "pos", return_order["location_id"])
    assert order_return.returned_at == back.placed_at
    (line,) = order_return.lines
    returned = entry["return_line_items"][0]
    assert line.sku == sku_of(sandbox, returned["catalog_object_id"])
    assert line.quantity == Decimal(returned["quantity"])
    assert line.amount is not None
    assert line.amount.amount == Decimal(returned["total_money"]["amount"]) / 100
    assert order_return.amount == line.amount
    assert [ln.sku for ln in back.lines] == [line.sku]
    assert sale.return_of is None and sale.status == "COMPLETED"


async def test_in_store_return_of_a_web_order(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    web_returns = [o for o in sandbox.square.orders.values() if o.get("reference_id")]
    assert web_returns
    keys = [o["id"] for o in web_returns[:5]]
    result = await adapter(http).orders_by_ids(keys)
    for raw, order in zip(web_returns, result, strict=False):
        assert order is not None and order.status == "RETURN"
        assert order.return_of == SourceRef("shopify", raw["reference_id"])
        assert all(line.sku for line in order.lines)
    no_source = await adapter(http, return_reference_source=None).orders_by_ids(keys[:1])
    assert no_source[0] is not None and no_source[0].return_of is None


async def test_pickup_fulfillment(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    pickups = [o for o in sandbox.square.orders.values() if o.get("fulfillments")]
    assert pickups
    result = await adapter(http).orders_by_ids([o["id"] for o in pickups])
    for raw, order in zip(pickups, result, strict=True):
        assert order is not None
        (fulfillment,) = order.fulfillments
        details = raw["fulfillments"][0]["pickup_details"]
        assert fulfillment.type == FulfillmentType.PICKUP
        assert fulfillment.status == "COMPLETED"
        assert fulfillment.location_id == raw["location_id"] == order.location_id
        assert fulfillment.updated_at == datetime.fromisoformat(details["picked_up_at"])


async def test_orders_by_ids_split_at_100_and_skus_cached(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    known = list(sandbox.square.orders)[:150]
    keys = [*known, "NO-SUCH-ORDER", known[3]]
    square = adapter(http)
    result = await square.orders_by_ids(keys)
    assert await requests_made(http) == {
        "POST /v2/orders/batch-retrieve": 2, "POST /v2/catalog/batch-retrieve": 1}
    assert [o.id if o else None for o in result] == [*known, None, known[3]]
    for key, order in zip(known, result, strict=False):
        raw = sandbox.square.orders[key]
        assert order is not None
        assert order.total.amount == Decimal(raw["total_money"]["amount"]) / 100
        assert order.placed_at == datetime.fromisoformat(raw["created_at"])
        assert all(line.sku for line in order.lines)
    await square.orders_by_ids(known[:10])
    assert await requests_made(http) == {"POST /v2/orders/batch-retrieve": 1}


# -- catalog, inventory, locations -----------------------------------------------------------


async def test_variants_by_skus_split_at_250(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    by_sku = {v["item_variation_data"]["sku"]: v for v in variations(sandbox)}
    skus = sorted(by_sku)[:260]
    keys = [*skus, "NO-SUCH-SKU", skus[0].lower(), skus[1]]
    result = await adapter(http).variants_by_skus(keys)
    assert await requests_made(http) == {"POST /v2/catalog/search": 2}
    assert result[260] is None
    for sku, variant in zip([*skus, None, skus[0], skus[1]], result, strict=True):
        if sku is None:
            continue
        raw = by_sku[sku]
        data = raw["item_variation_data"]
        item = sandbox.square.catalog[data["item_id"]]
        assert variant is not None and (variant.id, variant.sku) == (raw["id"], sku)
        assert (variant.title, variant.product_id, variant.product_title) == (
            data["name"], item["id"], item["item_data"]["name"])
        assert variant.price is not None
        assert variant.price.amount == Decimal(data["price_money"]["amount"]) / 100
        assert variant.inventory_item_id == raw["id"] and variant.source == "pos"


async def test_a_skus_variations_are_kept_for_the_catalog_ttl(
        sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """The catalog changes rarely: after a first search, a SKU's variations (or its absence)
    come from the cache until ``catalog_ttl_s`` has passed; stock counts are always live."""
    now = [0.0]
    config = SquareConfig(url=URL, access_token=SquareSiloConfig().access_token,
                          catalog_ttl_s=60)
    pos = SquareAdapter(config, http, source="pos", clock=lambda: now[0])
    skus = sorted(v["item_variation_data"]["sku"] for v in variations(sandbox))[:5]
    first = await pos.variants_by_skus([*skus[:3], "NO-SUCH-SKU"])
    assert await requests_made(http) == {"POST /v2/catalog/search": 1}
    again = await pos.variants_by_skus([skus[0].lower(), *skus[:3], "NO-SUCH-SKU"])
    assert again[1:] == first and again[0] == first[0]
    assert await requests_made(http) == {}
    await pos.variants_by_skus(skus)  # only the two not seen yet are searched
    counts = await requests_made(http)
    assert counts == {"POST /v2/catalog/search": 1}
    await pos.inventory_by_skus(skus[:1])
    assert await requests_made(http) == {"POST /v2/inventory/counts/batch-retrieve": 1}
    now[0] = 61.0
    await pos.variants_by_skus(skus[:1])
    assert await requests_made(http) == {"POST /v2/catalog/search": 1}
    uncached = adapter(http, catalog_ttl_s=0)
    await uncached.variants_by_skus(skus[:1])
    await uncached.variants_by_skus(skus[:1])
    assert await requests_made(http) == {"POST /v2/catalog/search": 2}


def in_stock(sandbox: Sandbox, variation_id: str) -> dict[str, Decimal]:
    body = {"catalog_object_ids": [variation_id], "states": ["IN_STOCK"]}
    counts = sandbox.square.batch_retrieve_inventory_counts(body).get("counts", [])
    return {c["location_id"]: Decimal(c["quantity"]) for c in counts}


async def test_inventory_by_skus(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    chosen = variations(sandbox)[:12]
    skus = [v["item_variation_data"]["sku"] for v in chosen]
    result = await adapter(http).inventory_by_skus([*skus, "NO-SUCH-SKU"])
    assert await requests_made(http) == {
        "POST /v2/catalog/search": 1, "POST /v2/inventory/counts/batch-retrieve": 1}
    assert result[-1] == []
    for variation, levels in zip(chosen, result, strict=False):
        expected = in_stock(sandbox, variation["id"])
        assert {lv.location_id: lv.available for lv in levels} == expected
        assert len(expected) == len(sandbox.stores)
        assert all(lv.sku == variation["item_variation_data"]["sku"] for lv in levels)
        assert all(lv.updated_at is not None for lv in levels)
    store = sandbox.stores[0].square_location_id
    (only,) = await adapter(http).inventory_by_skus(skus[:1], [store])
    assert [lv.location_id for lv in only] == [store]
    assert await adapter(http).inventory_by_skus(skus[:2], []) == [[], []]


async def test_locations(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    found = await adapter(http).locations()
    assert await requests_made(http) == {"GET /v2/locations": 1}
    by_id = {loc.id: loc for loc in found}
    assert set(by_id) == {s.square_location_id for s in sandbox.stores}
    for store in sandbox.stores:
        loc = by_id[store.square_location_id]
        assert (loc.name, loc.location_kind, loc.active) == (store.name, LocationKind.STORE, True)
        assert loc.geo is not None
        assert (loc.geo.lat, loc.geo.lng) == (store.latitude, store.longitude)
        raw = sandbox.square.locations[store.square_location_id]
        assert loc.address.city == raw["address"]["locality"]
        assert loc.address.country_code == "US" and loc.address.phone == raw["phone_number"]


async def test_concurrency_is_bounded(sandbox: Sandbox, app: SandboxControl) -> None:
    in_flight = 0
    peak = 0
    inner = httpx.ASGITransport(app=app)

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.005)
                return await inner.handle_async_request(request)
            finally:
                in_flight -= 1

    async with httpx.AsyncClient(transport=Counting()) as client:
        square = adapter(client, max_concurrency=3)
        emails = [f"nobody{i}@example.com" for i in range(20)]
        assert await square.customers_by_emails(emails) == [[] for _ in emails]
    assert peak == 3
