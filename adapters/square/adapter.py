"""The Square API v2 adapter: customers, orders, catalog, inventory and locations."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from adapters.base import HTTPAdapter
from adapters.cache import LookupCache, MemoryLookupCache, NoCache
from adapters.errors import RecordNotFound, UpstreamBadResponse, UpstreamRejected
from adapters.http import Sleep
from adapters.models import (
    Customer,
    HistorySlice,
    HistoryWindow,
    InventoryLevel,
    Location,
    NewStoreOrder,
    NewStoreReturn,
    Order,
    Variant,
)
from adapters.square import parse
from adapters.square import requests as req
from adapters.square.config import KIND, SquareConfig

T = TypeVar("T")
SPANNING_PAGE = 100
"""Orders read after a history window's edge: Square cannot also filter them on creation, so
the page is kept small (those changed soonest after the edge come first)."""
_SQUARE_ID = re.compile(r"^[A-Za-z0-9]{10,64}$")
Page = tuple[list[T], str | None]
_NON_DIGITS = re.compile(r"\D")
REFUSED = frozenset({400, 404, 409, 422})
"""Statuses a Square write answers when it refuses the request (nothing was applied)."""
VERSION_RETRIES = 3
"""UpdateOrders re-read and re-sent after a VERSION_MISMATCH (someone else moved the order)."""
CATALOG_ENTRIES = 50_000
"""SKUs (found or not) the catalog cache keeps at most."""


def _unique(keys: Iterable[str]) -> list[str]:
    """Distinct non-blank keys, first-seen order."""
    return list(dict.fromkeys(key for key in keys if key and key.strip()))


class SquareAdapter(HTTPAdapter[SquareConfig]):
    """One Square seller account over a shared ``httpx.AsyncClient``.

    Reads use Square's batch endpoints split at the documented limits, follow cursors to the
    end and run concurrently (at most ``config.max_concurrency`` requests in flight). Searches
    and batch retrievals are read-only POSTs, retried like GETs. Catalog SKUs of line items and
    the seller's location ids are cached for the adapter's lifetime; the variations of a SKU
    for ``config.catalog_ttl_s`` (a customer 360 then needs no catalog round trip after its
    orders once the catalog is warm).
    """

    KIND = KIND

    def __init__(
        self,
        config: SquareConfig,
        client: httpx.AsyncClient,
        *,
        source: str = KIND,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        headers = {
            "Authorization": f"Bearer {config.access_token}",
            "Square-Version": config.api_version,
        }
        super().__init__(config, client, source, headers=headers, sleep=sleep, rng=rng)
        self._ctx = parse.Context(
            source=source,
            references=dict(config.references),
            return_reference_source=config.return_reference_source,
        )
        self._skus: dict[str, str | None] = {}
        self._catalog: LookupCache[list[Variant]] = (
            MemoryLookupCache(config.catalog_ttl_s, CATALOG_ENTRIES, clock)
            if config.catalog_ttl_s > 0 else NoCache())
        self._location_ids: tuple[str, ...] | None = None
        self._locations_lock = asyncio.Lock()

    # -- plumbing ----------------------------------------------------------------------------

    async def _call(self, call: req.Call) -> Any:
        async with self._slots:
            if call.method == "GET":
                payload, _ = await self._http.get_json(call.path, call.params)
            else:
                payload = await self._http.read_post_json(call.path, call.body)
        if not isinstance(payload, dict):
            raise UpstreamBadResponse(
                self._source, f"{call.method} {call.path} answered a non-object")
        return payload

    async def _walk(
        self,
        what: str,
        build: Callable[[str | None], req.Call],
        read: Callable[[Any], Page[T]],
    ) -> list[T]:
        """Every page of one cursor-paginated call, concatenated."""
        found: list[T] = []
        async for page in self._pages(what, build, read):
            found.extend(page)
        return found

    async def _pages(
        self,
        what: str,
        build: Callable[[str | None], req.Call],
        read: Callable[[Any], Page[T]],
    ) -> AsyncIterator[list[T]]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            payload = await self._call(build(cursor))
            with self._parsing(what):
                page, cursor = read(payload)
            yield page
            if cursor is None:
                return
            if cursor in seen:
                raise UpstreamBadResponse(self._source, f"{what} cursor repeated")
            seen.add(cursor)

    @staticmethod
    async def _gather(jobs: Iterable[Awaitable[T]]) -> list[T]:
        return list(await asyncio.gather(*jobs))

    # -- customers ---------------------------------------------------------------------------

    async def customers_by_ids(self, ids: Sequence[str]) -> list[Customer | None]:
        """BulkRetrieveCustomers, 100 ids per call; None for ids Square does not know."""
        unique = _unique(ids)

        async def bulk(chunk: Sequence[str]) -> dict[str, Customer | None]:
            payload = await self._call(req.bulk_retrieve_customers(chunk))
            with self._parsing("customers"):
                return parse.bulk_customers(payload, self._ctx)

        found: dict[str, Customer | None] = {}
        for part in await self._gather(
            bulk(chunk) for chunk in req.chunks(unique, req.CUSTOMERS_PER_BULK)
        ):
            found.update(part)
        return [found.get(key) for key in ids]

    async def _search_customers(self, field: str, match: str, value: str) -> list[Customer]:
        return await self._walk(
            "customers",
            lambda cursor: req.search_customers(field, match, value, cursor),
            lambda payload: parse.customers_page(payload, self._ctx),
        )

    async def customers_by_emails(self, emails: Sequence[str]) -> list[list[Customer]]:
        """SearchCustomers with an exact ``email_address`` filter (case-insensitive), one
        search per distinct email, run concurrently."""
        unique = _unique(emails)
        results = await self._gather(
            self._search_customers("email_address", "exact", email.strip()) for email in unique
        )
        found = dict(zip(unique, results, strict=True))
        return [list(found.get(email, ())) for email in emails]

    async def _search_phone(self, phone: str) -> list[Customer]:
        digits = _NON_DIGITS.sub("", phone)
        if not digits:
            return []
        if phone.lstrip().startswith("+"):
            return await self._search_customers("phone_number", "exact", "+" + digits)
        candidates = await self._search_customers("phone_number", "fuzzy", digits)
        return [
            c for c in candidates
            if any(_NON_DIGITS.sub("", p).endswith(digits) for p in c.phones)
        ]

    async def customers_by_phones(self, phones: Sequence[str]) -> list[list[Customer]]:
        """SearchCustomers by phone. Square's exact phone filter needs E.164: a value starting
        with ``+`` is sent as ``+<digits>`` to the exact filter. Any other value (a national
        number, unknown country) goes to the fuzzy filter with its digits, and only customers
        whose phone's digits end with those digits are kept."""
        unique = _unique(phones)
        results = await self._gather(self._search_phone(phone) for phone in unique)
        found = dict(zip(unique, results, strict=True))
        return [list(found.get(phone, ())) for phone in phones]

    async def crawl_customers(
        self, since: datetime | None = None
    ) -> AsyncIterator[list[Customer]]:
        """Every customer page by page, oldest first: ListCustomers for a full crawl,
        SearchCustomers with an ``updated_at`` filter from ``since``."""

        def build(cursor: str | None) -> req.Call:
            if since is None:
                return req.list_customers(cursor)
            return req.customers_updated_since(since, cursor)

        async for page in self._pages(
            "customers", build, lambda payload: parse.customers_page(payload, self._ctx)
        ):
            if page:
                yield page

    # -- locations ---------------------------------------------------------------------------

    async def locations(self) -> list[Location]:
        """ListLocations: every location (active or not) as a STORE with its coordinates."""
        payload = await self._call(req.list_locations())
        with self._parsing("locations"):
            found = parse.locations(payload, self._ctx)
        self._location_ids = tuple(loc.id for loc in found)
        return found

    async def _all_location_ids(self) -> tuple[str, ...]:
        if self._location_ids is None:
            async with self._locations_lock:
                if self._location_ids is None:
                    await self.locations()
        assert self._location_ids is not None
        return self._location_ids

    # -- orders ------------------------------------------------------------------------------

    async def _resolve_skus(self, raw: Sequence[parse.Json]) -> None:
        with self._parsing("orders"):
            wanted = sorted(parse.catalog_object_ids(raw) - self._skus.keys())

        async def batch(chunk: Sequence[str]) -> None:
            payload = await self._call(req.batch_retrieve_catalog(chunk))
            with self._parsing("catalog"):
                found = parse.catalog_skus(payload)
            for object_id in chunk:
                self._skus[object_id] = found.get(object_id)

        await self._gather(batch(chunk) for chunk in req.chunks(wanted, req.CATALOG_IDS_PER_BATCH))

    async def _orders(self, raw: Sequence[parse.Json]) -> list[Order]:
        await self._resolve_skus(raw)
        with self._parsing("orders"):
            return parse.orders(raw, parse.Context(
                source=self._source,
                return_reference_source=self.config.return_reference_source,
                skus=self._skus,
            ))

    async def orders_by_customer_ids(self, ids: Sequence[str]) -> list[list[Order]]:
        """SearchOrders with a customer filter (10 customers × 10 locations per search, every
        location of the seller), cursor to the end; newest first, each sale carrying the
        return orders found with it. Return orders are listed too (status RETURN)."""
        unique = _unique(ids)
        if not unique:
            return [[] for _ in ids]
        location_ids = await self._all_location_ids()

        async def search(customers: Sequence[str], locations: Sequence[str]) -> list[Any]:
            return await self._walk(
                "orders",
                lambda cursor: req.search_orders(customers, locations, cursor),
                parse.orders_page,
            )

        pages = await self._gather(
            search(customers, locations)
            for customers in req.chunks(unique, req.CUSTOMERS_PER_ORDER_SEARCH)
            for locations in req.chunks(location_ids, req.LOCATIONS_PER_ORDER_SEARCH)
        )
        raw = list({str(o["id"]): o for page in pages for o in page}.values())
        by_customer: dict[str, list[Order]] = {}
        for found in await self._orders(raw):
            if found.customer_id is not None:
                by_customer.setdefault(found.customer_id, []).append(found)
        for orders in by_customer.values():
            orders.sort(key=lambda o: (o.placed_at, o.id), reverse=True)
        return [list(by_customer.get(key, ())) for key in ids]

    async def order_history(self, windows: Sequence[HistoryWindow]
                            ) -> list[HistorySlice[Order]]:
        """Per window, one SearchOrders page per 10 locations (``created_at`` ``end_at`` =
        ``until``, CREATED_AT descending, ``limit``); when the window is full, one more page
        of the orders updated after its oldest (UPDATED_AT ascending: Square filters on one
        time field, so those created after the edge are dropped here). A store sale rarely
        changes once closed; an order changed long after the edge may fall beyond that page."""
        location_ids = await self._all_location_ids()
        chunks = list(req.chunks(location_ids, req.LOCATIONS_PER_ORDER_SEARCH))

        async def window(w: HistoryWindow) -> HistorySlice[Order]:
            if w.limit < 1:
                return HistorySlice((), None)
            found = await self._searched_once([
                req.order_window(w.owner, chunk, w.until, w.limit) for chunk in chunks])
            found.sort(key=lambda o: (o.placed_at, o.id), reverse=True)
            found = [o for o in found if o.customer_id == w.owner][:w.limit]
            if len(found) < w.limit:
                return HistorySlice(tuple(found), None)
            edge = found[-1].placed_at
            later = await self._searched_once([
                req.orders_updated_after(w.owner, chunk, edge, SPANNING_PAGE)
                for chunk in chunks])
            known = {o.id for o in found}
            spanning = [o for o in later if o.placed_at <= edge and o.id not in known
                        and o.customer_id == w.owner]
            return HistorySlice((*found, *spanning), edge)

        return await self._gather(window(w) for w in windows)

    async def _searched_once(self, searches: Sequence[req.Call]) -> list[Order]:
        async def one(call: req.Call) -> list[Any]:
            payload = await self._call(call)
            with self._parsing("orders"):
                return parse.orders_page(payload)[0]

        pages = await self._gather(one(call) for call in searches)
        raw = list({str(o["id"]): o for page in pages for o in page}.values())
        return await self._orders(raw)

    async def orders_by_references(self, references: Sequence[str]) -> list[list[Order]]:
        """A receipt names its order by id: BatchRetrieveOrders for the references that can be
        Square ids."""
        plausible = [r.strip() for r in references]
        ids = [r for r in plausible if _SQUARE_ID.match(r)]
        found = dict(zip(ids, await self.orders_by_ids(ids), strict=True)) if ids else {}
        return [[o] if (o := found.get(r)) is not None else [] for r in plausible]

    async def orders_by_ids(self, ids: Sequence[str]) -> list[Order | None]:
        """BatchRetrieveOrders, 100 ids per call; None for ids Square does not return."""
        unique = _unique(ids)

        async def batch(chunk: Sequence[str]) -> list[Any]:
            payload = await self._call(req.batch_retrieve_orders(chunk))
            with self._parsing("orders"):
                return parse.orders_page(payload)[0]

        pages = await self._gather(
            batch(chunk) for chunk in req.chunks(unique, req.ORDERS_PER_BATCH)
        )
        raw = list({str(o["id"]): o for page in pages for o in page}.values())
        found = {o.id: o for o in await self._orders(raw)}
        return [found.get(key) for key in ids]

    # -- catalog and inventory ---------------------------------------------------------------

    async def _variants(self, skus: Sequence[str]) -> list[Variant]:
        """Every variation carrying one of ``skus`` (case-insensitively, as Square matches),
        from the catalog cache where it has the SKU (found or not), else searched."""

        async def search(chunk: Sequence[str]) -> list[Variant]:
            return await self._walk(
                "catalog",
                lambda cursor: req.search_variations_by_sku(chunk, cursor),
                lambda payload: parse.variants_page(payload, self._ctx),
            )

        found: dict[str, Variant] = {}
        missing: list[str] = []
        for sku in _unique(skus):
            cached = self._catalog.get(("sku", sku.lower()))
            if cached is None:
                missing.append(sku)
            else:
                found.update((v.id, v) for v in cached)
        if missing:
            pages = await self._gather(
                search(chunk) for chunk in req.chunks(missing, req.SKUS_PER_SEARCH))
            fetched = list({v.id: v for page in pages for v in page}.values())
            by_key: dict[str, list[Variant]] = {sku.lower(): [] for sku in missing}
            for variant in fetched:
                self._skus[variant.id] = variant.sku
                found[variant.id] = variant
                by_key.setdefault(variant.sku.lower(), []).append(variant)
            for key in {sku.lower() for sku in missing}:
                self._catalog.put(("sku", key), by_key[key])
        return list(found.values())

    @staticmethod
    def _matching(variants: Sequence[Variant], sku: str) -> list[Variant]:
        """The variants with exactly ``sku``, else those equal to it ignoring case."""
        exact = [v for v in variants if v.sku == sku]
        return exact or [v for v in variants if v.sku.lower() == sku.lower()]

    async def variants_by_skus(self, skus: Sequence[str]) -> list[Variant | None]:
        """SearchCatalogObjects (ITEM_VARIATION, ``set_query`` on ``sku``, 250 SKUs per call)
        with the parent items as related objects for the product title."""
        variants = await self._variants(skus)
        by_sku: dict[str, Variant | None] = {}
        for sku in _unique(skus):
            matching = sorted(self._matching(variants, sku), key=lambda v: v.id)
            by_sku[sku] = matching[0] if matching else None
        return [by_sku.get(sku) for sku in skus]

    async def inventory_by_skus(
        self, skus: Sequence[str], location_ids: Sequence[str] | None = None
    ) -> list[list[InventoryLevel]]:
        """SKU → variation ids (SearchCatalogObjects), then BatchRetrieveInventoryCounts
        (1,000 variations per call, IN_STOCK, cursor to the end): one level per SKU and
        location with a count; several variations sharing a SKU are summed."""
        if location_ids is not None and not location_ids:
            return [[] for _ in skus]
        variants = await self._variants(skus)
        wanted = {sku: [v.id for v in self._matching(variants, sku)] for sku in _unique(skus)}
        variation_ids = sorted({vid for ids in wanted.values() for vid in ids})
        wanted_locations = _unique(location_ids) if location_ids is not None else None

        async def counts(chunk: Sequence[str], locations: Sequence[str] | None) -> list[Any]:
            return await self._walk(
                "inventory",
                lambda cursor: req.inventory_counts(chunk, locations, cursor),
                parse.inventory_counts,
            )

        location_chunks: list[Sequence[str] | None] = (
            list(req.chunks(wanted_locations, req.INVENTORY_IDS_PER_BATCH))
            if wanted_locations is not None else [None]
        )
        pages = await self._gather(
            counts(chunk, locations)
            for chunk in req.chunks(variation_ids, req.INVENTORY_IDS_PER_BATCH)
            for locations in location_chunks
        )
        by_variation: dict[str, list[parse.Count]] = {}
        for page in pages:
            for count in page:
                by_variation.setdefault(count.variation_id, []).append(count)
        by_sku = {
            sku: parse.levels(
                sku, [c for vid in ids for c in by_variation.get(vid, ())], self._ctx)
            for sku, ids in wanted.items()
        }
        return [list(by_sku.get(sku, ())) for sku in skus]

    # -- writes ------------------------------------------------------------------------------

    async def _write(self, call: req.Call) -> Any:
        """The JSON answer of one write. Every write carries an ``idempotency_key``, so it is
        retried like a read; a refusal is raised as :class:`RecordNotFound` (NOT_FOUND) or
        :class:`UpstreamRejected` naming Square's error codes."""
        async with self._slots:
            response = await self._http.send(call.method, call.path, json=call.body,
                                             idempotent=True, allow=REFUSED)
        payload = self._http.json(response)
        if response.status_code in REFUSED:
            with self._parsing("errors"):
                codes = parse.error_codes(payload)
            what = f"{call.method} {call.path} answered HTTP {response.status_code}"
            if codes:
                what += f" ({', '.join(codes)})"
            error = (RecordNotFound if response.status_code == 404 or "NOT_FOUND" in codes
                     else UpstreamRejected)
            raise error(self._source, what, status=response.status_code)
        if not isinstance(payload, dict):
            raise UpstreamBadResponse(self._source, f"{call.method} {call.path} answered a "
                                                    "non-object")
        return payload

    async def _variation_ids(self, skus: Sequence[str], *, required: bool) -> dict[str, str]:
        found = dict(zip(skus, await self.variants_by_skus(skus), strict=True))
        unknown = [sku for sku, variant in found.items() if variant is None]
        if unknown and required:
            raise RecordNotFound(self._source, f"{len(unknown)} SKU(s) not in the catalog")
        return {sku: variant.id for sku, variant in found.items() if variant is not None}

    async def _one_order(self, payload: Any) -> Order:
        with self._parsing("order"):
            raw = payload["order"]
            if not isinstance(raw, dict):
                raise TypeError("order is not an object")
        [order] = await self._orders([raw])
        return order

    async def create_store_order(self, order: NewStoreOrder, *, key: str) -> Order:
        """CreateOrder with ``key`` as its ``idempotency_key`` (the same key answers the same
        order); a pickup's units are held for it at the store until it completes or is
        cancelled."""
        ids = await self._variation_ids([line.sku for line in order.lines], required=True)
        return await self._one_order(await self._write(req.create_store_order(order, ids, key)))

    async def create_store_return(self, ret: NewStoreReturn, *, key: str) -> Order:
        """CreateOrder with unlinked returns, ``reference_id`` naming the sale; idempotent on
        ``key``."""
        ids = await self._variation_ids([line.sku for line in ret.lines], required=False)
        return await self._one_order(await self._write(req.create_store_return(ret, ids, key)))

    async def _raw_order(self, order_id: str) -> parse.Json:
        payload = await self._call(req.batch_retrieve_orders([order_id]))
        with self._parsing("orders"):
            found = [o for o in parse.orders_page(payload)[0] if str(o["id"]) == order_id]
        if not found:
            raise RecordNotFound(self._source, "no such order")
        return found[0]

    async def update_store_order(self, order_id: str, *, key: str,
                                 fulfillment_state: str | None = None,
                                 state: str | None = None) -> Order:
        """UpdateOrder against the version just read (re-read and re-sent on
        VERSION_MISMATCH); an order already where it is asked to be is answered as it is.
        Each send's idempotency key is ``key`` and the version it moves from, so a repeat after
        a lost answer finds the order moved and sends nothing."""
        for _ in range(VERSION_RETRIES):
            raw = await self._raw_order(order_id)
            call = req.update_order(raw, key, fulfillment_state=fulfillment_state, state=state)
            if call is None:
                return (await self._orders([raw]))[0]
            try:
                return await self._one_order(await self._write(call))
            except UpstreamRejected as exc:
                if "VERSION_MISMATCH" not in str(exc):
                    raise
        raise UpstreamRejected(self._source, "the order kept changing under the update")

    async def store_orders_by_reference(self, location_id: str,
                                        reference_id: str) -> list[Order]:
        """The store's pickup orders (open, or collected in the last 90 days) whose
        ``reference_id`` is ``reference_id``; SearchOrders cannot filter on it, so the store's
        recent pickups are read and matched here."""
        now = datetime.now(UTC)
        raw = await self._walk(
            "orders", lambda cursor: req.pickups_at(location_id, now, cursor),
            parse.orders_page)
        return await self._orders([o for o in raw if o.get("reference_id") == reference_id])
