"""Fifty callers at once, each asking for 50 customers with their orders, tickets and loyalty
tier (the benchmark's S2), over healthy emulated silos: no partial answer, no answer cut at its
budget.

In process the emulated silos share the gateway's core, so one such query costs some 60–120 ms
of CPU here and fifty cost several seconds: more than a 2 s budget can hold, in any order. With
the default settings the worker therefore answers what it admitted completely and refuses the
rest at once; with a budget that holds them all, every one of the fifty is answered
completely — the loyalty database's reads included (``SOURCE_TIMEOUT: loyalty`` was the
benchmark's partial answer)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bench.harness import S2_QUERY

pytestmark = pytest.mark.anyio

S2 = S2_QUERY
CALLERS = 50
UNLIMITED = {"rate_limits": {"enabled": False}}
"""One caller's fifty requests are the load here, not abuse."""


def outcome(response: httpx.Response) -> str:
    """``complete``, ``refused`` (503 OVERLOADED), or what went wrong."""
    body = response.json()
    codes = sorted({f"{e['extensions'].get('code')}:{e['extensions'].get('source', '')}"
                    for e in body.get("errors", [])})
    if response.status_code == 200 and not codes:
        people = [edge["node"] for edge in body["data"]["customers"]["edges"]]
        assert len(people) == 50 and any(p["loyalty"] for p in people)
        return "complete"
    if response.status_code == 503 and codes == ["OVERLOADED:"]:
        assert int(response.headers["retry-after"]) >= 1
        return "refused"
    return f"{response.status_code} {' '.join(codes)}"


async def fifty(client: httpx.AsyncClient) -> Counter[str]:
    for _ in range(3):  # the admission learns what this query costs on this machine
        assert outcome(await client.post("/graphql", json={"query": S2})) == "complete"
    responses = await asyncio.gather(*(client.post("/graphql", json={"query": S2})
                                       for _ in range(CALLERS)))
    return Counter(outcome(r) for r in responses)


async def test_fifty_callers_get_complete_answers_or_an_immediate_refusal(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    """The default settings: what is admitted is answered whole, the rest refused up front
    (the old floating limit let all fifty run together and cut nearly all at the budget)."""
    async with gateway(config=UNLIMITED) as client:
        counts = await fifty(client)
    assert set(counts) <= {"complete", "refused"}, counts
    assert counts["complete"] >= 2, counts


async def test_fifty_callers_all_get_complete_answers_when_the_budget_holds_them(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(budget_ms=60_000, settings={"queue_wait_ms": 60_000},
                       config=UNLIMITED) as client:
        counts = await fifty(client)
    assert counts == {"complete": CALLERS}, counts
