"""OpenTelemetry traces: what one request did, span by span, in the operators' trace backend.

- one ``SERVER`` span per GraphQL request (:func:`start_operation`, from the request
  middleware): ``{type} {operation}`` (``query Customer360``; ``graphql unknown`` for a request
  refused before it was read), with ``graphql.operation.name`` and ``graphql.operation.type``,
  ``c360.outcome`` (:data:`~gateway.telemetry.metrics.OUTCOMES`), ``c360.request_id``,
  ``http.response.status_code`` and the error codes (``c360.errors``); status ``ERROR`` when
  the answer is not whole (:data:`ERROR_OUTCOMES`). A caller's W3C ``traceparent`` is joined;
- one ``c360.batch`` span per DataLoader batch (:mod:`resolvers.loaders`): ``c360.source``,
  ``c360.method``, ``c360.batch.size``;
- one ``CLIENT`` span per call to a silo (:func:`call_span`, from
  :class:`~gateway.telemetry.upstream.ObservedTransport`; each retry its own):
  ``c360.source``, ``http.request.method``, ``c360.operation``, ``http.response.status_code``,
  ``c360.retry_count``, ``error.type``; per SQL statement for a SQL source
  (:func:`statement_span`, from :func:`~gateway.telemetry.upstream.statement_observer`):
  ``db.system.name``, ``db.operation.name`` (its first keyword).
  Only within a request's recorded trace: the calls of the readiness probe, the registry's
  crawler and the saga recovery would each be a trace of one span, and a request not sampled
  (:func:`sampler_of`) makes none.

Never in a span: a URL, a path or a query string (they hold emails, phone numbers and customer
ids), a statement's text or parameters, keys, variables, an error message or an exception (it
may quote a value) — sources, methods, counts, statuses and error types only.

Each app has its own :class:`TracerProvider` (tests give one with an in-memory exporter); the
global one is never set. Built from ``[telemetry]`` (:mod:`.settings`), it exports through a
batch processor on a thread of its own: a collector that is down or slow costs a request
nothing, its spans are dropped, and the exporter's complaints are logged at most once a minute.
The SDK reads the standard variables itself: ``OTEL_SERVICE_NAME`` (``c360`` by default),
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_EXPORTER_OTLP_TIMEOUT``, ``OTEL_TRACES_SAMPLER``/``_ARG``, ``OTEL_BSP_*``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextvars import ContextVar, Token
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import Scope

from adapters.http import ATTEMPT
from gateway.telemetry.settings import TelemetryConfig

TRACER = "c360"
DEFAULT_SERVICE = "c360"
ERROR_OUTCOMES = frozenset({"partial", "error", "overloaded", "budget_exceeded",
                            "unavailable", "internal"})
"""Outcomes whose operation span has status ``ERROR``; a refused request (``invalid``,
``unauthenticated``, ``forbidden``, ``rate_limited``) is the caller's error, not ours."""
QUIET_EVERY_S = 60.0
EXPORT_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter",
                  "opentelemetry.exporter.otlp.common.http",
                  "opentelemetry.sdk._shared_internal")
_PROPAGATOR = TraceContextTextMapPropagator()
_SQL_OPERATIONS = frozenset({
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "UPSERT", "MERGE", "CREATE", "DROP",
    "ALTER", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "SET", "SHOW",
    "EXPLAIN", "VALUES", "CALL", "LOCK", "TRUNCATE"})
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")
_RECORDED: ContextVar[bool] = ContextVar("c360_trace_recorded", default=False)
"""Whether the current request's trace is recorded (:func:`in_recorded_trace`): one context
variable read per silo call rather than the OpenTelemetry context's lookup chain."""


class Throttled(logging.Filter):
    """At most one record per logger every :data:`QUIET_EVERY_S` seconds: an unreachable
    collector makes the exporter complain on every batch and retry."""

    def __init__(self, every_s: float = QUIET_EVERY_S) -> None:
        super().__init__()
        self.every_s = every_s
        self.last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        last = self.last.get(record.name)
        if last is not None and now - last < self.every_s:
            return False
        self.last[record.name] = now
        return True


def quiet_exporters() -> None:
    for name in EXPORT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, Throttled) for f in logger.filters):
            logger.addFilter(Throttled())


def resource() -> Resource:
    """The SDK's resource (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``), named
    ``c360`` unless those name it, with the package's version."""
    found = Resource.create()
    extra: dict[str, str] = {}
    if str(found.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        extra[SERVICE_NAME] = DEFAULT_SERVICE
    if SERVICE_VERSION not in found.attributes:
        try:
            extra[SERVICE_VERSION] = version("c360")
        except PackageNotFoundError:
            pass
    return found.merge(Resource(extra)) if extra else found


def exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def sampler_of(config: TelemetryConfig) -> Sampler | None:
    """What decides which requests are traced: the caller's ``traceparent`` when it has one,
    else ``trace_sample_ratio`` of them by trace id; None (the SDK reads
    ``OTEL_TRACES_SAMPLER``) when that variable is set."""
    if config.trace_sample_ratio is None:
        return None
    return ParentBased(TraceIdRatioBased(config.trace_sample_ratio))


def build_provider(config: TelemetryConfig) -> TracerProvider | None:
    """The app's provider when ``[telemetry] traces`` is on: its sampler (:func:`sampler_of`)
    and a batch processor per exporter. The app shuts it down at the end of its lifespan
    (:func:`shutdown`)."""
    if not config.traces:
        return None
    quiet_exporters()
    provider = TracerProvider(resource=resource(), sampler=sampler_of(config))
    for name in config.trace_exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter(name)))
    return provider


