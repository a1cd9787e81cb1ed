"""The Zendesk adapter against the emulated Zendesk silo, in process, over generated data."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from adapters.models import Ticket
from adapters.protocols import CustomerSource, TicketSource
from adapters.zendesk import ZendeskAdapter, ZendeskConfig
from adapters.zendesk import requests as calls
from silos.generator import Sandbox, generate
from silos.zendesk import ZendeskSiloConfig, create_app
from silos.zendesk.store import ZendeskStore

pytestmark = pytest.mark.anyio

URL = "https://c360-sandbox.zendesk.com"
SILO = ZendeskSiloConfig()


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return generate(customers=300, seed=23)


class InFlight(httpx.AsyncBaseTransport):
    """Passes requests to the silo and records the most ever in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(0.001)
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1


class Harness:
    def __init__(self, sandbox: Sandbox, **config: Any) -> None:
        self.data = sandbox
        self.store: ZendeskStore = sandbox.zendesk
        self.transport = InFlight(httpx.ASGITransport(app=create_app(self.store, SILO)))
        self.client = httpx.AsyncClient(transport=self.transport, base_url=URL)
        options: dict[str, Any] = {
            "order_number_field_id": sandbox.order_number_field_id,
            "references": {"external_id": "shopify"},
            **config,
        }
        self.adapter = ZendeskAdapter(
            ZendeskConfig(URL, SILO.email, SILO.api_token, **options), self.client
        )

    async def stats(self) -> dict[str, int]:
        body = (await self.client.get("/_sandbox/stats")).json()
        return dict(body["endpoints"])

    async def reset(self) -> None:
        await self.client.post("/_sandbox/reset")

    def user_ids(self) -> list[str]:
        """The Zendesk users of the generated people (all end users), from the ground truth."""
        return [r["id"] for p in self.data.ground_truth for r in p["records"]
                if r["kind"] == "zendesk"]

    def user(self, user_id: str) -> dict[str, Any]:
        user = self.store.get_user(int(user_id))
        assert user is not None
        return user

    def exported_ids(self) -> list[str]:
        """The users the incremental export shows now: Zendesk leaves out changes of the last
        minute, and the generator dates a few users after today (see the report)."""
        settled = time.time() - 60
        return [uid for uid in self.user_ids()
                if stamp(self.user(uid)["updated_at"]).timestamp() <= settled]

    def tickets_of(self, user_id: str) -> list[dict[str, Any]]:
        return list(self.store.requested_tickets(int(user_id)))


@pytest.fixture
async def zd(sandbox: Sandbox) -> AsyncIterator[Harness]:
    harness = Harness(sandbox)
    async with harness.client:
        yield harness


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_it_is_a_customer_and_ticket_source(zd: Harness) -> None:
    assert isinstance(zd.adapter, CustomerSource) and isinstance(zd.adapter, TicketSource)
    assert (zd.adapter.source, zd.adapter.kind) == ("zendesk", "zendesk")


async def test_customers_by_ids_are_aligned_and_split_at_100(zd: Harness) -> None:
    known = zd.user_ids()
    assert len(known) > 60
    unknown = [str(10**12 + i) for i in range(250 - len(known))]
    keys = [*known, *unknown]
    assert len(keys) == 250
    result = await zd.adapter.customers_by_ids(keys)
    assert [c.id if c else None for c in result] == [*known, *[None] * len(unknown)]
    assert await zd.stats() == {"GET /api/v2/users/show_many.json": 3}
    for customer in result[: len(known)]:
        assert customer is not None
        user = zd.user(customer.id)
        words = user["name"].split()
        assert customer.first_name == (" ".join(words[:-1]) if len(words) > 1 else words[0])
        assert customer.last_name == (words[-1] if len(words) > 1 else None)
        assert customer.emails == ((user["email"],) if user["email"] else ())
        assert customer.phones == ((user["phone"],) if user["phone"] else ())
        assert customer.created_at == stamp(user["created_at"])
        assert customer.references == (
            (("shopify", user["external_id"]),) if user["external_id"] else ())


