"""Database failures leave the loyalty adapter as the c360 error tree, and nothing else:
an unreachable server, missing tables or columns, unreadable values, slow queries."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.errors import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.loyalty import LoyaltyAdapter, LoyaltyConfig
from adapters.loyalty.faults import classify, map_error
from silos.generator import Sandbox
from silos.loyalty import create_schema, load_members

pytestmark = pytest.mark.anyio

SOURCE = "loyalty-eu"
EMAIL = "private.person@example.com"
PHONE = "+1 (212) 555-0100"
CARD = "LC-1234567890"

Call = Callable[[LoyaltyAdapter], Awaitable[object]]


async def crawl(adapter: LoyaltyAdapter) -> object:
    return [page async for page in adapter.crawl_customers(None)]


CALLS: dict[str, Call] = {
    "customers_by_ids": lambda a: a.customers_by_ids([CARD]),
    "customers_by_emails": lambda a: a.customers_by_emails([EMAIL]),
    "customers_by_phones": lambda a: a.customers_by_phones([PHONE]),
    "crawl_customers": crawl,
    "accounts_by_cards": lambda a: a.accounts_by_cards([CARD]),
    "accounts_by_emails": lambda a: a.accounts_by_emails([EMAIL]),
    "accounts_by_phones": lambda a: a.accounts_by_phones([PHONE]),
    "ledger_by_member_ids": lambda a: a.ledger_by_member_ids([1]),
}


def adapter_on(engine: AsyncEngine, timeout_s: float = 2.0) -> LoyaltyAdapter:
    return LoyaltyAdapter(LoyaltyConfig("sqlite+aiosqlite://", timeout_s=timeout_s), engine,
                          source=SOURCE)


def check_clean(error: UpstreamError, operation: str, *secrets: str) -> None:
    """The error names the source and operation, and carries no customer data or secret."""
    assert error.source == SOURCE
    assert str(error).startswith(f"{SOURCE}: {operation} failed")
    for secret in (EMAIL, PHONE, CARD, "2125550100", *secrets):
        assert secret not in str(error)
    assert error.__cause__ is not None


@pytest.mark.parametrize("operation", CALLS)
async def test_an_unreachable_server_is_unavailable(operation: str) -> None:
    engine = create_async_engine("postgresql+asyncpg://c360:s3cret-pw@127.0.0.1:1/loyalty")
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await CALLS[operation](adapter_on(engine))
    finally:
        await engine.dispose()
    check_clean(caught.value, operation, "s3cret-pw", "c360:")


async def aiosqlite_threads_finished() -> None:
    """aiosqlite stops the worker thread of a failed connect without awaiting it; let it finish
    while the event loop still runs (it reports back to the loop)."""
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 2.0)


async def test_an_unopenable_sqlite_file_is_unavailable(tmp_path: Any) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing-dir/loyalty.sqlite")
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await adapter_on(engine).accounts_by_cards([CARD])
    finally:
        await engine.dispose()
        await aiosqlite_threads_finished()
    check_clean(caught.value, "accounts_by_cards")
    assert "SQLITE_CANTOPEN" in str(caught.value)


@pytest.mark.parametrize("operation", CALLS)
async def test_a_database_without_the_tables_is_a_bad_response(
        operation: str, empty_engine: AsyncEngine) -> None:
    with pytest.raises(UpstreamBadResponse) as caught:
        await CALLS[operation](adapter_on(empty_engine))
    check_clean(caught.value, operation)


@pytest.mark.parametrize("operation", CALLS)
async def test_a_missing_column_is_a_bad_response(
        operation: str, sync_engine: sa.Engine, empty_engine: AsyncEngine) -> None:
    other = sa.MetaData()
    sa.Table("loyalty_member", other, sa.Column("member_id", sa.Integer, primary_key=True),
             sa.Column("card_number", sa.Text), sa.Column("email", sa.Text))
    sa.Table("points_ledger", other, sa.Column("entry_id", sa.Integer, primary_key=True),
             sa.Column("member_id", sa.Integer), sa.Column("points", sa.Integer))
    other.create_all(sync_engine)
    with pytest.raises(UpstreamBadResponse) as caught:
        await CALLS[operation](adapter_on(empty_engine))
    check_clean(caught.value, operation)


async def test_an_unreadable_stored_value_is_a_bad_response(tmp_path: Any) -> None:
    path = tmp_path / "loyalty.sqlite"
    sync = sa.create_engine(f"sqlite:///{path}")
    create_schema(sync)
    with sync.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO loyalty_member VALUES (1, ?, ?, NULL, 'A', 'B', 'GOLD', 'ACTIVE', "
            "'yesterday-ish')", (CARD, EMAIL))
    sync.dispose()
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        for operation in ("customers_by_ids", "accounts_by_cards", "customers_by_emails"):
            with pytest.raises(UpstreamBadResponse) as caught:
                await CALLS[operation](adapter_on(engine))
            check_clean(caught.value, operation)
    finally:
        await engine.dispose()


async def test_a_slow_sqlite_query_times_out(tmp_path: Any, loyalty_data: Sandbox) -> None:
    path = tmp_path / "loyalty.sqlite"
    sync = sa.create_engine(f"sqlite:///{path}")
    create_schema(sync)
    load_members(sync, loyalty_data.loyalty_members[:20])
    sync.dispose()
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

    def slow_lower(value: str | None) -> str | None:
        time.sleep(0.05)
        return None if value is None else value.lower()

    @sa.event.listens_for(engine.sync_engine, "connect")
    def register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("lower", 1, slow_lower)

    try:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout) as caught:
            await adapter_on(engine, timeout_s=0.1).customers_by_emails([EMAIL])
        check_clean(caught.value, "customers_by_emails")
        assert time.monotonic() - started < 5
        # The connection is usable again once the slow statement is over.
        assert await adapter_on(engine).customers_by_ids([CARD]) == [None]
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_query_blocked_past_the_timeout_times_out(
        postgres_async_engine_args: tuple[str, dict[str, Any]], postgres_schema_url: str,
        loyalty_data: Sandbox) -> None:
    from silos.loyalty import create_loyalty_engine

    sync = create_loyalty_engine(postgres_schema_url)
    create_schema(sync)
    load_members(sync, loyalty_data.loyalty_members)
    url, connect_args = postgres_async_engine_args
    engine = create_async_engine(url, connect_args=connect_args)
    with_statement_timeout = create_async_engine(url, connect_args={
        "server_settings": {**connect_args["server_settings"], "statement_timeout": "100"}})
    try:
        with sync.connect() as locker:
            locker.exec_driver_sql("LOCK TABLE loyalty_member IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(UpstreamTimeout) as caught:
                await adapter_on(engine, timeout_s=0.2).accounts_by_cards([CARD])
            assert time.monotonic() - started < 2
            check_clean(caught.value, "accounts_by_cards")
            with pytest.raises(UpstreamTimeout) as by_server:
                await adapter_on(with_statement_timeout, timeout_s=10).customers_by_ids([CARD])
            check_clean(by_server.value, "customers_by_ids")
            assert "57014" in str(by_server.value)
            locker.rollback()
        card = loyalty_data.loyalty_members[0]["card_number"]
        [account] = await adapter_on(engine).accounts_by_cards([card])
        assert account is not None and account.id == card
    finally:
        await engine.dispose()
        await with_statement_timeout.dispose()
        sync.dispose()


@pytest.mark.postgres
async def test_refused_credentials_are_an_auth_error(
        postgres_async_engine_args: tuple[str, dict[str, Any]]) -> None:
    url, _ = postgres_async_engine_args
    engine = create_async_engine(make_url(url).set(username="c360_no_such_role",
                                                   password="s3cret-pw"))
    try:
        with pytest.raises(UpstreamAuthError) as caught:
            await adapter_on(engine).customers_by_ids([CARD])
    finally:
        await engine.dispose()
    check_clean(caught.value, "customers_by_ids", "s3cret-pw", "c360_no_such_role")


class DriverError(Exception):
    """A driver exception as asyncpg/psycopg (``sqlstate``) or sqlite3 expose them."""


def wrapped(sqlstate: str | None = None, sqlite_name: str | None = None,
            cls: type[sa_exc.DBAPIError] = sa_exc.DBAPIError) -> sa_exc.DBAPIError:
    orig = DriverError(f"value {EMAIL!r} rejected")
    if sqlstate:
        orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    if sqlite_name:
        orig.sqlite_errorname = sqlite_name  # type: ignore[attr-defined]
    return cls("SELECT 1", None, orig)


@pytest.mark.parametrize(("failure", "expected"), [
    (wrapped("57014"), UpstreamTimeout),
    (wrapped("55P03"), UpstreamTimeout),
    (wrapped("08006"), UpstreamUnavailable),
    (wrapped("57P01"), UpstreamUnavailable),
    (wrapped("53300"), UpstreamUnavailable),
    (wrapped("40P01"), UpstreamUnavailable),
    (wrapped("3D000"), UpstreamUnavailable),
    (wrapped("28P01"), UpstreamAuthError),
    (wrapped("42501"), UpstreamAuthError),
    (wrapped("42P01"), UpstreamBadResponse),
    (wrapped("42703"), UpstreamBadResponse),
    (wrapped("22007"), UpstreamBadResponse),
    (wrapped(sqlite_name="SQLITE_BUSY"), UpstreamUnavailable),
    (wrapped(sqlite_name="SQLITE_IOERR_SHORT_READ"), UpstreamUnavailable),
    (wrapped(sqlite_name="SQLITE_INTERRUPT"), UpstreamTimeout),
    (wrapped(sqlite_name="SQLITE_ERROR"), UpstreamBadResponse),
    (wrapped(sqlite_name="SQLITE_NOTADB"), UpstreamBadResponse),
    (wrapped(cls=sa_exc.OperationalError), UpstreamUnavailable),
    (wrapped(cls=sa_exc.ProgrammingError), UpstreamBadResponse),
    (sa_exc.TimeoutError("QueuePool limit reached"), UpstreamTimeout),
    (TimeoutError(), UpstreamTimeout),
    (ConnectionRefusedError(111, "refused"), UpstreamUnavailable),
    (sa_exc.NoSuchColumnError("phone"), UpstreamBadResponse),
    (ValueError("Invalid isoformat string"), UpstreamBadResponse),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_failures_are_classified(failure: BaseException, expected: type[UpstreamError]) -> None:
    error = map_error(SOURCE, "accounts_by_emails", failure)
    assert type(error) is expected
    assert error.source == SOURCE and EMAIL not in str(error)
    assert classify(failure)[0] is expected


def test_real_sqlite_errors_carry_their_name() -> None:
    with sqlite3.connect(":memory:") as conn:
        with pytest.raises(sqlite3.OperationalError) as caught:
            conn.execute("SELECT * FROM loyalty_member")
    assert classify(caught.value) == (UpstreamBadResponse, "SQLITE_ERROR")
