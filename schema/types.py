"""The customer-360 GraphQL types. Leaf fields are plain attributes; only fields that reach
another silo (or the registry) have resolvers, and those go through per-request DataLoaders."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from adapters import models
from adapters.protocols import CartSource, CatalogSource, LoyaltySource
from resolvers import availability, commerce, history, people, requests, stores, timeline
from resolvers.context import Context
from resolvers.ids import to_global
from resolvers.pagination import Page, paginate
from resolvers.sources import gather_sources
from schema.policy import (
    Cost,
    ListSize,
    Mask,
    MaskStyle,
    Owned,
    PiiAccess,
    PublicOnly,
    StoreScoped,
    scopes,
)

T = TypeVar("T")
Ctx = Info[Context, Any]
CONTACT = scopes("contact:read", "contact:masked")
PAGED = ListSize(slicing_arguments=["first"], sized_fields=["edges"], assumed_size=20)

First = Annotated[int | None, strawberry.argument(
    description="How many items (at most 100).")]
After = Annotated[str | None, strawberry.argument(
    description="Continue after this cursor (a previous page's `pageInfo.endCursor`).")]


# -- basics -----------------------------------------------------------------------------------
@strawberry.interface(description="An object with a globally unique id (`Query.node`).",
                      directives=[scopes()])
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique, opaque id.")


@strawberry.type(description="An exact amount of money (never a float).", directives=[scopes()])
class Money:
    amount: Decimal = strawberry.field(description="The amount, in units of the currency.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")

    @staticmethod
    def of(money: models.Money | None) -> Money | None:
        return None if money is None else Money(amount=money.amount, currency=money.currency)


@strawberry.enum(description="Where an order was placed.")
class Channel(enum.Enum):
    WEB = "WEB"
    STORE = "STORE"


@strawberry.enum(description="What a location is.")
class LocationKind(enum.Enum):
    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"


@strawberry.enum(description="How an order reaches the customer.")
class FulfillmentType(enum.Enum):
    SHIPPING = "SHIPPING"
    PICKUP = "PICKUP"
    DIGITAL = "DIGITAL"


@strawberry.type(description="Relay page information.", directives=[scopes()])
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge; pass it "
                                                          "as `after` for the next page.")


@strawberry.type(description="One item of a page, with its cursor.", directives=[scopes()])
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list that can grow (Relay connection).",
                 directives=[scopes()])
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page is in the list.")
    total: strawberry.Private[int | Callable[[], Awaitable[int]]]
    """The count, or how to count when ``totalCount`` is asked for (counting everyone in the
    registry is a query of its own)."""

    @strawberry.field(description="Number of items in the whole list.",
                      directives=[Cost(weight="5")])
    async def total_count(self) -> int:
        return self.total if isinstance(self.total, int) else await self.total()

    @staticmethod
    def of(page: Page[Any], convert: Any) -> Connection[Any]:
        edges = [Edge(cursor=c, node=convert(item)) for c, item in page.items]
        return Connection(edges=edges, total=page.total, page_info=PageInfo(
            has_next_page=page.has_next, has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None))


@strawberry.type(description="A postal address, as one system holds it.", directives=[scopes()])
class Address:
    line1: str | None = strawberry.field(description="Street and number.")
    line2: str | None = strawberry.field(description="Apartment, suite, …")
    city: str | None = strawberry.field(description="City.")
    region: str | None = strawberry.field(description="State, province or region code.")
    postal_code: str | None = strawberry.field(description="Postal code.")
    country_code: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country.")

    @staticmethod
    def of(a: models.Address | None) -> Address | None:
        if a is None:
            return None
        return Address(line1=a.line1, line2=a.line2, city=a.city, region=a.region,
                       postal_code=a.postal_code, country_code=a.country_code)


@strawberry.type(description="A point on Earth (WGS 84).", directives=[scopes()])
class GeoPoint:
    lat: float = strawberry.field(description="Latitude in degrees.")
    lng: float = strawberry.field(description="Longitude in degrees.")


@strawberry.type(description="A value and the record it came from (its provenance).",
                 directives=[scopes()])
class SourcedString:
    value: str = strawberry.field(description="The value.")
    source: str = strawberry.field(description="The system it came from (a source name).")
    record_id: strawberry.ID = strawberry.field(description="The record's id in that system.")
    updated_at: datetime | None = strawberry.field(description="When that record last changed.")

    @staticmethod
    def of(item: people.Sourced[str] | None) -> SourcedString | None:
        if item is None:
            return None
        return SourcedString(value=item.value, source=item.source, record_id=strawberry.ID(
            item.record_id), updated_at=item.updated_at)


@strawberry.type(description="An address and the record it came from.", directives=[scopes()])
class SourcedAddress:
    address: Address = strawberry.field(description="The address.")
    source: str = strawberry.field(description="The system it came from.")
    record_id: strawberry.ID = strawberry.field(description="The record's id in that system.")


# -- locations and catalog --------------------------------------------------------------------
@strawberry.type(description="A warehouse or store. A store known to several systems (its "
                             "e-commerce pickup location and its POS) is one location.",
                 directives=[scopes()])
class Location(Node):
    name: str = strawberry.field(description="Display name.")
    kind: LocationKind = strawberry.field(description="Warehouse or store.")
    code: str | None = strawberry.field(description="The retailer's store code (stores only).")
    address: Address | None = strawberry.field(description="Street address.")
    geo: GeoPoint | None = strawberry.field(description="Coordinates, where a system has them.")

    @staticmethod
    def of(place: stores.Place | None) -> Location | None:
        if place is None:
            return None
        return Location(id=strawberry.ID(place.id), name=place.name,
                        kind=LocationKind(place.kind.value), code=place.code,
                        address=Address.of(place.address),
                        geo=GeoPoint(lat=place.geo.lat, lng=place.geo.lng) if place.geo else None)


@strawberry.type(description="A sellable variant in one system's catalog.",
                 directives=[scopes("catalog:read")])
class Variant:
    source: str = strawberry.field(description="The catalog it is in.")
    id: strawberry.ID = strawberry.field(description="Its id in that catalog.")
    sku: str = strawberry.field(description="Stock keeping unit, shared across systems.")
    title: str = strawberry.field(description="Variant title (size, colour, …).")
    product_title: str = strawberry.field(description="Title of its product.")
    price: Money | None = strawberry.field(description="List price in that system.")


@strawberry.type(description="Stock of a SKU at one location.",
                 directives=[scopes("stock:read"), StoreScoped()])
class InventoryLevel:
    location: Location = strawberry.field(description="Where the stock is.")
    available: Decimal = strawberry.field(description="Units available to sell.")
    updated_at: datetime | None = strawberry.field(description="When it was last counted.")
    source: str = strawberry.field(description="The system that reported it.")


@strawberry.type(description="A store that has a SKU in stock, and how far it is.",
                 directives=[scopes("stock:read"), StoreScoped()])
class StoreStock:
    location: Location = strawberry.field(description="The store.")
    available: Decimal = strawberry.field(description="Units available there (the most recent "
                                                      "count of any system).")
    distance_km: float = strawberry.field(description="Distance from the given point, in km.")
    pickup_today: bool = strawberry.field(description="The store can take a pickup of "
                                                      "`minQuantity` today: the web shop "
                                                      "offers it for pickup and it holds the "
                                                      "quantity beyond its safety stock.")


@strawberry.type(description="A store's stock of a product and whether it can take a pickup.",
                 directives=[scopes("stock:read"), StoreScoped()])
class StoreAvailability:
    location: Location = strawberry.field(description="The store.")
    available: Decimal = strawberry.field(description="Units on hand (the most recent count "
                                                      "of any system).")
    pickup_today: bool = strawberry.field(description="A pickup of the asked quantity can be "
                                                      "promised today: the web shop offers "
                                                      "the store for pickup and it holds the "
                                                      "quantity beyond its safety stock.")
    updated_at: datetime | None = strawberry.field(description="When it was counted.")


@strawberry.type(description="Stock of a product per channel.",
                 directives=[scopes("stock:read")])
class Availability:
    online: Decimal = strawberry.field(description="Sellable online: units in the "
                                                   "warehouses.")
    in_stores: Decimal = strawberry.field(description="Units in all stores.")
    stores: list[StoreAvailability] = strawberry.field(
        description="Each store, those that can take a pickup first.",
        directives=[ListSize(assumed_size=20)])

    @strawberry.field(description="The stores where a pickup can be promised today.",
                      directives=[ListSize(assumed_size=10)])
    def pickup_stores(self) -> list[Location]:
        return [s.location for s in self.stores if s.pickup_today]


@strawberry.type(description="A product by SKU, joined across the e-commerce and POS catalogs.",
                 directives=[scopes("catalog:read")])
class Product(Node):
    sku: str = strawberry.field(description="Stock keeping unit.")
    title: str = strawberry.field(description="Product title (from the first catalog that has "
                                              "it).")
    variants: list[Variant] = strawberry.field(description="The SKU in each catalog.")

    @strawberry.field(description="Stock of this SKU at every location.",
                      directives=[scopes("stock:read"), Cost(weight="5"),
                                  ListSize(assumed_size=50)])
    async def inventory(self, info: Ctx) -> list[InventoryLevel] | None:
        return [InventoryLevel(location=Location.of(place), available=level.available,  # type: ignore[arg-type]
                               updated_at=level.updated_at, source=level.source)
                for place, level in await stores.stock(info, self.sku)]


    @strawberry.field(description="Sellable quantity online, per store, and where a pickup "
                                  "can be promised today.",
                      directives=[scopes("stock:read"), Cost(weight="5")])
    async def availability(self, info: Ctx, quantity: Annotated[int, strawberry.argument(
            description="Units the customer wants (for the pickup promise).")] = 1,
                           ) -> Availability | None:
        if quantity < 1:
            raise GraphQLError("quantity must be at least 1",
                               extensions={"code": "BAD_USER_INPUT"})
        found = await availability.of_sku(info, self.sku, quantity)
        return Availability(online=found.online, in_stores=found.in_stores, stores=[
            StoreAvailability(location=Location.of(s.place),  # type: ignore[arg-type]
                              available=s.available, pickup_today=s.pickup,
                              updated_at=s.updated_at) for s in found.stores])


async def load_product(info: Ctx, sku: str) -> Product | None:
    ctx = info.context
    calls = [(name, ctx.loaders.loader(name, "variants_by_skus").load(sku))
             for name in sorted(ctx.runtime.capable(CatalogSource))]
    variants = [v for _, v in await gather_sources(info, calls) if v is not None]
    if not variants:
        return None
    return Product(id=strawberry.ID(to_global("Product", "sku", sku)), sku=sku,
                   title=variants[0].product_title, variants=[
                       Variant(source=v.source, id=strawberry.ID(v.id), sku=v.sku, title=v.title,
                               product_title=v.product_title, price=Money.of(v.price))
                       for v in variants])


# -- tickets ----------------------------------------------------------------------------------
@strawberry.type(description="A comment on a ticket.",
                 directives=[scopes(), PublicOnly(unless_scope="tickets:internal")])
class TicketComment:
    id: strawberry.ID = strawberry.field(description="Comment id in the helpdesk.")
    author_id: str | None = strawberry.field(description="Helpdesk user id of the author.")
    body: str = strawberry.field(description="Text of the comment.")
    public: bool = strawberry.field(description="Visible to the customer.")
    created_at: datetime = strawberry.field(description="When it was written.")


@strawberry.type(description="A helpdesk ticket (call, email, chat, web form).",
                 directives=[scopes("tickets:read"), Owned()])
class Ticket(Node):
    source: str = strawberry.field(description="The helpdesk it is in.")
    ticket_id: strawberry.ID = strawberry.field(description="Its id in that helpdesk.")
    subject: str = strawberry.field(description="Subject line.")
    status: str = strawberry.field(description="new | open | pending | hold | solved | closed.")
    priority: str | None = strawberry.field(description="low | normal | high | urgent.")
    channel: str | None = strawberry.field(description="How it came in: email, web, voice, "
                                                       "chat, …")
    created_at: datetime = strawberry.field(description="When it was opened.")
    updated_at: datetime | None = strawberry.field(description="When it last changed.")
    order_reference: str | None = strawberry.field(description="The order it is about (an "
                                                               "order number or id).")
    requester: strawberry.Private[str]

    async def owner_id(self, info: Ctx) -> str | None:
        """The golden id of the customer who asked (ownership, ``schema.policy``)."""
        return await _golden_of(info, self.source, self.requester)

    @strawberry.field(description="The conversation, oldest first.",
                      directives=[scopes("tickets:read"), Cost(weight="3"),
                                  ListSize(assumed_size=20)])
    async def comments(self, info: Ctx) -> list[TicketComment] | None:
        found = await gather_sources(info, [(self.source, info.context.loaders.loader(
            self.source, "comments_by_ticket_ids").load(str(self.ticket_id)))])
        if not found:
            return None
        return [TicketComment(id=strawberry.ID(c.id), author_id=c.author_id, body=c.body,
                              public=c.public, created_at=c.created_at) for c in found[0][1]]

    @staticmethod
    def of(t: models.Ticket) -> Ticket:
        return Ticket(id=strawberry.ID(to_global("Ticket", t.source, t.id)), source=t.source,
                      ticket_id=strawberry.ID(t.id), subject=t.subject, status=t.status,
                      priority=t.priority, channel=t.channel, created_at=t.created_at,
                      updated_at=t.updated_at, order_reference=t.order_reference,
                      requester=t.requester_id)


# -- orders -----------------------------------------------------------------------------------
@strawberry.type(description="How an order is (or was) handed over.", directives=[scopes()])
class Fulfillment:
    type: FulfillmentType = strawberry.field(description="Shipping, store pickup or digital.")
    status: str = strawberry.field(description="PENDING | READY | COMPLETED | CANCELLED | "
                                               "FAILED.")
    updated_at: datetime | None = strawberry.field(description="Last status change.")
    tracking_number: str | None = strawberry.field(description="Carrier tracking number.")
    location: Location | None = strawberry.field(description="The pickup store, or where it "
                                                             "shipped from.")


@strawberry.type(description="One line of an order.", directives=[scopes()])
class OrderLine:
    sku: str | None = strawberry.field(description="Stock keeping unit.")
    title: str = strawberry.field(description="What was bought, as the order names it.")
    quantity: Decimal = strawberry.field(description="Units.")
    unit_price: Money = strawberry.field(description="Price of one unit.")
    total: Money = strawberry.field(description="Line total before tax.")

    @strawberry.field(description="The product, joined across catalogs by SKU.",
                      directives=[scopes("catalog:read"), Cost(weight="2")])
    async def product(self, info: Ctx) -> Product | None:
        return None if self.sku is None else await load_product(info, self.sku)

    @classmethod
    def of(cls, line: models.OrderLine | models.CartLine) -> Any:
        return cls(sku=line.sku, title=line.title, quantity=line.quantity,
                   unit_price=Money(amount=line.unit_price.amount,
                                    currency=line.unit_price.currency),
                   total=Money(amount=line.total.amount, currency=line.total.currency))


@strawberry.type(description="One returned line.", directives=[scopes()])
class ReturnLine:
    sku: str | None = strawberry.field(description="Stock keeping unit.")
    title: str = strawberry.field(description="What was returned.")
    quantity: Decimal = strawberry.field(description="Units returned.")
    amount: Money | None = strawberry.field(description="Value refunded for this line.")


@strawberry.type(description="Goods brought back against an order — online, or in a store.",
                 directives=[scopes()])
class OrderReturn:
    source: str = strawberry.field(description="The system that recorded the return.")
    id: strawberry.ID = strawberry.field(description="Its id there (a refund or return "
                                                     "order).")
    returned_at: datetime = strawberry.field(description="When.")
    amount: Money | None = strawberry.field(description="Value refunded.")
    lines: list[ReturnLine] = strawberry.field(description="What was returned.")
    location: Location | None = strawberry.field(description="The store it was returned to, "
                                                             "if any.")


@strawberry.type(description="An order from any channel: a web order or a store sale.",
                 directives=[scopes("orders:read"), Owned()])
class Order(Node):
    source: str = strawberry.field(description="The system that holds the order.")
    order_id: strawberry.ID = strawberry.field(description="Its id in that system.")
    channel: Channel = strawberry.field(description="WEB or STORE.")
    number: str = strawberry.field(description="The number the customer sees (`#1042`).")
    placed_at: datetime = strawberry.field(description="When it was placed.")
    status: str = strawberry.field(description="OPEN | COMPLETED | CANCELLED | RETURN.")
    total: Money = strawberry.field(description="Order total.")
    model: strawberry.Private[models.Order | models.OrderSummary]
    """The whole order, or its summary when the request reads only fields a summary answers
    (``commerce.summary_suffices``): the fields that need more read it through :meth:`whole`."""

    def whole(self) -> models.Order:
        """The whole order; never a summary taken for an order without lines, fulfillments or
        returns (reading one here is a bug of the selection's analysis: an internal error)."""
        if isinstance(self.model, models.OrderSummary):
            raise RuntimeError(f"order {self.source}:{self.model.id} was read as a summary but "
                               "a field needs the whole order")
        return self.model

    @strawberry.field(description="What was bought.", directives=[ListSize(assumed_size=10)])
    def lines(self) -> list[OrderLine]:
        # built when asked for: a list of orders rarely shows its lines
        return [OrderLine.of(line) for line in self.whole().lines]

    @strawberry.field(description="How it is handed over; a store pickup names its store.")
    async def fulfillment(self, info: Ctx) -> Fulfillment | None:
        chosen = sorted(self.whole().fulfillments, key=lambda f: f.type != models.FulfillmentType.
                        PICKUP)
        if not chosen:
            return None
        f = chosen[0]
        index = await stores.location_index(info)
        return Fulfillment(type=FulfillmentType(f.type.value), status=f.status,
                           updated_at=f.updated_at, tracking_number=f.tracking_number,
                           location=Location.of(stores.place_for(index, self.source,
                                                                 f.location_id)))

    @strawberry.field(description="The store that rang up a store sale, or the pickup store "
                                  "of a web order.")
    async def store(self, info: Ctx) -> Location | None:
        order = self.whole()
        index = await stores.location_index(info)
        location_id = order.location_id or next(
            (f.location_id for f in order.fulfillments
             if f.type is models.FulfillmentType.PICKUP), None)
        place = stores.place_for(index, self.source, location_id)
        return Location.of(place) if place and place.kind is models.LocationKind.STORE else None

    @strawberry.field(description="The customer who placed it.",
                      directives=[scopes("customers:lookup")])
    async def customer(self, info: Ctx) -> Customer | None:
        golden = await commerce.owner_of(info, self.model)
        return None if golden is None else Customer(id=strawberry.ID(golden))

    @strawberry.field(description="Returns against this order, wherever they were made "
                                  "(a web order returned in a store included).",
                      directives=[ListSize(assumed_size=5)])
    async def returns(self, info: Ctx) -> list[OrderReturn]:
        order = self.whole()
        index = await stores.location_index(info)
        found = [(self.source, r) for r in order.returns]
        golden = await commerce.owner_of(info, self.model)
        if golden is not None:
            for other in await commerce.person_orders(info, golden):
                ref = other.return_of
                if ref and ref.source == self.source and ref.id == order.id and \
                        other.source != self.source:
                    found.append((other.source, models.OrderReturn(
                        other.source, other.kind, other.id, other.placed_at,
                        tuple(models.ReturnLine(line.sku, line.title, line.quantity, line.total)
                              for line in other.lines), None, other.location_id)))
        return [OrderReturn(source=r.source, id=strawberry.ID(r.id), returned_at=r.returned_at,
                            amount=Money.of(r.amount), lines=[
                                ReturnLine(sku=line.sku, title=line.title,
                                           quantity=line.quantity, amount=Money.of(line.amount))
                                for line in r.lines],
                            location=Location.of(stores.place_for(index, source, r.location_id)))
                for source, r in found]

    @strawberry.field(description="Helpdesk tickets that reference this order.",
                      directives=[scopes("tickets:read"), Cost(weight="3"),
                                  ListSize(assumed_size=5)])
    async def tickets(self, info: Ctx) -> list[Ticket] | None:
        golden = await commerce.owner_of(info, self.model)
        if golden is None:
            return []
        refs = {self.model.number, self.model.id}
        return [Ticket.of(t) for t in await commerce.person_tickets(info, golden)
                if t.order_reference in refs]

    async def owner_id(self, info: Ctx) -> str | None:
        """The golden id of the customer who placed it (ownership, ``schema.policy``)."""
        return await commerce.owner_of(info, self.model)

    @staticmethod
    def of(o: models.Order | models.OrderSummary) -> Order:
        return Order(id=strawberry.ID(to_global("Order", o.source, o.id)), source=o.source,
                     order_id=strawberry.ID(o.id), channel=Channel(o.channel.value),
                     number=o.number, placed_at=o.placed_at, status=o.status,
                     total=Money(amount=o.total.amount, currency=o.total.currency), model=o)


# -- loyalty ----------------------------------------------------------------------------------
@strawberry.type(description="One movement of loyalty points.", directives=[scopes()])
class LedgerEntry:
    occurred_at: datetime = strawberry.field(description="When.")
    points: int = strawberry.field(description="Points earned (positive) or spent (negative).")
    reason: str = strawberry.field(description="PURCHASE | REDEMPTION | RETURN | ADJUSTMENT | "
                                               "EXPIRY.")
    channel: str | None = strawberry.field(description="WEB | STORE | PHONE.")
    order_reference: str | None = strawberry.field(description="`source:id` of the order it "
                                                               "is about.")

    @staticmethod
    def of(e: models.LedgerEntry) -> LedgerEntry:
        return LedgerEntry(occurred_at=e.occurred_at, points=e.points, reason=e.reason,
                           channel=e.channel, order_reference=f"{e.order_ref.source}:"
                           f"{e.order_ref.id}" if e.order_ref else None)


@strawberry.type(description="The customer's loyalty membership.",
                 directives=[scopes("loyalty:read"), Owned()])
class LoyaltyAccount:
    source: str = strawberry.field(description="The loyalty system.")
    card_number: str = strawberry.field(description="Card number.")
    tier: str = strawberry.field(description="BRONZE | SILVER | GOLD | PLATINUM.")
    status: str = strawberry.field(description="ACTIVE | SUSPENDED | CLOSED.")
    points_balance: int = strawberry.field(description="Points available (sum of the ledger).")
    lifetime_points: int = strawberry.field(description="Points ever earned.")
    enrolled_at: datetime = strawberry.field(description="When the customer joined.")
    member_id: strawberry.Private[int]

    async def owner_id(self, info: Ctx) -> str | None:
        """The golden id of the member (ownership, ``schema.policy``)."""
        return await _golden_of(info, self.source, self.card_number)

    @strawberry.field(description="Point movements, newest first.",
                      directives=[Cost(weight="3"), PAGED])
    async def ledger(self, info: Ctx, first: First = 20,
                     after: After = None) -> Connection[LedgerEntry] | None:
        found = await gather_sources(info, [(self.source, info.context.loaders.loader(
            self.source, "ledger_by_member_ids").load(self.member_id))])
        if not found:
            return None
        return Connection.of(paginate(found[0][1], first, after), LedgerEntry.of)


# -- carts ------------------------------------------------------------------------------------
@strawberry.enum(description="What kind of open cart.")
class CartKind(enum.Enum):
    CHECKOUT = strawberry.enum_value("CHECKOUT", description="An online checkout the customer "
                                                             "left before paying.")
    DRAFT_ORDER = strawberry.enum_value("DRAFT_ORDER", description="An order prepared for the "
                                                                   "customer, not yet paid.")


@strawberry.type(description="One line of a cart.", directives=[scopes()])
class CartLine(OrderLine):
    pass


@strawberry.type(description="An open online cart (an abandoned checkout or a draft order): "
                             "what the customer was about to buy, wherever they are now.",
                 directives=[scopes("orders:read"), Owned()])
class Cart(Node):
    source: str = strawberry.field(description="The system that holds it.")
    cart_id: strawberry.ID = strawberry.field(description="Its id in that system.")
    kind: CartKind = strawberry.field(description="Checkout or draft order.")
    name: str | None = strawberry.field(description="The name the merchant sees (`#D12`).")
    status: str = strawberry.field(description="OPEN | INVOICE_SENT | COMPLETED.")
    created_at: datetime = strawberry.field(description="When it was started.")
    updated_at: datetime = strawberry.field(description="When it was last touched.")
    subtotal: Money | None = strawberry.field(description="Lines total before shipping and "
                                                          "tax.")
    total: Money = strawberry.field(description="What the customer would pay.")
    recovery_url: str | None = strawberry.field(description="Where the customer resumes it "
                                                            "(the abandoned checkout or "
                                                            "invoice link).")
    lines: list[CartLine] = strawberry.field(description="What is in it.",
                                             directives=[ListSize(assumed_size=5)])
    customer_ref: strawberry.Private[str | None]

    async def owner_id(self, info: Ctx) -> str | None:
        """The golden id of the customer it belongs to (ownership, ``schema.policy``)."""
        if self.customer_ref is None:
            return None
        return await _golden_of(info, self.source, self.customer_ref)

    @staticmethod
    def of(c: models.Cart) -> Cart:
        return Cart(id=strawberry.ID(to_global("Cart", c.source, c.id)), source=c.source,
                    cart_id=strawberry.ID(c.id), kind=CartKind(c.cart_kind.value),
                    name=c.name, status=c.status, created_at=c.created_at,
                    updated_at=c.updated_at, subtotal=Money.of(c.subtotal),
                    total=Money(amount=c.total.amount, currency=c.total.currency),
                    recovery_url=c.recovery_url, customer_ref=c.customer_id,
                    lines=[CartLine.of(line) for line in c.lines])


# -- the timeline -----------------------------------------------------------------------------
TimelineEventKind = strawberry.enum(history.EventKind, name="TimelineEventKind",
                                    description="What happened.")
InteractionChannel = strawberry.enum(history.EventChannel, name="InteractionChannel",
                                     description="Where it happened: online, in a store, on "
                                                 "the phone, by email, in a chat, in the app.")
TimelineSubject = Annotated[Order | Ticket | LedgerEntry | Cart, strawberry.union(
    "TimelineSubject", description="The object an event is about.")]


def _subject(value: object) -> Order | Ticket | LedgerEntry | Cart | None:
    if isinstance(value, models.Order):
        return Order.of(value)
    if isinstance(value, models.Ticket):
        return Ticket.of(value)
    if isinstance(value, models.LedgerEntry):
        return LedgerEntry.of(value)
    if isinstance(value, models.Cart):
        return Cart.of(value)
    return None


@strawberry.type(description="One thing the customer did or had done, in any channel.",
                 directives=[scopes()])
class TimelineEvent:
    occurred_at: datetime = strawberry.field(description="When.")
    kind: TimelineEventKind = strawberry.field(description="What happened.")  # type: ignore[valid-type]
    channel: InteractionChannel = strawberry.field(description="Where it happened.")  # type: ignore[valid-type]
    source: str = strawberry.field(description="The system it came from (a source name).")
    system: str = strawberry.field(description="That system's kind: shopify, square, zendesk, "
                                               "loyalty.")
    summary: str = strawberry.field(description="One line for a UI.")
    model: strawberry.Private[history.Event]

    @strawberry.field(description="The order, ticket, ledger entry or cart it is about.")
    def subject(self) -> TimelineSubject | None:
        return _subject(self.model.subject)

    @staticmethod
    def of(event: history.Event) -> TimelineEvent:
        return TimelineEvent(occurred_at=event.occurred_at, kind=event.kind,
                             channel=event.channel, source=event.source, system=event.system,
                             summary=event.summary, model=event)


@strawberry.type(description="A page of a customer's timeline, newest first. Cursors are "
                             "positions in time: pages neither repeat nor skip an event when "
                             "new ones arrive between two requests.", directives=[scopes()])
class TimelineConnection:
    edges: list[Edge[TimelineEvent]] = strawberry.field(description="The events of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page is in the timeline.")


# -- requests (traceability) -------------------------------------------------------------------
RequestKind = strawberry.enum(requests.RequestKind, name="RequestKind",
                              description="What the customer is waiting for.")
RequestStatus = strawberry.enum(requests.RequestStatus, name="RequestStatus",
                                description="Where a request is, in one vocabulary across "
                                            "systems; COMPLETED, RESOLVED and CANCELLED are "
                                            "final.")
RequestActor = strawberry.enum(requests.Actor, name="RequestActor",
                               description="Who must act next.")
RequestSubject = Annotated[Order | Ticket, strawberry.union(
    "RequestSubject", description="The order or ticket that holds a request.")]


@strawberry.type(description="What must happen next, and who must do it.",
                 directives=[scopes()])
class NextStep:
    actor: RequestActor = strawberry.field(description="Who must act.")  # type: ignore[valid-type]
    action: str = strawberry.field(description="What they must do, in one line.")


@strawberry.type(description="Something a customer is waiting for — an order to ship, a pickup "
                             "to collect, a return to refund, a ticket to solve, a points "
                             "claim — whatever system holds it.",
                 directives=[scopes(("orders:read", "tickets:read")), Owned()])
class ServiceRequest:
    kind: RequestKind = strawberry.field(description="What kind of request.")  # type: ignore[valid-type]
    status: RequestStatus = strawberry.field(description="Where it is.")  # type: ignore[valid-type]
    open: bool = strawberry.field(description="Still in flight (the status is not final).")
    reference: str = strawberry.field(description="What the customer reads out: an order name, "
                                                  "a receipt id, a ticket number.")
    channel: InteractionChannel = strawberry.field(description="The channel it started in.")  # type: ignore[valid-type]
    source: str = strawberry.field(description="The system that holds it (a source name).")
    system: str = strawberry.field(description="That system's kind.")
    opened_at: datetime = strawberry.field(description="When it started.")
    updated_at: datetime = strawberry.field(description="Its last update.")
    next_step: NextStep | None = strawberry.field(description="What happens next and who "
                                                              "acts; null once final.")
    model: strawberry.Private[requests.Request]

    @strawberry.field(description="The store involved: where to collect, where it was "
                                  "returned.")
    async def store(self, info: Ctx) -> Location | None:
        if self.model.location is None:
            return None
        index = await stores.location_index(info)
        place = stores.place_for(index, *self.model.location)
        return Location.of(place) if place and place.kind is models.LocationKind.STORE \
            else None

    @strawberry.field(description="The order or ticket that holds it.")
    def subject(self) -> RequestSubject | None:
        found = _subject(self.model.subject)
        return found if isinstance(found, Order | Ticket) else None

    async def owner_id(self, info: Ctx) -> str | None:
        """The golden id of the customer it is for (ownership, ``schema.policy``)."""
        subject = self.model.subject
        if isinstance(subject, models.Order):
            return await commerce.owner_of(info, subject)
        return await _golden_of(info, subject.source, subject.requester_id)

    @staticmethod
    def of(r: requests.Request) -> ServiceRequest:
        return ServiceRequest(
            kind=r.kind, status=r.status, open=r.open, reference=r.reference,
            channel=r.channel, source=r.source, system=r.system, opened_at=r.opened_at,
            updated_at=r.updated_at, model=r,
            next_step=NextStep(actor=r.actor, action=r.next_step)
            if r.actor is not None and r.next_step else None)


# -- the customer -----------------------------------------------------------------------------
@strawberry.type(description="One silo record of the customer and the rule that linked it.",
                 directives=[scopes()])
class SourceRecord:
    kind: str = strawberry.field(description="Vendor kind: shopify, square, zendesk, loyalty.")
    source: str = strawberry.field(description="Configured source name.")
    id: strawberry.ID = strawberry.field(description="The record's id in that system.")
    matched_by: str = strawberry.field(description="manual | reference | email | phone+name | "
                                                   "self.")


async def _golden_of(info: Ctx, source: str, record_id: str) -> str | None:
    golden: str | None = await info.context.loaders.registry_loader("golden_of").load(
        (source, record_id))
    return golden


def _aware(moment: datetime | None) -> datetime | None:
    """A moment without offset is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _rules(info: Ctx) -> people.Survivorship:
    rules: people.Survivorship = info.context.runtime.survivorship
    return rules


@strawberry.type(description="One person, whatever systems know them. Values are read live "
                             "from those systems and chosen by survivorship rules; each carries "
                             "its provenance.",
                 directives=[scopes("customers:lookup"), Owned()])
class Customer(Node):
    async def owner_id(self, info: Ctx) -> str | None:
        """Itself (ownership, ``schema.policy``)."""
        return str(self.id)

    @strawberry.field(description="The customer's name.",
                      directives=[scopes("customers:lookup"), PiiAccess(group="name")])
    async def display_name(self, info: Ctx) -> SourcedString | None:
        found = await people.profiles(info, str(self.id))
        return SourcedString.of(people.display_name(found, _rules(info)))

    @strawberry.field(description="The preferred email address.",
                      directives=[CONTACT, Mask(style=MaskStyle.EMAIL),
                                  PiiAccess(group="contact")])
    async def email(self, info: Ctx) -> SourcedString | None:
        found = people.emails(await people.profiles(info, str(self.id)),
                              info.context.runtime.normalizer, _rules(info))
        return SourcedString.of(found[0] if found else None)

    @strawberry.field(description="The preferred phone number (E.164).",
                      directives=[CONTACT, Mask(style=MaskStyle.PHONE),
                                  PiiAccess(group="contact")])
    async def phone(self, info: Ctx) -> SourcedString | None:
        found = people.phones(await people.profiles(info, str(self.id)),
                              info.context.runtime.normalizer, _rules(info))
        return SourcedString.of(found[0] if found else None)

    @strawberry.field(description="Every distinct email address, preferred first.",
                      directives=[CONTACT, Mask(style=MaskStyle.EMAIL),
                                  PiiAccess(group="contact"), ListSize(assumed_size=3)])
    async def emails(self, info: Ctx) -> list[SourcedString] | None:
        found = people.emails(await people.profiles(info, str(self.id)),
                              info.context.runtime.normalizer, _rules(info))
        return [s for s in (SourcedString.of(f) for f in found) if s]

    @strawberry.field(description="Every distinct phone number (E.164), preferred first.",
                      directives=[CONTACT, Mask(style=MaskStyle.PHONE),
                                  PiiAccess(group="contact"), ListSize(assumed_size=3)])
    async def phones(self, info: Ctx) -> list[SourcedString] | None:
        found = people.phones(await people.profiles(info, str(self.id)),
                              info.context.runtime.normalizer, _rules(info))
        return [s for s in (SourcedString.of(f) for f in found) if s]

    @strawberry.field(description="Every distinct address, preferred first.",
                      directives=[CONTACT, Mask(style=MaskStyle.ADDRESS),
                                  PiiAccess(group="address"), ListSize(assumed_size=3)])
    async def addresses(self, info: Ctx) -> list[SourcedAddress] | None:
        found = people.addresses(await people.profiles(info, str(self.id)), _rules(info))
        return [SourcedAddress(address=Address.of(a.value), source=a.source,  # type: ignore[arg-type]
                               record_id=strawberry.ID(a.record_id)) for a in found]

    @strawberry.field(description="The silo records that are this customer.",
                      directives=[scopes("records:read"), PiiAccess(group="records"),
                                  ListSize(assumed_size=4)])
    async def source_records(self, info: Ctx) -> list[SourceRecord] | None:
        return [SourceRecord(kind=r.kind, source=r.source, id=strawberry.ID(r.id),
                             matched_by=r.matched_by)
                for r in await people.linked_records(info, str(self.id))]

    @strawberry.field(description="Orders from every channel, newest first.",
                      directives=[scopes("orders:read"), PiiAccess(group="orders"),
                                  Cost(weight="10"), PAGED])
    async def orders(self, info: Ctx, channel: Annotated[Channel | None, strawberry.argument(
                         description="Only orders of this channel.")] = None,
                     first: First = 20, after: After = None) -> Connection[Order] | None:
        found: list[models.Order] | list[models.Order | models.OrderSummary]
        if commerce.summary_suffices(info):
            found = await commerce.person_order_summaries(info, str(self.id))
        else:
            found = await commerce.person_orders(info, str(self.id))
        if channel is not None:
            found = [o for o in found if o.channel.value == channel.value]
        return Connection.of(paginate(found, first, after), Order.of)

    @strawberry.field(description="Helpdesk tickets, newest first.",
                      directives=[scopes("tickets:read"), PiiAccess(group="tickets"),
                                  Cost(weight="5"), PAGED])
    async def tickets(self, info: Ctx, status: Annotated[list[str] | None, strawberry.argument(
                          description="Only tickets in these statuses (new, open, pending, "
                                      "hold, solved, closed).")] = None,
                      first: First = 20, after: After = None) -> Connection[Ticket] | None:
        found = await commerce.person_tickets(info, str(self.id))
        if status:
            wanted = {s.lower() for s in status}
            found = [t for t in found if t.status.lower() in wanted]
        return Connection.of(paginate(found, first, after), Ticket.of)

    @strawberry.field(description="Loyalty membership, if the customer has one.",
                      directives=[scopes("loyalty:read"), PiiAccess(group="loyalty"),
                                  Cost(weight="3")])
    async def loyalty(self, info: Ctx) -> LoyaltyAccount | None:
        found = await people.per_record(info, str(self.id), LoyaltySource, "accounts_by_cards")
        accounts = [a for _, a in found if a is not None]
        if not accounts:
            return None
        a = max(accounts, key=lambda acc: acc.lifetime_points)
        return LoyaltyAccount(source=a.source, card_number=a.id, tier=a.tier, status=a.status,
                              points_balance=a.points_balance, lifetime_points=a.lifetime_points,
                              enrolled_at=a.enrolled_at, member_id=a.member_id)

    @strawberry.field(description="Everything the customer did or had done, in every channel "
                                  "and system, newest first: orders, pickups, shipments, "
                                  "returns and refunds, tickets and replies, points, carts "
                                  "left online. Read in windows: any page costs a bounded "
                                  "number of upstream requests.",
                      directives=[scopes(("orders:read", "tickets:read", "loyalty:read")),
                                  PiiAccess(group="history"), Cost(weight="20"), PAGED])
    async def timeline(
        self, info: Ctx, first: First = 20, after: After = None,
        kinds: Annotated[list[TimelineEventKind] | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only events of these kinds.")] = None,
        channels: Annotated[list[InteractionChannel] | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only events in these channels.")] = None,
        since: Annotated[datetime | None, strawberry.argument(
            description="Only events at or after this moment.")] = None,
        until: Annotated[datetime | None, strawberry.argument(
            description="Only events at or before this moment.")] = None,
    ) -> TimelineConnection | None:
        filters = timeline.Filters(
            kinds=frozenset(kinds) if kinds else None,
            channels=frozenset(channels) if channels else None,
            since=_aware(since), until=_aware(until))
        found = await timeline.page(info, str(self.id), first, after, filters)
        edges = [Edge(cursor=c, node=TimelineEvent.of(e)) for c, e in found.events]
        return TimelineConnection(edges=edges, page_info=PageInfo(
            has_next_page=found.has_next, has_previous_page=found.has_previous,
            start_cursor=edges[0].cursor if edges else None, end_cursor=found.end_cursor))

    @strawberry.field(description="Every request still in flight — orders to ship, pickups "
                                  "to collect, returns to refund, tickets to solve, points "
                                  "claims — most recently updated first, with who acts next.",
                      directives=[scopes(("orders:read", "tickets:read", "loyalty:read")),
                                  PiiAccess(group="history"), Cost(weight="15"),
                                  ListSize(assumed_size=10)])
    async def open_requests(self, info: Ctx) -> list[ServiceRequest] | None:
        return [ServiceRequest.of(r) for r in await requests.open_requests(info, str(self.id))]

    @strawberry.field(description="Open online carts and checkouts (abandoned checkouts, draft "
                                  "orders), most recently touched first.",
                      directives=[scopes("orders:read"), PiiAccess(group="orders"),
                                  Cost(weight="5"), ListSize(assumed_size=3)])
    async def carts(self, info: Ctx) -> list[Cart] | None:
        found = await people.per_record(info, str(self.id), CartSource,
                                        "carts_by_customer_ids")
        carts = sorted((c for _, cs in found for c in cs), key=lambda c: c.updated_at,
                       reverse=True)
        return [Cart.of(c) for c in carts]

    @strawberry.field(description="What the customer has spent across channels: order totals "
                                  "of orders not cancelled, less the value returned.",
                      directives=[scopes("orders:read"), PiiAccess(group="orders"),
                                  Cost(weight="10")])
    async def lifetime_value(self, info: Ctx) -> Money | None:
        found = await commerce.person_orders(info, str(self.id))
        currencies = {o.total.currency for o in found}
        if len(currencies) > 1:
            return None
        total = Decimal(0)
        for order in found:
            if order.status in ("CANCELLED", "RETURN"):
                continue
            total += order.total.amount
            total -= sum((r.amount.amount for r in order.returns if r.amount), Decimal(0))
        return Money(amount=total, currency=currencies.pop() if currencies else "USD")


