"""The Shopify Admin adapter: customers, orders, catalog, inventory, locations and open carts.

Everything is read through the Admin REST API except the order ids of a set of customers, which
REST cannot filter by more than one customer: those come from one Admin GraphQL query per 100
customers (``orders(query: "customer_id:… OR …")``, ids only), then the orders themselves from
the REST ``orders.json?ids=`` batch the other order reads use. REST orders do not show a
pickup prepared for collection: the fulfillment orders of the orders whose pickup is pending
are read too, one Admin GraphQL query per 50 of them (none when no pickup is pending).
Order *summaries* (``OrderSummarySource``, for a list that shows no lines, fulfillments or
returns) make the same requests with a ``fields=`` list that leaves those out, and need no
fulfillment orders.

Writes (``WebOrderWriter``): orders, their cancellation, pickup preparation
(``fulfillmentOrderLineItemsPreparedForPickup``) and collection (``fulfillments.json``),
refunds and draft order completion, each documented with how a repeat is made harmless. A
refusal (404, 400, 422) is :class:`~adapters.errors.RecordNotFound` or
:class:`~adapters.errors.UpstreamRejected`; everything else maps as for reads.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import httpx

from adapters.base import HTTPAdapter
from adapters.errors import (
    RecordNotFound,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from adapters.http import CALL_DEADLINE, Sleep
from adapters.models import (
    Cart,
    Customer,
    HistorySlice,
    HistoryWindow,
    InventoryLevel,
    Location,
    NewRefund,
    NewWebOrder,
    Order,
    OrderReturn,
    OrderSummary,
    Variant,
)

from . import parse
from . import requests as calls
from .config import KIND, ShopifyConfig
from .requests import Call, GraphQLCall, Write

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
OrderT = TypeVar("OrderT", Order, OrderSummary)
TOKEN_HEADER = "X-Shopify-Access-Token"
UNAVAILABLE_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SHOP_INACTIVE"})
_CODE = re.compile(r"^[A-Za-z_]{1,40}$")
REFUSED = frozenset({400, 404, 422})
"""Write answers that say "not applied": 404 (no such record), 400 (a malformed body), 422
(a record Shopify refuses)."""
PREPARED = "fulfillmentOrderLineItemsPreparedForPickup"


class SharedTtlValue(Generic[T]):
    """A value loaded on demand and kept ``ttl`` seconds; concurrent callers share one load.

    This in-process cache is the seam a shared cache (one catalog for every gateway replica)
    will replace: the adapter only calls :meth:`get` with its loader and :meth:`put`.
    A failed load is not cached: the next caller loads again.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._value: T | None = None
        self._expires = float("-inf")
        self._loading: asyncio.Task[T] | None = None

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value, or the result of the one load in flight (starting it if none)."""
        if self._value is not None and self.clock() < self._expires:
            return self._value
        task = self._loading
        if task is None:
            task = asyncio.ensure_future(self._load(load))
            task.add_done_callback(_retrieve)
            self._loading = task
        return await asyncio.shield(task)

    def put(self, value: T) -> None:
        """Store a fresh value (e.g. one read for another purpose) for ``ttl`` seconds."""
        self._value = value
        self._expires = self.clock() + self.ttl

    def invalidate(self) -> None:
        """Forget the value (a write changed what it holds): the next caller loads again."""
        self._value = None
        self._expires = float("-inf")

    async def _load(self, load: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await load()
            self.put(value)
            return value
        finally:
            self._loading = None


def _by_customer(keys: Sequence[str], wanted: Sequence[str], orders: Iterable[OrderT]
                 ) -> list[list[OrderT]]:
    """Each key's orders among ``orders`` (only the customers ``wanted``), newest first."""
    allowed = set(wanted)
    found: dict[str, list[OrderT]] = {}
    for order in orders:
        owner = order.customer_id
        if owner is not None and owner in allowed:
            found.setdefault(owner, []).append(order)
    for mine in found.values():
        mine.sort(key=lambda order: (order.placed_at, int(order.id)), reverse=True)
    return [list(found.get(key, ())) for key in keys]


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a shared load's failure as seen even when every caller was cancelled meanwhile."""
    if not task.cancelled():
        task.exception()


