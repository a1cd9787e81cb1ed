"""The **direct** contestant: what a frontend team builds without a gateway.

It calls the four silos itself with the credentials of the sandbox's ``c360.toml`` — Shopify's
Admin API, Square's API v2, Zendesk's Support API, and the loyalty database through SQLAlchemy
async — and has no identity registry: it finds a person in each silo by searching for the email
it was given, exactly as typed. It is competent, not naive: calls that do not depend on each
other go out together (at most 8 in flight per vendor, c360's default ``max_concurrency`` per
source: real vendors rate-limit), the static Square location list is read once at start, and
it batches wherever the vendor offers a batch:

S1 (one customer by email: profile, last 10 orders with lines and products, open tickets,
loyalty), three sequential levels:

1. search every silo by the email, concurrently: Shopify ``customers/search.json``, Square
   ``customers/search`` (exact email), Zendesk ``users/search.json``, and one SQL query for the
   loyalty member with its balance;
2. the orders and tickets of what was found, concurrently: Shopify ``orders.json?customer_id=``
   (one per Shopify customer), Square ``orders/search`` (10 customers per call, every location),
   Zendesk ``users/{id}/tickets/requested.json`` (open ones kept);
3. the products of the 10 newest orders' lines, concurrently: Shopify ``products.json?ids=`` and
   Square ``catalog/batch-retrieve`` with the related items.

S2 (50 customers with orders, tickets and loyalty tier), three levels:

1. the list: Shopify ``customers.json?limit=50``;
2. concurrently: Square ``customers/search`` and Zendesk ``users/search.json`` per customer
   (neither vendor can search several emails in one call), one loyalty ``IN (…)`` query, and the
   Shopify order ids of all 50 customers from one Admin GraphQL search (REST has no
   multi-customer order filter);
3. concurrently: Shopify ``orders.json?ids=`` (250 per call), Square ``orders/search`` per 10
   customers, Zendesk ``search.json?query=type:ticket requester:…`` per 50 requesters.

A silo that fails leaves its part empty and the answer is marked partial (``failed_sources``).
"""

from __future__ import annotations

import asyncio
import base64
import tomllib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")
OPEN_STATUSES = {"new", "open", "pending"}
MAX_PAGES = 10
CONNECTIONS_PER_SILO = 8
"""One HTTP client per vendor, at most this many requests in flight to it (real vendors
rate-limit; a larger pool also costs httpcore more CPU per request)."""
ORDER_REFS = """query Refs($query: String!, $after: String) {
  orders(first: 250, after: $after, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { legacyResourceId customer { legacyResourceId } }
    pageInfo { hasNextPage endCursor } } }"""
LOYALTY_BY_EMAILS = sa.text(
    "SELECT m.member_id, m.card_number, lower(trim(m.email)) AS email_key, m.tier, m.status, "
    "coalesce(sum(p.points), 0) AS points_balance "
    "FROM loyalty_member m LEFT JOIN points_ledger p ON p.member_id = m.member_id "
    "WHERE lower(trim(m.email)) IN :emails GROUP BY m.member_id"
).bindparams(sa.bindparam("emails", expanding=True))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else _EPOCH


