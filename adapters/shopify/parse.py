"""Pure mapping of Shopify Admin REST JSON to the canonical models (no I/O), and of the few
Admin GraphQL answers the adapter reads (order references, error codes, the cost bucket).

Money is read exactly: from a ``*_set.shop_money`` object when the record has one (2019-10+),
else from the decimal string beside it in the order's shop ``currency``. Timestamps carry the
shop's offset (``2025-07-02T11:25:58-05:00``); a timestamp without one is read as UTC.

Orders (``status``):

* ``CANCELLED`` when ``cancelled_at`` is set;
* ``COMPLETED`` when ``closed_at`` is set (archived) or ``fulfillment_status`` is ``fulfilled``
  (everything shipped or collected);
* ``OPEN`` otherwise.

An order *summary* (:func:`parse_order_summary`) is the order without its lines, fulfillments
and returns, read from :data:`ORDER_SUMMARY_FIELDS` only; :func:`parse_order` builds every other
field from it, so a summary always equals the whole order's.

Native local pickup: REST has no pickup flag. Shopify's checkout records a pickup as a shipping
line with ``source`` ``"shopify"`` whose ``title``/``code`` is the pickup location's name, so an
order whose shipping line names a location (``pickup_locations``: name -> id) gets one
``PICKUP`` fulfillment at that location: ``PENDING`` until Shopify has a fulfillment for it
(``CANCELLED`` if the order was cancelled first), then the fulfillment's own status. Every other
fulfillment is ``SHIPPING`` from its ``location_id`` with its tracking number.

Returns: each refund with ``refund_line_items`` is an :class:`OrderReturn` (lines with their
refunded subtotal + tax; ``location_id`` where the goods came back, e.g. a store; ``amount`` the
money paid back by its successful ``refund`` transactions, zero when it has none). Refunds of
money only (no line items) are not returns.

Carts (:func:`parse_checkouts`, :func:`parse_draft_orders`): an abandoned checkout is ``OPEN``
until ``completed_at`` is set (``COMPLETED``: the shopper came back and paid); a draft order is
``OPEN``, ``INVOICE_SENT`` or ``COMPLETED`` by its ``status`` (``COMPLETED`` too whenever it has
``completed_at`` or an ``order_id``). A line's total is its price × quantity (a checkout's
``line_price``) less a draft line's own ``applied_discount``; a cart's ``total`` and
``subtotal`` are the vendor's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.models import (
    Address,
    Cart,
    CartKind,
    CartLine,
    Channel,
    Customer,
    Fulfillment,
    FulfillmentType,
    InventoryLevel,
    Location,
    LocationKind,
    Money,
    Order,
    OrderLine,
    OrderReturn,
    OrderSummary,
    ReturnLine,
    Variant,
)

from .config import KIND, TAG_REFERENCE

Record = Mapping[str, Any]
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,60}$")

SHIPMENT_STATUS = {
    "label_printed": "IN_TRANSIT", "label_purchased": "IN_TRANSIT", "confirmed": "IN_TRANSIT",
    "in_transit": "IN_TRANSIT", "ready_for_pickup": "IN_TRANSIT",
    "attempted_delivery": "OUT_FOR_DELIVERY", "out_for_delivery": "OUT_FOR_DELIVERY",
    "delivered": "DELIVERED", "failure": "FAILED",
}
"""A fulfillment's ``shipment_status`` (the carrier's tracking events), vendor-neutral."""

FULFILLMENT_STATUS = {
    "pending": "PENDING",
    "open": "PENDING",
    "success": "COMPLETED",
    "cancelled": "CANCELLED",
    "error": "FAILED",
    "failure": "FAILED",
}


# ------------------------------------------------------------------------------ primitives


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (None for null/empty)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"timestamp must be a string, not {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def required_time(value: object) -> datetime:
    """Like :func:`parse_time`, but a missing timestamp is a shape error."""
    moment = parse_time(value)
    if moment is None:
        raise ValueError("missing timestamp")
    return moment


def decimal(value: object) -> Decimal:
    """A Shopify decimal: a string (``"19.99"``), or a JSON number read via its text."""
    if isinstance(value, bool) or value is None:
        raise TypeError("not an amount")
    if isinstance(value, str | int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        raise TypeError(f"not an amount: {type(value).__name__}")
    if not amount.is_finite():
        raise ValueError("not a finite amount")
    return amount


def money(record: Record, key: str, currency: str) -> Money:
    """``record[key + "_set"].shop_money`` when present, else ``record[key]`` in ``currency``."""
    money_set = record.get(f"{key}_set")
    if isinstance(money_set, Mapping) and isinstance(money_set.get("shop_money"), Mapping):
        shop = money_set["shop_money"]
        return Money(decimal(shop["amount"]), str(shop["currency_code"]).upper())
    return Money(decimal(record[key]), currency.upper())


def _text(value: object) -> str | None:
    """A string field; empty strings are None."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _id(value: object) -> str:
    if value is None or isinstance(value, bool | dict | list):
        raise TypeError("missing id")
    return str(value)


