"""Pure builders of the Shopify Admin calls the adapter makes (no I/O).

Every REST read here is a ``GET`` under ``/admin/api/{version}/``; the writes (:class:`Write`)
are at the end. Key sets are split at the
vendor's limits: 250 ids per ``customers.json``/``orders.json`` ``ids`` filter (one page at
``limit=250``), 50 ids per ``inventory_levels.json`` id list, and every request target is kept
under :data:`MAX_IDS_CHARS` of ids so that it stays well below the 8 KB URI Shopify's front end
accepts.

One read goes through the Admin GraphQL API (``POST /admin/api/{version}/graphql.json``), because
REST has no multi-customer order filter: :data:`ORDER_REFS` asks ``orders(query:
"customer_id:1 OR customer_id:2 …")`` for order and customer ids only. Shopify documents no
maximum length for a search ``query``; the limits it does document are 250 items per input
array, ``first`` ≤ 250 and a single-query cost ≤ 1000 (this query costs ``2 + 2 × first`` = 502
at 250, whatever the search). :data:`MAX_SEARCH_CUSTOMERS` = 100 terms keeps the search string
under 3.5 KB (``customer_id:`` + ≤ 19 digits + `` OR `` per term) and well inside the array limit
applied by analogy, while one batch of 50 customers (the gateway's) is still one request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from adapters.shopify.parse import CUSTOMER_FIELDS as _CUSTOMER_FIELDS
from adapters.shopify.parse import DRAFT_ORDER_FIELDS as _DRAFT_ORDER_FIELDS
from adapters.shopify.parse import ORDER_FIELDS as _ORDER_FIELDS
from adapters.shopify.parse import ORDER_SUMMARY_FIELDS as _ORDER_SUMMARY_FIELDS

CUSTOMER_FIELDS = ",".join(_CUSTOMER_FIELDS)
ORDER_FIELDS = ",".join(_ORDER_FIELDS)
"""``fields=`` of customer and order reads: only what the parsers read comes back."""
ORDER_SUMMARY_FIELDS = ",".join(_ORDER_SUMMARY_FIELDS)
"""``fields=`` of order summary reads: no lines, refunds, fulfillments or shipping lines."""
MAX_IDS = 250
MAX_INVENTORY_IDS = 50
MAX_SEARCH_CUSTOMERS = 100
"""Customers per ``orders(query: "customer_id:… OR …")`` search (see the module docstring)."""
MAX_IDS_CHARS = 6000
"""Budget for one comma-separated id list, URL-encoded (``%2C``); the rest of the target (path,
``limit``, ``status``) fits in what is left of 8 KB."""
_ID = re.compile(r"^[1-9][0-9]{0,18}$")
_BARE_TERM = re.compile(r"^[^\s\"'\\()]+$")


@dataclass(frozen=True, slots=True)
class Call:
    """One request: method, path (below the shop's base URL) and query parameters."""

    path: str
    params: dict[str, str] = field(default_factory=dict)
    method: str = "GET"


@dataclass(frozen=True, slots=True)
class GraphQLCall:
    """One Admin GraphQL query: the endpoint path (below the shop's base URL), the document and
    its variables except the page cursor ``after``."""

    path: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    paged: bool = True

    def body(self, after: str | None = None) -> dict[str, Any]:
        """The JSON body asking for the page after ``after`` (the first page when None); a
        call that is not ``paged`` (a mutation) sends its variables only."""
        if not self.paged:
            return {"query": self.query, "variables": dict(self.variables)}
        return {"query": self.query, "variables": {**self.variables, "after": after}}


@dataclass(frozen=True, slots=True)
class Write:
    """One REST write: method, path, JSON body and query parameters."""

    method: str
    path: str
    body: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)


ORDER_REFS = """query OrderRefsOfCustomers($first: Int!, $query: String!, $after: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { legacyResourceId customer { legacyResourceId } }
    pageInfo { hasNextPage endCursor }
  }
}"""
"""Order ids and their customers' ids, newest first, one page of ``first`` (cost 2 + 2·first)."""

