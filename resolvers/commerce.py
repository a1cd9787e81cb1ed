"""Orders and tickets of a person, across sources.

A list of orders that shows none of their lines, fulfillments or returns (``Customer.orders``
with only :data:`SUMMARY_FIELDS` under its nodes, as a page of customers usually asks) is read
as order *summaries* from the sources that can leave those out of their answer
(:class:`~adapters.protocols.OrderSummarySource`: Shopify's ``fields=``), and whole from the
others; :func:`summary_suffices` decides from the request's selection, once per field and
request, and answers no whenever it cannot be sure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode
from graphql.language import SelectionSetNode
from strawberry.types import Info

from adapters.models import Order, OrderSummary, Ticket
from adapters.protocols import OrderSource, OrderSummarySource, TicketSource
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.people import linked_records, per_record
from resolvers.sources import gather_sources

OrderT = TypeVar("OrderT", Order, Order | OrderSummary)

SUMMARY_FIELDS = frozenset({"__typename", "id", "source", "orderId", "channel", "number",
                            "placedAt", "status", "total", "customer", "tickets"})
"""The ``Order`` fields a summary answers exactly as the whole order: its own values (id,
number, channel, placed at, status, total — Shopify's ``status`` reads the order's
``fulfillment_status``, not its fulfillments) and what needs only its source, id, number and
customer (``customer`` and ``tickets`` are read by other loaders). ``lines``, ``fulfillment``
(and the pickup readiness), ``store`` (a pickup's store) and ``returns`` need the whole order."""
_CONNECTION_FIELDS = frozenset({"__typename", "totalCount", "pageInfo", "edges"})
_EDGE_FIELDS = frozenset({"__typename", "cursor", "node"})

_decided: WeakKeyDictionary[Loaders, dict[tuple[int, ...], bool]] = WeakKeyDictionary()
"""Per request (its loaders): the identities of a field's nodes -> whether summaries do. The
nodes of ``orders`` are the same objects for every customer of a page: decided once."""


async def person_orders(info: Info[Context, Any], golden_id: str) -> list[Order]:
    """Every order of the person in every order source, newest first."""
    found = await per_record(info, golden_id, OrderSource, "orders_by_customer_ids")
    return _newest_first(found)


async def person_order_summaries(info: Info[Context, Any], golden_id: str
                                 ) -> list[Order | OrderSummary]:
    """The orders of :func:`person_orders`, as summaries from the sources that read them so
    (whole orders from the others): for fields of :data:`SUMMARY_FIELDS` only."""
    ctx = info.context
    capable = ctx.runtime.capable(OrderSource)
    summaries = ctx.runtime.capable(OrderSummarySource)
    calls = [(r.source, ctx.loaders.loader(
        r.source, "order_summaries_by_customer_ids" if r.source in summaries
        else "orders_by_customer_ids").load(r.id))
        for r in await linked_records(info, golden_id) if r.source in capable]
    found: list[tuple[str, list[Order | OrderSummary]]] = await gather_sources(info, calls)
    return _newest_first(found)


def _newest_first(found: Iterable[tuple[str, list[OrderT]]]) -> list[OrderT]:
    """The orders of every source, each once, newest first."""
    seen: set[tuple[str, str]] = set()
    orders: list[OrderT] = []
    for _, mine in found:
        for order in mine:
            if (order.source, order.id) not in seen:
                seen.add((order.source, order.id))
                orders.append(order)
    orders.sort(key=lambda o: o.placed_at, reverse=True)
    return orders


def summary_suffices(info: Info[Context, Any]) -> bool:
    """Whether the selection of this ``orders`` field (a connection of ``Order``) reads only
    :data:`SUMMARY_FIELDS` of its orders, through any fragments and aliases. A fragment
    that cannot be found answers no (the whole read answers every field)."""
    raw = info._raw_info
    nodes: Sequence[FieldNode] = raw.field_nodes
    memo = _decided.get(info.context.loaders)
    if memo is None:
        memo = _decided[info.context.loaders] = {}
    key = tuple(map(id, nodes))
    found = memo.get(key)
    if found is None:
        found = memo[key] = summary_selection(nodes, raw.fragments)
    return found


def summary_selection(nodes: Iterable[FieldNode],
                      fragments: Mapping[str, FragmentDefinitionNode]) -> bool:
    """Whether connection field ``nodes`` select only :data:`SUMMARY_FIELDS` of their orders
    (see :func:`summary_suffices`)."""
    try:
        for connection in nodes:
            for field in _fields(connection.selection_set, fragments):
                name = field.name.value
                if name not in _CONNECTION_FIELDS:
                    return False
                if name != "edges":
                    continue
                for edge in _fields(field.selection_set, fragments):
                    if edge.name.value not in _EDGE_FIELDS:
                        return False
                    if edge.name.value == "node" and any(
                            order.name.value not in SUMMARY_FIELDS
                            for order in _fields(edge.selection_set, fragments)):
                        return False
    except KeyError:
        return False
    return True


def _fields(selection_set: SelectionSetNode | None,
            fragments: Mapping[str, FragmentDefinitionNode]) -> Iterator[FieldNode]:
    """The fields of a selection set, those of its fragments included (whatever their type
    condition or directives: a field that might be selected counts). ``KeyError`` for a
    fragment the document does not define."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            yield from _fields(fragments[selection.name.value].selection_set, fragments)
        else:  # a selection kind graphql-core may add: be sure, read whole orders
            raise KeyError(type(selection).__name__)


async def person_tickets(info: Info[Context, Any], golden_id: str) -> list[Ticket]:
    """Every ticket the person requested in every helpdesk source, newest first."""
    found_tickets = await per_record(info, golden_id, TicketSource, "tickets_by_requester_ids")
    tickets = [t for _, found in found_tickets for t in found]
    tickets.sort(key=lambda t: t.created_at, reverse=True)
    return tickets


async def owner_of(info: Info[Context, Any], order: Order | OrderSummary) -> str | None:
    """The golden id of the order's customer, if the order names one we know."""
    if order.customer_id is None:
        return None
    golden: str | None = await info.context.loaders.registry_loader("golden_of").load(
        (order.source, order.customer_id))
    return golden
