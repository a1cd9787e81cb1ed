"""The Square API v2 requests the adapter makes, as data (method, path, query, JSON body).

Pure functions, no I/O. The limits are Square's documented ones: BulkRetrieveCustomers takes
1–100 ids, SearchOrders 10 location ids and 10 customer ids, BatchRetrieveOrders 100 ids,
SearchCatalogObjects' ``set_query`` 250 values, BatchRetrieveCatalogObjects and
BatchRetrieveInventoryCounts 1,000 ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from adapters.models import Money, NewStoreOrder, NewStoreReturn, minor_units

T = TypeVar("T")

CUSTOMERS_PER_BULK = 100
CUSTOMERS_PER_PAGE = 100
CUSTOMERS_PER_ORDER_SEARCH = 10
LOCATIONS_PER_ORDER_SEARCH = 10
ORDERS_PER_PAGE = 1000
ORDERS_PER_BATCH = 100
CATALOG_IDS_PER_BATCH = 1000
SKUS_PER_SEARCH = 250
CATALOG_PER_PAGE = 1000
INVENTORY_IDS_PER_BATCH = 1000
COUNTS_PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request. The reads are GETs and read-only POSTs (safe to retry); the writes
    (CreateOrder, UpdateOrder) carry Square's ``idempotency_key`` (safe to repeat too)."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    body: dict[str, Any] | None = None


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as Square writes times (a naive value is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _paged(body: dict[str, Any], cursor: str | None) -> dict[str, Any]:
    return {**body, "cursor": cursor} if cursor else body


def list_locations() -> Call:
    return Call("GET", "/v2/locations")


def bulk_retrieve_customers(ids: Sequence[str]) -> Call:
    return Call("POST", "/v2/customers/bulk-retrieve", body={"customer_ids": list(ids)})


def search_customers(
    field: str, match: str, value: str, cursor: str | None = None
) -> Call:
    """SearchCustomers with one text filter: ``match`` is ``exact`` or ``fuzzy``."""
    body = {
        "limit": CUSTOMERS_PER_PAGE,
        "query": {
            "filter": {field: {match: value}},
            "sort": {"field": "CREATED_AT", "order": "ASC"},
        },
    }
    return Call("POST", "/v2/customers/search", body=_paged(body, cursor))


def customers_updated_since(since: datetime, cursor: str | None = None) -> Call:
    """SearchCustomers for the customers updated at or after ``since``, oldest first."""
    body = {
        "limit": CUSTOMERS_PER_PAGE,
        "query": {
            "filter": {"updated_at": {"start_at": rfc3339(since)}},
            "sort": {"field": "CREATED_AT", "order": "ASC"},
        },
    }
    return Call("POST", "/v2/customers/search", body=_paged(body, cursor))


def list_customers(cursor: str | None = None) -> Call:
    """ListCustomers, oldest first (a stable order for a full crawl)."""
    params = {"limit": str(CUSTOMERS_PER_PAGE), "sort_field": "CREATED_AT", "sort_order": "ASC"}
    if cursor:
        params["cursor"] = cursor
    return Call("GET", "/v2/customers", params=params)


def search_orders(
    customer_ids: Sequence[str], location_ids: Sequence[str], cursor: str | None = None
) -> Call:
    """SearchOrders of these customers at these locations, newest first."""
    body = {
        "location_ids": list(location_ids),
        "limit": ORDERS_PER_PAGE,
        "query": {
            "filter": {"customer_filter": {"customer_ids": list(customer_ids)}},
            "sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"},
        },
    }
    return Call("POST", "/v2/orders/search", body=_paged(body, cursor))


def order_window(customer_id: str, location_ids: Sequence[str], until: datetime | None,
                 limit: int) -> Call:
    """SearchOrders: one customer's ``limit`` orders created at or before ``until`` (inclusive,
    as Square's ``TimeRange`` is), newest first: one page, no cursor followed."""
    query: dict[str, Any] = {
        "filter": {"customer_filter": {"customer_ids": [customer_id]}},
        "sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"},
    }
    if until is not None:
        query["filter"]["date_time_filter"] = {"created_at": {"end_at": rfc3339(until)}}
    return Call("POST", "/v2/orders/search", body={
        "location_ids": list(location_ids), "limit": min(limit, ORDERS_PER_PAGE),
        "query": query})


def orders_updated_after(customer_id: str, location_ids: Sequence[str], at: datetime,
                         limit: int) -> Call:
    """SearchOrders: one customer's orders updated after ``at``, soonest updated first (Square
    filters on one time field only: the caller keeps those created at or before ``at``)."""
    after = at + timedelta(milliseconds=1)
    return Call("POST", "/v2/orders/search", body={
        "location_ids": list(location_ids), "limit": min(limit, ORDERS_PER_PAGE),
        "query": {
            "filter": {"customer_filter": {"customer_ids": [customer_id]},
                       "date_time_filter": {"updated_at": {"start_at": rfc3339(after)}}},
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        }})


def batch_retrieve_orders(ids: Sequence[str]) -> Call:
    return Call("POST", "/v2/orders/batch-retrieve", body={"order_ids": list(ids)})


def batch_retrieve_catalog(ids: Sequence[str]) -> Call:
    """BatchRetrieveCatalogObjects: the variations line items name (for their SKUs)."""
    return Call("POST", "/v2/catalog/batch-retrieve", body={"object_ids": list(ids)})


