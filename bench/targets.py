"""Issue 13's targets, judged from a run's measured figures (pure: no I/O).

- the **goodput curve**: c360 (1 worker) in closed loops at c = 1, 4, 16, 50 — at c = 50, no
  failed and no partial answer, and complete answers/s ≥ :data:`GOODPUT_KEEP` × the best at a
  lower c (:func:`curve_points`, :func:`curve_verdict`);
- the **open-loop overload**: Poisson arrivals at 2× the capacity with no cap on requests in
  flight — goodput ≥ :data:`OVERLOAD_GOODPUT` × capacity, refusals' p99 <
  :data:`REFUSAL_P99_MS`, refusals without silo calls (upstream requests per accepted request
  ≈ the per-query count at normal load), accepted answers' p99 within the budget + 10 %
  (:func:`overload_summary`);
- healthy silos never give a partial answer; the budget holds for every accepted answer; the
  peer ratios; the overhead over the floor; CPU per S2 query; memory (:func:`rss_ratio`).

:func:`issue13_checks` gives one ``(target, PASS | FAIL | n/a, what was measured)`` per target;
:func:`issue14_checks` the same for issue 14's cells (:mod:`bench.operations`: the warm entity
cache, the circuit breaker with Zendesk down, the cost of telemetry).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

Check = tuple[str, str, str]
"""(target, ``PASS`` | ``FAIL`` | ``n/a``, what was measured)."""

BASELINE = "c360-1w"
JUDGED = ("c360-1w", "c360-2w", "c360-noauth")
"""c360 as it is served (batching on); ``c360-nobatch`` is shown, not judged."""
HEALTHY_PROFILES = ("0ms", "20ms")
CURVE_SCENARIOS = ("S1", "S2", "S3", "S4")
CURVE_POINTS = (1, 4, 16, 50)
"""The goodput curve's concurrencies (closed loops)."""
CURVE_TOP = CURVE_POINTS[-1]
GOODPUT_KEEP = 0.9
OVERLOAD_SCENARIOS = ("S1", "S2")
OVERLOAD_GOODPUT = 0.9
REFUSAL_P99_MS = 50.0
UPSTREAM_SLACK = 1.1
"""Upstream requests per accepted request during the overload may exceed the per-query count
at normal load by this factor (sampling noise) before refusals are said to cost silo calls."""
BUDGET_SLACK = 0.10
DEFAULT_BUDGET_MS = 2000.0
HIVE_RATIO = {"S1-shared": 1.5, "S2-shared": 2.0}
S1_OVERHEAD_MS = 3.0
CPU_PER_S2_MS = 25.0
MEMORY_GROWTH = 1.1


def _f(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _status(ok: bool, seen: bool = True) -> str:
    return ("PASS" if ok else "FAIL") if seen else "n/a"


def find_row(rows: list[dict[str, Any]], key: str, scenario: str, profile: str,
             concurrency: int) -> dict[str, Any] | None:
    """The measured cell of a contestant, or None."""
    return next((r for r in rows if r["key"] == key and r["scenario"] == scenario and
                 r["profile"] == profile and r["concurrency"] == concurrency), None)


def budget_ms(results: dict[str, Any]) -> float:
    """``gateway.request_budget_ms`` of the run's config (2 s when not recorded)."""
    return float(results.get("meta", {}).get("budget_ms") or DEFAULT_BUDGET_MS)


def format_causes(*counters: dict[str, int] | None) -> str:
    """``SOURCE_TIMEOUT:loyalty ×3, http 504 BUDGET_EXCEEDED ×1`` (most frequent first)."""
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter or {})
    return ", ".join(f"{k} ×{n}" for k, n in total.most_common())


# -- the goodput curve --------------------------------------------------------------------------
def curve_points(results: dict[str, Any], key: str = BASELINE) -> list[dict[str, Any]]:
    """Closed-loop points of one contestant: its c = 1 cells (the latency loop), its c = 50
    cells' capacity phase and the curve's own points (c = 4, 16), by scenario, profile, c."""
    points = [dict(p) for p in results.get("curve", []) if p["key"] == key]
    for row in results.get("rows", []):
        if row["key"] != key:
            continue
        if row["concurrency"] == 1:
            points.append({**row, "accepted_max_ms": row.get("accepted_max_ms",
                                                             row.get("max_ms"))})
        elif row["concurrency"] == CURVE_TOP and row.get("capacity"):
            cap = row["capacity"]
            points.append({**cap, "key": key, "scenario": row["scenario"],
                           "profile": row["profile"], "concurrency": CURVE_TOP,
                           "ok_rps": row.get("ok_rps"), "rps": row.get("rps"),
                           "cpu_s_per_1k": row.get("cpu_s_per_1k"), "cpu_s": row.get("cpu_s"),
                           "accepted_all": row.get("accepted_all")})
    points.sort(key=lambda p: (p["scenario"], p["profile"], p["concurrency"]))
    return points


