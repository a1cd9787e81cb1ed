"""Pure builders of the Shopify Admin calls the adapter makes (no I/O).

Every REST call here is a ``GET`` under ``/admin/api/{version}/``. Key sets are split at the
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

CUSTOMER_FIELDS = ",".join(_CUSTOMER_FIELDS)
ORDER_FIELDS = ",".join(_ORDER_FIELDS)
"""``fields=`` of customer and order reads: only what the parsers read comes back."""
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

    def body(self, after: str | None = None) -> dict[str, Any]:
        """The JSON body asking for the page after ``after`` (the first page when None)."""
        return {"query": self.query, "variables": {**self.variables, "after": after}}


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


def orders_by_ids(api_version: str, ids: Sequence[str], page_size: int) -> list[Call]:
    """``GET orders.json?ids=…&status=any&limit=…``, split at 250 ids (``status`` defaults to
    ``open`` otherwise)."""
    return [
        Call(
            api_path(api_version, "orders"),
            {"ids": ",".join(chunk), "status": "any", "limit": str(page_size),
             "fields": ORDER_FIELDS},
        )
        for chunk in split_ids(ids, MAX_IDS)
    ]


def orders_of_customer(api_version: str, customer_id: str, page_size: int) -> Call:
    """``GET orders.json?customer_id=…&status=any&limit=…``: one customer's orders in one
    round trip (the GraphQL search then ``ids`` path costs two)."""
    return Call(api_path(api_version, "orders"),
                {"customer_id": customer_id, "status": "any", "limit": str(page_size),
                 "fields": ORDER_FIELDS})


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
