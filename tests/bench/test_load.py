"""The load client's bookkeeping (bench.load): refusals apart from accepted requests, partial
answers' causes, the uncapped open loop, the silos' counters around a phase."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import orjson
import pytest

from bench import load, targets

REFUSAL = orjson.dumps({"errors": [{"message": "the gateway is at capacity; retry shortly",
                                    "extensions": {"code": "OVERLOADED"}}]})
PARTIAL = orjson.dumps({"data": {"customer": None}, "errors": [
    {"message": "x", "extensions": {"code": "SOURCE_TIMEOUT", "source": "loyalty"}},
    {"message": "y", "extensions": {"code": "SOURCE_TIMEOUT", "source": "square"}}]})


def test_a_503_overloaded_is_a_refusal_and_a_504_is_not() -> None:
    refused = load.classify_graphql(503, REFUSAL)
    assert refused == ("failed", load.REFUSED) and load.is_refusal(refused)
    cut = load.classify_graphql(504, orjson.dumps({"errors": [
        {"message": "late", "extensions": {"code": "BUDGET_EXCEEDED"}}]}))
    assert cut == ("failed", "http 504 BUDGET_EXCEEDED") and not load.is_refusal(cut)
    assert load.classify_graphql(200, PARTIAL) == (
        "partial", "SOURCE_TIMEOUT:loyalty,SOURCE_TIMEOUT:square")


def test_recorder_keeps_refusals_apart_and_counts_partial_causes() -> None:
    rec = load.Recorder()
    # a warm-up request (not measured), then 10 measured: 4 refused fast, 1 cut at the budget,
    # 2 partial, 3 complete; answers land at t = 1.0 … inside a [0, 2] window
    rec.add(False, 0.5, ("ok", None), 0.5)
    for i in range(4):
        rec.add(True, 0.004 + i / 1000, load.classify_graphql(503, REFUSAL), 1.0)
    rec.add(True, 2.01, load.classify_graphql(504, b'{"errors": []}'), 1.5)
    for _ in range(2):
        rec.add(True, 0.3, load.classify_graphql(200, PARTIAL), 1.0)
    for t in (0.1, 0.2, 0.3):
        rec.add(True, t, ("ok", None), 1.0 + t)
    rec.add_unfinished(True, 10.0)
    stats = rec.stats(0.0, 2.0)
    assert (stats["requests"], stats["ok"], stats["partial"], stats["failed"]) == (11, 3, 2, 6)
    assert stats["refused"] == 4 and stats["refused_max_ms"] == pytest.approx(7.0)
    assert stats["accepted"] == 7  # the cut answer, the partial and complete ones, unfinished
    assert stats["accepted_max_ms"] == pytest.approx(10_000.0)
    assert stats["refused_total"] == 4 and stats["accepted_total"] == 8  # warm-up included
    assert stats["partial_causes"] == {"SOURCE_TIMEOUT:loyalty": 2, "SOURCE_TIMEOUT:square": 2}
    assert stats["failed_kinds"] == {load.REFUSED: 4, "http 504": 1, "unfinished": 1}
    assert stats["ok_rps"] == pytest.approx(4 / 2)  # the warm-up answer at 0.5 is in the window
    assert stats["rps"] == pytest.approx(6 / 2)
    assert stats["unfinished"] == 1


def test_overload_summary_from_recorded_samples() -> None:
    rec = load.Recorder()
    for i in range(100):  # 100 refusals, the slowest at 99 ms
        rec.add(True, (i + 1) / 1000, ("failed", load.REFUSED), 1.0)
    for _ in range(18):
        rec.add(True, 1.5, ("ok", None), 1.5)
    stats = rec.stats(0.0, 2.0)
    stats["upstream"] = {"shopify": 54, "square": 72}
    run = {"key": "c360-1w", "scenario": "S2", "profile": "20ms", "budget_ms": 2000,
           "capacity": {"ok_rps": 10.0}, "overload": stats}
    s = targets.overload_summary(run, per_query=7.0)
    assert s["goodput_ratio"] == pytest.approx(0.9) and s["goodput_ok"]
    assert s["refused_p99_ms"] == pytest.approx(99.0) and not s["refusals_ok"]
    assert s["upstream_ratio"] == pytest.approx(1.0) and s["upstream_ok"]
    assert s["accepted_p99_ms"] == pytest.approx(1500.0) and s["budget_ok"]
    assert not s["passed"]


def test_open_loop_without_a_cap_sends_every_arrival_when_due() -> None:
    async def slow(i: int) -> load.Outcome:
        await asyncio.sleep(0.1)
        return "ok", None

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        # one at a time: ~10 arrivals of 0.1 s each in 0.4 s queue behind each other
        capped = await load.open_loop(slow, 1, 25.0, 0.0, 0.4, 1000, 5.0, seed=3)
        free = await load.open_loop(slow, 0, 100.0, 0.0, 0.4, 1000, 5.0, seed=3)
        return capped, free

    capped, free = asyncio.run(both())
    assert capped["peak_in_flight"] == 1
    assert free["peak_in_flight"] >= 4  # ~100/s × 0.1 s = 10 at once
    assert free["client_wait_p99_ms"] < 50 < capped["client_wait_p99_ms"]
    assert free["accepted_p99_ms"] < 300 < capped["accepted_max_ms"]
    assert free["unfinished"] == capped["unfinished"] == 0


def test_a_phase_reports_the_silos_requests_made_during_it() -> None:
    counters = {"shopify": 10, "square": 5}

    def handler(request: httpx.Request) -> httpx.Response:
        name = "shopify" if request.url.port == 1 else "square"
        return httpx.Response(200, text=json.dumps({"total": counters[name], "endpoints": {}}))

    async def call(i: int) -> load.Outcome:
        counters["shopify"] += 2
        counters["square"] += 1
        await asyncio.sleep(0)
        return "ok", None

    async def phase() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await load.run_phase(call, client, {
                "mode": "closed", "concurrency": 1, "duration_s": 0.05, "max_requests": 7,
                "silos": {"shopify": "http://127.0.0.1:1", "square": "http://127.0.0.1:2"}},
                5.0, None)

    out = asyncio.run(phase())
    assert out["accepted_total"] == 7
    assert out["upstream"] == {"shopify": 14, "square": 7}


def test_the_load_client_calls_only_loopback() -> None:
    with pytest.raises(SystemExit):
        load.check_local("http://example.com/_sandbox/stats")
