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
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

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
    """CREATE OR REPLACE FUNCTION pii_access_audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'pii_access_audit is append-only'; END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS pii_access_audit_no_change ON pii_access_audit",
    """CREATE TRIGGER pii_access_audit_no_change BEFORE UPDATE OR DELETE OR TRUNCATE
       ON pii_access_audit FOR EACH STATEMENT EXECUTE FUNCTION pii_access_audit_append_only()""",
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


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pending: list[tuple[AccessRecord, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.commits = 0

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            guards = _POSTGRES_GUARDS if self.engine.dialect.name == "postgresql" \
                else _SQLITE_GUARDS
            for statement in guards:
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
        await asyncio.gather(*waits)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the requests finishing in this loop turn join the batch
        while self._pending:
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(pii_access_audit.insert(), [{
                        "at": e.at, "request_id": e.request_id, "subject": e.subject,
                        "role": e.role, "method": e.method, "golden_id": e.golden_id,
                        "field_groups": ",".join(e.groups),
                        "operation_name": e.operation_name} for e, _ in batch])
                self.commits += 1
            except (SQLAlchemyError, OSError) as exc:
                failure = AuditUnavailable(f"audit log write failed ({type(exc).__name__})")
                for _, done in batch:
                    if not done.done():
                        done.set_exception(failure)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def query(self, golden_ids: Sequence[str], since: datetime | None = None,
                    limit: int = 1000) -> list[AccessRecord]:
        """Records about these customers, newest first."""
        table = pii_access_audit
        statement = sa.select(table).where(table.c.golden_id.in_(list(golden_ids)))
        if since is not None:
            statement = statement.where(table.c.at >= since)
        statement = statement.order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [AccessRecord(
            at=row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=UTC),
            request_id=row["request_id"], subject=row["subject"],
            role=row["role"], method=row["method"], golden_id=row["golden_id"],
            groups=tuple(g for g in row["field_groups"].split(",") if g),
            operation_name=row["operation_name"]) for row in rows]
