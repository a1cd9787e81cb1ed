"""Circuit breakers: a source that keeps failing is not called until it has had time to recover.

::

    closed ──(``failures`` failed calls in a row, within ``window_s``)──▶ open
    open ──(``cooldown_s`` later)──▶ half-open: one call goes through (the probe), others fail
    half-open ──probe answers──▶ closed          half-open ──probe fails──▶ open again

A call refused by an open breaker raises :class:`~adapters.errors.CircuitOpen`
(``SOURCE_UNAVAILABLE``) without any connection attempted, so a silo that is down costs its
callers nothing and the silo nothing but the probes. What counts as a failure is the source
not answering: a timeout, a refused or reset connection, a 5xx (:class:`UpstreamTimeout`,
:class:`UpstreamUnavailable`); a 4xx, a refused write or a 429 (the silo is up and asks us to
slow down) are answers. A probe is never retried.

Several workers share one state through :class:`SharedBreakers` (on Redis:
:mod:`gateway.breakers`): the failures in a row are counted for all workers, a trip opens the
breaker everywhere, one worker at a time probes. The shared state is read in the background
(:meth:`Breaker.observe`), never on a call's path; a call only writes to it on a failure, or on
the first success after failures. If the shared store is unreachable each worker's own state
decides meanwhile.

Why not a library: purgatory (async, Redis storage) reads the state from Redis before and
writes it after every call — a round trip added to every silo call — and lets every call of the
half-open state through; pybreaker's Redis storage is synchronous. This is the small one the
gateway needs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from adapters.errors import CircuitOpen, UpstreamError, UpstreamTimeout, UpstreamUnavailable

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
STATES = (CLOSED, HALF_OPEN, OPEN)
DENIED_PROBE_BACKOFF_S = 0.5
"""After another worker won the probe, this worker fails fast this long before asking again."""


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures: int = 5
    """Failed calls in a row (no success between) that open the breaker."""
    window_s: float = 30.0
    """The failures must fall within this many seconds of the first."""
    cooldown_s: float = 10.0
    """How long the breaker stays open before a probe."""


def is_failure(error: BaseException) -> bool:
    """Whether ``error`` says the source did not answer (module doc)."""
    return isinstance(error, UpstreamTimeout | UpstreamUnavailable) and not isinstance(
        error, CircuitOpen)


class SharedBreakers(Protocol):
    """Where the breakers of several workers meet (extension point; Redis:
    :class:`gateway.breakers.RedisBreakers`). Each method returns ``None`` when the store cannot
    be reached: the worker's own state decides."""

    async def failed(self, source: str, window_s: float) -> int | None:
        """Count one more failure in a row of ``source``; the count so far."""

    async def succeeded(self, source: str) -> None:
        """``source`` answered: the failures in a row start again from zero."""

    async def trip(self, source: str, cooldown_s: float) -> None:
        """Open ``source``'s breaker for every worker, for ``cooldown_s``."""

    async def claim_probe(self, source: str, ttl_s: float) -> bool | None:
        """Whether this worker may probe ``source`` now (one worker at a time)."""

    async def close(self, source: str) -> None:
        """The probe answered: ``source``'s breaker is closed for every worker."""


Listener = Callable[[str, str], None]
"""Called with (source, new state) on every transition (metrics)."""


