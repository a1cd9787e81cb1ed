"""The SQLite registry a gateway opens runs in write-ahead-log mode: a reader in the middle of a
transaction (a request) does not hold a writer (the crawl, a re-check, the audit log) back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.sql import create_engine
from identity.registry import tune_sqlite

pytestmark = pytest.mark.anyio


async def test_a_reader_mid_transaction_does_not_block_a_writer(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}")
    tune_sqlite(engine)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar()
        assert mode == "wal"
        async with engine.connect() as reader:
            await reader.execute(sa.text("BEGIN"))
            assert (await reader.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 1
            async with asyncio.timeout(2), engine.begin() as writer:  # would wait 5 s, then fail
                await writer.execute(sa.text("INSERT INTO t VALUES (2)"))
            # the reader's snapshot is unchanged until its transaction ends
            assert (await reader.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 1
    finally:
        await engine.dispose()
