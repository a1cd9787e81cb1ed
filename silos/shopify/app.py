"""The emulated Shopify Admin REST API (a subset) as an ASGI app.

Served under ``/admin/api/{version}/`` (``YYYY-MM`` or ``unstable``): customers (list, get,
search, create, their orders), orders (list, get, create, close/open/cancel, refunds and their
calculation, fulfillments, fulfillment orders), fulfillments through the fulfillment order API
(``POST fulfillments.json``), products, locations, inventory levels (list, connect), abandoned
checkouts (list, count) and draft orders (list, count, get, create, update, send invoice,
complete). Every request needs the ``X-Shopify-Access-Token`` header; every answer to an
authenticated request carries ``X-Shopify-Shop-Api-Call-Limit`` and ``X-Shopify-API-Version``.

Behaviour chosen to match the real API (and where it could not be verified, marked so):

* Lists page with opaque ``page_info`` cursors and a ``Link`` header (``rel="previous"`` first,
  then ``rel="next"``; none when one page holds everything). With ``page_info`` only ``limit``
  and ``fields`` may be sent; anything else is 400 ``{"errors": {p: "p cannot be passed when
  page_info is present. See ..."}}``; a garbled cursor is 400 ``{"errors": {"page_info":
  "Invalid value."}}``.
* ``limit`` defaults to 50; above 250 is 400 ``{"errors": "Limit exceeds maximum limit of 250"}``
  (as measured on a 2026-07 shop); below 1 or not a number is 400 ``{"errors": {"limit":
  "Invalid value."}}`` (unverified; the same shape is used for other malformed filters).
* ``ids`` is a filter like any other: results are still paged by ``limit`` with ``Link``
  headers; Shopify documents no cap on the count, its front end refuses an over-long request
  target with an HTML 414, emulated above ``max_request_uri`` bytes (8192, about 580 ids).
* Order: customers and orders newest first (ids grow with creation), products oldest first,
  ``since_id`` switches to ascending ids after it; locations by name; inventory levels in
  creation order. Customer search uses the list order (Shopify's default is by last order date).
* ``orders.json`` and ``customers/{id}/orders.json`` default to ``status=open``.
* ``checkouts.json`` (abandoned checkouts) takes ``since_id``, ``created_at_*``,
  ``updated_at_*``, ``status`` (``open``, the default: not archived, ``closed_at`` null;
  ``closed``); it lists recovered checkouts too (``completed_at`` set), newest first
  (unverified). ``draft_orders.json`` takes ``ids``, ``since_id``, ``updated_at_*`` and
  ``status`` (``open``, ``invoice_sent``, ``completed``; every status when absent, as the
  vendor's sample list holds open and completed drafts), ascending ids like that sample. An
  unknown ``status`` is 400 ``Invalid value.``. The ``count.json`` endpoints take the lists'
  filters and answer ``{"count": n}``.
* ``inventory_levels.json`` needs ``inventory_item_ids`` and/or ``location_ids`` (at most 50 ids
  each, as documented); otherwise 422 (the real body could not be verified).
* A 429 (bucket full) carries ``Retry-After: 2.0`` and no call-limit header, as measured; the 503
  is an HTML page, like Shopify's generic error page.

``POST /admin/api/{version}/graphql.json`` serves a minimal Admin GraphQL API (orders and
customers connections, see :mod:`.graphql`). It is outside the REST leaky bucket (no call-limit
header; its cost bucket is reported in the body), and the sandbox faults answer it in its own
shapes: the rate-limit storm is HTTP 200 ``THROTTLED``, the server error HTTP 200
``INTERNAL_SERVER_ERROR`` (Shopify answers those instead of a 500 on this endpoint); ``down`` is
the same 503 page.
"""

from __future__ import annotations

import hmac
import re
import shlex
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from silos.control import FaultResponses, SandboxControl
from silos.responses import json_response

from .carts import CHECKOUT_STATUSES, DRAFT_STATUSES
from .config import ShopifySiloConfig
from .errors import (
    MAX_LIMIT,
    BadRequest,
    ShopifyNotFoundError,
    ShopifyValidationError,
    fault_responses,
    invalid_value,
    missing_root,
    not_found,
    rate_limited,
    refused_with_page_info,
    server_error,
    unauthorized,
    uri_too_long,
)
from .graphql import AdminGraphQL, internal_error
from .pagination import Cursor, Page, decode_cursor, link_header, page_of
from .ratelimit import LeakyBucket
from .records import Record, parse_time
from .store import ShopifyStore

