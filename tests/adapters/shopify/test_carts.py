"""Open carts (abandoned checkouts, open draft orders): the pure parse and request functions
over the vendor payloads, the adapter over the emulated shop, and its failures."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.errors import UpstreamBadResponse, UpstreamRateLimited, UpstreamUnavailable
from adapters.models import Cart, CartKind, CartLine, Money
from adapters.protocols import CartSource
from adapters.shopify import ShopifyAdapter, ShopifyConfig, parse
from adapters.shopify import requests as calls
from silos.shopify import ShopifySiloConfig, create_app
from tests.silos.shopify.factory import Shop, build_shop

from .test_faults import Sleeps, assert_clean, shop

Payload = Callable[[str], Any]
EDT = timezone(timedelta(hours=-4))
CDT = timezone(timedelta(hours=-5))
BASE = "http://shop.test"
TOKEN = ShopifySiloConfig().access_token
EP = "GET /admin/api/{version}/"


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


# --------------------------------------------------------------------- parse (vendor payloads)


@pytest.mark.vendor_payloads
def test_abandoned_checkout(payload: Payload) -> None:
    (cart,) = parse.parse_checkouts(payload("shopify/checkouts_list.json"), source="web")
    assert (cart.source, cart.kind, cart.id, cart.cart_kind) == (
        "web", "shopify", "450789469", CartKind.CHECKOUT)
    assert (cart.customer_id, cart.email) == ("207119551", "bob.norman@mail.example.com")
    assert cart.created_at == datetime(2012, 10, 12, 7, 5, 27, tzinfo=EDT) == cart.updated_at
    assert (cart.status, cart.completed_at, cart.order_id) == ("OPEN", None, None)
    assert cart.lines == (
        CartLine("IPOD2008RED", "IPod Nano - 8GB - Red", Decimal(1), usd("199.00"),
                 usd("199.00"), "49148385", "632910392"),
        CartLine("IPOD2008PINK", "IPod Nano - 8GB - Pink", Decimal(1), usd("199.00"),
                 usd("199.00"), "808950810", "632910392"),
    )
    assert (cart.subtotal, cart.total) == (usd("358.20"), usd("379.69"))
    assert cart.recovery_url == ("https://checkout.local/548380009/checkouts/"
                                 "2a1ace52255252df566af0faaedfbfa7/recover")
    assert cart.name == "#450789469"


@pytest.mark.vendor_payloads
def test_draft_orders(payload: Payload) -> None:
    drafts = parse.parse_draft_orders(payload("shopify/draft_orders_list.json"))
    assert [(d.id, d.name, d.status, d.order_id, d.customer_id) for d in drafts] == [
        ("72885271", "#D1", "COMPLETED", "450789469", "207119551"),
        ("622762746", "#D1", "OPEN", None, "207119551"),
        ("691042898", "#D1", "COMPLETED", "450789469", "207119551"),
        ("994118539", "#D2", "OPEN", None, "207119551"),
        ("1012750869", "#D2", "OPEN", None, None),
    ]
    rush = drafts[1]
    assert rush.cart_kind == CartKind.DRAFT_ORDER
    assert [(line.sku, line.title, line.quantity, line.total, line.variant_id)
            for line in rush.lines] == [
        ("IPOD2008GREEN", "IPod Nano - 8gb - green", Decimal(1), usd("199.00"), "39072856"),
        ("IPODENGRAVING", "IPod Nano Engraving", Decimal(1), usd("30.00"), None),
        ("IPOD2008BLACK", "IPod Nano - 8gb - black", Decimal(3), usd("597.00"), "457924702"),
    ]
    assert (rush.subtotal, rush.total) == (usd("826.00"), usd("885.56"))
    assert rush.recovery_url == (
        "https://jsmith.myshopify.com/548380009/invoices/f1df1a91d10a6d7704cf2f0315461api")
    assert rush.created_at == datetime(2025, 7, 2, 11, 29, 59, tzinfo=CDT)
    assert drafts[2].completed_at == datetime(2016, 12, 31, 19, 0, tzinfo=CDT)


@pytest.mark.vendor_payloads
def test_created_and_completed_draft_order(payload: Payload) -> None:
    created = parse.parse_draft_order(payload("shopify/draft_order_create.json")["draft_order"])
    assert (created.status, created.name, created.customer_id) == ("OPEN", "#D3", "207119551")
    (tee,) = created.lines
    assert (tee.sku, tee.quantity, tee.unit_price, tee.total) == (
        None, Decimal(2), usd("20.00"), usd("40.00"))
    assert (created.subtotal, created.total) == (usd("30.00"), usd("31.80"))
    done = parse.parse_draft_order(payload("shopify/draft_order_complete.json")["draft_order"])
    assert (done.status, done.order_id) == ("COMPLETED", "1073459985")
    assert done.completed_at == datetime(2025, 7, 2, 11, 34, 20, tzinfo=CDT)


@pytest.mark.vendor_payloads
def test_open_carts_by_customer(payload: Payload) -> None:
    checkout = copy.deepcopy(payload("shopify/checkouts_list.json")["checkouts"][0])
    recovered = {**checkout, "id": 1, "completed_at": "2025-07-03T10:00:00-04:00"}
    later = {**checkout, "id": 2, "updated_at": "2025-07-02T12:30:00-05:00"}
    carts = [*parse.parse_checkouts({"checkouts": [checkout, recovered, later]}),
             *parse.parse_draft_orders(payload("shopify/draft_orders_list.json")),
             *parse.parse_checkouts({"checkouts": [later]})]
    index = parse.open_carts_by_customer(carts)
    assert list(index) == ["207119551"]
    assert [(c.cart_kind, c.id) for c in index["207119551"]] == [
        (CartKind.CHECKOUT, "2"),
        (CartKind.DRAFT_ORDER, "994118539"),
        (CartKind.DRAFT_ORDER, "622762746"),
        (CartKind.CHECKOUT, "450789469"),
    ]


def test_line_discounts_and_malformed_records() -> None:
    line = {"title": "Tee", "variant_title": None, "sku": "TEE", "quantity": 3,
            "price": "20.00", "applied_discount": {"amount": "5.00"}}
    parsed = parse.parse_cart_line(line, "EUR")
    assert (parsed.title, parsed.total) == ("Tee", Money(Decimal("55.00"), "EUR"))
    draft = {"id": 1, "status": "open", "currency": "EUR", "created_at": "2025-07-02T10:00:00Z",
             "total_price": "55.00", "line_items": [line], "subtotal_price": None}
    cart = parse.parse_draft_order(draft)
    assert (cart.subtotal, cart.updated_at) == (None, cart.created_at)
    for broken in ({**draft, "status": "archived"}, {**draft, "total_price": "lots"},
                   {**draft, "created_at": None}, {**draft, "customer": "207119551"},
                   {**draft, "line_items": {"title": "Tee"}}):
        with pytest.raises((KeyError, TypeError, ArithmeticError, ValueError)):
            parse.parse_draft_order(broken)


# ------------------------------------------------------------------------------ requests


def test_cart_requests() -> None:
    since = datetime(2025, 7, 2, 16, 0, tzinfo=UTC)
    checkouts = calls.abandoned_checkouts("2026-07", since, 250)
    assert checkouts.path == "/admin/api/2026-07/checkouts.json"
    assert checkouts.params == {"status": "open", "updated_at_min": "2025-07-02T16:00:00+00:00",
                                "limit": "250"}
    drafts = calls.open_draft_orders("2026-07", 100)
    assert [(c.path, c.params["status"], c.params["limit"]) for c in drafts] == [
        ("/admin/api/2026-07/draft_orders.json", "open", "100"),
        ("/admin/api/2026-07/draft_orders.json", "invoice_sent", "100")]
    assert set(drafts[0].params["fields"].split(",")) == set(parse.DRAFT_ORDER_FIELDS)


# -------------------------------------------------------------------- adapter over the silo


@dataclass
class Carts:
    shop: Shop
    expected: dict[str, list[tuple[CartKind, str]]]
    """Customer id -> the open carts the adapter must answer, most recently updated first."""


def build_carts() -> Carts:
    """Carts of four customers around now: open, recovered, archived, too old, anonymous."""
    shop = build_shop(customers=4, orders_per_customer=0)
    store = shop.store
    now = datetime.now(UTC)
    variants = shop.product["variants"]
    c = [customer["id"] for customer in shop.customers]

    def checkout(customer: int | None, hours: float) -> int:
        body: dict[str, Any] = {"email": None, "source_name": "web", "line_items": [
            {"variant_id": variants[0]["id"], "quantity": 1}]}
        if customer is not None:
            body["customer"] = {"id": customer}
        return int(store.create_checkout({"checkout": body},
                                         at=now - timedelta(hours=hours))["id"])

    def draft(customer: int, hours: float) -> int:
        body = {"customer": {"id": customer},
                "line_items": [{"variant_id": variants[1]["id"], "quantity": 2}]}
        return int(store.create_draft_order({"draft_order": body},
                                            at=now - timedelta(hours=hours))["id"])

    a1, a2, a3 = checkout(c[0], 50), checkout(c[0], 3), checkout(c[0], 1)
    recovered, archived = checkout(c[1], 10), checkout(c[1], 9)
    old = checkout(c[2], 24 * 40)
    checkout(None, 2)
    store.complete_checkout(recovered, at=now - timedelta(hours=8))
    store.close_checkout(archived, at=now - timedelta(hours=8))
    d1, d2, d3, d4 = draft(c[0], 2), draft(c[1], 5), draft(c[2], 24 * 90), draft(c[3], 4)
    store.send_draft_order_invoice(d1, at=now - timedelta(minutes=30))
    store.complete_draft_order(d4, at=now - timedelta(hours=1))
    checkout_, draft_ = CartKind.CHECKOUT, CartKind.DRAFT_ORDER
    expected = {
        str(c[0]): [(draft_, str(d1)), (checkout_, str(a3)), (checkout_, str(a2)),
                    (checkout_, str(a1))],
        str(c[1]): [(draft_, str(d2))],
        str(c[2]): [(draft_, str(d3))],
    }
    assert old not in {int(i) for carts in expected.values() for _, i in carts}
    return Carts(shop, expected)


@pytest.fixture
def carts() -> Carts:
    return build_carts()


@pytest.fixture
async def client(carts: Carts) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(carts.shop.store, ShopifySiloConfig())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


def adapter(client: httpx.AsyncClient, **overrides: Any) -> ShopifyAdapter:
    clock = overrides.pop("clock", None)
    config = ShopifyConfig(url=BASE, access_token=TOKEN, **overrides)
    if clock is None:
        return ShopifyAdapter(config, client, source="shop")
    return ShopifyAdapter(config, client, source="shop", clock=clock)


async def requests(client: httpx.AsyncClient) -> dict[str, int]:
    endpoints: dict[str, int] = (await client.get("/_sandbox/stats")).json()["endpoints"]
    return {key.removeprefix(EP): count for key, count in endpoints.items()}


def answered(result: list[list[Cart]]) -> list[list[tuple[CartKind, str]]]:
    return [[(cart.cart_kind, cart.id) for cart in carts] for carts in result]


@pytest.mark.anyio
async def test_open_carts_of_each_customer(client: httpx.AsyncClient, carts: Carts) -> None:
    shop = adapter(client)
    assert isinstance(shop, CartSource)
    ids = [str(customer["id"]) for customer in carts.shop.customers]
    keys = [*ids, "999", "not-an-id", ids[0]]
    result = await shop.carts_by_customer_ids(keys)
    assert answered(result) == [carts.expected.get(key, []) for key in keys]
    assert await requests(client) == {"checkouts.json": 1, "draft_orders.json": 2}
    newest = result[0][1]
    store = carts.shop.store
    record = store.checkouts[int(newest.id)]
    assert (newest.source, newest.kind, newest.status) == ("shop", "shopify", "OPEN")
    assert newest.recovery_url == record["abandoned_checkout_url"]
    assert newest.total == usd(record["total_price"]) and newest.lines[0].sku == "IPOD2008GREEN"
    invoiced = result[0][0]
    assert invoiced.status == "INVOICE_SENT" and invoiced.name == "#D1"
    assert invoiced.recovery_url == store.draft_orders[int(invoiced.id)]["invoice_url"]
    assert invoiced.total == usd("398.00") and invoiced.lines[0].quantity == Decimal(2)


@pytest.mark.anyio
async def test_every_page_is_read(client: httpx.AsyncClient, carts: Carts) -> None:
    shop = adapter(client, page_size=1)
    ids = list(carts.expected)
    assert answered(await shop.carts_by_customer_ids(ids)) == [carts.expected[i] for i in ids]
    # Open checkouts within the lookback: 3 + 1 recovered + 1 anonymous; drafts: 2 open, 1 sent.
    assert await requests(client) == {"checkouts.json": 5, "draft_orders.json": 2 + 1}


@pytest.mark.anyio
async def test_the_lookback_bounds_the_checkouts(client: httpx.AsyncClient, carts: Carts) -> None:
    old_customer = str(carts.shop.customers[2]["id"])
    (found,) = await adapter(client, cart_lookback_days=60).carts_by_customer_ids(
        [old_customer])
    assert [cart.cart_kind for cart in found] == [CartKind.CHECKOUT, CartKind.DRAFT_ORDER]
    first = str(carts.shop.customers[0]["id"])
    (recent,) = await adapter(client, cart_lookback_days=1).carts_by_customer_ids([first])
    assert answered([recent]) == [carts.expected[first][:3]]


@pytest.mark.anyio
async def test_one_shared_load_cached_for_its_ttl(
    client: httpx.AsyncClient, carts: Carts
) -> None:
    now = [1000.0]
    shop = adapter(client, carts_ttl_s=30, clock=lambda: now[0])
    ids = list(carts.expected)
    results = await asyncio.gather(*(shop.carts_by_customer_ids([key]) for key in ids))
    assert [answered(r)[0] for r in results] == [carts.expected[key] for key in ids]
    assert await requests(client) == {"checkouts.json": 1, "draft_orders.json": 2}
    store = carts.shop.store
    fresh = store.create_draft_order({"draft_order": {
        "customer": {"id": int(ids[1])},
        "line_items": [{"variant_id": carts.shop.product["variants"][2]["id"]}]}})
    now[0] += 29
    (cached,) = await shop.carts_by_customer_ids([ids[1]])
    assert len(cached) == 1
    now[0] += 2
    (reloaded,) = await shop.carts_by_customer_ids([ids[1]])
    assert reloaded[0].id == str(fresh["id"]) and len(reloaded) == 2
    assert await requests(client) == {"checkouts.json": 2, "draft_orders.json": 4}


# ---------------------------------------------------------------------------------- faults

CHECKOUTS = "/admin/api/2026-07/checkouts.json"
DRAFTS = "/admin/api/2026-07/draft_orders.json"


def cart_answers(checkouts: Any, drafts: Any) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        answer = checkouts if request.url.path == CHECKOUTS else drafts
        if isinstance(answer, httpx.Response):
            return answer
        if callable(answer):
            result: httpx.Response = answer(request)
            return result
        return httpx.Response(200, json=answer)

    return handler


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_the_requests_sent(payload: Payload) -> None:
    sleeps = Sleeps()
    handler = cart_answers(payload("shopify/checkouts_list.json"),
                           payload("shopify/draft_orders_list.json"))
    shopify, recorder = shop(handler, sleeps, cart_lookback_days=7)
    before = datetime.now(UTC)
    (found,) = await shopify.carts_by_customer_ids(["207119551"])
    after = datetime.now(UTC)
    assert {cart.id for cart in found} == {"450789469", "622762746", "994118539"}
    sent = {(r.url.path, r.url.params.get("status")): r for r in recorder.seen}
    assert set(sent) == {(CHECKOUTS, "open"), (DRAFTS, "open"), (DRAFTS, "invoice_sent")}
    params = sent[CHECKOUTS, "open"].url.params
    assert params["limit"] == "250"
    since = datetime.fromisoformat(params["updated_at_min"])
    assert before - timedelta(days=7) <= since <= after - timedelta(days=7)
    assert all(r.headers["X-Shopify-Access-Token"] for r in recorder.seen)


@pytest.mark.anyio
async def test_rate_limited_then_answered() -> None:
    answers = iter([httpx.Response(429, json={"errors": "Exceeded 2 calls per second"},
                                   headers={"Retry-After": "2.0"}),
                    httpx.Response(200, json={"checkouts": []})])
    sleeps = Sleeps()
    shopify, recorder = shop(cart_answers(lambda request: next(answers),
                                          {"draft_orders": []}), sleeps)
    assert await shopify.carts_by_customer_ids(["1"]) == [[]]
    assert sleeps == [2.0] and len(recorder.seen) == 4


@pytest.mark.anyio
async def test_rate_limit_storm_is_typed() -> None:
    storm = httpx.Response(429, json={"errors": "Exceeded"}, headers={"Retry-After": "1.0"})
    sleeps = Sleeps()
    shopify, _ = shop(cart_answers({"checkouts": []}, storm), sleeps, retries=1)
    with pytest.raises(UpstreamRateLimited) as caught:
        await shopify.carts_by_customer_ids(["1"])
    assert_clean(caught.value)


@pytest.mark.anyio
async def test_a_failed_load_is_not_cached() -> None:
    failures = [httpx.Response(500, json={"errors": "Internal Server Error"})]
    draft = {"id": 7, "status": "open", "currency": "USD", "name": "#D7",
             "created_at": "2025-07-02T10:00:00Z", "total_price": "9.00",
             "customer": {"id": 42}, "line_items": []}

    def drafts(request: httpx.Request) -> httpx.Response:
        if request.url.params["status"] == "open":
            return failures.pop() if failures else httpx.Response(
                200, json={"draft_orders": [draft]})
        return httpx.Response(200, json={"draft_orders": []})

    sleeps = Sleeps()
    shopify, recorder = shop(cart_answers({"checkouts": []}, drafts), sleeps, retries=0)
    with pytest.raises(UpstreamUnavailable) as caught:
        await shopify.carts_by_customer_ids(["42"])
    assert caught.value.status == 500
    assert_clean(caught.value)
    (found,) = await shopify.carts_by_customer_ids(["42"])
    assert [(cart.id, cart.name) for cart in found] == [("7", "#D7")]
    loads = len(recorder.seen)
    await shopify.carts_by_customer_ids(["42"])
    assert len(recorder.seen) == loads


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("checkouts", "drafts", "what"),
    [
        (b"<html>Oops</html>", b'{"draft_orders": []}', None),
        (b'{"checkouts": "none"}', b'{"draft_orders": []}', "checkouts"),
        (b'{"checkouts": [{"id": 1, "currency": "USD"}]}', b'{"draft_orders": []}',
         "checkouts"),
        (b'{"checkouts": []}', b'{"draft_orders": [{"id": 1, "status": "archived"}]}',
         "draft_orders"),
        (b'{"checkouts": []}', b'[{"id": 1}]', "draft_orders"),
    ],
    ids=["not-json", "not-a-list", "no-created-at", "unknown-status", "not-an-object"],
)
async def test_garbage_is_a_bad_response(checkouts: bytes, drafts: bytes,
                                         what: str | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = checkouts if request.url.path == CHECKOUTS else drafts
        return httpx.Response(200, content=body)

    sleeps = Sleeps()
    shopify, recorder = shop(handler, sleeps)
    with pytest.raises(UpstreamBadResponse) as caught:
        await shopify.carts_by_customer_ids(["1"])
    assert sleeps == [] and len(recorder.seen) <= 3
    assert len({(r.url.path, r.url.params.get("status")) for r in recorder.seen}) == len(
        recorder.seen)
    if what is not None:
        assert f"unexpected {what} payload" in str(caught.value)
    assert_clean(caught.value)
