"""The loyalty tables, exactly as the retailer's other tools expect them.

``loyalty_member.email`` and ``phone`` are stored as typed at enrolment, not normalized;
a member's balance is the sum of their ``points_ledger.points``.
"""

from __future__ import annotations

import sqlalchemy as sa

TIERS = ("BRONZE", "SILVER", "GOLD", "PLATINUM")
STATUSES = ("ACTIVE", "SUSPENDED", "CLOSED")
REASONS = ("PURCHASE", "REDEMPTION", "RETURN", "ADJUSTMENT", "EXPIRY")
CHANNELS = ("WEB", "STORE", "PHONE")

metadata = sa.MetaData()

loyalty_member = sa.Table(
    "loyalty_member",
    metadata,
    sa.Column("member_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("card_number", sa.Text, unique=True, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("first_name", sa.Text),
    sa.Column("last_name", sa.Text),
    sa.Column("tier", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("enrolled_at", sa.DateTime, nullable=False),
)

points_ledger = sa.Table(
    "points_ledger",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "member_id", sa.Integer, sa.ForeignKey("loyalty_member.member_id"), nullable=False
    ),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("channel", sa.Text),
    sa.Column("order_ref", sa.Text),
)

sa.Index("ix_points_ledger_member_id", points_ledger.c.member_id)
