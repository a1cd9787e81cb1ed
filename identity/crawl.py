"""The incremental crawl a serving gateway runs: every source's change feed, read from where
the last crawl stopped, linked into people as it arrives.

Every ``identity.refresh_s`` each worker calls :meth:`Crawler.tick`. For each customer source,
one worker at a time — the one that takes the source's lease in the registry's database, and
only when that source's last crawl (by any worker) started an interval ago — reads the records
changed since the source's high-water mark minus :data:`OVERLAP` (records changed in the same
second as the last one read are read again, never missed) through the adapter's
``crawl_customers(since)``, stores the records whose identifiers changed and re-links their
neighbourhood. The high-water mark (the newest modification time read, in the source's clock)
is stored only when the crawl of that source completes; a failing source keeps it, logs a
warning and is tried again an interval later, and the other sources go on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from adapters.errors import UpstreamAuthError, UpstreamError
from adapters.models import Customer
from adapters.protocols import CustomerSource
from identity.normalize import Normalizer
from identity.records import record_identity
from identity.registry import Registry

log = logging.getLogger("c360.identity")

OVERLAP = timedelta(seconds=5)
"""How far before the high-water mark the next crawl starts (same-second updates, clocks)."""
DUE_SHARE = 0.8
"""A source is due when its last crawl started this share of an interval ago (workers whose
timers drift a little still share one crawl per interval)."""
MIN_LEASE_S = 60.0


@dataclass(frozen=True, slots=True)
class SourceCrawl:
    """What one tick did with one source."""

    source: str
    status: str
    """``crawled``, ``skipped`` (another worker holds it, or it is not due) or ``failed``."""
    records: int = 0
    changed: int = 0
    since: datetime | None = None
    high_water: datetime | None = None
    problem: str | None = None
    method: str | None = None
    """How the source was read (see :func:`crawl_method`)."""


PERMISSIONS = {
    "shopify": "an Admin API access token with the read_customers scope",
    "square": "an access token with the CUSTOMERS_READ permission",
    "zendesk": "an admin's API token for the incremental user export, or an agent's for the "
               "users list",
    "loyalty": "a database user with SELECT on loyalty_member",
}
"""What each kind of source needs to be crawled, named when it refuses our credentials."""

METHODS = {
    "shopify": ("customers list", "customers list (updated_at_min)"),
    "square": ("ListCustomers", "SearchCustomers (updated_at)"),
    "loyalty": ("loyalty_member table", "loyalty_member table (enrolled since)"),
}
"""(full, incremental) crawl method of the sources that do not name their own."""


def crawl_method(source: CustomerSource, since: datetime | None) -> str:
    """How ``source``'s last crawl read it: the adapter's own ``crawl_method`` attribute when it
    has one (an extension point: the Zendesk adapter names the export or its fallback), else
    its kind's usual method."""
    named = getattr(source, "crawl_method", None)
    if isinstance(named, str) and named:
        return named
    full, incremental = METHODS.get(source.kind, ("crawl", "changes since the last crawl"))
    return full if since is None else incremental


def crawl_problem(source: CustomerSource, exc: BaseException) -> str:
    """Why a crawl of ``source`` failed, for an operator: for refused credentials (401/403,
    or the database's refusal) the permission the source needs; else the error's type and
    message (which name the source, operation and status only)."""
    if isinstance(exc, UpstreamAuthError):
        status = f"HTTP {exc.status}" if exc.status is not None else "access refused"
        what = "credentials refused" if exc.status == 401 else "permission refused"
        need = PERMISSIONS.get(source.kind, "credentials that may read its customers")
        return f"{what} ({status}): source {source.source!r} needs {need}"
    return f"{type(exc).__name__}: {exc}"


