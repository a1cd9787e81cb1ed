"""``Customer.timeline``: one time-ordered history across silos, paged in windows, with cursors
that stay true while new events arrive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.models import Channel, FulfillmentType
from gateway.config import parse_config
from gateway.runtime import Runtime, open_runtime
from resolvers import history
from silos.loyalty.db import create_loyalty_engine, load_points
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.test_graph import graphql, people_with

pytestmark = pytest.mark.anyio

PAGE = """query($card: String!, $first: Int, $after: String, $kinds: [TimelineEventKind!],
    $channels: [InteractionChannel!], $since: DateTime, $until: DateTime) {
  customer(loyaltyCard: $card) { id timeline(first: $first, after: $after, kinds: $kinds,
      channels: $channels, since: $since, until: $until) {
    edges { cursor node { occurredAt kind channel source system summary
      subject { __typename ... on Order { orderId number } ... on Ticket { ticketId }
                ... on LedgerEntry { points reason } ... on Cart { cartId } } } }
    pageInfo { hasNextPage endCursor } } } }"""

Seen = tuple[datetime, str, str, str]


@pytest.fixture(scope="module")
def timeline_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    """A sandbox of its own: these tests write new orders, tickets and points."""
    return indexed_sandbox(SandboxOptions(customers=120, seed=8,
                                          data_dir=tmp_path_factory.mktemp("timeline")))


@pytest.fixture
def gateway_sandbox(timeline_sandbox: RunningSandbox) -> RunningSandbox:
    return timeline_sandbox


def seen(node: dict[str, Any]) -> Seen:
    return (datetime.fromisoformat(node["occurredAt"]), node["kind"], node["channel"],
            node["summary"])


async def walk(client: httpx.AsyncClient, card: str, first: int,
               between: Callable[[int], Any] | None = None,
               **filters: Any) -> list[list[dict[str, Any]]]:
    """Every page, following ``endCursor``; ``between(n)`` runs after page n."""
    pages: list[list[dict[str, Any]]] = []
    after = None
    while True:
        body = await graphql(client, PAGE, card=card, first=first, after=after, **filters)
        assert "errors" not in body, body
        connection = body["data"]["customer"]["timeline"]
        pages.append([edge["node"] for edge in connection["edges"]])
        if between is not None:
            await between(len(pages))
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]
        assert after and len(pages) < 2000


async def expected(runtime: Runtime, records: dict[str, str]) -> list[Seen]:
    """The person's events computed from full reads of every silo (no windows), newest first."""
    adapters = runtime.adapters
    index = {}
    for name in ("shopify", "square"):
        for loc in await adapters[name].locations():  # type: ignore[union-attr]
            index[(name, loc.id)] = loc.name
    store_names = {}
    for store in runtime.config.stores:
        for ref in store.locations.items():
            store_names[ref] = store.name
    events: list[history.Event] = []
    for name in ("shopify", "square"):
        if name in records:
            [orders] = await adapters[name].orders_by_customer_ids(  # type: ignore[union-attr]
                [records[name]])
            events += [e for o in orders for e in history.order_events(o, store_names)]
    if "zendesk" in records:
        zendesk = adapters["zendesk"]
        [tickets] = await zendesk.tickets_by_requester_ids(  # type: ignore[union-attr]
            [records["zendesk"]])
        audits = await zendesk.audits_by_ticket_ids(  # type: ignore[union-attr]
            [t.id for t in tickets])
        events += [e for t, a in zip(tickets, audits, strict=True)
                   for e in history.ticket_events(t, a)]
    if "loyalty" in records:
        loyalty = adapters["loyalty"]
        [account] = await loyalty.accounts_by_cards([records["loyalty"]])  # type: ignore[union-attr]
        assert account is not None
        [ledger] = await loyalty.ledger_by_member_ids([account.member_id])  # type: ignore[union-attr]
        events += [e for entry in ledger for e in history.ledger_events(entry, "loyalty",
                                                                         "loyalty")]
    if "shopify" in records and hasattr(adapters["shopify"], "carts_by_customer_ids"):
        [carts] = await adapters["shopify"].carts_by_customer_ids(  # type: ignore[union-attr]
            [records["shopify"]])
        events += [e for c in carts for e in history.cart_events(c)]
    events.sort(key=lambda e: e.position, reverse=True)
    return [(e.occurred_at, e.kind.value, e.channel.value, e.summary) for e in events]


def busiest(sandbox: RunningSandbox) -> dict[str, str]:
    data = sandbox.data
    return max(people_with(sandbox, "shopify", "square", "zendesk", "loyalty"),
               key=lambda r: len(data.shopify.order_ids_for_customer(int(r["shopify"])))
               + len(data.zendesk.requested_tickets(int(r["zendesk"]))))


