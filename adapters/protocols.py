"""One typed async protocol per capability; every batch method returns results aligned with
its keys (``result[i]`` answers ``keys[i]``), so a DataLoader can sit in front of it.

An adapter implements the capabilities its vendor has (Shopify: customers, orders, catalog,
inventory, locations, and order summaries; Square: the same but summaries; Zendesk: customers
and tickets; loyalty: customers and loyalty). Writes are their own protocols (``…Writer``),
below the reads.

Writes and exactly-once: each write method documents how a repeat is made harmless — a vendor
idempotency key (Square ``idempotency_key``, Zendesk ``Idempotency-Key``, the loyalty
database's request table), a marker carried on the record and a read-back method to find it
(Shopify's saga tag, a refund's note), or an operation that is harmless to repeat (cancel,
status changes). A write that fails with :class:`~adapters.errors.UpstreamRejected` was not
applied; after any other failure its outcome is unknown until read back.

The history capabilities (``OrderHistorySource``, ``TicketHistorySource``,
``LedgerHistorySource``) read one person's records in windows (``HistoryWindow`` →
``HistorySlice``) so that a timeline pages through thousands of events with a bounded
number of upstream requests per page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from adapters.models import (
    Cart,
    Customer,
    HistorySlice,
    HistoryWindow,
    InventoryLevel,
    LedgerEntry,
    Location,
    LoyaltyAccount,
    NewComment,
    NewLedgerEntry,
    NewRefund,
    NewRequester,
    NewStoreOrder,
    NewStoreReturn,
    NewTicket,
    NewWebOrder,
    Order,
    OrderReturn,
    OrderSummary,
    Ticket,
    TicketAudit,
    TicketComment,
    Variant,
)


@runtime_checkable
class Source(Protocol):
    """Every adapter: its configured name and vendor kind."""

    @property
    def source(self) -> str: ...

    @property
    def kind(self) -> str: ...


@runtime_checkable
class CustomerSource(Source, Protocol):
    async def customers_by_ids(self, ids: Sequence[str]) -> list[Customer | None]:
        """The customers with these ids; None where the silo has no such customer."""
        ...

    async def customers_by_emails(self, emails: Sequence[str]) -> list[list[Customer]]:
        """The vendor's own search by email (live lookup for a registry miss)."""
        ...

    async def customers_by_phones(self, phones: Sequence[str]) -> list[list[Customer]]:
        """The vendor's own search by phone (live lookup for a registry miss)."""
        ...

    def crawl_customers(self, since: datetime | None = None) -> AsyncIterator[list[Customer]]:
        """Every customer (updated at or after ``since``), page by page, for the registry."""
        ...


@runtime_checkable
class OrderSource(Source, Protocol):
    async def orders_by_customer_ids(self, ids: Sequence[str]) -> list[list[Order]]:
        """Each customer's orders, newest first, returns included."""
        ...

    async def orders_by_ids(self, ids: Sequence[str]) -> list[Order | None]: ...


@runtime_checkable
class OrderSummarySource(Source, Protocol):
    """Orders read without their lines, fulfillments and returns, where the vendor can leave
    them out of its answer (Shopify's ``fields=``): a list of orders that shows none of them
    costs a fraction of the whole read. A source without this capability answers the same
    question with its :class:`OrderSource` read (a whole order answers every summary field)."""

    async def order_summaries_by_customer_ids(self, ids: Sequence[str]
                                              ) -> list[list[OrderSummary]]:
        """Each customer's orders as :meth:`OrderSource.orders_by_customer_ids` answers them,
        newest first, each the whole order's :meth:`~adapters.models.Order.summary`."""
        ...


@runtime_checkable
class OrderReferenceSource(Source, Protocol):
    async def orders_by_references(self, references: Sequence[str]) -> list[list[Order]]:
        """The orders each customer-facing reference names in this silo — an order name
        (``#1042``, ``1042``), a receipt's order id — exact matches only; [] for none."""
        ...


@runtime_checkable
class CatalogSource(Source, Protocol):
    async def variants_by_skus(self, skus: Sequence[str]) -> list[Variant | None]: ...


