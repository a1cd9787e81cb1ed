"""An answer leaves no garbage for the cycle collector; the heap is given back once the worker
is idle after serving."""

from __future__ import annotations

import gc
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql.execution.incremental.incremental_executor import IncrementalExecutor

from adapters.http import unbound
from bench.harness import S1_QUERY, S2_QUERY
from gateway.memory import Trimmer, malloc_trim
from silos.sandbox import RunningSandbox, gateway_config
from tests.gateway.test_admission import Meter, admission, enter

pytestmark = pytest.mark.anyio

EMAILS = "{ customers(first: 5) { edges { node { email { value } } } } }"
ROUNDS = 3


@dataclass
class Worker:
    admitted_total: int = 0
    idle: bool = True


def test_the_heap_is_trimmed_once_idle_for_an_interval_after_serving() -> None:
    trims: list[int] = []
    worker = Worker()
    trimmer = Trimmer(worker, lambda: trims.append(1))
    assert not trimmer.check()  # nothing served yet
    worker.admitted_total, worker.idle = 3, False
    assert not trimmer.check()  # serving
    worker.idle = True
    assert trimmer.check() and trims == [1]  # nothing admitted since the last check
    assert not trimmer.check()  # idle, nothing served since
    worker.admitted_total = 4  # a request came and went between two checks
    assert not trimmer.check()  # a gap in a burst, maybe
    assert trimmer.check() and trims == [1, 1]  # a whole interval without one
    assert not Trimmer(worker, None).check()  # no malloc_trim in this C library


def test_the_admission_says_when_the_worker_is_idle() -> None:
    meter = Meter()
    gate = admission(meter)
    assert gate.idle and gate.admitted_total == 0
    ticket = enter(gate, meter, "a")
    assert not gate.idle and gate.admitted_total == 1
    gate.finish(ticket)
    assert gate.idle


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc: Linux")
def test_malloc_trim_gives_freed_heap_pages_back() -> None:
    """Blocks over pymalloc's 512 bytes come from glibc's heap; freeing all but every 50th
    leaves the heap's pages mapped (the kept blocks pin its top) until trimmed."""
    trim = malloc_trim()
    assert trim is not None
    trim()
    blocks = [bytearray(3000) for _ in range(50_000)]  # about 150 MB
    kept = blocks[::50]
    del blocks
    before = _rss_bytes()
    trim()
    after = _rss_bytes()
    assert before - after > 50 * 2**20, (before, after)
    assert len(kept) == 1000


async def test_the_served_app_trims_after_its_requests(gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        trimmer = client._transport.app.state.trimmer  # type: ignore[attr-defined]
        assert trimmer.trim is not None and not trimmer.check()
        response = await client.post("/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 200
        assert not trimmer.check()  # a request in the last interval
        assert trimmer.check() and trimmer.trims == 1



def _the_gateways(garbage: list[object]) -> list[object]:
    """``garbage`` without what hangs off the Shopify emulator's executions: the silos answer in
    this process here, their GraphQL with graphql-core's default executor (the gateway's is
    its own, :class:`~schema.authorization.GuardedExecutionContext`)."""
    ids = {id(thing) for thing in garbage}
    theirs: set[int] = set()
    todo = [thing for thing in garbage if type(thing) is IncrementalExecutor]
    while todo:
        thing = todo.pop()
        if id(thing) not in theirs:
            theirs.add(id(thing))
            todo.extend(r for r in gc.get_referents(thing) if id(r) in ids)
    return [thing for thing in garbage if id(thing) not in theirs]


async def test_an_answer_leaves_nothing_for_the_cycle_collector(
        gateway: Callable[..., Any], silos: dict[str, Any],
        gateway_sandbox: RunningSandbox) -> None:
    """What a request allocates is freed by reference counting once it is answered. Cyclic
    garbage waits for a collection instead, and on a busy worker a collection of its young
    objects stopped the loop for 20-70 ms: the refusals' p99 under overload (benchmark). Each
    upstream response (httpx's stream points back at it) and each execution context
    (graphql-core's helpers were its bound methods) was such a cycle, with all that hangs off
    them: about 760 objects per customer 360, none now."""
    # tracing allocations slows the requests down: a budget and timeouts that hold them
    sources = {name: {**table, "timeout_ms": 60_000}
               for name, table in gateway_config(gateway_sandbox)["sources"].items()}
    async with gateway(budget_ms=60_000, config={"rate_limits": {"enabled": False},
                                                 "sources": sources}) as client:
        found = (await client.post("/graphql", json={"query": EMAILS})).json()
        emails = [edge["node"]["email"]["value"] for edge in
                  found["data"]["customers"]["edges"] if edge["node"]["email"]]
        queries = [{"query": S2_QUERY},
                   {"query": S1_QUERY, "variables": {"email": emails[0]}}]
        for body in queries:  # warm: the admission's predictions, the identity caches
            assert (await client.post("/graphql", json=body)).status_code == 200
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(ROUNDS):
                for body in queries:
                    # the test's own client response is a cycle too
                    response = unbound(await client.post("/graphql", json=body))
                    assert response.status_code == 200 and "errors" not in response.json()
            gc.collect()
            left = Counter(f"{type(o).__module__}.{type(o).__qualname__}"
                           for o in _the_gateways(gc.garbage))
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert sum(left.values()) < ROUNDS * len(queries), left.most_common()