ORDER_WINDOW = """query OrderWindow($first: Int!, $query: String!, $sortKey: OrderSortKeys!,
    $reverse: Boolean!) {
  orders(first: $first, query: $query, sortKey: $sortKey, reverse: $reverse) {
    nodes { legacyResourceId processedAt }
  }
}"""
"""One page of order ids of one customer in a time window (the history windows of a
timeline): placed at or before a moment, newest placed first; or placed before and updated
after it, soonest updated first."""


def api_path(api_version: str, resource: str) -> str:
    """``/admin/api/2026-07/customers.json``."""
    return f"/admin/api/{api_version}/{resource}.json"


def is_id(value: str) -> bool:
    """Shopify REST ids are positive 64-bit integers written in decimal."""
    return bool(_ID.match(value))


def unique_ids(keys: Iterable[str]) -> list[str]:
    """The distinct keys that can be Shopify ids, in first-seen order."""
    return [key for key in dict.fromkeys(keys) if is_id(key)]


def split_ids(
    ids: Sequence[str], max_count: int, max_chars: int = MAX_IDS_CHARS
) -> list[list[str]]:
    """``ids`` in chunks of at most ``max_count`` whose encoded list fits ``max_chars``."""
    chunks: list[list[str]] = []
    chunk: list[str] = []
    size = 0
    for value in ids:
        cost = len(quote(value, safe="")) + (3 if chunk else 0)
        if chunk and (len(chunk) >= max_count or size + cost > max_chars):
            chunks.append(chunk)
            chunk, size, cost = [], 0, cost - 3
        chunk.append(value)
        size += cost
    if chunk:
        chunks.append(chunk)
    return chunks


def search_term(field_name: str, value: str) -> str:
    """``email:bob@example.com``; values with spaces or quoting characters are quoted."""
    value = value.strip()
    if _BARE_TERM.match(value):
        return f"{field_name}:{value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field_name}:"{escaped}"'


def customers_by_ids(api_version: str, ids: Sequence[str], page_size: int) -> list[Call]:
    """``GET customers.json?ids=…&limit=…``, split at 250 ids."""
    return [
        Call(api_path(api_version, "customers"),
             {"ids": ",".join(chunk), "limit": str(page_size), "fields": CUSTOMER_FIELDS})
        for chunk in split_ids(ids, MAX_IDS)
    ]


def customer_search(api_version: str, field_name: str, value: str, page_size: int) -> Call:
    """``GET customers/search.json?query=<field>:<value>&limit=…``."""
    return Call(
        api_path(api_version, "customers/search"),
        {"query": search_term(field_name, value), "limit": str(page_size),
         "fields": CUSTOMER_FIELDS},
    )


def customers_crawl(api_version: str, since: datetime | None, page_size: int) -> Call:
    """``GET customers.json?limit=…[&updated_at_min=…]`` (then follow ``Link`` rel=next)."""
    params = {"limit": str(page_size), "fields": CUSTOMER_FIELDS}
    if since is not None:
        params["updated_at_min"] = timestamp(since)
    return Call(api_path(api_version, "customers"), params)


def graphql_path(api_version: str) -> str:
    """``/admin/api/2026-07/graphql.json``."""
    return f"/admin/api/{api_version}/graphql.json"


def customer_id_search(customer_ids: Sequence[str]) -> str:
    """``customer_id:1 OR customer_id:2`` (ids must be decimal: :func:`is_id`)."""
    return " OR ".join(f"customer_id:{customer_id}" for customer_id in customer_ids)


def order_refs_of_customers(
    api_version: str, customer_ids: Sequence[str], page_size: int
) -> list[GraphQLCall]:
    """:data:`ORDER_REFS` per :data:`MAX_SEARCH_CUSTOMERS` customers, ``first`` = page size."""
    return [
        GraphQLCall(
            graphql_path(api_version),
            ORDER_REFS,
            {"first": page_size, "query": customer_id_search(chunk)},
        )
        for chunk in split_ids(customer_ids, MAX_SEARCH_CUSTOMERS)
    ]


