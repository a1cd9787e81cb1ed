"""``[sources.<name>]`` tables of kind ``loyalty``."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.config import Table
from adapters.errors import ConfigError
from adapters.loyalty import LoyaltyConfig


def table(data: dict[str, Any], env: dict[str, str] | None = None) -> Table:
    return Table(data, "sources.loyalty", env or {})


def test_reads_the_sandbox_table() -> None:
    config = LoyaltyConfig.from_table(table({
        "kind": "loyalty", "url": "sqlite+aiosqlite:////srv/loyalty.sqlite", "timeout_ms": 1500}))
    assert config == LoyaltyConfig("sqlite+aiosqlite:////srv/loyalty.sqlite", 1.5, 8)
    assert (config.pool, config.max_overflow) == (8, 0)  # a connection for every slot


def test_defaults_and_environment_overrides() -> None:
    config = LoyaltyConfig.from_table(table(
        {"kind": "loyalty", "url": "postgresql+asyncpg://reader@db/loyalty"},
        {"C360_SOURCES_LOYALTY_URL": "postgresql+asyncpg://reader:pw@db2/loyalty",
         "C360_SOURCES_LOYALTY_TIMEOUT_MS": "250", "C360_SOURCES_LOYALTY_MAX_CONCURRENCY": "2"}))
    assert config.url == "postgresql+asyncpg://reader:pw@db2/loyalty"
    assert (config.timeout_s, config.max_concurrency) == (0.25, 2)
    assert LoyaltyConfig.from_table(table(
        {"kind": "loyalty", "url": "sqlite+aiosqlite://"})).timeout_s == 1.5


@pytest.mark.parametrize(("data", "key", "problem"), [
    ({"kind": "loyalty"}, "sources.loyalty.url", "required"),
    ({"kind": "loyalty", "url": "postgresql://u:pw@db/x"}, "sources.loyalty.url",
     "async driver"),
    ({"kind": "loyalty", "url": "not a url"}, "sources.loyalty.url", "SQLAlchemy"),
    ({"kind": "loyalty", "url": "sqlite+aiosqlite://", "timeout_ms": 0},
     "sources.loyalty.timeout_ms", "at least"),
    ({"kind": "loyalty", "url": "sqlite+aiosqlite://", "timeout": 5},
     "sources.loyalty.timeout", "unknown key"),
    ({"kind": "shopify", "url": "sqlite+aiosqlite://"}, "sources.loyalty.kind", "one of"),
])
def test_errors_name_the_key(data: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LoyaltyConfig.from_table(table(data))
    assert caught.value.key == key and problem in caught.value.problem
    assert "pw" not in str(caught.value)
