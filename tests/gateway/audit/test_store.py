"""The PII access audit log on SQLite and on the real PostgreSQL server: appended and read
back newest first, UPDATE and DELETE refused by the database itself, concurrent writes
group-committed, a failed write a typed error for every request waiting on it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.audit.store import AccessRecord, AuditLog, AuditUnavailable

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _record(golden: str, minutes: int, groups: tuple[str, ...] = ("contact",),
            request_id: str = "r1") -> AccessRecord:
    return AccessRecord(at=T0 + timedelta(minutes=minutes), request_id=request_id,
                        subject="agent-7", role="agent", method="jwt", golden_id=golden,
                        groups=groups, operation_name="Caller")


async def test_appended_and_read_newest_first(registry_engine: AsyncEngine) -> None:
    log = AuditLog(registry_engine)
    await log.create()
    await log.create()  # idempotent
    await log.record([_record("cus_a", 1), _record("cus_b", 2, ("orders", "tickets"))])
    await log.record([_record("cus_a", 3, ("name",), "r2")])
    found = await log.query(["cus_a"])
    assert [(r.request_id, r.groups, r.at) for r in found] == [
        ("r2", ("name",), T0 + timedelta(minutes=3)), ("r1", ("contact",), T0 + timedelta(
            minutes=1))]
    assert [r.golden_id for r in await log.query(["cus_a", "cus_b"],
                                                 since=T0 + timedelta(minutes=2))] == [
        "cus_a", "cus_b"]
    assert await log.query(["cus_nobody"]) == []


@pytest.mark.parametrize("statement", [
    "UPDATE pii_access_audit SET subject = 'someone-else'",
    "DELETE FROM pii_access_audit",
])
async def test_the_database_refuses_to_change_or_remove_a_record(
        registry_engine: AsyncEngine, statement: str) -> None:
    log = AuditLog(registry_engine)
    await log.create()
    await log.record([_record("cus_a", 1)])
    with pytest.raises(DBAPIError, match="append-only"):
        async with registry_engine.begin() as conn:
            await conn.execute(sa.text(statement))
    assert [r.subject for r in await log.query(["cus_a"])] == ["agent-7"]


async def test_concurrent_requests_share_commits(registry_engine: AsyncEngine) -> None:
    log = AuditLog(registry_engine)
    await log.create()
    await asyncio.gather(*(log.record([_record(f"cus_{i}", i, request_id=f"r{i}")])
                           for i in range(100)))
    assert len(await log.query([f"cus_{i}" for i in range(100)])) == 100
    assert log.commits <= 5


async def test_a_failed_write_reaches_every_waiting_request(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}")
    log = AuditLog(engine)
    await log.create()
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE pii_access_audit"))
    results = await asyncio.gather(*(log.record([_record("cus_a", i)]) for i in range(3)),
                                   return_exceptions=True)
    await engine.dispose()
    assert all(isinstance(r, AuditUnavailable) for r in results)
    assert all(r.code == "AUDIT_UNAVAILABLE" for r in results)  # type: ignore[union-attr]