def curve_verdict(points: list[dict[str, Any]]) -> tuple[str, str]:
    """(status, detail) of one scenario × profile's curve: at c = 50, 0 failed, 0 partial and
    complete answers/s ≥ :data:`GOODPUT_KEEP` × the best at a lower concurrency."""
    top = next((p for p in points if p["concurrency"] == CURVE_TOP), None)
    if top is None:
        return "n/a", f"no c={CURVE_TOP} closed loop"
    lower = [p for p in points if p["concurrency"] < CURVE_TOP and p.get("ok_rps") is not None]
    best = max(lower, key=lambda p: p["ok_rps"], default=None)
    goodput = top.get("ok_rps") or 0.0
    clean = not top.get("failed") and not top.get("partial")
    counts = f"ok/partial/failed {top.get('ok')}/{top.get('partial')}/{top.get('failed')}"
    if best is None:
        detail = f"c={CURVE_TOP}: {goodput:.1f} complete/s (no lower c measured), {counts}"
        keeps = True
    else:
        ratio = goodput / best["ok_rps"] if best["ok_rps"] else math.inf
        keeps = ratio >= GOODPUT_KEEP
        detail = (f"c={CURVE_TOP}: {goodput:.1f} complete/s vs best {best['ok_rps']:.1f} at "
                  f"c={best['concurrency']} = {ratio:.2f}×, {counts}")
    causes = format_causes(top.get("partial_causes"), top.get("failed_kinds"))
    if causes:
        detail += f" ({causes})"
    return _status(clean and keeps), detail


def curve_cells(points: list[dict[str, Any]]) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """(scenario, profile, its points) in order."""
    cells = sorted({(p["scenario"], p["profile"]) for p in points})
    for scenario, profile in cells:
        yield scenario, profile, [p for p in points
                                  if p["scenario"] == scenario and p["profile"] == profile]


def curve_check(results: dict[str, Any]) -> Check:
    """The closed loop at 50 callers, healthy silos, S1–S4 (c360, 1 worker)."""
    target = (f"closed loop at {CURVE_TOP} callers, healthy silos (0/20 ms), S1–S4: 0 failed, "
              f"0 partial, complete answers/s ≥ {GOODPUT_KEEP}× the best at c = 1, 4, 16")
    points = curve_points(results)
    parts, missing, ok, seen = [], [], True, False
    for scenario in CURVE_SCENARIOS:
        for profile in HEALTHY_PROFILES:
            mine = [p for p in points if p["scenario"] == scenario and p["profile"] == profile]
            status, detail = curve_verdict(mine)
            if status == "n/a":
                missing.append(f"{scenario} {profile}")
                continue
            seen = True
            ok &= status == "PASS"
            measured = ",".join(str(p["concurrency"]) for p in mine)
            parts.append(f"{scenario} {profile} [{status}, c={measured}]: {detail}")
    if missing:
        parts.append("no c=50 closed loop: " + ", ".join(missing))
    return target, _status(ok, seen), "; ".join(parts) or "not measured"


# -- the open-loop overload ---------------------------------------------------------------------
def per_query_upstream(results: dict[str, Any], key: str, scenario: str, profile: str,
                       silos: Iterable[str]) -> tuple[float | None, str]:
    """Upstream requests per query at normal load to those silos, and where it comes from:
    the c = 1 cell of the same scenario and profile (the silos' counters around it, over its
    requests — the same variables in rotation), else the count phase (0 ms, K queries)."""
    silos = list(silos)
    row = find_row(results.get("rows", []), key, scenario, profile, 1)
    if row and row.get("upstream") and row.get("accepted_total"):
        return (sum(row["upstream"].get(s, 0) for s in silos) / row["accepted_total"],
                f"c=1 {profile}")
    counted = results.get("upstream", {}).get(key, {}).get(scenario)
    if not counted:
        return None, "not counted"
    up = counted["upstream"]
    return float(sum(up[s]["per_query"] for s in silos if s in up)), "count, 0 ms"