def _chunks(values: list[T], size: int) -> list[list[T]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


class DirectClient:
    def __init__(self, config: dict[str, Any],
                 check_url: Callable[[str], str] = lambda url: url) -> None:
        sources = config["sources"]
        by_kind = {s["kind"]: s for s in sources.values()}
        shop, square, zen, loyalty = (by_kind[k] for k in ("shopify", "square", "zendesk",
                                                            "loyalty"))
        self.shopify_base = check_url(shop["url"]) + f"/admin/api/{shop['api_version']}"
        self.shopify_headers = {"X-Shopify-Access-Token": shop["access_token"]}
        self.square_base = check_url(square["url"])
        self.square_headers = {"Authorization": f"Bearer {square['access_token']}",
                               "Square-Version": square.get("api_version", "2025-10-16"),
                               "content-type": "application/json"}
        self.zendesk_base = check_url(zen["url"])
        token = base64.b64encode(f"{zen['email']}/token:{zen['api_token']}".encode()).decode()
        self.zendesk_headers = {"Authorization": f"Basic {token}"}
        self.loyalty_url = loyalty["url"]
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.engine: AsyncEngine | None = None
        self.square_locations: list[str] = []

    @classmethod
    def from_config(cls, path: str | Path,
                    check_url: Callable[[str], str] = lambda url: url) -> DirectClient:
        with open(path, "rb") as fh:
            return cls(tomllib.load(fh), check_url)

    async def start(self, timeout_s: float = 10.0) -> None:
        limits = httpx.Limits(max_connections=CONNECTIONS_PER_SILO,
                              max_keepalive_connections=CONNECTIONS_PER_SILO)
        self.clients = {silo: httpx.AsyncClient(timeout=timeout_s, limits=limits,
                                                trust_env=False)
                        for silo in ("shopify", "square", "zendesk")}
        # requests wait here rather than in httpcore's pool, whose queue costs O(queue) per
        # request: the same bound, far less CPU
        self.gates = {silo: asyncio.Semaphore(CONNECTIONS_PER_SILO) for silo in self.clients}
        self.engine = create_async_engine(self.loyalty_url, pool_size=8, max_overflow=8)
        body = (await self._square("GET", "/v2/locations")).get("locations", [])
        self.square_locations = [loc["id"] for loc in body][:10]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        if self.engine is not None:
            await self.engine.dispose()

    async def run(self, scenario: str, variables: dict[str, Any]) -> dict[str, Any]:
        if scenario == "S1":
            return await self.s1(variables["email"])
        if scenario == "S2":
            return await self.s2(int(variables.get("first", 50)))
        raise ValueError(f"the direct client does not do {scenario}")

    # -- the calls ------------------------------------------------------------------------------
    async def _shopify(self, path: str, params: dict[str, str]) -> Any:
        async with self.gates["shopify"]:
            r = await self.clients["shopify"].get(self.shopify_base + path, params=params,
                                                  headers=self.shopify_headers)
        r.raise_for_status()
        return orjson.loads(r.content)

    async def _shopify_graphql(self, query: str, variables: dict[str, Any]) -> Any:
        async with self.gates["shopify"]:
            r = await self.clients["shopify"].post(
                self.shopify_base + "/graphql.json",
                content=orjson.dumps({"query": query, "variables": variables}),
                headers={**self.shopify_headers, "content-type": "application/json"})
        r.raise_for_status()
        body = orjson.loads(r.content)
        if body.get("errors"):
            raise RuntimeError(f"shopify graphql: {body['errors']}")
        return body["data"]

    async def _square(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.gates["square"]:
            r = await self.clients["square"].request(
                method, self.square_base + path,
                content=None if body is None else orjson.dumps(body),
                headers=self.square_headers)
        r.raise_for_status()
        return orjson.loads(r.content)

    async def _zendesk(self, path: str, params: dict[str, str] | None = None) -> Any:
        async with self.gates["zendesk"]:
            r = await self.clients["zendesk"].get(self.zendesk_base + path, params=params,
                                                  headers=self.zendesk_headers)
        r.raise_for_status()
        return orjson.loads(r.content)

    async def shopify_search(self, email: str) -> list[dict[str, Any]]:
        body = await self._shopify("/customers/search.json",
                                   {"query": f"email:{email.strip()}", "limit": "10"})
        return list(body["customers"])

    async def square_search(self, email: str) -> list[dict[str, Any]]:
        body = await self._square("POST", "/v2/customers/search", {
            "limit": 10, "query": {"filter": {"email_address": {"exact": email.strip()}}}})
        return list(body.get("customers", []))

    async def zendesk_search(self, email: str) -> list[dict[str, Any]]:
        body = await self._zendesk("/api/v2/users/search.json",
                                   {"query": f"role:end-user email:{email.strip()}"})
        return list(body.get("users", []))

    async def loyalty_by_emails(self, emails: list[str]) -> dict[str, dict[str, Any]]:
        keys = sorted({e.strip().lower() for e in emails if e})
        if not keys:
            return {}
        assert self.engine is not None
        async with self.engine.connect() as conn:
            rows = (await conn.execute(LOYALTY_BY_EMAILS, {"emails": keys})).mappings().all()
        return {row["email_key"]: dict(row) for row in rows}

    async def shopify_orders_of(self, customer_id: str, limit: int) -> list[dict[str, Any]]:
        body = await self._shopify("/orders.json", {"customer_id": customer_id,
                                                    "status": "any", "limit": str(limit)})
        return list(body["orders"])

    async def shopify_orders_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        pages = await asyncio.gather(*(self._shopify("/orders.json", {
            "ids": ",".join(chunk), "status": "any", "limit": "250"})
            for chunk in _chunks(ids, 250)))
        return [o for page in pages for o in page["orders"]]

    async def shopify_order_ids_of(self, customer_ids: list[str]) -> list[str]:
        ids: list[str] = []
        for chunk in _chunks(customer_ids, 100):
            query = " OR ".join(f"customer_id:{c}" for c in chunk)
            after = None
            for _ in range(MAX_PAGES):
                data = await self._shopify_graphql(ORDER_REFS, {"query": query, "after": after})
                ids += [n["legacyResourceId"] for n in data["orders"]["nodes"]]
                info = data["orders"]["pageInfo"]
                if not info["hasNextPage"]:
                    break
                after = info["endCursor"]
        return ids

    async def square_orders_of(self, customer_ids: list[str],
                               limit: int = 1000) -> list[dict[str, Any]]:
        async def search(chunk: list[str]) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            cursor = None
            for _ in range(MAX_PAGES):
                body: dict[str, Any] = {
                    "location_ids": self.square_locations, "limit": limit,
                    "query": {"filter": {"customer_filter": {"customer_ids": chunk}},
                              "sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"}}}
                if cursor:
                    body["cursor"] = cursor
                page = await self._square("POST", "/v2/orders/search", body)
                found += page.get("orders", [])
                cursor = page.get("cursor")
                if not cursor or len(found) >= limit:
                    break
            return found

        pages = await asyncio.gather(*(search(c) for c in _chunks(customer_ids, 10)))
        return [o for page in pages for o in page]

    async def zendesk_requested(self, user_id: str) -> list[dict[str, Any]]:
        tickets: list[dict[str, Any]] = []
        params = {"page[size]": "100"}
        for _ in range(MAX_PAGES):
            body = await self._zendesk(f"/api/v2/users/{user_id}/tickets/requested.json",
                                       params)
            tickets += body.get("tickets", [])
            meta = body.get("meta") or {}
            if not meta.get("has_more"):
                break
            params = {"page[size]": "100", "page[after]": meta["after_cursor"]}
        return tickets

    async def zendesk_tickets_of(self, user_ids: list[str]) -> list[dict[str, Any]]:
        async def search(chunk: list[str]) -> list[dict[str, Any]]:
            query = " ".join(["type:ticket", *(f"requester:{u}" for u in chunk)])
            found: list[dict[str, Any]] = []
            for page in range(1, MAX_PAGES + 1):
                params = {"query": query, "per_page": "100", "sort_by": "created_at",
                          "sort_order": "asc"}
                if page > 1:
                    params["page"] = str(page)
                body = await self._zendesk("/api/v2/search.json", params)
                found += body.get("results", [])
                if not body.get("next_page"):
                    break
            return found

        pages = await asyncio.gather(*(search(c) for c in _chunks(user_ids, 50)))
        return [t for page in pages for t in page]

    async def shopify_products(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        pages = await asyncio.gather(*(self._shopify("/products.json", {
            "ids": ",".join(chunk), "limit": "250"}) for chunk in _chunks(ids, 250)))
        return {str(p["id"]): p for page in pages for p in page["products"]}

    async def square_catalog(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        body = await self._square("POST", "/v2/catalog/batch-retrieve", {
            "object_ids": ids, "include_related_objects": True})
        objects = {o["id"]: o for o in body.get("objects", []) + body.get(
            "related_objects", [])}
        return objects

    # -- the scenarios --------------------------------------------------------------------------
    async def _guard(self, source: str, awaitable: Awaitable[T], default: T,
                     failed: set[str]) -> T:
        try:
            return await awaitable
        except (httpx.HTTPError, sa.exc.SQLAlchemyError, RuntimeError, KeyError, ValueError,
                orjson.JSONDecodeError):
            failed.add(source)
            return default

    async def s1(self, email: str) -> dict[str, Any]:
        failed: set[str] = set()
        g = self._guard
        shop, square, zen, loyalty = await asyncio.gather(
            g("shopify", self.shopify_search(email), [], failed),
            g("square", self.square_search(email), [], failed),
            g("zendesk", self.zendesk_search(email), [], failed),
            g("loyalty", self.loyalty_by_emails([email]), {}, failed))
        shop_orders, square_orders, tickets = await asyncio.gather(
            g("shopify", _flat(self.shopify_orders_of(str(c["id"]), 10) for c in shop), [],
              failed),
            g("square", self.square_orders_of([c["id"] for c in square], 10)
              if square else _none(), [], failed),
            g("zendesk", _flat(self.zendesk_requested(str(u["id"])) for u in zen), [], failed))
        orders = sorted([("shopify", o) for o in shop_orders]
                        + [("square", o) for o in square_orders],
                        key=lambda so: _when(so[1].get("created_at")), reverse=True)[:10]
        product_ids = sorted({str(li["product_id"]) for s, o in orders if s == "shopify"
                              for li in o.get("line_items", []) if li.get("product_id")})
        variation_ids = sorted({li["catalog_object_id"] for s, o in orders if s == "square"
                                for li in o.get("line_items", []) if li.get("catalog_object_id")})
        products, catalog = await asyncio.gather(
            g("shopify", self.shopify_products(product_ids), {}, failed),
            g("square", self.square_catalog(variation_ids), {}, failed))
        profile = (shop or square or zen or [{}])[0]
        member = next(iter(loyalty.values()), None)
        return {
            "profile": {"email": email, "first_name": profile.get("first_name")
                        or profile.get("given_name") or profile.get("name")},
            "orders": [_order(s, o, products, catalog) for s, o in orders],
            "tickets": [{"id": t["id"], "subject": t.get("subject"), "status": t["status"]}
                        for t in tickets if t.get("status") in OPEN_STATUSES],
            "loyalty": None if member is None else {
                "card_number": member["card_number"], "tier": member["tier"],
                "points_balance": member["points_balance"]},
            "failed_sources": failed,
        }

    async def s2(self, first: int = 50) -> dict[str, Any]:
        failed: set[str] = set()
        g = self._guard
        customers = await g("shopify", self._shopify("/customers.json", {"limit": str(first)}),
                            {"customers": []}, failed)
        people = customers["customers"]
        emails = [c["email"].strip() for c in people if c.get("email")]
        square_found, zen_found, loyalty, order_ids = await asyncio.gather(
            g("square", asyncio.gather(*(self.square_search(e) for e in emails)), [], failed),
            g("zendesk", asyncio.gather(*(self.zendesk_search(e) for e in emails)), [], failed),
            g("loyalty", self.loyalty_by_emails(emails), {}, failed),
            g("shopify", self.shopify_order_ids_of([str(c["id"]) for c in people])
              if people else _none(), [], failed))
        square_by_email = dict(zip(emails, square_found, strict=False))
        zen_by_email = dict(zip(emails, zen_found, strict=False))
        square_ids = sorted({c["id"] for found in square_found for c in found})
        zen_ids = sorted({str(u["id"]) for found in zen_found for u in found})
        shop_orders, square_orders, tickets = await asyncio.gather(
            g("shopify", self.shopify_orders_by_ids(order_ids) if order_ids else _none(), [],
              failed),
            g("square", self.square_orders_of(square_ids) if square_ids else _none(), [],
              failed),
            g("zendesk", self.zendesk_tickets_of(zen_ids) if zen_ids else _none(), [], failed))
        orders_by_customer: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for source, found in (("shopify", shop_orders), ("square", square_orders)):
            for o in found:
                owner = (o.get("customer") or {}).get("id") if source == "shopify" else \
                    o.get("customer_id")
                orders_by_customer.setdefault((source, str(owner)), []).append(o)
        tickets_by_user: dict[str, list[dict[str, Any]]] = {}
        for t in tickets:
            tickets_by_user.setdefault(str(t.get("requester_id")), []).append(t)
        result = []
        for c in people:
            email = (c.get("email") or "").strip()
            sq = square_by_email.get(email, [])
            zd = zen_by_email.get(email, [])
            mine = [("shopify", o) for o in orders_by_customer.get(("shopify", str(c["id"])), [])]
            for s in sq:
                mine += [("square", o) for o in orders_by_customer.get(("square", s["id"]), [])]
            mine.sort(key=lambda so: _when(so[1].get("created_at")), reverse=True)
            member = loyalty.get(email.lower())
            result.append({
                "name": f"{c.get('first_name') or ''} {c.get('last_name') or ''}".strip(),
                "orders": [_order(s, o, {}, {}) for s, o in mine[:10]],
                "tickets": [{"id": t["id"], "subject": t.get("subject"), "status": t["status"]}
                            for u in zd for t in tickets_by_user.get(str(u["id"]), [])],
                "tier": member["tier"] if member else None})
        return {"customers": result, "failed_sources": failed}


async def _none() -> list[Any]:
    return []


async def _flat(calls: Any) -> list[Any]:
    pages = await asyncio.gather(*calls)
    return [item for page in pages for item in page]


def _order(source: str, o: dict[str, Any], products: dict[str, dict[str, Any]],
           catalog: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if source == "shopify":
        lines = [{"sku": li.get("sku"), "title": li.get("title"), "quantity": li["quantity"],
                  "product": (products.get(str(li.get("product_id"))) or {}).get("title")}
                 for li in o.get("line_items", [])]
        return {"source": source, "id": o["id"], "number": o.get("name"),
                "placed_at": o.get("created_at"), "total": o.get("total_price"),
                "lines": lines}
    lines = []
    for li in o.get("line_items", []):
        variation = catalog.get(li.get("catalog_object_id", "")) or {}
        item_id = (variation.get("item_variation_data") or {}).get("item_id")
        item = catalog.get(item_id or "") or {}
        lines.append({"sku": (variation.get("item_variation_data") or {}).get("sku"),
                      "title": li.get("name"), "quantity": li.get("quantity"),
                      "product": (item.get("item_data") or {}).get("name")})
    return {"source": source, "id": o["id"], "number": o["id"], "placed_at": o.get("created_at"),
            "total": (o.get("total_money") or {}).get("amount"), "lines": lines}
