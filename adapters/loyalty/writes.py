"""The statements of a points write, as pure functions (no I/O).

A write is one transaction (see :meth:`adapters.loyalty.LoyaltyAdapter.post_points`):

1. the entry already written for the request key, if any (:func:`entry_for_key`);
2. the member, locked: ``SELECT … FOR UPDATE`` on PostgreSQL (:func:`member_for_update`); on
   SQLite the transaction began with ``BEGIN IMMEDIATE`` (:data:`SQLITE_BEGIN`), which already
   holds the database's write lock;
3. the balance (:func:`balance`), when a negative entry must not overdraw it;
4. the next entry id (``points_ledger.entry_id`` has no default: :func:`next_entry_id`), after
   :func:`entry_id_lock` on PostgreSQL so that c360's writers never race each other for it;
5. the ledger row (:func:`insert_entry`) and the request row (:func:`insert_request`) in
   ``c360_points_request``, the one table c360 adds to the retailer's database
   (:mod:`adapters.loyalty.tables` says why).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from adapters.loyalty.tables import loyalty_member, points_ledger, points_request
from adapters.models import NewLedgerEntry, SourceRef

ACTIVE = "ACTIVE"
"""The only member status that accepts points movements."""

SQLITE_BEGIN = "BEGIN IMMEDIATE"
"""How a SQLite write transaction starts: with the write lock, before it reads the balance
(sqlite3's own implicit ``BEGIN`` is deferred and only precedes the first INSERT)."""

_LOCK_NAME = "c360_points_ledger_entry_id"


def sqlite_busy_timeout(timeout_s: float) -> str:
    """The pragma making a SQLite connection wait for the write lock at most ``timeout_s``
    (sqlite3's default is 5 s, longer than a source's timeout)."""
    return f"PRAGMA busy_timeout = {max(1, round(timeout_s * 1000))}"


def create_request_table() -> CreateTable:
    """``CREATE TABLE IF NOT EXISTS c360_points_request (…)``."""
    return CreateTable(points_request, if_not_exists=True)


def request_table_lock() -> sa.Select[Any]:
    """PostgreSQL: a transaction lock serializing gateway workers creating the table at once
    (``IF NOT EXISTS`` alone can still collide in the catalog)."""
    return sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(points_request.name)))


def entry_id_lock() -> sa.Select[Any]:
    """PostgreSQL: a transaction lock taken before allocating an entry id, so concurrent c360
    writes (for different members) do not pick the same ``max + 1``."""
    return sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(_LOCK_NAME)))


def entry_for_key(key: str) -> sa.Select[Any]:
    """The ledger row written for request ``key`` (no row when none was)."""
    p, r = points_ledger, points_request
    return (sa.select(*p.c).join(r, r.c.entry_id == p.c.entry_id)
            .where(r.c.request_key == key))


def member_for_update(card: str) -> sa.Select[Any]:
    """The member with ``card`` (id and status), row-locked until the transaction ends
    (``FOR UPDATE`` on PostgreSQL; SQLite renders no clause, its transaction holds the lock)."""
    m = loyalty_member
    return (sa.select(m.c.member_id, m.c.status).where(m.c.card_number == card)
            .with_for_update())


def balance(member_id: int) -> sa.Select[Any]:
    """The member's balance: the sum of their ledger points (0 without entries)."""
    p = points_ledger
    return sa.select(sa.func.coalesce(sa.func.sum(p.c.points), 0)).where(
        p.c.member_id == member_id)


def next_entry_id() -> sa.Select[Any]:
    """``max(entry_id) + 1`` (1 for an empty ledger), read inside the writing transaction."""
    return sa.select(sa.func.coalesce(sa.func.max(points_ledger.c.entry_id), 0) + 1)


def order_ref_text(ref: SourceRef | None) -> str | None:
    """``'<kind>:<id>'`` as the ledger stores it (``ref.source`` is a vendor kind, written in
    lower case like the existing rows); ValueError when the reads could not parse it back."""
    if ref is None:
        return None
    kind, record_id = ref.source.strip().lower(), ref.id.strip()
    if not kind or ":" in kind or not record_id:
        raise ValueError("an order reference needs a vendor kind without ':' and an id")
    return f"{kind}:{record_id}"


def ledger_values(entry_id: int, member_id: int, entry: NewLedgerEntry,
                  now: datetime) -> dict[str, Any]:
    """The ``points_ledger`` row for ``entry``; ``now`` is naive UTC, as stored."""
    return {
        "entry_id": entry_id,
        "member_id": member_id,
        "occurred_at": now,
        "points": entry.points,
        "reason": entry.reason,
        "channel": entry.channel,
        "order_ref": order_ref_text(entry.order_ref),
    }


def insert_entry(values: dict[str, Any]) -> sa.Insert:
    """The ledger row."""
    return points_ledger.insert().values(values)


def insert_request(key: str, entry_id: int, member_id: int, now: datetime) -> sa.Insert:
    """The request row tying ``key`` to the entry written for it."""
    return points_request.insert().values(
        request_key=key, entry_id=entry_id, member_id=member_id, created_at=now)
