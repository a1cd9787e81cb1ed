"""Running it in production (issue 14): ``python -m bench.operations [--queries N] [--quick]``.

Three cells, each an A/B comparison of S1 (one customer 360 by email) in ONE run:

- **cache**: the entity cache **cold** (``ttl_s = 0`` for the four sources: every read goes to
  the silos; values kept for stale-if-error only, the default) against **warm** (``ttl_s`` an
  hour for shopify, square, zendesk and loyalty, after a priming pass that read every S1
  variable), silos at 20 ± 5 ms: p50, CPU per query, silo requests per query; and what the
  warm arm's in-process store holds after the priming (:func:`cache_memory`: entries, bytes,
  and bytes per entry times ``max_entries``, the memory of a full store of such entries);
- **breaker**: Zendesk **down** (every call answered 503 after the profile's 20 ± 5 ms, the
  other silos at 20 ± 5 ms), breakers **off** (``[breakers] enabled = false``: each Zendesk
  read tried 3 times with backoff) against **on** (``failures = 5``, ``cooldown_s``
  :data:`BREAKER_COOLDOWN_S`, longer than the whole cell, so no probe falls in it): p50 and
  the requests the Zendesk silo received per query (its ``/_sandbox/stats`` counter around each
  phase over the phase's queries). Before the phases, :data:`TRIP_QUERIES` queries per arm trip
  the breaker (their Zendesk requests are reported apart, as the cost of the trip);
- **telemetry**: silos at 0 ms (CPU dominates), telemetry **off** (``metrics = false``, log
  level ``warning``, no traces) against **on** (Prometheus metrics, the JSON ``c360.access``
  line of every request at ``info`` written to ``/dev/null``, and ``traces = true`` where the
  tree's config has the key: :func:`tracing_overlay`; spans exported over OTLP/http, as to a
  collector, to a stub collector on 127.0.0.1 in a process of its own, :func:`otlp_sink`, so
  nothing leaves the machine; a share of the requests traced, the default
  ``trace_sample_ratio``): CPU per query and its ratio on/off — target ≤
  :data:`bench.targets.TELEMETRY_CPU_MAX`; a third arm, :data:`ALL_TRACED`, shown and not
  judged. Its arms take turns query by query (:func:`_interleaved`). The in-process
  client's own CPU per query is
  measured against a stub app answering the same bytes and subtracted for the gateway-only
  ratio (the judged one; the ratio as measured is shown beside it).

How: the sandbox silos run in their own process (:func:`bench.harness.sandboxed`, or those of
``python -m bench``); both configurations of a cell run as two gateway apps in THIS process
(their real transports and databases, sockets to the silos), each primed with every S1 variable
once at 0 ms, then measured one query at a time through ``httpx.ASGITransport``, the two arms
taking turns block by block (:data:`BLOCKS` queries; A B, B A, …: :func:`order`) so that the
machine's drift (±30 % on this one, more while other work runs) falls on both. Per block: the
wall latency of each query (``perf_counter``), the process's CPU (``time.process_time`` delta:
the gateway and its in-process client — the silos are another process, the loyalty SQLite
database is read in this one — and, for a traced arm, the export of the block's spans: its
tracer provider is flushed before the window closes, so no span of one block is exported in
the other arm's), and the silos' request counters before and after. Outside the windows: a
full collection before each block; the apps' idle-heap trimmer is off (it would run a
collection in the other arm's block). Logging is process-wide: the telemetry cell sets it
before each block; the other cells run at ``warning``, to ``/dev/null``.

Queries per arm (``--queries N``, default 1200): the telemetry cell N (24 rounds of 50), the
cache cell N/4 (16 rounds of 20), the breaker cell N/6 (10 rounds of 20); ``--quick`` halves
N. Run time on the 2-core benchmark machine: about 2 minutes standalone (111–126 s measured,
under 10 s of it the sandbox's start and index), as much inside ``python -m bench``
(``--quick``: about 1).

``python -m bench`` runs it (``--no-operations`` skips it) as ``python -m bench.operations
--attach`` over its own sandbox (a spec on stdin, the results as JSON on stdout); its figures
go to ``results.json`` (``operations``), ``results.md`` and the targets checklist
(:func:`bench.targets.issue14_checks`).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import gc
import json
import logging
import os
import statistics
import sys
import threading
import time
import tomllib
import types
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx
import orjson
import tomli_w

from bench.harness import PROFILES, S1_QUERY, SILOS, log, sandboxed
from bench.load import percentile

if TYPE_CHECKING:
    from starlette.applications import Starlette

SOURCES = ("shopify", "square", "zendesk", "loyalty")
WARM_TTL_S = 3600
"""The warm arm's ``ttl_s``: longer than the run, every primed value is served fresh."""
BREAKER_FAILURES = 5
BREAKER_WINDOW_S = 30
BREAKER_COOLDOWN_S = 600
"""Longer than the whole breaker cell: the measured phases see the breaker open, no probe."""
TRIP_QUERIES = 5
"""Queries per arm with Zendesk down before the breaker cell's blocks (the trip)."""
DEFAULT_QUERIES = 1200
"""Queries per arm of the telemetry cell (the cache cell: a quarter; the breaker cell: a
sixth)."""
BLOCKS = {"cache": 20, "breaker": 20, "telemetry": 50}
"""Queries per block: the arms take turns block by block (A B, B A, …). The telemetry cell's
arms take turns query by query; its blocks are the spans of 50 over which its figures are
read (:func:`_interleaved`)."""
ALL_TRACED = "every request traced"
"""The telemetry cell's third arm, shown, not judged: "on" with ``trace_sample_ratio = 1``."""
EXPORT_THREAD = "OtelBatch"
"""The name the OpenTelemetry SDK gives its batch processors' export threads."""

