"""The saga engine: a mutation's writes to several silos, in a declared order, exactly once,
and never left half-done.

A :class:`Journey` plans its :class:`Step` list from its (persisted) input. Each step writes to
one silo (``apply``), says how to find that write again when its answer was lost
(``read_back``: the vendor's idempotency key, a saga tag on the record, or None when ``apply``
itself is safe to repeat), and how to undo it (``undo``). The engine:

* records the saga and its steps before the first write (:mod:`sagas.store`), and each step's
  state before and after it is sent, so that a crash at any point leaves a record of what may
  have been written;
* runs the steps in order. A step refused by its silo (``UpstreamRejected``) failed; a step
  whose outcome is unknown (a timeout, a 5xx, a dropped connection) is **read back** before it
  is retried — found, it is done; not found, it is sent again (at most ``ATTEMPTS`` times);
* when a step fails, undoes the completed steps in reverse order (COMPENSATED), or, if an undo
  fails too, leaves the saga FAILED for recovery and for ``c360 sagas``;
* when a read-back cannot be done (the silo is down), stops with the saga still RUNNING and its
  lease released: recovery resumes it later, from that step.

Sagas run in tasks of their own: a caller that stops waiting (its request budget) does not stop
the saga. :meth:`SagaEngine.recover` takes over sagas in flight whose worker died (their lease
ran out): at start and every ``recover_interval_s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.errors import (
    CircuitOpen,
    GatewayError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from sagas.store import FINAL, SagaState, SagaStatus, SagaStore, StepStatus, dumps

log = logging.getLogger("c360.sagas")

ATTEMPTS = 3
"""Times a step is sent before it is given up (each after a read-back found nothing)."""
BACKOFF_S = (0.05, 0.25, 0.5)
POLL_S = 0.05


class IdempotencyKeyReused(GatewayError):
    """The caller's idempotency key was used before for a different input."""

    code = "IDEMPOTENCY_KEY_REUSED"


class SagaUnknown(GatewayError):
    code = "NOT_FOUND"


@dataclass
class Run:
    """What a step sees: the saga's id, its input, and the outputs of the steps done so far."""

    saga_id: str
    input: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)

    def key(self, step: str, suffix: str = "") -> str:
        """The idempotency key a step gives its silo: the same on every attempt and after a
        restart, different for each saga and step (and for an undo, with ``suffix``)."""
        return f"c360-{self.saga_id}-{step}{suffix}"

    @property
    def tag(self) -> str:
        """The marker a record without an idempotency key carries (a Shopify order tag)."""
        return f"c360-saga-{self.saga_id}"