async def test_references_point_at_the_same_persons_shopify_customer(zd: Harness) -> None:
    people = [{r["kind"]: r["id"] for r in p["records"]} for p in zd.data.ground_truth]
    linked = [p for p in people if "zendesk" in p]
    result = await zd.adapter.customers_by_ids([p["zendesk"] for p in linked])
    referenced = 0
    for person, customer in zip(linked, result, strict=True):
        assert customer is not None
        for source, value in customer.references:
            assert (source, value) == ("shopify", person["shopify"])
            referenced += 1
    assert referenced > 0


async def test_duplicates_unknowns_and_staff_by_id(zd: Harness) -> None:
    first, second = zd.user_ids()[:2]
    agent = str(zd.store.agent_id)
    result = await zd.adapter.customers_by_ids(
        [first, "not-a-number", second, "999999999", first, agent, f" {second} "])
    assert [c.id if c else None for c in result] == [
        first, None, second, None, first, None, second]
    assert await zd.stats() == {"GET /api/v2/users/show_many.json": 1}
    assert await zd.adapter.customers_by_ids([]) == []


async def test_customers_by_emails_finds_each_address_exactly(zd: Harness) -> None:
    with_email = [uid for uid in zd.user_ids() if zd.user(uid)["email"]][:12]
    emails = [zd.user(uid)["email"] for uid in with_email]
    agent_email = SILO.email
    keys = [*emails, emails[0].upper(), "nobody@nowhere.example", agent_email, "not an email"]
    result = await zd.adapter.customers_by_emails(keys)
    assert [[c.id for c in found] for found in result[: len(emails)]] == [
        [uid] for uid in with_email]
    assert [c.id for c in result[len(emails)]] == [with_email[0]]
    assert result[-3:] == [[], [], []]
    stats = await zd.stats()
    assert stats["GET /api/v2/users/search.json"] == len(keys) - 1
    assert stats["GET /api/v2/users/show_many.json"] == 1


async def test_customers_by_phones_finds_any_format(zd: Harness) -> None:
    with_phone = [uid for uid in zd.user_ids() if zd.user(uid)["phone"]][:8]
    assert with_phone
    phones = [zd.user(uid)["phone"] for uid in with_phone]
    digits = calls.phone_digits(phones[0])
    reformatted = f"({digits[-10:-7]}) {digits[-7:-4]}-{digits[-4:]}"
    result = await zd.adapter.customers_by_phones([*phones, reformatted, "12", "+1 999 000 0000"])
    for uid, phone, found in zip(with_phone, phones, result, strict=False):
        assert uid in {c.id for c in found}
        key = calls.phone_digits(phone)[-10:]
        assert all(any(calls.phone_digits(p).endswith(key) for p in c.phones) for c in found)
    assert with_phone[0] in {c.id for c in result[len(phones)]}
    assert result[-2:] == [[], []]
    assert (await zd.stats())["GET /api/v2/users/search.json"] == len(set(
        calls.phone_key(p) for p in [*phones, reformatted, "+1 999 000 0000"]))


async def test_the_crawl_returns_every_end_user_once(
    zd: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "EXPORT_PER_PAGE", 25)
    pages = [page async for page in zd.adapter.crawl_customers()]
    seen = [c.id for page in pages for c in page]
    assert sorted(seen) == sorted(zd.exported_ids())
    assert str(zd.store.agent_id) not in seen
    assert all(0 < len(page) <= 25 for page in pages)
    everyone = len(zd.exported_ids()) + 1
    assert await zd.stats() == {
        "GET /api/v2/incremental/users/cursor.json": math.ceil(everyone / 25)}
    updated = [c.updated_at.timestamp() for page in pages for c in page if c.updated_at]
    assert len(updated) == len(seen) and updated == sorted(updated)


