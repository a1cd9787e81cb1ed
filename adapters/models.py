"""Canonical models every adapter maps its vendor's records to.

Each record keeps where it came from: ``source`` (the configured source name, e.g. ``shopify``),
``kind`` (the vendor kind: ``shopify`` | ``square`` | ``zendesk`` | ``loyalty``) and ``id`` (the id
the vendor's API exposes, as a string). Models are plain frozen dataclasses: GraphQL leaf fields
read them as attributes, with no per-field resolver cost.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

R = TypeVar("R")

# ISO 4217 minor units that are not 2 (Square sends minor units; Shopify decimal strings).
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in a currency (never a float)."""

    amount: Decimal
    currency: str

    @classmethod
    def from_minor(cls, amount: int, currency: str) -> Money:
        return cls(Decimal(amount).scaleb(-minor_units(currency)), currency.upper())

    @classmethod
    def from_decimal_string(cls, amount: str, currency: str) -> Money:
        return cls(Decimal(amount), currency.upper())


class Channel(StrEnum):
    WEB = "WEB"
    STORE = "STORE"


class LocationKind(StrEnum):
    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"


class FulfillmentType(StrEnum):
    SHIPPING = "SHIPPING"
    PICKUP = "PICKUP"
    DIGITAL = "DIGITAL"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A record in one silo: the configured source name and the vendor's id."""

    source: str
    id: str


@dataclass(frozen=True, slots=True)
class Address:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer record as one silo holds it (values as typed there, not normalized)."""

    source: str
    kind: str
    id: str
    first_name: str | None
    last_name: str | None
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    addresses: tuple[Address, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    country_code: str | None = None
    references: tuple[tuple[str, str], ...] = ()
    """Explicit cross-references as (kind, id), e.g. ``("loyalty", "LC-0001234567")``."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str | None
    title: str
    quantity: Decimal
    unit_price: Money
    total: Money
    variant_id: str | None = None


@dataclass(frozen=True, slots=True)
class Fulfillment:
    type: FulfillmentType
    status: str
    """Vendor-neutral: PENDING | READY | COMPLETED | CANCELLED | FAILED."""
    location_id: str | None = None
    """Source location id: the pickup store, or where it shipped from."""
    updated_at: datetime | None = None
    tracking_number: str | None = None
    shipment_status: str | None = None
    """The carrier's last word, vendor-neutral: IN_TRANSIT | OUT_FOR_DELIVERY | DELIVERED |
    FAILED (None when the carrier reported nothing)."""


@dataclass(frozen=True, slots=True)
class ReturnLine:
    sku: str | None
    title: str
    quantity: Decimal
    amount: Money | None = None


@dataclass(frozen=True, slots=True)
class OrderReturn:
    """Goods brought back against a sale: a Shopify refund or a Square return order."""

    source: str
    kind: str
    id: str
    returned_at: datetime
    lines: tuple[ReturnLine, ...]
    amount: Money | None
    location_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order read without its lines, fulfillments and returns (e.g. a Shopify ``fields=``
    read of its top-level scalars): every other field of :class:`Order`, each exactly as the
    whole read answers it (:meth:`Order.summary`). A type of its own, not an :class:`Order`
    with empty tuples, so that nothing can take a summary for an order without lines."""

    source: str
    kind: str
    id: str
    number: str
    channel: Channel
    customer_id: str | None
    placed_at: datetime
    updated_at: datetime | None
    status: str
    """Vendor-neutral: OPEN | COMPLETED | CANCELLED | RETURN."""
    total: Money
    location_id: str | None = None
    return_of: SourceRef | None = None
    financial_status: str | None = None
    closed: bool = False

    def whole(self, lines: tuple[OrderLine, ...], fulfillments: tuple[Fulfillment, ...] = (),
              returns: tuple[OrderReturn, ...] = ()) -> Order:
        """The whole order: this summary with its lines, fulfillments and returns."""
        return Order(**{f.name: getattr(self, f.name) for f in fields(self)}, lines=lines,
                     fulfillments=fulfillments, returns=returns)


@dataclass(frozen=True, slots=True)
class Order:
    source: str
    kind: str
    id: str
    number: str
    channel: Channel
    customer_id: str | None
    placed_at: datetime
    updated_at: datetime | None
    status: str
    """Vendor-neutral: OPEN | COMPLETED | CANCELLED | RETURN."""
    total: Money
    lines: tuple[OrderLine, ...]
    fulfillments: tuple[Fulfillment, ...] = ()
    returns: tuple[OrderReturn, ...] = ()
    location_id: str | None = None
    """The store that rang up a STORE order, in the source's location ids."""
    return_of: SourceRef | None = None
    """For a return order: the sale it returns (possibly in another source)."""
    financial_status: str | None = None
    closed: bool = False
    """Archived by the merchant: nothing more is expected to happen to it."""

    def summary(self) -> OrderSummary:
        """The order without its lines, fulfillments and returns: what a summary read of it
        answers."""
        return OrderSummary(**{f.name: getattr(self, f.name) for f in fields(OrderSummary)})


