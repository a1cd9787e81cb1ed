"""Admission control and the request budget, measured from arrival.

A worker that takes every request it is sent answers all of them late once it is saturated:
requests queue for the CPU before their budget even starts. So each request's budget starts
when it arrives (the outermost middleware stamps the time), at most ``max_in_flight`` GraphQL
requests execute at once, a request waits at most ``queue_wait_ms`` for a slot and is
otherwise refused at once (HTTP 503, ``Retry-After``, code ``OVERLOADED``: the client, or the
load balancer in front of several workers, retries elsewhere or later), and an answer that
would outlive the budget is cut (HTTP 504, code ``BUDGET_EXCEEDED``).

Upstream calls stop a little before the budget ends (:func:`upstream_deadline`), leaving time
to assemble the partial answer, so the budget is the caller's bound, not the silos'.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

RESERVE_FRACTION = 0.1
RESERVE_MAX_S = 0.25
"""Of the budget, kept for assembling the answer after upstream calls give up: 10 %, at most
250 ms."""


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


class Admission:
    """At most ``limit`` requests at once; a request waits for a slot until a given time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.stats = AdmissionStats()

    async def enter(self, wait_until: float) -> bool:
        """Take a slot, waiting until ``wait_until`` (event-loop time) at the latest; False
        when none freed up in time. A True must be paired with :meth:`leave`."""
        if self._slots.locked():
            try:
                async with asyncio.timeout_at(wait_until):
                    await self._slots.acquire()
            except TimeoutError:
                self.stats.refused += 1
                return False
        else:
            await self._slots.acquire()
        self.in_flight += 1
        self.stats.admitted += 1
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.in_flight)
        return True

    def leave(self) -> None:
        self.in_flight -= 1
        self._slots.release()