def orders_by_ids(api_version: str, ids: Sequence[str], page_size: int,
                  fields: str = ORDER_FIELDS) -> list[Call]:
    """``GET orders.json?ids=…&status=any&limit=…``, split at 250 ids (``status`` defaults to
    ``open`` otherwise)."""
    return [
        Call(
            api_path(api_version, "orders"),
            {"ids": ",".join(chunk), "status": "any", "limit": str(page_size),
             "fields": fields},
        )
        for chunk in split_ids(ids, MAX_IDS)
    ]


def orders_of_customer(api_version: str, customer_id: str, page_size: int,
                       fields: str = ORDER_FIELDS) -> Call:
    """``GET orders.json?customer_id=…&status=any&limit=…``: one customer's orders in one
    round trip (the GraphQL search then ``ids`` path costs two)."""
    return Call(api_path(api_version, "orders"),
                {"customer_id": customer_id, "status": "any", "limit": str(page_size),
                 "fields": fields})


ORDERS_NAMED = """query OrdersNamed($first: Int!, $query: String!) {
  orders(first: $first, query: $query) { nodes { legacyResourceId name } }
}"""
"""The orders whose name matches a search (an order reference read out by a customer)."""
_NAME = re.compile(r"^#?[A-Za-z0-9-]{1,40}$")


def orders_named(api_version: str, reference: str) -> GraphQLCall | None:
    """``name:`` searches for a reference as a customer gives it (``#1042``, ``1042``); None
    when it cannot be an order name."""
    text = reference.strip()
    if not _NAME.match(text):
        return None
    bare = text.lstrip("#")
    query = f"name:{bare} OR name:#{bare}"
    return GraphQLCall(graphql_path(api_version), ORDERS_NAMED, {"first": 10, "query": query})


def search_time(moment: datetime) -> str:
    """A moment in Shopify's search syntax: UTC, whole seconds (``2026-11-01T09:00:00Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_window(api_version: str, customer_id: str, until: datetime | None,
                 limit: int) -> GraphQLCall:
    """The ``limit`` orders of a customer placed at or before ``until``, newest first."""
    query = f"customer_id:{customer_id}"
    if until is not None:
        query += f" processed_at:<={search_time(until)}"
    return GraphQLCall(graphql_path(api_version), ORDER_WINDOW, {
        "first": min(limit, MAX_IDS), "query": query, "sortKey": "PROCESSED_AT",
        "reverse": True})


def orders_spanning(api_version: str, customer_id: str, at: datetime,
                    limit: int) -> GraphQLCall:
    """A customer's orders placed at or before ``at`` and updated after it."""
    moment = search_time(at)
    return GraphQLCall(graphql_path(api_version), ORDER_WINDOW, {
        "first": min(limit, MAX_IDS),
        "query": f"customer_id:{customer_id} processed_at:<={moment} updated_at:>{moment}",
        "sortKey": "UPDATED_AT", "reverse": False})


CART_STATUSES = ("open", "invoice_sent")
"""The draft order statuses of an open cart (``completed`` ones became orders)."""
DRAFT_ORDER_FIELDS = ",".join(_DRAFT_ORDER_FIELDS)
"""``fields=`` of draft order reads (``checkouts.json`` documents no ``fields``)."""


def abandoned_checkouts(api_version: str, since: datetime, page_size: int) -> Call:
    """``GET checkouts.json?status=open&updated_at_min=…&limit=…``: the abandoned checkouts
    touched since ``since`` (REST has no customer filter on checkouts)."""
    return Call(api_path(api_version, "checkouts"),
                {"status": "open", "updated_at_min": timestamp(since), "limit": str(page_size)})