def tracer_of(provider: TracerProvider) -> Tracer:
    try:
        release: str | None = version("c360")
    except PackageNotFoundError:
        release = None
    return provider.get_tracer(TRACER, release)


async def shutdown(provider: TracerProvider) -> None:
    """Export what is left and stop (on a thread: a collector that is down holds it up to
    ``OTEL_EXPORTER_OTLP_TIMEOUT``, not the event loop)."""
    await asyncio.to_thread(provider.shutdown)


def _parent(scope: Scope) -> otel_context.Context | None:
    """The caller's trace (W3C ``traceparent``, ``tracestate``), or None to start one."""
    carrier: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"traceparent" or name == b"tracestate":
            carrier[name.decode()] = value.decode("latin-1")
    return _PROPAGATOR.extract(carrier) if "traceparent" in carrier else None


class Operation:
    """A request's ``SERVER`` span and what :func:`start_operation` made current."""

    __slots__ = ("span", "_context", "_recorded")

    def __init__(self, span: Span, context: Token[otel_context.Context] | None,
                 recorded: Token[bool] | None) -> None:
        self.span = span
        self._context = context
        self._recorded = recorded

    @property
    def trace_id(self) -> str | None:
        """The W3C trace id (32 hex digits) when the request is traced (its access line
        names it, for going from a log line to its trace), else None."""
        if self._recorded is None:
            return None
        return format(self.span.get_span_context().trace_id, "032x")


def start_operation(tracer: Tracer, scope: Scope, request_id: str | None) -> Operation:
    """The request's ``SERVER`` span (its name and outcome come at the end:
    :func:`end_operation`), made current when it is recorded. A request not sampled changes
    no context: nothing below it makes a span (:func:`in_recorded_trace`)."""
    span = tracer.start_span("graphql", context=_parent(scope), kind=SpanKind.SERVER,
                             attributes={"http.request.method": scope["method"]})
    if not span.is_recording():
        return Operation(span, None, None)
    if request_id is not None:
        span.set_attribute("c360.request_id", request_id)
    return Operation(span, otel_context.attach(trace.set_span_in_context(span)),
                     _RECORDED.set(True))


def end_operation(operation: Operation, *, name: str, operation_type: str | None,
                  outcome: str, status: int, codes: list[str]) -> None:
    """Detach and end the request's span. ``name`` is the metrics label of the operation (a
    plain name, ``anonymous``, ``unknown`` or ``other``: never a client's arbitrary text)."""
    span = operation.span
    if operation._recorded is not None:
        _RECORDED.reset(operation._recorded)
    if operation._context is not None:
        otel_context.detach(operation._context)
    if span.is_recording():
        span.update_name(f"{operation_type or 'graphql'} {name}")
        attributes: dict[str, Any] = {"graphql.operation.name": name,
                                      "c360.outcome": outcome,
                                      "http.response.status_code": status}
        if operation_type is not None:
            attributes["graphql.operation.type"] = operation_type
        if codes:
            attributes["c360.errors"] = codes
        span.set_attributes(attributes)
        if outcome in ERROR_OUTCOMES:
            span.set_status(Status(StatusCode.ERROR, outcome))
    span.end()


def in_recorded_trace() -> bool:
    """Whether the current request is traced and its trace recorded: a request not sampled
    makes no child spans at all (not even non-recording ones: they cost a sampler's decision
    each), and neither does work outside a request."""
    return _RECORDED.get()


def call_span(tracer: Tracer, source: str, method: str) -> Span:
    """The ``CLIENT`` span of one HTTP call to ``source`` (one per attempt: its
    ``c360.retry_count``); neither the URL nor any header."""
    return tracer.start_span(
        f"{method} {source}", kind=SpanKind.CLIENT,
        attributes={"c360.source": source, "http.request.method": method,
                    "c360.operation": method, "c360.retry_count": ATTEMPT.get() - 1})


def answered(span: Span, status: int) -> None:
    """End a call's span with the silo's HTTP status (an error for a 5xx or a 429)."""
    if status >= 500 or status == 429:
        span.set_attributes({"http.response.status_code": status, "error.type": str(status)})
        span.set_status(Status(StatusCode.ERROR))
    else:
        span.set_attribute("http.response.status_code", status)
    span.end()


def failed(span: Span, failure: str) -> None:
    """End a span whose call or statement failed: ``failure`` is a kind (``timeout``,
    ``unreachable``, an exception's class name), never its message."""
    span.set_attribute("error.type", failure)
    span.set_status(Status(StatusCode.ERROR, failure))
    span.end()


def sql_operation(statement: Any) -> str:
    """A statement's first keyword (``SELECT``), ``OTHER`` when it is not a known one: from
    its text, or from a SQLAlchemy construct's kind (never compiled to text for this)."""
    text = statement if isinstance(statement, str) else getattr(statement, "text", None)
    if not isinstance(text, str):
        kind = str(getattr(statement, "__visit_name__", "")).split("_")
        word = kind[-1] if kind[-1] == "select" else kind[0]
        return word.upper() if word.upper() in _SQL_OPERATIONS else "OTHER"
    found = _FIRST_WORD.match(text)
    word = found.group(1).upper() if found else ""
    return word if word in _SQL_OPERATIONS else "OTHER"


def statement_span(tracer: Tracer, source: str, system: str, statement: Any) -> Span:
    """The ``CLIENT`` span of one SQL statement: its first keyword, not its text or
    parameters."""
    operation = sql_operation(statement)
    return tracer.start_span(
        f"{operation} {source}", kind=SpanKind.CLIENT,
        attributes={"c360.source": source, "db.system.name": system,
                    "db.operation.name": operation})
