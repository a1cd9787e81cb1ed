"""Prometheus metrics (``GET /metrics``, prometheus-client's text format).

- ``c360_requests_total{operation, outcome}``: GraphQL requests by how they ended
  (:data:`OUTCOMES`);
- ``c360_request_duration_seconds{operation}``: from arrival to the answer's last byte;
- ``c360_requests_in_flight``: GraphQL requests being answered now;
- ``c360_admission_refusals_total{reason}``: refused at capacity — ``full``, ``wait``,
  ``budget``, ``late`` (:mod:`gateway.admission`);
- ``c360_upstream_requests_total{source, status}``: every call to a silo, retries included —
  its HTTP status, ``timeout`` or ``unreachable``; ``ok`` or ``error`` for a SQL statement;
- ``c360_upstream_duration_seconds{source}``: a call's time to its response headers (SQL: the
  statement's).
- ``c360_batch_size{source, method}``: keys per DataLoader batch (one batched read of a source;
  ``registry`` for the identity registry's);
- ``c360_cache_requests_total{source, method, result}``: keys the entity cache served fresh
  (``hit``), sent to the source (``miss``) or served stale when the source failed (``stale``);
- ``c360_breaker_state{source}``: 0 closed, 1 half-open (probing), 2 open (several workers: the
  highest); ``c360_breaker_transitions_total{source, state}``: how often each source's breaker
  moved to each state.

``operation`` is the GraphQL operation name when it is a plain name (``[A-Za-z_][A-Za-z0-9_]*``,
at most 64 characters), ``anonymous`` without one, ``unknown`` for a request refused before it
was read (shed at capacity, unauthenticated, rate-limited); after :data:`MAX_OPERATIONS`
distinct names a worker labels new ones ``other``, so a client cannot grow the series without
bound.

**Several workers** (``c360 serve --workers N``): prometheus-client's multiprocess mode. The
serving command points ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before the workers
start (or wipes the one given); each worker writes its values there and any worker's
``/metrics`` answers the sum of all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from bisect import bisect_left
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from gateway.loop import running
from resolvers.principal import Principal

FORBIDDEN = orjson.dumps({"errors": [{"message": "the metrics need the metrics:read scope",
                                      "extensions": {"code": "FORBIDDEN"}}]})
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATIONS = 200
_OPERATION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
OUTCOMES = ("ok", "partial", "error", "invalid", "unauthenticated", "forbidden",
            "rate_limited", "overloaded", "budget_exceeded", "unavailable", "internal")
"""``ok``: data, no error; ``partial``: data and errors (a source failed); ``error``: errors
only; ``invalid``: the request or document was refused (4xx); ``overloaded``: refused at
capacity (503); ``budget_exceeded``: cut at its budget (504); ``unavailable``: another 503
(the audit log or the token keys could not be reached); ``internal``: a 500."""
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
BREAKER_LEVELS = {"closed": 0, "half_open": 1, "open": 2}
FOLD_S = 1.0
"""How often a worker folds its tallies into its metrics (:func:`folding`): how far behind
the other workers' values may be in a scrape answered by one of them."""
UPSTREAM_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200)

CALLED: ContextVar[set[str] | None] = ContextVar("c360_sources_called", default=None)
"""The sources a request called (its log line's ``sources``): set by the request middleware,
added to by the observed transports and engines (:mod:`gateway.telemetry.upstream`)."""


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def operation_label(name: str | None) -> str:
    """``unknown`` for a request refused before it was read, ``anonymous`` for an operation
    without a name, else the name when it is a plain one (``other`` otherwise)."""
    if name is None:
        return "unknown"
    if not name:
        return "anonymous"
    return name if _OPERATION.fullmatch(name) else "other"