CELLS: dict[str, dict[str, Any]] = {
    "cache": {
        "title": "S1, entity cache warm vs cold", "profile": "20ms", "down": (),
        "baseline": "cold", "feature": "warm",
        "arms": {
            "cold": {"cache": {"enabled": True, "store": "memory", "sources": {
                s: {"ttl_s": 0} for s in SOURCES}}},
            "warm": {"cache": {"enabled": True, "store": "memory", "sources": {
                s: {"ttl_s": WARM_TTL_S} for s in SOURCES}}},
        }},
    "breaker": {
        "title": "S1 with Zendesk down, circuit breaker on vs off", "profile": "20ms",
        "down": ("zendesk",), "baseline": "no breaker", "feature": "breaker",
        "arms": {
            "no breaker": {"breakers": {"enabled": False}},
            "breaker": {"breakers": {"enabled": True, "failures": BREAKER_FAILURES,
                                     "window_s": BREAKER_WINDOW_S,
                                     "cooldown_s": BREAKER_COOLDOWN_S}},
        }},
    "telemetry": {
        "title": "S1 CPU, telemetry on vs off", "profile": "0ms", "down": (),
        "baseline": "off", "feature": "on", "extra": ALL_TRACED,
        "arms": {
            "off": {"telemetry": {"metrics": False, "log_level": "warning"}},
            "on": {"telemetry": {"metrics": True, "log_level": "info", "log_format": "json"}},
            ALL_TRACED: {"telemetry": {"metrics": True, "log_level": "info",
                                       "log_format": "json"}},
        }},
}
"""Per cell: its silo profile, the silos made ``down``, and the config overlay of each arm
(baseline first; ratios are feature / baseline)."""


