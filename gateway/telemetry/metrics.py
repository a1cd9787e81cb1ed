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

import os
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import httpx
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
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

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
UPSTREAM_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200)

CALLED: ContextVar[set[str] | None] = ContextVar("c360_sources_called", default=None)
"""The sources a request called (its log line's ``sources``): set by the request middleware,
added to by the metered transports and engines."""


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


class Metrics:
    """The gateway's metrics, on a registry of their own (one per app)."""

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
        self.requests.labels(operation, outcome).inc()
        self.duration.labels(operation).observe(seconds)
        if refused is not None:
            self.refusals.labels(refused).inc()

    def call(self, source: str, status: str, seconds: float) -> None:
        self.upstream.labels(source, status).inc()
        self.upstream_duration.labels(source).observe(seconds)
        called = CALLED.get()
        if called is not None:
            called.add(source)

    def batch(self, source: str, method: str, keys: int) -> None:
        """A DataLoader batch of ``keys`` keys (:class:`resolvers.loaders.Loaders`)."""
        self.batch_size.labels(source, method).observe(keys)

    def cache(self, source: str, method: str, result: str, keys: int) -> None:
        self.cache_requests.labels(source, method, result).inc(keys)

    def breaker(self, source: str, state: str, moved: bool = True) -> None:
        """A breaker's state (``closed``, ``half_open``, ``open``), on start and on each move."""
        self.breaker_state.labels(source).set(BREAKER_LEVELS.get(state, 0))
        if moved:
            self.breaker_transitions.labels(source, state).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text format, and its media type: this registry, or with several workers the sum
        of all workers' values."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(merged), CONTENT_TYPE_LATEST


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


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts and times every HTTP call of one source (below the adapter's retries, so each
    attempt counts)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, source: str, metrics: Metrics) -> None:
        self.inner = inner
        self.source = source
        self.metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TimeoutException:
            self.metrics.call(self.source, "timeout", time.perf_counter() - started)
            raise
        except httpx.TransportError:
            self.metrics.call(self.source, "unreachable", time.perf_counter() - started)
            raise
        self.metrics.call(self.source, str(response.status_code),
                          time.perf_counter() - started)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


_STARTED = "c360_statement_started"


def meter_engine(engine: AsyncEngine, source: str, metrics: Metrics) -> Callable[[], None]:
    """Counts and times the statements of a SQL source (``ok`` or ``error``); returns what
    detaches it (the engine may outlive the app: tests share theirs)."""

    def before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
               executemany: bool) -> None:
        conn.info[_STARTED] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
              executemany: bool) -> None:
        started = conn.info.pop(_STARTED, None)
        if started is not None:
            metrics.call(source, "ok", time.perf_counter() - started)

    def failed(context: Any) -> None:
        conn = context.connection
        started = conn.info.pop(_STARTED, None) if conn is not None else None
        metrics.call(source, "error",
                     time.perf_counter() - started if started is not None else 0.0)

    return on_statements(engine, before, after, failed)


def on_statements(engine: AsyncEngine, before: Callable[..., None], after: Callable[..., None],
                  failed: Callable[[Any], None]) -> Callable[[], None]:
    """Listen to each statement's start, end and failure on ``engine``; returns what stops
    listening."""
    sync = engine.sync_engine
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", before), ("after_cursor_execute", after),
        ("handle_error", failed)]
    for name, listener in listeners:
        event.listen(sync, name, listener)

    def detach() -> None:
        for name, listener in listeners:
            event.remove(sync, name, listener)

    return detach
