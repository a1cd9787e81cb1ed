"""What happened, as events: pure functions turning silo records into timeline events.

An event is one thing the customer did or had done, at one moment, in one channel, in one
system: an order placed, a pickup collected, a refund, a ticket reply, points earned. Every
event has a stable ``key`` (unique and unchanging for that event), so events order totally by
``(occurred_at, key)`` and a timeline position survives new events arriving.

Invariant the timeline's windows rely on: every event of a record occurs at or after the
record's creation (``placed_at`` / ``created_at``) and at or before its last update
(``updated_at``), clamped into that interval when a silo's clocks disagree.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from adapters import models


class EventKind(enum.Enum):
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    PICKUP_READY = "PICKUP_READY"
    PICKUP_COLLECTED = "PICKUP_COLLECTED"
    SHIPPED = "SHIPPED"
    RETURNED = "RETURNED"
    REFUNDED = "REFUNDED"
    TICKET_OPENED = "TICKET_OPENED"
    TICKET_COMMENTED = "TICKET_COMMENTED"
    TICKET_STATUS_CHANGED = "TICKET_STATUS_CHANGED"
    POINTS_EARNED = "POINTS_EARNED"
    POINTS_REDEEMED = "POINTS_REDEEMED"
    POINTS_ADJUSTED = "POINTS_ADJUSTED"
    POINTS_REVERSED = "POINTS_REVERSED"
    POINTS_EXPIRED = "POINTS_EXPIRED"
    CART_ABANDONED = "CART_ABANDONED"


class EventChannel(enum.Enum):
    WEB = "WEB"
    STORE = "STORE"
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    CHAT = "CHAT"
    APP = "APP"
    SOCIAL = "SOCIAL"
    OTHER = "OTHER"


def _rank(kind: EventKind) -> int:
    """Order among events at the same moment, cause before effect: what was started (an order,
    a ticket, a cart), then what happened to it, then the points it moved."""
    if kind in (EventKind.ORDER_PLACED, EventKind.TICKET_OPENED, EventKind.CART_ABANDONED,
                EventKind.RETURNED):
        return 0
    if FAMILY[kind] is Family.POINTS:
        return 2
    return 1


class Family(enum.Enum):
    """Which kind of record an event comes from: what must be read to find it."""

    ORDERS = "orders"
    TICKETS = "tickets"
    POINTS = "points"
    CARTS = "carts"


FAMILY: dict[EventKind, Family] = {
    **dict.fromkeys((EventKind.ORDER_PLACED, EventKind.ORDER_CANCELLED, EventKind.PICKUP_READY,
                     EventKind.PICKUP_COLLECTED, EventKind.SHIPPED, EventKind.RETURNED,
                     EventKind.REFUNDED), Family.ORDERS),
    **dict.fromkeys((EventKind.TICKET_OPENED, EventKind.TICKET_COMMENTED,
                     EventKind.TICKET_STATUS_CHANGED), Family.TICKETS),
    **dict.fromkeys((EventKind.POINTS_EARNED, EventKind.POINTS_REDEEMED,
                     EventKind.POINTS_ADJUSTED, EventKind.POINTS_REVERSED,
                     EventKind.POINTS_EXPIRED), Family.POINTS),
    EventKind.CART_ABANDONED: Family.CARTS,
}

_TICKET_CHANNELS = {
    "email": EventChannel.EMAIL, "web": EventChannel.WEB, "web_form": EventChannel.WEB,
    "voice": EventChannel.PHONE, "phone": EventChannel.PHONE, "sms": EventChannel.PHONE,
    "chat": EventChannel.CHAT, "native_messaging": EventChannel.CHAT,
    "mobile": EventChannel.APP, "mobile_sdk": EventChannel.APP, "api": EventChannel.OTHER,
    "facebook": EventChannel.SOCIAL, "twitter": EventChannel.SOCIAL,
    "instagram_dm": EventChannel.SOCIAL, "whatsapp": EventChannel.CHAT,
    "store": EventChannel.STORE,
}

_POINTS_KINDS = {
    "PURCHASE": EventKind.POINTS_EARNED, "REDEMPTION": EventKind.POINTS_REDEEMED,
    "RETURN": EventKind.POINTS_REVERSED, "ADJUSTMENT": EventKind.POINTS_ADJUSTED,
    "EXPIRY": EventKind.POINTS_EXPIRED,
}


def ticket_channel(via: str | None) -> EventChannel:
    """The channel of a helpdesk ``via`` (email, web, voice, chat, …)."""
    return _TICKET_CHANNELS.get((via or "").lower(), EventChannel.OTHER)


def points_channel(channel: str | None) -> EventChannel:
    try:
        return EventChannel((channel or "").upper())
    except ValueError:
        return EventChannel.OTHER


@dataclass(frozen=True, slots=True)
class Event:
    occurred_at: datetime
    key: str
    """Unique and stable: ``<source>:<record type>:<id>:<what>``."""
    kind: EventKind
    channel: EventChannel
    source: str
    system: str
    """The vendor kind of the system it came from (shopify, square, zendesk, loyalty)."""
    summary: str
    subject: object
    """The record it is about: an :class:`~adapters.models.Order`, ``Ticket``,
    ``LedgerEntry`` or ``Cart``."""

    @property
    def position(self) -> tuple[datetime, str]:
        """Where it sorts in a history: by time, then cause before effect at the same moment,
        then by key."""
        return self.occurred_at, f"{_rank(self.kind)}:{self.key}"


def _clamp(moment: datetime | None, low: datetime, high: datetime | None) -> datetime:
    """``moment`` within ``[low, high]`` (a silo's event time outside its record's life)."""
    if moment is None:
        return low
    if moment < low:
        return low
    if high is not None and high > low and moment > high:
        return high
    return moment


def _count(items: Decimal) -> str:
    number = int(items) if items == items.to_integral_value() else items
    return f"{number} item{'' if number == 1 else 's'}"


def _money(money: models.Money | None) -> str:
    return "" if money is None else f" ({money.amount} {money.currency})"


def order_events(order: models.Order, stores: Mapping[tuple[str, str], str]) -> list[Event]:
    """An order's events: placed (or, for a return order, the return), its fulfilments'
    current state, its refunds, its cancellation. ``stores`` names store locations by
    (source, location id) for the summaries and the channel of a refund made in a store."""
    low, high = order.placed_at, order.updated_at
    base = f"{order.source}:order:{order.id}"
    channel = EventChannel.STORE if order.channel is models.Channel.STORE else EventChannel.WEB
    where = stores.get((order.source, order.location_id or ""))
    events: list[Event] = []

    def add(what: str, at: datetime | None, kind: EventKind, chan: EventChannel,
            text: str) -> None:
        events.append(Event(_clamp(at, low, high), f"{base}:{what}", kind, chan, order.source,
                            order.kind, text, order))

    if order.status == "RETURN":
        items = sum((line.quantity for line in order.lines), Decimal(0))
        value = models.Money(sum((line.total.amount for line in order.lines), Decimal(0)),
                             order.lines[0].total.currency) if order.lines else order.total
        origin = f" of {order.return_of.source} order {order.return_of.id}" \
            if order.return_of else ""
        place = f" at {where}" if where else ""
        add("placed", order.placed_at, EventKind.RETURNED, channel,
            f"{_count(items)} returned{place}{origin}{_money(value)}")
        return events
    place = f" at {where}" if where else (" online" if channel is EventChannel.WEB else "")
    add("placed", order.placed_at, EventKind.ORDER_PLACED, channel,
        f"Order {order.number} placed{place}{_money(order.total)}")
    for index, fulfillment in enumerate(order.fulfillments):
        store = stores.get((order.source, fulfillment.location_id or ""))
        if fulfillment.type is models.FulfillmentType.PICKUP:
            if fulfillment.status == "READY":
                add(f"fulfillment:{index}:ready", fulfillment.updated_at, EventKind.PICKUP_READY,
                    EventChannel.STORE,
                    f"Order {order.number} ready for pickup" + (f" at {store}" if store else ""))
            elif fulfillment.status == "COMPLETED":
                add(f"fulfillment:{index}:collected", fulfillment.updated_at,
                    EventKind.PICKUP_COLLECTED, EventChannel.STORE,
                    f"Order {order.number} collected" + (f" at {store}" if store else ""))
        elif fulfillment.type is models.FulfillmentType.SHIPPING and \
                fulfillment.status in ("COMPLETED", "READY"):
            tracking = f", tracking {fulfillment.tracking_number}" \
                if fulfillment.tracking_number else ""
            add(f"fulfillment:{index}:shipped", fulfillment.updated_at, EventKind.SHIPPED,
                EventChannel.WEB, f"Order {order.number} shipped{tracking}")
    for refund in order.returns:
        store = stores.get((order.source, refund.location_id or ""))
        add(f"refund:{refund.id}", refund.returned_at, EventKind.REFUNDED,
            EventChannel.STORE if store else channel,
            f"Refund on order {order.number}{_money(refund.amount)}"
            + (f", returned at {store}" if store else ""))
    if order.status == "CANCELLED":
        add("cancelled", order.updated_at, EventKind.ORDER_CANCELLED, channel,
            f"Order {order.number} cancelled")
    return events


def ticket_events(ticket: models.Ticket, audits: Iterable[models.TicketAudit]) -> list[Event]:
    """A ticket's events: opened, then every public comment after the first and every status
    change its audits record (internal notes are not part of the customer's history)."""
    low, high = ticket.created_at, ticket.updated_at
    base = f"{ticket.source}:ticket:{ticket.id}"
    opened_in = ticket_channel(ticket.channel)
    events = [Event(ticket.created_at, f"{base}:opened", EventKind.TICKET_OPENED, opened_in,
                    ticket.source, ticket.kind, f"Ticket #{ticket.id} opened: {ticket.subject}",
                    ticket)]
    first_comment = True
    for audit in sorted(audits, key=lambda a: (a.created_at, a.id)):
        at = _clamp(audit.created_at, low, high)
        for index, event in enumerate(audit.events):
            if event.type in ("Comment", "VoiceComment"):
                if first_comment:
                    first_comment = False  # the request itself, already "opened"
                    continue
                if event.public is False:
                    continue
                who = "Customer" if audit.author_id == ticket.requester_id else "Support"
                # the customer writes in the ticket's channel; support answers by email
                channel = opened_in if who == "Customer" else EventChannel.EMAIL
                events.append(Event(at, f"{base}:audit:{audit.id}:{index}",
                                    EventKind.TICKET_COMMENTED, channel, ticket.source,
                                    ticket.kind, f"{who} replied on ticket #{ticket.id}",
                                    ticket))
            elif event.type == "Change" and event.field_name == "status" and \
                    event.previous_value:
                events.append(Event(at, f"{base}:audit:{audit.id}:{index}",
                                    EventKind.TICKET_STATUS_CHANGED, opened_in, ticket.source,
                                    ticket.kind, f"Ticket #{ticket.id} is now {event.value}"
                                    f" (was {event.previous_value})", ticket))
    return events


def ledger_events(entry: models.LedgerEntry, source: str, system: str) -> list[Event]:
    kind = _POINTS_KINDS.get(entry.reason.upper(), EventKind.POINTS_ADJUSTED)
    about = f" for {entry.order_ref.source} order {entry.order_ref.id}" \
        if entry.order_ref else ""
    verb = {EventKind.POINTS_EARNED: "earned", EventKind.POINTS_REDEEMED: "redeemed",
            EventKind.POINTS_REVERSED: "reversed", EventKind.POINTS_EXPIRED: "expired"}.get(
        kind, "adjusted")
    return [Event(entry.occurred_at, f"{source}:entry:{entry.id}", kind,
                  points_channel(entry.channel), source, system,
                  f"{abs(entry.points)} points {verb}{about}", entry)]


def cart_events(cart: models.Cart) -> list[Event]:
    """An abandoned checkout is an event when it was last touched; a draft order an agent
    prepared is not something the customer did (it shows among the open carts)."""
    if cart.cart_kind is not models.CartKind.CHECKOUT or cart.completed_at is not None:
        return []
    items = sum((line.quantity for line in cart.lines), Decimal(0))
    return [Event(cart.updated_at, f"{cart.source}:cart:{cart.id}:abandoned",
                  EventKind.CART_ABANDONED, EventChannel.WEB, cart.source, cart.kind,
                  f"Cart left online with {_count(items)}{_money(cart.total)}", cart)]
