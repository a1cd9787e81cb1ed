"""Square API v2 JSON → canonical models. Pure functions, no I/O.

Money is ``{"amount": <minor units>, "currency"}``; times are RFC 3339. Shape surprises raise
``KeyError`` / ``TypeError`` / ``ValueError``, which the adapter turns into
``UpstreamBadResponse`` (see :func:`adapters.http.parsing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.models import (
    Address,
    Channel,
    Customer,
    Fulfillment,
    FulfillmentType,
    GeoPoint,
    InventoryLevel,
    Location,
    LocationKind,
    Money,
    Order,
    OrderLine,
    OrderReturn,
    ReturnLine,
    SourceRef,
    Variant,
)

KIND = "square"
Json = Mapping[str, Any]

_ORDER_STATES = {"OPEN": "OPEN", "DRAFT": "OPEN", "COMPLETED": "COMPLETED",
                 "CANCELED": "CANCELLED"}
_FULFILLMENT_TYPES = {
    "PICKUP": FulfillmentType.PICKUP,
    "SHIPMENT": FulfillmentType.SHIPPING,
    "DELIVERY": FulfillmentType.SHIPPING,
    "DIGITAL": FulfillmentType.DIGITAL,
}
_FULFILLMENT_STATES = {
    "PROPOSED": "PENDING",
    "RESERVED": "PENDING",
    "PREPARED": "READY",
    "COMPLETED": "COMPLETED",
    "CANCELED": "CANCELLED",
    "FAILED": "FAILED",
}
_DETAILS = {"PICKUP": "pickup_details", "SHIPMENT": "shipment_details",
            "DELIVERY": "delivery_details"}
# Fulfillment milestones; the latest one present is when the fulfillment last changed.
_MILESTONES = ("placed_at", "accepted_at", "ready_at", "in_progress_at", "packaged_at",
               "shipped_at", "picked_up_at", "delivered_at", "completed_at", "canceled_at",
               "cancelled_at", "rejected_at", "expired_at", "failed_at")


@dataclass(frozen=True, slots=True)
class Context:
    """What parsing needs beyond the payload: the configured names and resolved SKUs."""

    source: str
    references: Mapping[str, str] | None = None
    """Customer field → source name (``{"reference_id": "loyalty"}``)."""
    return_reference_source: str | None = None
    skus: Mapping[str, str | None] | None = None
    """Catalog variation id → its SKU (None: the variation has none)."""


def timestamp(value: Any) -> datetime:
    """An RFC 3339 time as an aware datetime (``ValueError`` if it is not one)."""
    if not isinstance(value, str):
        raise TypeError("timestamp must be a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("timestamp without a UTC offset")
    return moment


def _optional_time(value: Any) -> datetime | None:
    return None if value is None else timestamp(value)


def money(value: Json) -> Money:
    amount = value["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("money amount must be an integer of minor units")
    return Money.from_minor(amount, value["currency"])


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value or None


def _address(data: Json | None, phone: str | None = None) -> Address | None:
    if not data:
        return None if phone is None else Address(phone=phone)
    return Address(
        line1=_text(data.get("address_line_1")),
        line2=_text(data.get("address_line_2")),
        city=_text(data.get("locality")),
        region=_text(data.get("administrative_district_level_1")),
        postal_code=_text(data.get("postal_code")),
        country_code=_text(data.get("country")),
        phone=phone,
    )


# -- customers -------------------------------------------------------------------------------


def customer(data: Json, ctx: Context) -> Customer:
    """One ``Customer`` object."""
    email = _text(data.get("email_address"))
    phone = _text(data.get("phone_number"))
    address = _address(data.get("address"))
    references = tuple(
        (source, value)
        for field, source in (ctx.references or {}).items()
        if (value := _text(data.get(field))) is not None
    )
    return Customer(
        source=ctx.source,
        kind=KIND,
        id=str(data["id"]),
        first_name=_text(data.get("given_name")),
        last_name=_text(data.get("family_name")),
        emails=(email,) if email else (),
        phones=(phone,) if phone else (),
        addresses=(address,) if address else (),
        created_at=_optional_time(data.get("created_at")),
        updated_at=_optional_time(data.get("updated_at")),
        country_code=address.country_code if address else None,
        references=references,
    )


def customers_page(payload: Json, ctx: Context) -> tuple[list[Customer], str | None]:
    """A ListCustomers / SearchCustomers page and its cursor (None on the last page)."""
    found = [customer(data, ctx) for data in payload.get("customers") or ()]
    return found, _text(payload.get("cursor"))


def bulk_customers(payload: Json, ctx: Context) -> dict[str, Customer | None]:
    """BulkRetrieveCustomers: ``{id: Customer}``, None for a per-id ``NOT_FOUND``."""
    found: dict[str, Customer | None] = {}
    for customer_id, entry in payload["responses"].items():
        if entry.get("customer") is not None:
            found[customer_id] = customer(entry["customer"], ctx)
            continue
        codes = {error["code"] for error in entry.get("errors") or ()}
        if codes != {"NOT_FOUND"}:
            raise ValueError("bulk-retrieve entry with neither a customer nor NOT_FOUND")
        found[customer_id] = None
    return found


# -- locations -------------------------------------------------------------------------------


def location(data: Json, ctx: Context) -> Location:
    """A Square location: always a store (the point of sale)."""
    coordinates = data.get("coordinates")
    geo = None
    if coordinates:
        geo = GeoPoint(float(coordinates["latitude"]), float(coordinates["longitude"]))
    phone = _text(data.get("phone_number"))
    address = _address(data.get("address"), phone) or Address()
    if address.country_code is None and data.get("country"):
        address = Address(address.line1, address.line2, address.city, address.region,
                          address.postal_code, _text(data["country"]), address.phone)
    return Location(
        source=ctx.source,
        kind=KIND,
        id=str(data["id"]),
        name=str(data["name"]),
        location_kind=LocationKind.STORE,
        address=address,
        geo=geo,
        active=data.get("status", "ACTIVE") == "ACTIVE",
    )


def locations(payload: Json, ctx: Context) -> list[Location]:
    """ListLocations (an empty object when the seller has none)."""
    return [location(data, ctx) for data in payload.get("locations") or ()]


# -- catalog ---------------------------------------------------------------------------------


def _variations(objects: Iterable[Json]) -> Iterable[Json]:
    """Every ITEM_VARIATION, top-level or nested in an ITEM."""
    for obj in objects:
        if obj["type"] == "ITEM_VARIATION":
            yield obj
        elif obj["type"] == "ITEM":
            yield from obj["item_data"].get("variations") or ()


def catalog_skus(payload: Json) -> dict[str, str | None]:
    """BatchRetrieveCatalogObjects → ``{variation id: sku or None}``."""
    return {
        str(v["id"]): _text(v["item_variation_data"].get("sku"))
        for v in _variations(payload.get("objects") or ())
    }


def variants_page(payload: Json, ctx: Context) -> tuple[list[Variant], str | None]:
    """A SearchCatalogObjects page of variations (with their items as ``related_objects``):
    the variants carrying a SKU, and the cursor."""
    objects = list(payload.get("objects") or ())
    items = {
        str(obj["id"]): obj
        for obj in (*objects, *(payload.get("related_objects") or ()))
        if obj["type"] == "ITEM"
    }
    found: list[Variant] = []
    for variation in _variations(objects):
        data = variation["item_variation_data"]
        sku = _text(data.get("sku"))
        if sku is None or variation.get("is_deleted"):
            continue
        item_id = str(data["item_id"])
        item = items.get(item_id)
        price = data.get("price_money")
        found.append(Variant(
            source=ctx.source,
            kind=KIND,
            id=str(variation["id"]),
            sku=sku,
            title=_text(data.get("name")) or sku,
            product_id=item_id,
            product_title=(_text(item["item_data"].get("name")) or "") if item else "",
            price=money(price) if price else None,
            inventory_item_id=str(variation["id"]),
        ))
    return found, _text(payload.get("cursor"))


@dataclass(frozen=True, slots=True)
class Count:
    """One IN_STOCK inventory count of a catalog variation at a location."""

    variation_id: str
    location_id: str
    quantity: Decimal
    calculated_at: datetime | None


def inventory_counts(payload: Json) -> tuple[list[Count], str | None]:
    """A BatchRetrieveInventoryCounts page: its IN_STOCK counts and the cursor."""
    found = [
        Count(
            variation_id=str(count["catalog_object_id"]),
            location_id=str(count["location_id"]),
            quantity=Decimal(count["quantity"]),
            calculated_at=_optional_time(count.get("calculated_at")),
        )
        for count in payload.get("counts") or ()
        if count["state"] == "IN_STOCK"
    ]
    return found, _text(payload.get("cursor"))


def levels(sku: str, counts: Iterable[Count], ctx: Context) -> list[InventoryLevel]:
    """The stock of ``sku`` per location from the counts of its variations (summed: Square
    allows several variations with one SKU), by location id."""
    quantity: dict[str, Decimal] = {}
    stamps: dict[str, list[datetime]] = {}
    for count in counts:
        quantity[count.location_id] = quantity.get(count.location_id, Decimal(0)) + count.quantity
        moments = stamps.setdefault(count.location_id, [])
        if count.calculated_at is not None:
            moments.append(count.calculated_at)
    return [
        InventoryLevel(
            source=ctx.source,
            kind=KIND,
            sku=sku,
            location_id=location_id,
            available=quantity[location_id],
            updated_at=max(stamps[location_id]) if stamps[location_id] else None,
        )
        for location_id in sorted(quantity)
    ]


# -- orders ----------------------------------------------------------------------------------


def catalog_object_ids(orders: Iterable[Json]) -> set[str]:
    """The catalog variations the orders' (return) line items were sold as."""
    found: set[str] = set()
    for order in orders:
        for line in order.get("line_items") or ():
            if line.get("catalog_object_id"):
                found.add(str(line["catalog_object_id"]))
        for order_return in order.get("returns") or ():
            for line in order_return.get("return_line_items") or ():
                if line.get("catalog_object_id"):
                    found.add(str(line["catalog_object_id"]))
    return found