class Breaker:
    """The breaker of one source (module doc). Not thread-safe: one per source per event
    loop."""

    def __init__(self, source: str, policy: BreakerPolicy | None = None, *,
                 shared: SharedBreakers | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 listener: Listener | None = None) -> None:
        self.source = source
        self.policy = policy or BreakerPolicy()
        self.shared = shared
        self.clock = clock
        self.listener = listener
        self.state = CLOSED
        self._open_until = 0.0
        self._failures = 0
        self._first_failure = -math.inf
        self._probing = False

    def _move(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self.listener is not None:
                self.listener(self.source, state)

    async def admit(self) -> bool:
        """Before a call: whether it is the probe. Raises :class:`CircuitOpen` when the call
        must not be made."""
        if self.state == CLOSED:
            return False
        now = self.clock()
        if now < self._open_until or self._probing:
            raise CircuitOpen(self.source, max(self._open_until - now, 0.0))
        if self.shared is not None:
            claimed = await self.shared.claim_probe(self.source, self.policy.cooldown_s)
            if claimed is False:
                self._open_until = self.clock() + min(DENIED_PROBE_BACKOFF_S,
                                                      self.policy.cooldown_s)
                raise CircuitOpen(self.source, self._open_until - self.clock())
            if self.state == CLOSED:  # another worker's probe closed it meanwhile
                return False
        self._probing = True
        self._move(HALF_OPEN)
        return True

    def retry_allowed(self) -> bool:
        """Whether a retry may go out (not once the breaker has opened during the call)."""
        return self.state == CLOSED

    async def succeeded(self, probe: bool) -> None:
        """The call got an answer."""
        if probe:
            self._probing = False
            self._failures = 0
            self._move(CLOSED)
            if self.shared is not None:
                await self.shared.close(self.source)
            return
        if self._failures:
            self._failures = 0
            if self.shared is not None:
                await self.shared.succeeded(self.source)

    async def failed(self, probe: bool) -> None:
        """The call got no answer (:func:`is_failure`), or the probe was abandoned."""
        now = self.clock()
        if probe:
            self._probing = False
            await self._trip(now)
            return
        if self.state != CLOSED:
            return
        if now - self._first_failure > self.policy.window_s:
            self._failures = 0
        if self._failures == 0:
            self._first_failure = now
        self._failures += 1
        count = self._failures
        if self.shared is not None:
            shared = await self.shared.failed(self.source, self.policy.window_s)
            if shared is not None:
                count = max(count, shared)
        if count >= self.policy.failures and self.state == CLOSED:
            await self._trip(now)

    async def _trip(self, now: float) -> None:
        self._failures = 0
        self._open_until = now + self.policy.cooldown_s
        self._move(OPEN)
        if self.shared is not None:
            await self.shared.trip(self.source, self.policy.cooldown_s)

    def observe(self, state: str, open_for_s: float = 0.0) -> None:
        """The state the shared store holds (read in the background by the gateway)."""
        if self._probing:
            return
        if state == OPEN:
            self._open_until = self.clock() + open_for_s
            self._move(OPEN)
        elif state == HALF_OPEN:
            if self.state == CLOSED or self._open_until > self.clock():
                self._open_until = self.clock()
                self._move(OPEN)
        elif self.state != CLOSED:
            self._failures = 0
            self._move(CLOSED)

    def open_for(self) -> float:
        """Seconds until the next probe may go out (0 when closed or due)."""
        return max(self._open_until - self.clock(), 0.0) if self.state != CLOSED else 0.0


async def guarded_failure(breaker: Breaker | None, probe: bool, error: BaseException) -> None:
    """Tell ``breaker`` how a call ended with ``error`` (any exception: a cancelled probe is
    an abandoned one)."""
    if breaker is None:
        return
    if is_failure(error) or (probe and not isinstance(error, UpstreamError)):
        await breaker.failed(probe)
    else:
        await breaker.succeeded(probe)


class guarding:
    """``async with guarding(breaker):`` around one call that raises the error tree (a SQL
    source's statement): admitted or refused (:class:`CircuitOpen`) on entry, its outcome
    recorded on exit. ``breaker`` may be None (no breaker)."""

    __slots__ = ("breaker", "probe")

    def __init__(self, breaker: Breaker | None) -> None:
        self.breaker = breaker
        self.probe = False

    async def __aenter__(self) -> None:
        if self.breaker is not None:
            self.probe = await self.breaker.admit()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> None:
        if self.breaker is None:
            return
        if exc is None:
            await self.breaker.succeeded(self.probe)
        else:
            await guarded_failure(self.breaker, self.probe, exc)