def open_draft_orders(api_version: str, page_size: int) -> list[Call]:
    """``GET draft_orders.json?status=…&limit=…`` per status of :data:`CART_STATUSES` (the
    ``status`` filter takes one value; REST has no customer filter on draft orders)."""
    return [
        Call(api_path(api_version, "draft_orders"),
             {"status": status, "limit": str(page_size), "fields": DRAFT_ORDER_FIELDS})
        for status in CART_STATUSES
    ]


def products(api_version: str, page_size: int) -> Call:
    """``GET products.json?limit=…`` (the whole catalog, page by page)."""
    return Call(api_path(api_version, "products"), {"limit": str(page_size)})


def locations(api_version: str) -> Call:
    """``GET locations.json`` (not paginated by Shopify)."""
    return Call(api_path(api_version, "locations"))


def inventory_levels(
    api_version: str,
    item_ids: Sequence[str],
    location_ids: Sequence[str] | None,
    page_size: int,
) -> list[Call]:
    """``GET inventory_levels.json?inventory_item_ids=…[&location_ids=…]&limit=…``: at most 50
    ids in each list, so item chunks × location chunks calls."""
    location_chunks: list[list[str] | None] = (
        [None] if location_ids is None else list(split_ids(location_ids, MAX_INVENTORY_IDS))
    )
    calls: list[Call] = []
    for items in split_ids(item_ids, MAX_INVENTORY_IDS):
        for where in location_chunks:
            params = {"inventory_item_ids": ",".join(items), "limit": str(page_size)}
            if where is not None:
                params["location_ids"] = ",".join(where)
            calls.append(Call(api_path(api_version, "inventory_levels"), params))
    return calls


def timestamp(moment: datetime) -> str:
    """ISO 8601 with offset (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def follow(base_url: str, link: str) -> Call | None:
    """The call behind a ``Link`` rel=next URL, or None when it leaves the configured shop
    (the access token must never be sent elsewhere)."""
    base = httpx.URL(base_url)
    target = httpx.URL(link)
    prefix = base.path.rstrip("/")
    same_origin = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    if not same_origin or not target.path.startswith(prefix + "/"):
        return None
    return Call(target.path[len(prefix) :], dict(target.params))


# -- writes ----------------------------------------------------------------------------------

MAX_TAG = 40
"""Shopify keeps at most 40 characters of an order tag."""
SAGA_ATTRIBUTE = "c360_saga"
"""The note attribute carrying a saga tag in full on the orders c360 writes."""
TAGGED_ORDER_FIELDS = ORDER_FIELDS + ",tags"
ORDER_LINE_FIELDS = "id,currency,line_items"
MAX_READINESS_ORDERS = 50
"""Orders per :data:`PICKUP_READINESS` query: 2 + 50 × (1 + 2 + 5 × 2) = 652 points, under
Shopify's 1000 per query."""

PREPARED_FOR_PICKUP = """mutation PreparedForPickup(
    $input: FulfillmentOrderLineItemsPreparedForPickupInput!) {
  fulfillmentOrderLineItemsPreparedForPickup(input: $input) {
    userErrors { field message code }
  }
}"""
"""Shopify's mutation marking pickup fulfillment orders ready (it tells the customer)."""

PICKUP_READINESS = """query PickupReadiness($first: Int!, $query: String!) {
  orders(first: $first, query: $query) {
    nodes { legacyResourceId
      fulfillmentOrders(first: 5) { nodes { status deliveryMethod { methodType } } } }
  }
}"""
"""The fulfillment orders of a set of orders: REST orders do not show a pickup prepared."""


def order_tag(saga_tag: str) -> str:
    """The tag an order carries for ``saga_tag``: itself when it fits Shopify's 40
    characters, else its first 23 characters, ``-`` and 16 hex digits of its SHA-256 (the
    same every time, so that a search finds it)."""
    text = saga_tag.strip()
    if len(text) <= MAX_TAG:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[:MAX_TAG - 17]}-{digest}"


