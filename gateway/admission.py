"""Admission control and the request budget, measured from arrival.

A worker is one event loop on one core. A request admitted when the core already has more work
than the budget leaves is answered late — or cut at its budget after the work was paid for —
and it makes everyone admitted before it late too. So each request is judged **on arrival**,
by what it is predicted to cost and to wait, and is either admitted, to be answered within its
budget, or refused at once.

**Prediction.** Every request has a key: its document, operation name and static cost (the
query gate's :class:`~gateway.limits.complexity.Measure`, so ``first: 10`` and ``first: 100``
given through variables are different keys). The :class:`Predictor` keeps, per key (the 1,024
most recent), an exponentially weighted mean of the **loop CPU seconds** requests of that key
were measured to use (a running mean over the first samples, then weight :data:`ALPHA` for the
newest) and of their **I/O wait** (below). An unseen key is predicted from its static cost:
``(cost + BASE_UNITS) × cpu_per_unit``, ``cpu_per_unit`` being itself learned from every
completed request (weight :data:`UNIT_ALPHA`), from :data:`CPU_PER_UNIT_S` — the schema's cost
model is the prior, the measurements give it its scale.

**Measuring CPU per request inside one loop.** The loop thread's CPU clock (its own core, not
aiosqlite's threads; read with the time it waited for a core from
``/proc/thread-self/schedstat`` on Linux, ``time.thread_time`` elsewhere: :class:`LoopMeter`)
is read at every admission event — arrival, start, completion — and every :data:`PROBE_S` by a
watcher task. The CPU used since the previous reading is shared **equally** among the requests
running during that interval: a cumulative "CPU per running request" counter grows by
``used / running``, and a request's measured CPU is how much the counter grew while it ran (O(1) per
event, as virtual time in fair queueing). Equal shares are what the loop gives requests
interleaved on it (its ready queue is FIFO) and they add up to the CPU really used; weighting
by predicted cost instead would under-charge cheap requests a little more each round. Loop CPU
spent outside requests (HTTP, refusals, the query gate of arrivals) is charged to those running
then: it is load the queue absorbs too. A request's I/O wait is its service time minus the time
the loop took to run the CPU used meanwhile by anyone (``slowdown ×`` that CPU, below) — the
time the loop sat idle while it was in service, i.e. what queueing behind others does not hide.

**From CPU to time.** ``slowdown`` — wall seconds per CPU second while the loop has work — is
1 on a core of its own. When other processes take turns on the core, the loop thread waits in
the kernel's run queue as well as running; each probe in which the loop was runnable at least
a quarter of the time measures (running + waiting) / running (weight :data:`SLOWDOWN_ALPHA`),
and the decisions below follow.

**The decision** (:meth:`Admission.arrive`, synchronous: no resolver, no silo call before it).
The predicted wait is ``slowdown ×`` the predicted CPU still to run of every request admitted
before it — running (prediction minus what was measured so far, at least 0) and queued — one
loop being one core. The request is admitted when ``now + ahead + slowdown × its CPU ≤
arrival + budget − margin``, ``ahead`` being ``max(wait, its I/O wait)`` when it starts at once
(its silo waits overlap the CPU of those running) and ``wait + its I/O wait`` when it queues
(the margin: the reserve of :func:`upstream_deadline`, then the running window, below, or the
key's recent **overrun** when larger) and, if it has to queue, its wait is at most
``gateway.queue_wait_ms`` (predictions are means: the shorter the queue, the smaller the
errors that add up in it; measured on the benchmark, a 2 s queue let answers run past the
budget that a 0.5 s one kept). Otherwise it is refused at once: HTTP 503, code ``OVERLOADED``,
``Retry-After`` the seconds until that backlog would have let it in (at least 1). A worker
with nothing admitted admits whatever comes: the prediction arbitrates between requests.
``gateway.max_in_flight`` caps what is admitted, running and queued. When the worker is full,
or its queue's wait alone is over ``queue_wait_ms``, any request is refused before it is
authenticated or parsed (:meth:`Admission.shed`, the :class:`~gateway.app.Shedding`
middleware): refusing the excess costs the least CPU.

**The queue** is FIFO: the head starts when nothing runs, while the predicted CPU still to
run of the running requests is under the ``window``, or while the loop is mostly idle
(utilization under :data:`IDLE_BELOW`: those running wait on their silos, so a slow silo does
not throttle the worker to a few requests). Requests running together share the loop,
so work started after a request delays it by at most the window: the window is part of the
admission's margin. It follows the loop's utilization — the share of each probe its thread was
running or waiting for a core, smoothed — as TCP's window follows losses: while requests queue
behind it, it doubles on a loop less than half busy and grows by a probe's length on one less
than 80 % busy (running requests waiting on their silos leave the core to others: more may run
meanwhile); when a probe wakes more than ``gateway.max_loop_lag_ms`` late it shrinks by a tenth
(more requests at once would only make each of them later), never below ``max_loop_lag_ms`` nor
above :data:`MAX_WINDOW_S`. So the core is kept busy while requests run as few at a time as
that takes, in order: the earliest admitted finish first instead of all of them finishing
together, late.

**Overrun.** The time a request is predicted to finish at (``now + ahead + slowdown × its
CPU``) is kept on its ticket; when it ends, how much later it really finished is learned per key
as an upper envelope (a later finish moves it half-way, an earlier one by a tenth), and only
for keys predicted from measurements (an unseen key's first error is its static cost's). Means
are right on average; what makes an answer miss its budget is the tail: a request that waits
several sequential silo rounds (a timeline page) waits behind the CPU of every other request at
each round, more than the means say, and its calls were cut at the upstream deadline — a partial
answer from healthy silos. The envelope replaces the window as the margin when it is the larger
(the window is the delay admission expects from work started later; the overrun measured it
already): requests of that key are admitted only as far as they recently finished in time.

**No refusal after a wait**, except when the prediction was badly off: a queued request whose
turn comes so late that its own CPU and silo wait no longer fit before its upstream calls must
end is refused then
(503 ``OVERLOADED``, logged, counted in ``late_refused``) — running it would only produce an
answer cut at its budget. An admitted request that overruns is still cut at its budget (HTTP
504, ``BUDGET_EXCEEDED``; execution checks its deadline between fields), and its measured CPU
teaches the predictor.

Upstream calls stop a little before the budget ends (:func:`upstream_deadline`), leaving time
to assemble the partial answer, so the budget is the caller's bound, not the silos'.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.loop import running

RESERVE_FRACTION = 0.1
RESERVE_MAX_S = 0.25
"""Of the budget, kept for assembling the answer after upstream calls give up: 10 %, at most
250 ms."""
PROBE_S = 0.02
"""How often the watcher reads the loop's clocks (so a long interval is shared among the
requests running in it, not only those running when it ends) and adjusts the window."""
START_WINDOW_S = 0.1
MAX_WINDOW_S = 0.5
DOUBLE_BELOW = 0.5
GROW_BELOW = 0.8
IDLE_BELOW = 0.5
"""Utilization under which a queued request starts whatever those running have left: they
are waiting on their silos (a slow silo must not throttle the worker to a few requests)."""
"""Utilization under which the window doubles, or grows by :data:`PROBE_S`, while requests
queue behind it."""
SHRINK = 0.9
UTIL_ALPHA = 0.3
"""Weight of the newest probe in the smoothed utilization."""
CPU_PER_UNIT_S = 10e-6
"""The prior CPU seconds per unit of static cost (S2, cost 4,551: about 46 ms) until
measurements correct it."""
BASE_UNITS = 100
"""Cost units every request has on top of its document's (HTTP, authentication, the answer)."""
ALPHA = 0.2
"""Weight of a key's newest measurement (after its first 1 / ALPHA: a running mean before)."""
UNIT_ALPHA = 0.05
"""Weight of the newest measurement in the learned CPU per cost unit."""
SLOWDOWN_ALPHA = 0.1
MAX_SLOWDOWN = 5.0
KEYS = 1024
OVERRUN_UP = 0.5
OVERRUN_DOWN = 0.1
"""Weights of a key's newest overrun in its envelope: when later than the envelope, and when
not (module doc)."""
"""Keys (document, operation, cost) the predictor remembers."""


