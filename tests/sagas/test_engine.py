"""The saga engine over scripted silos: order, compensation, read-back of unknown outcomes,
idempotency keys, and recovery by another engine (a restarted worker) — on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.errors import UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from sagas.engine import IdempotencyKeyReused, Run, SagaEngine, Step, input_hash
from sagas.store import SagaStatus, SagaStore, StepStatus

pytestmark = pytest.mark.anyio


class Silo:
    """A scripted silo: records what was written (by key), fails as told."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.written: dict[str, Any] = {}
        self.undone: list[str] = []
        self.fail_next: list[Exception] = []
        self.lose_answer = 0
        self.reads_fail = False
        self.undo_fails = 0

    async def write(self, key: str, value: Any) -> Any:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.written.setdefault(key, value)
        if self.lose_answer:
            self.lose_answer -= 1
            raise UpstreamTimeout(self.name, "lost")
        return {"key": key}

    async def read(self, key: str) -> Any:
        if self.reads_fail:
            raise UpstreamUnavailable(self.name, "down", status=None)
        return {"key": key} if key in self.written else None

    async def undo(self, key: str) -> None:
        if self.undo_fails:
            self.undo_fails -= 1
            raise UpstreamUnavailable(self.name, "down", status=503)
        if key in self.written:
            self.undone.append(key)


class Scripted:
    name = "scripted"

    def __init__(self, silos: list[Silo]) -> None:
        self.silos = silos

    def plan(self, input: dict[str, Any]) -> list[Step]:
        steps = []
        for silo in self.silos:
            def make(s: Silo) -> Step:
                async def apply(run: Run) -> Any:
                    return await s.write(run.key(s.name), run.input["value"])

                async def read_back(run: Run) -> Any:
                    return await s.read(run.key(s.name))

                async def undo(run: Run, output: Any) -> None:
                    await s.undo(run.key(s.name))

                return Step(s.name, s.name, apply, read_back, undo)
            steps.append(make(silo))
        return steps

    def result(self, run: Run) -> Any:
        return {"done": sorted(run.outputs)}


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'sagas.db'}")
    else:
        url, args = request.getfixturevalue("postgres_async_engine_args")
        engine = create_async_engine(url, connect_args=args)
    await SagaStore(engine).create()
    yield engine
    await engine.dispose()


def engine_over(db: AsyncEngine, silos: list[Silo], **kw: Any) -> SagaEngine:
    return SagaEngine(SagaStore(db), {"scripted": Scripted(silos)}, **kw)


async def start(engine: SagaEngine, key: str = "key-00001", value: int = 1) -> str:
    client = {"value": value}
    return await engine.start("scripted", client_hash=input_hash("scripted", client),
                              input=client, key_scope="agent:a", key=key, subject="a",
                              role="agent")


