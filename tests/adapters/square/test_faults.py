"""Transport and vendor failures map to the error tree (``httpx.MockTransport``, no sleeping)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters.errors import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.models import HistoryWindow
from adapters.square import SquareAdapter, SquareConfig

pytestmark = pytest.mark.anyio
TOKEN = "EAAAsecret-token-value"
EMAIL = "private.person@example.com"
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler answering from a script, recording every request."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


@asynccontextmanager
async def square(
    recorder: Recorder, *, retries: int = 2
) -> AsyncIterator[tuple[SquareAdapter, list[float]]]:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    config = SquareConfig(url="https://connect.squareup.com", access_token=TOKEN,
                          retries=retries, api_version="2025-10-16")
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        yield SquareAdapter(config, client, source="pos", sleep=sleep,
                            rng=random.Random(7)), delays


def customer(customer_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": customer_id, "created_at": "2024-01-19T00:27:54.59Z",
            "updated_at": "2024-01-19T00:38:06Z", **fields}


def bulk_ok(request: httpx.Request) -> httpx.Response:
    ids = json.loads(request.content)["customer_ids"]
    return httpx.Response(200, json={"responses": {i: {"customer": customer(i)} for i in ids}})


def assert_clean(error: UpstreamError) -> None:
    assert error.source == "pos"
    assert TOKEN not in str(error) and EMAIL not in str(error)


async def test_requests_carry_auth_version_and_json() -> None:
    recorder = Recorder(bulk_ok)
    async with square(recorder) as (adapter, _):
        await adapter.customers_by_ids(["A"])
    (request,) = recorder.requests
    assert request.url == "https://connect.squareup.com/v2/customers/bulk-retrieve"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Square-Version"] == "2025-10-16"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"customer_ids": ["A"]}


async def test_timeout_is_retried_then_raised() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))
    async with square(recorder) as (adapter, delays):
        with pytest.raises(UpstreamTimeout) as caught:
            await adapter.customers_by_emails([EMAIL])
    assert len(recorder.requests) == 3 and len(delays) == 2
    assert all(0 <= d <= 1 for d in delays)
    assert_clean(caught.value)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_then_unavailable(status: int) -> None:
    body = {"errors": [{"category": "API_ERROR", "code": "INTERNAL_SERVER_ERROR",
                        "detail": "An internal error has occurred."}]}
    recorder = Recorder(httpx.Response(status, json=body))
    async with square(recorder) as (adapter, delays):
        with pytest.raises(UpstreamUnavailable) as caught:
            await adapter.customers_by_ids(["A", "B"])
    assert len(recorder.requests) == 3 and len(delays) == 2
    assert caught.value.status == status
    assert_clean(caught.value)


async def test_a_retried_read_post_succeeds() -> None:
    recorder = Recorder(httpx.Response(503), bulk_ok)
    async with square(recorder) as (adapter, delays):
        (found,) = await adapter.customers_by_ids(["A"])
    assert found is not None and found.id == "A"
    assert len(recorder.requests) == 2 and len(delays) == 1


async def test_rate_limit_waits_retry_after_then_succeeds() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={"errors": [
        {"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED", "detail": "Slow down."}]})
    recorder = Recorder(limited, bulk_ok)
    async with square(recorder) as (adapter, delays):
        (found,) = await adapter.customers_by_ids(["A"])
    assert delays == [2.0]
    assert found is not None and found.id == "A"


async def test_unauthorized_is_not_retried() -> None:
    recorder = Recorder(httpx.Response(401, json={"errors": [
        {"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
         "detail": "This request could not be authorized."}]}))
    async with square(recorder) as (adapter, delays):
        with pytest.raises(UpstreamAuthError) as caught:
            await adapter.locations()
    assert len(recorder.requests) == 1 and delays == []
    assert caught.value.status == 401
    assert_clean(caught.value)


async def test_bad_request_is_a_bad_response_without_retry() -> None:
    recorder = Recorder(httpx.Response(400, json={"errors": [
        {"category": "INVALID_REQUEST_ERROR", "code": "BAD_REQUEST", "detail": "no"}]}))
    async with square(recorder) as (adapter, delays):
        with pytest.raises(UpstreamBadResponse) as caught:
            await adapter.variants_by_skus(["SKU-1"])
    assert len(recorder.requests) == 1 and delays == [] and caught.value.status == 400


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"<html>gateway hiccup</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"responses": {"A": {"customer": {"given_name": "No id"}}}}),
        httpx.Response(200, json={"responses": {"A": {"errors": [{"code": "FORBIDDEN"}]}}}),
        httpx.Response(200, json={"responses": {"A": {"customer": customer(
            "A", created_at="yesterday")}}}),
    ],
    ids=["not-json", "array", "missing-id", "per-id-error", "bad-time"],
)
async def test_garbage_is_a_bad_response(response: httpx.Response) -> None:
    recorder = Recorder(response)
    async with square(recorder) as (adapter, delays):
        with pytest.raises(UpstreamBadResponse) as caught:
            await adapter.customers_by_ids(["A"])
    assert len(recorder.requests) == 1 and delays == []
    assert_clean(caught.value)


async def test_wrong_order_shape_is_a_bad_response() -> None:
    order = {"id": "O1", "location_id": "L1", "created_at": "2024-03-01T12:00:00.000Z",
             "state": "COMPLETED", "total_money": {"amount": "12.50", "currency": "USD"}}
    recorder = Recorder(httpx.Response(200, json={"orders": [order]}))
    async with square(recorder) as (adapter, _):
        with pytest.raises(UpstreamBadResponse) as caught:
            await adapter.orders_by_ids(["O1"])
    assert "orders" in str(caught.value)


async def test_repeated_cursor_is_a_bad_response() -> None:
    recorder = Recorder(httpx.Response(200, json={"customers": [customer("A")],
                                                  "cursor": "same"}))
    async with square(recorder) as (adapter, _):
        with pytest.raises(UpstreamBadResponse):
            await adapter.customers_by_emails([EMAIL])
    assert len(recorder.requests) == 2


async def test_a_failing_crawl_raises_from_the_iteration() -> None:
    recorder = Recorder(
        httpx.Response(200, json={"customers": [customer("A")], "cursor": "next"}),
        httpx.ReadTimeout("slow"),
    )
    pages: list[list[str]] = []
    async with square(recorder, retries=0) as (adapter, delays):
        with pytest.raises(UpstreamTimeout):
            async for page in adapter.crawl_customers():
                pages.append([c.id for c in page])
    assert pages == [["A"]] and delays == []
    assert recorder.requests[1].url.params["cursor"] == "next"


async def test_a_failing_sku_lookup_fails_the_order_read() -> None:
    order = {"id": "O1", "location_id": "L1", "created_at": "2024-03-01T12:00:00.000Z",
             "state": "COMPLETED", "total_money": {"amount": 250, "currency": "USD"},
             "line_items": [{"name": "Coffee", "quantity": "1", "catalog_object_id": "VAR1",
                             "base_price_money": {"amount": 250, "currency": "USD"},
                             "total_money": {"amount": 250, "currency": "USD"}}]}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/orders/batch-retrieve":
            return httpx.Response(200, json={"orders": [order]})
        return httpx.Response(503)

    recorder = Recorder(answer)
    async with square(recorder, retries=1) as (adapter, _):
        with pytest.raises(UpstreamUnavailable) as caught:
            await adapter.orders_by_ids(["O1"])
    assert "/v2/catalog/batch-retrieve" in str(caught.value)
    assert [r.url.path for r in recorder.requests].count("/v2/catalog/batch-retrieve") == 2


def sale(order_id: str, created: str) -> dict[str, Any]:
    return {"id": order_id, "location_id": "L1", "customer_id": "C1", "created_at": created,
            "updated_at": created, "state": "COMPLETED",
            "total_money": {"amount": 250, "currency": "USD"}}


async def test_a_history_window_searches_below_its_edge_then_the_orders_changed_since() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/locations":
            return httpx.Response(200, json={"locations": [{"id": "L1", "name": "SoHo"}]})
        body = json.loads(request.content)
        if body["query"]["sort"]["sort_field"] == "CREATED_AT":
            return httpx.Response(200, json={"orders": [
                sale("O2", "2024-03-02T12:00:00.000Z"), sale("O1", "2024-03-01T12:00:00.000Z")]})
        return httpx.Response(200, json={"orders": [sale("O0", "2024-02-01T12:00:00.000Z"),
                                                    sale("O3", "2024-03-05T12:00:00.000Z")]})

    recorder = Recorder(answer)
    async with square(recorder) as (adapter, _):
        [piece] = await adapter.order_history([HistoryWindow(
            "C1", datetime(2024, 3, 10, tzinfo=UTC), 2)])
    searches = [json.loads(r.content) for r in recorder.requests
                if r.url.path == "/v2/orders/search"]
    window, changed = searches
    assert window["query"]["filter"]["date_time_filter"] == {
        "created_at": {"end_at": "2024-03-10T00:00:00.000Z"}}
    assert window["limit"] == 2 and window["location_ids"] == ["L1"]
    assert changed["query"]["filter"]["date_time_filter"] == {
        "updated_at": {"start_at": "2024-03-01T12:00:00.001Z"}}
    assert changed["query"]["sort"] == {"sort_field": "UPDATED_AT", "sort_order": "ASC"}
    # O3 was created after the edge: already in the window's range, not a spanning order
    assert [o.id for o in piece.records] == ["O2", "O1", "O0"]
    assert piece.complete_after == datetime(2024, 3, 1, 12, tzinfo=UTC)


async def test_a_failing_history_search_is_typed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/locations":
            return httpx.Response(200, json={"locations": [{"id": "L1", "name": "SoHo"}]})
        return httpx.Response(200, content=b"<html>not json</html>")

    async with square(Recorder(answer)) as (adapter, _):
        with pytest.raises(UpstreamBadResponse) as caught:
            await adapter.order_history([HistoryWindow("C1", None, 5)])
    assert_clean(caught.value)
