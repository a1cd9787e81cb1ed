from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.matching import RecordIdentity
from identity.normalize import name_tokens
from identity.registry import Registry

pytestmark = pytest.mark.anyio


def rec(source: str, rid: str, first: str, last: str, emails: tuple[str, ...] = (),
        phones: tuple[str, ...] = (), refs: tuple[tuple[str, str], ...] = ()) -> RecordIdentity:
    return RecordIdentity(source, rid, source, frozenset(emails), frozenset(phones),
                          name_tokens(first), name_tokens(last), frozenset(refs))


ANA = [
    rec("shopify", "101", "Ana", "Lima", emails=("ana@gmail.com",), phones=("+12125550100",)),
    rec("square", "SQ1", "Ana", "Lima", phones=("+12125550100",)),
    rec("loyalty", "LC-1", "Ana", "Lima", refs=(("shopify", "101"),)),
]
CARLOS = [rec("zendesk", "7", "Carlos", "Lima", phones=("+12125550100",))]


async def indexed(engine: AsyncEngine, records: list[RecordIdentity]) -> Registry:
    registry = Registry(engine)
    await registry.create()
    await registry.upsert(records)
    await registry.recluster()
    return registry


async def test_links_lookups_and_rules(registry_engine: AsyncEngine) -> None:
    registry = await indexed(registry_engine, ANA + CARLOS)
    [ana] = await registry.lookup("email", "ana@gmail.com")
    assert sorted(await registry.lookup("phone", "+12125550100")) == sorted(
        {ana, *(await registry.golden_of([("zendesk", "7")]))} - {None})
    records = (await registry.records_of([ana]))[0]
    assert {(r.source, r.id, r.matched_by) for r in records} == {
        ("shopify", "101", "reference"), ("square", "SQ1", "phone+name"),
        ("loyalty", "LC-1", "reference")}
    carlos = (await registry.golden_of([("zendesk", "7")]))[0]
    assert carlos is not None and carlos != ana
    assert await registry.golden_of([("square", "SQ1"), ("square", "nope")]) == [ana, None]
    assert await registry.lookup("email", "nobody@example.com") == []


async def test_golden_ids_are_stable_across_reindexing(registry_engine: AsyncEngine) -> None:
    registry = await indexed(registry_engine, ANA + CARLOS)
    before = await registry.golden_of([r.key for r in ANA + CARLOS])
    report = await registry.recluster()
    assert report.changed == 0
    assert await registry.golden_of([r.key for r in ANA + CARLOS]) == before
    # a new record joining Ana keeps Ana's id
    await registry.upsert([rec("zendesk", "8", "Ana", "Lima", emails=("ana@gmail.com",))])
    await registry.recluster()
    assert (await registry.golden_of([("zendesk", "8")]))[0] == before[0]


async def test_merge_leaves_an_alias(registry_engine: AsyncEngine) -> None:
    registry = await indexed(registry_engine, [
        rec("shopify", "1", "Bo", "Ek", emails=("bo@x.com",)),
        rec("square", "2", "Bo", "Ek", phones=("+12125550199",)),
    ])
    first, second = await registry.golden_of([("shopify", "1"), ("square", "2")])
    assert first != second
    await registry.upsert([rec("square", "2", "Bo", "Ek", emails=("bo@x.com",),
                               phones=("+12125550199",))])
    await registry.recluster(scope={("square", "2")})
    now = await registry.golden_of([("shopify", "1"), ("square", "2")])
    assert now[0] == now[1]
    assert await registry.resolve([first, second]) == [now[0], now[0]]