def pickup_shipping_line(location_name: str) -> dict[str, Any]:
    """The shipping line of a native local pickup at the location named ``location_name``
    (Shopify's checkout writes it so; see :func:`~.parse.pickup_location`)."""
    return {"title": location_name, "code": location_name, "source": "shopify",
            "price": "0.00"}


def create_order(api_version: str, *, customer_id: int, lines: Sequence[tuple[int, int]],
                 saga_tag: str, email: str | None = None, note: str | None = None,
                 pickup_name: str | None = None) -> Write:
    """``POST orders.json``: ``lines`` as (variant id, quantity), payment pending, the saga
    tag as a tag and a note attribute; a pickup at the location named ``pickup_name``."""
    order: dict[str, Any] = {
        "line_items": [{"variant_id": variant, "quantity": quantity}
                       for variant, quantity in lines],
        "customer": {"id": customer_id},
        "financial_status": "pending",
        "tags": order_tag(saga_tag),
        "note_attributes": [{"name": SAGA_ATTRIBUTE, "value": saga_tag}],
        "send_receipt": False,
    }
    if email:
        order["email"] = email
    if note:
        order["note"] = note
    if pickup_name is not None:
        order["shipping_lines"] = [pickup_shipping_line(pickup_name)]
    return Write("POST", api_path(api_version, "orders"), {"order": order})


def tag_search(tag: str) -> str:
    """``tag:"<tag>"`` (always quoted: saga tags hold ``-`` and may hold ``:``)."""
    escaped = tag.replace("\\", "\\\\").replace('"', '\\"')
    return f'tag:"{escaped}"'


def orders_tagged(api_version: str, tag: str, page_size: int) -> GraphQLCall:
    """:data:`ORDER_REFS` of the orders carrying ``order_tag(tag)`` (GraphQL searches every
    order, cancelled and closed ones too)."""
    return GraphQLCall(graphql_path(api_version), ORDER_REFS,
                       {"first": page_size, "query": tag_search(order_tag(tag))})


def cancel_order(api_version: str, order_id: str, *, reason: str, restock: bool) -> Write:
    """``POST orders/{id}/cancel.json`` (no refund: a pending order has nothing to pay
    back)."""
    return Write("POST", api_path(api_version, f"orders/{order_id}/cancel"),
                 {"reason": reason, "restock": restock})


def fulfillment_orders(api_version: str, order_id: str) -> Call:
    """``GET orders/{id}/fulfillment_orders.json``."""
    return Call(api_path(api_version, f"orders/{order_id}/fulfillment_orders"))


def prepared_for_pickup(api_version: str, fulfillment_order_ids: Sequence[str]) -> GraphQLCall:
    """:data:`PREPARED_FOR_PICKUP` for these fulfillment orders (REST ids)."""
    return GraphQLCall(graphql_path(api_version), PREPARED_FOR_PICKUP, {"input": {
        "lineItemsByFulfillmentOrder": [
            {"fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{fo_id}"}
            for fo_id in fulfillment_order_ids]}}, paged=False)


def pickup_readiness(api_version: str, order_ids: Sequence[str]) -> list[GraphQLCall]:
    """:data:`PICKUP_READINESS` per :data:`MAX_READINESS_ORDERS` orders (``id:1 OR id:2``)."""
    return [
        GraphQLCall(graphql_path(api_version), PICKUP_READINESS, {
            "first": len(chunk), "query": " OR ".join(f"id:{i}" for i in chunk)}, paged=False)
        for chunk in split_ids(order_ids, MAX_READINESS_ORDERS)
    ]


def fulfil(api_version: str, fulfillment_order_ids: Sequence[str]) -> Write:
    """``POST fulfillments.json``: everything still open on these fulfillment orders, the
    customer not notified."""
    return Write("POST", api_path(api_version, "fulfillments"), {"fulfillment": {
        "line_items_by_fulfillment_order": [
            {"fulfillment_order_id": int(fo_id)} for fo_id in fulfillment_order_ids],
        "notify_customer": False}})