def _optional_id(value: object) -> str | None:
    return None if value is None else _id(value)


def _list(record: Record, key: str) -> list[Any]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{key} must be a list")
    return value


def _sum(amounts: Iterable[Money], currency: str) -> Money:
    total = Money(Decimal(0), currency.upper())
    for amount in amounts:
        if amount.currency != total.currency:
            raise ValueError("mixed currencies")
        total = Money(total.amount + amount.amount, total.currency)
    return total


# ------------------------------------------------------------------------------- customers


def parse_address(record: Record) -> Address:
    """A customer address (``addresses[]`` / ``default_address``); blank fields are None."""
    return Address(
        line1=_text(record.get("address1")),
        line2=_text(record.get("address2")),
        city=_text(record.get("city")),
        region=_text(record.get("province_code")) or _text(record.get("province")),
        postal_code=_text(record.get("zip")),
        country_code=_text(record.get("country_code")),
        phone=_text(record.get("phone")),
    )


def tag_references(tags: object, references: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(source, id) for each tag ``<prefix><id>`` matching a ``"tag:<prefix>"`` reference."""
    if not tags or not references:
        return ()
    if isinstance(tags, str):
        parts = tags.split(",")
    elif isinstance(tags, list):
        parts = [str(tag) for tag in tags]
    else:
        raise TypeError("tags must be a string")
    found: dict[tuple[str, str], None] = {}
    for part in parts:
        tag = part.strip()
        for rule, source in references.items():
            prefix = rule[len(TAG_REFERENCE) :]
            if rule.startswith(TAG_REFERENCE) and tag.startswith(prefix) and len(tag) > len(
                prefix
            ):
                found[(source, tag[len(prefix) :].strip())] = None
    return tuple(found)


CUSTOMER_FIELDS = ("id", "first_name", "last_name", "email", "phone", "addresses",
                   "default_address", "created_at", "updated_at", "tags")
"""The top-level customer fields :func:`parse_customer` reads: requests send them as
``fields=`` so Shopify leaves the rest out (a test checks that parsing only these gives the
same customer)."""


def parse_customer(
    record: Record, *, source: str = KIND, references: Mapping[str, str] | None = None
) -> Customer:
    """One REST customer (``customers[]`` or ``customer``)."""
    addresses_raw = _list(record, "addresses")
    default = record.get("default_address")
    if not addresses_raw and isinstance(default, Mapping):
        addresses_raw = [default]
    addresses = tuple(parse_address(address) for address in addresses_raw)
    phones: dict[str, None] = {}
    for phone in (record.get("phone"), *(address.phone for address in addresses)):
        text = _text(phone)
        if text is not None:
            phones[text.strip()] = None
    email = _text(record.get("email"))
    country = None
    if isinstance(default, Mapping):
        country = _text(default.get("country_code"))
    elif addresses:
        country = addresses[0].country_code
    return Customer(
        source=source,
        kind=KIND,
        id=_id(record["id"]),
        first_name=_text(record.get("first_name")),
        last_name=_text(record.get("last_name")),
        emails=() if email is None else (email.strip(),),
        phones=tuple(phones),
        addresses=addresses,
        created_at=parse_time(record.get("created_at")),
        updated_at=parse_time(record.get("updated_at")),
        country_code=country,
        references=tag_references(record.get("tags"), references or {}),
    )


def parse_customers(
    payload: Record, *, source: str = KIND, references: Mapping[str, str] | None = None
) -> list[Customer]:
    """``{"customers": [...]}`` (list and search answers)."""
    return [
        parse_customer(record, source=source, references=references)
        for record in _list(payload, "customers")
    ]


# ---------------------------------------------------------------------------------- orders


def pickup_location(order: Record, pickup_locations: Mapping[str, str]) -> str | None:
    """The location id named by the order's native local-pickup shipping line, if any."""
    if not pickup_locations:
        return None
    for line in _list(order, "shipping_lines"):
        if line.get("source") not in (None, "shopify"):
            continue
        for key in ("title", "code"):
            name = line.get(key)
            if isinstance(name, str) and name in pickup_locations:
                return pickup_locations[name]
    return None


def parse_line(line: Record, currency: str) -> OrderLine:
    """Unit price × quantity less the line's discount allocations (before tax)."""
    quantity = decimal(line["quantity"])
    unit = money(line, "price", currency)
    discounts = _sum((money(a, "amount", currency) for a in _list(line, "discount_allocations")),
                     unit.currency)
    title = _text(line.get("name")) or str(line["title"])
    return OrderLine(
        sku=_text(line.get("sku")),
        title=title,
        quantity=quantity,
        unit_price=unit,
        total=Money(unit.amount * quantity - discounts.amount, unit.currency),
        variant_id=_optional_id(line.get("variant_id")),
    )


def parse_fulfillments(
    order: Record, pickup_at: str | None, cancelled: bool
) -> tuple[Fulfillment, ...]:
    found: list[Fulfillment] = []
    for item in _list(order, "fulfillments"):
        status = FULFILLMENT_STATUS.get(str(item.get("status")), "PENDING")
        updated = parse_time(item.get("updated_at")) or parse_time(item.get("created_at"))
        if pickup_at is not None:
            found.append(Fulfillment(FulfillmentType.PICKUP, status, pickup_at, updated))
        else:
            found.append(
                Fulfillment(
                    FulfillmentType.SHIPPING,
                    status,
                    _optional_id(item.get("location_id")),
                    updated,
                    _text(item.get("tracking_number")),
                    SHIPMENT_STATUS.get(str(item.get("shipment_status"))),
                )
            )
    if pickup_at is not None and not found:
        status = "CANCELLED" if cancelled else "PENDING"
        found.append(Fulfillment(FulfillmentType.PICKUP, status, pickup_at))
    return tuple(found)


def parse_refund(refund: Record, *, source: str, currency: str) -> OrderReturn | None:
    """A refund of goods as a return; None for a refund of money only."""
    items = _list(refund, "refund_line_items")
    if not items:
        return None
    lines: list[ReturnLine] = []
    location = None
    for item in items:
        line = item.get("line_item") or {}
        subtotal = money(item, "subtotal", currency)
        tax = money(item, "total_tax", currency)
        title = _text(line.get("name")) or _text(line.get("title")) or str(item["line_item_id"])
        lines.append(
            ReturnLine(
                sku=_text(line.get("sku")),
                title=title,
                quantity=decimal(item["quantity"]),
                amount=_sum((subtotal, tax), subtotal.currency),
            )
        )
        if location is None:
            location = _optional_id(item.get("location_id"))
    paid_back = [
        Money(decimal(txn["amount"]), str(txn.get("currency") or currency).upper())
        for txn in _list(refund, "transactions")
        if txn.get("kind") == "refund" and txn.get("status") == "success"
    ]
    return OrderReturn(
        source=source,
        kind=KIND,
        id=_id(refund["id"]),
        returned_at=required_time(refund.get("processed_at") or refund.get("created_at")),
        lines=tuple(lines),
        amount=_sum(paid_back, currency),
        location_id=location,
    )


ORDER_FIELDS = ("id", "name", "currency", "cancelled_at", "closed_at", "fulfillment_status",
                "source_name", "customer", "refunds", "processed_at", "created_at", "updated_at",
                "total_price", "line_items", "fulfillments", "location_id", "financial_status",
                "shipping_lines")
"""The top-level order fields :func:`parse_order` reads, sent as ``fields=``: an order's
price sets, addresses, client details and the like are about 40 % of its JSON."""

ORDER_SUMMARY_FIELDS = ("id", "name", "currency", "cancelled_at", "closed_at",
                        "fulfillment_status", "source_name", "processed_at", "created_at",
                        "updated_at", "total_price", "location_id", "financial_status")
"""The top-level order fields :func:`parse_order_summary` reads, sent as ``fields=`` by the
summary reads: :data:`ORDER_FIELDS` without ``line_items``, ``refunds``, ``fulfillments`` and
``shipping_lines`` (what lines, returns and fulfillments are made of) and without ``customer``
(a whole customer record: the read that asks for summaries knows whose orders they are) — 5 %
of the JSON of the whole orders. ``status`` reads ``fulfillment_status``, the order's own
summary of its fulfillments, not the fulfillments themselves."""


def order_status(record: Record) -> str:
    """``CANCELLED``, ``COMPLETED`` or ``OPEN`` (see the module docstring)."""
    if record.get("cancelled_at") is not None:
        return "CANCELLED"
    if record.get("closed_at") is not None or record.get("fulfillment_status") == "fulfilled":
        return "COMPLETED"
    return "OPEN"


def parse_order_summary(record: Record, *, source: str = KIND,
                        customer_of: Callable[[str], str | None] | None = None
                        ) -> OrderSummary:
    """One REST order without its lines, fulfillments and returns: only the
    :data:`ORDER_SUMMARY_FIELDS` (and ``customer``) are read, and :func:`parse_order` answers
    the same for them (it starts from this). An order read without ``customer`` is the
    customer's that ``customer_of`` (order id -> customer id) names: the one whose orders were
    listed, or the one the search that found it answered."""
    currency = str(record["currency"]).upper()
    store = record.get("source_name") == "pos"
    order_id = _id(record["id"])
    customer = record.get("customer")
    if customer_of is not None and "customer" not in record:
        customer_id = customer_of(order_id)
    else:
        customer_id = _optional_id(customer.get("id")) if isinstance(customer, Mapping) else None
    return OrderSummary(
        source=source,
        kind=KIND,
        id=order_id,
        number=str(record["name"]),
        channel=Channel.STORE if store else Channel.WEB,
        customer_id=customer_id,
        placed_at=required_time(record.get("processed_at") or record.get("created_at")),
        updated_at=parse_time(record.get("updated_at")),
        status=order_status(record),
        total=money(record, "total_price", currency),
        location_id=_optional_id(record.get("location_id")) if store else None,
        financial_status=_text(record.get("financial_status")),
        closed=record.get("closed_at") is not None,
    )


def parse_order(
    record: Record, *, source: str = KIND, pickup_locations: Mapping[str, str] | None = None
) -> Order:
    """One REST order (``orders[]`` or ``order``); see the module docstring for the mappings.
    Its summary fields are :func:`parse_order_summary`'s."""
    head = parse_order_summary(record, source=source)
    currency = str(record["currency"]).upper()
    pickup_at = pickup_location(record, pickup_locations or {})
    returns = (
        parse_refund(refund, source=source, currency=currency)
        for refund in _list(record, "refunds")
    )
    return head.whole(
        lines=tuple(parse_line(line, currency) for line in _list(record, "line_items")),
        fulfillments=parse_fulfillments(record, pickup_at, head.status == "CANCELLED"),
        returns=tuple(r for r in returns if r is not None))


def parse_orders(
    payload: Record, *, source: str = KIND, pickup_locations: Mapping[str, str] | None = None
) -> list[Order]:
    """``{"orders": [...]}``."""
    return [
        parse_order(record, source=source, pickup_locations=pickup_locations)
        for record in _list(payload, "orders")
    ]


def parse_order_summaries(payload: Record, *, source: str = KIND,
                          customer_of: Callable[[str], str | None] | None = None
                          ) -> list[OrderSummary]:
    """``{"orders": [...]}`` as summaries (:func:`parse_order_summary`)."""
    return [parse_order_summary(record, source=source, customer_of=customer_of)
            for record in _list(payload, "orders")]


# ------------------------------------------------------------------ catalog and inventory


def variant_currency(variant: Record) -> str | None:
    """The shop currency of a variant's ``price``: the presentment price equal to it."""
    prices = [p.get("price") for p in _list(variant, "presentment_prices")]
    prices = [p for p in prices if isinstance(p, Mapping) and p.get("currency_code")]
    price = variant.get("price")
    for entry in prices:
        if price is not None and decimal(entry["amount"]) == decimal(price):
            return str(entry["currency_code"]).upper()
    return str(prices[0]["currency_code"]).upper() if prices else None


def parse_product(
    product: Record, *, source: str = KIND, currency: str | None = None
) -> list[Variant]:
    """The product's variants that carry a SKU. ``currency`` is the shop's, used when a variant
    has no presentment prices; without either, ``price`` is None."""
    variants: list[Variant] = []
    for variant in _list(product, "variants"):
        sku = _text(variant.get("sku"))
        if sku is None:
            continue
        price_currency = variant_currency(variant) or currency
        price = variant.get("price")
        variants.append(
            Variant(
                source=source,
                kind=KIND,
                id=_id(variant["id"]),
                sku=sku,
                title=str(variant.get("title") or ""),
                product_id=_id(variant.get("product_id") or product["id"]),
                product_title=str(product["title"]),
                price=(
                    Money(decimal(price), price_currency)
                    if price is not None and price_currency is not None
                    else None
                ),
                inventory_item_id=_optional_id(variant.get("inventory_item_id")),
            )
        )
    return variants


def parse_products(
    payload: Record, *, source: str = KIND, currency: str | None = None
) -> list[Variant]:
    """``{"products": [...]}`` -> every variant with a SKU."""
    return [
        variant
        for product in _list(payload, "products")
        for variant in parse_product(product, source=source, currency=currency)
    ]


def parse_inventory_levels(
    payload: Record, *, sku_by_item: Mapping[str, str], source: str = KIND
) -> list[InventoryLevel]:
    """``{"inventory_levels": [...]}`` for the items in ``sku_by_item`` (inventory item id ->
    SKU); levels of other items and untracked levels (``available`` null) are skipped."""
    levels: list[InventoryLevel] = []
    for level in _list(payload, "inventory_levels"):
        sku = sku_by_item.get(_id(level["inventory_item_id"]))
        available = level.get("available")
        if sku is None or available is None:
            continue
        levels.append(
            InventoryLevel(
                source=source,
                kind=KIND,
                sku=sku,
                location_id=_id(level["location_id"]),
                available=decimal(available),
                updated_at=parse_time(level.get("updated_at")),
            )
        )
    return levels


# ------------------------------------------------------------------------------- locations


def parse_location(
    record: Record, *, source: str = KIND, store_location_ids: frozenset[str] = frozenset()
) -> Location:
    """A REST location: STORE when configured as one, else WAREHOUSE; REST has no geo."""
    location_id = _id(record["id"])
    return Location(
        source=source,
        kind=KIND,
        id=location_id,
        name=str(record["name"]),
        location_kind=(
            LocationKind.STORE if location_id in store_location_ids else LocationKind.WAREHOUSE
        ),
        address=Address(
            line1=_text(record.get("address1")),
            line2=_text(record.get("address2")),
            city=_text(record.get("city")),
            region=_text(record.get("province_code")) or _text(record.get("province")),
            postal_code=_text(record.get("zip")),
            country_code=_text(record.get("country_code")) or _text(record.get("country")),
            phone=_text(record.get("phone")),
        ),
        geo=None,
        active=bool(record.get("active", True)),
    )


def parse_locations(
    payload: Record, *, source: str = KIND, store_location_ids: frozenset[str] = frozenset()
) -> list[Location]:
    """``{"locations": [...]}``."""
    return [
        parse_location(record, source=source, store_location_ids=store_location_ids)
        for record in _list(payload, "locations")
    ]


def location_names(locations: Iterable[Location]) -> dict[str, str]:
    """Location name -> id, to recognise native local-pickup shipping lines."""
    return {location.name: location.id for location in locations}


# ------------------------------------------------------------------------- Admin GraphQL


def parse_order_refs(payload: Record) -> tuple[list[tuple[str, str | None]], str | None]:
    """A page of ``orders { nodes { legacyResourceId customer { legacyResourceId } } pageInfo
    { hasNextPage endCursor } }``: (order id, customer id or None) pairs and the cursor of the
    next page (None on the last)."""
    connection = payload["data"]["orders"]
    refs: list[tuple[str, str | None]] = []
    for node in _list(connection, "nodes"):
        customer = node.get("customer")
        if customer is not None and not isinstance(customer, Mapping):
            raise TypeError("customer must be an object")
        refs.append((
            _id(node["legacyResourceId"]),
            None if customer is None else _optional_id(customer.get("legacyResourceId")),
        ))
    info = connection["pageInfo"]
    if info["hasNextPage"] is not True:
        return refs, None
    cursor = info.get("endCursor")
    if not isinstance(cursor, str) or not cursor:
        raise ValueError("a next page without a cursor")
    return refs, cursor


def parse_order_names(payload: Record) -> list[tuple[str, str]]:
    """``orders { nodes { legacyResourceId name } }``: (order id, name) pairs."""
    return [(_id(node["legacyResourceId"]), str(node["name"]))
            for node in _list(payload["data"]["orders"], "nodes")]


def parse_order_window(payload: Record) -> list[tuple[str, datetime]]:
    """``orders { nodes { legacyResourceId processedAt } }``: (order id, placed at) pairs."""
    return [(_id(node["legacyResourceId"]), required_time(node["processedAt"]))
            for node in _list(payload["data"]["orders"], "nodes")]


def graphql_error_codes(payload: object) -> list[str] | None:
    """The ``extensions.code`` of every entry of a GraphQL body's ``errors`` (``""`` for an
    entry without one, as for syntax and validation errors); None when it has no errors."""
    if not isinstance(payload, Mapping) or not payload.get("errors"):
        return None
    errors = payload["errors"]
    if not isinstance(errors, list):
        return [""]
    codes: list[str] = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, Mapping) else None
        code = extensions.get("code") if isinstance(extensions, Mapping) else None
        codes.append(code if isinstance(code, str) else "")
    return codes


