"""The loyalty parse functions (rows → models, lookup keys, order references) and the SQL
they pair with, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from adapters.errors import UpstreamBadResponse
from adapters.http import parsing
from adapters.loyalty import queries
from adapters.loyalty.parse import (
    account_from_row,
    customer_from_row,
    email_key,
    ledger_entry_from_row,
    parse_order_ref,
    phone_key,
    utc,
)
from adapters.models import SourceRef
from silos.generator import Sandbox

MEMBER = {"member_id": 7, "card_number": "LC-0012345678", "email": " Ana.Lima@Gmail.COM",
          "phone": "(212) 555-0100", "first_name": "Ana", "last_name": "Lima",
          "tier": "GOLD", "status": "ACTIVE", "enrolled_at": datetime(2024, 5, 6, 7, 8, 9)}


@pytest.mark.parametrize(("typed", "key"), [
    ("+12125550100", "2125550100"),
    ("(212) 555-0100", "2125550100"),
    ("212-555-0100", "2125550100"),
    ("212 555 0100", "2125550100"),
    ("1-212-555-0100", "2125550100"),
    ("+1 212 555 0100", "2125550100"),
    ("212.555.0100", "2125550100"),
    ("+447552790744", "7552790744"),
    ("07552790744", "7552790744"),
    ("(07552) 790744", "7552790744"),
    ("+44 7552 790744", "7552790744"),
    ("555-0100", "5550100"),
    ("n/a", ""),
])
def test_phone_key_is_the_last_ten_digits(typed: str, key: str) -> None:
    assert phone_key(typed) == key


def test_email_key_trims_and_lowercases_only() -> None:
    assert email_key("\t Ana.Lima+shop@GMail.com ") == "ana.lima+shop@gmail.com"
    assert email_key("analima@gmail.com") != email_key("ana.lima@gmail.com")


@pytest.mark.parametrize(("raw", "ref"), [
    ("shopify:5600000000216", SourceRef("shopify", "5600000000216")),
    ("square:OyaX8qpvU0IOxrsPH7UmogLJt77", SourceRef("square", "OyaX8qpvU0IOxrsPH7UmogLJt77")),
    (" Square:abc ", SourceRef("square", "abc")),
    (None, None),
    ("", None),
    ("5600000000216", None),
    ("shopify:", None),
    (":123", None),
])
def test_order_refs(raw: str | None, ref: SourceRef | None) -> None:
    assert parse_order_ref(raw) == ref


def test_order_ref_kinds_map_to_configured_sources() -> None:
    sources = {"shopify": "shop-us", "square": "pos"}
    assert parse_order_ref("shopify:1", sources) == SourceRef("shop-us", "1")
    assert parse_order_ref("square:X", sources) == SourceRef("pos", "X")
    assert parse_order_ref("zendesk:9", sources) == SourceRef("zendesk", "9")


def test_timestamps_are_utc_aware() -> None:
    assert utc(datetime(2024, 1, 2, 3, 4)) == datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    paris = timezone(timedelta(hours=2))
    converted = utc(datetime(2024, 6, 1, 12, 0, tzinfo=paris))
    assert converted.tzinfo is UTC and converted.hour == 10
    with pytest.raises(TypeError):
        utc("2024-01-02")  # type: ignore[arg-type]


def test_customer_keeps_values_as_typed() -> None:
    customer = customer_from_row(MEMBER, "loyalty")
    assert (customer.source, customer.kind, customer.id) == ("loyalty", "loyalty",
                                                             "LC-0012345678")
    assert (customer.first_name, customer.last_name) == ("Ana", "Lima")
    assert customer.emails == (" Ana.Lima@Gmail.COM",)
    assert customer.phones == ("(212) 555-0100",)
    assert customer.created_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert customer.references == () and customer.addresses == ()
    blank = customer_from_row({**MEMBER, "email": None, "phone": "  "}, "loyalty")
    assert (blank.emails, blank.phones) == ((), ())


def test_every_generated_member_parses(loyalty_data: Sandbox) -> None:
    for member in loyalty_data.loyalty_members:
        customer = customer_from_row(member, "loyalty")
        assert customer.id == member["card_number"]
        assert customer.emails == ((member["email"],) if member["email"] else ())
        assert customer.phones == ((member["phone"],) if member["phone"] else ())
        account = account_from_row({**member, "points_balance": 0, "lifetime_points": 0},
                                   "loyalty")
        assert (account.member_id, account.tier, account.status) == (
            member["member_id"], member["tier"], member["status"])


def test_account_and_ledger_entry() -> None:
    account = account_from_row({**MEMBER, "points_balance": 180, "lifetime_points": 300},
                               "loyalty-eu")
    assert (account.source, account.id, account.member_id) == ("loyalty-eu",
                                                               "LC-0012345678", 7)
    assert (account.points_balance, account.lifetime_points) == (180, 300)
    assert account.email == " Ana.Lima@Gmail.COM"
    assert account.enrolled_at.tzinfo is UTC
    entry = ledger_entry_from_row({
        "entry_id": 41, "member_id": 7, "occurred_at": datetime(2025, 2, 3, 4, 5, 6),
        "points": -500, "reason": "REDEMPTION", "channel": None,
        "order_ref": "square:SQ1"})
    assert (entry.id, entry.member_id, entry.points, entry.reason, entry.channel) == (
        "41", 7, -500, "REDEMPTION", None)
    assert entry.occurred_at == datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert entry.order_ref == SourceRef("square", "SQ1")


@pytest.mark.parametrize("row", [
    {**MEMBER, "card_number": None},
    {**MEMBER, "tier": None},
    {**MEMBER, "enrolled_at": "2024-05-06"},
    {**MEMBER, "member_id": "7"},
    {k: v for k, v in MEMBER.items() if k != "phone"},
])
def test_rows_of_the_wrong_shape_are_bad_responses(row: dict[str, Any]) -> None:
    with pytest.raises(UpstreamBadResponse, match="loyalty: unexpected accounts payload"):
        with parsing("loyalty", "accounts"):
            account_from_row({**row, "points_balance": 0, "lifetime_points": 0}, "loyalty")


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "postgresql+asyncpg://u@h/db"])
def test_statements_compile_the_same_for_both_dialects(url: str) -> None:
    dialect = make_url(url).get_dialect()()
    statements = {
        "accounts": queries.accounts(queries.members_by_phones()),
        "customers": queries.customers(queries.members_by_emails()),
        "ledger": queries.ledger(),
        "crawl": queries.crawl_page(100, 1000),
    }
    sql = {name: str(stmt.compile(dialect=dialect)) for name, stmt in statements.items()}
    assert "LEFT OUTER JOIN points_ledger" in sql["accounts"] and "GROUP BY" in sql["accounts"]
    assert "sum(" in sql["accounts"] and "CASE WHEN" in sql["accounts"]
    assert "lower(trim(replace(" in sql["customers"]
    assert "ORDER BY points_ledger.member_id, points_ledger.occurred_at DESC, " \
           "points_ledger.entry_id DESC" in sql["ledger"]
    assert "loyalty_member.member_id >" in sql["crawl"] and "LIMIT" in sql["crawl"]
    assert "regexp" not in " ".join(sql.values()).lower()
    # the keys are one expanding parameter, bound per execution: the statements are built once
    assert all("__[POSTCOMPILE_keys]" in sql[name] for name in ("accounts", "customers",
                                                                  "ledger"))