PREFIX = "/admin/api/{version}"
API_PATH = re.compile(r"^/admin/api/(\d{4}-\d{2}|unstable)/")
GRAPHQL_PATH = re.compile(r"^/admin/api/(\d{4}-\d{2}|unstable)/graphql\.json$")
TOKEN_HEADER = b"x-shopify-access-token"
DEFAULT_LIMIT = 50
MAX_INVENTORY_IDS = 50
PAGING_PARAMS = frozenset({"limit", "fields", "page_info"})

CUSTOMER_FILTERS = frozenset(
    {"ids", "since_id", "created_at_min", "created_at_max", "updated_at_min", "updated_at_max"}
)
ORDER_FILTERS = CUSTOMER_FILTERS | {
    "status",
    "financial_status",
    "fulfillment_status",
    "processed_at_min",
    "processed_at_max",
    "customer_id",
}
PRODUCT_FILTERS = CUSTOMER_FILTERS | {"vendor", "product_type", "status", "handle"}
SEARCH_FILTERS = frozenset({"query"})
CHECKOUT_FILTERS = frozenset(
    {"since_id", "created_at_min", "created_at_max", "updated_at_min", "updated_at_max",
     "status"}
)
DRAFT_ORDER_FILTERS = frozenset(
    {"ids", "since_id", "updated_at_min", "updated_at_max", "status"}
)
INVENTORY_FILTERS = frozenset({"inventory_item_ids", "location_ids", "updated_at_min"})

# GET locations/{id}.json answers without the localized names that GET locations.json carries.
LIST_ONLY_LOCATION_FIELDS = frozenset({"localized_country_name", "localized_province_name"})
ORDER_STATUSES = frozenset({"open", "closed", "cancelled", "any"})
FINANCIAL_FILTERS: dict[str, frozenset[str] | None] = {
    "any": None,
    "authorized": frozenset({"authorized"}),
    "pending": frozenset({"pending"}),
    "paid": frozenset({"paid"}),
    "partially_paid": frozenset({"partially_paid"}),
    "refunded": frozenset({"refunded"}),
    "voided": frozenset({"voided"}),
    "partially_refunded": frozenset({"partially_refunded"}),
    "unpaid": frozenset({"authorized", "partially_paid", "pending"}),
}
FULFILLMENT_FILTERS: dict[str, frozenset[str | None] | None] = {
    "any": None,
    "shipped": frozenset({"fulfilled"}),
    "fulfilled": frozenset({"fulfilled"}),
    "partial": frozenset({"partial"}),
    "unshipped": frozenset({None}),
    "unfulfilled": frozenset({None, "partial"}),
}

Handler = Callable[[Request], Awaitable[Response]]
Match = Callable[[int], bool]


def parse_limit(raw: str | None) -> int:
    """``limit``: default 50; above 250 is refused like the real API (400)."""
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise invalid_value("limit") from exc
    if limit > MAX_LIMIT:
        raise BadRequest(f"Limit exceeds maximum limit of {MAX_LIMIT}")
    if limit < 1:
        raise invalid_value("limit")
    return limit