async def test_the_crawl_since_a_time_reads_later_changes_only(zd: Harness) -> None:
    changes = sorted(stamp(zd.user(uid)["updated_at"]) for uid in zd.user_ids())
    since = changes[len(changes) // 2]
    seen = [c async for page in zd.adapter.crawl_customers(since) for c in page]
    assert sorted(c.id for c in seen) == sorted(
        uid for uid in zd.exported_ids() if stamp(zd.user(uid)["updated_at"]) >= since)
    assert all(c.updated_at is not None and c.updated_at >= since for c in seen)


def assert_tickets_as_in_the_silo(
    zd: Harness, requesters: list[str], result: list[list[Ticket]]
) -> None:
    """Each requester's tickets are exactly the silo's, newest first, fully parsed."""
    field = str(zd.data.order_number_field_id)
    for uid, tickets in zip(requesters, result, strict=False):
        raw = {str(t["id"]): t for t in zd.tickets_of(uid)}
        assert [t.id for t in tickets] == [str(t["id"]) for t in sorted(
            raw.values(), key=lambda t: (t["created_at"], t["id"]), reverse=True)]
        for ticket in tickets:
            source = raw[ticket.id]
            assert ticket.requester_id == uid
            assert (ticket.subject, ticket.status, ticket.priority) == (
                source["subject"], source["status"], source["priority"])
            assert ticket.channel == source["via"]["channel"]
            assert ticket.created_at == stamp(source["created_at"])
            assert ticket.tags == tuple(source["tags"])
            values = [f["value"] for f in source["custom_fields"] if str(f["id"]) == field]
            assert ticket.order_reference == (values[0] if values else None)
    assert any(t.order_reference for tickets in result for t in tickets)


async def test_below_the_threshold_each_requester_is_walked_to_the_end(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "PAGE_SIZE", 1)
    zd = Harness(sandbox, search_batch_min=10**6)
    requesters = zd.user_ids()[:40]
    keys = [*requesters, requesters[0], "999999999", "nope"]
    async with zd.client:
        result = await zd.adapter.tickets_by_requester_ids(keys)
        stats = await zd.stats()
    assert len(result) == len(keys) and result[-2:] == [[], []]
    assert [t.id for t in result[0]] == [t.id for t in result[len(requesters)]]
    assert_tickets_as_in_the_silo(zd, requesters, result)
    pages = sum(max(1, len(zd.tickets_of(uid))) for uid in requesters)
    assert stats == {"GET /api/v2/users/{user_id}/tickets/requested.json": pages + 1}


async def test_50_requesters_cost_one_search_not_50_walks(sandbox: Sandbox) -> None:
    requesters = Harness(sandbox).user_ids()[:50]
    walked = Harness(sandbox, search_batch_min=10**6)
    searched = Harness(sandbox)
    async with walked.client, searched.client:
        before = await walked.adapter.tickets_by_requester_ids(requesters)
        after = await searched.adapter.tickets_by_requester_ids(requesters)
        assert await walked.stats() == {
            "GET /api/v2/users/{user_id}/tickets/requested.json": 50}
        assert await searched.stats() == {"GET /api/v2/search.json": 1}
    assert [[t.id for t in found] for found in after] == [[t.id for t in found]
                                                          for found in before]
    assert_tickets_as_in_the_silo(searched, requesters, after)


async def test_many_requesters_are_searched_50_a_query_every_page_read(
    zd: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "SEARCH_PER_PAGE", 3)
    requesters = zd.user_ids()[:90]
    assert len(requesters) == 90
    keys = [*requesters, requesters[7], "0", "999999999"]
    result = await zd.adapter.tickets_by_requester_ids(keys)
    assert len(result) == len(keys) and result[-2:] == [[], []]
    assert [t.id for t in result[len(requesters)]] == [t.id for t in result[7]]
    assert_tickets_as_in_the_silo(zd, requesters, result)
    groups = [requesters[:50], requesters[50:]]
    counts = [sum(len(zd.tickets_of(uid)) for uid in group) for group in groups]
    assert all(count > 3 for count in counts)
    pages = sum(math.ceil(count / 3) for count in counts)
    assert await zd.stats() == {"GET /api/v2/search.json": pages}


@pytest.mark.parametrize(
    ("batch_min", "distinct", "endpoint", "requests"),
    [
        (3, 2, "GET /api/v2/users/{user_id}/tickets/requested.json", 2),
        (3, 3, "GET /api/v2/search.json", 1),
        (1, 1, "GET /api/v2/search.json", 1),
        (10, 9, "GET /api/v2/users/{user_id}/tickets/requested.json", 9),
    ],
)
async def test_the_threshold_counts_distinct_requesters(
    sandbox: Sandbox, batch_min: int, distinct: int, endpoint: str, requests: int
) -> None:
    zd = Harness(sandbox, search_batch_min=batch_min)
    requesters = zd.user_ids()[:distinct]
    keys = [*requesters, requesters[0], "not-an-id"]
    async with zd.client:
        result = await zd.adapter.tickets_by_requester_ids(keys)
        assert await zd.stats() == {endpoint: requests}
    assert result[-1] == [] and result[-2] == result[0]
    assert [{t.id for t in found} for found in result[:distinct]] == [
        {str(t["id"]) for t in zd.tickets_of(uid)} for uid in requesters]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def small_account(clock: Clock, tickets: list[int]) -> tuple[ZendeskStore, list[str]]:
    """An account whose ``i``-th end user requested ``tickets[i]`` tickets, a day apart."""
    store = ZendeskStore(seed=3, clock=clock)
    users: list[str] = []
    for i, count in enumerate(tickets):
        user = store.create_user({"user": {"name": f"Caller {i}", "email": f"c{i}@ex.org"}})
        users.append(str(user["id"]))
        for day in range(count):
            store.create_ticket(
                {"ticket": {"requester_id": user["id"], "subject": f"Issue {day}",
                            "comment": {"body": "Help"}}},
                at=datetime(2024, 3, 1 + day, 9, i, tzinfo=UTC))
    return store, users


def adapter_for(app: ASGIApp, **options: Any) -> tuple[httpx.AsyncClient, ZendeskAdapter]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=URL)
    config = ZendeskConfig(URL, SILO.email, SILO.api_token, **options)
    return client, ZendeskAdapter(config, client)


