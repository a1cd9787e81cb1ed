"""What each call to a silo tells the operators, observed once for all of them: one transport
layer per HTTP source (:class:`ObservedTransport`, below the adapter's retries, so each
attempt is seen) and one statement observer per SQL source (:func:`statement_observer`, which
its adapter tells of each statement: :mod:`adapters.sql`).

Each call, timed once, goes to the request's ``sources`` (its access line), to the metrics
(``c360_upstream_requests_total``, ``c360_upstream_duration_seconds``: its HTTP status,
``timeout`` or ``unreachable``; ``ok`` or ``error`` for a statement) and, within a recorded
trace, to a ``CLIENT`` span (:mod:`gateway.telemetry.traces`). One layer rather than one per
concern: a query makes a score of calls, and each layer is a coroutine (or a callback) on
every one of them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from opentelemetry.trace import Tracer

from adapters.sql import StatementDone, StatementObserver
from gateway.telemetry.metrics import CALLED, Metrics
from gateway.telemetry.traces import (
    answered,
    call_span,
    failed,
    in_recorded_trace,
    statement_span,
)


def called(source: str) -> None:
    """Note ``source`` among the current request's (its access line's ``sources``)."""
    found = CALLED.get()
    if found is not None:
        found.add(source)


def failure_of(exc: BaseException) -> str:
    return ("timeout" if isinstance(exc, httpx.TimeoutException) else
            "unreachable" if isinstance(exc, httpx.TransportError) else
            "cancelled" if isinstance(exc, asyncio.CancelledError) else
            type(exc).__name__)


class ObservedTransport(httpx.AsyncBaseTransport):
    """Every HTTP call of one source: counted and timed (with ``metrics``), a span (with a
    ``tracer``, within a recorded trace), and the source noted as called. Records neither the
    URL nor any header."""

    def __init__(self, inner: httpx.AsyncBaseTransport, source: str,
                 metrics: Metrics | None = None, tracer: Tracer | None = None) -> None:
        self.inner = inner
        self.source = source
        self.metrics = metrics
        self.tracer = tracer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        called(self.source)
        span = (call_span(self.tracer, self.source, request.method)
                if self.tracer is not None and in_recorded_trace() else None)
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as exc:
            failure = failure_of(exc)
            if self.metrics is not None and failure in ("timeout", "unreachable"):
                self.metrics.call(self.source, failure, time.perf_counter() - started)
            if span is not None:
                failed(span, failure)
            raise
        if self.metrics is not None:
            self.metrics.call(self.source, str(response.status_code),
                              time.perf_counter() - started)
        if span is not None:
            answered(span, response.status_code)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def statement_observer(source: str, system: str, metrics: Metrics | None = None,
                       tracer: Tracer | None = None) -> StatementObserver:
    """Every statement of a SQL source (its adapter's :class:`~adapters.sql.StatementObserver`),
    as :class:`ObservedTransport` does for HTTP: ``ok`` or ``error`` (a cancelled statement is
    not counted); the span has its first keyword, never its text or parameters."""

    def observe(statement: Any) -> StatementDone:
        called(source)
        span = (statement_span(tracer, source, system, statement)
                if tracer is not None and in_recorded_trace() else None)
        started = time.perf_counter()

        def done(error: BaseException | None) -> None:
            cancelled = isinstance(error, asyncio.CancelledError)
            if metrics is not None and not cancelled:
                metrics.call(source, "ok" if error is None else "error",
                             time.perf_counter() - started)
            if span is not None:
                if error is None:
                    span.end()
                else:
                    failed(span, failure_of(error))
        return done

    return observe
