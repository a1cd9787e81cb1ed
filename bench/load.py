"""The load generator: one contestant, one scenario, in its own process.

``python -m bench.load < spec.json`` prints one JSON object on stdout. The spec names a target
and the phases to run, in order, over one client (so a later phase starts warm):

- target ``{"kind": "graphql", "url": "http://127.0.0.1:…/graphql", "query": "…",
  "variables": [{…}, …]}`` (variables are used round-robin), or ``{"kind": "direct",
  "scenario": "S1" | "S2", "config": "…/c360.toml", "variables": [{"email": …}, …]}`` — the
  direct contestant (:mod:`bench.direct`) runs inside this process as the "request";
- phases, each one of:

  - ``{"mode": "closed", "concurrency": C, "warmup_s", "duration_s", "max_requests"}``: C
    workers each sending the next request when the previous answers (C = 1: the latency run);
  - ``{"mode": "open", "concurrency": C, "rate": R | "rate_factor": F, "warmup_s",
    "duration_s", "max_requests"}``: Poisson arrivals at R/s (or F × the previous phase's
    complete answers/s), at most C in flight (C = 0: no cap, every arrival is sent when due —
    the overload run); an arrival that finds C in flight waits, and its latency is measured
    from when it should have been sent (no coordinated omission);
  - ``{"mode": "count", "warmup_requests": W, "requests": K, "silos": {name: url}}``: W
    requests, then ``POST /_sandbox/reset`` on each silo, K requests one at a time, then
    ``GET /_sandbox/stats``: upstream requests per query per source and endpoint (the reset
    also clears faults: run it with the 0 ms profile).

  A closed or open phase with ``"silos": {name: url}`` also reports ``upstream``: each silo's
  request counter (``GET /_sandbox/stats``, no reset) after the phase minus before it.

GraphQL requests go through aiohttp, over at most ``max_connections`` (``"client": "httpx"``
in the spec: through httpx). The load generator shares the machine's cores with the contestant
and must cost it as little as it can: httpx's pool costs time that grows with the requests in
flight, and with 50 callers the httpx client was the bottleneck of cheap scenarios (S3 at 0 ms:
199 answers/s through it, 587 through aiohttp, same server, same hour).

Every phase is bounded in time (warm-up + duration, then at most ``timeout_s`` for what is in
flight) and in requests (``max_requests``). Only ``127.0.0.1`` is ever called. Each request is
``ok``, ``partial`` (a GraphQL answer with ``data`` and ``errors``, or a direct answer missing a
silo) or ``failed`` (HTTP error, no ``data``, timeout, exception); latencies are of ok and
partial answers. Results: p50/p95/p99/max in ms, req/s achieved, counts and error kinds;
``partial_causes`` (each ``CODE:source`` of the partial answers' errors, counted once per
answer) and ``failed_kinds``; refusals (HTTP 503 ``OVERLOADED``: :data:`REFUSED`) counted apart
with their own latencies, and every other request's latency (answers, cut answers, timeouts) as
``accepted_*``: what the budget bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import orjson

Outcome = tuple[str, str | None]
"""(``ok`` | ``partial`` | ``failed``, error kind or None)."""
Call = Callable[[int], Awaitable[Outcome]]

REFUSED = "http 503 OVERLOADED"
"""The error kind of a request the gateway refused at admission (no answer attempted)."""
ALLOWED_HOSTS = {"127.0.0.1"}
DEFAULT_TIMEOUT_S = 10.0
HARD_MAX_REQUESTS = 200_000
HARD_MAX_SECONDS = 600.0


def check_local(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in ALLOWED_HOSTS:
        raise SystemExit(f"bench.load: refusing to call {host!r}: only 127.0.0.1 targets")
    return url


def classify_graphql(status: int, content: bytes) -> Outcome:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return "failed", f"http {status} (not JSON)"
    if not isinstance(body, dict):
        return "failed", f"http {status} (not an object)"
    errors = body.get("errors") or []
    if status != 200 or body.get("data") is None:
        code = _error_code(errors[0]) if errors else None
        return "failed", f"http {status}" + (f" {code}" if code else "")
    if errors:
        codes = sorted({_error_code(e) or "error" for e in errors})
        return "partial", ",".join(codes)
    return "ok", None


def _error_code(error: Any) -> str | None:
    if isinstance(error, dict):
        ext = error.get("extensions") or {}
        code = ext.get("code")
        source = ext.get("source")
        if code:
            return f"{code}:{source}" if source else str(code)
    return None


def is_refusal(outcome: Outcome) -> bool:
    """A 503 ``OVERLOADED``: refused at admission."""
    return outcome[0] == "failed" and outcome[1] == REFUSED


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


class Recorder:
    """Requests of one phase: those started (or due) inside the measured window give the
    latencies and counts; every answer (not failed) received inside the window, the req/s
    (complete ones, the ``ok_rps``). Refusals (:func:`is_refusal`) keep their own latencies;
    every other request is *accepted*: its latency, answered or not, is what the budget
    bounds, and ``accepted_total`` counts them over the whole phase, warm-up included."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.partial_causes: Counter[str] = Counter()
        self.failed_kinds: Counter[str] = Counter()
        self.refusals: list[float] = []
        self.accepted: list[float] = []
        self.answered: list[float] = []
        self.complete: list[float] = []
        self.completed_total = 0
        self.accepted_total = 0
        self.refused_total = 0
        self.unfinished = 0

    def add(self, measured: bool, latency: float, outcome: Outcome, done_at: float) -> None:
        self.completed_total += 1
        if outcome[0] != "failed":
            self.answered.append(done_at)
        if outcome[0] == "ok":
            self.complete.append(done_at)
        self._count(measured, latency, outcome)

    def add_unfinished(self, measured: bool, waited: float) -> None:
        """A request still without an answer when the phase gave up on it (cancelled)."""
        self.unfinished += measured
        self._count(measured, waited, ("failed", "unfinished"))

    def _count(self, measured: bool, latency: float, outcome: Outcome) -> None:
        refused = is_refusal(outcome)
        self.refused_total += refused
        self.accepted_total += not refused
        if not measured:
            return
        status, kind = outcome
        self.outcomes[status] += 1
        if kind:
            self.kinds[kind] += 1
        if status == "partial" and kind:
            self.partial_causes.update(kind.split(","))
        elif status == "failed":
            self.failed_kinds[kind or "failed"] += 1
        (self.refusals if refused else self.accepted).append(latency)
        if status != "failed":
            self.latencies.append(latency)

    def stats(self, window_start: float, window_end: float, **extra: Any) -> dict[str, Any]:
        lat = sorted(x * 1000 for x in self.latencies)
        duration = max(window_end - window_start, 1e-9)
        return {
            **extra,
            "requests": sum(self.outcomes.values()),
            "ok": self.outcomes["ok"], "partial": self.outcomes["partial"],
            "failed": self.outcomes["failed"],
            "error_kinds": dict(self.kinds.most_common(8)),
            "partial_causes": dict(self.partial_causes.most_common(8)),
            "failed_kinds": dict(self.failed_kinds.most_common(8)),
            "p50_ms": _round(percentile(lat, 50)), "p95_ms": _round(percentile(lat, 95)),
            "p99_ms": _round(percentile(lat, 99)), "max_ms": _round(lat[-1] if lat else None),
            "mean_ms": _round(sum(lat) / len(lat) if lat else None),
            "rps": round(_within(self.answered, window_start, window_end) / duration, 2),
            "ok_rps": round(_within(self.complete, window_start, window_end) / duration, 2),
            "duration_s": round(duration, 3),
            "completed_total": self.completed_total,
            **_latency_stats("refused", self.refusals),
            **_latency_stats("accepted", self.accepted),
            "refused_total": self.refused_total, "accepted_total": self.accepted_total,
            "unfinished": self.unfinished,
        }


