"""Building Square orders from CreateOrder bodies: line items, returns, fulfillments, amounts.

Pure functions over the store's catalog and orders (passed in as mappings); nothing here writes
to the store, so a rejected body leaves no partial state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from silos.square.body import (
    get_enum,
    get_list,
    get_money,
    get_obj,
    get_str,
    objects,
    req_obj,
    req_str,
)
from silos.square.errors import bad_request, missing, not_found
from silos.square.formats import (
    MoneyCache,
    format_quantity,
    parse_quantity,
    parse_time,
    rfc3339_ms,
    times_quantity,
)

ORDER_STATES = frozenset({"OPEN", "COMPLETED", "CANCELED", "DRAFT"})
CLOSED_STATES = frozenset({"COMPLETED", "CANCELED"})
FULFILLMENT_TYPES = frozenset({"PICKUP", "SHIPMENT", "DELIVERY", "DIGITAL"})
FULFILLMENT_STATES = frozenset(
    {"PROPOSED", "RESERVED", "PREPARED", "COMPLETED", "CANCELED", "FAILED"}
)
_SCHEDULE_TYPES = frozenset({"SCHEDULED", "ASAP"})
_DETAILS_KEY = {
    "PICKUP": "pickup_details",
    "SHIPMENT": "shipment_details",
    "DELIVERY": "delivery_details",
}

Uid = Callable[[], str]


def amounts(total: int, cash: MoneyCache) -> dict[str, Any]:
    """An ``OrderMoneyAmounts`` object (the emulator applies no taxes, discounts or tips)."""
    zero = cash[0]
    return {
        "total_money": cash[total],
        "tax_money": zero,
        "discount_money": zero,
        "tip_money": zero,
        "service_charge_money": zero,
    }


class Priced(NamedTuple):
    """What a line item sells: its name, unit price and catalog reference."""

    name: str
    base: int
    catalog_object_id: str | None = None
    catalog_version: int | None = None
    variation_name: str | None = None


def priced(
    item: dict[str, Any], path: str, catalog: Mapping[str, dict[str, Any]], currency: str
) -> Priced:
    """Name and unit price of a line item: from its catalog variation or given explicitly."""
    catalog_id = get_str(item, "catalog_object_id", path, max_length=192)
    base = get_money(item, "base_price_money", path, currency)
    if catalog_id is None:
        name = req_str(item, "name", path, max_length=512)
        if base is None:
            raise missing(f"{path}.base_price_money")
        return Priced(name, base)
    variation = catalog.get(catalog_id)
    if variation is None or variation["type"] != "ITEM_VARIATION":
        raise not_found(
            f"Item variation with catalog object ID `{catalog_id}` not found.",
            f"{path}.catalog_object_id",
        )
    data = variation["item_variation_data"]
    if base is None:
        price = data.get("price_money")
        if price is None:
            raise missing(f"{path}.base_price_money")
        base = price["amount"]
    name = (
        get_str(item, "name", path, max_length=512) or catalog[data["item_id"]]["item_data"]["name"]
    )
    return Priced(name, base, catalog_id, variation["version"], data.get("name"))


def _catalog_fields(line: dict[str, Any], what: Priced) -> None:
    if what.catalog_object_id is not None:
        line["catalog_object_id"] = what.catalog_object_id
        line["catalog_version"] = what.catalog_version
        if what.variation_name is not None:
            line["variation_name"] = what.variation_name


def build_line_items(
    raw: list[Any], catalog: Mapping[str, dict[str, Any]], cash: MoneyCache, uid: Uid
) -> tuple[list[dict[str, Any]], int]:
    """The order's line items (Square's computed money fields) and their total."""
    currency = cash.currency
    zero = cash[0]
    lines: list[dict[str, Any]] = []
    total = 0
    for path, item in objects(raw, "order.line_items"):
        text = req_str(item, "quantity", path)
        what = priced(item, path, catalog, currency)
        if text.isdigit() and text[0] != "0" and len(text) < 12:
            gross = what.base * int(text)
        else:
            quantity = parse_quantity(text, f"{path}.quantity")
            gross = times_quantity(what.base, quantity)
            text = format_quantity(quantity)
        line: dict[str, Any] = {
            "uid": get_str(item, "uid", path, max_length=60) or uid(),
            "name": what.name,
            "quantity": text,
        }
        _catalog_fields(line, what)
        note = get_str(item, "note", path, max_length=2000)
        if note:
            line["note"] = note
        line["item_type"] = "ITEM"
        line["base_price_money"] = cash[what.base]
        line["variation_total_price_money"] = cash[gross]
        line["gross_sales_money"] = cash[gross]
        line["total_tax_money"] = zero
        line["total_discount_money"] = zero
        line["total_money"] = cash[gross]
        line["total_service_charge_money"] = zero
        lines.append(line)
        total += gross
    return lines, total


@dataclass
class Returns:
    """The built ``returns`` of an order, their total and the quantities they take back."""

    returns: list[dict[str, Any]]
    total: int
    taken: dict[tuple[str, str], Decimal]


def build_returns(
    raw: list[Any],
    orders: Mapping[str, dict[str, Any]],
    returned: Mapping[tuple[str, str], Decimal],
    catalog: Mapping[str, dict[str, Any]],
    cash: MoneyCache,
    uid: Uid,
) -> Returns:
    """``returns[]`` with ``return_line_items`` priced from the source orders' line items.

    A returned quantity may not exceed what the source line item sold minus what earlier
    returns (``returned``) already took back.
    """
    currency = cash.currency
    zero = cash[0]
    built: list[dict[str, Any]] = []
    total = 0
    taken: dict[tuple[str, str], Decimal] = {}
    sources: set[str] = set()
    for path, ret in objects(raw, "order.returns"):
        source_id = get_str(ret, "source_order_id", path)
        source_lines: dict[str, dict[str, Any]] = {}
        if source_id is not None:
            source = orders.get(source_id)
            if source is None:
                raise not_found(f"Order `{source_id}` not found.", f"{path}.source_order_id")
            if source_id in sources:
                raise bad_request(
                    "INVALID_VALUE",
                    "An order has exactly one return per source order.",
                    f"{path}.source_order_id",
                )
            sources.add(source_id)
            source_lines = {line["uid"]: line for line in source.get("line_items", ())}
        items = get_list(ret, "return_line_items", path, required=True)
        assert items is not None
        return_lines: list[dict[str, Any]] = []
        return_total = 0
        for item_path, item in objects(items, f"{path}.return_line_items"):
            quantity = parse_quantity(req_str(item, "quantity", item_path), f"{item_path}.quantity")
            source_uid = get_str(item, "source_line_item_uid", item_path, max_length=60)
            line: dict[str, Any] = {"uid": get_str(item, "uid", item_path) or uid()}
            if source_uid is not None:
                if source_id is None:
                    raise missing(f"{path}.source_order_id")
                sold = source_lines.get(source_uid)
                if sold is None:
                    raise not_found(
                        f"Line item `{source_uid}` not found in order `{source_id}`.",
                        f"{item_path}.source_line_item_uid",
                    )
                key = (source_id, source_uid)
                already = returned.get(key, Decimal(0)) + taken.get(key, Decimal(0))
                if already + quantity > Decimal(sold["quantity"]):
                    raise bad_request(
                        "INVALID_VALUE",
                        "The returned quantity exceeds the quantity sold and not yet returned.",
                        f"{item_path}.quantity",
                    )
                taken[key] = taken.get(key, Decimal(0)) + quantity
                what = Priced(
                    sold["name"],
                    sold["base_price_money"]["amount"],
                    sold.get("catalog_object_id"),
                    sold.get("catalog_version"),
                    sold.get("variation_name"),
                )
                line["source_line_item_uid"] = source_uid
            else:
                what = priced(item, item_path, catalog, currency)
            gross = times_quantity(what.base, quantity)
            line["name"] = what.name
            line["quantity"] = format_quantity(quantity)
            _catalog_fields(line, what)
            line["item_type"] = "ITEM"
            line["base_price_money"] = cash[what.base]
            line["variation_total_price_money"] = cash[gross]
            line["gross_return_money"] = cash[gross]
            line["total_tax_money"] = zero
            line["total_discount_money"] = zero
            line["total_money"] = cash[gross]
            return_lines.append(line)
            return_total += gross
        order_return: dict[str, Any] = {"uid": get_str(ret, "uid", path) or uid()}
        if source_id is not None:
            order_return["source_order_id"] = source_id
        order_return["return_line_items"] = return_lines
        order_return["return_amounts"] = amounts(return_total, cash)
        built.append(order_return)
        total += return_total
    return Returns(built, total, taken)


def _stamp_pickup(details: dict[str, Any], path: str, state: str, stamp: str) -> dict[str, Any]:
    recipient = req_obj(details, "recipient", path)
    if not (recipient.get("display_name") or recipient.get("customer_id")):
        raise missing(f"{path}.recipient.display_name")
    schedule = get_enum(details, "schedule_type", _SCHEDULE_TYPES, path, default="SCHEDULED")
    pickup_at = get_str(details, "pickup_at", path)
    out = dict(details)
    out["recipient"] = dict(recipient)
    out["schedule_type"] = schedule
    if pickup_at is not None:
        out["pickup_at"] = rfc3339_ms(parse_time(pickup_at, f"{path}.pickup_at"))
    elif schedule == "SCHEDULED":
        raise missing(f"{path}.pickup_at")
    else:
        out["pickup_at"] = stamp
    out["placed_at"] = stamp
    if state in ("RESERVED", "PREPARED", "COMPLETED"):
        out["accepted_at"] = stamp
    if state in ("PREPARED", "COMPLETED"):
        out["ready_at"] = stamp
    if state == "COMPLETED":
        out["picked_up_at"] = stamp
    elif state == "CANCELED":
        out["canceled_at"] = stamp
    elif state == "FAILED":
        out["rejected_at"] = stamp
    return out


def build_fulfillments(raw: list[Any], stamp: str, uid: Uid) -> list[dict[str, Any]]:
    """At most one fulfillment, as CreateOrder allows; PICKUP details are validated and stamped."""
    if len(raw) > 1:
        raise bad_request(
            "BAD_REQUEST",
            "Orders can only be created with at most one fulfillment.",
            "order.fulfillments",
        )
    built: list[dict[str, Any]] = []
    for path, fulfillment in objects(raw, "order.fulfillments"):
        kind = get_enum(fulfillment, "type", FULFILLMENT_TYPES, path)
        if kind is None:
            raise missing(f"{path}.type")
        state = get_enum(fulfillment, "state", FULFILLMENT_STATES, path, default="PROPOSED")
        assert state is not None
        out: dict[str, Any] = {
            "uid": get_str(fulfillment, "uid", path, max_length=60) or uid(),
            "type": kind,
            "state": state,
        }
        details_key = _DETAILS_KEY.get(kind)
        if details_key == "pickup_details":
            details = req_obj(fulfillment, details_key, path)
            out[details_key] = _stamp_pickup(details, f"{path}.{details_key}", state, stamp)
        elif details_key is not None:
            other = get_obj(fulfillment, details_key, path)
            if other is not None:
                out[details_key] = {**other, "placed_at": stamp}
        built.append(out)
    return built
