"""Create and fill the loyalty database (SQLite file by default, PostgreSQL given a URL)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from silos.loyalty.schema import loyalty_member, metadata, points_ledger

_BATCH = 5_000


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def create_loyalty_engine(url: str) -> sa.Engine:
    """A synchronous engine for seeding; ``postgresql://`` URLs use the psycopg driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_schema(engine: sa.Engine, *, drop_existing: bool = False) -> None:
    """Create the two tables (and the ledger index); optionally drop them first."""
    if drop_existing:
        metadata.drop_all(engine)
    metadata.create_all(engine)


def _insert(engine: sa.Engine, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    batch: list[Mapping[str, Any]] = []
    with engine.begin() as conn:
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                conn.execute(table.insert(), batch)
                count += len(batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
            count += len(batch)
    return count


def load_members(engine: sa.Engine, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``loyalty_member`` rows (dicts keyed by column name); returns the count."""
    return _insert(engine, loyalty_member, rows)


def load_points(engine: sa.Engine, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``points_ledger`` rows (dicts keyed by column name); returns the count."""
    return _insert(engine, points_ledger, rows)
