"""The incremental crawl and the re-check claims, over the registry's real database (SQLite and
PostgreSQL): cursors that survive a restart, workers that share one crawl per source, a failing
source that keeps its cursor while the others go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.errors import UpstreamUnavailable
from adapters.models import Customer
from identity.crawl import OVERLAP, Crawler, crawling
from identity.normalize import Normalizer
from identity.records import record_identity
from identity.registry import Registry
from identity.schema import identity_crawl

pytestmark = pytest.mark.anyio

NORMALIZER = Normalizer()
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class MemorySource:
    """A customer source over records held in memory: its change feed is the records updated
    at or after ``since``; it notes every crawl, can fail, or hold a crawl open on a gate."""

    def __init__(self, name: str, records: Sequence[Customer] = ()) -> None:
        self._name = name
        self.records = {c.id: c for c in records}
        self.calls: list[datetime | None] = []
        self.fail: BaseException | None = None
        self.gate: asyncio.Event | None = None
        self.active = 0
        self.most_active = 0

    @property
    def source(self) -> str:
        return self._name

    @property
    def kind(self) -> str:
        return self._name

    def add(self, customer: Customer) -> None:
        self.records[customer.id] = customer

    async def customers_by_ids(self, ids: Sequence[str]) -> list[Customer | None]:
        return [self.records.get(i) for i in ids]

    async def customers_by_emails(self, emails: Sequence[str]) -> list[list[Customer]]:
        return [[c for c in self.records.values() if e.lower() in (x.lower() for x in c.emails)]
                for e in emails]

    async def customers_by_phones(self, phones: Sequence[str]) -> list[list[Customer]]:
        return [[c for c in self.records.values() if p in c.phones] for p in phones]

    async def crawl_customers(self, since: datetime | None = None
                              ) -> AsyncIterator[list[Customer]]:
        self.calls.append(since)
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.fail is not None:
                raise self.fail
            page = [c for c in self.records.values()
                    if since is None or (c.updated_at is not None and c.updated_at >= since)]
            if page:
                yield page
        finally:
            self.active -= 1


def customer(source: str, rid: str, first: str, last: str, email: str,
             updated_at: datetime) -> Customer:
    return Customer(source=source, kind=source, id=rid, first_name=first, last_name=last,
                    emails=(email,), phones=(), created_at=updated_at, updated_at=updated_at)


ANA = customer("shopify", "101", "Ana", "Lima", "ana.lima@example.com", T0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def registry_with_ana(engine: AsyncEngine) -> Registry:
    registry = Registry(engine)
    await registry.create()
    await registry.upsert([record_identity(ANA, NORMALIZER)])
    await registry.recluster()
    return registry


async def test_a_new_record_joins_its_person_and_the_cursor_survives_a_restart(
        registry_engine: AsyncEngine) -> None:
    registry = await registry_with_ana(registry_engine)
    [ana] = await registry.golden_of([("shopify", "101")])
    assert ana is not None
    shopify, zendesk = MemorySource("shopify", [ANA]), MemorySource("zendesk")
    clock = Clock(T0 + timedelta(minutes=5))
    crawler = Crawler(registry, [shopify, zendesk], NORMALIZER, interval_s=30, clock=clock)

    first = await crawler.tick()
    assert shopify.calls == [None] and zendesk.calls == [None]  # nothing persisted: full
    assert first["shopify"].high_water == T0
    assert first["zendesk"].high_water == clock.now  # empty: the crawl's start

    # a web form creates a Zendesk user for Ana's address (as typed there)
    at = T0 + timedelta(minutes=6)
    zendesk.add(customer("zendesk", "9001", "Ana", "Lima", " ANA.Lima@Example.com", at))
    clock.now = T0 + timedelta(minutes=6, seconds=40)
    second = await crawler.tick()
    assert zendesk.calls[-1] == T0 + timedelta(minutes=5) - OVERLAP
    assert shopify.calls[-1] == T0 - OVERLAP
    assert (second["zendesk"].status, second["zendesk"].changed) == ("crawled", 1)
    assert second["shopify"].changed == 0  # re-read in the overlap, unchanged: not rewritten
    assert await registry.golden_of([("zendesk", "9001")]) == [ana]
    assert second["zendesk"].high_water == at

    # a restart: another process, another registry object, the same database
    restarted = Registry(registry_engine)
    await restarted.create()
    later = Clock(T0 + timedelta(minutes=8))
    again = Crawler(restarted, [shopify, zendesk], NORMALIZER, interval_s=30, clock=later)
    report = await again.tick()
    assert zendesk.calls[-1] == at - OVERLAP and shopify.calls[-1] == T0 - OVERLAP
    assert report["zendesk"].changed == 0 and report["shopify"].changed == 0


async def test_the_crawl_starts_from_the_last_full_index(registry_engine: AsyncEngine) -> None:
    registry = await registry_with_ana(registry_engine)
    indexed_at = T0 + timedelta(hours=1)
    await registry.set_cursor("shopify", indexed_at)  # what ``c360 index`` leaves
    shopify = MemorySource("shopify", [ANA])
    crawler = Crawler(registry, [shopify], NORMALIZER, interval_s=30,
                      clock=Clock(indexed_at + timedelta(minutes=1)))
    report = await crawler.tick()
    assert shopify.calls == [indexed_at - OVERLAP]
    assert report["shopify"].high_water == indexed_at


async def test_workers_share_one_crawl_per_source(registry_engine: AsyncEngine) -> None:
    registry = await registry_with_ana(registry_engine)
    clock = Clock(T0)
    # two workers: their own adapters and registry objects over one database
    mine, theirs = MemorySource("shopify", [ANA]), MemorySource("shopify", [ANA])
    a = Crawler(registry, [mine], NORMALIZER, interval_s=30, clock=clock, owner="worker-a")
    b = Crawler(Registry(registry_engine), [theirs], NORMALIZER, interval_s=30, clock=clock,
                owner="worker-b")

    # ticking together: exactly one of them crawls
    reports = await asyncio.gather(a.tick(), b.tick())
    assert sorted(r["shopify"].status for r in reports) == ["crawled", "skipped"]
    assert len(mine.calls) + len(theirs.calls) == 1

    # while one crawls, the other skips even when forced
    mine.gate = asyncio.Event()
    running = asyncio.ensure_future(a.tick(force=True))
    while mine.active == 0:
        await asyncio.sleep(0.001)
    assert (await b.tick(force=True))["shopify"].status == "skipped"
    mine.gate.set()
    assert (await running)["shopify"].status == "crawled"
    assert mine.most_active == 1 and theirs.active == 0

    # right after a crawl the source is not due for the other worker; an interval later it is
    calls = len(theirs.calls)
    assert (await b.tick())["shopify"].status == "skipped" and len(theirs.calls) == calls
    clock.now = T0 + timedelta(seconds=30)
    assert (await b.tick())["shopify"].status == "crawled" and len(theirs.calls) == calls + 1


async def test_a_dead_workers_lease_expires(registry_engine: AsyncEngine) -> None:
    registry = await registry_with_ana(registry_engine)
    assert await registry.take_crawl_lease("shopify", "dead-worker", now=T0,
                                           until=T0 + timedelta(seconds=90))
    shopify = MemorySource("shopify", [ANA])
    clock = Clock(T0 + timedelta(seconds=10))
    crawler = Crawler(registry, [shopify], NORMALIZER, interval_s=30, clock=clock)
    assert (await crawler.tick(force=True))["shopify"].status == "skipped"
    clock.now = T0 + timedelta(seconds=91)
    assert (await crawler.tick(force=True))["shopify"].status == "crawled"
    async with registry_engine.connect() as conn:
        row = (await conn.execute(sa.select(identity_crawl.c.lease_owner, identity_crawl.c.ran_at)
                                  .where(identity_crawl.c.source == "shopify"))).one()
    assert row.lease_owner is None and row.ran_at is not None  # released when done


@pytest.mark.parametrize("error", [UpstreamUnavailable("square", "HTTP 503 on customers"),
                                   RuntimeError("a bug")], ids=["upstream", "unexpected"])
async def test_a_failing_source_keeps_its_cursor_and_the_others_go_on(
        registry_engine: AsyncEngine, error: BaseException,
        caplog: pytest.LogCaptureFixture) -> None:
    registry = await registry_with_ana(registry_engine)
    shopify = MemorySource("shopify", [ANA])
    square = MemorySource("square", [customer("square", "SQ1", "Bo", "Ek", "bo@example.com", T0)])
    clock = Clock(T0 + timedelta(minutes=1))
    crawler = Crawler(registry, [shopify, square], NORMALIZER, interval_s=30, clock=clock)
    await crawler.tick()
    assert await registry.crawl_high_water("square") == T0

    later = T0 + timedelta(minutes=2)
    square.add(customer("square", "SQ2", "Ana", "Lima", "ana.lima@example.com", later))
    shopify.add(customer("shopify", "102", "Cy", "Oh", "cy.oh@example.com", later))
    square.fail = error
    clock.now = later + timedelta(seconds=30)
    with caplog.at_level(logging.WARNING, logger="c360.identity"):
        report = await crawler.tick()
    assert report["square"].status == "failed"
    assert report["shopify"].status == "crawled"
    assert (await registry.golden_of([("shopify", "102")]))[0] is not None
    assert await registry.crawl_high_water("square") == T0  # kept
    assert await registry.golden_of([("square", "SQ2")]) == [None]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("square" in w and type(error).__name__ in w for w in warnings), warnings
    assert not any("@" in w or "Lima" in w for w in warnings)  # no PII in logs

    # the next interval retries from the same cursor and catches up
    square.fail = None
    clock.now = later + timedelta(seconds=60)
    report = await crawler.tick()
    assert report["square"].status == "crawled" and square.calls[-1] == T0 - OVERLAP
    [ana] = await registry.golden_of([("shopify", "101")])
    assert await registry.golden_of([("square", "SQ2")]) == [ana]


async def test_the_background_crawl_runs_every_interval_and_stops_cleanly(
        registry_engine: AsyncEngine) -> None:
    registry = await registry_with_ana(registry_engine)
    shopify = MemorySource("shopify", [ANA])
    async with crawling(Crawler(registry, [shopify], NORMALIZER, interval_s=0.02)):
        for _ in range(500):
            if len(shopify.calls) >= 3:
                break
            await asyncio.sleep(0.01)
        assert len(shopify.calls) >= 3
        shopify.gate = asyncio.Event()  # the next crawl hangs: shutdown must not wait for it
        for _ in range(500):
            if shopify.active:
                break
            await asyncio.sleep(0.01)
        assert shopify.active == 1
    assert shopify.active == 0
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "identity-crawl"]
    # the cancelled crawl gave its lease back: another worker may crawl at once
    assert await registry.take_crawl_lease("shopify", "other", now=datetime.now(UTC),
                                           until=datetime.now(UTC) + timedelta(seconds=60))


async def test_a_person_is_claimed_for_a_recheck_once_per_interval(
        registry_engine: AsyncEngine) -> None:
    registry = Registry(registry_engine)
    await registry.create()
    other = Registry(registry_engine)  # another worker
    stale = T0 - timedelta(seconds=30)
    assert await registry.claim_checks(["cus_a", "cus_b"], now=T0, stale_before=stale) == (
        ["cus_a", "cus_b"], set())
    assert await other.claim_checks(["cus_a", "cus_b", "cus_c"], now=T0,
                                    stale_before=stale) == (["cus_c"], {"cus_a", "cus_b"})
    # a limit counts the people claimed, not those someone checked already
    assert await other.claim_checks(["cus_a", "cus_d", "cus_e", "cus_f"], now=T0,
                                    stale_before=stale, limit=2) == (["cus_d", "cus_e"],
                                                                     {"cus_a"})
    later = T0 + timedelta(seconds=31)
    together = await asyncio.gather(*(
        worker.claim_checks(["cus_a", "cus_b"], now=later,
                            stale_before=later - timedelta(seconds=30))
        for worker in (registry, other)))
    assert sorted(together[0][0] + together[1][0]) == ["cus_a", "cus_b"]
