"""OpenTelemetry traces over the real app and the emulated silos, recorded by the SDK's
in-memory exporter: a span per operation, per DataLoader batch and per silo call (retries
each their own), the caller's trace joined, no personal data in any of them; a collector that
cannot be reached costs a request nothing. And the batch-size metric."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from adapters.errors import ConfigError
from bench.harness import S1_QUERY, S2_QUERY
from gateway.config import parse_config
from gateway.telemetry.settings import TelemetryConfig
from gateway.telemetry.traces import EXPORT_LOGGERS, build_provider, resource, sql_operation
from silos.sandbox import RunningSandbox, gateway_config
from tests.gateway import test_memory
from tests.gateway.telemetry.test_metrics import KEYS, scrape, value

pytestmark = pytest.mark.anyio

EMAILS = "query Emails { customers(first: 3) { edges { node { email { value } } } } }"
PERSON = """query Person($email: String!) { customer(email: $email) {
  displayName { value } email { value } phone { value } } }"""
ATTRIBUTES = {
    "http.request.method", "http.response.status_code", "c360.request_id", "c360.outcome",
    "c360.errors", "graphql.operation.name", "graphql.operation.type", "c360.source",
    "c360.method", "c360.batch.size", "c360.operation", "c360.retry_count", "error.type",
    "db.system.name", "db.operation.name"}
"""Every attribute a span may have: a new one is reviewed for personal data here first."""
NO_RATE_LIMITS = {"rate_limits": {"enabled": False}}


class Recorder:
    """A provider whose spans are kept in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(shutdown_on_exit=False)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> Sequence[ReadableSpan]:
        return self.exporter.get_finished_spans()

    def clear(self) -> None:
        self.exporter.clear()

    def operation(self) -> ReadableSpan:
        """The one operation span recorded since the last clear."""
        [root] = [s for s in self.spans() if s.kind is SpanKind.SERVER]
        return root


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.provider.shutdown()


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def some_email(client: httpx.AsyncClient) -> str:
    found = (await client.post("/graphql", json={"query": EMAILS})).json()
    return str(found["data"]["customers"]["edges"][0]["node"]["email"]["value"])


async def test_an_answer_is_an_operation_span_over_its_batches_and_silo_calls(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient],
        recorder: Recorder) -> None:
    async with gateway(tracer_provider=recorder.provider, config=NO_RATE_LIMITS) as client:
        for silo in silos.values():
            await silo.post("/_sandbox/reset")
        recorder.clear()
        answered = await client.post("/graphql", json={"query": S2_QUERY})
        assert answered.status_code == 200 and "errors" not in answered.json()
        spans = recorder.spans()
    root = recorder.operation()
    assert root.name == "query S2"
    assert attributes(root) == {
        "graphql.operation.name": "S2", "graphql.operation.type": "query",
        "c360.outcome": "ok", "c360.request_id": answered.headers["x-request-id"],
        "http.request.method": "POST", "http.response.status_code": 200}
    assert root.parent is None and root.status.status_code is StatusCode.UNSET
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}
    batches = {s.context.span_id: s for s in spans if s.name == "c360.batch"}
    assert all(parent_id(b) == root.context.span_id for b in batches.values())
    sizes = {(attributes(b)["c360.source"], attributes(b)["c360.method"]):
             attributes(b)["c360.batch.size"] for b in batches.values()}
    assert len(sizes) == len(batches)  # one batch per (source, method): all keys in one
    people = len(answered.json()["data"]["customers"]["edges"])
    assert people == 50 and sizes[("registry", "records_of")] == people
    for source in ("shopify", "square", "zendesk", "loyalty"):
        assert 0 < sizes[(source, "customers_by_ids")] <= people, source
    calls = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert calls and all(parent_id(c) in batches for c in calls)
    for name, silo in silos.items():
        served = int((await silo.get("/_sandbox/stats")).json()["total"])
        traced = [c for c in calls if attributes(c)["c360.source"] == name]
        assert len(traced) == served > 0, name
        assert all(attributes(c)["http.response.status_code"] == 200 and
                   attributes(c)["c360.retry_count"] == 0 and
                   attributes(c)["c360.operation"] == attributes(c)["http.request.method"]
                   for c in traced), name
    statements = [c for c in calls if attributes(c)["c360.source"] == "loyalty"]
    assert statements and all(
        attributes(c) == {"c360.source": "loyalty", "db.system.name": "sqlite",
                          "db.operation.name": "SELECT"} and
        attributes(batches[parent_id(c)])["c360.source"] == "loyalty"
        for c in statements)


