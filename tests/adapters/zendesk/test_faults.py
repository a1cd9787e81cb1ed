"""How the Zendesk adapter fails: every transport and vendor fault maps to the error tree."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
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
from adapters.models import HistoryWindow
from adapters.zendesk import ZendeskAdapter, ZendeskConfig

pytestmark = pytest.mark.anyio

URL = "https://acme.zendesk.com"
EMAIL = "ops@acme.example"
TOKEN = "s3cr3t-zendesk-token"
SOURCE = "helpdesk-eu"
CUSTOMER_EMAIL = "jane.private@example.org"
USER = {
    "id": 42, "name": "Jane Private", "email": CUSTOMER_EMAIL, "phone": None,
    "role": "end-user", "active": True, "external_id": None,
    "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z",
}
TICKET = {
    "id": 7, "subject": "Where is my order?", "status": "open", "priority": "normal",
    "via": {"channel": "email"}, "requester_id": 42, "tags": [],
    "created_at": "2024-02-01T10:00:00Z", "updated_at": "2024-02-01T11:00:00Z",
    "custom_fields": [],
}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """The adapter's injected ``sleep``: records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Fake:
    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.sleep = Recorder()

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        self.client = httpx.AsyncClient(transport=httpx.MockTransport(record), base_url=URL)
        self.adapter = ZendeskAdapter(
            ZendeskConfig(URL, EMAIL, TOKEN, retries=2), self.client, source=SOURCE,
            sleep=self.sleep, rng=random.Random(1),
        )