async def stats_of(client: httpx.AsyncClient) -> dict[str, int]:
    return dict((await client.get("/_sandbox/stats")).json()["endpoints"])


async def test_a_ticket_opened_a_second_ago_is_seen_below_the_threshold_only() -> None:
    clock = Clock(1_750_000_000.0)
    store, users = small_account(clock, [1, 2, 1])
    silo = ZendeskSiloConfig(search_index_delay_s=60)
    client, adapter = adapter_for(create_app(store, silo, clock=clock))
    async with client:
        clock.now += 61
        fresh = store.create_ticket({"ticket": {
            "requester_id": int(users[0]), "subject": "Calling now", "comment": {"body": "!"}}})
        clock.now += 1
        [caller] = await adapter.tickets_by_requester_ids([users[0]])
        batch = await adapter.tickets_by_requester_ids(users)
        assert await stats_of(client) == {
            "GET /api/v2/users/{user_id}/tickets/requested.json": 1,
            "GET /api/v2/search.json": 1,
        }
        assert str(fresh["id"]) in {t.id for t in caller} and len(caller) == 2
        assert str(fresh["id"]) not in {t.id for t in batch[0]} and len(batch[0]) == 1
        assert [len(found) for found in batch[1:]] == [2, 1]
        clock.now += 60
        later = await adapter.tickets_by_requester_ids(users)
    assert [t.id for t in later[0]] == [t.id for t in caller]
    assert caller[0].id == str(fresh["id"])


async def test_queries_over_the_1000_result_cap_are_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(calls, "SEARCH_MAX_RESULTS", 4)
    monkeypatch.setattr(calls, "SEARCH_PER_PAGE", 2)
    clock = Clock(1_750_000_000.0)
    store, users = small_account(clock, [6, 1, 2, 0, 3, 1])
    client, adapter = adapter_for(create_app(store, ZendeskSiloConfig(search_max_results=4),
                                             clock=clock))
    async with client:
        result = await adapter.tickets_by_requester_ids(users)
        stats = await stats_of(client)
    assert [len(found) for found in result] == [6, 1, 2, 0, 3, 1]
    for user, found in zip(users, result, strict=True):
        assert [t.id for t in found] == [str(t["id"]) for t in reversed(
            store.requested_tickets(int(user)))]
    # all six (13 > 4): split into three (9 > 4) and three (4: two pages); the first three
    # into one (6 > 4: read from its own uncapped endpoint) and two (3: two pages)
    assert stats == {"GET /api/v2/search.json": 1 + 1 + 2 + 1 + 2,
                     "GET /api/v2/users/{user_id}/tickets/requested.json": 1}


