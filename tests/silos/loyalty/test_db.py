from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from silos.loyalty import create_loyalty_engine, create_schema, load_members, load_points
from silos.loyalty.schema import loyalty_member, points_ledger


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'loyalty.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    eng = create_loyalty_engine(url)
    create_schema(eng)
    yield eng
    eng.dispose()


def member(member_id: int, card: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "member_id": member_id,
        "card_number": card,
        "email": None,
        "phone": None,
        "first_name": "Ana",
        "last_name": "Lima",
        "tier": "SILVER",
        "status": "ACTIVE",
        "enrolled_at": datetime(2024, 3, 1, 10, 0),
    }
    row.update(extra)
    return row


def entry(entry_id: int, member_id: int, points: int, reason: str) -> dict[str, object]:
    return {
        "entry_id": entry_id,
        "member_id": member_id,
        "occurred_at": datetime(2024, 5, entry_id, 12, 0),
        "points": points,
        "reason": reason,
        "channel": "STORE",
        "order_ref": f"square:ORD{entry_id}" if reason == "PURCHASE" else None,
    }


def test_schema_is_the_fixed_one(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    members = {c["name"]: c for c in inspector.get_columns("loyalty_member")}
    assert list(members) == [
        "member_id", "card_number", "email", "phone", "first_name", "last_name",
        "tier", "status", "enrolled_at",
    ]
    assert {n for n, c in members.items() if not c["nullable"]} == {
        "member_id", "card_number", "tier", "status", "enrolled_at",
    }
    assert inspector.get_pk_constraint("loyalty_member")["constrained_columns"] == ["member_id"]
    ledger = {c["name"]: c for c in inspector.get_columns("points_ledger")}
    assert list(ledger) == [
        "entry_id", "member_id", "occurred_at", "points", "reason", "channel", "order_ref",
    ]
    [fk] = inspector.get_foreign_keys("points_ledger")
    assert fk["referred_table"] == "loyalty_member"
    assert fk["constrained_columns"] == ["member_id"]


def test_balance_is_the_sum_of_the_ledger_and_values_are_kept_as_typed(
    engine: sa.Engine,
) -> None:
    load_members(
        engine,
        [
            member(1, "LC-0000000001", email=" Ana.Lima@Gmail.com ", phone="(415) 555-0100"),
            member(2, "LC-0000000002"),
        ],
    )
    load_points(
        engine,
        [
            entry(1, 1, 120, "PURCHASE"),
            entry(2, 1, -50, "REDEMPTION"),
            entry(3, 1, -20, "RETURN"),
            entry(4, 2, 10, "ADJUSTMENT"),
        ],
    )
    with engine.connect() as conn:
        balances = dict(
            conn.execute(
                sa.select(points_ledger.c.member_id, sa.func.sum(points_ledger.c.points))
                .group_by(points_ledger.c.member_id)
                .order_by(points_ledger.c.member_id)
            ).all()
        )
        typed = conn.execute(
            sa.select(loyalty_member.c.email, loyalty_member.c.phone).where(
                loyalty_member.c.member_id == 1
            )
        ).one()
    assert balances == {1: 50, 2: 10}
    assert tuple(typed) == (" Ana.Lima@Gmail.com ", "(415) 555-0100")


def test_card_numbers_are_unique(engine: sa.Engine) -> None:
    load_members(engine, [member(1, "LC-0000000001")])
    with pytest.raises(sa.exc.IntegrityError):
        load_members(engine, [member(2, "LC-0000000001")])


def test_ledger_entries_need_a_member(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        load_points(engine, [entry(1, 999, 10, "ADJUSTMENT")])