def throttle_wait(payload: object) -> float | None:
    """Seconds until the cost bucket holds the refused query's cost again:
    ``(requestedQueryCost - currentlyAvailable) / restoreRate`` from ``extensions.cost``; None
    when the body does not say."""
    if not isinstance(payload, Mapping):
        return None
    extensions = payload.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
    if not isinstance(cost, Mapping) or not isinstance(status, Mapping):
        return None
    numbers: list[float] = []
    for value in (cost.get("requestedQueryCost"), status.get("currentlyAvailable"),
                  status.get("restoreRate")):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        numbers.append(float(value))
    requested, available, rate = numbers
    if rate <= 0:
        return None
    return max(requested - available, 0.0) / rate


# ----------------------------------------------------------------------------------- carts

DRAFT_STATUS = {"open": "OPEN", "invoice_sent": "INVOICE_SENT", "completed": "COMPLETED"}
DRAFT_ORDER_FIELDS = ("id", "name", "email", "status", "created_at", "updated_at",
                      "completed_at", "order_id", "currency", "customer", "line_items",
                      "subtotal_price", "subtotal_price_set", "total_price", "total_price_set",
                      "invoice_url")
"""The draft order fields :func:`parse_draft_order` reads, sent as ``fields=``."""


def parse_cart_line(line: Record, currency: str) -> CartLine:
    """A checkout's or a draft order's ``line_items[]`` entry."""
    quantity = decimal(line["quantity"])
    unit = money(line, "price", currency)
    if line.get("line_price") is not None:
        gross = decimal(line["line_price"])
    else:
        gross = unit.amount * quantity
    discount = line.get("applied_discount")
    if isinstance(discount, Mapping) and discount.get("amount") is not None:
        gross -= decimal(discount["amount"])
    title = str(line["title"])
    variant_title = _text(line.get("variant_title"))
    name = _text(line.get("name")) or (f"{title} - {variant_title}" if variant_title else title)
    return CartLine(
        sku=_text(line.get("sku")),
        title=name,
        quantity=quantity,
        unit_price=unit,
        total=Money(gross, unit.currency),
        variant_id=_optional_id(line.get("variant_id")),
        product_id=_optional_id(line.get("product_id")),
    )