def _sku(line: Json, ctx: Context) -> str | None:
    object_id = line.get("catalog_object_id")
    return (ctx.skus or {}).get(str(object_id)) if object_id else None


def _title(line: Json) -> str:
    return _text(line.get("name")) or _text(line.get("variation_name")) or ""


def _line(line: Json, ctx: Context) -> OrderLine:
    object_id = line.get("catalog_object_id")
    return OrderLine(
        sku=_sku(line, ctx),
        title=_title(line),
        quantity=Decimal(line["quantity"]),
        unit_price=money(line["base_price_money"]),
        total=money(line["total_money"]),
        variant_id=str(object_id) if object_id else None,
    )


def _fulfillment(data: Json, location_id: str | None) -> Fulfillment | None:
    kind = _FULFILLMENT_TYPES.get(data["type"])
    if kind is None:
        return None
    details = data.get(_DETAILS.get(data["type"], "")) or {}
    moments = [timestamp(details[key]) for key in _MILESTONES if details.get(key)]
    return Fulfillment(
        type=kind,
        status=_FULFILLMENT_STATES.get(data.get("state") or "PROPOSED", "PENDING"),
        location_id=location_id,
        updated_at=max(moments) if moments else None,
        tracking_number=_text(details.get("tracking_number")),
    )


