"""``[limits]`` and ``[persisted]``: per-role query limits and persisted operations."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config import Table


@dataclass(frozen=True)
class LimitsConfig:
    introspection: bool = False
    suggestions: bool = False


def parse_limits(table: Table) -> LimitsConfig:
    config = LimitsConfig(introspection=table.boolean("introspection", False),
                          suggestions=table.boolean("suggestions", False))
    table.finish()
    return config
