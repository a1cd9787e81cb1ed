"""Ground truth of the cross-channel journeys: what a person did, and what the timeline and the
open-requests views of that person must therefore show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

EVENT_KINDS = (
    "ORDER_PLACED", "PICKUP_READY", "PICKUP_COLLECTED", "SHIPPED", "RETURNED", "REFUNDED",
    "TICKET_OPENED", "TICKET_COMMENTED", "TICKET_STATUS_CHANGED", "POINTS_EARNED",
    "POINTS_REDEEMED", "POINTS_ADJUSTED", "POINTS_REVERSED", "POINTS_EXPIRED", "CART_ABANDONED",
)
EVENT_CHANNELS = ("WEB", "STORE", "PHONE", "EMAIL", "CHAT", "APP")
SYSTEMS = ("shopify", "square", "zendesk", "loyalty")


class JourneyEvent(NamedTuple):
    """One event the timeline must show.

    ``system`` is the vendor kind that holds it; ``at`` the (UTC, whole-second) time the record
    was written with; ``ref`` the record in that system: ``order:<id>`` (Shopify or Square
    order, also for its fulfilments and refunds), ``ticket:<id>``, ``entry:<entry_id>`` (a
    ledger row) or ``checkout:<id>``. A support agent's public reply is in channel ``EMAIL``
    and a ticket's status change in the ticket's own channel, as the timeline reports them.
    """

    kind: str
    channel: str
    system: str
    at: datetime
    ref: str


class OpenRequest(NamedTuple):
    """Something still in flight and the state it must be reported in: a ``pickup``
    (``PENDING``: ordered, not collected), a ``ticket`` (its Zendesk status) or a ``cart``
    (``OPEN``)."""

    kind: str
    system: str
    ref: str
    state: str


@dataclass(frozen=True, slots=True)
class Journey:
    """One person's cross-channel story, written into the silos after the base population.

    ``person`` is the ground-truth person key; the person is in no other journey and has no
    other records, so ``events`` (time-ordered) is their whole expected timeline. ``records``
    maps what each record is in the story (``web_order``, ``return_order``, ``ticket``, …) to
    its id in its system.
    """

    name: str
    person: str
    records: Mapping[str, str]
    events: tuple[JourneyEvent, ...]
    open_requests: tuple[OpenRequest, ...] = ()
