"""Freshness while serving, over the emulated silos: a record created in any silo joins its
person through the incremental crawl (no ``c360 index``), and a person read between two crawls
is re-checked live — a ticket opened a moment ago through a web form shows on the next read."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import parse_config
from gateway.runtime import Runtime
from identity.matching import MatchRules
from identity.normalize import Normalizer
from identity.schema import identity_check
from silos.loyalty.db import create_loyalty_engine, load_members
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config
from silos.zendesk import ZendeskSiloConfig
from silos.zendesk import create_app as create_zendesk_app
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.test_graph import graphql
from tests.tokens import bearer

pytestmark = pytest.mark.anyio

PERSON = """query($email: String!) { customer(email: $email) { id
  sourceRecords { kind id }
  orders(first: 50) { edges { node { source orderId number } } }
  tickets(first: 50) { edges { node { ticketId subject } } }
  loyalty { cardNumber } } }"""
USER_SEARCH = "GET /api/v2/users/search.json"


@pytest.fixture(scope="module")
def fresh_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    """A sandbox of its own: these tests create customers, users, members, orders, tickets."""
    return indexed_sandbox(SandboxOptions(customers=80, seed=57,
                                          data_dir=tmp_path_factory.mktemp("freshness")))


@pytest.fixture
def gateway_sandbox(fresh_sandbox: RunningSandbox) -> RunningSandbox:
    return fresh_sandbox


@asynccontextmanager
async def serving(sandbox: RunningSandbox, refresh_s: float = 30.0, *,
                  minutes_later: int = 0,
                  wrap: Callable[[dict[str, httpx.AsyncBaseTransport]], None] | None = None,
                  ) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The gateway app (its lifespan running: the crawl task started) and a back-office
    client. ``minutes_later``: Zendesk answers as that many minutes from now — its incremental
    export holds back the last minute of changes, as the real one does. ``wrap`` may replace
    the silos' transports."""
    data = copy.deepcopy(gateway_config(sandbox))
    data["identity"]["refresh_s"] = refresh_s
    transports = sandbox.transports()
    if minutes_later:
        later = create_zendesk_app(sandbox.data.zendesk, ZendeskSiloConfig(),
                                   clock=lambda: time.time() + 60 * minutes_later)
        transports["zendesk"] = httpx.ASGITransport(app=later)
    if wrap is not None:
        wrap(transports)
    app = create_app(parse_config(data, env={}), transports=transports)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway",
            headers=bearer(data, "backoffice")) as client:
        yield app, client


_taken: set[str] = set()
_serial = count(1)
NORMALIZER = Normalizer()


def candidates(sandbox: RunningSandbox, has: str, lacks: str) -> Iterator[dict[str, Any]]:
    """People with a ``has`` record and none in ``lacks``, with that record's clean email
    (as typed, only its case differing from the normalized form) and names; each person is
    handed out once per module."""
    data = sandbox.data
    for person in data.ground_truth:
        records = {r["kind"]: r["id"] for r in person["records"]}
        if has not in records or lacks in records or person["person"] in _taken:
            continue
        if has == "shopify":
            raw = data.shopify.customers[int(records["shopify"])]
            email, first, last = raw.get("email"), raw.get("first_name"), raw.get("last_name")
        else:
            member = next(m for m in data.loyalty_members
                          if m["card_number"] == records["loyalty"])
            email, first, last = member["email"], member["first_name"], member["last_name"]
        if not (email and first and last) or NORMALIZER.email(email) != email.strip().lower():
            continue
        if email.strip().lower() in MatchRules().junk_emails:
            continue
        _taken.add(person["person"])
        yield {"person": person["person"], "records": records, "email": email.strip(),
               "first": first, "last": last}


async def golden_of(runtime: Runtime, email: str) -> str:
    normalized = NORMALIZER.email(email)
    assert normalized is not None
    [golden] = await runtime.registry.lookup("email", normalized)
    return golden


def new_zendesk_user(sandbox: RunningSandbox, who: dict[str, Any], at: datetime,
                     ) -> tuple[str, str]:
    """A web-form ticket: Zendesk makes a new end user for the address, then the ticket."""
    data = sandbox.data
    user = data.zendesk.create_user({"user": {
        "name": f"{who['first']} {who['last']}", "email": who["email"]}}, at=at)
    subject = f"Where is my parcel? #{next(_serial)}"
    data.zendesk.create_ticket({"ticket": {
        "requester_id": user["id"], "subject": subject, "via": {"channel": "web"},
        "comment": {"body": "It has not arrived."}}}, at=at)
    return str(user["id"]), subject


