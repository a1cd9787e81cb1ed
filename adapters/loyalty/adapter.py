"""The loyalty database adapter: ``CustomerSource``, ``LoyaltySource`` and ``PointsWriter``
over SQL tables (:mod:`adapters.loyalty.tables`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.base import SourceAdapter
from adapters.breaker import guarding
from adapters.errors import (
    InsufficientPoints,
    RecordNotFound,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from adapters.loyalty import queries, writes
from adapters.loyalty.config import LoyaltyConfig
from adapters.loyalty.faults import is_write_conflict, map_error
from adapters.loyalty.parse import (
    KIND,
    account_from_row,
    customer_from_row,
    email_key,
    ledger_entry_from_row,
    phone_key,
)
from adapters.models import (
    Customer,
    HistorySlice,
    HistoryWindow,
    LedgerEntry,
    LoyaltyAccount,
    NewLedgerEntry,
)
from adapters.sql import StatementObserver, execute, read

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
Row = Mapping[str, Any]

CHUNK = 500
"""Keys per statement: one ``IN (…)`` list, well under SQLite's and asyncpg's parameter caps."""


def _chunks(keys: list[K], size: int) -> list[list[K]]:
    return [keys[i:i + size] for i in range(0, len(keys), size)]


def _unique(keys: Sequence[K]) -> list[K]:
    return list(dict.fromkeys(keys))


_MEMBERS = {"cards": queries.members_by_cards(), "emails": queries.members_by_emails(),
            "phones": queries.members_by_phones()}
_CUSTOMERS = {by: queries.customers(members) for by, members in _MEMBERS.items()}
_ACCOUNTS = {by: queries.accounts(members) for by, members in _MEMBERS.items()}
_LEDGER = queries.ledger()

WRITE_ATTEMPTS = 5
"""Runs of one points write when a concurrent writer took its entry id or request key."""


class LoyaltyAdapter(SourceAdapter[LoyaltyConfig]):
    """Reads the in-house loyalty database through an injected async SQLAlchemy engine.

    The record id is the **card number**. Every batch method sends one SQL statement per chunk
    of :data:`CHUNK` distinct keys and returns results aligned with its keys. At most
    ``config.max_concurrency`` statements run at once, over all requests (the engine's pool
    has a connection for each, :class:`~adapters.loyalty.config.LoyaltyConfig`); each runs
    under ``config.timeout_s`` from when it has its connection, the wait for a slot counting
    against the request's budget only. Emails and phones are stored as typed at
    enrolment, so lookups compare normalized forms on both sides:

    * email: ``lower(trim(email))`` (tabs and line breaks trimmed like blanks) against the
      asked email trimmed and lower-cased;
    * phone: the last 10 digits of the stored value (after removing blanks, tabs and
      ``- . ( ) + /``) against the last 10 digits of the asked number, so national, E.164 and
      punctuated spellings of one number meet. A number with fewer digits must match whole.

    Points writes (:meth:`post_points`) are one transaction each, exactly once per request
    key; see :mod:`adapters.loyalty.writes`. On SQLite they need a file database (every
    connection its own transaction), which they lock whole while writing.

    Failures leave as :mod:`adapters.errors` only (see :mod:`adapters.loyalty.faults`).
    """

    KIND = KIND
    page_size: int = 1000
    """Members per page of :meth:`crawl_customers`."""

    def __init__(self, config: LoyaltyConfig, engine: AsyncEngine, *,
                 source: str = KIND) -> None:
        super().__init__(config, source)
        self.engine = engine
        self._request_table_ready = False
        self._request_table_lock = asyncio.Lock()
        self.observer: StatementObserver | None = None
        """Told of every statement (:func:`adapters.sql.execute`; set by the runtime)."""

    def observe(self, observer: StatementObserver | None) -> None:
        """Tell ``observer`` of every statement from now on (the gateway's telemetry)."""
        self.observer = observer

    async def _execute(self, conn: AsyncConnection, statement: Any, params: Any = None) -> Any:
        return await execute(conn, statement, params, self.observer)

    # -- plumbing ----------------------------------------------------------------------------
    async def _rows(self, operation: str, statement: sa.Select[Any],
                    params: dict[str, Any] | None = None) -> list[Row]:
        """Run one read statement; every failure becomes an UpstreamError.

        ``config.timeout_s`` bounds the statement from when it holds a slot and a pooled
        connection: waiting for either (concurrent requests' reads) is bounded by the caller's
        deadline only — a read queued behind others is not a slow database."""
        async with guarding(self.breaker):
            try:
                async with self._slots:
                    return await read(self.engine, partial(self._timed, statement, params))
            except Exception as exc:
                raise map_error(self.source, operation, exc) from exc

    async def _timed(self, statement: sa.Select[Any], params: dict[str, Any] | None,
                     conn: AsyncConnection) -> list[Row]:
        async with asyncio.timeout(self.config.timeout_s):
            return [row._mapping for row in (await self._execute(conn, statement, params)).all()]

    async def _gather(self, calls: list[Awaitable[T]]) -> list[T]:
        """Await all ``calls`` (each its own chunk), then raise the first failure if any."""
        done: list[T] = []
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result
            done.append(result)
        return done

    async def _grouped(self, operation: str, keys: list[K], statement: sa.Select[Any],
                       key_of: Callable[[Row], K]) -> dict[K, list[Row]]:
        """Rows for ``keys`` (distinct), ``statement`` once per chunk bound to ``:keys``,
        grouped by ``key_of``."""
        pages = await self._gather([self._rows(operation, statement, {"keys": chunk})
                                    for chunk in _chunks(keys, CHUNK)])
        grouped: dict[K, list[Row]] = {}
        with self._parsing(operation):
            for rows in pages:
                for row in rows:
                    grouped.setdefault(key_of(row), []).append(row)
        return grouped

    def _lookup_key(self, row: Row) -> str:
        return str(row["lookup_key"])

    async def _members(self, operation: str, asked: Sequence[str],
                       normalize: Callable[[str], str], statement: sa.Select[Any],
                       ) -> list[list[Row]]:
        """Rows of the members each asked value finds (after ``normalize``), aligned."""
        normalized = [normalize(value) for value in asked]
        keys = _unique([key for key in normalized if key])
        grouped = await self._grouped(operation, keys, statement, self._lookup_key)
        return [grouped.get(key, []) if key else [] for key in normalized]

    # -- CustomerSource ----------------------------------------------------------------------
    async def customers_by_ids(self, ids: Sequence[str]) -> list[Customer | None]:
        """Members by card number, as customers; None for an unknown card."""
        found = await self._members("customers_by_ids", ids, str, _CUSTOMERS["cards"])
        with self._parsing("customers_by_ids"):
            return [customer_from_row(rows[0], self.source) if rows else None
                    for rows in found]

    async def customers_by_emails(self, emails: Sequence[str]) -> list[list[Customer]]:
        """Members whose email, trimmed and lower-cased, equals the asked one's."""
        found = await self._members("customers_by_emails", emails, email_key,
                                    _CUSTOMERS["emails"])
        with self._parsing("customers_by_emails"):
            return [[customer_from_row(row, self.source) for row in rows] for rows in found]

    async def customers_by_phones(self, phones: Sequence[str]) -> list[list[Customer]]:
        """Members whose phone has the asked number's last 10 digits."""
        found = await self._members("customers_by_phones", phones, phone_key,
                                    _CUSTOMERS["phones"])
        with self._parsing("customers_by_phones"):
            return [[customer_from_row(row, self.source) for row in rows] for rows in found]

    async def crawl_customers(self, since: datetime | None = None
                              ) -> AsyncIterator[list[Customer]]:
        """Every member (enrolled at or after ``since``), in pages of :attr:`page_size` by
        ``member_id``.

        ``loyalty_member`` has no modification time: its enrolment time is the only change
        feed, so an incremental crawl finds new members, and a member's later edits reach the
        registry through a full crawl (``c360 index``) or a live search.
        """
        after: int | None = None
        enrolled = None if since is None else since.astimezone(UTC).replace(tzinfo=None)
        while True:
            rows = await self._rows("crawl_customers",
                                    queries.crawl_page(after, self.page_size, enrolled))
            if not rows:
                return
            with self._parsing("crawl_customers"):
                page = [customer_from_row(row, self.source) for row in rows]
                after = int(rows[-1]["member_id"])
            yield page
            if len(rows) < self.page_size:
                return

    # -- LoyaltySource -----------------------------------------------------------------------
    async def accounts_by_cards(self, cards: Sequence[str]) -> list[LoyaltyAccount | None]:
        """Accounts by card number, with balance and lifetime points; None for unknown."""
        found = await self._members("accounts_by_cards", cards, str, _ACCOUNTS["cards"])
        with self._parsing("accounts_by_cards"):
            return [account_from_row(rows[0], self.source) if rows else None
                    for rows in found]

    async def accounts_by_emails(self, emails: Sequence[str]) -> list[list[LoyaltyAccount]]:
        """Accounts whose email, trimmed and lower-cased, equals the asked one's."""
        found = await self._members("accounts_by_emails", emails, email_key,
                                    _ACCOUNTS["emails"])
        with self._parsing("accounts_by_emails"):
            return [[account_from_row(row, self.source) for row in rows] for rows in found]

    async def accounts_by_phones(self, phones: Sequence[str]) -> list[list[LoyaltyAccount]]:
        """Accounts whose phone has the asked number's last 10 digits."""
        found = await self._members("accounts_by_phones", phones, phone_key,
                                    _ACCOUNTS["phones"])
        with self._parsing("accounts_by_phones"):
            return [[account_from_row(row, self.source) for row in rows] for rows in found]

    async def ledger_by_member_ids(self, ids: Sequence[int]) -> list[list[LedgerEntry]]:
        """Each member's ledger entries, newest first; [] for a member without entries."""
        keys = _unique(ids)
        grouped = await self._grouped("ledger_by_member_ids", keys, _LEDGER,
                                      lambda row: int(row["member_id"]))
        with self._parsing("ledger_by_member_ids"):
            entries = {member: [ledger_entry_from_row(row) for row in rows]
                       for member, rows in grouped.items()}
        return [entries.get(member, []) for member in ids]


    async def ledger_history(self, windows: Sequence[HistoryWindow]
                             ) -> list[HistorySlice[LedgerEntry]]:
        """Per window, one statement: the card's newest ``limit`` entries at or before
        ``until`` (``occurred_at`` descending, entry id breaking ties)."""
        def naive(moment: datetime | None) -> datetime | None:
            if moment is None or moment.tzinfo is None:
                return moment
            return moment.astimezone(UTC).replace(tzinfo=None)

        pages = await self._gather([
            self._rows("ledger_history", queries.ledger_window(w.owner, naive(w.until), w.limit))
            for w in windows])
        slices: list[HistorySlice[LedgerEntry]] = []
        with self._parsing("ledger_history"):
            for rows, w in zip(pages, windows, strict=True):
                entries = tuple(ledger_entry_from_row(row) for row in rows)
                full = len(entries) >= w.limit > 0
                slices.append(HistorySlice(entries, entries[-1].occurred_at if full else None))
        return slices

    # -- PointsWriter ------------------------------------------------------------------------
    @property
    def _sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def _ensure_request_table(self, operation: str) -> None:
        """Create ``c360_points_request`` if missing, once per adapter (the first write)."""
        if self._request_table_ready:
            return
        async with self._request_table_lock:
            if self._request_table_ready:
                return
            try:
                async with self._slots, asyncio.timeout(self.config.timeout_s):
                    async with self.engine.begin() as conn:
                        if not self._sqlite:
                            await self._execute(conn, writes.request_table_lock())
                        await self._execute(conn, writes.create_request_table())
            except Exception as exc:
                raise map_error(self.source, operation, exc) from exc
            self._request_table_ready = True

    async def _post_once(self, entry: NewLedgerEntry, key: str) -> LedgerEntry:
        """One transaction: the entry already written for ``key``, or the new one."""
        async with self.engine.connect() as conn:
            if self._sqlite:
                await self._execute(conn, writes.sqlite_busy_timeout(self.config.timeout_s))
                await self._execute(conn, writes.SQLITE_BEGIN)
            found = (await self._execute(conn, writes.entry_for_key(key))).first()
            if found is None:
                member = (await self._execute(conn, writes.member_for_update(entry.card))).first()
                if member is None:
                    raise RecordNotFound(self.source, "post_points: no member has this card")
                if not self._sqlite:  # a writer with the same key may have committed meanwhile
                    found = (await self._execute(conn, writes.entry_for_key(key))).first()
            if found is not None:
                with self._parsing("post_points"):
                    return ledger_entry_from_row(found._mapping)
            member_id, status = int(member.member_id), member.status
            if status != writes.ACTIVE:
                raise UpstreamRejected(self.source,
                                       "post_points refused: the membership is not active")
            if entry.points < 0 and not entry.allow_negative_balance:
                balance = int((await self._execute(conn, writes.balance(member_id))).scalar_one())
                if balance + entry.points < 0:
                    raise InsufficientPoints(
                        self.source, "post_points refused: the balance is too low")
            if not self._sqlite:
                await self._execute(conn, writes.entry_id_lock())
            entry_id = int((await self._execute(conn, writes.next_entry_id())).scalar_one())
            now = datetime.now(UTC).replace(tzinfo=None)
            values = writes.ledger_values(entry_id, member_id, entry, now)
            await self._execute(conn, writes.insert_entry(values))
            await self._execute(conn, writes.insert_request(key, entry_id, member_id, now))
            await conn.commit()
        with self._parsing("post_points"):
            return ledger_entry_from_row(values)

    async def post_points(self, entry: NewLedgerEntry, *, key: str) -> LedgerEntry:
        """Write ``entry`` once per ``key``: the same key again (even concurrently) answers
        the entry already written, whatever the entry asked.

        One transaction locks the member (``FOR UPDATE``; on SQLite the whole database, from
        ``BEGIN IMMEDIATE``), reads the balance, allocates ``max(entry_id) + 1`` and writes
        the ledger row with its ``c360_points_request`` row. A concurrent insert of the same
        entry id or key rolls it back and it runs again (:data:`WRITE_ATTEMPTS` runs). The
        whole write holds one of the adapter's slots and runs under ``config.timeout_s``.

        Raises :class:`~adapters.errors.RecordNotFound` for an unknown card,
        :class:`~adapters.errors.UpstreamRejected` for a member who is not ACTIVE or an order
        reference the ledger cannot hold, :class:`~adapters.errors.InsufficientPoints` when a
        negative entry would take the balance below zero (unless
        ``entry.allow_negative_balance``); nothing is written then.
        """
        try:
            writes.order_ref_text(entry.order_ref)
        except ValueError:
            raise UpstreamRejected(
                self.source, "post_points refused: the order reference is not kind:id") from None
        await self._ensure_request_table("post_points")
        try:
            async with guarding(self.breaker), self._slots, asyncio.timeout(
                    self.config.timeout_s):
                for attempt in range(1, WRITE_ATTEMPTS + 1):
                    try:
                        return await self._post_once(entry, key)
                    except sa.exc.DBAPIError as exc:
                        if not is_write_conflict(exc):
                            raise
                        if attempt == WRITE_ATTEMPTS:
                            raise UpstreamUnavailable(
                                self.source, "post_points failed: concurrent writes") from exc
                    await asyncio.sleep(random.uniform(0, 0.005 * attempt))
        except UpstreamError:
            raise
        except Exception as exc:
            raise map_error(self.source, "post_points", exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def entry_by_key(self, key: str) -> LedgerEntry | None:
        """The ledger entry :meth:`post_points` wrote for ``key``; None when none was."""
        await self._ensure_request_table("entry_by_key")
        rows = await self._rows("entry_by_key", writes.entry_for_key(key))
        with self._parsing("entry_by_key"):
            return ledger_entry_from_row(rows[0]) if rows else None
