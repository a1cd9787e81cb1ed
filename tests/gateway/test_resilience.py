"""Partial results when a silo fails, the request budget, and error masking."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from silos.sandbox import RunningSandbox

pytestmark = pytest.mark.anyio

QUERY = """query($id: ID!) { customer(sourceRef: {kind: "square", id: $id}) {
  sourceRecords { kind }
  loyalty { tier }
  orders(first: 100) { edges { node { source channel } } } } }"""


def subject(sandbox: RunningSandbox) -> str:
    """A person with Shopify and Square orders and a loyalty card."""
    data = sandbox.data
    for person in data.ground_truth:
        records = {r["kind"]: r["id"] for r in person["records"]}
        if {"shopify", "square", "loyalty"} <= set(records) and \
                data.shopify.orders_by_customer.get(int(records["shopify"])) and \
                any(o.get("customer_id") == records["square"] for o in data.square.orders.values()):
            return records["square"]
    raise AssertionError("no such person in the sandbox")


@pytest.mark.parametrize(
    ("faults", "code"),
    [
        ({"down": True}, "SOURCE_UNAVAILABLE"),
        ({"error_rate": 1.0}, "SOURCE_UNAVAILABLE"),
        ({"rate_limited": True}, "SOURCE_RATE_LIMITED"),
        ({"latency_ms": 5000}, "SOURCE_TIMEOUT"),
    ],
)
async def test_a_failing_silo_nulls_only_what_it_owns(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient], faults: dict[str, Any], code: str) -> None:
    square_id = subject(graph_sandbox)
    await silos["shopify"].post("/_sandbox/faults", json=faults)
    started = time.perf_counter()
    async with gateway(budget_ms=600) as client:
        response = await client.post("/graphql", json={"query": QUERY,
                                                       "variables": {"id": square_id}})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    body = response.json()
    customer = body["data"]["customer"]
    assert customer["loyalty"]["tier"]
    sources = {o["source"] for o in (e["node"] for e in customer["orders"]["edges"])}
    assert sources == {"square"}
    errors = [e for e in body["errors"] if e["path"][:2] == ["customer", "orders"]]
    assert errors and errors[0]["extensions"] == {"code": code, "source": "shopify"}
    assert "shopify" in errors[0]["message"]
    assert elapsed < 0.6 + 1.5, "one slow silo must not hold the answer past the budget"


async def test_garbage_from_a_silo_is_a_bad_response(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    garbage = httpx.MockTransport(lambda request: httpx.Response(
        200, content=b"<html>maintenance</html>", headers={"content-type": "text/html"}))
    async with gateway(transports={"shopify": garbage}) as client:
        body = (await client.post("/graphql", json={
            "query": QUERY, "variables": {"id": subject(graph_sandbox)}})).json()
    assert body["data"]["customer"]["loyalty"]["tier"]
    [error] = [e for e in body["errors"] if e["path"][:2] == ["customer", "orders"]]
    assert error["extensions"] == {"code": "SOURCE_BAD_RESPONSE", "source": "shopify"}


async def test_unexpected_errors_are_masked_and_carry_the_request_id(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("secret-token jane.doe@example.com")

    caplog.set_level(logging.ERROR, logger="c360.graphql")
    async with gateway(transports={"shopify": httpx.MockTransport(explode)}) as client:
        response = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"id": subject(graph_sandbox)}},
            headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    assert "secret-token" not in response.text and "jane.doe" not in response.text
    assert "Traceback" not in response.text
    masked = [e for e in response.json()["errors"]
              if e["extensions"]["code"] == "INTERNAL_SERVER_ERROR"]
    assert masked and masked[0]["message"] == "Internal server error"
    assert masked[0]["extensions"]["requestId"] == "req-42"
    assert any("req-42" in r.getMessage() for r in caplog.records)


async def test_readiness_reports_each_source(gateway: Callable[..., Any],
                                             silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway() as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert set(ready.json()["checks"].values()) == {"ok"}
        await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
        down = await client.get("/readyz")
    assert down.status_code == 200  # degraded, still serving: see test_breakers
    assert down.json()["status"] == "degraded"
    assert down.json()["checks"]["zendesk"] == "SOURCE_UNAVAILABLE"
    assert down.json()["checks"]["shopify"] == "ok"


async def test_a_broken_registry_is_a_typed_unavailable_source(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any], tmp_path: Any) -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    broken = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'registry.sqlite'}")
    async with gateway(engines={"identity": broken}) as client:
        async with broken.begin() as conn:  # the registry loses its tables after start-up
            await conn.execute(sa.text("DROP TABLE identity_record"))
        response = await client.post("/graphql", json={
            "query": '{ customer(email: "someone@example.com") { id } }'})
    await broken.dispose()
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "registry"}


async def test_a_registry_that_cannot_record_a_live_find_is_a_typed_unavailable_source(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any], tmp_path: Any) -> None:
    """An email the registry does not know is searched live in the silos and the finds are
    linked for next time; when the registry cannot write, the caller gets the same typed
    error as for a registry that cannot read — never an internal one."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from gateway.audit.store import AuditLog
    from identity.schema import metadata
    from sagas.store import SagaStore

    path = tmp_path / "registry.sqlite"
    empty = sa.create_engine(f"sqlite:///{path}")
    metadata.create_all(empty)
    empty.dispose()
    writable = create_async_engine(f"sqlite+aiosqlite:///{path}")
    await AuditLog(writable).create()
    await SagaStore(writable).create()
    await writable.dispose()
    read_only = create_async_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    email = next(c["email"] for c in graph_sandbox.data.shopify.customers.values()
                 if c.get("email"))
    async with gateway(engines={"identity": read_only}) as client:
        response = await client.post("/graphql", json={
            "query": "query($e: String!) { customer(email: $e) { id } }",
            "variables": {"e": email}})
    await read_only.dispose()
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"customer": None}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "registry"}
    assert error["message"] == "registry is unavailable"