def new_record(sandbox: RunningSandbox, silo: str) -> tuple[dict[str, Any], str, str]:
    """Create a record of a known person in ``silo`` (with an order, a ticket or a card);
    returns the person, the record id and what ``customer`` must then show."""
    data = sandbox.data
    now = datetime.now(UTC)
    if silo == "shopify":
        for who in candidates(sandbox, "loyalty", "shopify"):
            if data.shopify.customer_by_email(who["email"]) is None:
                break
        customer = data.shopify.create_customer({"customer": {
            "first_name": who["first"], "last_name": who["last"], "email": who["email"]}},
            at=now)
        variant = next(iter(data.shopify.variants.values()))
        order = data.shopify.create_order({"order": {
            "customer": {"id": customer["id"]}, "financial_status": "paid",
            "line_items": [{"variant_id": variant["id"], "quantity": 1}]}}, at=now)
        return who, str(customer["id"]), order["name"]
    who = next(candidates(sandbox, "shopify", silo))
    if silo == "square":
        customer = data.square.create_customer({
            "given_name": who["first"], "family_name": who["last"],
            "email_address": who["email"]}, at=now)
        order = data.square.create_order({
            "idempotency_key": f"fresh-{customer['id']}", "order": {
                "location_id": data.stores[0].square_location_id,
                "customer_id": customer["id"], "state": "COMPLETED",
                "line_items": [{"name": "Mug", "quantity": "1", "base_price_money": {
                    "amount": 1200, "currency": "USD"}}]}}, at=now)
        return who, str(customer["id"]), str(order["id"])
    if silo == "zendesk":
        user_id, subject = new_zendesk_user(sandbox, who, now)
        return who, user_id, subject
    card = f"LC-7{next(_serial):09d}"
    engine = create_loyalty_engine(sandbox.loyalty_url)
    try:
        with engine.connect() as conn:
            top = conn.execute(sa.text("SELECT max(member_id) FROM loyalty_member")).scalar()
        load_members(engine, [{
            "member_id": int(top or 0) + 1, "card_number": card, "email": who["email"],
            "phone": None, "first_name": who["first"], "last_name": who["last"],
            "tier": "BRONZE", "status": "ACTIVE", "enrolled_at": now.replace(tzinfo=None)}])
    finally:
        engine.dispose()
    return who, card, card


def shown(silo: str, customer: dict[str, Any]) -> set[str]:
    if silo in ("shopify", "square"):
        return {e["node"]["number"] if silo == "shopify" else e["node"]["orderId"]
                for e in customer["orders"]["edges"] if e["node"]["source"] == silo}
    if silo == "zendesk":
        return {e["node"]["subject"] for e in customer["tickets"]["edges"]}
    return {customer["loyalty"]["cardNumber"]} if customer["loyalty"] else set()


@pytest.mark.parametrize("silo", ["shopify", "square", "zendesk", "loyalty"])
async def test_a_new_record_joins_its_person_through_the_crawl(
        fresh_sandbox: RunningSandbox, silo: str) -> None:
    # two minutes on, Zendesk's incremental export includes the web form's new user
    async with serving(fresh_sandbox, minutes_later=2) as (app, client):
        runtime: Runtime = app.state.runtime
        who, record_id, expected = new_record(fresh_sandbox, silo)
        person = await golden_of(runtime, who["email"])
        assert await runtime.registry.golden_of([(silo, record_id)]) == [None]

        report = await app.state.crawler.tick(force=True)
        assert report[silo].status == "crawled" and report[silo].changed >= 1, report
        assert await runtime.registry.golden_of([(silo, record_id)]) == [person]

        body = await graphql(client, PERSON, email=who["email"])
        assert "errors" not in body, body["errors"]
        customer = body["data"]["customer"]
        assert customer["id"] == person
        assert {"kind": silo, "id": record_id} in customer["sourceRecords"]
        assert expected in shown(silo, customer)