def overload_summary(run: dict[str, Any], per_query: float | None,
                     per_query_from: str = "") -> dict[str, Any]:
    """The figures of one overload run (``results["overload"]`` entry) and their verdicts.

    ``goodput_ratio``: complete answers/s during the overload over the capacity (the closed
    loop's complete answers/s just before, or the best closed loop of the scenario and profile
    measured earlier, ``best_closed``, when it answered more); ``refused``: 503
    ``OVERLOADED`` answers with their p99; ``upstream_ratio``: the silos' requests during the
    phase per accepted (not refused) request, over ``per_query`` (the same at normal load) —
    1 when refusals cost no silo call; ``accepted_p99_ms`` against ``budget_ms`` + 10 %."""
    over = run["overload"]
    capacity = run["capacity"].get("ok_rps") or 0.0
    capacity_from = f"c={CURVE_TOP} closed loop before"
    best = run.get("best_closed") or {}
    if (best.get("ok_rps") or 0.0) > capacity:
        capacity = best["ok_rps"]
        capacity_from = f"c={best['concurrency']} closed loop"
    budget = float(run.get("budget_ms") or DEFAULT_BUDGET_MS)
    goodput = over.get("ok_rps") or 0.0
    ratio = goodput / capacity if capacity else None
    upstream = over.get("upstream")
    accepted = over.get("accepted_total") or 0
    per_accepted = (sum(upstream.values()) / accepted) if upstream is not None and accepted \
        else None
    upstream_ratio = (per_accepted / per_query if per_accepted is not None and per_query
                      else None)
    limit = budget * (1 + BUDGET_SLACK)
    refused_p99 = over.get("refused_p99_ms")
    accepted_p99 = over.get("accepted_p99_ms")
    verdicts = {
        "goodput_ok": ratio is not None and ratio >= OVERLOAD_GOODPUT,
        "refusals_ok": not over.get("refused") or (refused_p99 is not None
                                                   and refused_p99 < REFUSAL_P99_MS),
        "upstream_ok": upstream_ratio is not None and upstream_ratio <= UPSTREAM_SLACK,
        "budget_ok": accepted_p99 is not None and accepted_p99 <= limit,
    }
    return {
        "scenario": run["scenario"], "profile": run["profile"], "capacity_ok_rps": capacity,
        "capacity_from": capacity_from,
        "offered_rps": over.get("rate_offered"), "goodput_ok_rps": goodput,
        "goodput_ratio": None if ratio is None else round(ratio, 3),
        "requests": over.get("requests"), "ok": over.get("ok"), "partial": over.get("partial"),
        "failed": over.get("failed"), "refused": over.get("refused", 0),
        "refused_p50_ms": over.get("refused_p50_ms"), "refused_p99_ms": refused_p99,
        "accepted_total": accepted, "upstream_total": None if upstream is None
        else sum(upstream.values()),
        "upstream_per_accepted": None if per_accepted is None else round(per_accepted, 3),
        "upstream_per_query": None if per_query is None else round(per_query, 3),
        "upstream_per_query_from": per_query_from,
        "upstream_ratio": None if upstream_ratio is None else round(upstream_ratio, 3),
        "accepted_p50_ms": over.get("accepted_p50_ms"), "accepted_p99_ms": accepted_p99,
        "accepted_max_ms": over.get("accepted_max_ms"), "budget_ms": budget,
        "budget_limit_ms": limit, "peak_in_flight": over.get("peak_in_flight"),
        "failed_kinds": over.get("failed_kinds") or {},
        "partial_causes": over.get("partial_causes") or {},
        **verdicts, "passed": all(verdicts.values()),
    }


def overload_summaries(results: dict[str, Any], key: str = BASELINE) -> list[dict[str, Any]]:
    """:func:`overload_summary` of each of the contestant's overload runs."""
    out = []
    for run in results.get("overload", []):
        if run["key"] != key:
            continue
        silos = (run["overload"].get("upstream") or {}).keys()
        out.append(overload_summary(run, *per_query_upstream(
            results, key, run["scenario"], run["profile"], silos)))
    return out