def _cart_customer(record: Record) -> str | None:
    customer = record.get("customer")
    if customer is None:
        return None
    if not isinstance(customer, Mapping):
        raise TypeError("customer must be an object")
    return _optional_id(customer.get("id"))


def _optional_money(record: Record, key: str, currency: str) -> Money | None:
    if record.get(key) is None and record.get(f"{key}_set") is None:
        return None
    return money(record, key, currency)


def parse_checkout(record: Record, *, source: str = KIND) -> Cart:
    """One abandoned checkout (``checkouts[]``)."""
    currency = str(record["currency"]).upper()
    created = required_time(record["created_at"])
    completed = parse_time(record.get("completed_at"))
    return Cart(
        source=source,
        kind=KIND,
        id=_id(record["id"]),
        cart_kind=CartKind.CHECKOUT,
        customer_id=_cart_customer(record),
        email=_text(record.get("email")),
        created_at=created,
        updated_at=parse_time(record.get("updated_at")) or created,
        status="COMPLETED" if completed is not None else "OPEN",
        lines=tuple(parse_cart_line(line, currency) for line in _list(record, "line_items")),
        subtotal=_optional_money(record, "subtotal_price", currency),
        total=money(record, "total_price", currency),
        recovery_url=_text(record.get("abandoned_checkout_url")),
        name=_text(record.get("name")),
        completed_at=completed,
    )


