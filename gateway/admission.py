"""Admission control and the request budget, measured from arrival.

A worker that takes every request it is sent answers all of them late once it is saturated:
requests queue for the CPU before their budget even starts. So:

- each request's budget starts when it arrives (the outermost middleware stamps the time);
- at most ``limit`` GraphQL requests execute at once. The limit floats between a floor and
  ``gateway.max_in_flight``: it shrinks (× 0.8) while the event loop lags — callbacks waiting
  longer than ``gateway.max_loop_lag_ms`` to run, over a few probes, means the worker has
  more CPU work than CPU —
  and grows back by one per probe while it does not. A slow silo does not lower it (waiting on
  I/O costs no CPU); fifty 50-customer lists at once do;
- a request waits at most ``gateway.queue_wait_ms`` for a slot and is otherwise refused at once
  (HTTP 503, ``Retry-After``, code ``OVERLOADED``: the client, or the load balancer in front of
  several workers, retries elsewhere or later);
- an answer that would outlive the budget is cut (HTTP 504, code ``BUDGET_EXCEEDED``).

Upstream calls stop a little before the budget ends (:func:`upstream_deadline`), leaving time
to assemble the partial answer, so the budget is the caller's bound, not the silos'.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

RESERVE_FRACTION = 0.1
RESERVE_MAX_S = 0.25
"""Of the budget, kept for assembling the answer after upstream calls give up: 10 %, at most
250 ms."""
PROBE_S = 0.02
"""How often the event loop's lag is probed (and the limit adjusted)."""
SMOOTHING = 0.25
"""Weight of the newest probe in the smoothed lag: a burst of arrivals (one long callback
queue) is not saturation; lag that persists over a few probes is."""
DECREASE = 0.8
HOLD_S = 0.25
"""After lowering the limit, how long before it may be lowered again: what is already in
flight needs time to finish before the lag can show the effect (decrease once per round trip,
as TCP does)."""
MIN_LIMIT = 4


def upstream_deadline(arrived: float, budget_s: float) -> float:
    """Event-loop time after which no upstream call may still be running."""
    return arrived + budget_s - min(budget_s * RESERVE_FRACTION, RESERVE_MAX_S)


def arrival(scope: Scope) -> float:
    """When the request reached the app (event-loop time); now if nothing stamped it."""
    stamped = scope.get("state", {}).get("arrived")
    return float(stamped) if stamped is not None else asyncio.get_running_loop().time()


class Arrival:
    """ASGI middleware, outermost: stamps each request's arrival time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["arrived"] = asyncio.get_running_loop().time()
        await self.app(scope, receive, send)


@dataclass
class AdmissionStats:
    admitted: int = 0
    refused: int = 0
    peak_in_flight: int = 0
    lowest_limit: int = 0


class Admission:
    """A concurrency limit that yields to CPU saturation (see the module doc)."""

    def __init__(self, max_limit: int, max_lag_s: float = 0.05) -> None:
        self.max_limit = max_limit
        self.max_lag_s = max_lag_s
        self.limit = float(max_limit)
        self.in_flight = 0
        self.lag_s = 0.0
        self._held_until = 0.0
        self.stats = AdmissionStats(lowest_limit=max_limit)
        self._waiting: deque[asyncio.Future[None]] = deque()

    def _open(self) -> int:
        return int(self.limit) - self.in_flight

    async def enter(self, wait_until: float) -> bool:
        """Take a slot, waiting until ``wait_until`` (event-loop time) at the latest; False
        when none freed up in time. A True must be paired with :meth:`leave`."""
        if self._open() <= 0 or self._waiting:
            slot = asyncio.get_running_loop().create_future()
            self._waiting.append(slot)
            try:
                async with asyncio.timeout_at(wait_until):
                    await slot  # :meth:`_wake` hands the slot over, already counted
            except TimeoutError:
                if not slot.done() or slot.cancelled():  # else handed over as time ran out
                    with contextlib.suppress(ValueError):
                        self._waiting.remove(slot)
                    self.stats.refused += 1
                    return False
        else:
            self.in_flight += 1
        self.stats.admitted += 1
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.in_flight)
        return True

    def leave(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Hand free slots to the longest waiting requests."""
        while self._waiting and self._open() > 0:
            slot = self._waiting.popleft()
            if not slot.done():
                self.in_flight += 1
                slot.set_result(None)

    def observe(self, lag_s: float, now: float) -> None:
        """One probe of the event loop's lag at ``now``: lower the limit while the smoothed
        lag exceeds the target (at most once per :data:`HOLD_S`), raise it back by one a probe
        while it does not."""
        self.lag_s = SMOOTHING * lag_s + (1 - SMOOTHING) * self.lag_s
        if self.lag_s > self.max_lag_s:
            # with few requests in flight the lag is not theirs to fix by shedding
            if self.in_flight > MIN_LIMIT and now >= self._held_until:
                floor = float(min(MIN_LIMIT, self.max_limit))
                self.limit = max(floor, min(self.limit, self.in_flight) * DECREASE)
                self.stats.lowest_limit = min(self.stats.lowest_limit, int(self.limit))
                self._held_until = now + HOLD_S
        elif self.limit < self.max_limit:
            self.limit = min(float(self.max_limit), self.limit + 1)
            self._wake()

    async def watch(self) -> None:
        """Probe the loop's lag every :data:`PROBE_S` until cancelled (runs for the app's
        lifespan)."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(PROBE_S)
            now = loop.time()
            self.observe(max(0.0, now - before - PROBE_S), now)


@contextlib.asynccontextmanager
async def watching(admission: Admission) -> AsyncIterator[None]:
    task = asyncio.create_task(admission.watch(), name="c360-admission")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