class ShopifyAdapter(HTTPAdapter[ShopifyConfig]):
    """Reads one Shopify shop through its Admin REST API (``/admin/api/{version}/``), and its
    Admin GraphQL API for the order ids of many customers at once.

    Implements ``CustomerSource``, ``OrderSource``, ``OrderSummarySource``, ``CatalogSource``,
    ``InventorySource``, ``LocationSource``, ``CartSource`` and ``WebOrderWriter``. Every batch
    method answers aligned with its keys (duplicates answered, ``None``/``[]`` for keys the
    shop does not have, including keys that cannot be Shopify ids).
    Independent requests run concurrently, at most ``config.max_concurrency`` at a time; every
    list is followed through its ``Link`` rel="next" pages to the end.
    """

    KIND = KIND
    UNIQUE_KEYS = frozenset({"email", "phone"})
    """Key types one customer record at most holds: Shopify refuses a customer whose email or
    phone another holds (422 ``has already been taken``)."""

    def __init__(
        self,
        config: ShopifyConfig,
        client: httpx.AsyncClient,
        *,
        source: str = KIND,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        headers = {TOKEN_HEADER: config.access_token}
        super().__init__(config, client, source, headers=headers, sleep=sleep, rng=rng)
        self.catalog: SharedTtlValue[dict[str, Variant]] = SharedTtlValue(
            config.catalog_ttl_s, clock)
        """SKU -> variant, built by crawling ``products.json`` (see :class:`SharedTtlValue`)."""
        self.pickup_names: SharedTtlValue[dict[str, str]] = SharedTtlValue(
            config.catalog_ttl_s, clock)
        """Location name -> id, to recognise native local-pickup shipping lines."""
        self.carts: SharedTtlValue[dict[str, list[Cart]]] = SharedTtlValue(
            config.carts_ttl_s, clock)
        """Customer id -> open carts (see :meth:`carts_by_customer_ids`)."""

    # --------------------------------------------------------------------------- customers

    async def customers_by_ids(self, ids: Sequence[str]) -> list[Customer | None]:
        """``GET customers.json?ids=…&limit=250`` per 250 ids (concurrently)."""
        wanted = calls.unique_ids(ids)
        batches = calls.customers_by_ids(self.config.api_version, wanted, self.config.page_size)
        found: dict[str, Customer] = {}
        for bodies in await self._gather(self._collect(call) for call in batches):
            for customer in self._customers(bodies):
                found[customer.id] = customer
        return [found.get(key) for key in ids]

    async def customers_by_emails(self, emails: Sequence[str]) -> list[list[Customer]]:
        """``GET customers/search.json?query=email:…``, one request per distinct e-mail."""
        return await self._search("email", emails)

    async def customers_by_phones(self, phones: Sequence[str]) -> list[list[Customer]]:
        """``GET customers/search.json?query=phone:…``, one request per distinct phone."""
        return await self._search("phone", phones)

    async def crawl_customers(
        self, since: datetime | None = None
    ) -> AsyncIterator[list[Customer]]:
        """``GET customers.json?limit=250[&updated_at_min=since]``, one list per page."""
        call = calls.customers_crawl(self.config.api_version, since, self.config.page_size)
        async for body in self._pages(call):
            yield self._customers([body])

    async def _search(self, field_name: str, values: Sequence[str]) -> list[list[Customer]]:
        distinct = [value for value in dict.fromkeys(values) if value.strip()]
        version, size = self.config.api_version, self.config.page_size
        results = await self._gather(
            self._collect(calls.customer_search(version, field_name, value, size))
            for value in distinct
        )
        found = {value: self._customers(bodies) for value, bodies in zip(distinct, results,
                                                                          strict=True)}
        return [list(found.get(value, ())) for value in values]

    def _customers(self, bodies: Iterable[Any]) -> list[Customer]:
        with self._parsing("customers"):
            return [
                customer
                for body in bodies
                for customer in parse.parse_customers(
                    body, source=self.source, references=self.config.references)
            ]

    # ------------------------------------------------------------------------------ orders

    async def orders_by_customer_ids(self, ids: Sequence[str]) -> list[list[Order]]:
        """One customer: ``GET orders.json?customer_id=…&status=any`` (one round trip). More:
        the order ids of up to 100 customers per Admin GraphQL query (``POST graphql.json``,
        ``orders(query: "customer_id:… OR …")``, every page), then ``GET orders.json?ids=…&
        status=any`` per 250 orders: up to 100 customers cost one GraphQL request per page of
        250 order ids (one for most batches) plus one REST request per 250 orders, however many
        customers. Each customer's orders newest first."""
        wanted = calls.unique_ids(ids)
        if not wanted:
            return [[] for _ in ids]
        names, (bodies, _) = await self._pair(
            self._pickup_names(), self._orders_of_customers(wanted, calls.ORDER_FIELDS))
        return _by_customer(ids, wanted, await self._with_readiness(self._orders(bodies, names)))

    async def order_summaries_by_customer_ids(self, ids: Sequence[str]
                                              ) -> list[list[OrderSummary]]:
        """The requests of :meth:`orders_by_customer_ids`, each order read with ``fields=``
        :data:`~.requests.ORDER_SUMMARY_FIELDS` only: no lines, refunds, fulfillments or
        shipping lines, and no customer record (each order is the customer's whose orders were
        listed, or whom the order search answered for it): 5 % of the bytes. Neither the
        location names (pickups) nor the pickup readiness are read."""
        wanted = calls.unique_ids(ids)
        if not wanted:
            return [[] for _ in ids]
        bodies, owners = await self._orders_of_customers(wanted, calls.ORDER_SUMMARY_FIELDS)
        only = wanted[0]
        customer_of = owners.get if owners is not None else lambda _: only
        with self._parsing("orders"):
            found = [summary for body in bodies for summary in parse.parse_order_summaries(
                body, source=self.source, customer_of=customer_of)]
        return _by_customer(ids, wanted, found)

    async def _orders_of_customers(self, customer_ids: Sequence[str], fields: str
                                   ) -> tuple[list[Any], dict[str, str] | None]:
        """The REST ``orders.json`` bodies holding every order of ``customer_ids`` (their
        ``fields``), and the customer the search answered for each order (None for a single
        customer: a 360 view of one person takes one REST round trip instead of two, a read of
        that customer's orders only)."""
        version, size = self.config.api_version, self.config.page_size
        if len(customer_ids) == 1:
            return await self._collect(
                calls.orders_of_customer(version, customer_ids[0], size, fields)), None
        searches = calls.order_refs_of_customers(version, customer_ids, size)
        allowed = set(customer_ids)
        owners: dict[str, str] = {}
        # A search term Shopify does not support is ignored, not refused: keep only orders of
        # the customers asked for, whatever the search answered.
        for refs in await self._gather(self._order_refs(call) for call in searches):
            for order_id, customer_id in refs:
                if customer_id is not None and customer_id in allowed and calls.is_id(order_id):
                    owners.setdefault(order_id, customer_id)
        batches = calls.orders_by_ids(version, list(owners), size, fields)
        results = await self._gather(self._collect(call) for call in batches)
        return [body for bodies in results for body in bodies], owners

    async def _order_refs(self, call: GraphQLCall) -> list[tuple[str, str | None]]:
        """(order id, customer id) of every page of an :data:`~.requests.ORDER_REFS` search."""
        refs: list[tuple[str, str | None]] = []
        seen: set[str] = set()
        after: str | None = None
        while True:
            payload = await self._graphql(call.path, call.body(after))
            with self._parsing("orders"):
                page, after = parse.parse_order_refs(payload)
            refs.extend(page)
            if after is None:
                return refs
            if after in seen:
                raise UpstreamBadResponse(
                    self.source, f"POST {call.path} answered a repeating page cursor")
            seen.add(after)

    async def orders_by_ids(self, ids: Sequence[str]) -> list[Order | None]:
        """``GET orders.json?ids=…&status=any&limit=250`` per 250 ids (concurrently)."""
        wanted = calls.unique_ids(ids)
        batches = calls.orders_by_ids(self.config.api_version, wanted, self.config.page_size)
        if not batches:
            return [None for _ in ids]
        names, results = await self._pair(
            self._pickup_names(), self._gather(self._collect(call) for call in batches))
        orders = [order for bodies in results for order in self._orders(bodies, names)]
        found = {order.id: order for order in await self._with_readiness(orders)}
        return [found.get(key) for key in ids]

    async def order_history(self, windows: Sequence[HistoryWindow]
                            ) -> list[HistorySlice[Order]]:
        """Per window, one Admin GraphQL page of order ids (``customer_id:…
        processed_at:<=until``, ``sortKey: PROCESSED_AT``, newest first); when it is full, a
        second of the ids of orders placed at or before the oldest and updated after it
        (``sortKey: UPDATED_AT``, one page of ``page_size``); then the orders of every window
        of the batch in one ``orders.json?ids=`` read per 250: three round trips at most,
        whatever the page of the history."""
        version, size = self.config.api_version, self.config.page_size

        async def ids_of(call: GraphQLCall) -> list[tuple[str, datetime]]:
            payload = await self._graphql(call.path, call.body())
            with self._parsing("orders"):
                return parse.parse_order_window(payload)

        async def window(w: HistoryWindow) -> tuple[list[str], datetime | None]:
            if not calls.is_id(w.owner) or w.limit < 1:
                return [], None
            found = await ids_of(calls.order_window(version, w.owner, w.until, w.limit))
            if len(found) < w.limit:
                return [i for i, _ in found], None
            edge = min(placed for _, placed in found)
            spanning = await ids_of(calls.orders_spanning(version, w.owner, edge, size))
            return [i for i, _ in [*found, *spanning]], edge

        results = await self._gather(window(w) for w in windows)
        wanted = calls.unique_ids(i for ids, _ in results for i in ids)
        orders = {o.id: o for o in await self.orders_by_ids(wanted) if o is not None} \
            if wanted else {}
        return [HistorySlice(tuple(orders[i] for i in dict.fromkeys(ids)
                                   if i in orders and orders[i].customer_id == w.owner), edge)
                for (ids, edge), w in zip(results, windows, strict=True)]

    async def orders_by_references(self, references: Sequence[str]) -> list[list[Order]]:
        """Per reference, one Admin GraphQL ``name:`` search (``#1042`` and ``1042`` name the
        same order), exact names only, then the orders in one ``orders.json?ids=`` read."""
        version = self.config.api_version

        async def named(reference: str) -> list[str]:
            call = calls.orders_named(version, reference)
            if call is None:
                return []
            payload = await self._graphql(call.path, call.body())
            with self._parsing("orders"):
                pairs = parse.parse_order_names(payload)
            wanted = reference.strip().lstrip("#").lower()
            return [i for i, name in pairs if name.lstrip("#").lower() == wanted]

        distinct = list(dict.fromkeys(references))
        found = dict(zip(distinct, await self._gather(named(r) for r in distinct),
                         strict=True))
        wanted_ids = calls.unique_ids(i for ids in found.values() for i in ids)
        orders = {o.id: o for o in await self.orders_by_ids(wanted_ids) if o is not None} \
            if wanted_ids else {}
        return [[orders[i] for i in found[r] if i in orders] for r in references]

    def _orders(self, bodies: Iterable[Any], names: dict[str, str]) -> list[Order]:
        with self._parsing("orders"):
            return [
                order
                for body in bodies
                for order in parse.parse_orders(body, source=self.source, pickup_locations=names)
            ]

    async def _with_readiness(self, orders: list[Order]) -> list[Order]:
        """The orders with each pending pickup ``READY`` once prepared: REST orders do not
        show it, so the fulfillment orders of those orders are read, :data:`~.requests.
        MAX_READINESS_ORDERS` orders per Admin GraphQL query (no request when none is
        pending)."""
        pending = calls.unique_ids(order.id for order in orders if parse.awaiting_pickup(order))
        if not pending:
            return orders

        async def readiness(call: GraphQLCall) -> dict[str, bool]:
            payload = await self._graphql(call.path, call.body())
            with self._parsing("fulfillment orders"):
                return parse.pickup_readiness(payload)

        ready: dict[str, bool] = {}
        for found in await self._gather(
                readiness(call) for call in calls.pickup_readiness(
                    self.config.api_version, pending)):
            ready.update(found)
        return [parse.with_readiness(order, ready.get(order.id, False)) for order in orders]

    async def _pickup_names(self) -> dict[str, str]:
        return await self.pickup_names.get(self._load_pickup_names)

    async def _load_pickup_names(self) -> dict[str, str]:
        return parse.location_names(await self._fetch_locations())

    # ------------------------------------------------------------------ catalog, inventory

    async def variants_by_skus(self, skus: Sequence[str]) -> list[Variant | None]:
        """From the SKU index (REST has no SKU filter): ``GET products.json?limit=250``, every
        page, cached ``catalog_ttl_s`` and shared by concurrent callers."""
        index = await self.catalog.get(self._load_catalog)
        return [index.get(sku) for sku in skus]

    async def inventory_by_skus(
        self, skus: Sequence[str], location_ids: Sequence[str] | None = None
    ) -> list[list[InventoryLevel]]:
        """SKU -> inventory item (the SKU index), then ``GET inventory_levels.json?
        inventory_item_ids=…[&location_ids=…]``, at most 50 ids of each per request."""
        index = await self.catalog.get(self._load_catalog)
        sku_by_item: dict[str, str] = {}
        for sku in dict.fromkeys(skus):
            variant = index.get(sku)
            if variant is not None and variant.inventory_item_id is not None:
                sku_by_item.setdefault(variant.inventory_item_id, sku)
        where = None if location_ids is None else calls.unique_ids(location_ids)
        if not sku_by_item or where == []:
            return [[] for _ in skus]
        batches = calls.inventory_levels(
            self.config.api_version, list(sku_by_item), where, self.config.page_size)
        found: dict[str, list[InventoryLevel]] = {}
        for bodies in await self._gather(self._collect(call) for call in batches):
            with self._parsing("inventory_levels"):
                for body in bodies:
                    for level in parse.parse_inventory_levels(
                        body, sku_by_item=sku_by_item, source=self.source
                    ):
                        found.setdefault(level.sku, []).append(level)
        return [list(found.get(sku, ())) for sku in skus]

    async def _load_catalog(self) -> dict[str, Variant]:
        call = calls.products(self.config.api_version, self.config.page_size)
        index: dict[str, Variant] = {}
        async for body in self._pages(call):
            with self._parsing("products"):
                for variant in parse.parse_products(body, source=self.source):
                    index.setdefault(variant.sku, variant)
        return index

    # ------------------------------------------------------------------------------- carts

    async def carts_by_customer_ids(self, ids: Sequence[str]) -> list[list[Cart]]:
        """From a shared index of the shop's open carts (REST filters neither checkouts nor
        draft orders by customer): ``GET checkouts.json?status=open&updated_at_min=<now -
        cart_lookback_days>`` and ``GET draft_orders.json?status=open`` and ``status=
        invoice_sent``, every page, concurrently; cached ``carts_ttl_s`` and shared by
        concurrent callers. Each customer's carts most recently updated first; completed
        checkouts (recovered) and completed draft orders are left out."""
        index = await self.carts.get(self._load_carts)
        return [list(index.get(key, ())) for key in ids]

    async def _load_carts(self) -> dict[str, list[Cart]]:
        version, size = self.config.api_version, self.config.page_size
        since = datetime.now(UTC) - timedelta(days=self.config.cart_lookback_days)
        checkouts, *drafts = await self._gather(
            self._collect(call) for call in (calls.abandoned_checkouts(version, since, size),
                                             *calls.open_draft_orders(version, size)))
        found: list[Cart] = []
        with self._parsing("checkouts"):
            for body in checkouts:
                found.extend(parse.parse_checkouts(body, source=self.source))
        with self._parsing("draft_orders"):
            for body in (body for bodies in drafts for body in bodies):
                found.extend(parse.parse_draft_orders(body, source=self.source))
        return parse.open_carts_by_customer(found)

    # --------------------------------------------------------------------------- locations

    async def locations(self) -> list[Location]:
        """``GET locations.json``: STORE when in ``store_location_ids``, else WAREHOUSE."""
        found = await self._fetch_locations()
        self.pickup_names.put(parse.location_names(found))
        return found

    async def _fetch_locations(self) -> list[Location]:
        found: list[Location] = []
        async for body in self._pages(calls.locations(self.config.api_version)):
            with self._parsing("locations"):
                found.extend(parse.parse_locations(
                    body, source=self.source,
                    store_location_ids=self.config.store_location_ids))
        return found

    # ------------------------------------------------------------------------------ writes

    async def create_order(self, order: NewWebOrder) -> Order:
        """``POST orders.json`` (variants from the SKU index, payment pending), carrying
        ``order.saga_tag`` as a tag (see :func:`~.requests.order_tag`) and the note attribute
        ``c360_saga``; with ``pickup_location_id``, a native local pickup there (the shipping
        line naming the location). Not retried within the call: Shopify has no idempotency
        key here, so after an unknown outcome look with :meth:`orders_by_tag` first."""
        customer = self._numeric(order.customer_id, "customer")
        index = await self.catalog.get(self._load_catalog)
        unknown = [line.sku for line in order.lines if line.sku not in index]
        if unknown:
            raise RecordNotFound(self.source, f"{len(unknown)} SKU(s) not in the catalog")
        pickup_name = None
        if order.pickup_location_id is not None:
            pickup_name = await self._location_name(order.pickup_location_id)
        write = calls.create_order(
            self.config.api_version, customer_id=customer,
            lines=[(int(index[line.sku].id), line.quantity) for line in order.lines],
            saga_tag=order.saga_tag, email=order.email, note=order.note,
            pickup_name=pickup_name)
        body = await self._write(write, idempotent=False)
        return await self._answered_order(body)

    async def orders_by_tag(self, tag: str) -> list[Order]:
        """The order ids an Admin GraphQL ``tag:`` search finds (every status), then those
        orders from ``orders.json?ids=`` keeping only those whose tags hold the tag (a
        search term Shopify ignored must not match every order)."""
        version, size = self.config.api_version, self.config.page_size
        refs = await self._order_refs(calls.orders_tagged(version, tag, size))
        ids = calls.unique_ids(order_id for order_id, _ in refs)
        if not ids:
            return []
        batches = calls.orders_by_ids(version, ids, size, calls.TAGGED_ORDER_FIELDS)
        names, results = await self._pair(
            self._pickup_names(), self._gather(self._collect(call) for call in batches))
        wanted = calls.order_tag(tag)
        with self._parsing("orders"):
            found = [order for bodies in results for body in bodies
                     for order in parse.tagged_orders(
                         body, wanted, source=self.source, pickup_locations=names)]
        found.sort(key=lambda o: (o.placed_at, int(o.id)))
        return await self._with_readiness(found)

    async def cancel_order(self, order_id: str, *, reason: str, restock: bool) -> Order:
        """``POST orders/{id}/cancel.json`` (retried: cancelling is harmless to repeat). An
        order already cancelled (Shopify answers 422) is answered as it is."""
        self._numeric(order_id, "order")
        write = calls.cancel_order(self.config.api_version, order_id, reason=reason,
                                   restock=restock)
        try:
            await self._write(write, idempotent=True)
        except RecordNotFound:
            raise
        except UpstreamRejected as exc:
            if exc.status != 422:
                raise
            current = await self._order(order_id)
            if current.status != "CANCELLED":
                raise
            return current
        return await self._order(order_id)

    async def mark_ready_for_pickup(self, order_id: str) -> Order:
        """The order's open pickup fulfillment orders (``GET orders/{id}/fulfillment_orders.
        json``) prepared for pickup with the Admin GraphQL mutation ``fulfillmentOrderLine
        ItemsPreparedForPickup`` (Shopify tells the customer); those already prepared or
        collected are left as they are, so a repeat changes nothing."""
        pickups = await self._pickup_fulfillment_orders(order_id)
        waiting = [fo_id for fo_id, status in pickups if status == "open"]
        if waiting:
            call = calls.prepared_for_pickup(self.config.api_version, waiting)
            payload = await self._graphql(call.path, call.body())
            with self._parsing("fulfillment orders"):
                codes = parse.user_error_codes(payload, PREPARED)
            if codes:
                again = await self._pickup_fulfillment_orders(order_id)
                if any(status == "open" for _, status in again):
                    named = sorted({c for c in codes if _CODE.match(c)})
                    raise UpstreamRejected(
                        self.source, f"{PREPARED} refused ({', '.join(named) or 'userErrors'})")
        return await self._order(order_id)

    async def complete_pickup(self, order_id: str) -> Order:
        """``POST fulfillments.json`` (fulfillment order API, customer not notified) for the
        pickup fulfillment orders still open or prepared; once none is, a repeat only reads
        the order back."""
        pickups = await self._pickup_fulfillment_orders(order_id)
        waiting = [fo_id for fo_id, status in pickups if status in ("open", "in_progress")]
        if waiting:
            await self._write(calls.fulfil(self.config.api_version, waiting), idempotent=False)
        return await self._order(order_id)

    async def create_refund(self, refund: NewRefund) -> OrderReturn:
        """The SKUs resolved to the order's line items (``GET orders/{id}.json``); the items
        stocked at ``restock_location_id`` when they are not yet (``inventory_levels.json``,
        then ``inventory_levels/connect.json``: a store's web location may stock nothing);
        the money Shopify suggests for them (``POST refunds/calculate.json``), then ``POST
        orders/{id}/refunds.json`` restocking there with ``[c360:<key>]`` in the note. Not
        retried: after an unknown outcome, look with :meth:`refunds_by_key`."""
        self._numeric(refund.order_id, "order")
        if refund.restock_location_id is not None:
            self._numeric(refund.restock_location_id, "location")
        version = self.config.api_version
        body = await self._read(calls.order_lines(version, refund.order_id), "order")
        with self._parsing("order"):
            lines = parse.order_line_items(body)
        allocated, problem = parse.allocate_refund(
            [(line.sku, line.quantity) for line in refund.lines], lines)
        if problem == "missing":
            raise RecordNotFound(self.source, "a refunded SKU is not on the order")
        if problem == "exceeds":
            raise UpstreamRejected(self.source, "more units refunded than the order has left")
        if refund.restock_location_id is not None:
            await self._stock_at(refund.restock_location_id, [line.sku for line in refund.lines])
        calculated = await self._write(
            calls.calculate_refund(version, refund.order_id, allocated,
                                   refund.restock_location_id), idempotent=True)
        with self._parsing("refund calculation"):
            transactions = parse.refund_transactions(calculated)
        made = await self._write(calls.create_refund(
            version, refund.order_id, allocated, location_id=refund.restock_location_id,
            key=refund.key, note=refund.note, transactions=transactions), idempotent=False)
        with self._parsing("refund"):
            return parse.parse_created_refund(made, source=self.source)

    async def refunds_by_key(self, order_id: str, key: str) -> list[OrderReturn]:
        """``GET orders/{id}/refunds.json``: the refunds whose note carries ``[c360:<key>]``."""
        self._numeric(order_id, "order")
        body = await self._read(calls.refunds(self.config.api_version, order_id), "order")
        with self._parsing("refunds"):
            return parse.refunds_with_marker(body, calls.refund_marker(key), source=self.source)

    async def complete_draft_order(self, draft_id: str, *, saga_tag: str,
                                   pickup_location_id: str | None) -> Order:
        """``GET draft_orders/{id}.json``; a draft already completed answers the order it
        became. Else ``PUT draft_orders/{id}.json`` adds the saga tag and note attribute (and
        the pickup shipping line), then ``PUT draft_orders/{id}/complete.json?payment_pending
        =true``: Shopify copies the draft's tags and note attributes to the order, so
        :meth:`orders_by_tag` finds it. The cached open carts are dropped (the draft is no
        longer one). Both PUTs are retried (the first is harmless to
        repeat, and completing a completed draft is refused, not repeated)."""
        self._numeric(draft_id, "draft order")
        version = self.config.api_version
        body = await self._read(calls.draft_order(version, draft_id), "draft order")
        with self._parsing("draft order"):
            order_id, tags, attributes = parse.draft_state(body)
        if order_id is not None:
            self.carts.invalidate()
            return await self._order(order_id)
        pickup_name = None
        if pickup_location_id is not None:
            pickup_name = await self._location_name(pickup_location_id)
        tag = calls.order_tag(saga_tag)
        if tag.lower() not in {t.lower() for t in tags}:
            tags = [*tags, tag]
        if not any(a.get("name") == calls.SAGA_ATTRIBUTE and a.get("value") == saga_tag
                   for a in attributes):
            attributes = [*attributes, {"name": calls.SAGA_ATTRIBUTE, "value": saga_tag}]
        await self._write(calls.update_draft_order(
            version, draft_id, tags=tags, note_attributes=attributes,
            pickup_name=pickup_name), idempotent=True)
        try:
            completed = await self._write(calls.complete_draft_order(version, draft_id),
                                          idempotent=True)
        except RecordNotFound:
            raise
        except UpstreamRejected as exc:
            if exc.status != 422:
                raise
            completed = await self._read(calls.draft_order(version, draft_id), "draft order")
        self.carts.invalidate()
        with self._parsing("draft order"):
            order_id, _, _ = parse.draft_state(completed)
        if order_id is None:
            raise UpstreamRejected(self.source, "the draft order was not completed")
        return await self._order(order_id)

    async def _stock_at(self, location_id: str, skus: Sequence[str]) -> None:
        """Connect the SKUs' inventory items the location does not stock yet (a refund can
        only restock where the item is stocked); harmless to repeat."""
        index = await self.catalog.get(self._load_catalog)
        items = calls.unique_ids(
            variant.inventory_item_id for sku in skus
            if (variant := index.get(sku)) is not None and variant.inventory_item_id)
        if not items:
            return
        batches = calls.inventory_levels(self.config.api_version, items, [location_id],
                                         self.config.page_size)
        stocked: set[str] = set()
        for bodies in await self._gather(self._collect(call) for call in batches):
            with self._parsing("inventory_levels"):
                for body in bodies:
                    stocked.update(parse.stocked_items(body, location_id))
        for item in items:
            if item not in stocked:
                await self._write(calls.connect_inventory(
                    self.config.api_version, item, location_id), idempotent=True)

    # ------------------------------------------------------------------------ write plumbing

    def _numeric(self, value: str, what: str) -> int:
        """A Shopify id as an integer; anything else names no record of the shop."""
        if not calls.is_id(value):
            raise RecordNotFound(self.source, f"not a Shopify {what} id")
        return int(value)

    async def _write(self, write: Write, *, idempotent: bool) -> Any:
        """The JSON answer of one write; a refusal (:data:`REFUSED`) raised as
        :class:`RecordNotFound` (404) or :class:`UpstreamRejected` naming the refused fields
        (never their messages, which may quote values)."""
        async with self._slots:
            response = await self._http.send(
                write.method, write.path, params=write.params or None, json=write.body,
                idempotent=idempotent, allow=REFUSED)
        status = response.status_code
        if status in REFUSED:
            what = f"{write.method} {write.path} answered HTTP {status}"
            if status == 404:
                raise RecordNotFound(self.source, what, status=status)
            fields = parse.error_fields(self._json_or_none(response))
            if fields:
                what += f" ({', '.join(fields)})"
            raise UpstreamRejected(self.source, what, status=status)
        return self._http.json(response)

    @staticmethod
    def _json_or_none(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    async def _read(self, call: Call, what: str) -> Any:
        """The JSON of one GET (retried); 404 is :class:`RecordNotFound`."""
        async with self._slots:
            response = await self._http.send("GET", call.path, params=call.params or None,
                                             idempotent=True, allow=frozenset({404}))
        if response.status_code == 404:
            raise RecordNotFound(self.source, f"GET {call.path} answered HTTP 404 (no such "
                                              f"{what})", status=404)
        return self._http.json(response)

    async def _order(self, order_id: str) -> Order:
        """The order as every read answers it; a missing one is :class:`RecordNotFound`."""
        [found] = await self.orders_by_ids([order_id])
        if found is None:
            raise RecordNotFound(self.source, "no such order")
        return found

    async def _answered_order(self, body: Any) -> Order:
        """A just-created order's ``{"order": {...}}`` answer parsed like every read (its
        pickup cannot have been prepared yet: no fulfillment order is read)."""
        names = await self._pickup_names()
        with self._parsing("order"):
            return parse.parse_order(body["order"], source=self.source, pickup_locations=names)

    async def _location_name(self, location_id: str) -> str:
        """The name of a location (its pickup shipping lines carry it), from the cached
        locations, read again once when the id is not among them."""
        names = await self._pickup_names()
        for name, known in names.items():
            if known == location_id:
                return name
        fresh = await self._load_pickup_names()
        self.pickup_names.put(fresh)
        for name, known in fresh.items():
            if known == location_id:
                return name
        raise RecordNotFound(self.source, "no such pickup location")

    async def _pickup_fulfillment_orders(self, order_id: str) -> list[tuple[str, str]]:
        """(id, status) of the order's pickup fulfillment orders; an order without one is not
        a pickup (:class:`UpstreamRejected`)."""
        self._numeric(order_id, "order")
        body = await self._read(calls.fulfillment_orders(self.config.api_version, order_id),
                                "order")
        with self._parsing("fulfillment orders"):
            pickups = parse.pickup_fulfillment_orders(body)
        if not pickups:
            raise UpstreamRejected(self.source, "the order is not a pickup order")
        return pickups

    # ---------------------------------------------------------------------------- plumbing

    async def _pages(self, call: Call) -> AsyncIterator[Any]:
        """The JSON body of every page of ``call``, following ``Link`` rel="next"."""
        seen: set[str] = set()
        current: Call | None = call
        while current is not None:
            async with self._slots:
                body, response = await self._http.get_json(current.path, current.params)
            yield body
            link = response.links.get("next", {}).get("url")
            if not link:
                return
            current = calls.follow(self.config.url, link)
            if current is None or link in seen:
                raise UpstreamBadResponse(
                    self.source, f"GET {call.path} answered an unusable next-page link",
                    status=response.status_code)
            seen.add(link)

    async def _graphql(self, path: str, body: dict[str, Any]) -> Any:
        """POST one GraphQL query and return its body. A query is a read: retried like a GET,
        also when Shopify answers an HTTP 200 carrying ``THROTTLED`` (waiting until the cost
        bucket holds the query again, when that is within the retry policy's limit and the
        caller's :data:`~adapters.http.CALL_DEADLINE`) or ``INTERNAL_SERVER_ERROR``."""
        http = self._http
        attempt = 0
        while True:
            attempt += 1
            async with self._slots:
                response = await http.send("POST", path, json=body, idempotent=True)
            payload = http.json(response)
            error = self._graphql_error(payload, path, response.status_code)
            if error is None:
                return payload
            delay = http.retry.delay(attempt, error, http.rng)
            deadline = CALL_DEADLINE.get()
            if delay is not None and deadline is not None and (
                    asyncio.get_running_loop().time() + delay >= deadline):
                delay = None
            if delay is None:
                raise error
            await http.sleep(delay)

    def _graphql_error(self, payload: Any, path: str, status: int) -> UpstreamError | None:
        """The typed error of a GraphQL body with ``errors`` (None without): ``THROTTLED`` ->
        rate limited, ``ACCESS_DENIED`` -> auth, ``INTERNAL_SERVER_ERROR``/``SHOP_INACTIVE`` ->
        unavailable, anything else (a query Shopify refused) -> bad response. The message names
        the codes, never the errors' texts (they may quote the query)."""
        codes = parse.graphql_error_codes(payload)
        if codes is None:
            return None
        named = sorted({code for code in codes if _CODE.match(code)})
        what = f"POST {path} answered HTTP {status} with GraphQL errors"
        if named:
            what += f" ({', '.join(named)})"
        if "THROTTLED" in codes:
            return UpstreamRateLimited(
                self.source, what, status=status, retry_after=parse.throttle_wait(payload))
        if "ACCESS_DENIED" in codes:
            return UpstreamAuthError(self.source, what, status=status)
        if UNAVAILABLE_CODES.intersection(codes):
            return UpstreamUnavailable(self.source, what, status=status)
        return UpstreamBadResponse(self.source, what, status=status)

    async def _collect(self, call: Call) -> list[Any]:
        return [body async for body in self._pages(call)]

    @staticmethod
    async def _pair(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
        """Await both concurrently; on a failure cancel the other and raise it."""
        one, two = asyncio.ensure_future(first), asyncio.ensure_future(second)
        try:
            return await asyncio.gather(one, two)
        except BaseException:
            for task in (one, two):
                task.cancel()
            await asyncio.gather(one, two, return_exceptions=True)
            raise

    @staticmethod
    async def _gather(awaitables: Iterable[Awaitable[T]]) -> list[T]:
        """Await all; on the first failure cancel the others and raise it."""
        tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