def parse_checkouts(payload: Record, *, source: str = KIND) -> list[Cart]:
    """``{"checkouts": [...]}``."""
    return [parse_checkout(record, source=source) for record in _list(payload, "checkouts")]


def parse_draft_order(record: Record, *, source: str = KIND) -> Cart:
    """One draft order (``draft_orders[]`` or ``draft_order``)."""
    currency = str(record["currency"]).upper()
    created = required_time(record["created_at"])
    completed = parse_time(record.get("completed_at"))
    order_id = _optional_id(record.get("order_id"))
    status = DRAFT_STATUS[record["status"]]
    if completed is not None or order_id is not None:
        status = "COMPLETED"
    return Cart(
        source=source,
        kind=KIND,
        id=_id(record["id"]),
        cart_kind=CartKind.DRAFT_ORDER,
        customer_id=_cart_customer(record),
        email=_text(record.get("email")),
        created_at=created,
        updated_at=parse_time(record.get("updated_at")) or created,
        status=status,
        lines=tuple(parse_cart_line(line, currency) for line in _list(record, "line_items")),
        subtotal=_optional_money(record, "subtotal_price", currency),
        total=money(record, "total_price", currency),
        recovery_url=_text(record.get("invoice_url")),
        name=_text(record.get("name")),
        completed_at=completed,
        order_id=order_id,
    )