@runtime_checkable
class InventorySource(Source, Protocol):
    async def inventory_by_skus(
        self, skus: Sequence[str], location_ids: Sequence[str] | None = None
    ) -> list[list[InventoryLevel]]:
        """Stock of each SKU at the given source locations (all locations when None)."""
        ...


@runtime_checkable
class LocationSource(Source, Protocol):
    async def locations(self) -> list[Location]: ...


@runtime_checkable
class TicketSource(Source, Protocol):
    async def tickets_by_requester_ids(self, ids: Sequence[str]) -> list[list[Ticket]]:
        """Each requester's tickets, newest first."""
        ...

    async def tickets_by_ids(self, ids: Sequence[str]) -> list[Ticket | None]: ...

    async def comments_by_ticket_ids(self, ids: Sequence[str]) -> list[list[TicketComment]]: ...

    async def audits_by_ticket_ids(self, ids: Sequence[str]) -> list[list[TicketAudit]]: ...


@runtime_checkable
class LoyaltySource(Source, Protocol):
    async def accounts_by_cards(self, cards: Sequence[str]) -> list[LoyaltyAccount | None]: ...

    async def accounts_by_emails(self, emails: Sequence[str]) -> list[list[LoyaltyAccount]]: ...

    async def accounts_by_phones(self, phones: Sequence[str]) -> list[list[LoyaltyAccount]]: ...

    async def ledger_by_member_ids(self, ids: Sequence[int]) -> list[list[LedgerEntry]]:
        """Each member's ledger, newest first."""
        ...


@runtime_checkable
class CartSource(Source, Protocol):
    async def carts_by_customer_ids(self, ids: Sequence[str]) -> list[list[Cart]]:
        """Each customer's open carts (abandoned checkouts, open draft orders), most recently
        updated first; completed ones are left out."""
        ...


@runtime_checkable
class OrderHistorySource(Source, Protocol):
    async def order_history(self, windows: Sequence[HistoryWindow]
                            ) -> list[HistorySlice[Order]]:
        """Each window's orders (``owner`` = the silo's customer id): the ``limit`` newest
        placed at or before ``until`` and, below the oldest of them, those placed before and
        updated after it (see :class:`~adapters.models.HistorySlice`)."""
        ...


@runtime_checkable
class TicketHistorySource(Source, Protocol):
    async def ticket_history(self, windows: Sequence[HistoryWindow]
                             ) -> list[HistorySlice[Ticket]]:
        """Each window's tickets (``owner`` = requester id), as :meth:`order_history`."""
        ...

    async def audits_by_ticket_ids(self, ids: Sequence[str]) -> list[list[TicketAudit]]: ...


@runtime_checkable
class LedgerHistorySource(Source, Protocol):
    async def ledger_history(self, windows: Sequence[HistoryWindow]
                             ) -> list[HistorySlice[LedgerEntry]]:
        """Each window's ledger entries (``owner`` = card number): the ``limit`` newest at or
        before ``until`` (entries never change once written)."""
        ...


# -- writes --------------------------------------------------------------------------------------
@runtime_checkable
class WebOrderWriter(Source, Protocol):
    """Online orders (Shopify): pickup orders, their preparation and collection, refunds."""

    async def create_order(self, order: NewWebOrder) -> Order:
        """Create the order, carrying ``order.saga_tag``. The vendor has no idempotency key
        here: before creating again after an unknown outcome, look with :meth:`orders_by_tag`."""
        ...

    async def orders_by_tag(self, tag: str) -> list[Order]:
        """The orders carrying a saga tag (read back after an unknown outcome)."""
        ...

    async def cancel_order(self, order_id: str, *, reason: str, restock: bool) -> Order:
        """Cancel the order (its units restocked when ``restock``); an order already cancelled
        is answered as it is."""
        ...

    async def mark_ready_for_pickup(self, order_id: str) -> Order:
        """The order's pickup fulfillment orders prepared for pickup (the customer is told);
        harmless to repeat."""
        ...

    async def complete_pickup(self, order_id: str) -> Order:
        """Fulfil what is still open (the customer collected it); harmless to repeat."""
        ...

    async def create_refund(self, refund: NewRefund) -> OrderReturn:
        """Refund lines, restocked at ``refund.restock_location_id``; ``refund.key`` is carried
        on the refund. Before refunding again after an unknown outcome, look with
        :meth:`refunds_by_key`."""
        ...

    async def refunds_by_key(self, order_id: str, key: str) -> list[OrderReturn]:
        """The order's refunds carrying ``key``."""
        ...

    async def complete_draft_order(self, draft_id: str, *, saga_tag: str,
                                   pickup_location_id: str | None) -> Order:
        """Turn a draft order into an order (payment pending), carrying ``saga_tag``, picked up
        at ``pickup_location_id`` when given. A draft already completed answers the order it
        became."""
        ...


