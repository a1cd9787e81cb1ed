"""``[telemetry]``: logs and metrics.

```toml
[telemetry]
log_level = "info"      # debug, info, warning, error
log_format = "json"     # one JSON object per line; "text" (the default) for a terminal
metrics = true          # GET /metrics, Prometheus text format (scope metrics:read)
```
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config import Table
from adapters.errors import ConfigError

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


@dataclass(frozen=True)
class TelemetryConfig:
    log_level: str = "info"
    log_format: str = "text"
    metrics: bool = True
    """Serve ``/metrics`` (to principals with the ``metrics:read`` scope)."""


def parse_telemetry(table: Table) -> TelemetryConfig:
    level = table.string("log_level", "info").lower()
    if level not in LEVELS:
        raise ConfigError(table.key("log_level"), f"must be one of {', '.join(LEVELS)}")
    log_format = table.string("log_format", "text").lower()
    if log_format not in FORMATS:
        raise ConfigError(table.key("log_format"), f"must be one of {', '.join(FORMATS)}")
    config = TelemetryConfig(log_level=level, log_format=log_format,
                             metrics=table.boolean("metrics", True))
    table.finish()
    return config