def default_owner() -> str:
    """This worker's name in the lease table: host, process and a random tag."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _stamp(customer: Customer) -> datetime | None:
    stamp = customer.updated_at or customer.created_at
    if stamp is None:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


T = TypeVar("T")


async def whole(write: Awaitable[T]) -> T:
    """Run a registry write to its end even when the crawl is cancelled meanwhile (a SQLite
    write cut short leaves its transaction holding the database's lock until the connection is
    dropped), then let the cancellation through."""
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # seen: the cancellation is what the caller gets
        raise


class Crawler:
    """The incremental crawl of every customer source, shared by the workers of one registry."""

    def __init__(self, registry: Registry, sources: Sequence[CustomerSource],
                 normalizer: Normalizer, *, interval_s: float, lease_s: float | None = None,
                 owner: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if interval_s <= 0:
            raise ValueError("the crawl interval must be positive")
        self.registry = registry
        self.sources = list(sources)
        self.normalizer = normalizer
        self.interval = timedelta(seconds=interval_s)
        self.lease = timedelta(seconds=lease_s if lease_s is not None
                               else max(MIN_LEASE_S, 3 * interval_s))
        self.owner = owner or default_owner()
        self.clock = clock

    async def run(self) -> None:
        """Tick every interval until cancelled (the app's lifespan ends)."""
        loop = asyncio.get_running_loop()
        seconds = self.interval.total_seconds()
        next_at = loop.time() + seconds
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = loop.time() + seconds
            try:
                await self.tick()
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                # the type only: a database error's text carries its parameters (identifiers)
                log.warning("identity crawl: tick failed (%s); next in %.0fs",
                            type(exc).__name__, seconds)

    async def tick(self, *, force: bool = False) -> dict[str, SourceCrawl]:
        """Crawl every source this worker gets the lease of, concurrently. ``force`` crawls a
        source even if another worker's crawl of it started less than an interval ago (never
        while one runs)."""
        results = await asyncio.gather(*(self._crawl(s, force) for s in self.sources),
                                       return_exceptions=True)
        report: dict[str, SourceCrawl] = {}
        for source, result in zip(self.sources, results, strict=True):
            if isinstance(result, SourceCrawl):
                report[source.source] = result
            elif isinstance(result, Exception):
                log.warning("identity crawl: %s failed (%s); retried in %.0fs", source.source,
                            type(result).__name__, self.interval.total_seconds())
                report[source.source] = SourceCrawl(source.source, "failed",
                                                    problem=type(result).__name__)
            else:
                raise result
        return report

    async def _crawl(self, source: CustomerSource, force: bool) -> SourceCrawl:
        name = source.source
        started = self.clock()
        due_before = None if force else started - self.interval * DUE_SHARE
        if not await whole(self.registry.take_crawl_lease(
                name, self.owner, now=started, until=started + self.lease,
                due_before=due_before)):
            return SourceCrawl(name, "skipped")
        try:
            return await self._read(source, started)
        except UpstreamError as exc:
            await whole(self.registry.end_crawl(name, self.owner, ran_at=started, high_water=None))
            problem = crawl_problem(source, exc)
            log.warning("identity crawl: %s failed (%s); its cursor stays, retried in %.0fs",
                        name, problem, self.interval.total_seconds())
            return SourceCrawl(name, "failed", problem=problem)
        except BaseException:
            # cancelled (shutdown) or a bug: free the lease for the next worker, cursor kept
            try:
                await whole(self.registry.end_crawl(name, self.owner, ran_at=started,
                                                    high_water=None))
            except Exception:  # noqa: BLE001 - the lease then expires on its own
                pass
            raise

    async def _read(self, source: CustomerSource, started: datetime) -> SourceCrawl:
        name = source.source
        marks = [m for m in (await self.registry.crawl_high_water(name),
                             await self.registry.cursor(name)) if m is not None]
        base = max(marks) if marks else None
        since = None if base is None else base - OVERLAP
        records = changed = 0
        newest: datetime | None = None
        renewed = started
        async for page in source.crawl_customers(since):
            keys = await whole(self.registry.upsert_changed(
                [record_identity(c, self.normalizer) for c in page]))
            if keys and since is not None:
                await whole(self.registry.recluster(scope=keys))
            records += len(page)
            changed += len(keys)
            stamps = [s for s in map(_stamp, page) if s is not None]
            if stamps:
                newest = max(newest or stamps[0], *stamps)
            if self.clock() - renewed > self.lease / 3:
                renewed = self.clock()
                if not await whole(self.registry.renew_crawl_lease(
                        name, self.owner, renewed + self.lease)):
                    log.warning("identity crawl: %s lease lost mid-crawl; stopping", name)
                    return SourceCrawl(name, "skipped", records, changed, since,
                                       method=crawl_method(source, since))
        if since is None and changed:
            await whole(self.registry.recluster())
        # the newest change read, never past this crawl's start (a record stamped in the
        # future must not hide the changes before it); a crawl that read nothing new keeps
        # its mark (a first, empty one starts from now)
        marks = [m for m in (base, None if newest is None else min(newest, started))
                 if m is not None]
        high_water = max(marks) if marks else started
        await whole(self.registry.end_crawl(name, self.owner, ran_at=started,
                                            high_water=high_water))
        if changed:
            log.info("identity crawl: %s: %d records read, %d changed", name, records, changed)
        return SourceCrawl(name, "crawled", records, changed, since, high_water,
                           method=crawl_method(source, since))


@asynccontextmanager
async def crawling(crawler: Crawler) -> AsyncIterator[Crawler]:
    """``crawler.run()`` as a background task for the duration of the block (a gateway's
    lifespan); cancelled, and waited for, at its end."""
    task = asyncio.get_running_loop().create_task(crawler.run(), name="identity-crawl")
    try:
        yield crawler
    finally:
        task.cancel()
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            log.warning("identity crawl: stopped by %s", type(task.exception()).__name__)