def _order_return(order: Json, entry: Json, ctx: Context) -> OrderReturn:
    lines = tuple(
        ReturnLine(
            sku=_sku(line, ctx),
            title=_title(line),
            quantity=Decimal(line["quantity"]),
            amount=money(line["total_money"]) if line.get("total_money") else None,
        )
        for line in entry.get("return_line_items") or ()
    )
    amounts = entry.get("return_amounts") or {}
    return OrderReturn(
        source=ctx.source,
        kind=KIND,
        id=str(order["id"]),
        returned_at=timestamp(order["created_at"]),
        lines=lines,
        amount=money(amounts["total_money"]) if amounts.get("total_money") else None,
        location_id=_text(order.get("location_id")),
    )


def _return_of(data: Json, ctx: Context) -> SourceRef | None:
    for entry in data.get("returns") or ():
        if entry.get("source_order_id"):
            return SourceRef(ctx.source, str(entry["source_order_id"]))
    reference = _text(data.get("reference_id"))
    if data.get("returns") and reference and ctx.return_reference_source:
        return SourceRef(ctx.return_reference_source, reference)
    return None


def order(data: Json, ctx: Context, returns: Sequence[OrderReturn] = ()) -> Order:
    """One ``Order`` object; ``returns`` are the returns of this sale found elsewhere.

    A return-only order (``returns`` and no ``line_items``) has status RETURN, its returned
    items as lines, and ``return_of`` the sale it returns: ``returns[].source_order_id`` (this
    source) or, failing that, its ``reference_id`` as an order of ``return_reference_source``.
    """
    line_items = data.get("line_items") or ()
    return_entries = data.get("returns") or ()
    is_return = bool(return_entries) and not line_items
    state = str(data.get("state") or "OPEN")
    status = ("CANCELLED" if state == "CANCELED" else "RETURN") if is_return \
        else _ORDER_STATES.get(state, state)
    if is_return:
        lines = tuple(
            _line(line, ctx)
            for entry in return_entries
            for line in entry.get("return_line_items") or ()
        )
    else:
        lines = tuple(_line(line, ctx) for line in line_items)
    location_id = _text(data.get("location_id"))
    fulfillments = tuple(
        f for raw in data.get("fulfillments") or () if (f := _fulfillment(raw, location_id))
    )
    return Order(
        source=ctx.source,
        kind=KIND,
        id=str(data["id"]),
        number=str(data["id"]),
        channel=Channel.STORE,
        customer_id=_text(data.get("customer_id")),
        placed_at=timestamp(data["created_at"]),
        updated_at=_optional_time(data.get("updated_at")),
        status=status,
        total=money(data["total_money"]),
        lines=lines,
        fulfillments=fulfillments,
        returns=tuple(returns),
        location_id=location_id,
        return_of=_return_of(data, ctx),
    )


def orders(raw: Sequence[Json], ctx: Context) -> list[Order]:
    """Orders of one result set, each sale carrying the return orders of the set that
    return it (``returns[].source_order_id``)."""
    returns: dict[str, list[OrderReturn]] = {}
    for data in raw:
        for entry in data.get("returns") or ():
            sale_id = entry.get("source_order_id")
            if sale_id:
                returns.setdefault(str(sale_id), []).append(_order_return(data, entry, ctx))
    for found in returns.values():
        found.sort(key=lambda r: (r.returned_at, r.id))
    return [order(data, ctx, returns.get(str(data["id"]), ())) for data in raw]


def error_codes(payload: Any) -> list[str]:
    """The ``code`` of each error in a Square error answer (``{"errors": [...]}``)."""
    if not isinstance(payload, dict):
        return []
    return [str(e["code"]) for e in payload.get("errors") or () if isinstance(e, dict)
            and e.get("code")]


def orders_page(payload: Json) -> tuple[list[Json], str | None]:
    """A SearchOrders / BatchRetrieveOrders page: the raw orders and the cursor."""
    found = list(payload.get("orders") or ())
    for data in found:
        if not isinstance(data, Mapping):
            raise TypeError("order must be an object")
    return found, _text(payload.get("cursor"))
