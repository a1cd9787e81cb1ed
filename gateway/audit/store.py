"""The PII access audit log, beside the registry (same database: SQLite by default,
PostgreSQL in production).

Append-only twice over: this class offers no update or delete, and the database refuses both
(triggers created with the table). Writes are **group-committed**: concurrent requests' records
go in one transaction, each request awaiting the commit that holds its rows, so an answer is
never sent before its audit record is durable and a busy gateway still pays one write per batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from adapters.errors import GatewayError

metadata = sa.MetaData()

pii_access_audit = sa.Table(
    "pii_access_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("golden_id", sa.String(64), nullable=False),
    sa.Column("field_groups", sa.String(256), nullable=False),
    sa.Column("operation_name", sa.String(128)),
    sa.Index("ix_pii_access_audit_golden_at", "golden_id", "at"),
)

_SQLITE_GUARDS = [
    f"CREATE TRIGGER IF NOT EXISTS pii_access_audit_no_{verb.lower()} BEFORE {verb} ON "
    f"pii_access_audit BEGIN SELECT RAISE(ABORT, 'pii_access_audit is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]
_POSTGRES_GUARDS = [
    # gateway workers starting together: one at a time creates the table and its guard
    "SELECT pg_advisory_xact_lock(hashtext('pii_access_audit'))",
    """CREATE OR REPLACE FUNCTION pii_access_audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'pii_access_audit is append-only'; END; $$ LANGUAGE plpgsql""",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'pii_access_audit_no_change'
                        AND tgrelid = 'pii_access_audit'::regclass) THEN
           CREATE TRIGGER pii_access_audit_no_change BEFORE UPDATE OR DELETE OR TRUNCATE
             ON pii_access_audit FOR EACH STATEMENT
             EXECUTE FUNCTION pii_access_audit_append_only();
         END IF;
       END $$""",
]
BATCH = 500


class AuditUnavailable(GatewayError):
    """The audit record could not be written: the answer is withheld (fail closed)."""

    code = "AUDIT_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """Who read which groups of a customer's personal data, in which request — never the
    values."""

    at: datetime
    request_id: str
    subject: str
    role: str
    method: str
    golden_id: str
    groups: tuple[str, ...]
    operation_name: str | None = None


def _utc(moment: datetime) -> datetime:
    """Stored and compared in UTC (SQLite keeps no offset); a naive time is taken as UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _settle(waiting: list[tuple[AccessRecord, asyncio.Future[None]]],
            failure: BaseException | None) -> None:
    """Wake each waiting request: committed, or :class:`AuditUnavailable` naming only the kind
    of failure (a database error's text may quote the row)."""
    for _, done in waiting:
        if done.done():
            continue
        if failure is None:
            done.set_result(None)
        else:
            done.set_exception(AuditUnavailable(
                f"audit log write failed ({type(failure).__name__})"))


class AuditLog:
    """The append-only PII access audit over an engine (the registry's): :meth:`record` and
    :meth:`query`, nothing that changes or removes a record."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pending: list[tuple[AccessRecord, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.commits = 0

    async def create(self) -> None:
        """Create the table, its index and the triggers refusing UPDATE and DELETE (and
        TRUNCATE on PostgreSQL); idempotent, safe for workers starting together."""
        postgres = self.engine.dialect.name == "postgresql"
        async with self.engine.begin() as conn:
            if postgres:
                await conn.execute(sa.text(_POSTGRES_GUARDS[0]))
            await conn.execute(CreateTable(pii_access_audit, if_not_exists=True))
            for index in pii_access_audit.indexes:
                await conn.execute(CreateIndex(index, if_not_exists=True))
            for statement in _POSTGRES_GUARDS[1:] if postgres else _SQLITE_GUARDS:
                await conn.execute(sa.text(statement))

    async def record(self, entries: Sequence[AccessRecord]) -> None:
        """Append ``entries``; returns once they are committed (with whatever other requests
        recorded meanwhile). Raises :class:`AuditUnavailable` if the write fails."""
        if not entries:
            return
        loop = asyncio.get_running_loop()
        waits = []
        for entry in entries:
            done: asyncio.Future[None] = loop.create_future()
            self._pending.append((entry, done))
            waits.append(done)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush())
            self._flushing.add_done_callback(self._flushed)
        await asyncio.gather(*waits)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() and self._flushing is task:  # cancelled before it even started
            stranded, self._pending = self._pending, []
            _settle(stranded, asyncio.CancelledError())

    async def _flush(self) -> None:
        batch: list[tuple[AccessRecord, asyncio.Future[None]]] = []
        try:
            await asyncio.sleep(0)  # let the requests finishing in this loop turn join the batch
            while self._pending:
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
                try:
                    await self._insert(batch)
                except Exception as exc:  # fail closed, whatever broke
                    _settle(batch, exc)
                    continue
                self.commits += 1
                _settle(batch, None)
            batch = []
        except BaseException as exc:  # cancelled (shutdown): no waiter may hang
            stranded, self._pending = batch + self._pending, []
            _settle(stranded, exc)
            raise

    async def _insert(self, batch: list[tuple[AccessRecord, asyncio.Future[None]]]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(pii_access_audit.insert(), [{
                "at": _utc(e.at), "request_id": e.request_id, "subject": e.subject,
                "role": e.role, "method": e.method, "golden_id": e.golden_id,
                "field_groups": ",".join(e.groups),
                "operation_name": e.operation_name} for e, _ in batch])

    async def query(self, golden_ids: Sequence[str], since: datetime | None = None,
                    limit: int = 1000) -> list[AccessRecord]:
        """Records about these customers, newest first."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        table = pii_access_audit
        statement = sa.select(table).where(table.c.golden_id.in_(list(golden_ids)))
        if since is not None:
            statement = statement.where(table.c.at >= _utc(since))
        statement = statement.order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [AccessRecord(
            at=_utc(row["at"]),
            request_id=row["request_id"], subject=row["subject"],
            role=row["role"], method=row["method"], golden_id=row["golden_id"],
            groups=tuple(g for g in row["field_groups"].split(",") if g),
            operation_name=row["operation_name"]) for row in rows]
