"""The tables the loyalty adapter reads and writes, as the adapter itself declares them.

``loyalty_member`` and ``points_ledger`` belong to the retailer's in-house database (other tools
use them; c360 never creates or alters them). They are declared here with the columns the
adapter relies on, with the names, types and nullability of that database, so that the product
never imports the emulator (:mod:`silos.loyalty`); ``tests/adapters/loyalty/test_tables.py``
checks them against the emulator's schema and against real SQLite and PostgreSQL databases.

``c360_points_request`` is the **one table c360 adds to the retailer's database**. A points
write must happen exactly once per request key (a saga step repeated after a lost answer, two
workers racing on one request), and ``points_ledger`` has no column to carry such a key. So the
adapter records ``request key → entry id`` in this table, in the same transaction as the ledger
entry: a repeated key finds the entry already written, and a crash leaves either both rows or
neither. The adapter creates it when missing (``CREATE TABLE IF NOT EXISTS``) before its first
write; it references nothing, so the retailer's tools keep managing their own rows freely.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

loyalty_member = sa.Table(
    "loyalty_member",
    metadata,
    sa.Column("member_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("card_number", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("first_name", sa.Text),
    sa.Column("last_name", sa.Text),
    sa.Column("tier", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("enrolled_at", sa.DateTime, nullable=False),
)
"""A member (card number unique in the database); ``enrolled_at`` in naive UTC."""

points_ledger = sa.Table(
    "points_ledger",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("member_id", sa.Integer, nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("channel", sa.Text),
    sa.Column("order_ref", sa.Text),
)
"""Points movements; a member's balance is the sum of their ``points``. ``entry_id`` has no
default: writers allocate it."""

points_request = sa.Table(
    "c360_points_request",
    metadata,
    sa.Column("request_key", sa.Text, primary_key=True),
    sa.Column("entry_id", sa.Integer, nullable=False),
    sa.Column("member_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
"""c360's own table: the ledger entry written for each request key (see the module doc)."""

RETAILER_TABLES = (loyalty_member, points_ledger)
"""The in-house tables, which c360 only reads and appends to."""
