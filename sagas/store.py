"""Saga state and idempotency keys, persisted in the registry's database (SQLite by default,
PostgreSQL in production), so that a saga survives the process that started it.

``saga``: one row per mutation call — its journey, the caller's idempotency key (unique per
caller), a hash of its input, the input itself (to resume it), its status and, once finished,
its result or the failed step and the error code. ``saga_step``: one row per step and its
state. ``mutation_audit``: who called which mutation, which silos it wrote to, and how it ended
(append-only, beside the PII access audit).

A worker driving a saga holds a **lease** on it (``lease_owner``, ``lease_until``), renewed as
it goes; a saga in flight whose lease ran out (its worker died) is taken over by the recovery
of another worker or of the next start.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import create_tables

metadata = sa.MetaData()

saga = sa.Table(
    "saga",
    metadata,
    sa.Column("saga_id", sa.String(40), primary_key=True),
    sa.Column("journey", sa.String(64), nullable=False),
    sa.Column("key_scope", sa.String(256), nullable=False),
    sa.Column("idempotency_key", sa.String(256), nullable=False),
    sa.Column("input_hash", sa.String(64), nullable=False),
    sa.Column("input", sa.Text, nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.Text),
    sa.Column("failed_step", sa.String(64)),
    sa.Column("error_code", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("key_scope", "idempotency_key", name="uq_saga_key"),
    sa.Index("ix_saga_status", "status"),
)

saga_step = sa.Table(
    "saga_step",
    metadata,
    sa.Column("saga_id", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("output", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_code", sa.String(64)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

mutation_audit = sa.Table(
    "mutation_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("saga_id", sa.String(40), nullable=False),
    sa.Column("journey", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("sources", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_code", sa.String(64)),
    sa.Column("failed_step", sa.String(64)),
)


class SagaStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    """Steps are being applied (or, after a crash, waiting to be resumed)."""
    COMPENSATING = "COMPENSATING"
    """A step failed; completed steps are being undone."""
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    """A step failed and every completed step was undone: nothing is left half-done."""
    FAILED = "FAILED"
    """A compensation failed too: it needs a person (``c360 sagas --failed``)."""


FINAL = frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED})


class StepStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    """Sent, outcome not yet known (read back before anything else happens to it)."""
    DONE = "DONE"
    FAILED = "FAILED"
    COMPENSATED = "COMPENSATED"
    NOT_COMPENSATED = "NOT_COMPENSATED"


@dataclass(frozen=True, slots=True)
class StepState:
    position: int
    name: str
    source: str
    status: StepStatus
    output: Any
    attempts: int
    error_code: str | None


@dataclass(frozen=True, slots=True)
class SagaState:
    saga_id: str
    journey: str
    idempotency_key: str
    input_hash: str
    input: Any
    subject: str
    role: str
    status: SagaStatus
    result: Any
    failed_step: str | None
    error_code: str | None
    created_at: datetime
    updated_at: datetime
    steps: tuple[StepState, ...]

    @property
    def undone(self) -> list[str]:
        return [s.name for s in self.steps if s.status is StepStatus.COMPENSATED]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class SagaStore:
    """The tables above over an engine (the registry's)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self) -> None:
        """Create the tables if missing; safe for workers starting together."""
        await create_tables(self.engine, metadata, "c360_sagas")

    def _insert(self) -> Any:
        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    async def begin(self, *, saga_id: str, journey: str, key_scope: str, key: str,
                    input_hash: str, input: Any, subject: str, role: str,
                    steps: Sequence[tuple[str, str]], owner: str, lease_s: float,
                    ) -> tuple[str, bool]:
        """Record a new saga and its steps, leased to ``owner`` — unless the caller's key is
        taken: then the existing saga's id and False (one of concurrent duplicates wins)."""
        now = _now()
        stmt = self._insert()(saga).values(
            saga_id=saga_id, journey=journey, key_scope=key_scope, idempotency_key=key,
            input_hash=input_hash, input=dumps(input), subject=subject, role=role,
            status=SagaStatus.RUNNING.value, created_at=now, updated_at=now,
            lease_owner=owner, lease_until=now + timedelta(seconds=lease_s),
        ).on_conflict_do_nothing(index_elements=["key_scope", "idempotency_key"]).returning(
            saga.c.saga_id)
        async with self.engine.begin() as conn:
            created = (await conn.execute(stmt)).first() is not None
            if created:
                await conn.execute(saga_step.insert(), [
                    {"saga_id": saga_id, "position": i, "name": name, "source": source,
                     "status": StepStatus.PENDING.value, "attempts": 0, "updated_at": now}
                    for i, (name, source) in enumerate(steps)])
                return saga_id, True
            existing = (await conn.execute(sa.select(saga.c.saga_id).where(
                saga.c.key_scope == key_scope, saga.c.idempotency_key == key))).scalar_one()
            return str(existing), False

    async def find(self, key_scope: str, key: str) -> tuple[str, str] | None:
        """The id and input hash of the saga started with this key, if any."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(saga.c.saga_id, saga.c.input_hash).where(
                saga.c.key_scope == key_scope, saga.c.idempotency_key == key))).first()
        return None if row is None else (str(row.saga_id), str(row.input_hash))

    async def lease_owner(self, saga_id: str) -> str | None:
        async with self.engine.connect() as conn:
            owner = (await conn.execute(sa.select(saga.c.lease_owner).where(
                saga.c.saga_id == saga_id))).scalar()
        return None if owner is None else str(owner)

    async def load(self, saga_id: str) -> SagaState | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(saga).where(
                saga.c.saga_id == saga_id))).first()
            if row is None:
                return None
            steps = (await conn.execute(sa.select(saga_step).where(
                saga_step.c.saga_id == saga_id).order_by(saga_step.c.position))).all()
        return SagaState(
            saga_id=row.saga_id, journey=row.journey, idempotency_key=row.idempotency_key,
            input_hash=row.input_hash, input=orjson.loads(row.input), subject=row.subject,
            role=row.role, status=SagaStatus(row.status),
            result=None if row.result is None else orjson.loads(row.result),
            failed_step=row.failed_step, error_code=row.error_code,
            created_at=_utc(row.created_at) or _now(), updated_at=_utc(row.updated_at) or _now(),
            steps=tuple(StepState(
                position=s.position, name=s.name, source=s.source, status=StepStatus(s.status),
                output=None if s.output is None else orjson.loads(s.output),
                attempts=s.attempts, error_code=s.error_code) for s in steps))

    async def step(self, saga_id: str, position: int, status: StepStatus, *,
                   output: Any = None, error_code: str | None = None, attempt: bool = False,
                   owner: str, lease_s: float) -> None:
        """Record a step's new state and renew the lease, in one transaction."""
        now = _now()
        values: dict[str, Any] = {"status": status.value, "updated_at": now}
        if output is not None:
            values["output"] = dumps(output)
        if error_code is not None:
            values["error_code"] = error_code
        if attempt:
            values["attempts"] = saga_step.c.attempts + 1
        async with self.engine.begin() as conn:
            await conn.execute(saga_step.update().where(
                saga_step.c.saga_id == saga_id, saga_step.c.position == position,
            ).values(**values))
            await conn.execute(saga.update().where(saga.c.saga_id == saga_id).values(
                updated_at=now, lease_owner=owner,
                lease_until=now + timedelta(seconds=lease_s)))

    async def set_status(self, saga_id: str, status: SagaStatus, *, result: Any = None,
                         failed_step: str | None = None, error_code: str | None = None,
                         release: bool = False) -> None:
        values: dict[str, Any] = {"status": status.value, "updated_at": _now()}
        if result is not None:
            values["result"] = dumps(result)
        if failed_step is not None:
            values["failed_step"] = failed_step
        if error_code is not None:
            values["error_code"] = error_code
        if release or status in FINAL:
            values["lease_owner"] = None
            values["lease_until"] = None
        async with self.engine.begin() as conn:
            await conn.execute(saga.update().where(saga.c.saga_id == saga_id).values(**values))

    async def release(self, saga_id: str, owner: str) -> None:
        """Give up the lease (an outcome still unknown: recovery takes it up later)."""
        async with self.engine.begin() as conn:
            await conn.execute(saga.update().where(
                saga.c.saga_id == saga_id, saga.c.lease_owner == owner,
            ).values(lease_owner=None, lease_until=None))

    async def take(self, saga_id: str, owner: str, lease_s: float, *,
                   force: bool = False) -> bool:
        """Lease a saga in flight to ``owner`` if nobody holds a live lease on it (or
        ``force``: an operator's command)."""
        now = _now()
        condition = sa.and_(saga.c.saga_id == saga_id, saga.c.status.in_(
            (SagaStatus.RUNNING.value, SagaStatus.COMPENSATING.value,
             SagaStatus.FAILED.value)))
        if not force:
            condition = sa.and_(condition, sa.or_(
                saga.c.lease_until.is_(None), saga.c.lease_until < now,
                saga.c.lease_owner == owner))
        async with self.engine.begin() as conn:
            result = await conn.execute(saga.update().where(condition).values(
                lease_owner=owner, lease_until=now + timedelta(seconds=lease_s)))
            return bool(result.rowcount)

    async def orphans(self, limit: int = 100) -> list[str]:
        """Sagas in flight whose lease ran out or was released, oldest first."""
        now = _now()
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(saga.c.saga_id).where(
                saga.c.status.in_((SagaStatus.RUNNING.value, SagaStatus.COMPENSATING.value)),
                sa.or_(saga.c.lease_until.is_(None), saga.c.lease_until < now),
            ).order_by(saga.c.created_at).limit(limit))
            return [str(r) for r in rows.scalars()]

    async def listing(self, *, failed: bool = False, limit: int = 200) -> list[SagaState]:
        """The newest sagas (only those that did not complete, with ``failed``)."""
        query = sa.select(saga.c.saga_id).order_by(saga.c.created_at.desc()).limit(limit)
        if failed:
            query = query.where(saga.c.status != SagaStatus.COMPLETED.value)
        async with self.engine.connect() as conn:
            ids = [str(r) for r in (await conn.execute(query)).scalars()]
        found = [await self.load(i) for i in ids]
        return [s for s in found if s is not None]

    async def audit(self, state: SagaState) -> None:
        """Append the mutation audit record of a finished saga."""
        sources = sorted({s.source for s in state.steps if s.status in (
            StepStatus.DONE, StepStatus.COMPENSATED, StepStatus.NOT_COMPENSATED,
            StepStatus.FAILED)})
        async with self.engine.begin() as conn:
            await conn.execute(mutation_audit.insert().values(
                at=_now(), saga_id=state.saga_id, journey=state.journey,
                subject=state.subject, role=state.role, sources=",".join(sources),
                status=state.status.value, error_code=state.error_code,
                failed_step=state.failed_step))

    async def audit_records(self, saga_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(mutation_audit).order_by(mutation_audit.c.id)
        if saga_id is not None:
            query = query.where(mutation_audit.c.saga_id == saga_id)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
