"""The loyalty source's configuration: ``[sources.<name>]`` with ``kind = "loyalty"``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.config import Table
from adapters.errors import ConfigError

ASYNC_DRIVERS = frozenset({
    "sqlite+aiosqlite",
    "postgresql+asyncpg",
    "postgresql+psycopg",
    "postgresql+psycopg_async",
})
"""The async SQLAlchemy drivers the loyalty queries are written (and tested) for."""


def check_async_url(key: str, url: str) -> str:
    """``url`` when it is an async SQLAlchemy URL on a supported driver; the error never echoes
    the URL (it may carry a password)."""
    try:
        driver = make_url(url).drivername
    except ArgumentError:
        raise ConfigError(key, "must be an SQLAlchemy database URL") from None
    if driver not in ASYNC_DRIVERS:
        raise ConfigError(
            key, f"must use an async driver ({', '.join(sorted(ASYNC_DRIVERS))}), not {driver}")
    return url


@dataclass(frozen=True, slots=True)
class LoyaltyConfig:
    """Where the loyalty database is and how long one query may take.

    TOML keys: ``kind`` (``"loyalty"``), ``url`` (an async SQLAlchemy URL, e.g.
    ``sqlite+aiosqlite:///loyalty.sqlite`` or ``postgresql+asyncpg://user@host/db``),
    ``timeout_ms`` (default 1500) and ``max_concurrency`` (default 4: chunks of one large
    batch queried at once).
    """

    url: str
    timeout_s: float = 1.5
    max_concurrency: int = 4

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Read and check ``table``; unknown keys are refused."""
        table.choice("kind", ("loyalty",))
        url = check_async_url(table.key("url"), table.string("url"))
        timeout_ms = table.number("timeout_ms", 1500.0, minimum=1.0)
        max_concurrency = table.integer("max_concurrency", 4, minimum=1)
        table.finish()
        return cls(url=url, timeout_s=timeout_ms / 1000, max_concurrency=max_concurrency)
