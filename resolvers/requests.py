"""Traceability: every request a customer has in flight, in one status vocabulary.

A *request* is something the customer waits for, whatever system holds it: a web order to
ship, a pickup to collect, a return to refund, a ticket to solve, a points claim to credit.
:func:`of_order` and :func:`of_ticket` derive them from the silos' records (pure functions);
:func:`open_requests` and :func:`find` gather them for a person or from a reference read out
on the phone or shown at a till.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from strawberry.types import Info

from adapters import models
from adapters.protocols import (
    LoyaltySource,
    OrderReferenceSource,
    OrderSource,
    TicketSource,
)
from resolvers import commerce
from resolvers.context import Context
from resolvers.history import EventChannel, ticket_channel
from resolvers.people import per_record
from resolvers.sources import gather_sources


class RequestKind(enum.Enum):
    DELIVERY = "DELIVERY"
    PICKUP = "PICKUP"
    RETURN = "RETURN"
    TICKET = "TICKET"
    POINTS_CLAIM = "POINTS_CLAIM"


class RequestStatus(enum.Enum):
    RECEIVED = "RECEIVED"
    PREPARING = "PREPARING"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    IN_TRANSIT = "IN_TRANSIT"
    IN_PROGRESS = "IN_PROGRESS"
    AWAITING_CUSTOMER = "AWAITING_CUSTOMER"
    ON_HOLD = "ON_HOLD"
    REFUND_PENDING = "REFUND_PENDING"
    COMPLETED = "COMPLETED"
    RESOLVED = "RESOLVED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({RequestStatus.COMPLETED, RequestStatus.RESOLVED, RequestStatus.CANCELLED})


class Actor(enum.Enum):
    """Who must act next."""

    CUSTOMER = "CUSTOMER"
    STORE = "STORE"
    WAREHOUSE = "WAREHOUSE"
    CARRIER = "CARRIER"
    SUPPORT = "SUPPORT"
    LOYALTY = "LOYALTY"


SAME_VISIT = timedelta(days=1)
CLAIM_TAGS = frozenset({"loyalty_claim", "points_claim", "points"})
"""Ticket tags that make a ticket a points claim."""


@dataclass(frozen=True, slots=True)
class Request:
    kind: RequestKind
    status: RequestStatus
    reference: str
    """What the customer reads out: an order name, a receipt id, a ticket number."""
    channel: EventChannel
    source: str
    system: str
    opened_at: datetime
    updated_at: datetime
    actor: Actor | None
    next_step: str | None
    subject: models.Order | models.Ticket
    location: tuple[str, str] | None = None
    """(source, location id) of the store involved: the pickup or return store."""

    @property
    def open(self) -> bool:
        return self.status not in TERMINAL

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.kind.value, self.source, getattr(self.subject, "id", ""), self.reference


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def of_order(order: models.Order, refunded_by: Iterable[models.Order] = (),
             original: models.Order | None = None) -> list[Request]:
    """The requests an order stands for. A sale: its delivery or pickup. A return order: the
    return, refunded when it is a till return or when ``original`` (the web order it returns,
    in another system) carries a refund."""
    channel = EventChannel.STORE if order.channel is models.Channel.STORE else EventChannel.WEB
    updated = _latest(order.placed_at, order.updated_at)

    def make(kind: RequestKind, status: RequestStatus, actor: Actor | None, step: str | None,
             at: datetime = updated, location: str | None = None) -> Request:
        return Request(kind, status, order.number, channel, order.source, order.kind,
                       order.placed_at, at, None if status in TERMINAL else actor,
                       None if status in TERMINAL else step, order,
                       (order.source, location) if location else None)

    if order.status == "RETURN":
        if order.return_of is None or order.return_of.source == order.source:
            return [make(RequestKind.RETURN, RequestStatus.COMPLETED, None, None,
                         location=order.location_id)]
        # the web order's refund for these goods: made when they came back (same visit)
        refunds = [r for r in (original.returns if original else ())
                   if r.returned_at >= order.placed_at - SAME_VISIT]
        if refunds:
            return [make(RequestKind.RETURN, RequestStatus.COMPLETED, None, None,
                         at=_latest(updated, *(r.returned_at for r in refunds)),
                         location=order.location_id)]
        return [make(RequestKind.RETURN, RequestStatus.REFUND_PENDING, Actor.SUPPORT,
                     f"Refund order {order.return_of.id} for the goods returned in store",
                     location=order.location_id)]
    if order.channel is models.Channel.STORE and not order.fulfillments:
        return []  # a sale at the till: nothing left to do
    pickups = [f for f in order.fulfillments if f.type is models.FulfillmentType.PICKUP]
    if order.status == "CANCELLED":
        kind = RequestKind.PICKUP if pickups else RequestKind.DELIVERY
        return [make(kind, RequestStatus.CANCELLED, None, None)]
    if pickups:
        f = pickups[0]
        at = _latest(updated, f.updated_at)
        if f.status == "COMPLETED":
            return [make(RequestKind.PICKUP, RequestStatus.COMPLETED, None, None, at,
                         f.location_id)]
        if f.status == "CANCELLED":
            return [make(RequestKind.PICKUP, RequestStatus.CANCELLED, None, None, at,
                         f.location_id)]
        if f.status == "READY":
            return [make(RequestKind.PICKUP, RequestStatus.READY_FOR_PICKUP, Actor.CUSTOMER,
                         "Collect the order at the store", at, f.location_id)]
        return [make(RequestKind.PICKUP, RequestStatus.PREPARING, Actor.STORE,
                     "Prepare the order for pickup", at, f.location_id)]
    shipped = [f for f in order.fulfillments if f.status in ("COMPLETED", "READY")]
    delivered = shipped and all(f.shipment_status == "DELIVERED" for f in shipped)
    if order.closed or delivered or (order.status == "COMPLETED" and not shipped):
        return [make(RequestKind.DELIVERY, RequestStatus.COMPLETED, None, None)]
    if shipped:
        tracking = next((f.tracking_number for f in shipped if f.tracking_number), None)
        step = "Deliver the parcel" + (f" (tracking {tracking})" if tracking else "")
        return [make(RequestKind.DELIVERY, RequestStatus.IN_TRANSIT, Actor.CARRIER, step,
                     _latest(updated, *(f.updated_at for f in shipped)))]
    return [make(RequestKind.DELIVERY, RequestStatus.RECEIVED, Actor.WAREHOUSE,
                 "Pick, pack and ship the order")]


_TICKET_STATES = {
    "new": (RequestStatus.RECEIVED, Actor.SUPPORT, "Answer the customer"),
    "open": (RequestStatus.IN_PROGRESS, Actor.SUPPORT, "Work on the request and reply"),
    "pending": (RequestStatus.AWAITING_CUSTOMER, Actor.CUSTOMER, "Reply to the agent"),
    "hold": (RequestStatus.ON_HOLD, Actor.SUPPORT, "Waiting on a third party"),
    "solved": (RequestStatus.RESOLVED, None, None),
    "closed": (RequestStatus.RESOLVED, None, None),
}


def is_claim(ticket: models.Ticket) -> bool:
    return bool(CLAIM_TAGS.intersection(t.lower() for t in ticket.tags))


def of_ticket(ticket: models.Ticket, ledger: Sequence[models.LedgerEntry] = ()) -> Request:
    """A ticket as a request; a points claim (a ticket tagged :data:`CLAIM_TAGS`) waits on the
    loyalty team until points are credited after it was opened (an ``ADJUSTMENT`` in
    ``ledger``), then on support to confirm and solve it."""
    status, actor, step = _TICKET_STATES.get(ticket.status.lower(), (
        RequestStatus.IN_PROGRESS, Actor.SUPPORT, "Work on the request"))
    kind = RequestKind.POINTS_CLAIM if is_claim(ticket) else RequestKind.TICKET
    updated = _latest(ticket.created_at, ticket.updated_at)
    if kind is RequestKind.POINTS_CLAIM and status not in TERMINAL and status is not \
            RequestStatus.AWAITING_CUSTOMER:
        credited = [e for e in ledger if e.reason.upper() == "ADJUSTMENT" and e.points > 0
                    and e.occurred_at >= ticket.created_at]
        if credited:
            updated = _latest(updated, *(e.occurred_at for e in credited))
            status, actor, step = (RequestStatus.IN_PROGRESS, Actor.SUPPORT,
                                   f"{sum(e.points for e in credited)} points credited: "
                                   "confirm to the customer and solve the ticket")
        else:
            status, actor, step = (status, Actor.LOYALTY, "Check the claim and credit the "
                                   "missing points")
    return Request(kind, status, f"#{ticket.id}", ticket_channel(ticket.channel),
                   ticket.source, ticket.kind, ticket.created_at, updated, actor, step, ticket)


# -- gathering ----------------------------------------------------------------------------------
async def _ledger(info: Info[Context, Any], golden_id: str) -> list[models.LedgerEntry]:
    accounts = await per_record(info, golden_id, LoyaltySource, "accounts_by_cards")
    ctx = info.context
    calls = [(source, ctx.loaders.loader(source, "ledger_by_member_ids").load(a.member_id))
             for source, a in accounts if a is not None]
    return [e for _, entries in await gather_sources(info, calls) for e in entries]


async def _originals(info: Info[Context, Any], orders: Iterable[models.Order]
                     ) -> dict[tuple[str, str], models.Order]:
    """The web orders that store return orders name (``return_of`` in another source)."""
    ctx = info.context
    capable = ctx.runtime.capable(OrderSource)
    refs = {(o.return_of.source, o.return_of.id) for o in orders
            if o.status == "RETURN" and o.return_of and o.return_of.source != o.source
            and o.return_of.source in capable}
    calls = [(source, ctx.loaders.loader(source, "orders_by_ids").load(order_id))
             for source, order_id in sorted(refs)]
    return {(o.source, o.id): o for _, o in await gather_sources(info, calls) if o is not None}


async def _of_orders(info: Info[Context, Any], orders: list[models.Order]) -> list[Request]:
    originals = await _originals(info, orders)
    found: list[Request] = []
    for order in orders:
        original = originals.get((order.return_of.source, order.return_of.id)) \
            if order.return_of else None
        found.extend(of_order(order, original=original))
    return found


async def _of_tickets(info: Info[Context, Any], golden_id: str | None,
                      tickets: list[models.Ticket]) -> list[Request]:
    claims = [t for t in tickets if is_claim(t)]
    ledger = await _ledger(info, golden_id) if claims and golden_id else []
    return [of_ticket(t, ledger) for t in tickets]


def _ordered(found: Iterable[Request]) -> list[Request]:
    unique = {r.key: r for r in found}
    return sorted(unique.values(), key=lambda r: (r.updated_at, r.key), reverse=True)


async def person_requests(info: Info[Context, Any], golden_id: str) -> list[Request]:
    """Every request of the person, open or not, most recently updated first."""
    orders, tickets = await asyncio.gather(commerce.person_orders(info, golden_id),
                                           commerce.person_tickets(info, golden_id))
    return _ordered([*await _of_orders(info, orders),
                     *await _of_tickets(info, golden_id, tickets)])


async def open_requests(info: Info[Context, Any], golden_id: str) -> list[Request]:
    """The person's requests still in flight, most recently updated first."""
    return [r for r in await person_requests(info, golden_id) if r.open]


