"""The loyalty database under concurrent requests: its pool has a connection for every
statement slot, and a read waiting for a slot or a connection — behind other requests' reads —
is not a slow database: ``timeout_ms`` bounds the statement only (the wait counts against the
request's budget, which the loaders enforce)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.config import Table
from adapters.errors import ConfigError
from adapters.loyalty import LoyaltyAdapter, LoyaltyConfig
from adapters.sql import create_engine
from silos.generator import Sandbox

pytestmark = pytest.mark.anyio

HOLD_S = 0.6
"""Longer than the statement timeout below (0.2 s), by far."""


def adapter(engine: AsyncEngine, **config: Any) -> LoyaltyAdapter:
    return LoyaltyAdapter(LoyaltyConfig("sqlite+aiosqlite://", timeout_s=0.2, **config), engine,
                          source="loyalty")


def card(data: Sandbox) -> str:
    return str(data.loyalty_members[0]["card_number"])


async def test_a_read_waiting_for_a_slot_is_not_timed_out(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox) -> None:
    loyalty = adapter(loyalty_engine, max_concurrency=1)
    async with loyalty._slots:  # another request's statement holds the only slot
        read = asyncio.create_task(loyalty.accounts_by_cards([card(loyalty_data)]))
        await asyncio.sleep(HOLD_S)
        assert not read.done()
    [account] = await read
    assert account is not None and account.id == card(loyalty_data)


async def test_a_read_waiting_for_a_pooled_connection_is_not_timed_out(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox,
        seeding_url: tuple[str, str, dict[str, Any]]) -> None:
    _, url, connect_args = seeding_url
    engine = create_engine(url, connect_args, pool_size=1, max_overflow=0)
    try:
        loyalty = adapter(engine, max_concurrency=2)
        async with engine.connect() as held:  # the pool's only connection, taken
            await held.exec_driver_sql("SELECT 1")
            read = asyncio.create_task(loyalty.accounts_by_cards([card(loyalty_data)]))
            await asyncio.sleep(HOLD_S)
            assert not read.done()
        [account] = await read
        assert account is not None and account.id == card(loyalty_data)
    finally:
        await engine.dispose()


async def test_fifty_requests_reading_at_once_all_get_their_rows(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox) -> None:
    """Fifty requests' batches of 50 cards at once, with the default slots: none times out."""
    loyalty = LoyaltyAdapter(LoyaltyConfig("sqlite+aiosqlite://"), loyalty_engine,
                             source="loyalty")
    cards = [m["card_number"] for m in loyalty_data.loyalty_members]
    batches = [[cards[(i * 7 + j) % len(cards)] for j in range(50)] for i in range(50)]
    results = await asyncio.gather(*(loyalty.accounts_by_cards(b) for b in batches))
    for batch, accounts in zip(batches, results, strict=True):
        assert [a.id if a else None for a in accounts] == batch


def test_the_pool_is_sized_from_the_concurrency_and_configurable() -> None:
    def read(**keys: Any) -> LoyaltyConfig:
        return LoyaltyConfig.from_table(Table(
            {"kind": "loyalty", "url": "sqlite+aiosqlite:///l.sqlite", **keys},
            "sources.loyalty", {}))

    assert (read().max_concurrency, read().pool, read().max_overflow) == (8, 8, 0)
    assert (read(max_concurrency=3).pool, read(pool_size=12, max_overflow=4).pool) == (3, 12)
    assert read(max_concurrency=6, pool_size=4, max_overflow=2).pool == 4
    with pytest.raises(ConfigError) as caught:
        read(max_concurrency=6, pool_size=4, max_overflow=1)
    assert caught.value.key == "sources.loyalty.pool_size"
    assert "max_concurrency" in caught.value.problem
    with pytest.raises(ConfigError) as negative:
        read(max_overflow=-1)
    assert negative.value.key == "sources.loyalty.max_overflow"


async def test_the_engine_gets_the_configured_pool(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'l.sqlite'}", pool_size=12,
                           max_overflow=3)
    memory = create_engine("sqlite+aiosqlite://", pool_size=12, max_overflow=3)
    try:
        assert engine.pool.size() == 12  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 3  # type: ignore[attr-defined]
        async with memory.connect() as conn:  # one shared connection: no pool to size
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await engine.dispose()
        await memory.dispose()