def parse_draft_orders(payload: Record, *, source: str = KIND) -> list[Cart]:
    """``{"draft_orders": [...]}``."""
    return [parse_draft_order(record, source=source)
            for record in _list(payload, "draft_orders")]


def open_carts_by_customer(carts: Iterable[Cart]) -> dict[str, list[Cart]]:
    """Customer id -> the customer's open carts (not ``COMPLETED``, no ``completed_at``), most
    recently updated first; carts without a customer are left out, a cart read twice (a record
    moving between pages) counts once."""
    seen: set[tuple[CartKind, str]] = set()
    found: dict[str, list[Cart]] = {}
    for cart in carts:
        key = (cart.cart_kind, cart.id)
        if (cart.customer_id is None or cart.status == "COMPLETED"
                or cart.completed_at is not None or key in seen):
            continue
        seen.add(key)
        found.setdefault(cart.customer_id, []).append(cart)
    for mine in found.values():
        mine.sort(key=lambda cart: (cart.updated_at, cart.created_at, cart.id.zfill(20)),
                  reverse=True)
    return found


# ----------------------------------------------------------------------------------- writes

READY_STATUS = "in_progress"
"""A pickup fulfillment order prepared for pickup (``fulfillmentOrderLineItemsPrepared
ForPickup``) is in progress until collected: ``PICKUP`` ``READY``."""


