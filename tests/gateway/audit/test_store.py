"""The PII access audit log on SQLite and on the real PostgreSQL server: appended and read
back newest first, UPDATE and DELETE refused by the database itself, concurrent writes
group-committed, a failed write a typed error for every request waiting on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
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
    commits: list[object] = []
    counted = commits.append
    sa.event.listen(registry_engine.sync_engine, "commit", counted)
    await asyncio.gather(*(log.record([_record(f"cus_{i}", i, request_id=f"r{i}")])
                           for i in range(100)))
    sa.event.remove(registry_engine.sync_engine, "commit", counted)
    assert len(await log.query([f"cus_{i}" for i in range(100)])) == 100
    assert 1 <= len(commits) <= 5 and log.commits == len(commits)


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


async def test_times_are_compared_and_returned_in_utc(registry_engine: AsyncEngine) -> None:
    log = AuditLog(registry_engine)
    await log.create()
    paris = timezone(timedelta(hours=1))
    await log.record([AccessRecord(at=datetime(2026, 12, 1, 10, 30, tzinfo=paris),
                                   request_id="r1", subject="agent-7", role="agent",
                                   method="jwt", golden_id="cus_a", groups=("contact",))])
    [found] = await log.query(["cus_a"])
    assert found.at == T0 + timedelta(minutes=30) and found.at.utcoffset() == timedelta(0)
    new_york = timezone(timedelta(hours=-5))
    assert await log.query(["cus_a"], since=datetime(2026, 12, 1, 4, 31, tzinfo=new_york)) == []
    assert len(await log.query(["cus_a"], since=datetime(2026, 12, 1, 4, 29,
                                                         tzinfo=new_york))) == 1


async def test_workers_starting_together_create_it_once(registry_engine: AsyncEngine) -> None:
    await asyncio.gather(*(AuditLog(registry_engine).create() for _ in range(4)))
    log = AuditLog(registry_engine)
    await log.record([_record("cus_a", 1)])
    with pytest.raises(DBAPIError, match="append-only"):
        async with registry_engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM pii_access_audit"))
    assert len(await log.query(["cus_a"])) == 1


class _Stuck:
    """An engine whose transactions never start, or fail with a message quoting a row."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.entered = asyncio.Event()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[None]:
        self.entered.set()
        if self.error is not None:
            raise self.error
        await asyncio.Event().wait()
        yield


async def test_any_failure_is_the_typed_error_without_the_row(
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(create_async_engine("sqlite+aiosqlite://"))
    monkeypatch.setattr(log, "engine", _Stuck(RuntimeError("row agent-7 cus_a contact")))
    results = await asyncio.gather(*(log.record([_record("cus_a", i)]) for i in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, AuditUnavailable) for r in results)
    assert not any("cus_a" in str(r) or "agent-7" in str(r) for r in results)


async def test_a_shutdown_mid_write_wakes_every_waiter(monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(create_async_engine("sqlite+aiosqlite://"))
    stuck = _Stuck()
    monkeypatch.setattr(log, "engine", stuck)
    writing = asyncio.gather(*(log.record([_record("cus_a", i)]) for i in range(3)),
                             return_exceptions=True)
    await stuck.entered.wait()
    queued = asyncio.ensure_future(log.record([_record("cus_b", 9)]))
    await asyncio.sleep(0)
    assert log._flushing is not None
    log._flushing.cancel()
    results = [*await writing, *await asyncio.gather(queued, return_exceptions=True)]
    assert len(results) == 4 and all(isinstance(r, AuditUnavailable) for r in results)


async def test_a_flush_cancelled_before_it_starts_wakes_its_waiter(
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(create_async_engine("sqlite+aiosqlite://"))
    monkeypatch.setattr(log, "engine", _Stuck())
    waiting = asyncio.ensure_future(log.record([_record("cus_a", 1)]))
    await asyncio.sleep(0)
    assert log._flushing is not None
    log._flushing.cancel()
    with pytest.raises(AuditUnavailable):
        await asyncio.wait_for(waiting, timeout=5)


async def test_a_bad_limit_is_refused(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}")
    log = AuditLog(engine)
    await log.create()
    with pytest.raises(ValueError, match="limit"):
        await log.query(["cus_a"], limit=0)
    await engine.dispose()