def upstream_deadline(arrived: float, budget_s: float) -> float:
    """Event-loop time after which no upstream call may still be running."""
    return arrived + budget_s - reserve(budget_s)


def reserve(budget_s: float) -> float:
    return min(budget_s * RESERVE_FRACTION, RESERVE_MAX_S)


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


class LoopMeter:
    """The event-loop thread's CPU seconds and the seconds it waited for a core (the kernel's
    run queue): ``/proc/thread-self/schedstat`` once :meth:`open` ran on that thread (Linux),
    else ``time.thread_time`` and no waiting (the slowdown stays 1)."""

    def __init__(self) -> None:
        self._fd: int | None = None

    def open(self) -> None:
        """On the loop's thread: read its schedstat from now on, when there is one."""
        try:
            fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
            self._fd = fd
            self()
        except (OSError, ValueError):
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __call__(self) -> tuple[float, float]:
        if self._fd is None:
            return time.thread_time(), 0.0
        ran, waited, _ = os.pread(self._fd, 128, 0).split()
        return int(ran) / 1e9, int(waited) / 1e9


@dataclass(frozen=True)
class Prediction:
    cpu_s: float
    """Loop CPU seconds the request is predicted to use."""
    io_s: float
    """Seconds it is predicted to wait on its silos with nothing else to run."""
    known: bool
    """Whether measured for its key (else: from its static cost)."""
    overrun_s: float = field(default=0.0, compare=False)
    """How much later than predicted requests of its key have recently finished (the upper
    envelope of their overruns, at least 0): kept as margin when deciding (module doc)."""


