"""One typed async protocol per capability; every batch method returns results aligned with
its keys (``result[i]`` answers ``keys[i]``), so a DataLoader can sit in front of it.

An adapter implements the capabilities its vendor has (Shopify: customers, orders, catalog,
inventory, locations; Square: the same; Zendesk: customers and tickets; loyalty: customers and
loyalty). Write capabilities will join these as their own protocols.

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
    Order,
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