async def test_a_ticket_opened_a_moment_ago_shows_on_the_next_read(
        fresh_sandbox: RunningSandbox, silos: dict[str, httpx.AsyncClient]) -> None:
    who = next(candidates(fresh_sandbox, "shopify", "zendesk"))
    async with serving(fresh_sandbox) as (app, client):
        runtime: Runtime = app.state.runtime
        person = await golden_of(runtime, who["email"])
        # known from Shopify; the web form makes a Zendesk user and the ticket just now — too
        # recent for the crawl's change feed, and nobody ran ``c360 index``
        user_id, subject = new_zendesk_user(fresh_sandbox, who, datetime.now(UTC))
        body = await graphql(client, PERSON, email=who["email"])
        assert "errors" not in body, body["errors"]
        assert body["data"]["customer"]["id"] == person
        assert subject in shown("zendesk", body["data"]["customer"])
        assert await runtime.registry.golden_of([("zendesk", user_id)]) == [person]

        # once per person per interval: the next reads search no silo again
        searched = (await silos["zendesk"].get("/_sandbox/stats")).json()["endpoints"]
        assert searched.get(USER_SEARCH, 0) >= 1
        await graphql(client, PERSON, email=who["email"])
    async with serving(fresh_sandbox) as (_, other_worker):
        await graphql(other_worker, PERSON, email=who["email"])
    again = (await silos["zendesk"].get("/_sandbox/stats")).json()["endpoints"]
    assert again.get(USER_SEARCH, 0) == searched.get(USER_SEARCH, 0)


class Held(httpx.AsyncBaseTransport):
    """A silo transport that counts requests by path and holds those matching ``hold`` until
    :attr:`release` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport, hold: str = "",
                 release: asyncio.Event | None = None) -> None:
        self.inner = inner
        self.hold = hold
        self.release = release or asyncio.Event()
        self.paths: list[str] = []
        self.queries: list[str] = []
        """Each request's path, query string and body (what a search asked for)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        await request.aread()
        self.queries.append(unquote_plus(
            f"{request.url.path}?{request.url.query.decode()} {request.content.decode()}"))
        if self.hold and self.hold in request.url.path:
            await asyncio.wait_for(self.release.wait(), 5)
        return await self.inner.handle_async_request(request)