class CreatesDuringTheWalk(httpx.AsyncBaseTransport):
    """Creates a ticket right after answering the first page of a search."""

    def __init__(self, app: ASGIApp, create: Callable[[], object]) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.create = create
        self.created = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == "/api/v2/search.json" and not self.created:
            self.created = True
            self.create()
        return response


async def test_next_page_is_followed_past_the_pages_the_count_announced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(calls, "SEARCH_PER_PAGE", 2)
    clock = Clock(1_750_000_000.0)
    store, users = small_account(clock, [2, 1, 1])

    def open_one() -> object:
        return store.create_ticket({"ticket": {
            "requester_id": int(users[2]), "subject": "Another", "comment": {"body": "?"}}})

    transport = CreatesDuringTheWalk(create_app(store, SILO, clock=clock), open_one)
    async with httpx.AsyncClient(transport=transport, base_url=URL) as client:
        adapter = ZendeskAdapter(ZendeskConfig(URL, SILO.email, SILO.api_token), client)
        result = await adapter.tickets_by_requester_ids(users)
        assert await stats_of(client) == {"GET /api/v2/search.json": 3}
    assert [len(found) for found in result] == [2, 1, 2]
    assert result[2][0].subject == "Another"


async def test_tickets_by_ids_split_at_100(zd: Harness) -> None:
    ids = [str(i) for i in range(1, zd.store.ticket_count + 1)]
    assert len(ids) > 100
    keys = [*ids, ids[0], "0", "9999999", "x"]
    result = await zd.adapter.tickets_by_ids(keys)
    assert [t.id if t else None for t in result] == [*ids, ids[0], None, None, None]
    assert await zd.stats() == {
        "GET /api/v2/tickets/show_many.json": math.ceil((len(ids) + 1) / 100)}


async def test_comments_and_audits_are_walked_to_the_end(
    zd: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "PAGE_SIZE", 2)
    ids = [str(i) for i in range(1, 31)]
    keys = [*ids, "99999"]
    comments = await zd.adapter.comments_by_ticket_ids(keys)
    audits = await zd.adapter.audits_by_ticket_ids(keys)
    assert comments[-1] == [] and audits[-1] == []
    pages = 0
    for ticket_id, found_comments, found_audits in zip(ids, comments, audits, strict=False):
        raw_comments = zd.store.ticket_comments(int(ticket_id))
        raw_audits = zd.store.ticket_audits(int(ticket_id))
        pages += max(1, math.ceil(len(raw_comments) / 2))
        assert [(c.id, c.body, c.public, c.author_id) for c in found_comments] == [
            (str(c["id"]), c["body"], c["public"], str(c["author_id"])) for c in raw_comments]
        assert all(c.ticket_id == ticket_id for c in found_comments)
        assert [a.id for a in found_audits] == [str(a["id"]) for a in raw_audits]
        assert [len(a.events) for a in found_audits] == [len(a["events"]) for a in raw_audits]
        changes = [(e.field_name, e.value, e.previous_value) for a in found_audits
                   for e in a.events if e.type == "Change"]
        assert changes == [(e["field_name"], e["value"], e["previous_value"])
                           for a in raw_audits for e in a["events"] if e["type"] == "Change"]
    stats = await zd.stats()
    assert stats["GET /api/v2/tickets/{ticket_id}/comments.json"] == pages + 1


async def test_requests_run_concurrently_within_the_bound(sandbox: Sandbox) -> None:
    harness = Harness(sandbox, max_concurrency=3, search_batch_min=10**6)
    async with harness.client:
        await harness.adapter.tickets_by_requester_ids(harness.user_ids()[:30])
    assert harness.transport.most == 3