def _within(times: list[float], start: float, end: float) -> int:
    return sum(1 for t in times if start <= t <= end)


def _latency_stats(name: str, seconds: list[float]) -> dict[str, Any]:
    """``{name}``: how many, and their p50/p99/max in ms (None when there are none)."""
    ms = sorted(x * 1000 for x in seconds)
    return {name: len(ms), f"{name}_p50_ms": _round(percentile(ms, 50)),
            f"{name}_p99_ms": _round(percentile(ms, 99)),
            f"{name}_max_ms": _round(ms[-1] if ms else None)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def closed_loop(call: Call, concurrency: int, warmup_s: float, duration_s: float,
                      max_requests: int, timeout_s: float, min_requests: int = 0,
                      max_duration_s: float = 0.0, warmup_requests: int = 0) -> dict[str, Any]:
    """``concurrency`` workers, each sending its next request when the previous one answers.

    The measured window opens at the first answer after ``warmup_s`` once ``warmup_requests``
    answers came back (with 50 heavy requests in flight the first ones take a while: the
    window must not start before the pipeline is full), and closes ``duration_s`` later —
    or, while fewer than ``min_requests`` were measured, later (slow profiles), never past
    ``max_duration_s`` from the start. Latencies and counts: requests sent inside the window
    (each is awaited). Req/s by Little's law over those requests: concurrency / mean time per
    request, times the share answered (``ok_rps``: the share complete) — counting answers
    inside the window would be wrong when 50 equal requests share the CPU and come back in
    waves longer than the window."""
    now = time.perf_counter
    start = now()
    hard_end = start + max(warmup_s + duration_s, max_duration_s)
    window: list[float] = []  # [opened, closes]
    samples: list[tuple[float, float, Outcome]] = []
    issued_until: list[float] = []
    counter = itertools.count()

    def measured() -> int:
        return sum(1 for sent, _, _ in samples if window and sent >= window[0])

    def maybe_open(t: float) -> None:
        if not window and t >= start + warmup_s and len(samples) >= warmup_requests:
            window[:] = [t, min(t + duration_s, hard_end)]

    maybe_open(start)

    async def worker() -> None:
        while True:
            sent = now()
            if sent >= hard_end or (window and sent >= window[1] and
                                    measured() >= min_requests):
                if not issued_until:
                    issued_until.append(sent)
                return
            i = next(counter)
            if i >= max_requests:
                if not issued_until:
                    issued_until.append(sent)
                return
            outcome = await _bounded(call(i), timeout_s)
            done = now()
            samples.append((sent, done, outcome))
            maybe_open(done)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    opened = window[0] if window else hard_end
    closed = max(issued_until[0] if issued_until else now(), opened)
    rec = Recorder()
    for sent, done, outcome in samples:
        rec.add(sent >= opened, done - sent, outcome, done)
    stats = rec.stats(opened, closed, mode="closed", concurrency=concurrency)
    times = [done - sent for sent, done, _ in samples if sent >= opened]
    answered = sum(1 for sent, _, o in samples if sent >= opened and o[0] != "failed")
    complete = sum(1 for sent, _, o in samples if sent >= opened and o[0] == "ok")
    per_request = sum(times) / len(times) if times else 0.0
    stats["rps"] = round(concurrency / per_request * answered / len(times), 2) if times else 0.0
    stats["ok_rps"] = (round(concurrency / per_request * complete / len(times), 2)
                       if times else 0.0)
    return stats


async def open_loop(call: Call, concurrency: int, rate: float, warmup_s: float,
                    duration_s: float, max_requests: int, timeout_s: float,
                    seed: int, min_arrivals: int = 0,
                    max_duration_s: float = 0.0) -> dict[str, Any]:
    """Poisson arrivals at ``rate``/s for ``warmup_s`` + ``duration_s`` (longer, up to
    ``max_duration_s``, when that window would hold fewer than ``min_arrivals`` on average),
    at most ``concurrency`` in flight (0: no cap). ``peak_in_flight``: the most at once;
    ``client_wait_*``: from a request's due time to its sending (a slot; with no cap, this
    process's own lag — the load generator falling behind)."""
    if min_arrivals and rate > 0:
        duration_s = max(duration_s, min(min_arrivals / rate, max_duration_s - warmup_s))
    now = time.perf_counter
    rec = Recorder()
    rng = random.Random(seed)
    gate: contextlib.AbstractAsyncContextManager[Any] = (
        asyncio.Semaphore(concurrency) if concurrency > 0 else contextlib.nullcontext())
    in_flight = [0, 0]  # now, peak
    start = now()
    warm_end = start + warmup_s
    end = warm_end + duration_s
    arrivals: list[float] = []
    t = start
    while len(arrivals) < max_requests:
        t += rng.expovariate(rate)
        if t >= end:
            break
        arrivals.append(t)

    waits: list[float] = []

    async def one(i: int, due: float) -> None:
        async with gate:
            if due >= warm_end:
                waits.append(now() - due)
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            try:
                outcome = await _bounded(call(i), timeout_s)
            finally:
                in_flight[0] -= 1
        done = now()
        rec.add(due >= warm_end, done - due, outcome, done)

    tasks: dict[asyncio.Task[None], float] = {}
    for i, due in enumerate(arrivals):
        delay = due - now()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks[asyncio.create_task(one(i, due))] = due
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, end - now()) + timeout_s)
        for task in pending:
            task.cancel()
            rec.add_unfinished(tasks[task] >= warm_end, now() - tasks[task])
        await asyncio.gather(*pending, return_exceptions=True)
    return rec.stats(warm_end, end, mode="open", concurrency=concurrency,
                     rate_offered=round(rate, 2), peak_in_flight=in_flight[1],
                     **_latency_stats("client_wait", waits))