def has_tag(record: Record, tag: str) -> bool:
    """Whether an order's comma-separated ``tags`` hold ``tag`` (case-insensitive)."""
    wanted = tag.strip().lower()
    return any(part.strip().lower() == wanted for part in str(record.get("tags") or "").split(","))


def tagged_orders(payload: Record, tag: str, *, source: str = KIND,
                  pickup_locations: Mapping[str, str] | None = None) -> list[Order]:
    """The orders of ``{"orders": [...]}`` that carry ``tag``."""
    return [parse_order(record, source=source, pickup_locations=pickup_locations)
            for record in _list(payload, "orders") if has_tag(record, tag)]


def pickup_fulfillment_orders(payload: Record) -> list[tuple[str, str]]:
    """(id, status) of the ``pick_up`` fulfillment orders of ``{"fulfillment_orders": […]}``."""
    found: list[tuple[str, str]] = []
    for item in _list(payload, "fulfillment_orders"):
        method = item.get("delivery_method")
        if isinstance(method, Mapping) and method.get("method_type") == "pick_up":
            found.append((_id(item["id"]), str(item["status"])))
    return found


def pickup_readiness(payload: Record) -> dict[str, bool]:
    """Order id -> whether a pickup fulfillment order of it is prepared (``IN_PROGRESS``), from
    a :data:`~.requests.PICKUP_READINESS` answer."""
    ready: dict[str, bool] = {}
    for node in _list(payload["data"]["orders"], "nodes"):
        orders = node["fulfillmentOrders"]
        ready[_id(node["legacyResourceId"])] = any(
            (fo.get("deliveryMethod") or {}).get("methodType") == "PICK_UP"
            and fo.get("status") == READY_STATUS.upper()
            for fo in _list(orders, "nodes"))
    return ready


def awaiting_pickup(order: Order) -> bool:
    """An order whose pickup is pending: it may have been prepared since (REST cannot say)."""
    return any(f.type is FulfillmentType.PICKUP and f.status == "PENDING"
               for f in order.fulfillments)


def with_readiness(order: Order, ready: bool) -> Order:
    """The order with its pending pickup ``READY`` when prepared."""
    if not ready:
        return order
    return replace(order, fulfillments=tuple(
        replace(f, status="READY")
        if f.type is FulfillmentType.PICKUP and f.status == "PENDING" else f
        for f in order.fulfillments))


def user_error_codes(payload: Record, mutation: str) -> list[str]:
    """The ``userErrors`` codes of a mutation's answer (``""`` for one without a code)."""
    result = payload["data"][mutation]
    if result is None:
        raise ValueError("no mutation result")
    return [str(error.get("code") or "") for error in _list(result, "userErrors")]