@dataclass(frozen=True)
class Sizes:
    """Rounds per cell: in each, one block of :data:`BLOCKS` queries per arm."""

    rounds: dict[str, int]

    @classmethod
    def of(cls, queries: int | None, quick: bool) -> Sizes:
        n = queries if queries is not None else DEFAULT_QUERIES // (2 if quick else 1)
        per_arm = {"cache": n // 4, "breaker": n // 6, "telemetry": n}
        return cls({cell: rounds_for(q, BLOCKS[cell]) for cell, q in per_arm.items()})

    def block(self, cell: str) -> int:
        return BLOCKS[cell]


@dataclass(frozen=True)
class Setup:
    """What the measurement needs of a running sandbox."""

    config_path: Path
    silos: dict[str, str]
    """Silo name → base URL (the three REST silos)."""
    variables: list[dict[str, Any]]
    """S1's variables."""
    credentials: dict[str, str]


# -- pure helpers (tests/bench/test_operations.py) ----------------------------------------------
def overlay(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in: tables recursively, any other value replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = overlay(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def rounds_for(queries: int, block: int) -> int:
    """Rounds giving about ``queries`` per arm in blocks of ``block``: an even number (A B,
    B A pairs), at least 2."""
    return max(2, 2 * round(queries / block / 2))


def order(alternation: int, baseline: str, feature: str) -> tuple[str, str]:
    """The arms' order in one round: A B, then B A, … (a linear drift falls on both)."""
    return (baseline, feature) if alternation % 2 == 0 else (feature, baseline)


def outcome(status: int, body: bytes) -> str:
    """``ok``, ``stale`` (complete, some values served stale), ``partial`` (data and errors)
    or ``failed``."""
    if status != 200:
        return "failed"
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "failed"
    if not isinstance(answer, dict) or answer.get("data") is None:
        return "failed"
    if answer.get("errors"):
        return "partial"
    return "stale" if (answer.get("extensions") or {}).get("stale") else "ok"


def ratio(feature: float | None, baseline: float | None) -> float | None:
    return round(feature / baseline, 3) if feature is not None and baseline else None


def summarize(phases: Sequence[Mapping[str, Any]], arm: str) -> dict[str, Any]:
    """One arm's figures over its measured blocks (raw: ``latencies_s``, ``cpu_s``,
    ``queries``, ``upstream`` per silo, ``outcomes``): pooled p50/p95 (ms), CPU per query (ms),
    silo requests per query per silo, answers by outcome, and each block's p50 and CPU."""
    mine = [p for p in phases if p["arm"] == arm]
    queries = sum(p["queries"] for p in mine)
    if not queries:
        return {"queries": 0}
    latencies = sorted(x * 1000 for p in mine for x in p["latencies_s"])
    upstream: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for p in mine:
        upstream.update(p["upstream"])
        outcomes.update(p["outcomes"])
    return {
        "queries": queries,
        "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 3),
        "cpu_ms": round(sum(p["cpu_s"] for p in mine) / queries * 1000, 3),
        "upstream": {s: round(upstream[s] / queries, 3) for s in sorted(upstream)},
        "outcomes": dict(sorted(outcomes.items())),
        "phase_p50_ms": [round(statistics.median(p["latencies_s"]) * 1000, 2) for p in mine],
        "phase_cpu_ms": [round(p["cpu_s"] / p["queries"] * 1000, 3) for p in mine],
    }


def spread(values: Sequence[float]) -> dict[str, float] | None:
    """Median, quartiles, extremes, and the mean with two standard errors (about a 95 %
    interval: how far the cell's ratio may be from the machine's noise alone); None with
    fewer than 2 values."""
    if len(values) < 2:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"median": round(median, 3), "q1": round(q1, 3), "q3": round(q3, 3),
            "min": round(min(values), 3), "max": round(max(values), 3),
            "mean": round(statistics.fmean(values), 3),
            "two_se": round(2 * statistics.stdev(values) / len(values) ** 0.5, 3)}


def pair_ratios(phases: Sequence[Mapping[str, Any]], baseline: str, feature: str,
                metric: Callable[[Mapping[str, Any]], float]) -> list[float]:
    """feature / baseline of ``metric`` within each round (the spread of the ratio)."""
    by: dict[tuple[int, str], Mapping[str, Any]] = {(p["alternation"], p["arm"]): p
                                                     for p in phases}
    out = []
    for alternation in sorted({p["alternation"] for p in phases}):
        a, b = by.get((alternation, baseline)), by.get((alternation, feature))
        if a is not None and b is not None and metric(a):
            out.append(round(metric(b) / metric(a), 3))
    return out


def phase_cpu_ms(phase: Mapping[str, Any]) -> float:
    return float(phase["cpu_s"]) / phase["queries"] * 1000


def phase_p50_ms(phase: Mapping[str, Any]) -> float:
    return float(statistics.median(phase["latencies_s"])) * 1000


def compact(phase: Mapping[str, Any]) -> dict[str, Any]:
    """A phase for results.json: its figures, not its latencies."""
    return {"arm": phase["arm"], "alternation": phase["alternation"],
            "queries": phase["queries"], "p50_ms": round(phase_p50_ms(phase), 3),
            "cpu_ms": round(phase_cpu_ms(phase), 3), "upstream": dict(phase["upstream"]),
            "outcomes": dict(phase["outcomes"]), **({"breaker": phase["breaker"]}
                                                     if "breaker" in phase else {})}


def tracing_overlay(on: bool, ratio: float | None = None) -> dict[str, Any]:
    """The ``[telemetry]`` key that turns tracing on or off (``traces``; set either way: with
    the exporter's ``OTEL_*`` variables in the environment it defaults to on), or none when this
    tree's config has no such key. Spans go over OTLP/http to a local stub collector
    (:func:`otlp_sink`): the exporter encodes and posts them as it would to a real one, and
    nothing leaves the machine. ``ratio``: the share of requests traced (``trace_sample_ratio``,
    where the tree has it; else the SDK's default, every request)."""
    from gateway.telemetry.settings import TelemetryConfig

    fields = getattr(TelemetryConfig, "__dataclass_fields__", {})
    found: dict[str, Any] = {"traces": on} if "traces" in fields else {}
    if found and ratio is not None and "trace_sample_ratio" in fields:
        found["trace_sample_ratio"] = ratio
    return found


def telemetry_on(traced: bool, exported: Mapping[str, int] | None,
                 sample_ratio: float | None = None) -> str:
    """What the "on" arm measured, in words (``exported``: both traced arms' spans)."""
    if not traced:
        return "metrics + JSON access log (no tracing in this tree's config)"
    if not exported or not exported.get("requests"):
        return ("metrics + JSON access log; `traces = true` set but no span reached the "
                "collector (tracing not wired into the app in this tree)")
    share = ("the SDK's default sampler" if sample_ratio is None else
             f"`trace_sample_ratio = {sample_ratio:g}`, the default")
    return (f"metrics + JSON access log + traces ({share}; OTLP/http to a local stub "
            f"collector: {exported['requests']} exports, {exported['bytes'] / 1024:.0f} kB "
            f"with the every-request arm's)")


TRACE_ENV = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp",
             "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}
"""The exporter's environment in the telemetry cell (plus the stub's endpoint)."""


# -- the silos ----------------------------------------------------------------------------------
class Silos:
    """Faults and request counters of the sandbox's REST silos (``/_sandbox/*``)."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)
        self.http = httpx.Client(timeout=10.0, trust_env=False)

    def set(self, profile: str, down: Sequence[str] = ()) -> None:
        for silo, (latency, jitter) in PROFILES[profile].items():
            self.http.post(self.urls[silo] + "/_sandbox/faults", json={
                "latency_ms": latency, "jitter_ms": jitter, "error_rate": 0.0,
                "rate_limited": False, "down": silo in down,
                "lost_response": False}).raise_for_status()

    def totals(self) -> dict[str, int]:
        return {s: int(self.http.get(self.urls[s] + "/_sandbox/stats").json()["total"])
                for s in SILOS}

    def close(self) -> None:
        self.http.close()


def serve_sink() -> None:
    """``--otlp-sink``: a stub OTLP/http collector on 127.0.0.1 (a free port, printed first):
    every POST answered 200 with an empty ``ExportTraceServiceResponse``; ``GET /stats``:
    ``{"requests": n, "bytes": b}`` received."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received = {"requests": 0, "bytes": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            size = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(size)
            received["requests"] += 1
            received["bytes"] += size
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(received).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """The stub collector (:func:`serve_sink`) in a process of its own; yields its URL."""
    import subprocess

    from bench.harness import PY, REPO, stop_process

    proc = subprocess.Popen([PY, "-m", "bench.operations", "--otlp-sink"], cwd=REPO,
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set for the block (restored after)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# -- the measurement ----------------------------------------------------------------------------
class Logs:
    """The process's logging, as a gateway worker sets it up, written to ``/dev/null``."""

    def __init__(self) -> None:
        self.sink: TextIO = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115

    def apply(self, telemetry: Any) -> None:
        from gateway.telemetry.logs import configure

        handler = configure(telemetry)
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(self.sink)

    def close(self) -> None:
        self.sink.close()


@dataclass
class Arm:
    name: str
    config: Any
    """Its :class:`gateway.config.Config`."""
    app: Starlette
    client: httpx.AsyncClient
    flush: Callable[[], object] | None = None
    """Exports what its spans left in the batch processor (inside its block's CPU window)."""
    exporters: list[threading.Thread] = field(default_factory=list)
    """Its tracer provider's export threads (their CPU is counted to this arm)."""


def _arm_config(setup: Setup, cell: str, arm: str, extra: Mapping[str, Any]) -> Any:
    from gateway.config import load_config

    base = tomllib.loads(setup.config_path.read_text(encoding="utf-8"))
    data = overlay(overlay(base, CELLS[cell]["arms"][arm]), extra)
    path = setup.config_path.with_name(f"c360-ops-{cell}-{arm.replace(' ', '-')}.toml")
    path.write_bytes(tomli_w.dumps(data).encode())
    return load_config(path)


@contextlib.asynccontextmanager
async def _arms(setup: Setup, cell: str, extra: Mapping[str, Mapping[str, Any]]
                ) -> AsyncIterator[dict[str, Arm]]:
    """Both apps of a cell, started (lifespans entered), with a client each. An arm with
    ``[telemetry] traces`` gets its tracer provider from here (built as the app would build
    it), so that each of its blocks can flush it."""
    from gateway.app import create_app
    from gateway.loop import tune_gc
    from gateway.telemetry.traces import build_provider, shutdown

    async with contextlib.AsyncExitStack() as stack:
        arms: dict[str, Arm] = {}
        for name in CELLS[cell]["arms"]:
            config = _arm_config(setup, cell, name, extra.get(name, {}))
            before = set(threading.enumerate())
            provider = build_provider(config.telemetry)
            if provider is not None:  # shut down after its app (pushed first: popped last)
                stack.push_async_callback(shutdown, provider)
            app = create_app(config, tracer_provider=provider)
            await stack.enter_async_context(app.router.lifespan_context(app))
            trimmer = getattr(app.state, "trimmer", None)
            if trimmer is not None:  # its collections would land in the other arm's block
                trimmer.trim = None
            client = await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://c360",
                headers=setup.credentials, timeout=30))
            arms[name] = Arm(name, config, app, client,
                             provider.force_flush if provider is not None else None,
                             [t for t in threading.enumerate()
                              if t not in before and t.name.startswith(EXPORT_THREAD)])
        tune_gc()
        yield arms


async def _ask(client: httpx.AsyncClient, values: Mapping[str, Any]) -> httpx.Response:
    return await client.post("/graphql", json={"query": S1_QUERY, "variables": values})


async def _prime(arm: Arm, variables: Sequence[Mapping[str, Any]]) -> bytes:
    """Every S1 variable once (catalog indexes, the registry's lookups, the warm arm's cache);
    the last answer's bytes."""
    body = b""
    for values in variables:
        answer = await _ask(arm.client, values)
        if outcome(answer.status_code, answer.content) != "ok":
            raise RuntimeError(f"{arm.name}: priming answered {answer.status_code}: "
                               f"{answer.text[:300]}")
        body = answer.content
    if arm.flush is not None:
        arm.flush()
    return body


async def _block(arm: Arm, silos: Silos, variables: Sequence[Mapping[str, Any]], queries: int,
                 alternation: int, start: int) -> dict[str, Any]:
    """``queries`` S1 queries one at a time: their latencies, the process's CPU over them (and
    over the export of their spans: :attr:`Arm.flush`), the silos' counters around them."""
    gc.collect()
    before = silos.totals()
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    cpu = time.process_time()
    for i in range(queries):
        values = variables[(start + i) % len(variables)]
        started = time.perf_counter()
        answer = await _ask(arm.client, values)
        latencies.append(time.perf_counter() - started)
        outcomes[outcome(answer.status_code, answer.content)] += 1
    if arm.flush is not None:
        arm.flush()
    cpu = time.process_time() - cpu
    after = silos.totals()
    block: dict[str, Any] = {
        "arm": arm.name, "alternation": alternation, "queries": queries, "cpu_s": cpu,
        "latencies_s": latencies, "outcomes": dict(outcomes),
        "upstream": {s: after[s] - before[s] for s in SILOS}}
    breakers = getattr(getattr(arm.app.state, "runtime", None), "breakers", None) or {}
    if "zendesk" in breakers:
        block["breaker"] = breakers["zendesk"].state
    return block


def thread_cpu_s(threads: Sequence[threading.Thread]) -> float:
    """CPU seconds the ``threads`` have run (Linux ``/proc/self/task/<tid>/schedstat``, in
    nanoseconds); 0 for a thread gone or a system without it."""
    total = 0
    for thread in threads:
        try:
            with open(f"/proc/self/task/{thread.native_id}/schedstat", encoding="ascii") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def deep_size(root: Any) -> int:
    """Bytes held by ``root`` and everything it reaches (each object once; classes, modules
    and functions, shared with the rest of the process, not counted)."""
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
            types.MethodType)
    seen: set[int] = set()
    pending = [root]
    total = 0
    while pending:
        obj = pending.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        pending.extend(gc.get_referents(obj))
    return total


