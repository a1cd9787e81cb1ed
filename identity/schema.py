"""The registry's tables: identifiers, links, overrides and aliases — no other attribute."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

identity_record = sa.Table(
    "identity_record",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("first_key", sa.String(200), nullable=False, server_default=""),
    sa.Column("last_key", sa.String(200), nullable=False, server_default=""),
    sa.Column("golden_id", sa.String(64), index=True),
    sa.Column("matched_by", sa.String(32)),
    sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
)

identity_key = sa.Table(
    "identity_key",
    metadata,
    sa.Column("key_type", sa.String(16), primary_key=True),
    sa.Column("value", sa.String(320), primary_key=True),
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(128), primary_key=True),
    sa.Index("ix_identity_key_record", "source", "record_id"),
)

identity_override = sa.Table(
    "identity_override",
    metadata,
    sa.Column("override_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(128), nullable=False),
    sa.Column("other_source", sa.String(64)),
    sa.Column("other_record_id", sa.String(128)),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

identity_alias = sa.Table(
    "identity_alias",
    metadata,
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("golden_id", sa.String(64), nullable=False),
)

identity_cursor = sa.Table(
    "identity_cursor",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("crawled_at", sa.DateTime(timezone=True), nullable=False),
)

identity_crawl = sa.Table(
    "identity_crawl",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    # the newest modification time the incremental crawl has read from this source (in the
    # source's clock); the next crawl reads from it minus a small overlap
    sa.Column("high_water", sa.DateTime(timezone=True)),
    # when a crawl of this source last started (it ended, well or not): due again
    # ``identity.refresh_s`` later, whichever worker runs it
    sa.Column("ran_at", sa.DateTime(timezone=True)),
    # the worker crawling this source now, and until when (a dead worker's lease expires)
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
)

identity_check = sa.Table(
    "identity_check",
    metadata,
    sa.Column("golden_id", sa.String(64), primary_key=True),
    # when this person's emails and phones were last searched live in every source
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
)