_DIGITS = re.compile(r"^#?\s*(\d{1,19})$")
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")


async def find(info: Info[Context, Any], reference: str) -> list[Request]:
    """The requests ``reference`` names, in any system: an order name (``#1042``/``1042``), a
    receipt (an order id), a ticket number, a loyalty card (its holder's open requests).
    Several matches are all returned; nothing found is an empty list."""
    text = reference.strip()
    digits = _DIGITS.match(text)
    if not text or not (digits or _TOKEN.match(text.lstrip("#"))):
        return []
    ctx = info.context
    runtime = ctx.runtime
    bare = digits.group(1) if digits else text.lstrip("#")
    order_calls = [(name, ctx.loaders.loader(name, "orders_by_references").load(text))
                   for name in sorted(runtime.capable(OrderReferenceSource))]
    ticket_calls = [(name, ctx.loaders.loader(name, "tickets_by_ids").load(bare))
                    for name in sorted(runtime.capable(TicketSource))] if digits else []
    card_calls = [(name, ctx.loaders.registry_loader("golden_of").load((name, text)))
                  for name in sorted(runtime.capable(LoyaltySource))]
    orders = [o for _, found in await gather_sources(info, order_calls) for o in found]
    tickets = [t for _, t in await gather_sources(info, ticket_calls) if t is not None]
    holders = {g for _, g in await gather_sources(info, card_calls) if g is not None}
    found: list[Request] = []
    for order in orders:
        golden = await commerce.owner_of(info, order)
        related = [order]
        if golden is not None:
            related += [o for o in await commerce.person_orders(info, golden)
                        if o.return_of and o.return_of.source == order.source
                        and o.return_of.id == order.id]
        found.extend(r for r in await _of_orders(info, related)
                     if r.subject is order or r.kind is RequestKind.RETURN)
    for ticket in tickets:
        golden = await _golden(info, ticket.source, ticket.requester_id)
        found.extend(await _of_tickets(info, golden, [ticket]))
    for golden in sorted(holders):
        found.extend(await open_requests(info, golden))
    return _ordered(found)


async def _golden(info: Info[Context, Any], source: str, record_id: str) -> str | None:
    golden: str | None = await info.context.loaders.registry_loader("golden_of").load(
        (source, record_id))
    return golden
