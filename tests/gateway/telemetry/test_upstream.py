"""The observing layer of a SQL source: each statement its adapter runs is counted, timed and
noted among the request's sources; a failed one is an ``error``, a cancelled one not counted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.sql import create_engine, execute
from gateway.telemetry.metrics import CALLED, Metrics
from gateway.telemetry.upstream import statement_observer

pytestmark = pytest.mark.anyio


def _calls(metrics: Metrics) -> dict[tuple[str, ...], float]:
    metrics.fold()
    return {tuple(s.labels.values()): s.value
            for family in metrics.upstream.collect() for s in family.samples
            if s.name.endswith("_total")}


async def test_each_statement_is_counted_by_how_it_ended() -> None:
    metrics = Metrics()
    observer = statement_observer("loyalty", "sqlite", metrics)
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    called: set[str] = set()
    token = CALLED.set(called)
    try:
        async with engine.connect() as conn:
            assert (await execute(conn, sa.select(sa.literal(1)), None, observer)
                    ).scalar_one() == 1
            await execute(conn, "PRAGMA user_version", None, observer)
            with pytest.raises(sa.exc.OperationalError):
                await execute(conn, sa.text("SELECT * FROM no_such_table"), None, observer)
            assert await execute(conn, sa.select(sa.literal(2)))  # no observer: not counted
    finally:
        CALLED.reset(token)
        await engine.dispose()
    assert called == {"loyalty"}
    assert _calls(metrics) == {("loyalty", "ok"): 2.0, ("loyalty", "error"): 1.0}


async def test_a_cancelled_statement_is_not_counted() -> None:
    metrics = Metrics()
    done = statement_observer("loyalty", "sqlite", metrics)(sa.select(sa.literal(1)))
    done(asyncio.CancelledError())
    after: Any = _calls(metrics)
    assert after == {}
