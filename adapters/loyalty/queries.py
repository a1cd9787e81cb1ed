"""The SQL the loyalty adapter runs, as pure functions building SQLAlchemy statements (no I/O).

One statement answers one batch chunk: keys go in an expanding ``IN (:keys)`` parameter and
every row carries the ``lookup_key`` it answers, so the adapter can align rows with the asked
keys. The adapter builds each statement once and binds ``keys`` per execution (building and
cache-keying a statement costs more CPU than running it on an indexed column). The expressions are
plain SQL that SQLite and PostgreSQL both run (``replace``, ``trim``, ``lower``, ``length``,
``substr``, ``CASE``), so the same statement serves both dialects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from adapters.loyalty.parse import PHONE_KEY_DIGITS
from adapters.loyalty.tables import loyalty_member, points_ledger

MEMBER_COLUMNS = tuple(c.name for c in loyalty_member.c)
EMAIL_SPACE = ("\t", "\r", "\n")
"""Whitespace besides the blank that typed emails carry; turned into blanks before ``trim``."""
PHONE_SEPARATORS = (" ", "\t", "-", ".", "(", ")", "+", "/")
"""What people type between phone digits; SQL strips exactly these (values with other
characters, e.g. ``ext. 12``, keep them and do not match a digits-only key)."""


def _sql_char(char: str) -> ColumnElement[Any]:
    if char == "'":
        raise ValueError("a quote cannot be a bare SQL literal")
    return sa.literal_column(f"'{char}'", sa.Text)


def email_key_expr(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``lower(trim(…))`` of the stored email, with tabs/newlines trimmed like blanks."""
    expr = column
    for char in EMAIL_SPACE:
        expr = sa.func.replace(expr, _sql_char(char), _sql_char(" "))
    return sa.func.lower(sa.func.trim(expr))


def phone_digits_expr(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The stored phone with the usual separators removed (its digits, for typed phones)."""
    expr = column
    for char in PHONE_SEPARATORS:
        expr = sa.func.replace(expr, _sql_char(char), sa.literal_column("''", sa.Text))
    return expr


def last_digits_expr(digits: ColumnElement[Any]) -> ColumnElement[Any]:
    """The last 10 characters of ``digits`` (all of them when shorter), the phone key."""
    length = sa.func.length(digits)
    return sa.case(
        (length > PHONE_KEY_DIGITS, sa.func.substr(digits, length - (PHONE_KEY_DIGITS - 1))),
        else_=digits,
    )


def keys_param() -> sa.BindParameter[Any]:
    """The ``keys`` parameter: a list of keys, expanded into ``IN (…)`` at execution."""
    return sa.bindparam("keys", expanding=True)


def _member_columns(selectable: sa.FromClause) -> list[ColumnElement[Any]]:
    return [selectable.c[name] for name in MEMBER_COLUMNS]


def members_by_cards() -> sa.Subquery:
    """Members whose card number is in ``:keys`` (the unique index answers it)."""
    m = loyalty_member
    return (sa.select(*m.c, m.c.card_number.label("lookup_key"))
            .where(m.c.card_number.in_(keys_param())).subquery("member"))


def members_by_emails() -> sa.Subquery:
    """Members whose ``lower(trim(email))`` is in ``:keys`` (already :func:`email_key`
    form)."""
    m = loyalty_member
    keyed = sa.select(*m.c, email_key_expr(m.c.email).label("lookup_key")).subquery("keyed")
    return (sa.select(*_member_columns(keyed), keyed.c.lookup_key)
            .where(keyed.c.lookup_key.in_(keys_param())).subquery("member"))


def members_by_phones() -> sa.Subquery:
    """Members whose phone's last 10 digits are in ``:keys`` (already :func:`phone_key`
    form)."""
    m = loyalty_member
    digits = sa.select(*m.c, phone_digits_expr(m.c.phone).label("phone_digits")).subquery(
        "digits")
    keyed = sa.select(*_member_columns(digits),
                      last_digits_expr(digits.c.phone_digits).label("lookup_key")).subquery(
        "keyed")
    return (sa.select(*_member_columns(keyed), keyed.c.lookup_key)
            .where(keyed.c.lookup_key.in_(keys_param())).subquery("member"))


def customers(members: sa.Subquery) -> sa.Select[Any]:
    """The matched members, each with its ``lookup_key``."""
    return sa.select(members).order_by(members.c.member_id)


def accounts(members: sa.Subquery) -> sa.Select[Any]:
    """The matched members with their balance (sum of points) and lifetime points (sum of the
    positive ones), in the same query: LEFT JOIN the ledger, GROUP BY the member."""
    p = points_ledger
    earned = sa.case((p.c.points > 0, p.c.points), else_=0)
    return (
        sa.select(
            members,
            sa.func.coalesce(sa.func.sum(p.c.points), 0).label("points_balance"),
            sa.func.coalesce(sa.func.sum(earned), 0).label("lifetime_points"),
        )
        .select_from(members.outerjoin(p, p.c.member_id == members.c.member_id))
        .group_by(*members.c)
        .order_by(members.c.member_id)
    )


def ledger() -> sa.Select[Any]:
    """The ledger rows of the members in ``:keys``, each member's newest first (entry id
    breaks ties)."""
    p = points_ledger
    return (sa.select(*p.c).where(p.c.member_id.in_(keys_param()))
            .order_by(p.c.member_id, p.c.occurred_at.desc(), p.c.entry_id.desc()))


def crawl_page(after_member_id: int | None, limit: int,
               since: datetime | None = None) -> sa.Select[Any]:
    """The next ``limit`` members by ``member_id`` (keyset pagination); with ``since`` (naive
    UTC, as stored), only those enrolled at or after it."""
    m = loyalty_member
    stmt = sa.select(*m.c).order_by(m.c.member_id).limit(limit)
    if after_member_id is not None:
        stmt = stmt.where(m.c.member_id > after_member_id)
    if since is not None:
        stmt = stmt.where(m.c.enrolled_at >= since)
    return stmt


def ledger_window(card_number: str, until: datetime | None, limit: int) -> sa.Select[Any]:
    """The newest ``limit`` ledger rows of the member with ``card_number`` that occurred at or
    before ``until`` (naive UTC, as stored), entry id breaking ties (keyset, index-friendly)."""
    p, m = points_ledger, loyalty_member
    stmt = (sa.select(*p.c).join(m, m.c.member_id == p.c.member_id)
            .where(m.c.card_number == card_number)
            .order_by(p.c.occurred_at.desc(), p.c.entry_id.desc()).limit(limit))
    if until is not None:
        stmt = stmt.where(p.c.occurred_at <= until)
    return stmt
