"""The live re-check of a known person: between two crawls, the silos are asked whether they
hold new records of the person a request is reading.

The registry stores when each person was last checked (``identity_check``). When a request
reads people whose check is older than ``identity.refresh_s`` (or who were never checked), one
request of one worker claims them — an atomic update in the registry's database, so a person is
re-checked at most once per interval across every worker — and every source is searched live
by the person's normalized emails and phones (the vendors' own searches, the machinery of the
live lookup on a registry miss). Records the registry does not hold yet are linked through the
same match rules; records it holds wait for the crawl.

The request does not wait for the re-check before reading: it reads what the registry holds
while the searches run (:class:`RequestRechecks`), and only when they linked a new record does
it read again before answering — so a re-check costs a person's view no silo round trip of its
own unless it found something.

Bounded: only reads of a few people are re-checked (a page listing more than
:data:`PEOPLE_PER_REQUEST` is left to the crawl), at most :data:`PEOPLE_PER_REQUEST` people per
request and :data:`VALUES_PER_PERSON` identifiers per person are searched; the answer waits at
most :data:`WAIT_S` from the re-check's start (and never more than a quarter of the request's
remaining budget) for the searches, after which the re-check goes on in the background for at
most :data:`TIMEOUT_S` — its links then show to the next request. A failing source, the
registry or a timeout never fails the request: the request reads what the registry holds.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

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
        self._running: dict[str, asyncio.Task[int]] = {}

    def for_request(self, deadline: float | None = None) -> RequestRechecks:
        """The re-checks of one request (its cap, its budget)."""
        return RequestRechecks(self, deadline)

    def start(self, golden_ids: Sequence[str], *, limit: int,
              ) -> tuple[set[asyncio.Task[int]], int]:
        """Start the re-check of the first ``limit`` of these people whose check is stale, or
        join those of these people already running here, without waiting: returns the tasks
        (each resolves to how many records it linked, 0 when it failed) and how many people
        this call asked to claim."""
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[int]] = set()
        stale: list[str] = []
        for gid in dict.fromkeys(golden_ids):
            running = self._running.get(gid)
            if running is not None:
                tasks.add(running)
            elif self._fresh.get(("checked", gid)) is None:
                stale.append(gid)
        busy = len(set(self._running.values())) >= self.in_flight
        if not stale or limit <= 0 or busy:
            return tasks, 0
        # a context of its own: the request's upstream deadline does not cut it short, and
        # what outlives the request's wait goes on in the background
        task = loop.create_task(self._claim_and_check(stale, limit),
                                context=contextvars.Context())
        for gid in stale:
            self._running[gid] = task
        task.add_done_callback(partial(self._done, ids=tuple(stale)))
        tasks.add(task)
        return tasks, min(limit, len(stale))

    def _done(self, task: asyncio.Task[int], ids: Sequence[str]) -> None:
        for gid in ids:
            if self._running.get(gid) is task:
                del self._running[gid]

    async def _claim_and_check(self, candidates: Sequence[str], limit: int) -> int:
        try:
            now = self.clock()
            mine, fresh = await self.identity.registry.claim_checks(
                candidates, now=now, stale_before=now - self.interval, limit=limit)
        except Exception as exc:  # noqa: BLE001 - the request reads what it has
            log.warning("re-check: the registry failed (%s)", type(exc).__name__)
            mine, fresh = [], set(candidates)  # not again before an interval
        for gid in (*mine, *fresh):
            self._fresh.put(("checked", gid), True)
        return await self._check(mine) if mine else 0

    async def _check(self, golden_ids: Sequence[str]) -> int:
        """Search the silos by these people's identifiers (at most :data:`VALUES_PER_PERSON`
        each) and link what the registry does not hold yet; how many were linked."""
        try:
            async with asyncio.timeout(self.timeout_s):
                known = await self.identity.registry.identifiers_of(golden_ids)
                emails: list[str] = []
                phones: list[str] = []
                held: set[tuple[str, str, str]] = set()
                for gid in golden_ids:
                    keys = known.get(gid, [])
                    values = [("email", v) for k, v, _ in keys
                              if k == "email" and v not in self.rules.junk_emails]
                    values += [("phone", v) for k, v, _ in keys
                               if k == "phone" and v not in self.rules.junk_phones]
                    chosen = list(dict.fromkeys(values))[:self.values_per_person]
                    for kind, value in chosen:
                        (emails if kind == "email" else phones).append(value)
                    held.update(key for key in keys if (key[0], key[1]) in chosen)
                linked = await self.identity.link_new(sorted(set(emails)), sorted(set(phones)),
                                                      held=held)
            if linked:
                log.info("re-check: %d new records linked to %d people", linked,
                         len(golden_ids))
            return linked
        except TimeoutError:
            log.warning("re-check: not done within %.1fs", self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - a background task: logged, never raised
            log.warning("re-check failed (%s)", type(exc).__name__)
        return 0

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
    its remaining budget.

    Called with the golden ids a registry read is about to load, it starts their re-checks
    and returns at once: the request reads what the registry holds meanwhile, its silo calls
    overlapping the re-check's searches. Before the answer goes out, :meth:`settle` waits for
    those re-checks (within the bound) and tells whether they linked new records — then the
    request reads again (:mod:`gateway.app`), its silo answers still cached, so that the
    answer is the one a re-check made first would give, paying a second read only when the
    registry changed."""

    def __init__(self, rechecker: Rechecker, deadline: float | None) -> None:
        self.rechecker = rechecker
        self.deadline = deadline
        self.left = rechecker.people_per_request
        self._tasks: set[asyncio.Task[int]] = set()
        self._until = 0.0

    async def __call__(self, golden_ids: Sequence[str]) -> None:
        if len(set(golden_ids)) > self.rechecker.people_per_request:
            # a list (a page of customers): nobody in particular is being looked at, and the
            # crawl keeps it fresh; re-checking some would only slow the page down
            return
        tasks, started = self.rechecker.start(golden_ids, limit=self.left)
        if not tasks:
            return
        self.left -= started
        now = asyncio.get_running_loop().time()
        wait_s = self.rechecker.wait_s
        if self.deadline is not None:
            wait_s = min(wait_s, max(0.0, (self.deadline - now) * _BUDGET_SHARE))
        self._tasks |= tasks
        self._until = max(self._until, now + wait_s)

    async def settle(self) -> bool:
        """Wait for this request's re-checks until their bound; whether those done by then
        linked any new record (the rest go on in the background: the next request sees
        them). Never raises but for cancellation."""
        if not self._tasks:
            return False
        tasks, self._tasks = self._tasks, set()
        remaining = self._until - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.wait(tasks, timeout=remaining)
        return any(task.done() and not task.cancelled() and task.result() > 0
                   for task in tasks)
