"""Failures at the Shopify boundary: every one becomes a typed UpstreamError naming the source."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.errors import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.http import CALL_DEADLINE
from adapters.models import HistoryWindow, Money
from adapters.shopify import ShopifyAdapter, ShopifyConfig

pytestmark = pytest.mark.anyio

BASE = "https://c360-test.myshopify.com"
SECRET = "shpat_very_secret_token"
EMAIL = "bob.private@mail.example.com"
PHONE = "+16136120707"
Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps(list[float]):
    """An injected ``sleep`` that records its delays instead of sleeping."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)


class Recorder:
    """A MockTransport handler that records every request it answers."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.handler(request)


def shop(handler: Handler, sleeps: Sleeps, **overrides: Any) -> tuple[ShopifyAdapter, Recorder]:
    recorder = Recorder(handler)
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder), base_url=BASE)
    config = ShopifyConfig(url=BASE, access_token=SECRET, **overrides)
    return ShopifyAdapter(config, client, source="shop-eu", sleep=sleeps,
                          rng=random.Random(7)), recorder


def customer(customer_id: int) -> dict[str, Any]:
    return {"id": customer_id, "email": EMAIL, "phone": PHONE, "first_name": "Bob",
            "last_name": "Norman", "tags": "", "addresses": []}


def assert_clean(error: UpstreamError) -> None:
    assert error.source == "shop-eu"
    text = str(error)
    assert text.startswith("shop-eu: ")
    for secret in (SECRET, EMAIL, "bob.private", PHONE, "6136120707", "page_info"):
        assert secret not in text


async def test_timeouts_are_retried_then_typed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    sleeps = Sleeps()
    adapter, recorder = shop(handler, sleeps)
    with pytest.raises(UpstreamTimeout) as caught:
        await adapter.customers_by_emails([EMAIL])
    assert len(recorder.seen) == 3
    assert len(sleeps) == 2 and all(0 <= delay <= 1 for delay in sleeps)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert_clean(caught.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, json={"errors": "Internal Server Error"}),
        httpx.Response(503, html="<!DOCTYPE html><h1>Service unavailable</h1>"),
    ],
    ids=["500", "503"],
)
async def test_server_errors_are_retried_then_unavailable(response: httpx.Response) -> None:
    sleeps = Sleeps()
    adapter, recorder = shop(lambda request: response, sleeps, retries=3)
    with pytest.raises(UpstreamUnavailable) as caught:
        await adapter.customers_by_phones([PHONE])
    assert len(recorder.seen) == 4 and len(sleeps) == 3
    assert caught.value.status == response.status_code
    assert_clean(caught.value)


async def test_connection_refused_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sleeps = Sleeps()
    adapter, recorder = shop(handler, sleeps, retries=0)
    with pytest.raises(UpstreamUnavailable) as caught:
        await adapter.locations()
    assert (len(recorder.seen), sleeps) == (1, [])
    assert_clean(caught.value)


async def test_rate_limit_waits_retry_after_then_succeeds() -> None:
    answers = iter([
        httpx.Response(429, json={"errors": "Exceeded 2 calls per second for api client."},
                       headers={"Retry-After": "2.0"}),
        httpx.Response(200, json={"customers": [customer(207119551)]}),
    ])
    sleeps = Sleeps()
    adapter, recorder = shop(lambda request: next(answers), sleeps)
    (found,) = await adapter.customers_by_ids(["207119551"])
    assert found is not None and found.emails == (EMAIL,)
    assert sleeps == [2.0]
    assert len(recorder.seen) == 2


async def test_auth_error_is_not_retried() -> None:
    sleeps = Sleeps()
    adapter, recorder = shop(
        lambda request: httpx.Response(401, json={"errors": "[API] Invalid API key"}), sleeps)
    with pytest.raises(UpstreamAuthError) as caught:
        await adapter.customers_by_ids(["207119551"])
    assert (len(recorder.seen), sleeps) == (1, [])
    assert caught.value.status == 401
    assert_clean(caught.value)


async def test_requests_carry_the_token_header_and_version() -> None:
    sleeps = Sleeps()
    adapter, recorder = shop(
        lambda request: httpx.Response(200, json={"customers": []}), sleeps,
        api_version="2025-10")
    await adapter.customers_by_emails([EMAIL])
    (request,) = recorder.seen
    assert request.headers["X-Shopify-Access-Token"] == SECRET
    assert request.url.path == "/admin/api/2025-10/customers/search.json"
    assert request.url.params["query"] == f"email:{EMAIL}"
    assert request.url.params["limit"] == "250"


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Oops</body></html>",
        b'{"customers": "not a list"}',
        b'{"customers": [{"email": "no-id@example.com"}]}',
        b'[{"id": 1}]',
        b'{"customers": [{"id": 1, "created_at": "yesterday"}]}',
    ],
    ids=["not-json", "not-a-list", "no-id", "not-an-object", "bad-timestamp"],
)
async def test_garbage_is_a_bad_response_without_retry(body: bytes) -> None:
    sleeps = Sleeps()
    adapter, recorder = shop(lambda request: httpx.Response(200, content=body), sleeps)
    with pytest.raises(UpstreamBadResponse) as caught:
        await adapter.customers_by_ids(["207119551"])
    assert (len(recorder.seen), sleeps) == (1, [])
    assert_clean(caught.value)


async def test_wrong_money_in_a_real_order_is_a_bad_response(payload: Any) -> None:
    order = copy.deepcopy(payload("shopify/order.json")["order"])
    order["total_price_set"]["shop_money"]["amount"] = "five hundred"
    answers = {
        "/admin/api/2026-07/orders.json": {"orders": [order]},
        "/admin/api/2026-07/locations.json": payload("shopify/locations_list.json"),
    }
    sleeps = Sleeps()
    adapter, _ = shop(lambda request: httpx.Response(200, json=answers[request.url.path]),
                      sleeps)
    with pytest.raises(UpstreamBadResponse) as caught:
        await adapter.orders_by_ids(["450789469"])
    assert "orders" in str(caught.value)
    assert_clean(caught.value)


async def test_next_link_to_another_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = '<https://evil.example/admin/api/2026-07/customers.json?page_info=x>; rel="next"'
        return httpx.Response(200, json={"customers": [customer(1)]}, headers={"Link": link})

    sleeps = Sleeps()
    adapter, recorder = shop(handler, sleeps)
    with pytest.raises(UpstreamBadResponse) as caught:
        [page async for page in adapter.crawl_customers()]
    assert {request.url.host for request in recorder.seen} == {"c360-test.myshopify.com"}
    assert_clean(caught.value)


async def test_next_link_loop_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = f'<{BASE}/admin/api/2026-07/products.json?limit=250&page_info=again>; rel="next"'
        return httpx.Response(200, json={"products": []}, headers={"Link": link})

    sleeps = Sleeps()
    adapter, recorder = shop(handler, sleeps)
    with pytest.raises(UpstreamBadResponse):
        await adapter.variants_by_skus(["SKU-1"])
    assert len(recorder.seen) == 2


async def test_failure_mid_crawl_after_a_page() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "page_info" not in request.url.params:
            link = (f'<{BASE}/admin/api/2026-07/customers.json?limit=250&page_info=c2VjcmV0>; '
                    'rel="next"')
            return httpx.Response(200, json={"customers": [customer(1)]},
                                  headers={"Link": link})
        assert request.url.params["page_info"] == "c2VjcmV0"
        assert set(request.url.params) == {"limit", "page_info"}
        return httpx.Response(500, json={"errors": "Internal Server Error"})

    sleeps = Sleeps()
    adapter, _ = shop(handler, sleeps, retries=1)
    pages: list[Any] = []
    with pytest.raises(UpstreamUnavailable) as caught:
        async for page in adapter.crawl_customers():
            pages.append(page)
    assert [[c.id for c in page] for page in pages] == [["1"]]
    assert "c2VjcmV0" not in str(caught.value)
    assert_clean(caught.value)


async def test_failed_catalog_crawl_is_not_cached() -> None:
    product = {"id": 9, "title": "Tee", "variants": [
        {"id": 10, "product_id": 9, "title": "S", "sku": "TEE-S", "price": "19.90",
         "inventory_item_id": 11,
         "presentment_prices": [{"price": {"amount": "19.90", "currency_code": "EUR"}}]}]}
    answers = iter([httpx.Response(503, html="<h1>down</h1>"),
                    httpx.Response(200, json={"products": [product]})])
    sleeps = Sleeps()
    adapter, recorder = shop(lambda request: next(answers), sleeps, retries=0)
    with pytest.raises(UpstreamUnavailable):
        await adapter.variants_by_skus(["TEE-S"])
    (variant,) = await adapter.variants_by_skus(["TEE-S"])
    assert variant is not None and variant.price == Money(Decimal("19.90"), "EUR")
    assert len(recorder.seen) == 2


# ---------------------------------------------------------------- orders by customer (GraphQL)

GRAPHQL_PATH = "/admin/api/2026-07/graphql.json"
ORDERS_PATH = "/admin/api/2026-07/orders.json"


def refs(*pairs: tuple[int, int | None], cursor: str | None = None) -> dict[str, Any]:
    nodes = [{"legacyResourceId": str(order),
              "customer": None if customer is None else {"legacyResourceId": str(customer)}}
             for order, customer in pairs]
    return {"data": {"orders": {"nodes": nodes, "pageInfo": {
                "hasNextPage": cursor is not None, "endCursor": cursor}}},
            "extensions": {"cost": {"requestedQueryCost": 502, "actualQueryCost": 6,
                                    "throttleStatus": {"maximumAvailable": 2000.0,
                                                       "currentlyAvailable": 1994,
                                                       "restoreRate": 100.0}}}}


def graphql_error(code: str | None, message: str = "Throttled", available: int = 302,
                  rate: float = 100.0) -> httpx.Response:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return httpx.Response(200, json={
        "errors": [error],
        "extensions": {"cost": {"requestedQueryCost": 502, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 2000.0,
                                                   "currentlyAvailable": available,
                                                   "restoreRate": rate}}}})


def order_shop(graphql: list[httpx.Response], sleeps: Sleeps,
               **overrides: Any) -> tuple[ShopifyAdapter, Recorder]:
    """A shop whose GraphQL endpoint gives ``graphql`` in turn; REST answers no orders."""
    answers = iter(graphql)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == GRAPHQL_PATH:
            return next(answers)
        if request.url.path.endswith("locations.json"):
            return httpx.Response(200, json={"locations": []})
        return httpx.Response(200, json={"orders": []})

    return shop(handler, sleeps, **overrides)


def sent(recorder: Recorder, path: str) -> list[httpx.Request]:
    return [request for request in recorder.seen if request.url.path == path]


async def test_the_order_search_is_one_post_with_the_token() -> None:
    sleeps = Sleeps()
    adapter, recorder = order_shop([httpx.Response(200, json=refs((11, 207119551), (12, 5)))],
                                   sleeps)
    # two customers take the GraphQL search (one customer is a single REST call)
    assert await adapter.orders_by_customer_ids(["207119551", "x", "207119551", "999"]) == [
        [], [], [], []]
    (post,) = sent(recorder, GRAPHQL_PATH)
    assert post.method == "POST"
    assert post.headers["X-Shopify-Access-Token"] == SECRET
    assert post.headers["Content-Type"] == "application/json"
    body = json.loads(post.content)
    assert body["variables"] == {"first": 250, "after": None,
                                 "query": "customer_id:207119551 OR customer_id:999"}
    assert "orders(first: $first, after: $after, query: $query" in body["query"]
    # Only the asked customer's order is fetched (12 belongs to another: the search was ignored).
    (rest,) = sent(recorder, ORDERS_PATH)
    assert rest.url.params["ids"] == "11" and rest.url.params["status"] == "any"


async def test_pages_are_followed_and_a_repeating_cursor_refused() -> None:
    sleeps = Sleeps()
    adapter, recorder = order_shop([
        httpx.Response(200, json=refs((11, 1), cursor="c1")),
        httpx.Response(200, json=refs((12, 1), cursor="c2")),
        httpx.Response(200, json=refs((13, 1))),
    ], sleeps)
    await adapter.orders_by_customer_ids(["1", "2"])
    posts = sent(recorder, GRAPHQL_PATH)
    assert [json.loads(p.content)["variables"]["after"] for p in posts] == [None, "c1", "c2"]
    assert sent(recorder, ORDERS_PATH)[0].url.params["ids"] == "11,12,13"
    looping, _ = order_shop([httpx.Response(200, json=refs((11, 1), cursor="c1"))] * 3, sleeps)
    with pytest.raises(UpstreamBadResponse) as caught:
        await looping.orders_by_customer_ids(["1", "2"])
    assert_clean(caught.value)


async def test_throttled_waits_until_the_bucket_holds_the_query() -> None:
    sleeps = Sleeps()
    adapter, recorder = order_shop(
        [graphql_error("THROTTLED"), httpx.Response(200, json=refs((11, 1)))], sleeps)
    await adapter.orders_by_customer_ids(["1", "2"])
    assert sleeps == [(502 - 302) / 100.0]
    assert len(sent(recorder, GRAPHQL_PATH)) == 2


async def test_throttled_beyond_the_retry_limit_is_rate_limited_at_once() -> None:
    sleeps = Sleeps()
    adapter, recorder = order_shop([graphql_error("THROTTLED", available=0, rate=50.0)], sleeps)
    with pytest.raises(UpstreamRateLimited) as caught:
        await adapter.orders_by_customer_ids(["1", "2"])
    assert caught.value.retry_after == pytest.approx(502 / 50.0)
    assert (caught.value.status, sleeps, len(sent(recorder, GRAPHQL_PATH))) == (200, [], 1)
    assert "THROTTLED" in str(caught.value) and "HTTP 200" in str(caught.value)
    assert_clean(caught.value)


async def test_the_callers_deadline_cuts_the_wait() -> None:
    sleeps = Sleeps()
    adapter, recorder = order_shop([graphql_error("THROTTLED")] * 2, sleeps)
    token = CALL_DEADLINE.set(asyncio.get_running_loop().time() + 1.0)
    try:
        with pytest.raises(UpstreamRateLimited):
            await adapter.orders_by_customer_ids(["1", "2"])
    finally:
        CALL_DEADLINE.reset(token)
    assert (sleeps, len(sent(recorder, GRAPHQL_PATH))) == ([], 1)


@pytest.mark.parametrize(
    ("code", "error_type", "attempts"),
    [
        ("ACCESS_DENIED", UpstreamAuthError, 1),
        ("INTERNAL_SERVER_ERROR", UpstreamUnavailable, 3),
        ("SHOP_INACTIVE", UpstreamUnavailable, 3),
        ("MAX_COST_EXCEEDED", UpstreamBadResponse, 1),
        (None, UpstreamBadResponse, 1),
    ],
)
async def test_graphql_errors_are_typed(
    code: str | None, error_type: type[UpstreamError], attempts: int
) -> None:
    sleeps = Sleeps()
    message = f"Field 'orders' failed for {EMAIL} ({PHONE})"
    adapter, recorder = order_shop([graphql_error(code, message)] * attempts, sleeps)
    with pytest.raises(error_type) as caught:
        await adapter.orders_by_customer_ids(["1", "2"])
    assert type(caught.value) is error_type
    assert len(sent(recorder, GRAPHQL_PATH)) == attempts and len(sleeps) == attempts - 1
    assert sent(recorder, ORDERS_PATH) == []
    assert caught.value.status == 200
    assert_clean(caught.value)


@pytest.mark.parametrize(
    ("response", "error_type", "attempts"),
    [
        (httpx.Response(401, json={"errors": "[API] Invalid API key"}), UpstreamAuthError, 1),
        (httpx.Response(503, html="<h1>down</h1>"), UpstreamUnavailable, 3),
        (httpx.Response(200, content=b"<html>oops</html>"), UpstreamBadResponse, 1),
        (httpx.Response(200, json={"data": {"orders": None}}), UpstreamBadResponse, 1),
    ],
    ids=["401", "503", "not-json", "wrong-shape"],
)
async def test_http_failures_of_the_search(
    response: httpx.Response, error_type: type[UpstreamError], attempts: int
) -> None:
    sleeps = Sleeps()
    adapter, recorder = order_shop([response] * attempts, sleeps)
    with pytest.raises(error_type) as caught:
        await adapter.orders_by_customer_ids(["1", "2"])
    assert len(sent(recorder, GRAPHQL_PATH)) == attempts
    assert_clean(caught.value)


async def test_a_failing_rest_batch_fails_the_whole_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == GRAPHQL_PATH:
            return httpx.Response(200, json=refs((11, 1), (12, 2)))
        if request.url.path.endswith("locations.json"):
            return httpx.Response(200, json={"locations": []})
        return httpx.Response(403, json={"errors": "Forbidden"})

    sleeps = Sleeps()
    adapter, _ = shop(handler, sleeps)
    with pytest.raises(UpstreamAuthError) as caught:
        await adapter.orders_by_customer_ids(["1", "2"])
    assert caught.value.status == 403 and sleeps == []
    assert_clean(caught.value)


# ------------------------------------------------- history windows and references (GraphQL)

def window(*orders: tuple[int, str]) -> dict[str, Any]:
    return {"data": {"orders": {"nodes": [
        {"legacyResourceId": str(order), "processedAt": at, "name": f"#{order}"}
        for order, at in orders]}}}


async def test_a_history_window_asks_for_ids_below_its_edge_then_the_orders_changed_since(
        ) -> None:
    sleeps = Sleeps()
    full = window((12, "2026-05-02T10:00:00Z"), (11, "2026-05-01T10:00:00Z"))
    adapter, recorder = order_shop([httpx.Response(200, json=full),
                                    httpx.Response(200, json=window((9, "2026-04-01T00:00:00Z")))],
                                   sleeps)
    until = datetime(2026, 6, 1, 12, 30, 15, 500, tzinfo=UTC)
    [piece] = await adapter.order_history([HistoryWindow("7", until, 2)])
    first, second = (json.loads(r.content) for r in sent(recorder, GRAPHQL_PATH))
    assert first["variables"]["query"] == "customer_id:7 processed_at:<=2026-06-01T12:30:15Z"
    assert (first["variables"]["sortKey"], first["variables"]["reverse"]) == ("PROCESSED_AT",
                                                                              True)
    assert second["variables"]["query"] == ("customer_id:7 processed_at:<=2026-05-01T10:00:00Z "
                                            "updated_at:>2026-05-01T10:00:00Z")
    assert piece.complete_after == datetime(2026, 5, 1, 10, tzinfo=UTC)
    [rest] = sent(recorder, ORDERS_PATH)
    assert rest.url.params["ids"] == "12,11,9" and rest.url.params["status"] == "any"
    assert piece.records == ()  # the mock's REST answer holds no orders of customer 7


@pytest.mark.parametrize("code", ["INTERNAL_SERVER_ERROR", "ACCESS_DENIED", None])
async def test_history_and_reference_searches_fail_typed(code: str | None) -> None:
    for call in ("history", "reference"):
        sleeps = Sleeps()
        attempts = 3 if code == "INTERNAL_SERVER_ERROR" else 1
        adapter, _ = order_shop([graphql_error(code, f"no {EMAIL}")] * attempts, sleeps)
        with pytest.raises(UpstreamError) as caught:
            if call == "history":
                await adapter.order_history([HistoryWindow("7", None, 5)])
            else:
                await adapter.orders_by_references(["#1042"])
        assert_clean(caught.value)


async def test_a_reference_matches_order_names_exactly() -> None:
    sleeps = Sleeps()
    named = {"data": {"orders": {"nodes": [{"legacyResourceId": "11", "name": "#1042"},
                                           {"legacyResourceId": "12", "name": "#10420"}]}}}
    adapter, recorder = order_shop([httpx.Response(200, json=named)] * 2, sleeps)
    assert await adapter.orders_by_references(["not a name!", "1042"]) == [[], []]
    [search] = sent(recorder, GRAPHQL_PATH)
    assert json.loads(search.content)["variables"]["query"] == "name:1042 OR name:#1042"
    [rest] = sent(recorder, ORDERS_PATH)
    assert rest.url.params["ids"] == "11"