def order_line_items(payload: Record) -> list[tuple[str, str | None, int]]:
    """(line item id, SKU, units still refundable) of ``{"order": {"line_items": […]}}``."""
    lines: list[tuple[str, str | None, int]] = []
    for line in _list(payload["order"], "line_items"):
        current = line.get("current_quantity")
        units = int(decimal(current if current is not None else line["quantity"]))
        lines.append((_id(line["id"]), _text(line.get("sku")), units))
    return lines


def allocate_refund(wanted: Iterable[tuple[str, int]],
                    lines: Iterable[tuple[str, str | None, int]]
                    ) -> tuple[list[tuple[str, int]], str | None]:
    """(line item id, quantity) for each (SKU, quantity) wanted, over the order's lines with
    that SKU in order; the problem instead when there is one: ``"missing"`` (a SKU not on the
    order) or ``"exceeds"`` (more units than are left to refund)."""
    left = [[line_id, sku, units] for line_id, sku, units in lines]
    allocated: dict[str, int] = {}
    for sku, quantity in wanted:
        matching = [line for line in left if line[1] == sku]
        if not matching:
            return [], "missing"
        need = quantity
        for line in matching:
            take = min(need, int(line[2] or 0))
            if take > 0:
                line_id = str(line[0])
                allocated[line_id] = allocated.get(line_id, 0) + take
                line[2] = int(line[2] or 0) - take
                need -= take
        if need > 0:
            return [], "exceeds"
    return list(allocated.items()), None


def stocked_items(payload: Record, location_id: str) -> set[str]:
    """The inventory items ``{"inventory_levels": [...]}`` shows stocked at the location."""
    return {_id(level["inventory_item_id"]) for level in _list(payload, "inventory_levels")
            if _id(level["location_id"]) == location_id}


def refund_transactions(payload: Record) -> list[dict[str, Any]]:
    """The ``refund`` transactions Shopify suggests in a ``refunds/calculate.json`` answer
    (amount, parent sale, gateway); none when nothing was paid."""
    found: list[dict[str, Any]] = []
    for txn in _list(payload["refund"], "transactions"):
        amount = decimal(txn["amount"])
        if txn.get("kind") != "suggested_refund" or amount <= 0:
            continue
        entry: dict[str, Any] = {"kind": "refund", "amount": str(txn["amount"]),
                                 "gateway": txn.get("gateway")}
        if txn.get("parent_id") is not None:
            entry["parent_id"] = txn["parent_id"]
        found.append(entry)
    return found


def refund_currency(refund: Record) -> str:
    """A refund's currency: its lines' shop money, else its transactions'."""
    for item in _list(refund, "refund_line_items"):
        money_set = item.get("subtotal_set")
        if isinstance(money_set, Mapping) and isinstance(money_set.get("shop_money"), Mapping):
            return str(money_set["shop_money"]["currency_code"]).upper()
    for txn in _list(refund, "transactions"):
        if txn.get("currency"):
            return str(txn["currency"]).upper()
    raise ValueError("refund without a currency")


def parse_created_refund(payload: Record, *, source: str = KIND) -> OrderReturn:
    """``{"refund": {...}}`` as a return (a refund of goods)."""
    refund = payload["refund"]
    found = parse_refund(refund, source=source, currency=refund_currency(refund))
    if found is None:
        raise ValueError("a refund without lines")
    return found


def refunds_with_marker(payload: Record, marker: str, *, source: str = KIND
                        ) -> list[OrderReturn]:
    """The refunds of ``{"refunds": [...]}`` whose note carries ``marker``, as returns."""
    found: list[OrderReturn] = []
    for refund in _list(payload, "refunds"):
        if marker not in str(refund.get("note") or ""):
            continue
        parsed = parse_refund(refund, source=source, currency=refund_currency(refund))
        if parsed is not None:
            found.append(parsed)
    return found


def draft_state(payload: Record) -> tuple[str | None, list[str], list[dict[str, Any]]]:
    """(the order it became, its tags, its note attributes) of ``{"draft_order": {...}}``."""
    draft = payload["draft_order"]
    tags = [part.strip() for part in str(draft.get("tags") or "").split(",") if part.strip()]
    attributes = [dict(item) for item in _list(draft, "note_attributes")]
    return _optional_id(draft.get("order_id")), tags, attributes


def error_fields(payload: object) -> list[str]:
    """The field names of a 422 body ``{"errors": {field: [...]}}`` (never the messages,
    which may quote values); ``[]`` for other shapes."""
    if not isinstance(payload, Mapping):
        return []
    errors = payload.get("errors")
    if not isinstance(errors, Mapping):
        return []
    return sorted(str(name) for name in errors if _FIELD.match(str(name)))