class Predictor:
    """Per-key CPU and I/O predictions learned from measurements (module doc)."""

    def __init__(self, cpu_per_unit_s: float = CPU_PER_UNIT_S) -> None:
        self.cpu_per_unit_s = cpu_per_unit_s
        self.io_s = 0.0
        """The learned I/O wait of any request: the prior for an unseen key."""
        # [cpu, io, samples, overrun envelope]
        self._keys: OrderedDict[Hashable, list[float]] = OrderedDict()

    @staticmethod
    def _units(cost: int | None) -> int:
        return max(cost or 0, 0) + BASE_UNITS

    def predict(self, key: Hashable, cost: int | None) -> Prediction:
        found = self._keys.get(key)
        if found is not None:
            self._keys.move_to_end(key)
            return Prediction(found[0], found[1], True, max(found[3], 0.0))
        return Prediction(self._units(cost) * self.cpu_per_unit_s, self.io_s, False)

    def overran(self, key: Hashable, overrun_s: float) -> None:
        """A request of ``key``, admitted on a known prediction, finished ``overrun_s`` after
        the time its admission predicted (negative: before). The envelope rises fast
        (:data:`OVERRUN_UP`) and decays slowly (:data:`OVERRUN_DOWN`), so one late answer makes
        the next admissions of its key keep that margin for a while."""
        found = self._keys.get(key)
        if found is None:
            return
        step = OVERRUN_UP if overrun_s > found[3] else OVERRUN_DOWN
        found[3] += step * (overrun_s - found[3])

    def learn(self, key: Hashable, cost: int | None, cpu_s: float, io_s: float) -> None:
        """One request of ``key`` used ``cpu_s`` of loop CPU and waited ``io_s`` on I/O."""
        cpu_s, io_s = max(cpu_s, 0.0), max(io_s, 0.0)
        found = self._keys.get(key)
        if found is None:
            self._keys[key] = [cpu_s, io_s, 1.0, 0.0]
            if len(self._keys) > KEYS:
                self._keys.popitem(last=False)
        else:
            found[2] += 1
            weight = max(ALPHA, 1 / found[2])
            found[0] += weight * (cpu_s - found[0])
            found[1] += weight * (io_s - found[1])
            self._keys.move_to_end(key)
        self.cpu_per_unit_s += UNIT_ALPHA * (cpu_s / self._units(cost) - self.cpu_per_unit_s)
        self.io_s += UNIT_ALPHA * (io_s - self.io_s)