async def test_steps_run_in_order_and_complete(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos"), Silo("loyalty")]
    engine = engine_over(db, silos)
    state = await engine.wait(await start(engine), 5)
    assert state.status is SagaStatus.COMPLETED
    assert state.result == {"done": ["loyalty", "pos", "shop"]}
    assert [s.status for s in state.steps] == [StepStatus.DONE] * 3
    assert all(len(s.written) == 1 for s in silos)
    audit = await engine.store.audit_records(state.saga_id)
    assert [(a["status"], a["sources"]) for a in audit] == [
        ("COMPLETED", "loyalty,pos,shop")]


async def test_a_refused_step_undoes_the_completed_ones_newest_first(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos"), Silo("loyalty")]
    silos[2].fail_next = [UpstreamRejected("loyalty", "no")]
    engine = engine_over(db, silos)
    state = await engine.wait(await start(engine), 5)
    assert state.status is SagaStatus.COMPENSATED
    assert (state.failed_step, state.error_code) == ("loyalty", "SOURCE_REJECTED")
    assert state.undone == ["shop", "pos"]
    assert silos[0].undone and silos[1].undone and not silos[2].written


async def test_a_lost_answer_is_read_back_not_written_twice(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos")]
    silos[0].lose_answer = 1
    engine = engine_over(db, silos)
    state = await engine.wait(await start(engine), 5)
    assert state.status is SagaStatus.COMPLETED
    assert len(silos[0].written) == 1
    assert state.steps[0].attempts == 1


async def test_a_silo_down_is_retried_then_compensated(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos")]
    silos[1].fail_next = [UpstreamUnavailable("pos", "down", status=503)] * 3
    engine = engine_over(db, silos)
    state = await engine.wait(await start(engine), 10)
    assert state.status is SagaStatus.COMPENSATED
    assert state.error_code == "SOURCE_UNAVAILABLE" and state.failed_step == "pos"
    assert silos[0].undone == [f"c360-{state.saga_id}-shop"]


async def test_an_unreadable_outcome_parks_the_saga_until_recovery(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos")]
    silos[1].lose_answer = 1
    silos[1].reads_fail = True
    engine = engine_over(db, silos)
    saga_id = await start(engine)
    state = await engine.wait(saga_id, 5)
    assert state.status is SagaStatus.RUNNING
    assert state.steps[1].status is StepStatus.RUNNING
    silos[1].reads_fail = False
    other = engine_over(db, silos)  # another worker, or the next start
    assert await other.recover() == [saga_id]
    state = await other.wait(saga_id, 5)
    assert state.status is SagaStatus.COMPLETED
    assert len(silos[1].written) == 1


async def test_a_repeated_call_drives_a_parked_saga_on(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos")]
    silos[1].lose_answer = 1
    silos[1].reads_fail = True
    engine = engine_over(db, silos)
    saga_id = await start(engine)
    parked = await engine.wait(saga_id, 5)
    assert parked.status is SagaStatus.RUNNING
    await engine.nudge(parked)
    assert (await engine.wait(saga_id, 0.3)).status is SagaStatus.RUNNING, "still unreadable"
    silos[1].reads_fail = False
    await engine.nudge(await engine.wait(saga_id, 0))
    state = await engine.wait(saga_id, 5)
    assert state.status is SagaStatus.COMPLETED
    assert len(silos[1].written) == 1


async def test_a_failed_undo_is_retried_by_recovery(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos")]
    silos[1].fail_next = [UpstreamRejected("pos", "no")]
    silos[0].undo_fails = 5
    engine = engine_over(db, silos)
    saga_id = await start(engine)
    state = await engine.wait(saga_id, 10)
    assert state.status is SagaStatus.COMPENSATING
    assert state.steps[0].status is StepStatus.NOT_COMPENSATED
    silos[0].undo_fails = 0
    await engine.recover()
    state = await engine.wait(saga_id, 5)
    assert state.status is SagaStatus.COMPENSATED and silos[0].undone


async def test_the_same_key_answers_the_first_call_and_writes_once(db: AsyncEngine) -> None:
    silos = [Silo("shop")]
    engine = engine_over(db, silos)
    first = await start(engine)
    await engine.wait(first, 5)
    assert await start(engine) == first
    found = await engine.existing("agent:a", "key-00001", input_hash("scripted", {"value": 1}))
    assert found is not None and found.saga_id == first
    with pytest.raises(IdempotencyKeyReused):
        await start(engine, value=2)
    with pytest.raises(IdempotencyKeyReused):
        await engine.existing("agent:a", "key-00001", input_hash("scripted", {"value": 2}))
    assert len(silos[0].written) == 1


async def test_concurrent_duplicates_start_one_saga(db: AsyncEngine) -> None:
    silos = [Silo("shop")]
    engines = [engine_over(db, silos) for _ in range(5)]
    ids = await asyncio.gather(*(start(e) for e in engines for _ in range(2)))
    assert len(set(ids)) == 1
    state = await engines[0].wait(ids[0], 5)
    for engine in engines:
        state = await engine.wait(ids[0], 5)
    assert state.status is SagaStatus.COMPLETED
    assert len(silos[0].written) == 1
    assert len(await engines[0].store.audit_records(ids[0])) == 1


async def test_a_dead_workers_saga_is_resumed_by_the_next_start(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos")]
    first = engine_over(db, silos, lease_s=0.5, pause_after="scripted.shop")
    saga_id = await start(first)
    await asyncio.sleep(0.2)
    state = await first.wait(saga_id, 0.1)
    assert [s.status for s in state.steps] == [StepStatus.DONE, StepStatus.PENDING]
    await first.close()  # the worker is gone; its lease runs out
    second = engine_over(db, silos, lease_s=5)
    assert await second.recover() == []  # the lease still holds
    await asyncio.sleep(0.6)
    assert await second.recover() == [saga_id]
    state = await second.wait(saga_id, 5)
    assert state.status is SagaStatus.COMPLETED
    assert all(len(s.written) == 1 for s in silos)


async def test_an_operator_compensates_a_parked_saga(db: AsyncEngine) -> None:
    silos = [Silo("shop"), Silo("pos")]
    silos[1].lose_answer = 1
    silos[1].reads_fail = True
    engine = engine_over(db, silos)
    saga_id = await start(engine)
    await engine.wait(saga_id, 5)
    silos[1].reads_fail = False
    state = await engine.compensate(saga_id)
    assert state.status is SagaStatus.COMPENSATED
    assert state.undone == ["shop", "pos"]  # the lost write was found, then undone too
    listed = await engine.store.listing(failed=True)
    assert [s.saga_id for s in listed] == [saga_id]
