"""The batching bound: a page of 50 customers with their orders, order lines' products,
tickets and loyalty costs a few upstream requests per source and level — never one per
customer (upstream counts read from the silos' own ``/_sandbox/stats``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

NO_RECHECK = {"identity": {"refresh_s": 0}}
"""These count the graph's reads; the live re-check of people read (a few searches per
request, once per person per interval) is counted in ``test_freshness.py``."""

S2 = """{ customers(first: 50) { edges { node {
  displayName { value }
  orders(first: 5) { edges { node { number lines { sku product { title } } } } }
  tickets(first: 5) { totalCount }
  loyalty { tier } } } } }"""


async def counts(silos: dict[str, httpx.AsyncClient]) -> dict[str, dict[str, int]]:
    return {kind: (await client.get("/_sandbox/stats")).json()["endpoints"]
            for kind, client in silos.items()}


async def run_s2(gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient],
                 batching: bool) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    async with gateway(batching=batching, budget_ms=30_000, config=NO_RECHECK) as client:
        for client_ in silos.values():
            await client_.post("/_sandbox/reset")
        response = await client.post("/graphql", json={"query": S2})
        assert response.status_code == 200
        return response.json(), await counts(silos)


async def test_fifty_customers_cost_a_few_requests_per_source(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    body, batched = await run_s2(gateway, silos, batching=True)
    assert "errors" not in body, body["errors"][:3]
    people = [e["node"] for e in body["data"]["customers"]["edges"]]
    assert len(people) == 50
    assert sum(len(p["orders"]["edges"]) for p in people) > 50
    for kind, endpoints in batched.items():
        for endpoint, count in endpoints.items():
            # one request per level, plus splits at vendor limits (Square's order search
            # takes 10 customers, so 50 customers may need 5)
            assert count <= 5, (kind, endpoint, count)
        assert sum(endpoints.values()) <= 12, (kind, endpoints)

    unbatched_body, unbatched = await run_s2(gateway, silos, batching=False)
    assert unbatched_body["data"] == body["data"]
    for kind in batched:
        assert sum(unbatched[kind].values()) >= 3 * sum(batched[kind].values()), (
            kind, batched[kind], unbatched[kind])


async def test_aliased_root_fields_are_batched_together(
        graph_sandbox: Any, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    ids = [str(i) for i in list(graph_sandbox.data.shopify.customers)[:50]]
    query = "{ " + " ".join(
        f'c{n}: customer(sourceRef: {{kind: "shopify", id: "{i}"}}) {{ '
        f'displayName {{ value }} orders(first: 10) {{ totalCount }} tickets {{ totalCount }} }}'
        for n, i in enumerate(ids)) + " }"
    async with gateway(config=NO_RECHECK) as client:
        response = await client.post("/graphql", json={"query": query})
    body = response.json()
    assert "errors" not in body
    assert all(body["data"][f"c{n}"] for n in range(50))
    for kind, endpoints in (await counts(silos)).items():
        assert all(count <= 5 for count in endpoints.values()), (kind, endpoints)
        assert sum(endpoints.values()) <= 8, (kind, endpoints)
