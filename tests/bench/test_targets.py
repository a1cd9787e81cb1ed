"""Issue 13's targets judged from given figures (bench.targets): the goodput curve, the
overload summary, partial answers from healthy silos, the budget, the peer, CPU and memory."""

from __future__ import annotations

from typing import Any

import pytest

from bench import targets


def point(c: int, ok_rps: float, ok: int = 100, partial: int = 0, failed: int = 0,
          **more: Any) -> dict[str, Any]:
    return {"key": "c360-1w", "scenario": "S2", "profile": "20ms", "concurrency": c,
            "ok_rps": ok_rps, "rps": ok_rps, "ok": ok, "partial": partial, "failed": failed,
            "p50_ms": 10.0, "p99_ms": 20.0, **more}


def test_curve_passes_when_c50_keeps_its_goodput_with_clean_answers() -> None:
    status, detail = targets.curve_verdict([point(1, 9.0), point(4, 20.0), point(16, 21.0),
                                            point(50, 19.0)])
    assert status == "PASS"
    assert "19.0 complete/s vs best 21.0 at c=16 = 0.90×" in detail


def test_curve_fails_below_nine_tenths_of_the_best_lower_concurrency() -> None:
    status, detail = targets.curve_verdict([point(1, 9.1), point(16, 8.0), point(50, 7.4)])
    assert status == "FAIL"
    assert "= 0.81×" in detail


def test_curve_fails_on_a_partial_answer_and_names_its_cause() -> None:
    top = point(50, 30.0, ok=28, partial=11, failed=60,
                partial_causes={"SOURCE_TIMEOUT:loyalty": 11},
                failed_kinds={"http 504 BUDGET_EXCEEDED": 39, "http 503 OVERLOADED": 21})
    status, detail = targets.curve_verdict([point(1, 9.0), top])
    assert status == "FAIL"
    assert "ok/partial/failed 28/11/60" in detail
    assert "http 504 BUDGET_EXCEEDED ×39" in detail and "SOURCE_TIMEOUT:loyalty ×11" in detail


def test_curve_without_c50_is_not_judged() -> None:
    assert targets.curve_verdict([point(1, 9.0), point(4, 10.0)])[0] == "n/a"


def results_with_curve() -> dict[str, Any]:
    rows = [
        {**point(1, 9.0), "max_ms": 120.0},
        {**point(50, 40.0), "capacity": {"ok": 70, "partial": 0, "failed": 0,
                                         "p50_ms": 900.0, "p99_ms": 1500.0,
                                         "accepted_max_ms": 1600.0}},
        {**point(1, 30.0), "scenario": "S1"},
    ]
    curve = [point(4, 25.0), point(16, 41.0)]
    return {"rows": rows, "curve": curve, "meta": {"budget_ms": 2000}}


def test_curve_points_join_the_cells_and_the_curve_in_order() -> None:
    points = targets.curve_points(results_with_curve())
    s2 = [(p["concurrency"], p["ok_rps"]) for p in points if p["scenario"] == "S2"]
    assert s2 == [(1, 9.0), (4, 25.0), (16, 41.0), (50, 40.0)]
    top = next(p for p in points if p["scenario"] == "S2" and p["concurrency"] == 50)
    assert top["p99_ms"] == 1500.0  # the closed loop's, not the open loop's
    assert targets.curve_verdict([p for p in points if p["scenario"] == "S2"])[0] == "PASS"


def test_curve_check_fails_when_one_cell_fails_and_lists_what_is_missing() -> None:
    results = results_with_curve()
    results["curve"].append(point(16, 60.0))  # best lower c is now 60 > 40 / 0.9
    _, status, detail = targets.curve_check(results)
    assert status == "FAIL"
    assert "S2 20ms [FAIL" in detail
    assert "no c=50 closed loop: S1 0ms" in detail


def overload_run(**over: Any) -> dict[str, Any]:
    phase = {"rate_offered": 20.0, "ok_rps": 9.5, "requests": 160, "ok": 80, "partial": 0,
             "failed": 80, "refused": 80, "refused_p50_ms": 2.0, "refused_p99_ms": 12.0,
             "accepted_total": 90, "accepted_p50_ms": 400.0, "accepted_p99_ms": 2100.0,
             "accepted_max_ms": 2150.0, "upstream": {"shopify": 270, "square": 360,
                                                     "zendesk": 180},
             "peak_in_flight": 60, **over}
    return {"key": "c360-1w", "scenario": "S2", "profile": "20ms", "budget_ms": 2000,
            "capacity": {"ok_rps": 10.0}, "overload": phase}