Apply = Callable[[Run], Awaitable[Any]]
ReadBack = Callable[[Run], Awaitable[Any | None]]
Undo = Callable[[Run, Any], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    """One write. ``apply`` returns a JSON-able output (kept, handed to later steps and to
    ``undo``); ``read_back`` returns that output if the write is found in the silo, None if it
    is not (None as a whole: ``apply`` is safe to repeat); ``undo`` reverses it (and must be
    harmless to repeat)."""

    name: str
    source: str
    apply: Apply
    read_back: ReadBack | None = None
    undo: Undo | None = None


class Journey(Protocol):
    """A kind of saga (one per mutation)."""

    name: str

    def plan(self, input: dict[str, Any]) -> list[Step]:
        """The steps, from the persisted input alone (the same list on every resume)."""
        ...

    def result(self, run: Run) -> Any:
        """The JSON-able result once every step is done (what a repeat of the call gets)."""
        ...


def input_hash(journey: str, client_input: Any) -> str:
    return hashlib.sha256(f"{journey}\n{dumps(client_input)}".encode()).hexdigest()


def _maybe_applied(error: UpstreamError) -> bool:
    """Whether a failed write may still have been applied (then it is read back)."""
    if isinstance(error, UpstreamRejected | UpstreamRateLimited | UpstreamAuthError
                  | CircuitOpen):
        return False
    return not (isinstance(error, UpstreamUnavailable) and error.status in (502, 503))


class _Parked(Exception):
    """A step's outcome could not be read back: the saga waits for recovery."""


class SagaEngine:
    """Runs, resumes and compensates sagas (module doc)."""

    def __init__(self, store: SagaStore, journeys: Mapping[str, Journey], *,
                 lease_s: float = 30.0, pause_after: str | None = None,
                 owner: str | None = None) -> None:
        """``pause_after`` (``"journey.step"``, a test hook): a saga stops forever after that
        step is recorded done, as if its worker hung there."""
        self.store = store
        self.journeys = dict(journeys)
        self.lease_s = lease_s
        self.pause_after = pause_after
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self._tasks: dict[str, asyncio.Task[SagaState]] = {}

    # -- starting and waiting -----------------------------------------------------------------
    async def existing(self, key_scope: str, key: str, client_hash: str) -> SagaState | None:
        """The saga already started with this key, if any (IdempotencyKeyReused when it was
        for another input)."""
        found = await self.store.find(key_scope, key)
        if found is None:
            return None
        saga_id, recorded_hash = found
        if recorded_hash != client_hash:
            raise IdempotencyKeyReused(
                "this idempotency key was used for a different request")
        return await self.store.load(saga_id)

    async def start(self, journey: str, *, client_hash: str, input: dict[str, Any],
                    key_scope: str, key: str, subject: str, role: str) -> str:
        """Record and launch a saga; returns its id — the existing one when a concurrent
        duplicate won (IdempotencyKeyReused if it carried another input)."""
        saga_id = uuid.uuid4().hex
        steps = self.journeys[journey].plan(input)
        found, created = await self.store.begin(
            saga_id=saga_id, journey=journey, key_scope=key_scope, key=key,
            input_hash=client_hash, input=input, subject=subject, role=role,
            steps=[(s.name, s.source) for s in steps], owner=self.owner, lease_s=self.lease_s)
        if not created:
            state = await self.store.load(found)
            if state is None or state.input_hash != client_hash:
                raise IdempotencyKeyReused(
                    "this idempotency key was used for a different request")
            return found
        self._launch(saga_id, compensate=False)
        return saga_id

    def _launch(self, saga_id: str, *, compensate: bool) -> asyncio.Task[SagaState]:
        task = self._tasks.get(saga_id)
        if task is None or task.done():
            task = asyncio.create_task(self._drive(saga_id, compensate=compensate))
            self._tasks[saga_id] = task
            task.add_done_callback(lambda t: self._forget(saga_id, t))
        return task

    def _forget(self, saga_id: str, task: asyncio.Task[SagaState]) -> None:
        if self._tasks.get(saga_id) is task:
            del self._tasks[saga_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("saga %s: stopped by %s", saga_id, type(task.exception()).__name__)

    async def wait(self, saga_id: str, timeout: float) -> SagaState:
        """The saga's state once it is final, or as it is after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        until = loop.time() + max(timeout, 0.0)
        task = self._tasks.get(saga_id)
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), max(until - loop.time(), 0.0))
            except (TimeoutError, Exception):  # its state is read below either way
                pass
        while True:
            state = await self.store.load(saga_id)
            if state is None:
                raise SagaUnknown(f"no saga {saga_id}")
            if state.status in FINAL or loop.time() >= until or (
                    saga_id not in self._tasks and await self._parked(state)):
                return state
            await asyncio.sleep(POLL_S)

    async def _parked(self, state: SagaState) -> bool:
        """Nobody is driving this saga now (its lease released): waiting will not help."""
        return await self.store.lease_owner(state.saga_id) is None

    # -- operator actions and recovery --------------------------------------------------------
    async def resume(self, saga_id: str, *, force: bool = True) -> SagaState:
        """Drive a saga in flight on from where it stopped (``c360 sagas resume``)."""
        return await self._take_and_drive(saga_id, compensate=False, force=force)

    async def compensate(self, saga_id: str, *, force: bool = True) -> SagaState:
        """Undo what a saga did (``c360 sagas compensate``); a completed saga is left as is."""
        return await self._take_and_drive(saga_id, compensate=True, force=force)

    async def _take_and_drive(self, saga_id: str, *, compensate: bool,
                              force: bool) -> SagaState:
        state = await self.store.load(saga_id)
        if state is None:
            raise SagaUnknown(f"no saga {saga_id}")
        if state.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED):
            return state
        if not await self.store.take(saga_id, self.owner, self.lease_s, force=force):
            return state
        return await self._launch(saga_id, compensate=compensate)

    async def nudge(self, state: SagaState) -> None:
        """A caller repeated the key of a saga in flight: if nobody drives it (parked on an
        unknown outcome, or its worker gone), drive it on now rather than at the next
        recovery."""
        if state.status not in (SagaStatus.RUNNING, SagaStatus.COMPENSATING) or \
                state.saga_id in self._tasks:
            return
        if await self.store.take(state.saga_id, self.owner, self.lease_s):
            log.info("saga %s: driven on for a repeated call", state.saga_id)
            self._launch(state.saga_id, compensate=False)

    async def recover(self) -> list[str]:
        """Take over every saga in flight whose worker is gone and drive each on, in the
        background; their ids (:meth:`wait` for their end)."""
        taken = []
        for saga_id in await self.store.orphans():
            if saga_id in self._tasks:
                continue
            if await self.store.take(saga_id, self.owner, self.lease_s):
                log.info("saga %s: recovered", saga_id)
                self._launch(saga_id, compensate=False)
                taken.append(saga_id)
        return taken

    async def recover_every(self, interval_s: float) -> None:
        """:meth:`recover` now and every ``interval_s`` (a serving gateway's background
        task); a failure (the database away) is logged and tried again next time."""
        while True:
            try:
                await self.recover()
            except Exception as exc:  # noqa: BLE001 - a loop that must outlive any failure
                log.warning("saga recovery failed (%s)", type(exc).__name__)
            await asyncio.sleep(interval_s)

    async def close(self) -> None:
        """Stop driving (process shutdown): the leases run out and another worker or the next
        start recovers them."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- driving ------------------------------------------------------------------------------
    async def _drive(self, saga_id: str, *, compensate: bool) -> SagaState:
        state = await self.store.load(saga_id)
        if state is None:
            raise SagaUnknown(f"no saga {saga_id}")
        journey = self.journeys[state.journey]
        steps = journey.plan(state.input)
        run = Run(saga_id, state.input, {
            s.name: s.output for s in state.steps if s.status is StepStatus.DONE})
        try:
            if state.status is SagaStatus.RUNNING and not compensate:
                failure = await self._forward(run, state, steps)
                if failure is None:
                    await self.store.set_status(saga_id, SagaStatus.COMPLETED,
                                                result=journey.result(run))
                    return await self._finished(saga_id)
                failed_step, code = failure
                await self.store.set_status(saga_id, SagaStatus.COMPENSATING,
                                            failed_step=failed_step, error_code=code)
            elif state.status is SagaStatus.RUNNING:
                await self.store.set_status(saga_id, SagaStatus.COMPENSATING,
                                            error_code="COMPENSATED_BY_OPERATOR")
            state = await self._load(saga_id)
            await self._backward(run, state, steps)
            return await self._finished(saga_id)
        except _Parked:
            await self.store.release(saga_id, self.owner)
            return await self._load(saga_id)

    async def _load(self, saga_id: str) -> SagaState:
        state = await self.store.load(saga_id)
        assert state is not None
        return state

    async def _finished(self, saga_id: str) -> SagaState:
        state = await self._load(saga_id)
        if state.status in FINAL:
            await self.store.audit(state)
        return state

    async def _record(self, run: Run, position: int, status: StepStatus, **kw: Any) -> None:
        await self.store.step(run.saga_id, position, status, owner=self.owner,
                              lease_s=self.lease_s, **kw)

    async def _forward(self, run: Run, state: SagaState,
                       steps: Sequence[Step]) -> tuple[str, str] | None:
        """Apply the steps not done yet; the failed step's name and code, or None."""
        for recorded, step in zip(state.steps, steps, strict=True):
            if recorded.status is StepStatus.DONE:
                continue
            code = await self._apply(run, recorded.position, step,
                                     maybe_applied=recorded.status is StepStatus.RUNNING)
            if code is not None:
                return step.name, code
            if self.pause_after == f"{state.journey}.{step.name}":
                log.warning("saga %s: paused after %s (test hook)", run.saga_id, step.name)
                await asyncio.Event().wait()
        return None

    async def _apply(self, run: Run, position: int, step: Step, *,
                     maybe_applied: bool) -> str | None:
        """Apply one step; None when done, else the error code it failed with."""
        last: UpstreamError | None = None
        for attempt in range(ATTEMPTS + 1):
            if maybe_applied and step.read_back is not None:
                try:
                    found = await step.read_back(run)
                except UpstreamError as exc:
                    log.warning("saga %s: %s could not be read back (%s)", run.saga_id,
                                step.name, exc.code)
                    raise _Parked from exc
                if found is not None:
                    await self._record(run, position, StepStatus.DONE, output=found)
                    run.outputs[step.name] = found
                    return None
            if attempt == ATTEMPTS:
                break
            if attempt:
                await asyncio.sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
            await self._record(run, position, StepStatus.RUNNING, attempt=True)
            try:
                output = await step.apply(run)
            except UpstreamRejected as exc:
                await self._record(run, position, StepStatus.FAILED, error_code=exc.code)
                return exc.code
            except UpstreamError as exc:
                last = exc
                maybe_applied = _maybe_applied(exc)
                log.warning("saga %s: %s failed (%s), attempt %d", run.saga_id, step.name,
                            exc.code, attempt + 1)
                continue
            await self._record(run, position, StepStatus.DONE, output=output)
            run.outputs[step.name] = output
            return None
        if last is not None and maybe_applied and step.read_back is None:
            raise _Parked from last  # safe to repeat, so resume will repeat it
        code = last.code if last is not None else "SOURCE_ERROR"
        await self._record(run, position, StepStatus.FAILED, error_code=code)
        return code

    async def _backward(self, run: Run, state: SagaState, steps: Sequence[Step]) -> None:
        """Undo the completed steps, newest first; a step whose outcome is unknown is read
        back first. An undo the silo refuses leaves the saga FAILED (a person must look); one
        that could not reach its silo is retried by recovery."""
        refused = retry = False
        for recorded, step in reversed(list(zip(state.steps, steps, strict=True))):
            status = recorded.status
            output = recorded.output
            if status is StepStatus.RUNNING and step.read_back is not None:
                try:
                    output = await step.read_back(run)
                except UpstreamError as exc:
                    raise _Parked from exc
                status = StepStatus.DONE if output is not None else StepStatus.FAILED
            elif status is StepStatus.RUNNING:
                try:  # safe to repeat: repeating it tells what it did, then it is undone
                    output = await step.apply(run)
                    status = StepStatus.DONE
                except UpstreamRejected:
                    status = StepStatus.FAILED
                except UpstreamError as exc:
                    raise _Parked from exc
            if status not in (StepStatus.DONE, StepStatus.NOT_COMPENSATED) or step.undo is None:
                continue
            try:
                await self._undo(run, step, output)
            except UpstreamError as exc:
                log.error("saga %s: undoing %s failed (%s)", run.saga_id, step.name, exc.code)
                await self._record(run, recorded.position, StepStatus.NOT_COMPENSATED,
                                   error_code=exc.code)
                if isinstance(exc, UpstreamRejected):
                    refused = True
                else:
                    retry = True
                continue
            await self._record(run, recorded.position, StepStatus.COMPENSATED)
        if retry:
            raise _Parked  # a silo could not be reached: recovery undoes the rest later
        await self.store.set_status(
            run.saga_id, SagaStatus.FAILED if refused else SagaStatus.COMPENSATED)

    async def _undo(self, run: Run, step: Step, output: Any) -> None:
        assert step.undo is not None
        for attempt in range(ATTEMPTS):
            try:
                await step.undo(run, output)
                return
            except UpstreamRejected:
                raise
            except UpstreamError:
                if attempt == ATTEMPTS - 1:
                    raise
                await asyncio.sleep(BACKOFF_S[attempt])