async def test_pages_join_into_the_whole_history_the_silos_hold_in_order(
        timeline_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = busiest(timeline_sandbox)
    config = parse_config(gateway_config(timeline_sandbox), env={})
    async with open_runtime(config, transports=timeline_sandbox.transports()) as runtime:
        truth = await expected(runtime, person)
    assert {k for _, k, _, _ in truth} >= {"ORDER_PLACED", "TICKET_OPENED", "POINTS_EARNED"}
    async with gateway() as client:
        for first in (100, 7, 1):
            pages = await walk(client, person["loyalty"], first)
            assert [seen(e) for page in pages for e in page] == truth
            assert all(len(page) == first for page in pages[:-1])


async def test_every_order_ticket_and_ledger_entry_is_an_event(
        timeline_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = timeline_sandbox.data
    person = busiest(timeline_sandbox)
    async with gateway() as client:
        events = [e for page in await walk(client, person["loyalty"], 50) for e in page]
    placed = {e["subject"]["orderId"] for e in events if e["kind"] == "ORDER_PLACED"}
    assert {str(i) for i in data.shopify.order_ids_for_customer(int(person["shopify"]))} <= placed
    opened = {e["subject"]["ticketId"] for e in events if e["kind"] == "TICKET_OPENED"}
    assert opened == {str(t["id"]) for t in data.zendesk.requested_tickets(
        int(person["zendesk"]))}
    member = next(m for m in data.loyalty_members if m["card_number"] == person["loyalty"])
    entries = [p for p in data.loyalty_points if p["member_id"] == member["member_id"]]
    assert sum(1 for e in events if e["kind"].startswith("POINTS_")) == len(entries)
    assert {e["system"] for e in events} >= {"shopify", "square", "zendesk", "loyalty"}


async def test_filters_narrow_by_kind_channel_and_time(
        timeline_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = busiest(timeline_sandbox)
    async with gateway() as client:
        everything = [seen(e) for page in await walk(client, person["loyalty"], 100)
                      for e in page]
        tickets = [seen(e) for page in await walk(
            client, person["loyalty"], 2, kinds=["TICKET_OPENED", "TICKET_COMMENTED"])
            for e in page]
        assert tickets == [e for e in everything if e[1] in ("TICKET_OPENED",
                                                             "TICKET_COMMENTED")]
        store = [seen(e) for page in await walk(client, person["loyalty"], 3,
                                                channels=["STORE"]) for e in page]
        assert store == [e for e in everything if e[2] == "STORE"] and store
        middle = everything[len(everything) // 2][0]
        since = middle - timedelta(days=60)
        window = [seen(e) for page in await walk(
            client, person["loyalty"], 4, since=since.isoformat(), until=middle.isoformat())
            for e in page]
        assert window == [e for e in everything if since <= e[0] <= middle]


async def test_cursors_neither_repeat_nor_skip_while_new_events_arrive(
        timeline_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = timeline_sandbox.data
    person = busiest(timeline_sandbox)
    async with gateway() as client:
        before = [seen(e) for page in await walk(client, person["loyalty"], 100)
                  for e in page]
        engine = create_loyalty_engine(timeline_sandbox.loyalty_url)
        member = next(m for m in data.loyalty_members if m["card_number"] == person["loyalty"])
        written: list[str] = []

        async def write(page: int) -> None:
            now = datetime.now(UTC)
            variant = next(iter(data.shopify.variants.values()))
            order = data.shopify.create_order({"order": {
                "customer": {"id": int(person["shopify"])}, "financial_status": "paid",
                "line_items": [{"variant_id": variant["id"], "quantity": 1}]}}, at=now)
            ticket = data.zendesk.create_ticket({"ticket": {
                "requester_id": int(person["zendesk"]), "subject": f"Question {page}",
                "comment": {"body": "Hello"}}}, at=now)
            load_points(engine, [{"entry_id": 10_000_000 + page, "member_id":
                                  member["member_id"], "occurred_at": now.replace(tzinfo=None),
                                  "points": 5, "reason": "ADJUSTMENT", "channel": "PHONE",
                                  "order_ref": None}])
            written.extend([order["name"], str(ticket["id"])])

        pages = await walk(client, person["loyalty"], 3, between=write)
        engine.dispose()
        assert [seen(e) for page in pages for e in page] == before
        assert len(written) == 2 * len(pages)
        fresh = [seen(e) for e in (await walk(client, person["loyalty"], 100))[0]]
        assert len(fresh) >= len(before) + 3 * len(pages) or len(fresh) == 100
        assert fresh[0][0] > before[0][0]


async def test_a_bad_cursor_is_a_typed_error(timeline_sandbox: RunningSandbox,
                                             gateway: Callable[..., Any]) -> None:
    person = busiest(timeline_sandbox)
    async with gateway() as client:
        body = await graphql(client, PAGE, card=person["loyalty"], first=5, after="garbage")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["data"]["customer"]["timeline"] is None


async def test_a_silo_down_leaves_the_others_events_and_names_the_source(
        timeline_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    person = busiest(timeline_sandbox)
    await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
    async with gateway() as client:
        body = await graphql(client, PAGE, card=person["loyalty"], first=20)
    events = body["data"]["customer"]["timeline"]["edges"]
    assert events and all(e["node"]["system"] != "zendesk" for e in events)
    assert {e["extensions"]["source"] for e in body["errors"]} == {"zendesk"}


def test_order_events_follow_the_order_through_pickup_and_refund() -> None:
    at = datetime(2026, 5, 1, 10, tzinfo=UTC)
    from adapters import models
    usd = models.Money.from_decimal_string("10.00", "USD")
    order = models.Order(
        "shopify", "shopify", "1", "#1001", Channel.WEB, "7", at, at + timedelta(days=9),
        "OPEN", usd, (), fulfillments=(models.Fulfillment(
            FulfillmentType.PICKUP, "COMPLETED", "88", at + timedelta(days=1)),),
        returns=(models.OrderReturn("shopify", "shopify", "r1", at + timedelta(days=9), (),
                                    usd, "77"),))
    events = history.order_events(order, {("shopify", "88"): "SoHo",
                                          ("shopify", "77"): "Brooklyn"})
    assert [(e.kind, e.channel) for e in events] == [
        (history.EventKind.ORDER_PLACED, history.EventChannel.WEB),
        (history.EventKind.PICKUP_COLLECTED, history.EventChannel.STORE),
        (history.EventKind.REFUNDED, history.EventChannel.STORE)]
    assert "SoHo" in events[1].summary and "Brooklyn" in events[2].summary
    assert len({e.key for e in events}) == 3