class Tally:
    """What the request path adds to one counter or histogram, kept in plain dicts (a float,
    or a sum and bucket counts, per label values) until :meth:`fold` moves it into the metric.

    prometheus-client takes a lock, checks the labels and, with several workers, writes to a
    memory-mapped file on every increment; a query makes some forty of them (its silo calls,
    batches and cache reads), which cost more CPU than all its spans' sampling. Here each is a
    dict update, and a fold (a few times a second at most) does one increment per label set
    and bucket. A histogram's fold adds to the buckets and sum the child holds
    (``_buckets``, ``_sum``: prometheus-client has no public call to add several
    observations; ``tests/gateway/telemetry/test_metrics.py`` reads them back through the
    exposition)."""

    def __init__(self, metric: Counter | Histogram, buckets: tuple[float, ...] | None = None
                 ) -> None:
        self.metric = metric
        self.bounds = buckets
        self.pending: dict[tuple[str, ...], Any] = {}

    def add(self, labels: tuple[str, ...], amount: float) -> None:
        """Count ``amount`` (a counter) or observe it (a histogram) under ``labels``."""
        bounds = self.bounds
        if bounds is None:
            self.pending[labels] = self.pending.get(labels, 0.0) + amount
            return
        found = self.pending.get(labels)
        if found is None:
            found = self.pending[labels] = [0.0] * (len(bounds) + 2)
        found[0] += amount
        found[1 + bisect_left(bounds, amount)] += 1

    def fold(self) -> None:
        pending, self.pending = self.pending, {}
        for labels, found in pending.items():
            child: Any = self.metric.labels(*labels)
            if self.bounds is None:
                child.inc(found)
            else:
                _observe_many(child, found)


class TimedTally:
    """A counter and a histogram of the same events in one :class:`Tally`-like dict: each
    event counted under ``labels`` (``source, status``) and its duration observed under the
    first ``len(labels) - 1`` of them (``source``) — one update where two would be."""

    def __init__(self, counter: Counter, histogram: Histogram, buckets: tuple[float, ...]
                 ) -> None:
        self.counter = counter
        self.histogram = histogram
        self.bounds = buckets
        self.pending: dict[tuple[str, ...], list[float]] = {}

    def add(self, labels: tuple[str, ...], seconds: float) -> None:
        found = self.pending.get(labels)
        if found is None:
            found = self.pending[labels] = [0.0] * (len(self.bounds) + 3)
        found[0] += 1
        found[1] += seconds
        found[2 + bisect_left(self.bounds, seconds)] += 1

    def fold(self) -> None:
        pending, self.pending = self.pending, {}
        for labels, found in pending.items():
            child: Any = self.counter.labels(*labels)
            child.inc(found[0])
            _observe_many(self.histogram.labels(*labels[:-1]), found[1:])


def _observe_many(child: Any, found: list[float]) -> None:
    """Add a tally's ``[sum, bucket counts…]`` to a histogram's child."""
    child._sum.inc(found[0])
    for bucket, count in zip(child._buckets, found[1:], strict=True):
        if count:
            bucket.inc(count)


