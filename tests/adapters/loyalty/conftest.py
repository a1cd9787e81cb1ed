"""Loyalty databases for the adapter tests: SQLite files and the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from silos.generator import Sandbox, generate
from silos.loyalty import create_loyalty_engine, create_schema, load_members, load_points

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def loyalty_data() -> Sandbox:
    """One generated population (its loyalty rows are what every test asserts against)."""
    return generate(customers=300, seed=23)


def database_urls(request: pytest.FixtureRequest, tmp_path: Path
                  ) -> tuple[str, str, dict[str, Any]]:
    """(sync seeding URL, async URL, async connect_args) of a fresh, empty database."""
    if request.param == "sqlite":
        path = tmp_path / "loyalty.sqlite"
        return f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}", {}
    url, connect_args = request.getfixturevalue("postgres_async_engine_args")
    return request.getfixturevalue("postgres_schema_url"), url, connect_args


@pytest.fixture(params=ENGINES)
def seeding_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    """A fresh database's URLs; tests fill it themselves (or leave it empty)."""
    return database_urls(request, tmp_path)


@pytest.fixture
async def empty_engine(seeding_url: tuple[str, str, dict[str, Any]]
                       ) -> AsyncIterator[AsyncEngine]:
    """An async engine on a database without the loyalty tables."""
    _, url, connect_args = seeding_url
    engine = create_async_engine(url, connect_args=connect_args)
    yield engine
    await engine.dispose()


@pytest.fixture
def sync_engine(seeding_url: tuple[str, str, dict[str, Any]]) -> Iterator[sa.Engine]:
    """A sync engine on the same database, for seeding and for holding locks."""
    engine = create_loyalty_engine(seeding_url[0])
    yield engine
    engine.dispose()


@pytest.fixture
async def loyalty_engine(sync_engine: sa.Engine, empty_engine: AsyncEngine,
                         loyalty_data: Sandbox) -> AsyncEngine:
    """An async engine on the loyalty tables filled from :func:`loyalty_data`."""
    create_schema(sync_engine)
    load_members(sync_engine, loyalty_data.loyalty_members)
    load_points(sync_engine, loyalty_data.loyalty_points)
    return empty_engine


class StatementLog:
    """The SQL statements an engine sent that touch the loyalty tables."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "loyalty_member" in statement or "points_ledger" in statement:
            self.statements.append(statement)

    def reset(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def statement_log(loyalty_engine: AsyncEngine) -> Iterator[StatementLog]:
    """Records the statements ``loyalty_engine`` executes from now on."""
    log = StatementLog()
    sa.event.listen(loyalty_engine.sync_engine, "before_cursor_execute", log)
    yield log
    sa.event.remove(loyalty_engine.sync_engine, "before_cursor_execute", log)

