"""``[rate_limits]``: token buckets per principal, defaults per role."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config import Table


@dataclass(frozen=True)
class RateLimitConfig:
    enabled: bool = True


def parse_rate_limits(table: Table) -> RateLimitConfig:
    config = RateLimitConfig(enabled=table.boolean("enabled", True))
    table.finish()
    return config