@dataclass(eq=False)
class Ticket:
    """One admitted request, queued or running."""

    key: Hashable
    cost: int | None
    predicted: Prediction
    cutoff: float
    """When its upstream calls must have ended (:func:`upstream_deadline`)."""
    due: float
    """When admission predicted it would finish (event-loop time)."""
    started: asyncio.Future[bool] | None = None
    """Queued: resolves True when it starts, False when refused at its turn."""
    running: bool = False
    start_at: float = 0.0
    share_at_start: float = 0.0
    cpu_at_start: float = 0.0

    @property
    def cpu_s(self) -> float:
        return self.predicted.cpu_s


@dataclass(frozen=True)
class Refusal:
    retry_after_s: int
    reason: str
    """``full`` (``max_in_flight`` admitted), ``wait`` (over ``queue_wait_ms``) or ``budget``."""


@dataclass
class AdmissionStats:
    admitted: int = 0
    refused: int = 0
    """At arrival."""
    late_refused: int = 0
    """Queued, then refused at their turn: the prediction was badly off."""
    peak_in_flight: int = 0
    """Most requests admitted at once (running and queued)."""
    peak_running: int = 0
    smallest_window_s: float = 0.0
    largest_window_s: float = 0.0
    refused_by: dict[str, int] = field(default_factory=dict)