def json_response(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def users_body(request: httpx.Request) -> httpx.Response:
    return json_response({"users": [USER], "next_page": None, "previous_page": None, "count": 1})


CALLS: dict[str, Callable[[ZendeskAdapter], Awaitable[object]]] = {
    "customers_by_ids": lambda a: a.customers_by_ids(["42"]),
    "customers_by_emails": lambda a: a.customers_by_emails([CUSTOMER_EMAIL]),
    "tickets_by_ids": lambda a: a.tickets_by_ids(["7"]),
    "comments_by_ticket_ids": lambda a: a.comments_by_ticket_ids(["7"]),
    "tickets_by_requester_ids (search)": lambda a: a.tickets_by_requester_ids(["42", "43", "44"]),
    "ticket_history": lambda a: a.ticket_history([HistoryWindow("42", EDGE, 5)]),
}
EDGE = datetime(2026, 5, 1, 10, 0, 0, 250_000, tzinfo=UTC)


def assert_clean(error: UpstreamError) -> None:
    assert error.source == SOURCE
    text = str(error)
    for secret in (TOKEN, EMAIL, CUSTOMER_EMAIL, "Jane", base64.b64encode(
            f"{EMAIL}/token:{TOKEN}".encode()).decode()):
        assert secret not in text


async def test_requests_carry_zendesks_token_auth() -> None:
    fake = Fake(users_body)
    async with fake.client:
        [customer] = await fake.adapter.customers_by_ids(["42"])
    assert customer is not None and customer.id == "42"
    [request] = fake.requests
    expected = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.url.path == "/api/v2/users/show_many.json"
    assert request.url.params["ids"] == "42" and request.url.params["include"] == "identities"


@pytest.mark.parametrize("call", list(CALLS))
async def test_a_timeout_is_retried_then_reported(call: str) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    fake = Fake(timeout)
    async with fake.client:
        with pytest.raises(UpstreamTimeout) as caught:
            await CALLS[call](fake.adapter)
    assert len(fake.requests) == 3 and len(fake.sleep.delays) == 2
    assert all(0 <= d <= 1.0 for d in fake.sleep.delays)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert_clean(caught.value)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_then_unavailable(status: int) -> None:
    fake = Fake(lambda request: httpx.Response(status, text="Internal Server Error"))
    async with fake.client:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fake.adapter.tickets_by_requester_ids(["42"])
    assert len(fake.requests) == 3 and len(fake.sleep.delays) == 2
    assert caught.value.status == status
    assert_clean(caught.value)


async def test_a_connection_failure_is_unavailable() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake = Fake(refused)
    async with fake.client:
        with pytest.raises(UpstreamUnavailable) as caught:
            await fake.adapter.audits_by_ticket_ids(["7"])
    assert len(fake.requests) == 3
    assert_clean(caught.value)


async def test_a_plain_text_429_waits_retry_after_then_succeeds() -> None:
    answers = iter([
        httpx.Response(429, text="Rate limit for ticket updates exceeded",
                       headers={"Retry-After": "2", "Content-Type": "text/plain"}),
        json_response({"tickets": [TICKET], "next_page": None, "previous_page": None,
                       "count": 1}),
    ])
    fake = Fake(lambda request: next(answers))
    async with fake.client:
        [ticket] = await fake.adapter.tickets_by_ids(["7"])
    assert ticket is not None and (ticket.id, ticket.channel) == ("7", "email")
    assert fake.sleep.delays == [2.0]
    assert len(fake.requests) == 2


async def test_a_long_retry_after_is_reported_not_waited() -> None:
    fake = Fake(lambda request: httpx.Response(
        429, text="Rate limited", headers={"Retry-After": "60", "Content-Type": "text/plain"}))
    async with fake.client:
        with pytest.raises(UpstreamRateLimited) as caught:
            await fake.adapter.customers_by_emails([CUSTOMER_EMAIL])
    assert caught.value.retry_after == 60.0
    assert len(fake.requests) == 1 and fake.sleep.delays == []
    assert_clean(caught.value)


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_not_retried(status: int) -> None:
    fake = Fake(lambda request: json_response({"error": "Couldn't authenticate you"}, status))
    async with fake.client:
        with pytest.raises(UpstreamAuthError) as caught:
            await fake.adapter.customers_by_ids(["42"])
    assert len(fake.requests) == 1 and fake.sleep.delays == []
    assert caught.value.status == status
    assert_clean(caught.value)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("customers_by_ids", b"<html>Zendesk is down for maintenance</html>"),
        ("customers_by_ids", json.dumps({"users": "nope"}).encode()),
        ("customers_by_ids", json.dumps({"users": [{**USER, "id": None}]}).encode()),
        ("customers_by_ids", json.dumps([USER]).encode()),
        ("customers_by_emails", json.dumps({"results": [USER]}).encode()),
        ("tickets_by_ids", json.dumps({"tickets": [{"id": 7}]}).encode()),
        ("tickets_by_ids", json.dumps({"tickets": [{**TICKET, "created_at": "soon"}]}).encode()),
        ("tickets_by_requester_ids (search)", json.dumps({"results": [TICKET]}).encode()),
        ("tickets_by_requester_ids (search)", json.dumps(
            {"results": [{**TICKET, "requester_id": None}], "count": 1}).encode()),
        ("tickets_by_requester_ids (search)", json.dumps({"results": {}, "count": 0}).encode()),
        ("comments_by_ticket_ids", json.dumps({"comments": [], "meta": {}}).encode()),
        ("comments_by_ticket_ids", json.dumps(
            {"comments": [], "meta": {"has_more": True, "after_cursor": None}}).encode()),
    ],
)
async def test_garbage_and_wrong_shapes_are_bad_responses(call: str, body: bytes) -> None:
    fake = Fake(lambda request: httpx.Response(200, content=body))
    async with fake.client:
        with pytest.raises(UpstreamBadResponse) as caught:
            await CALLS[call](fake.adapter)
    assert len(fake.requests) == 1
    assert_clean(caught.value)


async def test_a_search_for_three_requesters_is_one_request() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return json_response({"results": [{**TICKET, "result_type": "ticket"}], "facets": None,
                              "next_page": None, "previous_page": None, "count": 1})

    fake = Fake(answer)
    async with fake.client:
        result = await fake.adapter.tickets_by_requester_ids(["42", "43", "42", "44"])
    assert [[t.id for t in found] for found in result] == [["7"], [], ["7"], []]
    [request] = fake.requests
    assert request.url.path == "/api/v2/search.json"
    assert request.url.params["query"] == "type:ticket requester:42 requester:43 requester:44"
    assert (request.url.params["sort_by"], request.url.params["sort_order"]) == (
        "created_at", "asc")