@runtime_checkable
class StoreOrderWriter(Source, Protocol):
    """Orders at a store's point of sale (Square): pickups held at the counter, returns.

    A pickup order holds its units at the store (Square keeps them RESERVED_FOR_SALE, out of
    the stock on sale) from its creation until it completes (sold) or is cancelled (back in
    stock): that hold is how a web order's units are reserved in the store's inventory."""

    async def create_store_order(self, order: NewStoreOrder, *, key: str) -> Order:
        """Create the order with ``key`` as the vendor's idempotency key: repeating the call
        with the same key answers the same order."""
        ...

    async def update_store_order(self, order_id: str, *, key: str,
                                 fulfillment_state: str | None = None,
                                 state: str | None = None) -> Order:
        """Move the order on: its fulfillment to PROPOSED | RESERVED | PREPARED | COMPLETED |
        CANCELED and/or the order to OPEN | COMPLETED | CANCELED. Moving to the state it is
        in answers it as it is."""
        ...

    async def create_store_return(self, ret: NewStoreReturn, *, key: str) -> Order:
        """A return order at the store, ``reference_id`` naming the sale; idempotent on
        ``key``."""
        ...

    async def store_orders_by_reference(self, location_id: str,
                                        reference_id: str) -> list[Order]:
        """The store's pickup orders (open or recently collected) made for ``reference_id``
        (e.g. the web order they hold units for)."""
        ...


@runtime_checkable
class TicketWriter(Source, Protocol):
    """Helpdesk tickets (Zendesk)."""

    async def ensure_requester(self, person: NewRequester) -> str:
        """The helpdesk user id for this person: the existing one matched by
        ``external_id`` or email, else a new one (safe to repeat)."""
        ...

    async def create_ticket(self, ticket: NewTicket, *, key: str) -> Ticket:
        """Create once per ``key`` (the vendor's idempotency key): repeating answers the same
        ticket while the vendor remembers the key; the key is also carried on the ticket."""
        ...

    async def ticket_by_key(self, key: str) -> Ticket | None:
        """The ticket created with ``key``, if any (read back after an unknown outcome)."""
        ...

    async def add_comment(self, ticket_id: str, comment: NewComment, *, key: str) -> Ticket:
        """Add a comment once per ``key`` (carried in the update's audit and read back before
        a repeat)."""
        ...

    async def set_status(self, ticket_id: str, status: str, *, key: str) -> Ticket:
        """Set the status (new | open | pending | hold | solved | closed); harmless to
        repeat."""
        ...


@runtime_checkable
class PointsWriter(Source, Protocol):
    """The loyalty ledger: each entry one transaction that locks the member's balance."""

    async def post_points(self, entry: NewLedgerEntry, *, key: str) -> LedgerEntry:
        """Write the entry once per ``key``: the same key answers the entry already written.
        Raises :class:`~adapters.errors.InsufficientPoints` when the balance would go below
        zero (unless allowed), :class:`~adapters.errors.RecordNotFound` for an unknown card."""
        ...

    async def entry_by_key(self, key: str) -> LedgerEntry | None:
        """The entry written for ``key``, if any."""
        ...