def order_lines(api_version: str, order_id: str) -> Call:
    """``GET orders/{id}.json?fields=id,currency,line_items``."""
    return Call(api_path(api_version, f"orders/{order_id}"), {"fields": ORDER_LINE_FIELDS})


def connect_inventory(api_version: str, inventory_item_id: str, location_id: str) -> Write:
    """``POST inventory_levels/connect.json``: stock the item at the location (available 0),
    so that a refund can restock it there."""
    return Write("POST", api_path(api_version, "inventory_levels/connect"),
                 {"location_id": int(location_id), "inventory_item_id": int(inventory_item_id)})


def _refund_lines(lines: Sequence[tuple[str, int]], location_id: str | None
                  ) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for line_id, quantity in lines:
        item: dict[str, Any] = {"line_item_id": int(line_id), "quantity": quantity,
                                "restock_type": "return" if location_id else "no_restock"}
        if location_id:
            item["location_id"] = int(location_id)
        items.append(item)
    return items


def calculate_refund(api_version: str, order_id: str, lines: Sequence[tuple[str, int]],
                     location_id: str | None) -> Write:
    """``POST orders/{id}/refunds/calculate.json`` for ``lines`` (line item id, quantity),
    shipping kept: what Shopify would pay back (a read)."""
    return Write("POST", api_path(api_version, f"orders/{order_id}/refunds/calculate"),
                 {"refund": {"shipping": {"amount": "0.00"},
                             "refund_line_items": _refund_lines(lines, location_id)}})


def refund_marker(key: str) -> str:
    """``[c360:<key>]``: how a refund's note carries its key."""
    return f"[c360:{key}]"


def refund_note(note: str | None, key: str) -> str:
    """The note with the key's marker appended."""
    marker = refund_marker(key)
    return f"{note.strip()} {marker}" if note and note.strip() else marker


def create_refund(api_version: str, order_id: str, lines: Sequence[tuple[str, int]], *,
                  location_id: str | None, key: str, note: str | None,
                  transactions: Sequence[dict[str, Any]]) -> Write:
    """``POST orders/{id}/refunds.json``: the lines restocked at ``location_id`` (``return``),
    the key in the note, ``transactions`` as :func:`~.parse.refund_transactions` made them
    (an empty list: no money back)."""
    return Write("POST", api_path(api_version, f"orders/{order_id}/refunds"), {"refund": {
        "notify": False, "note": refund_note(note, key),
        "shipping": {"amount": "0.00"},
        "refund_line_items": _refund_lines(lines, location_id),
        "transactions": list(transactions)}})


def refunds(api_version: str, order_id: str) -> Call:
    """``GET orders/{id}/refunds.json``."""
    return Call(api_path(api_version, f"orders/{order_id}/refunds"))


def draft_order(api_version: str, draft_id: str) -> Call:
    """``GET draft_orders/{id}.json``."""
    return Call(api_path(api_version, f"draft_orders/{draft_id}"))


def update_draft_order(api_version: str, draft_id: str, *, tags: Sequence[str],
                       note_attributes: Sequence[dict[str, Any]],
                       pickup_name: str | None) -> Write:
    """``PUT draft_orders/{id}.json``: its tags and note attributes (replaced, so the caller
    passes the draft's own with the saga's), and the pickup shipping line when given."""
    draft: dict[str, Any] = {"tags": ", ".join(tags),
                             "note_attributes": list(note_attributes)}
    if pickup_name is not None:
        line = pickup_shipping_line(pickup_name)
        draft["shipping_line"] = {"title": line["title"], "price": line["price"]}
    return Write("PUT", api_path(api_version, f"draft_orders/{draft_id}"),
                 {"draft_order": draft})


def complete_draft_order(api_version: str, draft_id: str) -> Write:
    """``PUT draft_orders/{id}/complete.json?payment_pending=true``."""
    return Write("PUT", api_path(api_version, f"draft_orders/{draft_id}/complete"), {},
                 {"payment_pending": "true"})
