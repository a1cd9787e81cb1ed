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
    """Where the loyalty database is, how many statements run at once, and how long one may
    take.

    TOML keys: ``kind`` (``"loyalty"``), ``url`` (an async SQLAlchemy URL, e.g.
    ``sqlite+aiosqlite:///loyalty.sqlite`` or ``postgresql+asyncpg://user@host/db``),
    ``timeout_ms`` (default 1500: one statement, from when it has its connection),
    ``max_concurrency`` (default 8: statements at once, over all requests; more wait for a slot,
    within their request's budget only), ``pool_size`` (default: ``max_concurrency``, so every
    slot has its pooled connection — on SQLite through aiosqlite, a thread each) and
    ``max_overflow`` (default 0: connections opened beyond the pool when it is exhausted).
    """

    url: str
    timeout_s: float = 1.5
    max_concurrency: int = 8
    pool_size: int | None = None
    """None: ``max_concurrency``."""
    max_overflow: int = 0

    @property
    def pool(self) -> int:
        """Connections the engine keeps."""
        return self.pool_size if self.pool_size is not None else self.max_concurrency

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Read and check ``table``; unknown keys are refused."""
        table.choice("kind", ("loyalty",))
        url = check_async_url(table.key("url"), table.string("url"))
        timeout_ms = table.number("timeout_ms", 1500.0, minimum=1.0)
        max_concurrency = table.integer("max_concurrency", 8, minimum=1)
        pool_size = table.integer("pool_size", None, minimum=1)
        max_overflow = table.integer("max_overflow", 0, minimum=0)
        if (pool_size or max_concurrency) + max_overflow < max_concurrency:
            raise ConfigError(table.key("pool_size"),
                              f"with max_overflow, must be at least max_concurrency "
                              f"({max_concurrency}): a statement would wait for a connection")
        table.finish()
        return cls(url=url, timeout_s=timeout_ms / 1000, max_concurrency=max_concurrency,
                   pool_size=pool_size, max_overflow=max_overflow)