class Admission:
    """Predicted-cost admission and a FIFO queue on one event loop (module doc).

    ``clock`` is the event-loop time and ``meter`` the loop thread's (CPU, run-queue wait)
    clocks (:class:`LoopMeter`); tests inject both."""

    def __init__(self, max_in_flight: int, *, max_lag_s: float = 0.05,
                 max_wait_s: float = 0.5, window_s: float = START_WINDOW_S,
                 predictor: Predictor | None = None,
                 clock: Callable[[], float] | None = None,
                 meter: Callable[[], tuple[float, float]] | None = None) -> None:
        self.max_in_flight = max_in_flight
        self.max_lag_s = max_lag_s
        self.window = max(window_s, max_lag_s)
        """Predicted CPU seconds the running requests may have left for the next to start
        (module doc)."""
        self.util = 1.0
        """The loop's smoothed utilization: running or waiting for a core (busy until a
        probe says otherwise)."""
        self.max_wait_s = max_wait_s
        self.predictor = predictor or Predictor()
        self.slowdown = 1.0
        """Wall seconds per CPU second while the loop has work (module doc)."""
        self._clock = clock
        self._meter = meter if meter is not None else LoopMeter()
        self.stats = AdmissionStats(smallest_window_s=self.window,
                                    largest_window_s=self.window)
        self.running: set[Ticket] = set()
        self.queue: deque[Ticket] = deque()
        self._share = 0.0  # CPU seconds per running request, cumulative
        self._last_cpu, self._last_waited = self._meter()
        self._probe_at: tuple[float, float, float] | None = None  # (time, cpu, waited)

    def now(self) -> float:
        return self._clock() if self._clock is not None else \
            asyncio.get_running_loop().time()

    @property
    def admitted_total(self) -> int:
        return self.stats.admitted

    @property
    def idle(self) -> bool:
        """Nothing admitted is running or queued."""
        return not self.running and not self.queue

    # -- measuring ---------------------------------------------------------------------------
    def sample(self) -> float:
        """Share the loop CPU used since the last reading among the running requests; the CPU
        clock now."""
        now_cpu, self._last_waited = self._meter()
        used = now_cpu - self._last_cpu
        self._last_cpu = now_cpu
        if self.running and used > 0:
            self._share += used / len(self.running)
        return now_cpu

    def measured(self, ticket: Ticket) -> float:
        """CPU seconds charged to a running request so far."""
        return self._share - ticket.share_at_start if ticket.running else 0.0

    def remaining(self, ticket: Ticket) -> float:
        return max(ticket.cpu_s - self.measured(ticket), 0.0)

    def backlog(self) -> float:
        """Predicted CPU seconds still to run of everything admitted."""
        return self._running_left() + sum(t.cpu_s for t in self.queue)

    def _running_left(self) -> float:
        return sum(self.remaining(t) for t in self.running)

    # -- deciding ----------------------------------------------------------------------------
    def predict(self, key: Hashable, cost: int | None) -> Prediction:
        return self.predictor.predict(key, cost)

    def arrive(self, key: Hashable, cost: int | None, arrived: float,
               budget_s: float) -> Ticket | Refusal:
        """Admit (the ticket is running, or queued: :meth:`wait` for it) or refuse at once."""
        self.sample()
        predicted = self.predict(key, cost)
        admitted = len(self.running) + len(self.queue)
        if admitted and admitted >= self.max_in_flight:
            return self._refuse("full", 1.0)
        starts_now = not self.queue and self._may_start()
        now = self.now()
        wait = self.slowdown * self.backlog() if admitted else 0.0
        # starting now, its silo waits overlap the CPU of those running; queued, they follow it
        ahead = max(wait, predicted.io_s) if starts_now else wait + predicted.io_s
        due = now + ahead + self.slowdown * predicted.cpu_s
        if admitted:
            late = due + max(self.window, predicted.overrun_s) - (
                arrived + budget_s - reserve(budget_s))
            if late > 0:
                return self._refuse("budget", late)
            if not starts_now and wait > self.max_wait_s:
                return self._refuse("wait", wait - self.max_wait_s)
        ticket = Ticket(key, cost, predicted, upstream_deadline(arrived, budget_s), due)
        self.stats.admitted += 1
        if starts_now:
            self._start(ticket)
        else:
            ticket.started = asyncio.get_running_loop().create_future()
            self.queue.append(ticket)
        self.stats.peak_in_flight = max(self.stats.peak_in_flight,
                                        len(self.running) + len(self.queue))
        return ticket

    def shed(self) -> Refusal | None:
        """What :meth:`arrive` would answer any request now, whatever its cost: the refusal
        when the worker is full or its queue's wait alone is over ``queue_wait_ms``; None
        otherwise."""
        admitted = len(self.running) + len(self.queue)
        if admitted and admitted >= self.max_in_flight:
            return self._refuse("full", 1.0)
        if self.queue:
            self.sample()
            wait = self.slowdown * self.backlog()
            if wait > self.max_wait_s:
                return self._refuse("wait", wait - self.max_wait_s)
        return None

    def _refuse(self, reason: str, excess_s: float) -> Refusal:
        self.stats.refused += 1
        self.stats.refused_by[reason] = self.stats.refused_by.get(reason, 0) + 1
        return Refusal(max(1, min(60, math.ceil(excess_s))), reason)

    def _may_start(self) -> bool:
        """Whether the head of the queue may start: nothing runs, those running have less
        predicted CPU left than the window, or the loop is mostly idle (those running wait
        on their silos: their CPU is not holding the core)."""
        return not self.running or self.util < IDLE_BELOW or \
            self.slowdown * self._running_left() < self.window

    def _start(self, ticket: Ticket) -> None:
        ticket.running = True
        ticket.start_at = self.now()
        ticket.share_at_start = self._share
        ticket.cpu_at_start = self._last_cpu
        self.running.add(ticket)
        self.stats.peak_running = max(self.stats.peak_running, len(self.running))

    def _dispatch(self) -> None:
        """Start queued requests in order while they may."""
        while self.queue and self._may_start():
            ticket = self.queue.popleft()
            assert ticket.started is not None
            if ticket.started.done():  # its caller went away while it waited
                continue
            if self.now() + self.slowdown * ticket.cpu_s + ticket.predicted.io_s > \
                    ticket.cutoff:
                self.stats.late_refused += 1
                ticket.started.set_result(False)
                continue
            self._start(ticket)
            ticket.started.set_result(True)

    async def wait(self, ticket: Ticket) -> bool:
        """Wait for the ticket's turn: True once it runs (then :meth:`finish` it), False when
        refused at its turn."""
        if ticket.running:
            return True
        assert ticket.started is not None
        try:
            return await ticket.started
        except asyncio.CancelledError:
            if ticket.running:  # started as the caller went away
                self.finish(ticket, learn=False)
            else:
                with contextlib.suppress(ValueError):
                    self.queue.remove(ticket)
            raise

    def finish(self, ticket: Ticket, *, learn: bool = True) -> None:
        """A running request ended: learn what it cost, start what may start."""
        if not ticket.running:
            return
        now_cpu = self.sample()
        cpu_s = self.measured(ticket)
        ticket.running = False
        self.running.discard(ticket)
        if learn:
            idle = (self.now() - ticket.start_at) - \
                self.slowdown * (now_cpu - ticket.cpu_at_start)
            if ticket.predicted.known:
                self.predictor.overran(ticket.key, self.now() - ticket.due)
            self.predictor.learn(ticket.key, ticket.cost, cpu_s, idle)
        self._dispatch()

    # -- watching ----------------------------------------------------------------------------
    def probe(self) -> None:
        """One watcher probe, :data:`PROBE_S` after the last: read the clocks; learn the
        slowdown from a loop runnable a quarter of the time or more; adjust the window (module
        doc) and start what it lets start."""
        now, now_cpu = self.now(), self.sample()
        last, self._probe_at = self._probe_at, (now, now_cpu, self._last_waited)
        if last is None:
            return
        elapsed, used = now - last[0], now_cpu - last[1]
        runnable = used + self._last_waited - last[2]
        if elapsed <= 0:
            return
        if used > 0 and runnable >= elapsed / 4:
            seen = min(MAX_SLOWDOWN, max(1.0, runnable / used))
            self.slowdown += SLOWDOWN_ALPHA * (seen - self.slowdown)
        self.util += UTIL_ALPHA * (min(1.0, runnable / elapsed) - self.util)
        if elapsed - PROBE_S > self.max_lag_s:
            self.window = max(self.max_lag_s, self.window * SHRINK)
        elif self.queue and not self._may_start():
            if self.util < DOUBLE_BELOW:
                self.window = min(MAX_WINDOW_S, self.window * 2)
            elif self.util < GROW_BELOW:
                self.window = min(MAX_WINDOW_S, self.window + PROBE_S)
        self.stats.smallest_window_s = min(self.stats.smallest_window_s, self.window)
        self.stats.largest_window_s = max(self.stats.largest_window_s, self.window)
        self._dispatch()

    async def watch(self) -> None:
        """Probe every :data:`PROBE_S` until cancelled (the app's lifespan)."""
        if isinstance(self._meter, LoopMeter):
            self._meter.open()  # on the loop's thread: the app may be built on another
        self._last_cpu, self._last_waited = self._meter()
        try:
            while True:
                await asyncio.sleep(PROBE_S)
                self.probe()
        finally:
            if isinstance(self._meter, LoopMeter):
                self._meter.close()


def watching(admission: Admission) -> contextlib.AbstractAsyncContextManager[None]:
    """The admission's watcher, for the app's lifespan."""
    return running(admission.watch(), "c360-admission")