def test_overload_summary_passes_when_refusals_are_cheap_and_free_of_silo_calls() -> None:
    s = targets.overload_summary(overload_run(), per_query=9.0)
    assert s["goodput_ratio"] == pytest.approx(0.95)
    assert s["upstream_per_accepted"] == pytest.approx(9.0)  # 810 silo requests / 90 accepted
    assert s["upstream_ratio"] == pytest.approx(1.0)
    assert s["budget_limit_ms"] == pytest.approx(2200.0)
    assert s["passed"], s


def test_overload_summary_fails_each_target_on_its_own() -> None:
    slow_refusals = targets.overload_summary(overload_run(refused_p99_ms=480.0), 9.0)
    assert not slow_refusals["refusals_ok"] and not slow_refusals["passed"]
    # refusals that called the silos: 1,440 requests for 90 accepted = 16 per accepted request
    costly = targets.overload_summary(overload_run(upstream={"shopify": 1440}), 9.0)
    assert costly["upstream_ratio"] == pytest.approx(16 / 9, abs=1e-3)
    assert not costly["upstream_ok"]
    late = targets.overload_summary(overload_run(accepted_p99_ms=2300.0), 9.0)
    assert not late["budget_ok"]
    starved = targets.overload_summary(overload_run(ok_rps=8.0), 9.0)
    assert starved["goodput_ratio"] == pytest.approx(0.8) and not starved["goodput_ok"]
    uncounted = targets.overload_summary(overload_run(), None)
    assert uncounted["upstream_ratio"] is None and not uncounted["passed"]


def test_per_query_comes_from_the_c1_cell_else_from_the_count() -> None:
    results = {"rows": [{**point(1, 9.0), "upstream": {"shopify": 30, "square": 40,
                                                       "zendesk": 20}, "accepted_total": 10}],
               "upstream": {"c360-1w": {"S2": {"upstream": {
                   "shopify": {"per_query": 3.0}, "square": {"per_query": 4.0},
                   "zendesk": {"per_query": 2.0}, "loyalty": {"per_query": 1.0}}}}}}
    silos = ("shopify", "square", "zendesk")
    assert targets.per_query_upstream(results, "c360-1w", "S2", "20ms", silos) == (
        9.0, "c=1 20ms")
    assert targets.per_query_upstream(results, "c360-1w", "S2", "0ms", silos) == (
        9.0, "count, 0 ms")
    assert targets.per_query_upstream(results, "c360-1w", "S1", "0ms", silos)[0] is None


def test_overload_check_reads_the_runs_of_the_baseline() -> None:
    results = {"overload": [overload_run()], "rows": [], "upstream": {}}
    _, status, detail = targets.overload_check(results)
    assert status == "FAIL"  # no per-query count to compare the silo requests with
    assert "not counted" in detail and "not measured: S1" in detail


def test_partial_answers_from_healthy_silos_fail_and_name_their_causes() -> None:
    rows = [
        {**point(1, 9.0), "partial": 1, "partial_causes": {"SOURCE_TIMEOUT:loyalty": 1}},
        {**point(1, 9.0), "profile": "zendesk-1s", "partial": 3,
         "partial_causes": {"SOURCE_TIMEOUT:zendesk": 3}},
        {**point(1, 9.0), "key": "c360-nobatch", "partial": 5},
    ]
    _, status, detail = targets.healthy_partial_check({"rows": rows})
    assert status == "FAIL"
    assert "1 partial of 101 answers" in detail  # the zendesk-1s row is not healthy
    assert "SOURCE_TIMEOUT:loyalty ×1" in detail and "zendesk" not in detail
    assert "not judged: c360 without batching, 5 partial" in detail
    clean = targets.healthy_partial_check({"rows": [{**rows[0], "partial": 0}] + rows[1:]})
    assert clean[1:] == ("PASS", "0 partial of 100 answers (not judged: c360 without batching, "
                                 "5 partial)")
    assert targets.healthy_partial_check({"rows": rows[1:]})[1] == "n/a"