async def _bounded(awaitable: Awaitable[Outcome], timeout_s: float) -> Outcome:
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except TimeoutError:
        return "failed", "timeout"
    except httpx.TimeoutException:
        return "failed", "timeout"
    except httpx.HTTPError as exc:
        return "failed", type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - any failure of a request is a failed request
        return "failed", type(exc).__name__


async def count_upstream(call: Call, client: httpx.AsyncClient, silos: dict[str, str],
                         warmup_requests: int, requests: int,
                         timeout_s: float) -> dict[str, Any]:
    for i in range(warmup_requests):
        await _bounded(call(i), timeout_s)
    for url in silos.values():
        (await client.post(check_local(url) + "/_sandbox/reset")).raise_for_status()
    outcomes: Counter[str] = Counter()
    for i in range(requests):
        status, _ = await _bounded(call(warmup_requests + i), timeout_s)
        outcomes[status] += 1
    per_source: dict[str, Any] = {}
    for name, url in silos.items():
        stats = (await client.get(url + "/_sandbox/stats")).json()
        per_source[name] = {
            "per_query": round(stats["total"] / max(requests, 1), 3),
            "endpoints": {k: round(v / max(requests, 1), 3)
                          for k, v in sorted(stats["endpoints"].items())},
        }
    return {"mode": "count", "requests": requests, "outcomes": dict(outcomes),
            "upstream": per_source}


