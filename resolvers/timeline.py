"""One person's history across silos, newest first, paged without loading it whole.

Each of the person's records in a history source (a Shopify customer's orders, a Square
customer's sales, a Zendesk requester's tickets, a loyalty card's ledger) is a *stream*. A page
asks every stream for a window below the page's position (:class:`~adapters.models.
HistoryWindow`): its ``limit`` newest records, plus the older ones changed since. A stream's
answer is complete for every event after its ``complete_after`` edge, so the merge keeps the
events after the highest edge of all streams — exactly the person's events in that interval,
in order — and stops there. When filters leave the page short, it goes on below that edge, a
bounded number of rounds, and may return a short page with ``hasNextPage`` and a cursor at the
edge. Upstream requests per page are therefore bounded by the number of streams, whatever the
page number.

A cursor is the position ``(occurred_at, key)`` of the last event given (or an edge): the next
page is what lies strictly below it. Events that happen later sort above it, so new events
never shift, repeat or hide the events of the pages after it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError
from strawberry.types import Info

from adapters import models
from adapters.protocols import (
    CartSource,
    LedgerHistorySource,
    OrderHistorySource,
    TicketHistorySource,
)
from resolvers import history, stores
from resolvers.context import Context
from resolvers.history import Event, EventChannel, EventKind, Family
from resolvers.people import linked_records
from resolvers.sources import gather_sources

MAX_PAGE = 100
MAX_ROUNDS = 3
"""Windows read below the first one when filters leave a page short."""
TOP = "\U0010ffff"
"""A key above every event key: the position ``(t, TOP)`` is just above everything at ``t``."""
_PREFIX = "t1:"


@dataclass(frozen=True, slots=True)
class Position:
    at: datetime
    key: str

    def above(self, event: Event) -> bool:
        return event.position < (self.at, self.key)


def encode(position: Position) -> str:
    raw = f"{_PREFIX}{position.at.astimezone(UTC).isoformat()}|{position.key}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError(cursor)
        moment, _, key = raw[len(_PREFIX):].partition("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not key:
            raise ValueError(cursor)
        return Position(at, key)
    except ValueError:
        raise GraphQLError("invalid cursor", extensions={"code": "BAD_USER_INPUT"}) from None


@dataclass(frozen=True)
class Filters:
    kinds: frozenset[EventKind] | None = None
    channels: frozenset[EventChannel] | None = None
    since: datetime | None = None
    until: datetime | None = None

    def families(self) -> frozenset[Family]:
        if not self.kinds:
            return frozenset(Family)
        return frozenset(history.FAMILY[k] for k in self.kinds)

    def keep(self, event: Event) -> bool:
        return ((not self.kinds or event.kind in self.kinds)
                and (not self.channels or event.channel in self.channels)
                and (self.since is None or event.occurred_at >= self.since))


@dataclass(frozen=True)
class TimelinePage:
    events: list[tuple[str, Event]]
    has_next: bool
    has_previous: bool
    end_cursor: str | None


@dataclass(frozen=True)
class _Stream:
    family: Family
    source: str
    owner: str
    method: str


def _streams(records: Collection[Any], ctx: Context, families: frozenset[Family]
             ) -> list[_Stream]:
    runtime = ctx.runtime
    capable = {
        Family.ORDERS: (runtime.capable(OrderHistorySource), "order_history"),
        Family.TICKETS: (runtime.capable(TicketHistorySource), "ticket_history"),
        Family.POINTS: (runtime.capable(LedgerHistorySource), "ledger_history"),
    }
    found: list[_Stream] = []
    for family, (sources, method) in capable.items():
        if family in families:
            found.extend(_Stream(family, r.source, r.id, method)
                         for r in records if r.source in sources)
    return found


async def _events_of(info: Info[Context, Any], stream: _Stream,
                     piece: models.HistorySlice[Any], store_names: dict[tuple[str, str], str],
                     edge: datetime | None) -> list[Event]:
    if stream.family is Family.ORDERS:
        return [e for order in piece.records for e in history.order_events(order, store_names)]
    if stream.family is Family.POINTS:
        system = info.context.runtime.adapters[stream.source].kind
        return [e for entry in piece.records
                for e in history.ledger_events(entry, stream.source, system)]
    tickets: list[models.Ticket] = list(piece.records)
    # a ticket's replies and status changes lie between its creation and its last update:
    # only tickets changed after the edge (and after they were opened) need their audits read
    changed = [t for t in tickets if t.updated_at is not None and t.updated_at > t.created_at
               and (edge is None or t.updated_at > edge)]
    trails: dict[str, list[models.TicketAudit]] = {}
    if changed:
        loader = info.context.loaders.loader(stream.source, "audits_by_ticket_ids")
        found = await gather_sources(info, [(stream.source, loader.load_many(
            [t.id for t in changed]))])
        if found:
            trails = {t.id: trail for t, trail in zip(changed, found[0][1], strict=True)}
    return [e for ticket in tickets for e in history.ticket_events(ticket, trails.get(ticket.id,
                                                                                      []))]


async def _tagged(index: int, call: Awaitable[Any]) -> tuple[int, Any]:
    return index, await call


async def _round(info: Info[Context, Any], streams: list[_Stream], below: Position | None,
                 limit: int, store_names: dict[tuple[str, str], str]
                 ) -> tuple[list[Event], datetime | None]:
    """Every event below ``below`` and after the returned edge (None: to the beginning)."""
    loaders = info.context.loaders
    until = below.at if below is not None else None
    calls: list[tuple[str, Awaitable[tuple[int, Any]]]] = [
        (s.source, _tagged(i, loaders.loader(s.source, s.method).load(
            models.HistoryWindow(s.owner, until, limit)))) for i, s in enumerate(streams)]
    pieces: list[tuple[_Stream, models.HistorySlice[Any]]] = [
        (streams[i], piece) for _, (i, piece) in await gather_sources(info, calls)]
    edges = [p.complete_after for _, p in pieces if p.complete_after is not None]
    edge = max(edges) if edges else None
    derived = await asyncio.gather(*(_events_of(info, stream, piece, store_names, edge)
                                     for stream, piece in pieces))
    return [event for events in derived for event in events
            if (below is None or below.above(event))
            and (edge is None or event.occurred_at > edge)], edge


async def _cart_events(info: Info[Context, Any], records: Collection[Any],
                       below: Position | None) -> list[Event]:
    ctx = info.context
    capable = ctx.runtime.capable(CartSource)
    calls = [(r.source, ctx.loaders.loader(r.source, "carts_by_customer_ids").load(r.id))
             for r in records if r.source in capable]
    found = await gather_sources(info, calls)
    return [e for _, carts in found for cart in carts for e in history.cart_events(cart)
            if below is None or below.above(e)]


async def page(info: Info[Context, Any], golden_id: str, first: int | None,
               after: str | None, filters: Filters) -> TimelinePage:
    """One page of the person's timeline (see the module docstring)."""
    if first is not None and first < 0:
        raise GraphQLError("first must not be negative", extensions={"code": "BAD_USER_INPUT"})
    size = 20 if first is None else min(first, MAX_PAGE)
    below = decode(after) if after else None
    if filters.until is not None:
        cap = Position(filters.until, TOP)
        below = cap if below is None or (cap.at, cap.key) < (below.at, below.key) else below
    if size == 0:
        return TimelinePage([], True, after is not None, after)
    records = await linked_records(info, golden_id)
    families = filters.families()
    streams = _streams(records, info.context, families)
    index = await stores.location_index(info)
    store_names = {ref: place.name for ref, place in index.by_ref.items()
                   if place.kind is models.LocationKind.STORE}
    collected: list[Event] = []
    if Family.CARTS in families:
        collected.extend(e for e in await _cart_events(info, records, below) if filters.keep(e))
    position = below
    edge: datetime | None = None
    for _ in range(MAX_ROUNDS):
        found, edge = await _round(info, streams, position, size + 1, store_names)
        collected.extend(e for e in found if filters.keep(e))
        done = edge is None or (filters.since is not None and edge < filters.since)
        if done:
            edge = None
        if edge is None or sum(1 for e in collected if e.occurred_at > edge) > size:
            break
        position = Position(edge, TOP)
    kept = sorted((e for e in collected if edge is None or e.occurred_at > edge),
                  key=lambda e: e.position, reverse=True)
    chosen = kept[:size]
    more = len(kept) > size or edge is not None
    events = [(encode(Position(*e.position)), e) for e in chosen]
    end = events[-1][0] if events else None
    if more and len(kept) <= size and edge is not None:
        end = encode(Position(edge, TOP))
    return TimelinePage(events, more, after is not None, end)
