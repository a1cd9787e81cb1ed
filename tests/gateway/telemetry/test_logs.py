"""Logs: one access line per GraphQL request (request id, operation, outcome, status,
duration, the sources it called), the request id on every record logged while answering it,
JSON lines when configured — and no personal data."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bench.harness import S1_QUERY, S2_QUERY
from gateway.telemetry.logs import (
    QUIET,
    REQUEST_ID,
    RequestIdFilter,
    configure,
    formatter,
    quiet_libraries,
)
from gateway.telemetry.settings import TelemetryConfig

pytestmark = pytest.mark.anyio

EMAILS = "query Emails { customers(first: 3) { edges { node { email { value } } } } }"


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records at ``info``, as a served gateway logs them (:func:`configure`'s handler filter
    and quiet libraries)."""
    levels = {name: logging.getLogger(name).level for name in QUIET}
    caplog.handler.addFilter(RequestIdFilter())
    quiet_libraries()
    try:
        with caplog.at_level(logging.INFO):
            yield caplog
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("metrics", [True, False], ids=["with metrics", "without metrics"])
async def test_each_request_ends_with_one_access_line(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient],
        access: pytest.LogCaptureFixture, metrics: bool) -> None:
    """The sources called are the log line's own: they do not need the metrics on."""
    async with gateway(config={"rate_limits": {"enabled": False},
                               "telemetry": {"metrics": metrics}}) as client:
        found = (await client.post("/graphql", json={"query": EMAILS})).json()
        email = found["data"]["customers"]["edges"][0]["node"]["email"]["value"]
        access.clear()
        answered = await client.post("/graphql", json={
            "query": S1_QUERY, "variables": {"email": email}})
        listed = await client.post("/graphql", json={"query": S2_QUERY})
    assert answered.status_code == listed.status_code == 200
    one, fifty = [r.__dict__ for r in access.records if r.name == "c360.access"]
    assert one["request_id"] == answered.headers["x-request-id"]
    assert (one["operation"], one["outcome"], one["status"]) == ("S1", "ok", 200)
    assert {"shopify", "square", "zendesk"} <= set(one["sources"])
    # fifty customers' orders, tickets and loyalty tiers: every silo, the SQL one included
    assert fifty["sources"] == ["loyalty", "shopify", "square", "zendesk"]
    fields: dict[str, Any] = one
    assert 0 < fields["duration_ms"] < 60_000
    everything = " ".join(f"{r.getMessage()} {r.__dict__}" for r in access.records)
    assert email.lower() not in everything.lower()


async def test_a_partial_answer_logs_the_failed_source(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient],
        access: pytest.LogCaptureFixture) -> None:
    await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
    async with gateway(config={"rate_limits": {"enabled": False}}) as client:
        access.clear()
        answered = await client.post("/graphql", json={"query": """query Tickets {
            customers(first: 2) { edges { node { id tickets { edges { node { id } } } } } } }"""})
    assert answered.json()["errors"]
    [line] = [r for r in access.records if r.name == "c360.access"]
    assert line.__dict__["outcome"] == "partial"
    assert "SOURCE_UNAVAILABLE:zendesk" in line.__dict__["errors"]


async def test_records_logged_while_answering_carry_the_request_id(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient],
        access: pytest.LogCaptureFixture) -> None:
    async with gateway() as client:
        refused = await client.post("/graphql", json={"query": EMAILS},
                                    headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401
    request_id = refused.headers["x-request-id"]
    [auth] = [r for r in access.records if r.name == "c360.auth"]
    [line] = [r for r in access.records if r.name == "c360.access"]
    assert auth.__dict__["request_id"] == line.__dict__["request_id"] == request_id
    assert line.__dict__["outcome"] == "unauthenticated"
    assert "not-a-token" not in " ".join(r.getMessage() for r in access.records)


def test_json_lines() -> None:
    record = logging.LogRecord("c360.gateway", logging.WARNING, __file__, 1,
                               "request %s: cut at its %d ms budget", ("r-1", 2000), None)
    token = REQUEST_ID.set("r-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(formatter("json").format(record))
    assert line["level"] == "WARNING" and line["logger"] == "c360.gateway"
    assert line["request_id"] == "r-1"
    assert line["message"] == "request r-1: cut at its 2000 ms budget"
    assert "time" in line
    outside = logging.LogRecord("c360", logging.INFO, __file__, 1, "started", (), None)
    RequestIdFilter().filter(outside)
    assert "[-] started" in formatter("text").format(outside)


def test_configure_installs_one_handler_at_the_level() -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in QUIET}
    try:
        configure(TelemetryConfig(log_level="warning", log_format="json"))
        handler = configure(TelemetryConfig(log_level="debug", log_format="json"))
        assert [h for h in root.handlers if h not in handlers] == [handler]
        assert root.level == logging.DEBUG
        # httpx logs each call's URL at info, and a silo search URL holds an email or phone
        assert all(logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
                   for name in QUIET)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


async def test_a_traced_requests_line_names_its_trace(
        gateway: Callable[..., Any], access: pytest.LogCaptureFixture) -> None:
    """From a log line to its trace: the line of a traced request carries the trace id (the
    root span's); a request not traced has none."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from gateway.telemetry.traces import sampler_of

    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False, sampler=sampler_of(
        TelemetryConfig(trace_sample_ratio=0.0)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with gateway(config={"rate_limits": {"enabled": False}},
                       tracer_provider=provider) as client:
        access.clear()
        for flags in (None, "00", "01"):  # no trace; the caller's, not sampled; sampled
            headers = {} if flags is None else {
                "traceparent": f"00-{trace_id}-00f067aa0ba902b7-{flags}"}
            answered = await client.post("/graphql", json={"query": EMAILS}, headers=headers)
            assert answered.status_code == 200
    provider.shutdown()
    alone, declined, traced = [r.__dict__ for r in access.records if r.name == "c360.access"]
    assert "trace_id" not in alone and "trace_id" not in declined
    [root] = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert traced["trace_id"] == format(root.context.trace_id, "032x") == trace_id