@dataclass(frozen=True, slots=True)
class Variant:
    source: str
    kind: str
    id: str
    sku: str
    title: str
    product_id: str
    product_title: str
    price: Money | None
    inventory_item_id: str | None = None


@dataclass(frozen=True, slots=True)
class InventoryLevel:
    source: str
    kind: str
    sku: str
    location_id: str
    available: Decimal
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Location:
    source: str
    kind: str
    id: str
    name: str
    location_kind: LocationKind
    address: Address
    geo: GeoPoint | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Ticket:
    source: str
    kind: str
    id: str
    subject: str
    status: str
    priority: str | None
    channel: str | None
    requester_id: str
    created_at: datetime
    updated_at: datetime | None
    order_reference: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TicketComment:
    id: str
    ticket_id: str
    author_id: str | None
    body: str
    public: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TicketEvent:
    type: str
    field_name: str | None = None
    value: str | None = None
    previous_value: str | None = None
    public: bool | None = None
    """For a comment event: whether the requester sees it."""


@dataclass(frozen=True, slots=True)
class TicketAudit:
    id: str
    ticket_id: str
    author_id: str | None
    created_at: datetime
    events: tuple[TicketEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class LoyaltyAccount:
    source: str
    kind: str
    id: str
    """The card number: the identifier members, stores and other systems use."""
    member_id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    tier: str
    status: str
    enrolled_at: datetime
    points_balance: int
    lifetime_points: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: str
    member_id: int
    occurred_at: datetime
    points: int
    reason: str
    channel: str | None
    order_ref: SourceRef | None
    """Parsed from ``'shopify:<id>'`` / ``'square:<id>'`` (the prefix is a vendor kind)."""


class CartKind(StrEnum):
    CHECKOUT = "CHECKOUT"
    """An online checkout the customer started and did not complete (abandoned)."""
    DRAFT_ORDER = "DRAFT_ORDER"
    """An order a merchant or agent prepared for the customer, not yet paid."""


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str | None
    title: str
    quantity: Decimal
    unit_price: Money
    total: Money
    variant_id: str | None = None
    product_id: str | None = None


@dataclass(frozen=True, slots=True)
class Cart:
    """An open online cart: a Shopify abandoned checkout or an open draft order."""

    source: str
    kind: str
    id: str
    """The vendor's id (checkout id, draft order id)."""
    cart_kind: CartKind
    customer_id: str | None
    """The vendor's customer id, when the cart names one."""
    email: str | None
    created_at: datetime
    updated_at: datetime
    status: str
    """Vendor-neutral: OPEN | INVOICE_SENT | COMPLETED."""
    lines: tuple[CartLine, ...]
    subtotal: Money | None
    total: Money
    recovery_url: str | None
    """Where the customer (or an agent) picks it up again: the abandoned checkout URL or the
    draft order's invoice URL."""
    name: str | None = None
    """The name the merchant sees (``#D12`` for a draft order), if any."""
    completed_at: datetime | None = None
    order_id: str | None = None
    """The order it became, once completed."""


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """A window of one owner's history in a silo: the records created at or before ``until``
    (every record when None), newest first, at most ``limit`` of them.

    ``owner`` is the silo's id of the person (a customer id, a requester id, a card number).
    Windows are what lets a history be paged without loading it: the page after a position
    reads only the records created before it."""

    owner: str
    until: datetime | None
    limit: int


@dataclass(frozen=True, slots=True)
class HistorySlice(Generic[R]):
    """What a silo answers for a :class:`HistoryWindow`: the records whose events may fall
    after ``complete_after`` — those created in the window and those created before it but
    changed after its lower edge — so that every event of the owner after ``complete_after``
    (and at or before the window's ``until``) comes from these records. ``complete_after`` is
    None when the window reached the owner's first record: the whole history is here."""

    records: tuple[R, ...]
    complete_after: datetime | None


# -- what writes ask of a silo ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LineRequest:
    """``quantity`` units of the variant with ``sku``; each adapter resolves the SKU to its own
    variant or catalog id."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReturnLineRequest:
    """A line brought back: the SKU, how many, and the unit price it was sold at."""

    sku: str
    quantity: int
    unit_price: Money
    title: str | None = None


@dataclass(frozen=True, slots=True)
class NewWebOrder:
    """An online order for a customer of the web shop (Shopify ids), picked up at
    ``pickup_location_id`` (a Shopify location) when given. ``saga_tag`` is carried on the
    order (a tag and a note attribute) so that a write whose answer was lost can be found."""

    customer_id: str
    lines: tuple[LineRequest, ...]
    saga_tag: str
    pickup_location_id: str | None = None
    email: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NewRefund:
    """Lines of a web order refunded, restocked at ``restock_location_id`` (a Shopify
    location) when given; ``key`` is carried in the refund's note to find it again."""

    order_id: str
    lines: tuple[LineRequest, ...]
    key: str
    restock_location_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NewStoreOrder:
    """An order at a store's point of sale (Square ids); with ``pickup`` it carries a PICKUP
    fulfillment for ``recipient_name`` to collect at the counter."""

    location_id: str
    lines: tuple[LineRequest, ...]
    customer_id: str | None = None
    reference_id: str | None = None
    pickup: bool = False
    recipient_name: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NewStoreReturn:
    """Goods brought back to a store (Square ids): a return order at ``location_id`` whose
    ``reference_id`` names the sale (e.g. the web order), with the refunded lines."""

    location_id: str
    lines: tuple[ReturnLineRequest, ...]
    reference_id: str
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewRequester:
    """A helpdesk user to create for a customer who has none; ``external_id`` (c360's person
    id) makes the creation safe to repeat."""

    name: str
    email: str | None
    phone: str | None
    external_id: str


@dataclass(frozen=True, slots=True)
class NewTicket:
    requester_id: str
    subject: str
    body: str
    channel: str
    """Where the customer asked: web | phone | email | store | chat."""
    order_reference: str | None = None
    """Written in the source's configured order-reference field."""
    tags: tuple[str, ...] = ()
    public: bool = True


@dataclass(frozen=True, slots=True)
class NewComment:
    body: str
    public: bool = True
    author_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewLedgerEntry:
    """A points movement for the member with card ``card``. Unless
    ``allow_negative_balance`` (a reversal that must happen even if the points were spent),
    an entry that would take the balance below zero is refused."""

    card: str
    points: int
    reason: str
    """PURCHASE | REDEMPTION | RETURN | ADJUSTMENT"""
    channel: str | None = None
    order_ref: SourceRef | None = None
    allow_negative_balance: bool = False