def describe_overload(s: dict[str, Any]) -> str:
    """One overload run in words, each figure with its verdict."""
    def mark(ok: bool) -> str:
        return "✓" if ok else "✗"

    ratio = s["goodput_ratio"]
    upstream = ("not counted" if s["upstream_ratio"] is None else
                f"{s['upstream_per_accepted']:.2f} per accepted request vs "
                f"{s['upstream_per_query']:.2f} per query ({s['upstream_per_query_from']}) = "
                f"{s['upstream_ratio']:.2f}×")
    return (f"{s['scenario']} {s['profile']}: goodput {s['goodput_ok_rps']:.1f} / capacity "
            f"{s['capacity_ok_rps']:.1f} ({s['capacity_from']}) complete/s = {_f(ratio, 2)}× "
            f"{mark(s['goodput_ok'])}; {s['refused']} refused, p99 {_f(s['refused_p99_ms'])} ms "
            f"{mark(s['refusals_ok'])}; silo requests {upstream} {mark(s['upstream_ok'])}; "
            f"accepted p99 {_f(s['accepted_p99_ms'])} ms vs budget {s['budget_ms']:.0f} ms "
            f"+10 % {mark(s['budget_ok'])}")


def overload_check(results: dict[str, Any]) -> Check:
    """Open-loop overload at 2× capacity, S1 and S2 at 20 ms (c360, 1 worker)."""
    target = (f"open-loop overload at 2× capacity (S1, S2, 20 ms): goodput ≥ "
              f"{OVERLOAD_GOODPUT}× capacity, refusals `OVERLOADED` with p99 < "
              f"{REFUSAL_P99_MS:.0f} ms and no silo call, accepted p99 ≤ budget + 10 %")
    summaries = overload_summaries(results)
    if not summaries:
        return target, "n/a", "not measured"
    missing = [s for s in OVERLOAD_SCENARIOS if s not in {x["scenario"] for x in summaries}]
    detail = "; ".join(describe_overload(s) for s in summaries)
    if missing:
        detail += "; not measured: " + ", ".join(missing)
    return target, _status(all(s["passed"] for s in summaries)), detail