async def test_the_recheck_runs_beside_the_reads_and_a_new_link_is_read_before_answering(
        fresh_sandbox: RunningSandbox) -> None:
    # Zendesk's user search (the re-check) answers only once Shopify has been asked for the
    # person's orders (the read): a request that waited for the re-check before reading would
    # wait out its bound, answer without the new ticket and leave the link to the next one
    who = next(candidates(fresh_sandbox, "shopify", "zendesk"))
    read_started = asyncio.Event()
    held: dict[str, Held] = {}

    def wrap(transports: dict[str, httpx.AsyncBaseTransport]) -> None:
        held["zendesk"] = Held(transports["zendesk"], "/users/search", read_started)
        held["shopify"] = Held(transports["shopify"])
        transports.update(held)

    async with serving(fresh_sandbox, wrap=wrap) as (app, client):
        runtime: Runtime = app.state.runtime
        person = await golden_of(runtime, who["email"])
        user_id, subject = new_zendesk_user(fresh_sandbox, who, datetime.now(UTC))
        shopify = held["shopify"]
        original = shopify.handle_async_request

        async def signalling(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/orders.json"):
                read_started.set()
            return await original(request)

        shopify.handle_async_request = signalling  # type: ignore[method-assign]
        body = await graphql(client, PERSON, email=who["email"])
        assert await runtime.registry.golden_of([("zendesk", user_id)]) == [person]
    assert "errors" not in body, body["errors"]
    assert body["data"]["customer"]["id"] == person
    assert subject in shown("zendesk", body["data"]["customer"])
    # read again for the new record only: Shopify's orders were not asked twice
    assert sum(p.endswith("/orders.json") for p in shopify.paths) == 1


async def test_a_recheck_that_finds_nothing_new_costs_no_second_read(
        fresh_sandbox: RunningSandbox) -> None:
    who = next(candidates(fresh_sandbox, "shopify", "zendesk"))
    held: dict[str, Held] = {}

    def wrap(transports: dict[str, httpx.AsyncBaseTransport]) -> None:
        held.update({kind: Held(transports[kind]) for kind in ("shopify", "zendesk")})
        transports.update(held)

    async with serving(fresh_sandbox, wrap=wrap) as (app, client):
        body = await graphql(client, PERSON, email=who["email"])
    assert "errors" not in body, body["errors"]
    assert any(p.endswith("/users/search.json") for p in held["zendesk"].paths)
    assert sum(p.endswith("/orders.json") for p in held["shopify"].paths) == 1


async def test_a_source_that_keeps_emails_unique_is_not_searched_for_one_it_holds(
        fresh_sandbox: RunningSandbox) -> None:
    # Shopify and Zendesk refuse a second record with a taken email: a person whose email both
    # already hold cannot have a new record there with it, so the re-check asks only the
    # others (Square allows duplicates) — no search, no parse, no round trip for nothing
    held: dict[str, Held] = {}

    def wrap(transports: dict[str, httpx.AsyncBaseTransport]) -> None:
        held.update({kind: Held(transports[kind]) for kind in ("shopify", "square", "zendesk")})
        transports.update(held)

    async with serving(fresh_sandbox, wrap=wrap) as (app, client):
        runtime: Runtime = app.state.runtime
        people = await runtime.registry.people(limit=300)
        async with runtime.registry.engine.connect() as conn:
            recent = set((await conn.execute(sa.select(identity_check.c.golden_id).where(
                identity_check.c.checked_at >= datetime.now(UTC) - timedelta(minutes=5)))
                ).scalars())
        known = await runtime.registry.identifiers_of([p for p in people if p not in recent])
        person, email = next(
            (gid, value) for gid, keys in known.items() for kind, value, _ in keys
            if kind == "email" and {"shopify", "zendesk"} <= {
                source for k, v, source in keys if (k, v) == (kind, value)}
            and value not in MatchRules().junk_emails)
        searched = {kind: len(held[kind].queries) for kind in held}
        body = await graphql(
            client, f'{{ customer(id: "{person}") {{ id displayName {{ value }} }} }}')
        assert body["data"]["customer"]["id"] == person
        asked = {kind: held[kind].queries[searched[kind]:] for kind in held}
    assert any(email in q for q in asked["square"]), (email, asked)
    assert not any(email in q for q in asked["shopify"] + asked["zendesk"]), asked


async def test_a_failing_silo_never_fails_the_recheck_nor_the_read(
        fresh_sandbox: RunningSandbox, silos: dict[str, httpx.AsyncClient]) -> None:
    who = next(candidates(fresh_sandbox, "shopify", "zendesk"))
    await silos["square"].post("/_sandbox/faults", json={"down": True})
    async with serving(fresh_sandbox) as (app, client):
        _, subject = new_zendesk_user(fresh_sandbox, who, datetime.now(UTC))
        body = await graphql(client, PERSON, email=who["email"])
    customer = body["data"]["customer"]
    assert customer is not None and subject in shown("zendesk", customer)
    assert {e["extensions"]["source"] for e in body.get("errors", [])} <= {"square"}


async def test_a_page_of_people_is_left_to_the_crawl_and_a_few_are_rechecked(
        fresh_sandbox: RunningSandbox) -> None:
    async with serving(fresh_sandbox) as (app, client):
        runtime: Runtime = app.state.runtime
        people = await runtime.registry.people(limit=50)

        async def checked(since: datetime) -> set[str]:
            async with runtime.registry.engine.connect() as conn:
                return set((await conn.execute(sa.select(identity_check.c.golden_id).where(
                    identity_check.c.golden_id.in_(people),
                    identity_check.c.checked_at >= since))).scalars())

        started = datetime.now(UTC)
        stale = set(people) - await checked(started - timedelta(seconds=30))
        body = await graphql(client, "{ customers(first: 50) { edges { node { id "
                                     "displayName { value } } } } }")
        assert len(body["data"]["customers"]["edges"]) == 50
        assert len(stale) > 3
        assert await checked(started) == set()  # a list: nobody in particular re-checked
        few = sorted(stale)[:3]
        query = "{ " + " ".join(f'p{i}: customer(id: "{gid}") {{ displayName {{ value }} }}'
                                for i, gid in enumerate(few)) + " }"
        assert "errors" not in await graphql(client, query)
        assert await checked(started) == set(few)


async def test_the_background_crawl_links_new_records_while_serving(
        fresh_sandbox: RunningSandbox) -> None:
    who = next(candidates(fresh_sandbox, "shopify", "zendesk"))
    async with serving(fresh_sandbox, refresh_s=0.05, minutes_later=2) as (app, _):
        runtime: Runtime = app.state.runtime
        person = await golden_of(runtime, who["email"])
        user_id, _ = new_zendesk_user(fresh_sandbox, who, datetime.now(UTC))
        linked: list[str | None] = [None]
        for _ in range(500):  # no request is made: only the crawl task can link it
            linked = await runtime.registry.golden_of([("zendesk", user_id)])
            if linked[0] is not None:
                break
            await asyncio.sleep(0.02)
        assert linked == [person]
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "identity-crawl"]


async def test_refresh_0_turns_the_crawl_and_the_recheck_off(
        fresh_sandbox: RunningSandbox) -> None:
    async with serving(fresh_sandbox, refresh_s=0) as (app, _):
        assert app.state.crawler is None and app.state.runtime.rechecker is None
