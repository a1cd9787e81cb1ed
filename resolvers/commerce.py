"""Orders and tickets of a person, across sources."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from adapters.models import Order, Ticket
from adapters.protocols import OrderSource, TicketSource
from resolvers.context import Context
from resolvers.people import per_record


async def person_orders(info: Info[Context, Any], golden_id: str) -> list[Order]:
    """Every order of the person in every order source, newest first."""
    seen: set[tuple[str, str]] = set()
    orders: list[Order] = []
    for _, found in await per_record(info, golden_id, OrderSource, "orders_by_customer_ids"):
        for order in found:
            if (order.source, order.id) not in seen:
                seen.add((order.source, order.id))
                orders.append(order)
    orders.sort(key=lambda o: o.placed_at, reverse=True)
    return orders


async def person_tickets(info: Info[Context, Any], golden_id: str) -> list[Ticket]:
    """Every ticket the person requested in every helpdesk source, newest first."""
    found_tickets = await per_record(info, golden_id, TicketSource, "tickets_by_requester_ids")
    tickets = [t for _, found in found_tickets for t in found]
    tickets.sort(key=lambda t: t.created_at, reverse=True)
    return tickets


async def owner_of(info: Info[Context, Any], order: Order) -> str | None:
    """The golden id of the order's customer, if the order names one we know."""
    if order.customer_id is None:
        return None
    golden: str | None = await info.context.loaders.registry_loader("golden_of").load(
        (order.source, order.customer_id))
    return golden