# -- partial answers and the budget -------------------------------------------------------------
def closed_and_open_phases(results: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(where, figures, client-side wait) of every measured phase: each cell's measured phase
    (c = 50: the open loop at 75 %, whose latencies include the client's wait for one of its
    50 slots) and capacity phase, the curve's points and the overload runs' two phases."""
    for r in results.get("rows", []):
        where = f"{r['key']} {r['scenario']} {r['profile']} c={r['concurrency']}"
        yield where + (" open loop" if r["concurrency"] > 1 else ""), r, r["concurrency"] > 1
        if r.get("capacity"):
            yield where + " closed loop", {**r["capacity"], "key": r["key"],
                                           "profile": r["profile"]}, False
    for p in results.get("curve", []):
        yield f"{p['key']} {p['scenario']} {p['profile']} c={p['concurrency']}", p, False
    for run in results.get("overload", []):
        where = f"{run['key']} {run['scenario']} {run['profile']}"
        yield where + " capacity", {**run["capacity"], "key": run["key"],
                                    "profile": run["profile"]}, False
        yield where + " overload", {**run["overload"], "key": run["key"],
                                    "profile": run["profile"]}, False


def healthy_partial_check(results: dict[str, Any]) -> Check:
    """No partial answer from healthy silos (0 and 20 ms), at any concurrency, for c360."""
    target = "healthy silos (0/20 ms) never give a partial answer, at any concurrency (c360)"
    partial = answers = unjudged = 0
    causes: Counter[str] = Counter()
    where: list[str] = []
    for label, phase, _ in closed_and_open_phases(results):
        if phase.get("profile") not in HEALTHY_PROFILES:
            continue
        n = phase.get("partial") or 0
        if phase.get("key") not in JUDGED:
            unjudged += n if str(phase.get("key", "")).startswith("c360") else 0
            continue
        partial += n
        answers += (phase.get("ok") or 0) + n
        if n:
            causes.update(phase.get("partial_causes") or {"causes not recorded": n})
            where.append(f"{label} {n}")
    if not answers:
        return target, "n/a", "not measured"
    detail = f"{partial} partial of {answers:,} answers"
    if partial:
        detail += (f" — causes: {format_causes(dict(causes))}; in "
                   + ", ".join(where[:8]) + (" …" if len(where) > 8 else ""))
    if unjudged:
        detail += f" (not judged: c360 without batching, {unjudged} partial)"
    return target, _status(partial == 0), detail


def budget_check(results: dict[str, Any]) -> Check:
    """Every accepted c360 request (answered, cut or timed out; not refused) within the
    request budget + 10 %, measured from its sending; the c = 50 open loops at 75 % are left
    out (their latencies include the client's own wait for one of its 50 slots)."""
    budget = budget_ms(results)
    limit = budget * (1 + BUDGET_SLACK)
    target = (f"the budget holds: slowest accepted c360 answer ≤ {budget:.0f} ms + 10 % "
              f"({limit:.0f})")
    slowest: list[tuple[float, str]] = []
    for label, phase, client_wait in closed_and_open_phases(results):
        if phase.get("key") not in JUDGED or client_wait:
            continue
        worst = phase.get("accepted_max_ms", phase.get("max_ms"))
        if worst is not None:
            slowest.append((worst, label))
    if not slowest:
        return target, "n/a", "not measured"
    slowest.sort(reverse=True)
    over = [s for s in slowest if s[0] > limit]
    detail = f"slowest {slowest[0][0]:.0f} ms ({slowest[0][1]}) over {len(slowest)} phases"
    if over:
        detail += f"; {len(over)} over the limit: " + ", ".join(
            f"{label} {ms:.0f} ms" for ms, label in over[:6])
    return target, _status(not over), detail


# -- ratios to the peer and the floor, CPU, memory ----------------------------------------------
def hive_check(results: dict[str, Any]) -> Check:
    """c360 (1 worker) against Hive Gateway (1 fork), shared subset, 20 ms, 50 callers."""
    target = ("vs Hive Gateway (1 worker vs 1 fork, 20 ms, c=50): complete answers/s ≥ "
              + ", ".join(f"{r}× {s}" for s, r in HIVE_RATIO.items()) + ", p99 no worse")
    rows = results.get("rows", [])
    parts, ok, seen = [], True, False
    for scenario, wanted in HIVE_RATIO.items():
        c = find_row(rows, BASELINE, scenario, "20ms", CURVE_TOP)
        h = find_row(rows, "hive-1", scenario, "20ms", CURVE_TOP)
        if not (c and h and h.get("ok_rps")):
            continue
        seen = True
        ratio = (c.get("ok_rps") or 0.0) / h["ok_rps"]
        p99_ok = (c.get("p99_ms") or math.inf) <= (h.get("p99_ms") or math.inf)
        ok &= ratio >= wanted and p99_ok
        parts.append(f"{scenario}: {c.get('ok_rps') or 0:.1f} vs {h['ok_rps']:.1f} complete/s "
                     f"= {ratio:.2f}× (≥ {wanted}), p99 {_f(c.get('p99_ms'))} vs "
                     f"{_f(h.get('p99_ms'))} ms")
    if not seen:
        why = [s for s in results.get("skipped", []) if s.startswith("Hive Gateway")]
        return target, "n/a", "Hive Gateway not measured" + (f": {'; '.join(why)}" if why
                                                             else " in this run")
    return target, _status(ok), "; ".join(parts)


def s1_overhead_check(results: dict[str, Any]) -> Check:
    """c360's S1 p50 over the floor's at c = 1, 20 ms silos."""
    target = f"overhead over the floor, S1, c=1, 20 ms silos ≤ {S1_OVERHEAD_MS:.0f} ms p50"
    c = find_row(results.get("rows", []), BASELINE, "S1", "20ms", 1)
    floor = results.get("floor", {}).get("by_profile", {}).get("20ms", {}).get("S1")
    if not (c and floor and c.get("p50_ms") is not None):
        return target, "n/a", "not measured"
    over = c["p50_ms"] - floor["p50_ms"]
    return target, _status(over <= S1_OVERHEAD_MS), (
        f"{c['p50_ms']:.1f} − floor {floor['p50_ms']:.1f} = {over:+.1f} ms")


def cpu_per_query_ms(row: dict[str, Any]) -> float | None:
    """The server's CPU per query it worked on (refusals left out: a cell where most requests
    were refused at admission would otherwise look cheap), in ms; the CPU-s/1k q column when
    the row does not say how many were accepted."""
    if row.get("cpu_s") is not None and row.get("accepted_all"):
        return float(row["cpu_s"]) / float(row["accepted_all"]) * 1000
    value = row.get("cpu_s_per_1k")
    return None if value is None else float(value)


def cpu_s2_check(results: dict[str, Any]) -> Check:
    """CPU per S2 query (ms per query the server did not refuse) of c360 (1 worker)."""
    target = (f"CPU per S2 query ≤ {CPU_PER_S2_MS:.0f} ms (c360 1 worker, healthy silos, per "
              "query not refused)")
    cells = [(r, cpu_per_query_ms(r)) for r in results.get("rows", [])
             if r["key"] == BASELINE and r["scenario"] == "S2"
             and r["profile"] in HEALTHY_PROFILES]
    judged = sorted(((r, ms) for r, ms in cells if ms is not None),
                    key=lambda c: (c[0]["profile"], c[0]["concurrency"]))
    if not judged:
        return target, "n/a", "not measured"
    parts = []
    for r, ms in judged:
        column = r.get("cpu_s_per_1k")
        parts.append(f"{r['profile']} c={r['concurrency']} {ms:.1f} ms" + (
            f" (CPU-s/1k q {column:.1f}, refusals included)"
            if column is not None and abs(column - ms) > 0.05 else ""))
    return target, _status(max(ms for _, ms in judged) <= CPU_PER_S2_MS), ", ".join(parts)


SETTLE_S = 2.5
"""How long a server is left idle before its resident set is read: c360 gives its free heap
back once idle (:mod:`gateway.memory`, checked every second), as a server between two bursts."""


def rss_ratio(after_warmup_kb: float, after_kb: float) -> float | None:
    """The resident set after the cells over the one after warm-up (None without the
    latter)."""
    return round(after_kb / after_warmup_kb, 3) if after_warmup_kb > 0 else None


def memory_check(results: dict[str, Any]) -> Check:
    """Every c360 server's RSS after all its cells ≤ 1.1× after warm-up (others shown)."""
    target = f"memory: c360's RSS after its cells ≤ {MEMORY_GROWTH}× after warm-up"
    memory = results.get("memory") or {}
    parts, ok, seen = [], True, False
    for key, m in memory.items():
        ratio = m.get("ratio")
        judged = key.startswith("c360")
        if judged:
            seen = True
            ok &= ratio is not None and ratio <= MEMORY_GROWTH
        parts.append(f"{key} {m['after_warmup_mb']:.0f} → {m['after_cells_mb']:.0f} MB = "
                     f"{_f(ratio, 2)}×" + ("" if judged else " (not judged)"))
    return target, _status(ok, seen), "; ".join(parts) or "not measured"


def issue13_checks(results: dict[str, Any]) -> list[Check]:
    """One line per target of issue 13, in its order."""
    return [curve_check(results), overload_check(results), healthy_partial_check(results),
            budget_check(results), hive_check(results), s1_overhead_check(results),
            cpu_s2_check(results), memory_check(results)]


# -- issue 14: running it in production (bench.operations) --------------------------------------
TELEMETRY_CPU_MAX = 1.05
"""Telemetry on may cost at most 5 % more CPU per query than off (the gateway's share)."""
BREAKER_OPEN_MAX = 0.05
"""Zendesk requests per S1 query while its breaker is open (after the trip)."""


def _cell(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    cell = ((results.get("operations") or {}).get("cells") or {}).get(name)
    return cell if cell and cell.get("arms") else None


def pair_spread(cell: dict[str, Any], metric: str) -> str:
    """The feature / baseline ratio's spread over the cell's rounds: ``median 1.02×, quartiles
    0.97–1.06×, mean 1.021× ± 0.030 (2 SE)``."""
    s = (cell.get("pair_spread") or {}).get(metric)
    if not s:
        return "–"
    text = f"median {s['median']:.2f}×, quartiles {s['q1']:.2f}–{s['q3']:.2f}×"
    if s.get("two_se") is not None:
        text += f", mean {s['mean']:.3f}× ± {s['two_se']:.3f} (2 SE)"
    return text


def telemetry_check(results: dict[str, Any]) -> Check:
    """Telemetry on vs off, S1 at 0 ms, same run: the gateway's CPU per query (the in-process
    client's share subtracted) on / off ≤ :data:`TELEMETRY_CPU_MAX`."""
    target = (f"telemetry on costs ≤ {round((TELEMETRY_CPU_MAX - 1) * 100)} % CPU per query "
              "(S1, 0 ms silos, on vs off in the same run)")
    cell = _cell(results, "telemetry")
    if cell is None:
        return target, "n/a", "not measured"
    on, off = cell["arms"][cell["feature"]], cell["arms"][cell["baseline"]]
    gateway = cell.get("gateway_cpu_ms") or {}
    judged = cell["ratios"].get("gateway_cpu") or cell["ratios"].get("cpu")
    detail = (f"gateway CPU {_f(gateway.get(cell['feature']), 2)} vs "
              f"{_f(gateway.get(cell['baseline']), 2)} ms per query = {_f(judged, 3)}× "
              f"(in-process client's {_f(cell.get('client_cpu_ms'), 2)} ms subtracted; as "
              f"measured {on['cpu_ms']:.2f} vs {off['cpu_ms']:.2f} ms = "
              f"{_f(cell['ratios'].get('cpu'), 3)}×; per round {pair_spread(cell, 'cpu')}; "
              f"{on['queries']} queries each); on: "
              f"{cell.get('telemetry_on', 'metrics + access log')}")
    return target, _status(judged is not None and judged <= TELEMETRY_CPU_MAX), detail


def breaker_check(results: dict[str, Any]) -> Check:
    """Zendesk down, S1 at 20 ms: Zendesk requests per query with the breaker open ≤
    :data:`BREAKER_OPEN_MAX` (after the trip), beside the same without breakers."""
    target = (f"breaker: Zendesk requests per S1 query while open ≤ {BREAKER_OPEN_MAX} (Zendesk "
              "down, 20 ms silos, after the trip)")
    cell = _cell(results, "breaker")
    if cell is None:
        return target, "n/a", "not measured"
    on, off = cell["arms"][cell["feature"]], cell["arms"][cell["baseline"]]
    zd_on = on["upstream"].get("zendesk", 0.0)
    zd_off = off["upstream"].get("zendesk", 0.0)
    trip = (cell.get("trip") or {}).get(cell["feature"]) or {}
    detail = (f"{zd_on:.3f} with the breaker vs {zd_off:.2f} without per query; p50 "
              f"{on['p50_ms']:.1f} vs {off['p50_ms']:.1f} ms = {_f(cell['ratios'].get('p50'), 2)}×"
              f"; answers {format_answers(on.get('outcomes'))} vs "
              f"{format_answers(off.get('outcomes'))}")
    if trip:
        detail += (f"; the trip: {trip.get('upstream', {}).get('zendesk', 0)} Zendesk requests "
                   f"over the first {trip.get('queries')} queries, breaker "
                   f"{trip.get('breaker', '?')}")
    return target, _status(zd_on <= BREAKER_OPEN_MAX), detail


def cache_check(results: dict[str, Any]) -> Check:
    """The entity cache warm vs cold, S1 at 20 ms: CPU per query warm < cold (with the p50's
    ratio beside it)."""
    target = "warm entity cache: CPU per S1 query < cold (20 ms silos)"
    cell = _cell(results, "cache")
    if cell is None:
        return target, "n/a", "not measured"
    warm, cold = cell["arms"][cell["feature"]], cell["arms"][cell["baseline"]]
    silo = sum(warm["upstream"].values())
    silo_cold = sum(cold["upstream"].values())
    detail = (f"CPU {warm['cpu_ms']:.2f} vs {cold['cpu_ms']:.2f} ms per query = "
              f"{_f(cell['ratios'].get('cpu'), 2)}× (per round {pair_spread(cell, 'cpu')}); "
              f"p50 {warm['p50_ms']:.1f} vs "
              f"{cold['p50_ms']:.1f} ms = {_f(cell['ratios'].get('p50'), 2)}×; silo requests per "
              f"query {silo:.2f} vs {silo_cold:.2f}")
    return target, _status(warm["cpu_ms"] < cold["cpu_ms"]), detail


def format_answers(outcomes: dict[str, int] | None) -> str:
    """``ok 10 / stale 80`` (every outcome seen)."""
    return " / ".join(f"{k} {n}" for k, n in sorted((outcomes or {}).items())) or "–"


def issue14_checks(results: dict[str, Any]) -> list[Check]:
    """One line per target of issue 14's benchmark cells (:mod:`bench.operations`)."""
    return [cache_check(results), breaker_check(results), telemetry_check(results)]
