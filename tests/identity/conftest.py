from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def registry_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """The registry's engine: SQLite file, and the real PostgreSQL server."""
    if request.param == "sqlite":
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}")
    else:
        url, connect_args = request.getfixturevalue("postgres_async_engine_args")
        engine = create_async_engine(url, connect_args=connect_args)
    yield engine
    await engine.dispose()