async def silo_totals(client: httpx.AsyncClient, silos: dict[str, str]) -> dict[str, int]:
    """Each silo's vendor request counter (``GET /_sandbox/stats``), without resetting it."""
    totals = {}
    for name, url in silos.items():
        response = await client.get(check_local(url) + "/_sandbox/stats")
        response.raise_for_status()
        totals[name] = int(response.json()["total"])
    return totals


async def build_call(target: dict[str, Any], client: httpx.AsyncClient,
                     spec: dict[str, Any] | None = None
                     ) -> tuple[Call, Callable[[], Awaitable[None]]]:
    """The request of the target, and what closes it. A GraphQL target goes through an aiohttp
    session of ``max_connections`` connections, or with ``"client": "httpx"`` in the spec
    through ``client`` (module doc)."""
    variables: list[dict[str, Any]] = target.get("variables") or [{}]
    spec = spec or {}
    if target["kind"] == "graphql":
        url = check_local(target["url"])
        query = target["query"]
        bodies = [orjson.dumps({"query": query, "variables": v}) for v in variables]
        headers = {"content-type": "application/json", "accept": "application/json",
                   **(target.get("headers") or {})}
        if spec.get("client", "aiohttp") == "aiohttp":
            return _aiohttp_call(url, bodies, headers, int(spec.get("max_connections", 256)),
                                 float(spec.get("timeout_s", DEFAULT_TIMEOUT_S)))

        async def graphql(i: int) -> Outcome:
            response = await client.post(url, content=bodies[i % len(bodies)],
                                         headers=headers)
            return classify_graphql(response.status_code, response.content)

        async def nothing() -> None:
            return None

        return graphql, nothing
    if target["kind"] == "direct":
        from bench.direct import DirectClient

        direct = DirectClient.from_config(target["config"], check_url=check_local)
        await direct.start()
        scenario = target["scenario"]

        async def direct_call(i: int) -> Outcome:
            result = await direct.run(scenario, variables[i % len(variables)])
            if result.get("failed_sources"):
                return "partial", ",".join(sorted(result["failed_sources"]))
            return "ok", None

        return direct_call, direct.close
    raise SystemExit(f"bench.load: unknown target kind {target['kind']!r}")