def search_variations_by_sku(skus: Sequence[str], cursor: str | None = None) -> Call:
    """SearchCatalogObjects for the variations with these SKUs, with their parent items."""
    body = {
        "object_types": ["ITEM_VARIATION"],
        "include_related_objects": True,
        "limit": CATALOG_PER_PAGE,
        "query": {"set_query": {"attribute_name": "sku", "attribute_values": list(skus)}},
    }
    return Call("POST", "/v2/catalog/search", body=_paged(body, cursor))


def inventory_counts(
    variation_ids: Sequence[str], location_ids: Sequence[str] | None, cursor: str | None = None
) -> Call:
    """BatchRetrieveInventoryCounts: IN_STOCK counts of these variations (at these locations)."""
    body: dict[str, Any] = {
        "catalog_object_ids": list(variation_ids),
        "states": ["IN_STOCK"],
        "limit": COUNTS_PER_PAGE,
    }
    if location_ids is not None:
        body["location_ids"] = list(location_ids)
    return Call("POST", "/v2/inventory/counts/batch-retrieve", body=_paged(body, cursor))


# -- writes ---------------------------------------------------------------------------------
PICKUP_WINDOW = timedelta(days=90)
"""How far back :func:`pickups_with_reference` looks for a store's pickup orders."""
_ACTIVE_FULFILLMENTS = ("PROPOSED", "RESERVED", "PREPARED", "COMPLETED")


def _minor(money: Money) -> dict[str, Any]:
    amount = (money.amount * Decimal(10) ** minor_units(money.currency)).to_integral_value()
    return {"amount": int(amount), "currency": money.currency}


def create_store_order(order: NewStoreOrder, variation_ids: Mapping[str, str],
                       key: str) -> Call:
    """CreateOrder: catalog line items at the store, OPEN; with ``order.pickup`` one PICKUP
    fulfillment (ASAP, PROPOSED) for the recipient, whose units Square holds for the order."""
    body: dict[str, Any] = {
        "location_id": order.location_id,
        "state": "OPEN",
        "source": {"name": "c360"},
        "line_items": [{"catalog_object_id": variation_ids[line.sku],
                        "quantity": str(line.quantity)} for line in order.lines],
    }
    if order.reference_id:
        body["reference_id"] = order.reference_id
    if order.customer_id:
        body["customer_id"] = order.customer_id
    if order.pickup:
        recipient = ({"customer_id": order.customer_id} if order.customer_id and
                     not order.recipient_name else
                     {"display_name": order.recipient_name or "Online customer"})
        details: dict[str, Any] = {"recipient": recipient, "schedule_type": "ASAP"}
        if order.note:
            details["note"] = order.note[:500]
        body["fulfillments"] = [{"type": "PICKUP", "state": "PROPOSED",
                                 "pickup_details": details}]
    return Call("POST", "/v2/orders", body={"idempotency_key": key, "order": body})


def create_store_return(ret: NewStoreReturn, variation_ids: Mapping[str, str],
                        key: str) -> Call:
    """CreateOrder with unlinked ``returns`` (the sale is in another system, named by
    ``reference_id``): each line by its catalog variation when the store sells the SKU, else
    by name, at the price it was sold for."""
    lines = []
    for line in ret.lines:
        item: dict[str, Any] = {"quantity": str(line.quantity),
                                "base_price_money": _minor(line.unit_price)}
        if line.sku in variation_ids:
            item["catalog_object_id"] = variation_ids[line.sku]
        else:
            item["name"] = (line.title or line.sku)[:512]
        lines.append(item)
    body: dict[str, Any] = {"location_id": ret.location_id, "state": "OPEN",
                            "source": {"name": "c360"}, "reference_id": ret.reference_id,
                            "returns": [{"return_line_items": lines}]}
    if ret.customer_id:
        body["customer_id"] = ret.customer_id
    return Call("POST", "/v2/orders", body={"idempotency_key": key, "order": body})


def update_order(order: Mapping[str, Any], key: str, *, fulfillment_state: str | None,
                 state: str | None) -> Call | None:
    """UpdateOrder moving ``order`` (as last read) to the states asked, against its version;
    None when it is there already. Fulfillments already COMPLETED, CANCELED or FAILED stay as
    they are."""
    sparse: dict[str, Any] = {"version": order["version"]}
    if fulfillment_state is not None:
        moved = [{"uid": f["uid"], "state": fulfillment_state}
                 for f in order.get("fulfillments") or ()
                 if f.get("state") != fulfillment_state
                 and f.get("state") not in ("COMPLETED", "CANCELED", "FAILED")]
        if moved:
            sparse["fulfillments"] = moved
    if state is not None and order.get("state") != state:
        sparse["state"] = state
    if len(sparse) == 1:
        return None
    return Call("PUT", f"/v2/orders/{order['id']}",
                body={"idempotency_key": f"{key}-v{order['version']}", "order": sparse})


def pickups_at(location_id: str, now: datetime, cursor: str | None = None) -> Call:
    """SearchOrders: the store's PICKUP orders (open or collected) updated in the last
    :data:`PICKUP_WINDOW`, most recently updated first."""
    body = {
        "location_ids": [location_id],
        "limit": ORDERS_PER_PAGE,
        "query": {
            "filter": {
                "state_filter": {"states": ["OPEN", "COMPLETED"]},
                "fulfillment_filter": {"fulfillment_types": ["PICKUP"],
                                       "fulfillment_states": list(_ACTIVE_FULFILLMENTS)},
                "date_time_filter": {"updated_at": {"start_at": rfc3339(now - PICKUP_WINDOW)}},
            },
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "DESC"},
        },
    }
    return Call("POST", "/v2/orders/search", body=_paged(body, cursor))
