"""Points writes (``PointsWriter``) against the loyalty database, on SQLite and PostgreSQL:
exactly once per key, one locked transaction per entry, failures in the error tree."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import adapters.loyalty.writes as writes
from adapters.errors import (
    InsufficientPoints,
    RecordNotFound,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.loyalty import LoyaltyAdapter, LoyaltyConfig
from adapters.loyalty.tables import loyalty_member, points_ledger, points_request
from adapters.models import LedgerEntry, NewLedgerEntry, SourceRef
from adapters.protocols import PointsWriter
from silos.loyalty import create_schema, load_members, load_points

pytestmark = pytest.mark.anyio

RICH, EMPTY, SUSPENDED = "LC-W000000001", "LC-W000000002", "LC-W000000003"
UNKNOWN = "LC-W999999999"
OTHERS = [f"LC-W0000001{i:02d}" for i in range(10)]


def member(member_id: int, card: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {"member_id": member_id, "card_number": card, "email": "ana@example.com",
            "phone": "+1 415 555 0100", "first_name": "Ana", "last_name": "Lima",
            "tier": "SILVER", "status": status, "enrolled_at": datetime(2024, 3, 1, 10, 0)}


@pytest.fixture
def engine(sync_engine: sa.Engine, empty_engine: AsyncEngine) -> AsyncEngine:
    """The loyalty tables with: RICH (100 points), EMPTY (0), SUSPENDED (50), OTHERS (0)."""
    create_schema(sync_engine)
    load_members(sync_engine, [member(1, RICH), member(2, EMPTY),
                               member(3, SUSPENDED, "SUSPENDED"),
                               *[member(10 + i, card) for i, card in enumerate(OTHERS)]])
    load_points(sync_engine, [
        {"entry_id": 7, "member_id": 1, "occurred_at": datetime(2024, 5, 1, 12, 0),
         "points": 100, "reason": "PURCHASE", "channel": "STORE", "order_ref": "square:S1"},
        {"entry_id": 8, "member_id": 3, "occurred_at": datetime(2024, 5, 2, 12, 0),
         "points": 50, "reason": "PURCHASE", "channel": "WEB", "order_ref": "shopify:1001"},
    ])
    return empty_engine


def make_adapter(engine: AsyncEngine, **config: Any) -> LoyaltyAdapter:
    config.setdefault("timeout_s", 10.0)
    return LoyaltyAdapter(LoyaltyConfig("sqlite+aiosqlite://", **config), engine,
                          source="loyalty")


def adjust(card: str, points: int, **extra: Any) -> NewLedgerEntry:
    reason = "ADJUSTMENT" if points >= 0 else "REDEMPTION"
    return NewLedgerEntry(card=card, points=points, reason=extra.pop("reason", reason),
                          channel=extra.pop("channel", "WEB"), **extra)


async def balance(adapter: LoyaltyAdapter, card: str) -> int:
    [account] = await adapter.accounts_by_cards([card])
    assert account is not None
    return account.points_balance


def count(sync_engine: sa.Engine, table: sa.Table) -> int:
    with sync_engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


async def settle(calls: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_it_is_a_points_writer(engine: AsyncEngine) -> None:
    assert isinstance(make_adapter(engine), PointsWriter)


async def test_an_adjustment_is_read_back_by_the_reads(engine: AsyncEngine) -> None:
    adapter = make_adapter(engine)
    before = datetime.now(UTC)
    entry = await adapter.post_points(
        adjust(RICH, 40, channel="PHONE", order_ref=SourceRef("Shopify", "1002")), key="k-1")
    assert (entry.id, entry.member_id, entry.points, entry.reason, entry.channel) == (
        "9", 1, 40, "ADJUSTMENT", "PHONE")
    assert entry.order_ref == SourceRef("shopify", "1002")
    assert entry.occurred_at.tzinfo is UTC
    assert before - timedelta(seconds=1) <= entry.occurred_at <= datetime.now(UTC)
    [ledger] = await adapter.ledger_by_member_ids([1])
    assert ledger[0] == entry, "the reads parse the row as the write answered it"
    assert [e.id for e in ledger] == ["9", "7"]
    [account] = await adapter.accounts_by_cards([RICH])
    assert account is not None
    assert (account.points_balance, account.lifetime_points) == (140, 140)
    spent = await adapter.post_points(adjust(RICH, -140), key="k-2")
    assert (spent.id, spent.order_ref, await balance(adapter, RICH)) == ("10", None, 0)


async def test_the_same_key_twice_writes_one_entry(engine: AsyncEngine,
                                                   sync_engine: sa.Engine) -> None:
    adapter = make_adapter(engine)
    first = await adapter.post_points(adjust(EMPTY, 25), key="once")
    again = await adapter.post_points(adjust(EMPTY, 25), key="once")
    other = await make_adapter(engine).post_points(adjust(EMPTY, 99), key="once")
    assert first == again == other
    assert await balance(adapter, EMPTY) == 25
    assert count(sync_engine, points_ledger) == 3
    assert count(sync_engine, points_request) == 1


async def test_ten_concurrent_calls_with_one_key_write_one_entry(
        engine: AsyncEngine, sync_engine: sa.Engine) -> None:
    adapters = [make_adapter(engine, max_concurrency=10) for _ in range(2)]
    results = await settle([adapters[i % 2].post_points(adjust(EMPTY, 5), key="same")
                            for i in range(10)])
    assert all(isinstance(r, LedgerEntry) for r in results), results
    assert len(set(results)) == 1
    assert await balance(adapters[0], EMPTY) == 5
    assert count(sync_engine, points_request) == 1
    assert count(sync_engine, points_ledger) == 3


async def test_twenty_concurrent_redemptions_never_overdraw(engine: AsyncEngine) -> None:
    adapter = make_adapter(engine, max_concurrency=20)
    results = await settle([adapter.post_points(adjust(RICH, -15), key=f"redeem-{i}")
                            for i in range(20)])
    won = [r for r in results if isinstance(r, LedgerEntry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert (len(won), len(refused)) == (6, 14), results
    assert await balance(adapter, RICH) == 10
    assert len({entry.id for entry in won}) == 6
    assert all(RICH not in str(error) for error in refused)
    [ledger] = await adapter.ledger_by_member_ids([1])
    running = 0
    for entry in sorted(ledger, key=lambda e: int(e.id)):
        running += entry.points
        assert running >= 0


async def test_concurrent_writes_for_different_members_get_distinct_ids(
        engine: AsyncEngine) -> None:
    adapters = [make_adapter(engine, max_concurrency=10) for _ in range(3)]
    results = await settle([adapters[i % 3].post_points(adjust(card, 10 + n), key=f"{card}-{n}")
                            for i, (card, n) in enumerate(
                                (card, n) for card in OTHERS for n in range(2))])
    assert all(isinstance(r, LedgerEntry) for r in results), results
    assert sorted(int(r.id) for r in results) == list(range(9, 29))
    assert [await balance(adapters[0], card) for card in OTHERS] == [21] * len(OTHERS)


async def test_an_entry_id_taken_meanwhile_runs_the_transaction_again(
        engine: AsyncEngine, sync_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real = writes.next_entry_id
    taken = [8, 7]

    def next_entry_id() -> Any:
        return sa.select(sa.literal(taken.pop())) if taken else real()

    monkeypatch.setattr(writes, "next_entry_id", next_entry_id)
    adapter = make_adapter(engine)
    entry = await adapter.post_points(adjust(EMPTY, 3), key="raced")
    assert entry.id == "9"
    assert await adapter.entry_by_key("raced") == entry
    assert count(sync_engine, points_request) == 1

    monkeypatch.setattr(writes, "next_entry_id", lambda: sa.select(sa.literal(7)))
    with pytest.raises(UpstreamUnavailable, match="concurrent writes"):
        await adapter.post_points(adjust(EMPTY, 3), key="always-raced")
    assert await adapter.entry_by_key("always-raced") is None
    assert await balance(adapter, EMPTY) == 3


async def test_unknown_cards_and_inactive_members_are_refused(
        engine: AsyncEngine, sync_engine: sa.Engine) -> None:
    adapter = make_adapter(engine)
    with pytest.raises(RecordNotFound) as missing:
        await adapter.post_points(adjust(UNKNOWN, 10), key="unknown")
    assert UNKNOWN not in str(missing.value)
    with pytest.raises(UpstreamRejected, match="not active") as inactive:
        await adapter.post_points(adjust(SUSPENDED, 10), key="suspended")
    assert type(inactive.value) is UpstreamRejected and SUSPENDED not in str(inactive.value)
    with pytest.raises(UpstreamRejected, match="order reference"):
        await adapter.post_points(adjust(RICH, 10, order_ref=SourceRef("a:b", "1")), key="bad")
    assert (count(sync_engine, points_ledger), count(sync_engine, points_request)) == (2, 0)


async def test_a_reversal_may_overdraw_when_allowed(engine: AsyncEngine) -> None:
    adapter = make_adapter(engine)
    with pytest.raises(InsufficientPoints):
        await adapter.post_points(adjust(EMPTY, -30, reason="RETURN"), key="strict")
    assert await adapter.entry_by_key("strict") is None
    entry = await adapter.post_points(
        adjust(EMPTY, -30, reason="ADJUSTMENT", allow_negative_balance=True), key="reversal")
    assert (entry.points, entry.reason) == (-30, "ADJUSTMENT")
    assert await balance(adapter, EMPTY) == -30
    spent = await adapter.post_points(adjust(RICH, -100), key="all")
    assert spent.points == -100 and await balance(adapter, RICH) == 0


async def test_entry_by_key(engine: AsyncEngine) -> None:
    adapter = make_adapter(engine)
    assert await adapter.entry_by_key("not-yet") is None
    entry = await adapter.post_points(adjust(RICH, 12), key="find-me")
    assert await adapter.entry_by_key("find-me") == entry
    assert await make_adapter(engine).entry_by_key("find-me") == entry
    assert await adapter.entry_by_key("never") is None


def failing_on(marker: str) -> Callable[..., None]:
    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT") and marker in statement:
            raise OSError("the disk went away")
    return hook


async def test_a_failure_mid_transaction_writes_nothing(
        engine: AsyncEngine, sync_engine: sa.Engine) -> None:
    adapter = make_adapter(engine)
    await adapter.entry_by_key("warm-up")
    hook = failing_on(points_request.name)
    sa.event.listen(engine.sync_engine, "before_cursor_execute", hook)
    try:
        with pytest.raises(UpstreamUnavailable) as failed:
            await adapter.post_points(adjust(RICH, 10), key="half")
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", hook)
    assert isinstance(failed.value.__cause__, OSError)
    assert "disk" not in str(failed.value)
    assert count(sync_engine, points_ledger) == 2, "the ledger row was rolled back with it"
    assert await adapter.entry_by_key("half") is None
    entry = await adapter.post_points(adjust(RICH, 10), key="half")
    assert await balance(adapter, RICH) == 110 and entry.points == 10


async def test_a_held_lock_times_out(engine: AsyncEngine, sync_engine: sa.Engine) -> None:
    adapter = make_adapter(engine, timeout_s=0.3)
    await adapter.entry_by_key("warm-up")
    with sync_engine.connect() as other:
        if sync_engine.dialect.name == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            other.execute(sa.select(loyalty_member.c.member_id)
                          .where(loyalty_member.c.card_number == RICH).with_for_update())
        started = time.monotonic()
        with pytest.raises((UpstreamTimeout, UpstreamUnavailable)):
            await adapter.post_points(adjust(RICH, -10), key="blocked")
        assert time.monotonic() - started < 3
        other.rollback()
    entry = await adapter.post_points(adjust(RICH, -10), key="blocked")
    assert await balance(adapter, RICH) == 90 and entry.points == -10


async def test_an_unreachable_database_is_an_upstream_error() -> None:
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/test")
    try:
        adapter = make_adapter(engine)
        with pytest.raises(UpstreamUnavailable, match="post_points failed"):
            await adapter.post_points(adjust(RICH, 10), key="nowhere")
        with pytest.raises(UpstreamUnavailable, match="entry_by_key failed"):
            await adapter.entry_by_key("nowhere")
    finally:
        await engine.dispose()


async def test_a_database_without_the_loyalty_tables_is_a_bad_response(
        empty_engine: AsyncEngine) -> None:
    with pytest.raises(UpstreamError) as failed:
        await make_adapter(empty_engine).post_points(adjust(RICH, 10), key="no-tables")
    assert failed.value.code == "SOURCE_BAD_RESPONSE"