class Metrics:
    """The gateway's metrics, on a registry of their own (one per app). The request path's
    counts and observations are tallied and folded in (:class:`Tally`, :meth:`fold`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("c360_requests", "GraphQL requests by operation and outcome",
                                ["operation", "outcome"], registry=r)
        self.duration = Histogram("c360_request_duration_seconds",
                                  "GraphQL requests, from arrival to the answer",
                                  ["operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("c360_requests_in_flight", "GraphQL requests being answered",
                               registry=r, multiprocess_mode="livesum")
        self.refusals = Counter("c360_admission_refusals",
                                "GraphQL requests refused at capacity, by reason", ["reason"],
                                registry=r)
        self.upstream = Counter("c360_upstream_requests",
                                "Calls to the silos (retries included), by source and status",
                                ["source", "status"], registry=r)
        self.upstream_duration = Histogram("c360_upstream_duration_seconds",
                                           "Calls to the silos, until their response headers",
                                           ["source"], buckets=UPSTREAM_BUCKETS, registry=r)
        self.batch_size = Histogram("c360_batch_size", "Keys per DataLoader batch",
                                    ["source", "method"], buckets=BATCH_BUCKETS, registry=r)
        self.breaker_state = Gauge("c360_breaker_state",
                                   "Circuit breaker per source: 0 closed, 1 half-open, 2 open",
                                   ["source"], registry=r, multiprocess_mode="max")
        self.breaker_transitions = Counter("c360_breaker_transitions",
                                           "Circuit breaker transitions, by source and state",
                                           ["source", "state"], registry=r)
        self.cache_requests = Counter("c360_cache_requests",
                                      "Entity cache keys: hit, miss, stale (served when the "
                                      "source failed)", ["source", "method", "result"],
                                      registry=r)
        self._operations: set[str] = set()
        self._requests = TimedTally(self.requests, self.duration, LATENCY_BUCKETS)
        self._refusals = Tally(self.refusals)
        self._upstream = TimedTally(self.upstream, self.upstream_duration, UPSTREAM_BUCKETS)
        self._batch_size = Tally(self.batch_size, BATCH_BUCKETS)
        self._cache = Tally(self.cache_requests)
        self._tallies: tuple[Tally | TimedTally, ...] = (
            self._requests, self._refusals, self._upstream, self._batch_size, self._cache)

    def operation(self, name: str | None) -> str:
        """The ``operation`` label of an operation name (module doc)."""
        if not name:
            return operation_label(name)
        if name in self._operations:
            return name
        if not _OPERATION.fullmatch(name) or len(self._operations) >= MAX_OPERATIONS:
            return "other"
        self._operations.add(name)
        return name

    def request(self, operation: str, outcome: str, seconds: float,
                refused: str | None = None) -> None:
        self._requests.add((operation, outcome), seconds)
        if refused is not None:
            self._refusals.add((refused,), 1)

    def call(self, source: str, status: str, seconds: float) -> None:
        self._upstream.add((source, status), seconds)

    def batch(self, source: str, method: str, keys: int) -> None:
        """A DataLoader batch of ``keys`` keys (:class:`resolvers.loaders.Loaders`)."""
        self._batch_size.add((source, method), keys)

    def cache(self, source: str, method: str, result: str, keys: int) -> None:
        self._cache.add((source, method, result), keys)

    def fold(self) -> None:
        """Move what the request path tallied into the metrics (:class:`Tally`): before each
        scrape, every :data:`FOLD_S` (:func:`folding`, for the other workers' scrapes) and as
        the worker stops."""
        for tally in self._tallies:
            tally.fold()

    def breaker(self, source: str, state: str, moved: bool = True) -> None:
        """A breaker's state (``closed``, ``half_open``, ``open``), on start and on each move."""
        self.breaker_state.labels(source).set(BREAKER_LEVELS.get(state, 0))
        if moved:
            self.breaker_transitions.labels(source, state).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text format, and its media type: this registry, or with several workers the sum
        of all workers' values (this one's up to date, the others' up to :data:`FOLD_S`
        behind)."""
        self.fold()
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(merged), CONTENT_TYPE_LATEST


@contextlib.asynccontextmanager
async def folding(metrics: Metrics, every_s: float = FOLD_S) -> AsyncIterator[None]:
    """Fold ``metrics`` every ``every_s`` seconds while the app runs, and once more as it
    stops (its last requests counted before the worker leaves the sum)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            metrics.fold()

    try:
        async with running(loop(), "c360-metrics-fold"):
            yield
    finally:
        metrics.fold()


SCOPE = "metrics:read"


def metrics_endpoint(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    """``GET /metrics``: for principals with the ``metrics:read`` scope (a Prometheus scraper's
    API key, a back-office token); 403 ``FORBIDDEN`` for others (the authentication middleware
    answers 401 without a credential)."""

    async def endpoint(request: Request) -> Response:
        principal = request.scope.get("state", {}).get("principal")
        if not isinstance(principal, Principal) or SCOPE not in principal.scopes:
            return Response(FORBIDDEN, 403, media_type="application/json")
        body, media_type = metrics.exposition()
        return Response(body, 200, media_type=media_type)

    return endpoint


def worker_exited(pid: int | None = None) -> None:
    """Drop a worker's live gauges from the sum (several workers; its lifespan's end)."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid or os.getpid(), directory)  # type: ignore[no-untyped-call]
