"""Admission control and the budget from arrival: a saturated worker refuses quickly instead of
answering everyone late, and no answer outlives its budget."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.admission import HOLD_S, MIN_LIMIT, Admission, upstream_deadline
from silos.sandbox import RunningSandbox
from tests.gateway.test_resilience import QUERY, subject

pytestmark = pytest.mark.anyio

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(client: httpx.AsyncClient, sandbox: RunningSandbox) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post("/graphql", json={
        "query": QUERY, "variables": {"id": subject(sandbox)}},
        headers={"Accept": GRAPHQL_RESPONSE})
    return response, time.perf_counter() - started


async def slow(silos: dict[str, httpx.AsyncClient], silo: str, ms: int) -> None:
    await silos[silo].post("/_sandbox/faults", json={"latency_ms": ms})


async def test_a_full_worker_refuses_at_once_with_retry_after(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    await slow(silos, "shopify", 400)
    async with gateway(settings={"max_in_flight": 1, "queue_wait_ms": 0}) as client:
        first = asyncio.create_task(post(client, graph_sandbox))
        await asyncio.sleep(0.1)
        refused, waited = await post(client, graph_sandbox)
        answered, _ = await first
        again, _ = await post(client, graph_sandbox)
    assert refused.status_code == 503 and waited < 0.3
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {"errors": [{"message": "the gateway is at capacity; retry "
                                                     "shortly",
                                          "extensions": {"code": "OVERLOADED"}}]}
    assert answered.status_code == again.status_code == 200
    assert "errors" not in answered.json()


async def test_a_request_waits_for_a_slot_within_its_queue_wait(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    await slow(silos, "shopify", 200)
    async with gateway(settings={"max_in_flight": 1, "queue_wait_ms": 1500}) as client:
        both = await asyncio.gather(post(client, graph_sandbox), post(client, graph_sandbox))
    assert [r.status_code for r, _ in both] == [200, 200]
    assert max(t for _, t in both) >= 0.4  # the second ran after the first


async def test_the_budget_counts_the_wait_for_a_slot(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    """The second request waits ~600 ms for the slot; its 1 s budget started on arrival, so
    its own slow call is cut and it answers, partially, within the budget."""
    await slow(silos, "shopify", 600)
    async with gateway(budget_ms=1000, settings={"max_in_flight": 1,
                                                 "queue_wait_ms": 1000}) as client:
        first = asyncio.create_task(post(client, graph_sandbox))
        await asyncio.sleep(0.05)
        second, took = await post(client, graph_sandbox)
        await first
    assert second.status_code == 200 and took < 1.0 + 0.15
    body = second.json()
    assert body["data"]["customer"]["loyalty"]["tier"]
    codes = {(e["extensions"]["code"], e["extensions"].get("source")) for e in body["errors"]}
    assert ("SOURCE_TIMEOUT", "shopify") in codes


async def test_an_answer_that_would_outlive_its_budget_is_cut(
        gateway: Callable[..., Any], tmp_path: Path) -> None:
    """The registry is the gateway's own database and not behind the loaders' deadline: a
    registry that hangs (here: another process holds SQLite's exclusive lock) still cannot
    hold an answer past the budget."""
    from sqlalchemy.ext.asyncio import create_async_engine

    path = tmp_path / "registry.sqlite"
    hanging = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 5})
    async with gateway(budget_ms=300, engines={"identity": hanging}) as client:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.perf_counter()
            response = await client.post("/graphql", json={
                "query": "{ customers(first: 2) { edges { node { id } } } }"},
                headers={"X-Request-ID": "req-7"})
            took = time.perf_counter() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await asyncio.sleep(0.2)  # the cut work lets go of its connection
    await hanging.dispose()
    assert response.status_code == 504 and took < 0.3 + 0.15
    assert response.json() == {"errors": [{
        "message": "the request did not complete within its 300 ms budget",
        "extensions": {"code": "BUDGET_EXCEEDED", "requestId": "req-7"}}]}


def test_upstream_calls_stop_before_the_budget_ends() -> None:
    assert upstream_deadline(100.0, 2.0) == pytest.approx(101.8)
    assert upstream_deadline(100.0, 10.0) == pytest.approx(109.75)
    assert upstream_deadline(100.0, 0.5) == pytest.approx(100.45)


async def test_admission_counts_and_frees_its_slots() -> None:
    admission = Admission(2)
    loop = asyncio.get_running_loop()
    assert await admission.enter(loop.time()) and await admission.enter(loop.time())
    assert not await admission.enter(loop.time() + 0.01)
    admission.leave()
    assert await admission.enter(loop.time())
    assert (admission.stats.admitted, admission.stats.refused,
            admission.stats.peak_in_flight) == (3, 1, 2)


async def test_the_limit_yields_to_a_lagging_loop_and_grows_back() -> None:
    admission = Admission(64, max_lag_s=0.05)
    loop = asyncio.get_running_loop()
    assert await admission.enter(loop.time())
    admission.observe(0.2, now=0.0)  # a lag with one request in flight is not theirs
    assert admission.limit == 64
    admission.lag_s = 0.0
    for _ in range(9):
        assert await admission.enter(loop.time())
    admission.observe(0.15, now=0.5)  # one spike (a burst of arrivals) is not saturation
    assert admission.limit == 64
    admission.observe(0.15, now=0.52)  # lag that persists is: below what is in flight now
    assert admission.limit == pytest.approx(8.0)
    admission.observe(0.2, now=0.52 + HOLD_S / 2)  # once per hold: the cut needs time to show
    assert admission.limit == pytest.approx(8.0)
    for step in range(1, 20):
        admission.observe(0.2, now=0.52 + step * HOLD_S)
    assert admission.limit == MIN_LIMIT
    waiting = asyncio.create_task(admission.enter(loop.time() + 5))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # 10 in flight, limit 4
    for _ in range(10):
        admission.leave()
    await asyncio.sleep(0)
    assert await waiting  # below the limit again: admitted
    for _ in range(12):
        admission.observe(0.0, now=10.0)  # the smoothed lag falls below the target...
    assert MIN_LIMIT < admission.limit < 20  # ...and the limit grows back, one a probe
    for _ in range(200):
        admission.observe(0.01, now=11.0)  # a little lag is no saturation
    assert admission.limit == 64
    assert admission.stats.lowest_limit == MIN_LIMIT


async def test_a_saturated_worker_refuses_what_it_cannot_serve_in_time(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    """Six slow requests are in flight when the loop stalls (CPU work hogging it): the limit
    drops below them, so a seventh arriving then is refused at once; once the loop is free the
    limit grows back."""
    await slow(silos, "shopify", 400)
    async with gateway(settings={"queue_wait_ms": 0}) as client:
        loop = asyncio.get_running_loop()
        first = [asyncio.create_task(post(client, graph_sandbox)) for _ in range(6)]
        await asyncio.sleep(0.1)
        loop.call_soon(time.sleep, 0.5)
        await asyncio.sleep(0.05)  # the watcher's next probe measures the stall
        refused, _ = await post(client, graph_sandbox)
        answered = [r.status_code for r, _ in await asyncio.gather(*first)]
        await asyncio.sleep(0.3)
        recovered = await asyncio.gather(*(post(client, graph_sandbox) for _ in range(4)))
    assert refused.status_code == 503 and answered == [200] * 6
    assert [r.status_code for r, _ in recovered] == [200] * 4


async def test_a_cpu_heavy_answer_stops_resolving_at_its_budget(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget is checked before each field, not only around silo calls: once the clock
    passes it mid-execution (the CPU busy in one request, the event loop never free to fire a
    timer), no further field is resolved and the answer is cut with BUDGET_EXCEEDED."""
    import schema.authorization as authorization

    real = time.monotonic
    calls = {"n": 0, "after_cut": 0}
    jump = 200  # fields resolved before the clock is made to pass the budget

    def clock() -> float:
        calls["n"] += 1
        if calls["n"] > jump:
            calls["after_cut"] += 1
            return real() + 3600
        return real()

    query = """{ customers(first: 50) { edges { node { id
      orders(first: 10) { edges { node { id number status lines { sku quantity } } } } } } } }"""
    async with gateway(budget_ms=5000) as client:
        whole = await client.post("/graphql", json={"query": query})
        assert whole.status_code == 200 and "errors" not in whole.json(), whole.text
        monkeypatch.setattr(authorization, "now", clock)
        response = await client.post("/graphql", json={"query": query},
                                     headers={"X-Request-ID": "req-cpu"})
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"] == {
        "code": "BUDGET_EXCEEDED", "requestId": "req-cpu"}
    assert calls["after_cut"] == 1, "after the budget passed, no field asked the clock again"