async def test_a_refused_search_is_a_bad_response() -> None:
    fake = Fake(lambda request: json_response(
        {"error": "invalid", "description": "Invalid search: Requested response size was "
         "greater than Search Response Limits"}, 422))
    async with fake.client:
        with pytest.raises(UpstreamBadResponse) as caught:
            await fake.adapter.tickets_by_requester_ids(["42", "43", "44"])
    assert caught.value.status == 422 and len(fake.requests) == 1
    assert_clean(caught.value)


async def test_an_odd_4xx_is_a_bad_response() -> None:
    fake = Fake(lambda request: json_response(
        {"error": "TooManyValues", "description": "Parameter ids cannot specify more than 100"},
        400))
    async with fake.client:
        with pytest.raises(UpstreamBadResponse) as caught:
            await fake.adapter.tickets_by_ids(["7"])
    assert caught.value.status == 400 and len(fake.requests) == 1


async def test_the_crawl_refuses_a_cursor_that_does_not_advance() -> None:
    page = {"users": [USER], "after_cursor": "MTcwNDE2NDY0NS4wfHw0Mnw=",
            "after_url": f"{URL}/api/v2/incremental/users/cursor.json?cursor=x",
            "before_cursor": None, "before_url": None, "end_of_stream": False}
    fake = Fake(lambda request: json_response(page))
    async with fake.client:
        pages: list[object] = []
        with pytest.raises(UpstreamBadResponse) as caught:
            async for found in fake.adapter.crawl_customers():
                pages.append(found)
    assert len(fake.requests) == 2 and len(pages) == 2
    first, second = fake.requests
    assert first.url.params["start_time"] == "0" and "cursor" not in first.url.params
    assert second.url.params["cursor"] == page["after_cursor"]
    assert "start_time" not in second.url.params
    assert_clean(caught.value)


async def test_a_walk_whose_parent_vanished_is_empty() -> None:
    fake = Fake(lambda request: json_response(
        {"error": "RecordNotFound", "description": "Not found"}, 404))
    async with fake.client:
        assert await fake.adapter.comments_by_ticket_ids(["7", "7"]) == [[], []]
        assert await fake.adapter.tickets_by_requester_ids(["42"]) == [[]]
    assert len(fake.requests) == 2 and fake.sleep.delays == []


async def test_a_history_window_searches_below_its_edge_then_the_tickets_changed_since() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        tickets = [{**TICKET, "id": 7 + i, "created_at": f"2026-04-0{5 - i}T10:00:00Z",
                    "updated_at": "2026-04-20T10:00:00Z"} for i in range(2)]
        return json_response({"results": tickets, "next_page": None, "count": 2})

    fake = Fake(answer)
    async with fake.client:
        [piece] = await fake.adapter.ticket_history([HistoryWindow("42", EDGE, 2)])
    window, changed = fake.requests
    assert window.url.params["query"] == "type:ticket requester:42 created<=2026-05-01T10:00:00Z"
    assert (window.url.params["sort_by"], window.url.params["sort_order"]) == ("created_at",
                                                                               "desc")
    assert changed.url.params["query"] == ("type:ticket requester:42 "
                                           "created<=2026-04-04T10:00:00Z "
                                           "updated>2026-04-04T10:00:00Z")
    assert [t.id for t in piece.records] == ["7", "8"]
    assert piece.complete_after == datetime(2026, 4, 4, 10, tzinfo=UTC)


async def test_a_first_history_window_also_reads_the_newest_tickets_which_search_lags() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("requested.json"):
            fresh = {**TICKET, "id": 99, "created_at": "2026-06-01T10:00:00Z"}
            return json_response({"tickets": [fresh], "meta": {"has_more": False}})
        return json_response({"results": [TICKET], "next_page": None, "count": 1})

    fake = Fake(answer)
    async with fake.client:
        [piece] = await fake.adapter.ticket_history([HistoryWindow("42", None, 5)])
    assert {r.url.path for r in fake.requests} == {"/api/v2/search.json",
                                                    "/api/v2/users/42/tickets/requested.json"}
    assert [t.id for t in piece.records][0] == "99" and piece.complete_after is None
