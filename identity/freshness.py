"""The live re-check of a known person: between two crawls, the silos are asked whether they
hold new records of the person a request is reading.

The registry stores when each person was last checked (``identity_check``). When a request
reads people whose check is older than ``identity.refresh_s`` (or who were never checked), one
request of one worker claims them — an atomic update in the registry's database, so a person is
re-checked at most once per interval across every worker — and every source is searched live
by the person's normalized emails and phones (the vendors' own searches, the machinery of the
live lookup on a registry miss). Records the registry does not hold yet are linked through the
same match rules; records it holds wait for the crawl.

Bounded: only reads of a few people are re-checked (a page listing more than
:data:`PEOPLE_PER_REQUEST` is left to the crawl), at most :data:`PEOPLE_PER_REQUEST` people per
request and
:data:`VALUES_PER_PERSON` identifiers per person are searched; the request waits at most
:data:`WAIT_S` (and never more than a quarter of its remaining budget) for the answers, after
which the re-check goes on in the background for at most :data:`TIMEOUT_S` — its links then
show to the next request. A failing source, the registry or a timeout never fails the request:
the request reads what the registry holds.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from adapters.cache import MemoryLookupCache
from identity.matching import MatchRules
from identity.service import IdentityService

log = logging.getLogger("c360.identity")

PEOPLE_PER_REQUEST = 3
VALUES_PER_PERSON = 4
WAIT_S = 0.5
IN_FLIGHT = 2
"""Re-checks one process runs at once: beyond it a read is left to the crawl (under load the
searches would slow every read down; an agent opening one customer finds one free)."""
TIMEOUT_S = 5.0
_BUDGET_SHARE = 0.25


class Rechecker:
    """Re-checks of people read by requests, at most once per person per interval."""

    def __init__(self, identity: IdentityService, interval_s: float, *,
                 rules: MatchRules | None = None,
                 people_per_request: int = PEOPLE_PER_REQUEST,
                 values_per_person: int = VALUES_PER_PERSON, wait_s: float = WAIT_S,
                 timeout_s: float = TIMEOUT_S, in_flight: int = IN_FLIGHT,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if interval_s <= 0:
            raise ValueError("the re-check interval must be positive")
        self.identity = identity
        self.interval = timedelta(seconds=interval_s)
        self.rules = rules or MatchRules()
        self.people_per_request = people_per_request
        self.values_per_person = values_per_person
        self.wait_s = wait_s
        self.timeout_s = timeout_s
        self.in_flight = in_flight
        self.clock = clock
        self._fresh: MemoryLookupCache[bool] = MemoryLookupCache(ttl_s=interval_s)
        """People this process knows were checked within the interval (no database read)."""
        self._running: dict[str, asyncio.Task[None]] = {}

    def for_request(self, deadline: float | None = None) -> RequestRechecks:
        """The re-checks of one request (its cap, its budget)."""
        return RequestRechecks(self, deadline)

    async def recheck(self, golden_ids: Sequence[str], *, limit: int,
                      wait_s: float) -> int:
        """Re-check the first ``limit`` of these people whose check is stale, waiting up to
        ``wait_s`` in all (for the claim, the searches, and re-checks of these people already
        running here); returns how many this call claimed (when the claim itself outlasts the
        wait: how many it asked for). Never raises but for cancellation."""
        loop = asyncio.get_running_loop()
        until = loop.time() + wait_s
        waiting: set[asyncio.Future[Any]] = set()
        stale: list[str] = []
        for gid in dict.fromkeys(golden_ids):
            running = self._running.get(gid)
            if running is not None:
                waiting.add(running)
            elif self._fresh.get(("checked", gid)) is None:
                stale.append(gid)
        started = 0
        busy = len(set(self._running.values())) >= self.in_flight
        if stale and limit > 0 and not busy:
            claimed: asyncio.Future[list[str]] = loop.create_future()
            # a context of its own: the request's upstream deadline does not cut it short, and
            # what outlives the wait goes on in the background
            task = loop.create_task(self._claim_and_check(stale, limit, claimed),
                                    context=contextvars.Context())
            for gid in stale:
                self._running[gid] = task
            task.add_done_callback(partial(self._done, ids=tuple(stale)))
            await asyncio.wait({claimed}, timeout=wait_s)
            started = len(claimed.result()) if claimed.done() else min(limit, len(stale))
            waiting.add(task)
        remaining = until - loop.time()
        if waiting and remaining > 0:
            await asyncio.wait(waiting, timeout=remaining)
        return started

    def _done(self, task: asyncio.Task[None], ids: Sequence[str]) -> None:
        for gid in ids:
            if self._running.get(gid) is task:
                del self._running[gid]

    async def _claim_and_check(self, candidates: Sequence[str], limit: int,
                               claimed: asyncio.Future[list[str]]) -> None:
        try:
            now = self.clock()
            mine, fresh = await self.identity.registry.claim_checks(
                candidates, now=now, stale_before=now - self.interval, limit=limit)
        except Exception as exc:  # noqa: BLE001 - the request reads what it has
            log.warning("re-check: the registry failed (%s)", type(exc).__name__)
            mine, fresh = [], set(candidates)  # not again before an interval
        for gid in (*mine, *fresh):
            self._fresh.put(("checked", gid), True)
        claimed.set_result(mine)
        if mine:
            await self._check(mine)

    async def _check(self, golden_ids: Sequence[str]) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                known = await self.identity.registry.identifiers_of(golden_ids)
                emails: list[str] = []
                phones: list[str] = []
                for gid in golden_ids:
                    mine_emails, mine_phones = known.get(gid, ([], []))
                    values = [("email", e) for e in mine_emails
                              if e not in self.rules.junk_emails]
                    values += [("phone", p) for p in mine_phones
                               if p not in self.rules.junk_phones]
                    for kind, value in values[:self.values_per_person]:
                        (emails if kind == "email" else phones).append(value)
                linked = await self.identity.link_new(sorted(set(emails)), sorted(set(phones)))
            if linked:
                log.info("re-check: %d new records linked to %d people", linked,
                         len(golden_ids))
        except TimeoutError:
            log.warning("re-check: not done within %.1fs", self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - a background task: logged, never raised
            log.warning("re-check failed (%s)", type(exc).__name__)

    async def close(self) -> None:
        """Cancel the re-checks still running (shutdown)."""
        tasks = set(self._running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()


class RequestRechecks:
    """One request's share of re-checks: a cap on the people it re-checks, a wait bounded by
    its remaining budget. Called with the golden ids a registry read is about to load."""

    def __init__(self, rechecker: Rechecker, deadline: float | None) -> None:
        self.rechecker = rechecker
        self.deadline = deadline
        self.left = rechecker.people_per_request

    async def __call__(self, golden_ids: Sequence[str]) -> None:
        if len(set(golden_ids)) > self.rechecker.people_per_request:
            # a list (a page of customers): nobody in particular is being looked at, and the
            # crawl keeps it fresh; re-checking some would only slow the page down
            return
        wait_s = self.rechecker.wait_s
        if self.deadline is not None:
            remaining = self.deadline - asyncio.get_running_loop().time()
            wait_s = min(wait_s, max(0.0, remaining * _BUDGET_SHARE))
        self.left -= await self.rechecker.recheck(golden_ids, limit=self.left, wait_s=wait_s)