def cache_memory(arm: Arm) -> dict[str, Any] | None:
    """What the in-process entity cache of ``arm`` holds: entries (by source and method),
    bytes (:func:`deep_size` of its store), bytes per entry, and that per entry times
    ``max_entries`` (the store full of entries like these). None without an in-process store."""
    runtime = getattr(arm.app.state, "runtime", None)
    store = getattr(getattr(runtime, "cache", None), "store", None)
    items = getattr(store, "_items", None)
    if not items:
        return None
    held = deep_size(items)
    per_entry = held / len(items)
    limit = int(getattr(store, "max_entries", 0))
    return {"entries": len(items), "bytes": held, "bytes_per_entry": round(per_entry),
            "by_method": dict(Counter(f"{s}.{m}" for s, m, _ in items)),
            "max_entries": limit, "full_mb": round(per_entry * limit / 2**20, 1)}


async def _interleaved(arms: Mapping[str, Arm], names: Sequence[str], logs: Logs,
                       variables: Sequence[Mapping[str, Any]], queries: int, block: int
                       ) -> list[dict[str, Any]]:
    """The telemetry cell: the arms take turns QUERY by query (``names`` in order, then
    reversed, …), so that the machine's drift, which moves CPU per query by ±10 % from one
    block of 50 to the next here, falls on all of them alike; read in blocks of ``block``
    queries per arm. A query's CPU is the process's (``time.process_time``) over it, less what
    the export threads ran meanwhile; each arm's export threads' CPU goes to that arm, block by
    block, and so does its provider's last flush (everything its spans cost is counted to it,
    whenever the SDK's thread did it)."""
    exporters = [t for name in names for t in arms[name].exporters]
    phases: list[dict[str, Any]] = []
    exported = {name: thread_cpu_s(arms[name].exporters) for name in names}
    for alternation in range(queries // block):
        gc.collect()
        current = {name: {"arm": name, "alternation": alternation, "queries": 0, "cpu_s": 0.0,
                          "latencies_s": [], "outcomes": Counter(), "upstream": {}}
                   for name in names}
        for i in range(block):
            index = alternation * block + i
            values = variables[(index + TRIP_QUERIES) % len(variables)]
            for name in (names if index % 2 == 0 else list(reversed(names))):
                logs.apply(arms[name].config.telemetry)
                phase = current[name]
                side = thread_cpu_s(exporters)
                cpu = time.process_time()
                started = time.perf_counter()
                answer = await _ask(arms[name].client, values)
                phase["latencies_s"].append(time.perf_counter() - started)
                phase["cpu_s"] += time.process_time() - cpu - (thread_cpu_s(exporters) - side)
                phase["queries"] += 1
                phase["outcomes"][outcome(answer.status_code, answer.content)] += 1
        last = alternation == queries // block - 1
        for name in names:
            arm = arms[name]
            if last and arm.flush is not None:
                side = thread_cpu_s(exporters)
                cpu = time.process_time()
                arm.flush()
                current[name]["cpu_s"] += (time.process_time() - cpu
                                           - (thread_cpu_s(exporters) - side))
            now = thread_cpu_s(arm.exporters)
            current[name]["cpu_s"] += now - exported[name]
            exported[name] = now
            current[name]["outcomes"] = dict(current[name]["outcomes"])
            phases.append(current[name])
    return phases


async def _client_cpu_ms(setup: Setup, body: bytes, queries: int) -> float:
    """CPU per query of the in-process client alone: the same requests, through the same
    transport, to a stub app answering ``body``."""
    async def stub(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stub),
                                 base_url="http://c360", headers=setup.credentials) as client:
        gc.collect()
        cpu = time.process_time()
        for i in range(queries):
            answer = await _ask(client, setup.variables[i % len(setup.variables)])
            outcome(answer.status_code, answer.content)
        return (time.process_time() - cpu) / queries * 1000