async def test_manual_split_and_link_survive_reindexing(registry_engine: AsyncEngine) -> None:
    registry = await indexed(registry_engine, ANA + CARLOS)
    ana = (await registry.golden_of([("shopify", "101")]))[0]
    await registry.split(("square", "SQ1"), actor="agent:42", reason="different person")
    await registry.link(("zendesk", "7"), ("shopify", "101"), actor="agent:42",
                        reason="same caller, confirmed")
    for _ in range(2):
        await registry.upsert(ANA + CARLOS)
        await registry.recluster()
        golden = await registry.golden_of([r.key for r in ANA + CARLOS])
        assert golden[0] == ana
        assert golden[1] not in (ana, None)
        assert golden[3] == ana
    overrides = await registry.overrides()
    assert [(o["action"], o["actor"], o["reason"]) for o in overrides] == [
        ("split", "agent:42", "different person"),
        ("link", "agent:42", "same caller, confirmed")]
    with pytest.raises(ValueError):
        await registry.split(("square", "SQ1"), actor=" ", reason="")


async def test_full_crawl_forgets_deleted_records(registry_engine: AsyncEngine) -> None:
    registry = await indexed(registry_engine, ANA + CARLOS)
    assert await registry.remove_missing("square", keep=[]) == 1
    await registry.recluster()
    assert await registry.golden_of([("square", "SQ1")]) == [None]


async def test_people_pages(registry_engine: AsyncEngine) -> None:
    registry = await indexed(registry_engine, ANA + CARLOS)
    everyone = await registry.people(limit=10)
    assert len(everyone) == 2
    assert await registry.people(after=everyone[0], limit=10) == everyone[1:]


async def test_lookups_are_cached_until_this_process_changes_links(
        registry_engine: AsyncEngine) -> None:
    from adapters.cache import MemoryLookupCache

    registry = Registry(registry_engine, cache=MemoryLookupCache())
    await registry.create()
    assert await registry.lookup("email", "ana@gmail.com") == []
    await registry.upsert(ANA)
    await registry.recluster()
    [ana] = await registry.lookup("email", "ana@gmail.com")
    await registry.split(("shopify", "101"), actor="ops", reason="test")
    assert await registry.lookup("email", "ana@gmail.com") != [ana]


async def test_records_are_cached_until_this_process_changes_links(
        registry_engine: AsyncEngine) -> None:
    from adapters.cache import MemoryLookupCache

    registry = Registry(registry_engine, cache=MemoryLookupCache(),
                        records_cache=MemoryLookupCache())
    await registry.create()
    await registry.upsert(ANA)
    await registry.recluster()
    [ana] = await registry.lookup("email", "ana@gmail.com")
    linked = await registry.records_of([ana])
    assert len(linked[0]) == len(ANA)
    linked[0].clear()  # a caller changing its answer does not change the cache
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(registry.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert [len(r) for r in await registry.records_of([ana, ana])] == [len(ANA)] * 2
        assert statements == []
        await registry.split(("shopify", "101"), actor="ops", reason="test")
        statements.clear()
        after = await registry.records_of([ana])
        assert len(statements) == 1
        assert ("shopify", "101") not in {(r.source, r.id) for r in after[0]}
    finally:
        sa.event.remove(registry.engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.postgres
async def test_reads_survive_the_server_dropping_pooled_connections(
        postgres_async_engine_args: tuple[str, dict[str, Any]]) -> None:
    """No ping per checkout: a read that finds its pooled connection dead runs again."""
    from adapters.sql import create_engine

    url, connect_args = postgres_async_engine_args
    engine = create_engine(url, connect_args=connect_args)
    registry = await indexed(engine, ANA)
    [ana] = await registry.lookup("email", "ana@gmail.com")
    async with engine.connect() as conn:
        pid = (await conn.execute(sa.text("select pg_backend_pid()"))).scalar()
    admin = create_engine(url)
    async with admin.connect() as conn:
        assert (await conn.execute(sa.text("select pg_terminate_backend(:pid)"),
                                   {"pid": pid})).scalar() is True
    await admin.dispose()
    try:
        assert len((await registry.records_of([ana]))[0]) == len(ANA)
    finally:
        await engine.dispose()


async def test_workers_starting_together_create_the_registry_once(
        registry_engine: AsyncEngine) -> None:
    """Several gateway workers open a fresh registry at the same moment."""
    await asyncio.gather(*(Registry(registry_engine).create() for _ in range(4)))
    assert await Registry(registry_engine).count_people() == 0