async def run_phase(call: Call, client: httpx.AsyncClient, phase: dict[str, Any],
                    timeout_s: float, previous_rps: float | None) -> dict[str, Any]:
    """One phase of the spec (see the module's docstring); ``previous_rps``: the complete
    answers/s of the phase before, for ``rate_factor``."""
    mode = phase["mode"]
    max_requests = min(int(phase.get("max_requests", 10_000)), HARD_MAX_REQUESTS)
    warmup_s = float(phase.get("warmup_s", 0.0))
    duration_s = float(phase.get("duration_s", 5.0))
    max_duration_s = min(float(phase.get("max_duration_s", 0.0)), HARD_MAX_SECONDS)
    if warmup_s + duration_s > HARD_MAX_SECONDS:
        raise SystemExit("bench.load: a phase may last at most 600 s")
    if mode == "count":
        return await count_upstream(call, client, phase["silos"],
                                    int(phase.get("warmup_requests", 3)),
                                    min(int(phase.get("requests", 20)), 1000), timeout_s)
    silos: dict[str, str] = phase.get("silos") or {}
    before = await silo_totals(client, silos)
    cpu0, wall0 = _cpu_s(), time.monotonic()
    if mode == "closed":
        out = await closed_loop(call, int(phase.get("concurrency", 1)), warmup_s, duration_s,
                                max_requests, timeout_s, int(phase.get("min_requests", 0)),
                                max_duration_s, int(phase.get("warmup_requests", 0)))
    elif mode == "open":
        rate = phase.get("rate")
        if rate is None:  # a share of the previous phase's complete answers/s
            rate = float(phase.get("rate_factor", 0.75)) * (previous_rps or 0)
        rate = max(float(rate), float(phase.get("min_rate", 0.5)))
        out = await open_loop(call, int(phase.get("concurrency", 50)), rate, warmup_s,
                              duration_s, max_requests, timeout_s, int(phase.get("seed", 1)),
                              int(phase.get("min_arrivals", 0)), max_duration_s)
    else:
        raise SystemExit(f"bench.load: unknown mode {mode!r}")
    out["client_cpu_s"] = round(_cpu_s() - cpu0, 3)
    out["wall_s"] = round(time.monotonic() - wall0, 3)
    if silos:
        after = await silo_totals(client, silos)
        out["upstream"] = {name: after[name] - before[name] for name in silos}
    return out


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _aiohttp_call(url: str, bodies: list[bytes], headers: dict[str, str], connections: int,
                  timeout_s: float) -> tuple[Call, Callable[[], Awaitable[None]]]:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=timeout_s), trust_env=False)

    async def graphql(i: int) -> Outcome:
        async with session.post(url, data=bodies[i % len(bodies)], headers=headers) as response:
            return classify_graphql(response.status, await response.read())

    return graphql, session.close


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    timeout_s = float(spec.get("timeout_s", DEFAULT_TIMEOUT_S))
    max_connections = int(spec.get("max_connections", 256))
    limits = httpx.Limits(max_connections=max_connections,
                          max_keepalive_connections=max_connections)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits, trust_env=False) as client:
        call, close = await build_call(spec["target"], client, spec)
        results: dict[str, Any] = {}
        previous_rps: float | None = None
        try:
            for n, phase in enumerate(spec["phases"]):
                out = await run_phase(call, client, phase, timeout_s, previous_rps)
                previous_rps = out.get("ok_rps", out.get("rps", previous_rps))
                results[phase.get("name", f"phase{n}")] = out
        finally:
            await close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"phases": results, "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "client_maxrss_kb": usage.ru_maxrss,
            "wall_s": round(time.monotonic() - started, 3)}


def time_bound(spec: dict[str, Any]) -> float:
    """The longest this process may run: every phase's own bound, plus start-up slack."""
    timeout_s = float(spec.get("timeout_s", DEFAULT_TIMEOUT_S))
    total = 30.0
    for phase in spec["phases"]:
        if phase["mode"] == "count":
            total += (int(phase.get("warmup_requests", 3)) + int(phase.get("requests", 20))
                      ) * timeout_s + 5
        else:
            total += max(float(phase.get("warmup_s", 0)) + float(phase.get("duration_s", 5)),
                         float(phase.get("max_duration_s", 0))) + timeout_s + 5
    return min(total, HARD_MAX_SECONDS * 2)


def _overtime(signum: int, frame: Any) -> None:
    sys.stderr.write("bench.load: over its time bound, stopping\n")
    sys.stderr.flush()
    os._exit(3)


def main() -> None:
    spec = json.loads(sys.stdin.read())
    signal.signal(signal.SIGALRM, _overtime)
    signal.alarm(int(time_bound(spec)) + 1)
    from gateway.loop import run as run_loop

    result = run_loop(run(spec))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