def test_budget_check_ignores_the_client_wait_of_the_75_percent_open_loop() -> None:
    results = results_with_curve()
    results["rows"][1]["accepted_max_ms"] = 5000.0  # the open loop at 75 %: client-side wait
    _, status, detail = targets.budget_check(results)
    assert status == "PASS"
    assert "slowest 1600 ms (c360-1w S2 20ms c=50 closed loop)" in detail
    results["curve"][0]["accepted_max_ms"] = 2201.0
    _, status, detail = targets.budget_check(results)
    assert status == "FAIL" and "c360-1w S2 20ms c=4 2201 ms" in detail


def test_hive_check_wants_2x_on_s2_and_says_when_hive_was_skipped() -> None:
    def row(key: str, scenario: str, ok_rps: float, p99: float) -> dict[str, Any]:
        return {"key": key, "scenario": scenario, "profile": "20ms", "concurrency": 50,
                "ok_rps": ok_rps, "p99_ms": p99}
    rows = [row("c360-1w", "S1-shared", 150.0, 100.0), row("hive-1", "S1-shared", 100.0, 150.0),
            row("c360-1w", "S2-shared", 19.0, 300.0), row("hive-1", "S2-shared", 10.0, 400.0)]
    _, status, detail = targets.hive_check({"rows": rows})
    assert status == "FAIL" and "1.90× (≥ 2.0)" in detail
    rows[2]["ok_rps"] = 20.0
    assert targets.hive_check({"rows": rows})[1] == "PASS"
    skipped = targets.hive_check({"rows": [], "skipped": ["Hive Gateway: Node.js missing"]})
    assert skipped[1:] == ("n/a", "Hive Gateway not measured: Hive Gateway: Node.js missing")


def test_s1_overhead_and_s2_cpu() -> None:
    results: dict[str, Any] = {"rows": [{**point(1, 30.0), "scenario": "S1", "p50_ms": 29.5},
                        {**point(1, 9.0), "cpu_s_per_1k": 24.0},
                        {**point(50, 9.0), "cpu_s_per_1k": 26.0}],
               "floor": {"by_profile": {"20ms": {"S1": {"p50_ms": 26.4}}}}}
    assert targets.s1_overhead_check(results)[1:] == ("FAIL", "29.5 − floor 26.4 = +3.1 ms")
    _, status, detail = targets.cpu_s2_check(results)
    assert status == "FAIL" and detail == "20ms c=1 24.0 ms, 20ms c=50 26.0 ms"
    # 300 of 309 requests refused: 1.2 CPU-s over 309 is 3.9 ms a request, 133 ms a query
    results["rows"][2].update(cpu_s=1.2, accepted_all=9, cpu_s_per_1k=3.88)
    _, status, detail = targets.cpu_s2_check(results)
    assert status == "FAIL"
    assert detail.endswith("20ms c=50 133.3 ms (CPU-s/1k q 3.9, refusals included)")


def test_rss_ratio_and_memory_check() -> None:
    assert targets.rss_ratio(100_000, 110_000) == pytest.approx(1.1)
    assert targets.rss_ratio(0, 110_000) is None
    memory = {"c360-1w": {"after_warmup_mb": 120.0, "after_cells_mb": 132.0, "ratio": 1.1},
              "hive-1": {"after_warmup_mb": 300.0, "after_cells_mb": 600.0, "ratio": 2.0}}
    _, status, detail = targets.memory_check({"memory": memory})
    assert status == "PASS" and "hive-1 300 → 600 MB = 2.00× (not judged)" in detail
    memory["c360-1w"]["ratio"] = 1.12
    assert targets.memory_check({"memory": memory})[1] == "FAIL"
    assert targets.memory_check({})[1] == "n/a"


def test_issue13_has_one_line_per_target() -> None:
    checks = targets.issue13_checks({"rows": [], "meta": {}})
    assert len(checks) == 8
    assert all(status == "n/a" for _, status, _ in checks)


def test_overload_capacity_is_the_best_closed_loop_when_c50_collapsed() -> None:
    run = overload_run()
    run["capacity"] = {"ok_rps": 6.2}  # the c=50 loop just before, collapsing
    run["best_closed"] = {"ok_rps": 16.6, "concurrency": 4}
    s = targets.overload_summary(run, 9.0)
    assert s["capacity_ok_rps"] == 16.6 and s["capacity_from"] == "c=4 closed loop"
    assert s["goodput_ratio"] == pytest.approx(9.5 / 16.6, abs=1e-3) and not s["goodput_ok"]
    run["best_closed"] = {"ok_rps": 5.0, "concurrency": 1}
    assert targets.overload_summary(run, 9.0)["capacity_from"] == "c=50 closed loop before"
