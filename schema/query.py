"""The root query: find a customer, an order, a product, stock."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import strawberry
from graphql import GraphQLError

from adapters.models import GeoPoint
from adapters.protocols import CustomerSource, OrderSource
from resolvers import availability, requests, stores
from resolvers.ids import from_global
from resolvers.pagination import paginate
from resolvers.sources import gather_sources
from schema.policy import (
    SEARCH_PAGE,
    Cost,
    ListSize,
    RequiresScopesIfAbsent,
    RequiresScopesOver,
    scopes,
)
from schema.types import (
    Connection,
    Ctx,
    Customer,
    Edge,
    InventoryLevel,
    Location,
    Node,
    Order,
    PageInfo,
    Product,
    ServiceRequest,
    StoreStock,
    load_product,
)

Sku = Annotated[str, strawberry.argument(description="Stock keeping unit.")]
LIST_ALL = RequiresScopesIfAbsent(scopes=[["customers:list"]])


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


@strawberry.input(description="A record in one silo: its vendor kind and the id its API uses.")
class SourceRefInput:
    kind: str = strawberry.field(description="shopify | square | zendesk | loyalty.")
    id: strawberry.ID = strawberry.field(description="The id in that system (a loyalty card "
                                                     "number for loyalty).")


@strawberry.input(description="A point on Earth.")
class GeoInput:
    lat: float = strawberry.field(description="Latitude in degrees.")
    lng: float = strawberry.field(description="Longitude in degrees.")


async def _customer_from_records(info: Ctx, kind: str, record_id: str) -> str | None:
    runtime = info.context.runtime
    sources = [name for name, a in runtime.adapters.items() if a.kind == kind]
    if not sources:
        raise _bad_input(f"no source of kind {kind!r} is configured")
    known: list[str | None] = await info.context.loaders.registry_loader(
        "golden_of").load_many([(s, record_id) for s in sources])
    found = next((g for g in known if g), None)
    if found is not None:
        return found
    calls = [(s, runtime.adapters[s].customers_by_ids([record_id])) for s in sources
             if isinstance(runtime.adapters[s], CustomerSource)]
    customers = [c for _, result in await gather_sources(info, calls) for c in result if c]
    if not customers:
        return None
    await runtime.identity.link_customers(customers)
    known = await runtime.registry.golden_of([(c.source, c.id) for c in customers])
    return next((g for g in known if g), None)


def _one(golden_ids: list[str]) -> str | None:
    if len(golden_ids) > 1:
        raise GraphQLError("the identifier belongs to several customers; use Query.customers",
                           extensions={"code": "AMBIGUOUS_IDENTIFIER"})
    return golden_ids[0] if golden_ids else None


async def resolve_customer(info: Ctx, id: strawberry.ID | None = None, email: str | None = None,
                           phone: str | None = None,
                           source_ref: SourceRefInput | None = None,
                           loyalty_card: str | None = None) -> Customer | None:
    given = [v for v in (id, email, phone, source_ref, loyalty_card) if v is not None]
    if len(given) != 1:
        raise _bad_input("give exactly one of id, email, phone, loyaltyCard, sourceRef")
    runtime = info.context.runtime
    lookups = info.context.loaders.registry_loader("lookup_many")

    async def lookup(key_type: str, value: str) -> list[str]:
        found: list[str] = await lookups.load((key_type, value))
        return found

    if id is not None:
        golden = await info.context.loaders.registry_loader("resolve").load(str(id))
    elif email is not None:
        golden = _one(await runtime.identity.find_by_email(email, lookup=lookup))
    elif phone is not None:
        golden = _one(await runtime.identity.find_by_phone(phone, lookup=lookup))
    elif loyalty_card is not None:
        golden = await _customer_from_records(info, "loyalty", loyalty_card.strip())
    else:
        assert source_ref is not None
        golden = await _customer_from_records(info, source_ref.kind, str(source_ref.id))
    return None if golden is None else Customer(id=strawberry.ID(golden))


async def resolve_order(info: Ctx, id: strawberry.ID) -> Order | None:
    parsed = from_global(str(id))
    if parsed is None or parsed[0] != "Order":
        raise _bad_input("not an order id")
    _, source, order_id = parsed
    if source not in info.context.runtime.capable(OrderSource):
        return None
    found = await gather_sources(info, [(source, info.context.loaders.loader(
        source, "orders_by_ids").load(order_id))])
    return Order.of(found[0][1]) if found and found[0][1] is not None else None


def _golden_cursor(golden: str) -> str:
    return base64.urlsafe_b64encode(f"g:{golden}".encode()).decode().rstrip("=")


def _golden_after(after: str | None) -> str | None:
    if after is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad_input("invalid cursor") from None
    if not raw.startswith("g:"):
        raise _bad_input("invalid cursor")
    return raw[2:]


@strawberry.type(description="c360: one graph over the retailer's e-commerce, point of sale, "
                             "helpdesk and loyalty systems.")
class Query:
    @strawberry.field(description="The customer the caller acts for (a customer token); null "
                                  "for staff and services.",
                      directives=[scopes("customers:lookup")])
    async def me(self, info: Ctx) -> Customer | None:
        golden = info.context.acting_for
        return None if golden is None else Customer(id=strawberry.ID(golden))

    @strawberry.field(description="One customer, by exactly one of: golden id, email, phone "
                                  "(any format), loyalty card or a silo record.",
                      directives=[scopes("customers:lookup")])
    async def customer(
        self, info: Ctx,
        id: Annotated[strawberry.ID | None, strawberry.argument(
            description="The golden id (`Customer.id`); an id retired by a merge still "
                        "works.")] = None,
        email: Annotated[str | None, strawberry.argument(
            description="An email address, in any case or with Gmail dots/+tags.")] = None,
        phone: Annotated[str | None, strawberry.argument(
            description="A phone number in any format; national numbers are read in the "
                        "configured regions.")] = None,
        loyalty_card: Annotated[str | None, strawberry.argument(
            description="A loyalty card number, as printed on the card.")] = None,
        source_ref: Annotated[SourceRefInput | None, strawberry.argument(
            description="A record in one silo.",
            directives=[scopes("records:read")])] = None,
    ) -> Customer | None:
        return await resolve_customer(info, id, email, phone, source_ref, loyalty_card)

    @strawberry.field(description="Customers in the registry matching an email, a phone or a "
                                  "name; without `search`, everyone (`customers:list`).",
                      directives=[scopes("customers:search", "customers:list"),
                                  ListSize(slicing_arguments=["first"], sized_fields=["edges"],
                                           assumed_size=SEARCH_PAGE)])
    async def customers(
        self, info: Ctx,
        search: Annotated[str | None, strawberry.argument(
            description="An email, a phone number or words of a name.",
            directives=[LIST_ALL])] = None,
        first: Annotated[int | None, strawberry.argument(
            description=f"How many items (at most 100; {SEARCH_PAGE} without "
                        f"`customers:list`).",
            directives=[RequiresScopesOver(scopes=[["customers:list"]],
                                           limit=SEARCH_PAGE)])] = SEARCH_PAGE,
        after: Annotated[str | None, strawberry.argument(
            description="Continue after this cursor (a previous page's `pageInfo.endCursor`).",
            directives=[scopes("customers:list")])] = None,
    ) -> Connection[Customer] | None:
        runtime = info.context.runtime
        if search is None or not search.strip():
            size = max(0, min(first if first is not None else SEARCH_PAGE, 100))
            start = _golden_after(after)
            ids = await runtime.registry.people(after=start, limit=size + 1)
            edges = [Edge(cursor=_golden_cursor(g), node=Customer(id=strawberry.ID(g)))
                     for g in ids[:size]]
            return Connection(edges=edges, total=runtime.registry.count_people,
                              page_info=PageInfo(
                                  has_next_page=len(ids) > size,
                                  has_previous_page=start is not None,
                                  start_cursor=edges[0].cursor if edges else None,
                                  end_cursor=edges[-1].cursor if edges else None))
        if "@" in search:
            golden = await runtime.identity.find_by_email(search)
        elif runtime.normalizer.phone(search):
            golden = await runtime.identity.find_by_phone(search)
        else:
            golden = await runtime.registry.search_names(search)
        return Connection.of(paginate(golden, first, after),
                             lambda g: Customer(id=strawberry.ID(g)))

    @strawberry.field(description="One order by its global id (`Order.id`).",
                      directives=[scopes("orders:read")])
    async def order(self, info: Ctx, id: Annotated[strawberry.ID, strawberry.argument(
            description="The order's global id (`Order.id`).")]) -> Order | None:
        return await resolve_order(info, id)

    @strawberry.field(description="A product by SKU, across catalogs.",
                      directives=[scopes("catalog:read")])
    async def product(self, info: Ctx, sku: Sku) -> Product | None:
        return await load_product(info, sku)

    @strawberry.field(description="Stock of a SKU, at the given locations (`Location.id`) or "
                                  "everywhere.",
                      directives=[scopes("stock:read"), Cost(weight="5"),
                                  ListSize(assumed_size=50)])
    async def inventory(self, info: Ctx, sku: Sku,
                        location_ids: Annotated[list[strawberry.ID] | None, strawberry.argument(
                            description="Only these locations (`Location.id`).")] = None,
                        ) -> list[InventoryLevel] | None:
        wanted = {str(i) for i in location_ids} if location_ids else None
        return [InventoryLevel(location=Location.of(place),  # type: ignore[arg-type]
                                   available=level.available, updated_at=level.updated_at,
                                   source=level.source)
                for place, level in await stores.stock(info, sku)
                if wanted is None or place.id in wanted]

    @strawberry.field(description="Stores within `radiusKm` of a point that have at least "
                                  "`minQuantity` of a SKU, nearest first.",
                      directives=[scopes("stock:read"), Cost(weight="5"),
                                  ListSize(assumed_size=20)])
    async def stores_with_stock(
        self, info: Ctx, sku: Sku,
        near: Annotated[GeoInput, strawberry.argument(description="Where the customer is.")],
        radius_km: Annotated[float, strawberry.argument(
            description="How far to look, in km.")] = 25.0,
        min_quantity: Annotated[int, strawberry.argument(
            description="Units a store must have.")] = 1,
    ) -> list[StoreStock] | None:
        if radius_km <= 0 or min_quantity < 1:
            raise _bad_input("radiusKm must be positive and minQuantity at least 1")
        origin = GeoPoint(near.lat, near.lng)
        found = []
        summary = availability.summarize(await stores.stock(info, sku),
                                         availability.pickup_sources(info), min_quantity)
        for store in summary.stores:
            if store.place.geo is None:
                continue
            distance = stores.distance_km(origin, store.place.geo)
            if distance <= radius_km and store.available >= min_quantity:
                found.append(StoreStock(location=Location.of(store.place),  # type: ignore[arg-type]
                                        available=store.available,
                                        distance_km=round(distance, 3),
                                        pickup_today=store.pickup))
        return sorted(found, key=lambda s: s.distance_km)

    @strawberry.field(description="Requests found from what a customer reads out or shows: a "
                                  "web order name (`#1042` or `1042`), a store receipt (its "
                                  "order id), a ticket number, a loyalty card (its holder's "
                                  "open requests). Several matches are all returned, none is "
                                  "an empty list.",
                      directives=[scopes(("customers:lookup", "orders:read", "tickets:read")),
                                  Cost(weight="10"), ListSize(assumed_size=3)])
    async def request(self, info: Ctx, reference: Annotated[str, strawberry.argument(
            description="An order name, a receipt, a ticket number or a loyalty card.")]
                      ) -> list[ServiceRequest] | None:
        if len(reference) > 80:
            return []
        return [ServiceRequest.of(r) for r in await requests.find(info, reference)]

    @strawberry.field(description="Any object by its global id; what the caller may receive "
                                  "depends on the object's type.", directives=[scopes()])
    async def node(self, info: Ctx, id: Annotated[strawberry.ID, strawberry.argument(
            description="A global id (`Customer.id`, `Order.id`, `Location.id`, …).")],
                   ) -> Node | None:
        if str(id).startswith("store:"):
            index = await stores.location_index(info)
            return Location.of(index.by_id.get(str(id)))
        parsed = from_global(str(id))
        if parsed is None:
            raise _bad_input("not a c360 id")
        type_name = parsed[0]
        if type_name == "Customer":
            return await resolve_customer(info, id=id)
        if type_name == "Order":
            return await resolve_order(info, id)
        if type_name == "Product":
            return await load_product(info, parsed[2])
        if type_name == "Location":
            index = await stores.location_index(info)
            return Location.of(index.by_id.get(str(id)))
        return None
