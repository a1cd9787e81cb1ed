"""Helpers of the mutation tests: a sandbox of their own, GraphQL calls with idempotency keys,
and counts of what each silo was asked to write."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from adapters.models import Order
from gateway.config import parse_config
from gateway.runtime import Runtime, open_runtime
from silos.generator.project import StoreLink
from silos.sandbox import RunningSandbox, gateway_config

WRITE_METHODS = ("POST", "PUT", "DELETE", "PATCH")
READ_POSTS = ("/search", "batch-retrieve", "bulk-retrieve", "/graphql.json",
              "/calculate")


def new_key() -> str:
    return f"test-{uuid.uuid4().hex}"


async def mutate(client: httpx.AsyncClient, query: str, header_key: str | None = None,
                 **variables: Any) -> dict[str, Any]:
    """Run a mutation, its idempotency key in the ``Idempotency-Key`` header when given."""
    headers = {"Idempotency-Key": header_key} if header_key else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def is_write(endpoint: str) -> bool:
    """Whether a sandbox stats endpoint (``"METHOD /route"``) writes (searches and batch
    reads sent as POST are reads)."""
    return endpoint.split(" ", 1)[0] in WRITE_METHODS and \
        not any(r in endpoint for r in READ_POSTS)


async def write_endpoints(silos: dict[str, httpx.AsyncClient]) -> dict[str, dict[str, int]]:
    """The write endpoints each silo served since its counters were reset, with counts."""
    found = {}
    for kind, client in silos.items():
        stats = (await client.get("/_sandbox/stats")).json()
        found[kind] = {e: n for e, n in stats["endpoints"].items() if is_write(e)}
    return found


async def writes(silos: dict[str, httpx.AsyncClient]) -> dict[str, int]:
    """Write requests each emulated silo served since its counters were reset."""
    return {kind: sum(counts.values())
            for kind, counts in (await write_endpoints(silos)).items()}


SHOPPER = """query($kind: String!, $id: ID!) { customer(sourceRef: {kind: $kind, id: $id}) {
  id loyalty { cardNumber pointsBalance }
  orders(first: 50) { edges { node { lines { sku } } } } } }"""
STOCK = """query($sku: String!) { product(sku: $sku) {
  inventory { location { code kind } available source } } }"""


async def shopper(client: httpx.AsyncClient, kind: str, record_id: str) -> dict[str, Any]:
    """A customer as the mutations need them: their id, loyalty card and balance, and the
    SKUs they bought before."""
    response = await client.post("/graphql", json={"query": SHOPPER,
                                                   "variables": {"kind": kind, "id": record_id}})
    found = response.json()["data"]["customer"]
    skus = sorted({line["sku"] for edge in found["orders"]["edges"]
                   for line in edge["node"]["lines"] if line["sku"]})
    loyalty = found["loyalty"] or {}
    return {"id": found["id"], "card": loyalty.get("cardNumber"),
            "balance": loyalty.get("pointsBalance"), "skus": skus}


async def store_stock(client: httpx.AsyncClient, sku: str, source: str = "square"
                      ) -> dict[str, float]:
    """Units of ``sku`` at each store (by store code) in the point of sale's inventory."""
    response = await client.post("/graphql", json={"query": STOCK, "variables": {"sku": sku}})
    product = response.json()["data"]["product"]
    return {level["location"]["code"]: float(level["available"])
            for level in (product or {}).get("inventory") or []
            if level["source"] == source and level["location"]["code"]}


async def pickup_case(client: httpx.AsyncClient, kind: str, record_id: str,
                      units: int = 2) -> dict[str, Any]:
    """A customer, a store and one of the SKUs they bought that the store holds ``units`` of
    (``units`` + 2 at least, so the case is never at the edge of the stock)."""
    who = await shopper(client, kind, record_id)
    for sku in who["skus"]:
        stock = await store_stock(client, sku)
        for store, available in sorted(stock.items()):
            if available >= units + 2:
                return {**who, "sku": sku, "store": store, "available": available}
    raise AssertionError("no SKU of this customer is stocked at a store")


@asynccontextmanager
async def direct(sandbox: RunningSandbox) -> AsyncIterator[Runtime]:
    """The silos read straight through their adapters, not through the graph."""
    config = parse_config(gateway_config(sandbox), env={})
    async with open_runtime(config, transports=sandbox.transports()) as runtime:
        yield runtime


def store_link(sandbox: RunningSandbox, code: str) -> StoreLink:
    return next(s for s in sandbox.data.stores if s.code == code)


@dataclass(frozen=True)
class Snapshot:
    """What one saga can have changed, read from each silo directly."""

    orders: tuple[Order, ...]
    """The web orders carrying the saga's tag."""
    units: Decimal
    """The SKU's units in stock at the store's point of sale."""
    balance: int | None


async def snapshot(sandbox: RunningSandbox, case: dict[str, Any],
                   saga_id: str | None = None) -> Snapshot:
    store = store_link(sandbox, case["store"])
    async with direct(sandbox) as runtime:
        shop, pos, loyalty = (runtime.adapters[k] for k in ("shopify", "square", "loyalty"))
        orders = await shop.orders_by_tag(f"c360-saga-{saga_id}") if saga_id else []
        [levels] = await pos.inventory_by_skus([case["sku"]], [store.square_location_id])
        units = sum((lv.available for lv in levels), Decimal(0))
        balance = None
        if case.get("card"):
            [account] = await loyalty.accounts_by_cards([case["card"]])
            balance = account.points_balance if account else None
    return Snapshot(tuple(orders), units, balance)


def outcome(body: dict[str, Any], field: str) -> tuple[str, str]:
    """The saga id and status a mutation answered (from its payload or its error)."""
    made = body["data"][field] if body.get("data") else None
    if made is not None:
        return made["saga"]["id"], made["saga"]["status"]
    [error] = body["errors"]
    return error["extensions"]["sagaId"], error["extensions"]["sagaStatus"]
