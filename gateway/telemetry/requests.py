"""The request middleware: metrics, the access log line and the trace's root span of every
GraphQL request (a traced request's access line carries its ``trace_id``).

It sits right after the request id (before CORS, shedding, authentication and rate limits), so
that a request refused by any of them is counted too. The endpoint leaves what only it knows in
the request's state (:class:`Answer`: the operation name, whether the answer was partial or
failed, the codes of its errors; the admission's refusal reason); the HTTP status says the
rest (:func:`outcome_of`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.graphiql import wants_page
from gateway.telemetry.logs import REQUEST_ID
from gateway.telemetry.metrics import CALLED, Metrics, operation_label
from gateway.telemetry.traces import end_operation, start_operation

log = logging.getLogger("c360.access")
STATE_KEY = "answer"


@dataclass
class Answer:
    """What the endpoint says of its answer, for the request's metrics, log line and span."""

    operation: str | None = None
    """The operation name, ``""`` when unnamed; None when the request was not read (refused
    before)."""
    operation_type: str | None = None
    """``query`` or ``mutation`` once the document was read."""
    outcome: str | None = None
    """``ok``, ``partial`` or ``error`` for an executed operation, ``invalid`` for a document
    refused before execution."""
    codes: list[str] = field(default_factory=list)
    """The ``extensions.code`` (and source) of its errors, e.g. ``SOURCE_TIMEOUT:zendesk``."""
    refused: str | None = None
    """The admission's reason, when refused at capacity."""


def answer_of(scope: Scope) -> Answer:
    """The request's :class:`Answer`, created on first use (the endpoint fills it in)."""
    state = scope.setdefault("state", {})
    found = state.get(STATE_KEY)
    if found is None:
        found = state[STATE_KEY] = Answer()
    return found  # type: ignore[no-any-return]


def outcome_of(status: int, answer: Answer) -> str:
    """One of :data:`~gateway.telemetry.metrics.OUTCOMES`."""
    if answer.refused is not None:
        return "overloaded"
    if status == 200 or (status == 400 and answer.outcome is not None):
        return answer.outcome or "ok"
    return {401: "unauthenticated", 403: "forbidden", 429: "rate_limited",
            504: "budget_exceeded", 503: "unavailable"}.get(
        status, "internal" if status >= 500 else "invalid")


class Observed:
    """ASGI middleware (module doc) for the GraphQL path; other paths pass untouched. With a
    ``tracer``, each request is a span that the spans of its work are children of
    (:mod:`gateway.telemetry.traces`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None, path: str = "/graphql",
                 tracer: Tracer | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.path = path
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or wants_page(scope):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = scope.get("state", {}).get("request_id")
        id_token = REQUEST_ID.set(request_id)
        called: set[str] = set()
        called_token = CALLED.set(called)
        status = 500
        answer = answer_of(scope)
        if self.metrics is not None:
            self.metrics.in_flight.inc()
        traced = (start_operation(self.tracer, scope, request_id) if self.tracer is not None
                  else None)

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            outcome = outcome_of(status, answer)
            operation = (self.metrics.operation(answer.operation) if self.metrics is not None
                         else operation_label(answer.operation))
            if self.metrics is not None:
                self.metrics.in_flight.dec()
                self.metrics.request(operation, outcome, seconds, answer.refused)
            trace_id = None
            if traced is not None:
                trace_id = traced.trace_id
                end_operation(traced, name=operation, operation_type=answer.operation_type,
                              outcome=outcome, status=status, codes=answer.codes)
            if log.isEnabledFor(logging.INFO):
                sources = sorted(called)
                extra: dict[str, Any] = {
                    "request_id": request_id, "operation": operation, "outcome": outcome,
                    "status": status, "duration_ms": round(seconds * 1000, 1),
                    "sources": sources}
                if answer.codes:
                    extra["errors"] = answer.codes
                if trace_id is not None:
                    extra["trace_id"] = trace_id
                log.info("%s %s %s %d %.1f ms%s", scope["method"], operation, outcome, status,
                         seconds * 1000, f" sources={','.join(sources)}" if sources else "",
                         extra=extra)
            CALLED.reset(called_token)
            REQUEST_ID.reset(id_token)
