"""Issue 14's cells (bench.operations) from given figures: the arms' configs, the alternation,
an answer's outcome, the pooled figures, and the targets judged from them (bench.targets)."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from bench import report, targets
from bench.operations import (
    CELLS,
    Arm,
    Sizes,
    cache_memory,
    compact,
    deep_size,
    order,
    outcome,
    overlay,
    pair_ratios,
    phase_cpu_ms,
    rounds_for,
    spread,
    summarize,
    telemetry_on,
)


def test_overlay_merges_tables_and_leaves_the_base_alone() -> None:
    base = {"cache": {"enabled": True, "sources": {"zendesk": {"ttl_s": 0,
                                                               "stale_if_error_s": 60}}},
            "gateway": {"request_budget_ms": 2000}}
    merged = overlay(base, CELLS["cache"]["arms"]["warm"])
    assert merged["cache"]["sources"]["zendesk"] == {"ttl_s": 3600, "stale_if_error_s": 60}
    assert set(merged["cache"]["sources"]) == {"shopify", "square", "zendesk", "loyalty"}
    assert merged["gateway"] == {"request_budget_ms": 2000}
    assert base["cache"]["sources"]["zendesk"]["ttl_s"] == 0  # type: ignore[index]


def test_blocks_alternate_ab_then_ba_over_an_even_number_of_rounds() -> None:
    assert [order(i, "off", "on") for i in range(4)] == [
        ("off", "on"), ("on", "off"), ("off", "on"), ("on", "off")]
    assert rounds_for(1200, 50) == 24 and rounds_for(150, 20) == 8 and rounds_for(10, 50) == 2
    assert Sizes.of(None, quick=False).rounds == {"cache": 16, "breaker": 10, "telemetry": 24}
    assert Sizes.of(None, quick=True).rounds == {"cache": 8, "breaker": 4, "telemetry": 12}


def test_outcome_of_an_answer() -> None:
    def body(**answer: Any) -> bytes:
        return orjson.dumps(answer)

    assert outcome(200, body(data={"customer": {}})) == "ok"
    assert outcome(200, body(data={}, extensions={"stale": [{"source": "zendesk"}]})) == "stale"
    assert outcome(200, body(data={}, errors=[{"message": "x"}])) == "partial"
    assert outcome(200, body(data=None, errors=[{"message": "x"}])) == "failed"
    assert outcome(503, body(data={})) == "failed"
    assert outcome(200, b"<html>") == "failed"


def phase(arm: str, alternation: int, cpu_s: float, latencies_ms: list[float],
          zendesk: int = 0) -> dict[str, Any]:
    return {"arm": arm, "alternation": alternation, "queries": len(latencies_ms),
            "cpu_s": cpu_s, "latencies_s": [x / 1000 for x in latencies_ms],
            "upstream": {"shopify": 2 * len(latencies_ms), "zendesk": zendesk},
            "outcomes": {"ok": len(latencies_ms)}}


def test_summary_pools_the_phases_of_one_arm() -> None:
    phases = [phase("off", 0, 0.040, [10, 11, 12, 13]), phase("on", 0, 0.042, [10, 12, 12, 14]),
              phase("on", 1, 0.044, [11, 11, 13, 15]), phase("off", 1, 0.040, [9, 10, 11, 30])]
    off = summarize(phases, "off")
    assert off["queries"] == 8
    assert off["cpu_ms"] == pytest.approx(10.0)
    assert off["p50_ms"] == pytest.approx(11.0)
    assert off["upstream"] == {"shopify": 2.0, "zendesk": 0.0}
    assert off["phase_cpu_ms"] == [10.0, 10.0]
    assert pair_ratios(phases, "off", "on", phase_cpu_ms) == [1.05, 1.1]
    assert spread([1.0, 1.1, 0.9, 1.2, 1.05]) == {"median": 1.05, "q1": 1.0, "q3": 1.1,
                                                  "min": 0.9, "max": 1.2, "mean": 1.05,
                                                  "two_se": 0.1}
    assert spread([1.0]) is None
    assert "latencies_s" not in compact(phases[0]) and compact(phases[0])["p50_ms"] == 11.5
    assert summarize(phases, "neither") == {"queries": 0}


def arm(cpu_ms: float, p50_ms: float, zendesk: float = 1.0, **more: Any) -> dict[str, Any]:
    return {"queries": 600, "cpu_ms": cpu_ms, "p50_ms": p50_ms, "p95_ms": p50_ms * 1.3,
            "upstream": {"shopify": 2.0, "square": 1.7, "zendesk": zendesk},
            "outcomes": {"ok": 600}, "phase_cpu_ms": [cpu_ms], **more}


def results(on_cpu: float = 10.3, breaker_zd: float = 0.0, warm_cpu: float = 6.0
            ) -> dict[str, Any]:
    telemetry = {"title": "t", "profile": "0ms", "down": [], "baseline": "off",
                 "feature": "on", "arms": {"off": arm(10.25, 11.0), "on": arm(on_cpu, 11.0)},
                 "client_cpu_ms": 0.25,
                 "gateway_cpu_ms": {"off": 10.0, "on": round(on_cpu - 0.25, 3)},
                 "ratios": {"p50": 1.0, "cpu": round(on_cpu / 10.25, 3),
                            "gateway_cpu": round((on_cpu - 0.25) / 10.0, 3)},
                 "pair_spread": {"cpu": spread([0.97, 1.01, 1.02, 1.04, 1.09])},
                 "telemetry_on": telemetry_on(True, {"requests": 12, "bytes": 40960}, 0.1)}
    breaker = {"title": "b", "profile": "20ms", "down": ["zendesk"], "baseline": "no breaker",
               "feature": "breaker",
               "arms": {"no breaker": arm(20.0, 120.0, 3.4), "breaker": arm(13.0, 33.0,
                                                                            breaker_zd)},
               "ratios": {"p50": 0.275, "cpu": 0.65}, "pair_spread": {},
               "trip": {"breaker": {"queries": 5, "upstream": {"zendesk": 5},
                                    "breaker": "open"}}}
    cache = {"title": "c", "profile": "20ms", "down": [], "baseline": "cold", "feature": "warm",
             "arms": {"cold": arm(14.7, 33.6), "warm": arm(warm_cpu, 6.4, 0.0)},
             "ratios": {"p50": 0.19, "cpu": round(warm_cpu / 14.7, 3)},
             "pair_spread": {"cpu": spread([0.4, 0.45])}}
    return {"operations": {"meta": {"run_seconds": 80},
                           "cells": {"cache": cache, "breaker": breaker,
                                     "telemetry": telemetry}}}


def test_telemetry_is_judged_on_the_gateways_share_of_the_cpu() -> None:
    target, status, detail = targets.telemetry_check(results(on_cpu=10.7))
    assert status == "PASS"  # (10.7 - 0.25) / 10.0 = 1.045
    assert "= 1.045×" in detail
    assert "per round median 1.02×, quartiles 1.01–1.04×, mean 1.026× ± 0.039 (2 SE)" in detail
    assert ("traces (`trace_sample_ratio = 0.1`, the default; OTLP/http to a local stub "
            "collector: 12 exports, 40 kB" in detail)
    assert targets.telemetry_check(results(on_cpu=10.8))[1] == "FAIL"  # 1.055


def test_breaker_passes_when_an_open_breaker_keeps_zendesk_calls_away() -> None:
    _, status, detail = targets.breaker_check(results())
    assert status == "PASS"
    assert "0.000 with the breaker vs 3.40 without per query" in detail
    assert "5 Zendesk requests over the first 5 queries, breaker open" in detail
    assert targets.breaker_check(results(breaker_zd=0.2))[1] == "FAIL"


def test_cache_check_compares_warm_and_cold_cpu() -> None:
    _, status, detail = targets.cache_check(results())
    assert status == "PASS" and "= 0.41×" in detail
    assert "silo requests per query 3.70 vs 4.70" in detail
    assert targets.cache_check(results(warm_cpu=15.0))[1] == "FAIL"


def test_nothing_measured_reads_na_and_the_report_has_the_section() -> None:
    assert [c[1] for c in targets.issue14_checks({})] == ["n/a", "n/a", "n/a"]
    text = report.markdown({**results(), "rows": [], "meta": {}})
    assert "## Running it in production (issue 14)" in text
    assert "### Issue 14" in text
    assert "| breaker | 20ms, zendesk down | breaker | 600 |" in text
    assert telemetry_on(True, {"requests": 0}).startswith("metrics + JSON access log; ")


def test_deep_size_counts_what_a_value_reaches_once_and_no_class() -> None:
    shared = "x" * 10_000
    one = deep_size([shared])
    assert one >= sys.getsizeof(shared) + sys.getsizeof([shared])
    assert deep_size([shared, shared]) < 2 * one  # reached twice, counted once
    assert deep_size([shared, "y" * 10_000]) > one + 10_000
    assert deep_size({"a": [1.5, 2.5]}) < deep_size({"a": [1.5, 2.5], "b": [3.5] * 100})

    class Record:
        def __init__(self) -> None:
            self.note = "z" * 5_000

    assert deep_size(Record()) >= 5_000
    assert deep_size(Record) == 0  # shared with the process: a class is never counted
    assert deep_size(Record()) < 5_000 + sys.getsizeof(Record)


@pytest.mark.anyio
async def test_cache_memory_is_the_stores_bytes_per_entry_times_its_size() -> None:
    from adapters.entities import MemoryEntityStore

    store = MemoryEntityStore(max_entries=1000)
    await store.put_many("shopify", "customers_by_ids",
                         [(str(i), {"email": f"p{i}@example.com", "orders": ["o" * 100]})
                          for i in range(10)], stored_at=0.0, keep_s=60.0)
    await store.put_many("zendesk", "tickets_of", [("7", ["t" * 1000])], 0.0, 60.0)
    app: Any = SimpleNamespace(state=SimpleNamespace(runtime=SimpleNamespace(
        cache=SimpleNamespace(store=store))))
    found = cache_memory(Arm("warm", None, app, None))  # type: ignore[arg-type]
    assert found is not None
    assert found["entries"] == 11
    assert found["by_method"] == {"shopify.customers_by_ids": 10, "zendesk.tickets_of": 1}
    assert found["bytes"] > 10 * 100 + 1000
    assert found["bytes_per_entry"] == round(found["bytes"] / 11)
    assert found["full_mb"] == round(found["bytes"] / 11 * 1000 / 2**20, 1)
    text = report.cache_memory_text(found)
    assert "11 entries" in text and "max_entries 1000" in text
    empty: Any = SimpleNamespace(state=SimpleNamespace())
    assert cache_memory(Arm("cold", None, empty, None)) is None  # type: ignore[arg-type]