def parse_ids(raw: str, param: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise invalid_value(param) from exc


def parse_fields(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def select_fields(record: Record, fields: list[str] | None) -> Record:
    if fields is None:
        return record
    return {name: record[name] for name in fields if name in record}


def parse_query(query: str) -> list[tuple[str | None, str]]:
    """Search terms: ``email:bob@x.com phone:"(613) 612-0707" Bob`` -> (field, value) pairs."""
    terms: list[tuple[str | None, str]] = []
    try:
        tokens = shlex.split(query)
    except ValueError:
        tokens = query.split()
    for token in tokens:
        if token.upper() in ("AND", "OR"):
            continue
        field, sep, value = token.partition(":")
        if sep and field and value:
            terms.append((field.lower(), value))
        else:
            terms.append((None, token))
    return terms


def _combine(checks: list[Match]) -> Match | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda record_id: all(check(record_id) for check in checks)


class ListRequest:
    """The paging part of a list request: ``limit``, ``fields``, the cursor and the filters."""

    def __init__(self, request: Request, resource: str, allowed: frozenset[str]) -> None:
        params = dict(request.query_params)
        self.request = request
        self.resource = resource
        self.limit = parse_limit(params.get("limit"))
        self.fields = parse_fields(params.get("fields"))
        self.keep: dict[str, str] = {k: params[k] for k in ("limit", "fields") if k in params}
        page_info = params.get("page_info")
        self.cursor: Cursor | None = None
        if page_info is not None:
            for key in params:
                if key not in PAGING_PARAMS:
                    raise refused_with_page_info(key)
            self.cursor = decode_cursor(page_info, resource)
            self.filters = dict(self.cursor.filters)
        else:
            self.filters = {key: value for key, value in params.items() if key in allowed}

    def page(self, ids_asc: list[int], *, ascending: bool, match: Match | None) -> Page:
        since = self.filters.get("since_id")
        if self.cursor is None and since is not None:
            start = Cursor(self.resource, "next", int(since), True)
            first = page_of(ids_asc, ascending=True, limit=self.limit, cursor=start, match=match)
            return Page(first.ids, first.has_next, False)
        return page_of(
            ids_asc, ascending=ascending, limit=self.limit, cursor=self.cursor, match=match
        )

    def respond(self, key: str, page: Page, records: list[Record], ascending: bool) -> Response:
        url = self.request.url
        link = link_header(
            f"{url.scheme}://{url.netloc}{url.path}",
            page,
            resource=self.resource,
            ascending=ascending,
            filters=self.filters,
            keep=self.keep,
        )
        body = {key: [select_fields(record, self.fields) for record in records]}
        return json_response(body, headers={"Link": link} if link else None)


def _at_least(column: dict[int, float], bound: float) -> Match:
    return lambda record_id: column[record_id] >= bound


def _at_most(column: dict[int, float], bound: float) -> Match:
    return lambda record_id: column[record_id] <= bound


def _field_in(records: dict[int, Record], key: str, values: frozenset[str]) -> Match:
    return lambda record_id: records[record_id][key] in values


def time_checks(
    filters: dict[str, str], tz: ZoneInfo, columns: dict[str, dict[int, float]]
) -> list[Match]:
    """``created_at_min`` ... filters as predicates over the store's timestamp columns."""
    checks: list[Match] = []
    for prefix, column in columns.items():
        for bound in ("min", "max"):
            raw = filters.get(f"{prefix}_{bound}")
            if raw is None:
                continue
            try:
                limit = parse_time(raw, tz).timestamp()
            except ValueError as exc:
                raise invalid_value(f"{prefix}_{bound}") from exc
            checks.append(_at_least(column, limit) if bound == "min" else _at_most(column, limit))
    return checks


def id_checks(
    filters: dict[str, str], existing: dict[int, Record]
) -> tuple[list[int] | None, list[Match]]:
    """``ids`` (a subset list, ascending) and ``since_id`` (a predicate)."""
    subset = None
    if "ids" in filters:
        subset = sorted({i for i in parse_ids(filters["ids"], "ids") if i in existing})
    checks: list[Match] = []
    if "since_id" in filters:
        try:
            since = int(filters["since_id"])
        except ValueError as exc:
            raise invalid_value("since_id") from exc
        checks.append(lambda i: i > since)
    return subset, checks


class ShopifyApi:
    """Route handlers: thin wrappers turning query strings into store lookups and pages."""

    def __init__(self, store: ShopifyStore, config: ShopifySiloConfig) -> None:
        self.store = store
        self.config = config

    # ---------------------------------------------------------------- customers

    async def list_customers(self, request: Request) -> Response:
        store = self.store
        paging = ListRequest(request, "customers", CUSTOMER_FILTERS)
        subset, checks = id_checks(paging.filters, store.customers)
        checks += time_checks(
            paging.filters,
            store.tz,
            {"created_at": store.customer_created_at, "updated_at": store.customer_updated_at},
        )
        ascending = "since_id" in paging.filters
        ids = store.customer_ids if subset is None else subset
        page = paging.page(ids, ascending=ascending, match=_combine(checks))
        records = [store.customers[i] for i in page.ids]
        return paging.respond("customers", page, records, ascending)

    async def search_customers(self, request: Request) -> Response:
        store = self.store
        paging = ListRequest(request, "customers/search", SEARCH_FILTERS)
        query = paging.filters.get("query", "").strip()
        terms = parse_query(query)
        ids = store.search_customer_ids(terms) if terms else store.customer_ids
        page = paging.page(ids, ascending=False, match=None)
        records = [store.customers[i] for i in page.ids]
        return paging.respond("customers", page, records, False)

    async def get_customer(self, request: Request) -> Response:
        customer = self.store.customer(request.path_params["customer_id"])
        if customer is None:
            return not_found()
        fields = parse_fields(request.query_params.get("fields"))
        return json_response({"customer": select_fields(customer, fields)})

    async def create_customer(self, request: Request) -> Response:
        body = await read_body(request, "customer")
        customer = self.store.create_customer(body)
        return json_response({"customer": customer}, 201)

    async def customer_orders(self, request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        if self.store.customer(customer_id) is None:
            return not_found()
        base = self.store.order_ids_for_customer(customer_id)
        return self._orders(request, f"customers/{customer_id}/orders", base)

    # ------------------------------------------------------------------- orders

    async def list_orders(self, request: Request) -> Response:
        return self._orders(request, "orders", None)

    def _orders(self, request: Request, resource: str, base: list[int] | None) -> Response:
        store = self.store
        paging = ListRequest(request, resource, ORDER_FILTERS)
        filters = paging.filters
        subset, checks = id_checks(filters, store.orders)
        checks += time_checks(
            filters,
            store.tz,
            {
                "created_at": store.order_created_at,
                "updated_at": store.order_updated_at,
                "processed_at": store.order_processed_at,
            },
        )
        orders = store.orders
        status = filters.get("status", "open")
        if status not in ORDER_STATUSES:
            raise invalid_value("status")
        if status == "open":
            checks.append(
                lambda i: orders[i]["closed_at"] is None and orders[i]["cancelled_at"] is None
            )
        elif status == "closed":
            checks.append(lambda i: orders[i]["closed_at"] is not None)
        elif status == "cancelled":
            checks.append(lambda i: orders[i]["cancelled_at"] is not None)
        financial = filters.get("financial_status", "any")
        if financial not in FINANCIAL_FILTERS:
            raise invalid_value("financial_status")
        wanted_financial = FINANCIAL_FILTERS[financial]
        if wanted_financial is not None:
            checks.append(lambda i: orders[i]["financial_status"] in wanted_financial)
        fulfillment = filters.get("fulfillment_status", "any")
        if fulfillment not in FULFILLMENT_FILTERS:
            raise invalid_value("fulfillment_status")
        wanted_fulfillment = FULFILLMENT_FILTERS[fulfillment]
        if wanted_fulfillment is not None:
            checks.append(lambda i: orders[i]["fulfillment_status"] in wanted_fulfillment)
        ids = store.order_ids if base is None else base
        if "customer_id" in filters:
            try:
                of_customer = store.order_ids_for_customer(int(filters["customer_id"]))
            except ValueError as exc:
                raise invalid_value("customer_id") from exc
            ids = of_customer if base is None else sorted(set(of_customer) & set(base))
        if subset is not None:
            if ids is store.order_ids:
                ids = subset
            else:
                allowed = set(ids)
                ids = [i for i in subset if i in allowed]
        ascending = "since_id" in filters
        page = paging.page(ids, ascending=ascending, match=_combine(checks))
        return paging.respond("orders", page, [orders[i] for i in page.ids], ascending)

    async def get_order(self, request: Request) -> Response:
        order = self.store.order(request.path_params["order_id"])
        if order is None:
            return not_found()
        fields = parse_fields(request.query_params.get("fields"))
        return json_response({"order": select_fields(order, fields)})

    async def create_order(self, request: Request) -> Response:
        body = await read_body(request, "order")
        order = self.store.create_order(body)
        return json_response({"order": order}, 201)

    async def close_order(self, request: Request) -> Response:
        order = self.store.close_order(request.path_params["order_id"])
        return json_response({"order": order})

    async def open_order(self, request: Request) -> Response:
        order = self.store.open_order(request.path_params["order_id"])
        return json_response({"order": order})

    async def cancel_order(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if self.store.order(order_id) is None:
            return not_found()
        raw = await request.body()
        body: Any = {}
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise missing_root("order") from exc
        if not isinstance(body, dict):
            body = {}
        reason = body.get("reason") or "other"
        restock = body.get("restock", False)
        if not isinstance(restock, bool):
            raise invalid_value("restock")
        order = self.store.cancel_order(order_id, reason=str(reason), restock=restock)
        return json_response({"order": order, "notice": "Order has been canceled"})

    async def list_refunds(self, request: Request) -> Response:
        refunds = self.store.refunds(request.path_params["order_id"])
        fields = parse_fields(request.query_params.get("fields"))
        views = [self.store.refund_view(r) for r in refunds]
        return json_response({"refunds": [select_fields(r, fields) for r in views]})

    async def create_refund(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if self.store.order(order_id) is None:
            return not_found()
        body = await read_body(request, "refund")
        refund = self.store.create_refund(order_id, body)
        return json_response({"refund": self.store.refund_view(refund)}, 201)

    async def calculate_refund(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if self.store.order(order_id) is None:
            return not_found()
        body = await read_body(request, "refund")
        return json_response({"refund": self.store.calculate_refund(order_id, body)})

    async def list_fulfillment_orders(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if self.store.order(order_id) is None:
            return not_found()
        return json_response(
            {"fulfillment_orders": self.store.order_fulfillment_orders(order_id)})

    async def get_fulfillment_order(self, request: Request) -> Response:
        found = self.store.fulfillment_order(request.path_params["fulfillment_order_id"])
        if found is None:
            return not_found()
        return json_response({"fulfillment_order": found})

    async def create_fulfillment(self, request: Request) -> Response:
        body = await read_body(request, "fulfillment")
        fulfillment = self.store.fulfil_fulfillment_orders(body)
        return json_response({"fulfillment": fulfillment}, 201)

    async def list_fulfillments(self, request: Request) -> Response:
        order = self.store.order(request.path_params["order_id"])
        if order is None:
            return not_found()
        fields = parse_fields(request.query_params.get("fields"))
        return json_response(
            {"fulfillments": [select_fields(f, fields) for f in order["fulfillments"]]}
        )

    # -------------------------------------------------- checkouts, draft orders

    def _checkout_checks(self, filters: dict[str, str]) -> list[Match]:
        store = self.store
        _, checks = id_checks(filters, store.checkouts)
        checks += time_checks(
            filters,
            store.tz,
            {"created_at": store.checkout_created_at, "updated_at": store.checkout_updated_at},
        )
        status = filters.get("status", "open")
        if status not in CHECKOUT_STATUSES:
            raise invalid_value("status")
        checkouts = store.checkouts
        closed = status == "closed"
        checks.append(lambda i: (checkouts[i]["closed_at"] is not None) is closed)
        return checks

    async def list_checkouts(self, request: Request) -> Response:
        store = self.store
        paging = ListRequest(request, "checkouts", CHECKOUT_FILTERS)
        checks = self._checkout_checks(paging.filters)
        ascending = "since_id" in paging.filters
        page = paging.page(store.checkout_ids, ascending=ascending, match=_combine(checks))
        return paging.respond("checkouts", page, store.checkout_views(page.ids), ascending)

    async def count_checkouts(self, request: Request) -> Response:
        filters = _filters(request, CHECKOUT_FILTERS)
        return _count(self.store.checkout_ids, self._checkout_checks(filters))

    def _draft_order_query(self, filters: dict[str, str]) -> tuple[list[int], list[Match]]:
        store = self.store
        subset, checks = id_checks(filters, store.draft_orders)
        checks += time_checks(filters, store.tz, {"updated_at": store.draft_order_updated_at})
        if "status" in filters:
            status = filters["status"]
            if status not in DRAFT_STATUSES:
                raise invalid_value("status")
            drafts = store.draft_orders
            checks.append(lambda i: drafts[i]["status"] == status)
        return (store.draft_order_ids if subset is None else subset), checks

    async def list_draft_orders(self, request: Request) -> Response:
        store = self.store
        paging = ListRequest(request, "draft_orders", DRAFT_ORDER_FILTERS)
        ids, checks = self._draft_order_query(paging.filters)
        page = paging.page(ids, ascending=True, match=_combine(checks))
        return paging.respond("draft_orders", page, store.draft_order_views(page.ids), True)

    async def count_draft_orders(self, request: Request) -> Response:
        ids, checks = self._draft_order_query(_filters(request, DRAFT_ORDER_FILTERS))
        return _count(ids, checks)

    async def get_draft_order(self, request: Request) -> Response:
        draft = self.store.draft_order(request.path_params["draft_order_id"])
        if draft is None:
            return not_found()
        fields = parse_fields(request.query_params.get("fields"))
        return json_response({"draft_order": select_fields(draft, fields)})

    async def create_draft_order(self, request: Request) -> Response:
        body = await read_body(request, "draft_order")
        draft = self.store.create_draft_order(body)
        return json_response({"draft_order": draft}, 201)

    async def update_draft_order(self, request: Request) -> Response:
        body = await read_body(request, "draft_order")
        draft = self.store.update_draft_order(request.path_params["draft_order_id"], body)
        return json_response({"draft_order": draft})

    async def complete_draft_order(self, request: Request) -> Response:
        pending = request.query_params.get("payment_pending", "false").lower()
        if pending not in ("true", "false"):
            raise invalid_value("payment_pending")
        draft = self.store.complete_draft_order(
            request.path_params["draft_order_id"], payment_pending=pending == "true"
        )
        return json_response({"draft_order": draft})

    async def send_draft_order_invoice(self, request: Request) -> Response:
        draft_id = request.path_params["draft_order_id"]
        if self.store.draft_order(draft_id) is None:
            return not_found()
        raw = await request.body()
        given: Any = {}
        if raw.strip():
            try:
                given = orjson.loads(raw).get("draft_order_invoice") or {}
            except (orjson.JSONDecodeError, AttributeError) as exc:
                raise missing_root("draft_order_invoice") from exc
        if not isinstance(given, dict):
            raise missing_root("draft_order_invoice")
        draft = self.store.send_draft_order_invoice(draft_id)
        invoice = {
            "to": given.get("to") or draft["email"],
            "from": given.get("from"),
            "subject": given.get("subject"),
            "custom_message": given.get("custom_message"),
            "bcc": given.get("bcc") or [],
        }
        return json_response({"draft_order_invoice": invoice}, 201)

    # ----------------------------------------------------------------- products

    async def list_products(self, request: Request) -> Response:
        store = self.store
        paging = ListRequest(request, "products", PRODUCT_FILTERS)
        filters = paging.filters
        subset, checks = id_checks(filters, store.products)
        checks += time_checks(
            filters,
            store.tz,
            {"created_at": store.product_created_at, "updated_at": store.product_updated_at},
        )
        products = store.products
        for key in ("vendor", "product_type", "status", "handle"):
            if key in filters:
                values = frozenset(v.strip() for v in filters[key].split(","))
                checks.append(_field_in(products, key, values))
        ids = store.product_ids if subset is None else subset
        page = paging.page(ids, ascending=True, match=_combine(checks))
        return paging.respond("products", page, [products[i] for i in page.ids], True)

    async def get_product(self, request: Request) -> Response:
        product = self.store.products.get(request.path_params["product_id"])
        if product is None:
            return not_found()
        fields = parse_fields(request.query_params.get("fields"))
        return json_response({"product": select_fields(product, fields)})

    # -------------------------------------------------------- locations, stock

    async def list_locations(self, request: Request) -> Response:
        fields = parse_fields(request.query_params.get("fields"))
        locations = [select_fields(loc, fields) for loc in self.store.location_list()]
        return json_response({"locations": locations})

    async def get_location(self, request: Request) -> Response:
        location = self.store.locations.get(request.path_params["location_id"])
        if location is None:
            return not_found()
        single = {k: v for k, v in location.items() if k not in LIST_ONLY_LOCATION_FIELDS}
        fields = parse_fields(request.query_params.get("fields"))
        return json_response({"location": select_fields(single, fields)})

    async def connect_inventory_level(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise missing_root("inventory_item_id") from exc
        level, _ = self.store.connect_inventory_level(body)
        return json_response({"inventory_level": level}, 201)

    async def list_inventory_levels(self, request: Request) -> Response:
        store = self.store
        paging = ListRequest(request, "inventory_levels", INVENTORY_FILTERS)
        filters = paging.filters
        items = locations = None
        if filters.get("inventory_item_ids"):
            items = parse_ids(filters["inventory_item_ids"], "inventory_item_ids")
        if filters.get("location_ids"):
            locations = parse_ids(filters["location_ids"], "location_ids")
        if items is None and locations is None:
            raise ShopifyValidationError(
                {"base": ["inventory_item_ids, location_ids, or both must be given"]}
            )
        for name, ids in (("inventory_item_ids", items), ("location_ids", locations)):
            if ids is not None and len(ids) > MAX_INVENTORY_IDS:
                raise ShopifyValidationError(
                    {name: [f"must contain at most {MAX_INVENTORY_IDS} ids"]}
                )
        seqs, levels = store.inventory_levels(items, locations)
        match: Match | None = None
        if "updated_at_min" in filters:
            try:
                since = parse_time(filters["updated_at_min"], store.tz)
            except ValueError as exc:
                raise invalid_value("updated_at_min") from exc
            moments = {seq: parse_time(str(levels[seq]["updated_at"]), store.tz) for seq in seqs}
            match = lambda seq: moments[seq] >= since  # noqa: E731
        page = paging.page(seqs, ascending=True, match=match)
        return paging.respond("inventory_levels", page, [levels[s] for s in page.ids], True)


def _filters(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in allowed}


def _count(ids: list[int], checks: list[Match]) -> Response:
    match = _combine(checks)
    count = len(ids) if match is None else sum(1 for i in ids if match(i))
    return json_response({"count": count})


async def read_body(request: Request, root: str) -> dict[str, Any]:
    """The JSON body; not JSON, not an object, or without ``root`` -> Shopify's 400."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise missing_root(root) from exc
    if not isinstance(body, dict) or not isinstance(body.get(root), dict):
        raise missing_root(root)
    return body


def shopify_errors(handler: Handler) -> Handler:
    """Turn the store's typed errors into Shopify's status codes and bodies."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as exc:
            return json_response({"errors": exc.errors}, 400)
        except ShopifyValidationError as exc:
            return json_response({"errors": exc.errors}, 422)
        except ShopifyNotFoundError:
            return not_found()

    return wrapped


class ShopifyGate:
    """Version check, access token, leaky bucket (REST only) and Shopify's response headers."""

    def __init__(self, app: ASGIApp, config: ShopifySiloConfig, bucket: LeakyBucket) -> None:
        self.app = app
        self.config = config
        self.bucket = bucket
        self.token = config.access_token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        target = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string", b""))
        if target + 1 > self.config.max_request_uri:
            await uri_too_long()(scope, receive, send)
            return
        matched = API_PATH.match(path)
        if matched is None:
            await not_found()(scope, receive, send)
            return
        token = b""
        for name, value in scope["headers"]:
            if name == TOKEN_HEADER:
                token = value
                break
        if not hmac.compare_digest(token, self.token):
            await unauthorized()(scope, receive, send)
            return
        extra = [(b"x-shopify-api-version", matched.group(1).encode())]
        if GRAPHQL_PATH.match(path) is None:
            if not self.bucket.take():
                await rate_limited(self.config)(scope, receive, send)
                return
            extra.insert(0, (b"x-shopify-shop-api-call-limit", self.bucket.header().encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_routes(api: ShopifyApi, graphql: AdminGraphQL) -> list[Route]:
    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(PREFIX + path, shopify_errors(handler), methods=[method])

    return [
        Route(PREFIX + "/graphql.json", graphql.handle, methods=["POST"]),
        route("/customers.json", api.list_customers, "GET"),
        route("/customers.json", api.create_customer, "POST"),
        route("/customers/search.json", api.search_customers, "GET"),
        route("/customers/{customer_id:int}.json", api.get_customer, "GET"),
        route("/customers/{customer_id:int}/orders.json", api.customer_orders, "GET"),
        route("/orders.json", api.list_orders, "GET"),
        route("/orders.json", api.create_order, "POST"),
        route("/orders/{order_id:int}.json", api.get_order, "GET"),
        route("/orders/{order_id:int}/close.json", api.close_order, "POST"),
        route("/orders/{order_id:int}/open.json", api.open_order, "POST"),
        route("/orders/{order_id:int}/cancel.json", api.cancel_order, "POST"),
        route("/orders/{order_id:int}/refunds.json", api.list_refunds, "GET"),
        route("/orders/{order_id:int}/refunds.json", api.create_refund, "POST"),
        route("/orders/{order_id:int}/refunds/calculate.json", api.calculate_refund, "POST"),
        route("/orders/{order_id:int}/fulfillments.json", api.list_fulfillments, "GET"),
        route("/orders/{order_id:int}/fulfillment_orders.json", api.list_fulfillment_orders,
              "GET"),
        route("/fulfillment_orders/{fulfillment_order_id:int}.json",
              api.get_fulfillment_order, "GET"),
        route("/fulfillments.json", api.create_fulfillment, "POST"),
        route("/products.json", api.list_products, "GET"),
        route("/products/{product_id:int}.json", api.get_product, "GET"),
        route("/locations.json", api.list_locations, "GET"),
        route("/locations/{location_id:int}.json", api.get_location, "GET"),
        route("/inventory_levels.json", api.list_inventory_levels, "GET"),
        route("/inventory_levels/connect.json", api.connect_inventory_level, "POST"),
        route("/checkouts.json", api.list_checkouts, "GET"),
        route("/checkouts/count.json", api.count_checkouts, "GET"),
        route("/draft_orders.json", api.list_draft_orders, "GET"),
        route("/draft_orders.json", api.create_draft_order, "POST"),
        route("/draft_orders/count.json", api.count_draft_orders, "GET"),
        route("/draft_orders/{draft_order_id:int}.json", api.get_draft_order, "GET"),
        route("/draft_orders/{draft_order_id:int}.json", api.update_draft_order, "PUT"),
        route("/draft_orders/{draft_order_id:int}/complete.json", api.complete_draft_order,
              "PUT"),
        route("/draft_orders/{draft_order_id:int}/send_invoice.json",
              api.send_draft_order_invoice, "POST"),
    ]


class ByPath(Response):
    """A fault answer chosen per request: ``graphql`` on ``graphql.json``, else ``rest()``."""

    def __init__(self, rest: Callable[[], Response], graphql: ASGIApp) -> None:
        super().__init__()
        self.rest = rest
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if GRAPHQL_PATH.match(scope["path"]) is not None:
            await self.graphql(scope, receive, send)
        else:
            await self.rest()(scope, receive, send)


def graphql_aware(rest: FaultResponses, graphql: AdminGraphQL) -> FaultResponses:
    """The REST fault answers, with the GraphQL endpoint's own shapes on ``graphql.json``."""

    async def internal(scope: Scope, receive: Receive, send: Send) -> None:
        await json_response(internal_error())(scope, receive, send)

    return FaultResponses(
        rate_limited=lambda: ByPath(rest.rate_limited, graphql.throttled_fault),
        server_error=lambda: ByPath(rest.server_error, internal),
        unavailable=rest.unavailable,
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    return not_found()


async def _server_error(request: Request, exc: Exception) -> Response:
    return server_error()


def create_app(store: ShopifyStore, config: ShopifySiloConfig | None = None) -> SandboxControl:
    """The emulated Shopify Admin REST API over ``store``, wrapped in the sandbox control API."""
    config = config or ShopifySiloConfig()
    if store.currency != config.currency:
        raise ValueError(f"store currency {store.currency} != config currency {config.currency}")
    api = ShopifyApi(store, config)
    graphql = AdminGraphQL(store, config)
    routes = build_routes(api, graphql)
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _not_found,
        Exception: _server_error,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    bucket = LeakyBucket(
        config.bucket_size, config.leak_rate, config.clock, enforce=config.rate_limit
    )
    gate = ShopifyGate(app, config, bucket)
    return SandboxControl(gate, routes, graphql_aware(fault_responses(config), graphql))