async def measure_cell(setup: Setup, silos: Silos, logs: Logs, cell: str,
                       sizes: Sizes) -> dict[str, Any]:
    feature = CELLS[cell]["feature"]
    started = time.monotonic()
    extra: dict[str, dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        sink = None
        if cell == "telemetry" and (traces := tracing_overlay(True)):
            extra[feature] = {"telemetry": traces}
            extra[ALL_TRACED] = {"telemetry": tracing_overlay(True, 1.0)}
            extra[CELLS[cell]["baseline"]] = {"telemetry": tracing_overlay(False)}
            sink = stack.enter_context(otlp_sink())
            stack.enter_context(environment(
                {**TRACE_ENV, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{sink}/v1/traces"}))
        result = await _measure_cell(setup, silos, logs, cell, sizes, extra)
        if sink is not None:  # after the providers' shutdown: everything exported
            with httpx.Client(trust_env=False, timeout=5) as http:
                result["traces_exported"] = http.get(f"{sink}/stats").json()
    if cell == "telemetry":
        result["telemetry_on"] = telemetry_on(result.pop("traced"),
                                              result.get("traces_exported"),
                                              result.pop("sample_ratio", None))
    else:
        result.pop("traced")
        result.pop("sample_ratio", None)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


async def _measure_cell(setup: Setup, silos: Silos, logs: Logs, cell: str, sizes: Sizes,
                        extra: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    spec = CELLS[cell]
    baseline, feature = spec["baseline"], spec["feature"]
    block, rounds = sizes.block(cell), sizes.rounds[cell]
    result: dict[str, Any] = {"title": spec["title"], "profile": spec["profile"],
                              "down": list(spec["down"]), "baseline": baseline,
                              "feature": feature, "block": block, "rounds": rounds,
                              "settings": {a: overlay(o, extra.get(a, {}))
                                           for a, o in spec["arms"].items()}}
    async with _arms(setup, cell, extra) as arms:
        quiet = replace(arms[baseline].config.telemetry, log_level="warning")
        result["traced"] = arms[feature].flush is not None
        result["sample_ratio"] = getattr(arms[feature].config.telemetry, "trace_sample_ratio",
                                         None)
        result["telemetry"] = {name: dataclasses.asdict(arm.config.telemetry)
                               for name, arm in arms.items()}
        if cell == "telemetry" and arms[baseline].flush is not None:
            raise RuntimeError("the telemetry cell's off arm is traced")

        def prepare(arm: str) -> None:
            logs.apply(arms[arm].config.telemetry if cell == "telemetry" else quiet)

        silos.set("0ms")
        body = b""
        for name in arms:
            prepare(name)
            body = await _prime(arms[name], setup.variables)
        if cell == "cache":
            result["cache_memory"] = cache_memory(arms[feature])
        silos.set(spec["profile"], spec["down"])
        if spec["down"]:  # the trip: reported apart
            trip = {}
            for name in (baseline, feature):
                prepare(name)
                found = await _block(arms[name], silos, setup.variables, TRIP_QUERIES, -1, 0)
                trip[name] = {"queries": TRIP_QUERIES, "upstream": found["upstream"],
                              "outcomes": found["outcomes"],
                              **({"breaker": found["breaker"]} if "breaker" in found else {})}
            result["trip"] = trip
        client_ms: list[float] = []
        if cell == "telemetry":
            client_ms.append(await _client_cpu_ms(setup, body, 200))
        blocks = []
        if cell == "telemetry":
            blocks = await _interleaved(arms, list(arms), logs, setup.variables,
                                        rounds * block, block)
        for alternation in range(rounds if cell != "telemetry" else 0):
            for name in order(alternation, baseline, feature):
                prepare(name)
                blocks.append(await _block(arms[name], silos, setup.variables, block,
                                           alternation, alternation * block + TRIP_QUERIES))
        if cell == "telemetry":
            client_ms.append(await _client_cpu_ms(setup, body, 200))
    silos.set("0ms")
    arms_summary = {name: summarize(blocks, name) for name in spec["arms"]}
    a, b = arms_summary[baseline], arms_summary[feature]
    pairs = {"p50": pair_ratios(blocks, baseline, feature, phase_p50_ms),
             "cpu": pair_ratios(blocks, baseline, feature, phase_cpu_ms)}
    result.update({
        "arms": arms_summary,
        "ratios": {"p50": ratio(b.get("p50_ms"), a.get("p50_ms")),
                   "cpu": ratio(b.get("cpu_ms"), a.get("cpu_ms"))},
        "pair_ratios": pairs,
        "pair_spread": {k: spread(v) for k, v in pairs.items()},
        "blocks": [compact(p) for p in blocks],
    })
    if cell == "telemetry":
        client = statistics.fmean(client_ms)
        gateway = {name: round(s["cpu_ms"] - client, 3) for name, s in arms_summary.items()}
        result.update({"client_cpu_ms": round(client, 3), "client_cpu_ms_each": [
            round(x, 3) for x in client_ms], "gateway_cpu_ms": gateway})
        result["ratios"]["gateway_cpu"] = ratio(gateway[feature], gateway[baseline])
        if spec.get("extra") in arms_summary:
            name = spec["extra"]
            pairs = pair_ratios(blocks, baseline, name, phase_cpu_ms)
            result["extra"] = {"arm": name, "cpu": ratio(arms_summary[name]["cpu_ms"],
                                                         a.get("cpu_ms")),
                               "gateway_cpu": ratio(gateway[name], gateway[baseline]),
                               "pair_spread": spread(pairs)}
    return result


def _spread_text(found: Mapping[str, Any], metric: str) -> str:
    s = (found.get("pair_spread") or {}).get(metric)
    return "–" if not s else (f"median {s['median']:.3f}×, quartiles {s['q1']:.3f}–"
                              f"{s['q3']:.3f}×, mean {s['mean']:.3f}× ± {s['two_se']:.3f}")


def describe(cell: str, found: Mapping[str, Any]) -> list[str]:
    """Log lines of one measured cell."""
    lines = []
    for name in found["arms"]:
        s = found["arms"][name]
        up = " · ".join(f"{k} {v:.2f}" for k, v in s["upstream"].items())
        lines.append(f"  {name:<10} p50 {s['p50_ms']:7.2f} ms, CPU {s['cpu_ms']:6.2f} ms/query, "
                     f"silo requests/query {up}, answers {s['outcomes']}")
    r = found["ratios"]
    line = (f"  {found['feature']} / {found['baseline']}: p50 {r['p50']}×, CPU {r['cpu']}× "
            f"(per round: CPU {_spread_text(found, 'cpu')}; p50 {_spread_text(found, 'p50')})")
    if cell == "telemetry":
        line += (f"; client {found['client_cpu_ms']:.2f} ms/query subtracted: gateway CPU "
                 f"{found['gateway_cpu_ms'][found['baseline']]:.2f} → "
                 f"{found['gateway_cpu_ms'][found['feature']]:.2f} ms = "
                 f"{r['gateway_cpu']}× ({found['telemetry_on']})")
    lines.append(line)
    if found.get("extra"):
        x = found["extra"]
        spread_x = x.get("pair_spread") or {}
        lines.append(f"  {x['arm']} / {found['baseline']} (shown, not judged): CPU {x['cpu']}×, "
                     f"gateway {x['gateway_cpu']}× (per round median "
                     f"{spread_x.get('median', '–')}×)")
    if found.get("cache_memory"):
        from bench.report import cache_memory_text

        lines.append("  " + cache_memory_text(found["cache_memory"]))
    if "trip" in found:
        lines.append("  trip: " + "; ".join(
            f"{name}: {t['upstream'].get('zendesk', 0)} Zendesk requests over {t['queries']} "
            f"queries" + (f", breaker {t['breaker']}" if "breaker" in t else "")
            for name, t in found["trip"].items()))
    return lines


async def measure(setup: Setup, sizes: Sizes, only: Sequence[str] = ()) -> dict[str, Any]:
    """The three cells (module doc), or the ``only`` ones; the silos left at 0 ms, none
    down."""
    started = time.monotonic()
    silos = Silos(setup.silos)
    logs = Logs()
    cells: dict[str, Any] = {}
    try:
        for cell in [c for c in CELLS if not only or c in only]:
            spec = CELLS[cell]
            log(f"operations: {spec['title']} ({spec['profile']} silos"
                + "".join(f", {s} down" for s in spec["down"])
                + f"), {sizes.rounds[cell]} rounds of a {sizes.block(cell)}-query block per arm")
            cells[cell] = await measure_cell(setup, silos, logs, cell, sizes)
            for line in describe(cell, cells[cell]):
                log(line)
            log(f"  ({cells[cell]['seconds']:.1f}s)")
    finally:
        try:
            silos.set("0ms")
        finally:
            silos.close()
            logs.close()
    return {"meta": {"rounds": sizes.rounds, "blocks": BLOCKS,
                     "cpu": "time.process_time of the process: the gateway and its in-process "
                            "client (silos in their own process)",
                     "python": sys.version.split()[0], "cores": os.cpu_count(),
                     "run_seconds": round(time.monotonic() - started, 1)},
            "cells": cells}


def run_measure(setup: Setup, sizes: Sizes, only: Sequence[str] = ()) -> dict[str, Any]:
    from gateway.loop import run as run_loop

    found: dict[str, Any] = run_loop(measure(setup, sizes, only))
    return found


def attach() -> None:
    """``--attach``: measure over a running sandbox described on stdin (``python -m bench``);
    progress on stderr, the results as one JSON object on stdout."""
    spec = json.loads(sys.stdin.read())
    setup = Setup(Path(spec["config"]), spec["silos"], spec["variables"], spec["credentials"])
    sizes = Sizes.of(spec.get("queries"), bool(spec.get("quick")))
    with contextlib.redirect_stdout(sys.stderr):
        found = run_measure(setup, sizes)
    print(json.dumps(found))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.operations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=None,
                        help=f"queries per arm of the telemetry cell (default "
                             f"{DEFAULT_QUERIES}; the cache cell: a quarter, the breaker "
                             "cell: a sixth)")
    parser.add_argument("--quick", action="store_true", help="half the queries")
    parser.add_argument("--cells", default="", help=f"only these cells, comma-separated "
                        f"({', '.join(CELLS)}; default all)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--base-port", type=int, default=18700)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--attach", action="store_true",
                        help="(python -m bench) a running sandbox's spec on stdin, JSON out")
    parser.add_argument("--otlp-sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.otlp_sink:
        serve_sink()
        return
    if args.attach:
        attach()
        return
    from bench import report, targets

    started = time.monotonic()
    sizes = Sizes.of(args.queries, args.quick)
    only = [c.strip() for c in args.cells.split(",") if c.strip()]
    if unknown := [c for c in only if c not in CELLS]:
        parser.error(f"no cell {', '.join(unknown)} (cells: {', '.join(CELLS)})")
    with sandboxed(args.customers, args.base_port, "c360-operations-") as run:
        setup = Setup(run.config_path, {s: run.silo_url(s) for s in SILOS},
                      run.variables["S1"], run.credentials)
        found = run_measure(setup, sizes, only)
    found["meta"]["total_seconds"] = round(time.monotonic() - started, 1)
    if args.json is not None:
        args.json.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    results = {"operations": found}
    print("\n".join(report.operations_section(results)))
    print()
    print(report.render_checklist(targets.issue14_checks(results)))
    log(f"run time {found['meta']['total_seconds']:.0f} s (measuring "
        f"{found['meta']['run_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