class Flaky(httpx.AsyncBaseTransport):
    """Each distinct request fails as ``failures`` says (a status, or ``"timeout"``) before
    it reaches the silo."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failures: Sequence[int | str]) -> None:
        self.inner = inner
        self.failures = failures
        self.seen: dict[tuple[str, str], int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, str(request.url))
        attempt = self.seen[key] = self.seen.get(key, 0) + 1
        if attempt <= len(self.failures):
            failure = self.failures[attempt - 1]
            if failure == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(int(failure), request=request)
        return await self.inner.handle_async_request(request)


async def test_each_retry_is_a_span_with_its_retry_count(
        gateway: Callable[..., Any], gateway_sandbox: RunningSandbox, recorder: Recorder
        ) -> None:
    flaky = Flaky(gateway_sandbox.transports()["zendesk"], [503, "timeout"])
    # the breaker would open after five failures in a row: this test wants every retry
    config = {**NO_RATE_LIMITS, "breakers": {"enabled": False}}
    async with gateway(tracer_provider=recorder.provider, config=config,
                       transports={"zendesk": flaky}) as client:
        email = await some_email(client)
        recorder.clear()
        answered = await client.post("/graphql", json={
            "query": S1_QUERY, "variables": {"email": email}, "operationName": "S1"})
    assert answered.status_code == 200 and "errors" not in answered.json()
    assert attributes(recorder.operation())["c360.outcome"] == "ok"
    calls = [s for s in recorder.spans() if s.kind is SpanKind.CLIENT and
             attributes(s)["c360.source"] == "zendesk"]
    by_batch: dict[int | None, list[ReadableSpan]] = {}
    for call in calls:
        by_batch.setdefault(parent_id(call), []).append(call)
    assert len(by_batch) >= 2  # the customers' batch and the tickets' batch
    for attempts in by_batch.values():
        attempts.sort(key=lambda s: s.start_time or 0)
        seen = [(attributes(s)["c360.retry_count"], attributes(s).get(
            "http.response.status_code"), attributes(s).get("error.type"),
                 s.status.status_code) for s in attempts]
        assert seen == [(0, 503, "503", StatusCode.ERROR),
                        (1, None, "timeout", StatusCode.ERROR),
                        (2, 200, None, StatusCode.UNSET)]


async def test_a_failed_source_marks_its_batches_and_the_operation(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient],
        recorder: Recorder) -> None:
    # no stale-if-error: the failed reads must fail
    config = {**NO_RATE_LIMITS, "cache": {"enabled": False}}
    async with gateway(tracer_provider=recorder.provider, config=config) as client:
        email = await some_email(client)
        await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
        recorder.clear()
        partial = await client.post("/graphql", json={
            "query": S1_QUERY, "variables": {"email": email}})
    assert partial.json()["errors"]
    root = recorder.operation()
    assert root.name == "query S1" and root.status.status_code is StatusCode.ERROR
    assert attributes(root)["c360.outcome"] == "partial"
    assert "SOURCE_UNAVAILABLE:zendesk" in attributes(root)["c360.errors"]
    failed = [s for s in recorder.spans() if s.name == "c360.batch" and
              attributes(s)["c360.source"] == "zendesk"]
    assert failed and all(s.status.status_code is StatusCode.ERROR and
                          attributes(s)["error.type"] == "SOURCE_UNAVAILABLE" for s in failed)
    calls = [s for s in recorder.spans() if s.kind is SpanKind.CLIENT and
             attributes(s)["c360.source"] == "zendesk"]
    assert calls and all(attributes(c)["http.response.status_code"] == 503 and
                         c.status.status_code is StatusCode.ERROR for c in calls)
    assert max(attributes(c)["c360.retry_count"] for c in calls) >= 1


async def test_the_callers_trace_is_joined(gateway: Callable[..., Any],
                                           recorder: Recorder) -> None:
    trace_id, span_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with gateway(tracer_provider=recorder.provider) as client:
        joined = await client.post("/graphql", json={"query": EMAILS}, headers={
            "traceparent": f"00-{trace_id}-{span_id}-01", "tracestate": "vendor=x"})
        assert joined.status_code == 200
        root = recorder.operation()
        assert root.context.trace_id == int(trace_id, 16)
        assert parent_id(root) == int(span_id, 16) and root.parent is not None
        assert root.parent.is_remote
        assert {s.context.trace_id for s in recorder.spans()} == {int(trace_id, 16)}
        recorder.clear()
        garbled = await client.post("/graphql", json={"query": EMAILS},
                                    headers={"traceparent": "00-nonsense-01"})
        assert garbled.status_code == 200
        assert recorder.operation().parent is None  # a trace of its own


async def test_a_refused_request_is_a_span_too_and_a_probe_is_none(gateway: Callable[..., Any],
                                               recorder: Recorder) -> None:
    async with gateway(tracer_provider=recorder.provider) as client:
        refused = await client.post("/graphql", json={"query": EMAILS},
                                    headers={"Authorization": ""})
        assert refused.status_code == 401
        root = recorder.operation()
        assert root.name == "graphql unknown"
        assert attributes(root)["c360.outcome"] == "unauthenticated"
        assert root.status.status_code is StatusCode.UNSET  # the caller's error
        assert [s for s in recorder.spans() if s is not root] == []
        recorder.clear()
        invalid = await client.post("/graphql", json={"query": "query Bad { nope }"})
        assert invalid.status_code == 200 and invalid.json()["errors"]
        assert attributes(recorder.operation())["c360.outcome"] == "invalid"
        recorder.clear()
        ready = await client.get("/readyz")  # calls every source, outside any request's trace
        assert ready.status_code == 200 and set(ready.json()["checks"].values()) == {"ok"}
        assert recorder.spans() == ()


async def test_no_personal_data_in_any_span(gateway: Callable[..., Any],
                                            recorder: Recorder) -> None:
    async with gateway(tracer_provider=recorder.provider, config=NO_RATE_LIMITS) as client:
        email = await some_email(client)
        person = (await client.post("/graphql", json={
            "query": PERSON, "variables": {"email": email}})).json()["data"]["customer"]
        answers = [await client.post("/graphql", json={
            "query": S1_QUERY, "variables": {"email": email}}),
            # not in the registry: searched live in the silos, the email in their URLs
            await client.post("/graphql", json={"query": S1_QUERY, "variables": {
                "email": "nobody.traced@example.com"}}),
            await client.post("/graphql", json={"query": PERSON.replace(
                "$email: String!", "$phone: String!").replace("email: $email", "phone: $phone"),
                "variables": {"phone": "+1 415 555 0199"}})]
    assert all(a.status_code == 200 for a in answers)
    spans = recorder.spans()
    assert len([s for s in spans if s.kind is SpanKind.SERVER]) == 5
    assert any(s.kind is SpanKind.CLIENT for s in spans)
    secrets = [email, email.split("@")[0], "nobody.traced", "4155550199", "555 0199",
               person["displayName"]["value"]]
    if person["phone"]:
        secrets.append(person["phone"]["value"])
    texts: list[str] = []
    for span in spans:
        assert set(attributes(span)) <= ATTRIBUTES, span.name
        assert not span.events and not span.links, span.name
        texts.append(span.name)
        texts.append(span.status.description or "")
        for item in attributes(span).values():
            texts.extend(str(v) for v in (item if isinstance(item, tuple) else (item,)))
    for text in texts:
        assert "/" not in text and "@" not in text and "?" not in text, text
        assert not any(secret.lower() in text.lower() for secret in secrets), text
    operations = {attributes(s)["graphql.operation.name"] for s in spans
                  if s.kind is SpanKind.SERVER}
    assert operations == {"Emails", "Person", "S1"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_collector_costs_a_request_nothing(
        gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
    caplog.set_level(logging.DEBUG, logger="opentelemetry")
    traced = {"traces": True, "trace_sample_ratio": 1}
    async with gateway(config={**NO_RATE_LIMITS, "telemetry": traced}) as client:
        email = await some_email(client)
        for _ in range(5):
            started = time.perf_counter()
            answered = await client.post("/graphql", json={
                "query": S1_QUERY, "variables": {"email": email}})
            assert answered.status_code == 200 and "errors" not in answered.json()
            assert time.perf_counter() - started < 1.0
            await asyncio.sleep(0.05)  # the exporter's thread tries meanwhile
        leaving = time.perf_counter()
    assert time.perf_counter() - leaving < 5.0  # the shutdown's last export gives up
    complaints = [r for r in caplog.records if r.name in EXPORT_LOGGERS]
    assert complaints, "the export was not even tried"
    assert len(complaints) <= len(EXPORT_LOGGERS)  # at most one a minute per logger
    for record in caplog.records:
        assert email.lower() not in record.getMessage().lower()


async def test_batch_sizes_are_a_histogram(gateway: Callable[..., Any]) -> None:
    async with gateway(config=KEYS) as client:
        _, before = await scrape(client)
        answered = await client.post("/graphql", json={"query": S2_QUERY})
        assert answered.status_code == 200 and "errors" not in answered.json()
        _, after = await scrape(client)

    def added(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    records = {"source": "registry", "method": "records_of"}
    assert added("c360_batch_size_count", **records) == 1
    assert added("c360_batch_size_sum", **records) == 50
    assert added("c360_batch_size_bucket", **records, le="20.0") == 0
    assert added("c360_batch_size_bucket", **records, le="50.0") == 1
    people = {"source": "shopify", "method": "customers_by_ids"}
    assert added("c360_batch_size_count", **people) == 1
    assert 0 < added("c360_batch_size_sum", **people) <= 50


async def test_tracing_leaves_nothing_for_the_cycle_collector(
        gateway: Callable[..., Any], silos: dict[str, Any],
        gateway_sandbox: RunningSandbox, recorder: Recorder) -> None:
    def traced(**kwargs: Any) -> Any:
        return gateway(tracer_provider=recorder.provider, **kwargs)

    await test_memory.test_an_answer_leaves_nothing_for_the_cycle_collector(
        traced, silos, gateway_sandbox)
    assert len([s for s in recorder.spans() if s.kind is SpanKind.SERVER]) >= 8


def test_the_environment_turns_traces_on_and_off(gateway_sandbox: RunningSandbox) -> None:
    data = gateway_config(gateway_sandbox)

    def telemetry(env: dict[str, str], **table: Any) -> TelemetryConfig:
        return parse_config({**data, "telemetry": table}, env=env).telemetry

    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert not telemetry({}).traces
    assert telemetry(endpoint).traces and telemetry(endpoint).trace_exporters == ("otlp",)
    assert telemetry({"OTEL_TRACES_EXPORTER": "console"}).trace_exporters == ("console",)
    assert telemetry({}, traces=True).traces
    assert not telemetry(endpoint, traces=False).traces
    assert not telemetry({**endpoint, "C360_TELEMETRY_TRACES": "false"}).traces
    assert not telemetry({**endpoint, "OTEL_TRACES_EXPORTER": "none"}, traces=True).traces
    assert not telemetry({**endpoint, "OTEL_SDK_DISABLED": "true"}, traces=True).traces
    with pytest.raises(ConfigError) as unknown:
        telemetry({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert unknown.value.key == "OTEL_TRACES_EXPORTER"
    with pytest.raises(ConfigError) as grpc:
        telemetry({**endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert grpc.value.key == "OTEL_EXPORTER_OTLP_PROTOCOL"
    assert build_provider(TelemetryConfig()) is None


def test_the_service_is_named_c360_unless_the_environment_names_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert resource().attributes["service.name"] == "c360"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
    assert resource().attributes["deployment.environment"] == "prod"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "c360-eu")
    assert resource().attributes["service.name"] == "c360-eu"


def test_a_statement_is_named_by_its_first_keyword_only() -> None:
    assert sql_operation("  select * from t where email = 'a@b.c'") == "SELECT"
    assert sql_operation("INSERT INTO t VALUES (?)") == "INSERT"
    assert sql_operation("jane@example.com") == "OTHER"
    assert sql_operation(None) == "OTHER"


def test_a_construct_is_named_by_its_kind_never_compiled() -> None:
    """The loyalty adapter's statements are SQLAlchemy constructs: named without their text
    (nor the values bound in them)."""
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateTable

    members = sa.table("members", sa.column("email"))
    assert sql_operation(sa.select(members).where(members.c.email == "jane@x.com")) == "SELECT"
    assert sql_operation(sa.select(members).with_for_update()) == "SELECT"
    assert sql_operation(sa.union(sa.select(members), sa.select(members))) == "SELECT"
    assert sql_operation(sa.insert(members).values(email="jane@x.com")) == "INSERT"
    assert sql_operation(sa.update(members)) == "UPDATE"
    assert sql_operation(sa.delete(members)) == "DELETE"
    assert sql_operation(sa.text("LOCK TABLE members IN EXCLUSIVE MODE")) == "LOCK"
    assert sql_operation(sa.text("'jane@x.com'")) == "OTHER"
    table = sa.Table("t", sa.MetaData(), sa.Column("a", sa.Integer))
    assert sql_operation(CreateTable(table)) == "CREATE"


def test_the_sample_ratio_is_read_and_bounded_and_yields_to_the_sdk_variable(
        gateway_sandbox: RunningSandbox) -> None:
    data = gateway_config(gateway_sandbox)

    def telemetry(env: dict[str, str], **table: Any) -> TelemetryConfig:
        return parse_config({**data, "telemetry": table}, env=env).telemetry

    assert telemetry({}).trace_sample_ratio == 0.1
    assert telemetry({}, trace_sample_ratio=1).trace_sample_ratio == 1.0
    assert telemetry({"C360_TELEMETRY_TRACE_SAMPLE_RATIO": "0.25"}).trace_sample_ratio == 0.25
    for bad in (-0.1, 1.5, "often"):
        with pytest.raises(ConfigError) as refused:
            telemetry({}, trace_sample_ratio=bad)
        assert refused.value.key == "telemetry.trace_sample_ratio"
    chosen = telemetry({"OTEL_TRACES_SAMPLER": "always_off"}, trace_sample_ratio=1)
    assert chosen.trace_sample_ratio is None  # the SDK reads OTEL_TRACES_SAMPLER itself


async def test_a_share_of_requests_is_traced_and_a_callers_sampled_trace_always(
        gateway: Callable[..., Any]) -> None:
    """``trace_sample_ratio`` decides for requests that come without a trace; an untraced
    request makes no span at all, not even for its batches and silo calls; a caller's
    sampled ``traceparent`` is traced whatever the ratio."""
    from gateway.telemetry.traces import sampler_of

    def recorded(ratio: float) -> Recorder:
        recorder = Recorder()
        recorder.provider = TracerProvider(
            shutdown_on_exit=False, sampler=sampler_of(TelemetryConfig(trace_sample_ratio=ratio)))
        recorder.provider.add_span_processor(SimpleSpanProcessor(recorder.exporter))
        return recorder

    never = recorded(0.0)
    async with gateway(config=NO_RATE_LIMITS, tracer_provider=never.provider) as client:
        email = await some_email(client)
        for _ in range(5):
            answered = await client.post("/graphql", json={
                "query": S1_QUERY, "variables": {"email": email}})
            assert answered.status_code == 200 and "errors" not in answered.json()
        assert never.spans() == ()
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        asked = await client.post("/graphql", json={
            "query": S1_QUERY, "variables": {"email": email}},
            headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        assert asked.status_code == 200
        spans = never.spans()
        assert {s.context.trace_id for s in spans} == {int(trace_id, 16)}
        assert {s.kind for s in spans} >= {SpanKind.SERVER, SpanKind.CLIENT}
        assert any(s.name == "c360.batch" for s in spans)
    never.provider.shutdown()

    some = recorded(0.5)
    async with gateway(config=NO_RATE_LIMITS, tracer_provider=some.provider) as client:
        for _ in range(40):
            assert (await client.post("/graphql", json={"query": EMAILS})).status_code == 200
        traced = len([s for s in some.spans() if s.kind is SpanKind.SERVER])
        assert 5 <= traced <= 35  # about half of 40 (by trace id): neither none nor all
    some.provider.shutdown()
