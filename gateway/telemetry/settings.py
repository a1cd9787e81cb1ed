"""``[telemetry]``: logs, metrics and traces.

```toml
[telemetry]
log_level = "info"      # debug, info, warning, error
log_format = "json"     # one JSON object per line; "text" (the default) for a terminal
metrics = true          # GET /metrics, Prometheus text format (scope metrics:read)
traces = true           # OpenTelemetry spans over OTLP (http/protobuf); see below
trace_sample_ratio = 0.1  # the share of requests traced (unless OTEL_TRACES_SAMPLER is set)
```

``traces`` defaults to on when the environment asks for them the OpenTelemetry way — it sets
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or
``OTEL_TRACES_EXPORTER`` — and to off otherwise; ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` turn them off whatever the file says. The SDK reads the other
``OTEL_*`` variables itself (:mod:`gateway.telemetry.traces`).

Which requests are traced: those whose caller's ``traceparent`` says so, and of the others a
``trace_sample_ratio`` share (by trace id: ``parentbased_traceidratio``; 1 traces every
request, 0 only those the caller samples). A span costs the worker about 100 µs (recorded and
exported) and an S1 query makes 19 of them: tracing every request costs a CPU-bound worker
about a fifth of its CPU per query, a tenth of them about 2 % (``python -m bench.operations
--cells telemetry``). ``OTEL_TRACES_SAMPLER`` (and its
``_ARG``), when set, is the SDK's to read and the ratio is not used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.config import Table
from adapters.errors import ConfigError

LEVELS = ("debug", "info", "warning", "error")
ACCESS_LOGGED = ("debug", "info")
"""Levels at which each GraphQL request's ``c360.access`` line is written."""
FORMATS = ("text", "json")
DEFAULT_SAMPLE_RATIO = 0.1
TRACE_EXPORTERS = ("otlp", "console")
"""``OTEL_TRACES_EXPORTER`` values served (a comma-separated list of them, or ``none``)."""


@dataclass(frozen=True)
class TelemetryConfig:
    log_level: str = "info"
    log_format: str = "text"
    metrics: bool = True
    """Serve ``/metrics`` (to principals with the ``metrics:read`` scope)."""
    traces: bool = False
    """Record OpenTelemetry spans and export them (module doc)."""
    trace_exporters: tuple[str, ...] = ("otlp",)
    """Where spans go: ``otlp`` (http/protobuf), ``console`` (stdout, for a terminal)."""
    trace_sample_ratio: float | None = DEFAULT_SAMPLE_RATIO
    """The share of the requests not sampled by their caller that are traced; None when
    ``OTEL_TRACES_SAMPLER`` chooses the sampler (module doc)."""


def trace_exporters(env: Mapping[str, str]) -> tuple[tuple[str, ...], bool]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names (``otlp`` when unset), and whether the
    environment asks for traces (module doc)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return (), False
    named = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    exporters = tuple(dict.fromkeys(n.strip() for n in named.split(",") if n.strip()))
    for name in exporters:
        if name not in (*TRACE_EXPORTERS, "none"):
            raise ConfigError("OTEL_TRACES_EXPORTER",
                              f"must be {', '.join(TRACE_EXPORTERS)} or none, not {name!r}")
    if "none" in exporters:
        return (), False
    if not exporters:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT")
        return ("otlp",), bool(endpoint)
    return exporters, True


def parse_telemetry(table: Table) -> TelemetryConfig:
    level = table.string("log_level", "info").lower()
    if level not in LEVELS:
        raise ConfigError(table.key("log_level"), f"must be one of {', '.join(LEVELS)}")
    log_format = table.string("log_format", "text").lower()
    if log_format not in FORMATS:
        raise ConfigError(table.key("log_format"), f"must be one of {', '.join(FORMATS)}")
    exporters, wanted = trace_exporters(table.env)
    traces = bool(table.boolean("traces", wanted)) and bool(exporters)
    if traces and "otlp" in exporters:
        protocol = (table.env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                    or table.env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
        if protocol.strip().lower() != "http/protobuf":
            raise ConfigError("OTEL_EXPORTER_OTLP_PROTOCOL",
                              f"only http/protobuf is served, not {protocol!r}")
    ratio = table.number("trace_sample_ratio", DEFAULT_SAMPLE_RATIO, minimum=0.0)
    if ratio > 1.0:
        raise ConfigError(table.key("trace_sample_ratio"), "must be between 0 and 1")
    if table.env.get("OTEL_TRACES_SAMPLER", "").strip():
        ratio = None
    config = TelemetryConfig(log_level=level, log_format=log_format,
                             metrics=table.boolean("metrics", True), traces=traces,
                             trace_exporters=exporters if traces else ("otlp",),
                             trace_sample_ratio=ratio)
    table.finish()
    return config
