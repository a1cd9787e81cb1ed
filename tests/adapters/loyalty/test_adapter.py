"""The loyalty adapter against the loyalty database (SQLite and PostgreSQL) filled from
``generate(customers=300)``: results are checked against the generated rows."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.loyalty import CHUNK, LoyaltyAdapter, LoyaltyConfig
from adapters.models import Customer, LoyaltyAccount, SourceRef
from adapters.protocols import CustomerSource, LoyaltySource
from silos.generator import Sandbox
from silos.loyalty import load_members, load_points
from tests.adapters.loyalty.conftest import StatementLog

pytestmark = pytest.mark.anyio

Member = dict[str, Any]


def make_adapter(engine: AsyncEngine, **config: Any) -> LoyaltyAdapter:
    return LoyaltyAdapter(LoyaltyConfig("sqlite+aiosqlite://", **config), engine,
                          source="loyalty")


def ledger_rows(data: Sandbox, member_id: int) -> list[Member]:
    return [p for p in data.loyalty_points if p["member_id"] == member_id]


def expected_customer(member: Member) -> tuple[Any, ...]:
    return (member["card_number"], member["first_name"], member["last_name"],
            (member["email"],) if member["email"] and member["email"].strip() else (),
            (member["phone"],) if member["phone"] and member["phone"].strip() else (),
            member["enrolled_at"].replace(tzinfo=UTC))


def as_tuple(customer: Customer) -> tuple[Any, ...]:
    return (customer.id, customer.first_name, customer.last_name, customer.emails,
            customer.phones, customer.created_at)


def check_account(account: LoyaltyAccount, member: Member, data: Sandbox) -> None:
    points = [p["points"] for p in ledger_rows(data, member["member_id"])]
    assert (account.source, account.kind, account.id) == ("loyalty", "loyalty",
                                                          member["card_number"])
    assert account.member_id == member["member_id"]
    assert (account.email, account.phone, account.tier, account.status) == (
        member["email"], member["phone"], member["tier"], member["status"])
    assert account.enrolled_at == member["enrolled_at"].replace(tzinfo=UTC)
    assert account.points_balance == sum(points)
    assert account.lifetime_points == sum(p for p in points if p > 0)


def digits_key(phone: str) -> str:
    return re.sub(r"[^0-9]", "", phone)[-10:]


async def test_it_is_a_customer_and_loyalty_source(loyalty_engine: AsyncEngine) -> None:
    adapter = LoyaltyAdapter(LoyaltyConfig("sqlite+aiosqlite://"), loyalty_engine,
                             source="loyalty-eu")
    assert isinstance(adapter, CustomerSource) and isinstance(adapter, LoyaltySource)
    assert (adapter.source, adapter.kind) == ("loyalty-eu", "loyalty")
    [customer] = await adapter.customers_by_ids(
        [(await anext(adapter.crawl_customers()))[0].id])
    assert customer is not None and (customer.source, customer.kind) == ("loyalty-eu", "loyalty")


async def test_customers_by_card_numbers_are_aligned(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox, statement_log: StatementLog) -> None:
    members = loyalty_data.loyalty_members
    cards = [m["card_number"] for m in members]
    assert "LC-0000000000" not in cards
    keys = [cards[3], "LC-0000000000", *cards, "", cards[3]]
    result = await make_adapter(loyalty_engine).customers_by_ids(keys)
    assert len(result) == len(keys)
    assert result[1] is None and result[-2] is None
    by_card = {m["card_number"]: m for m in members}
    for key, customer in zip(keys, result, strict=True):
        if key in by_card:
            assert customer is not None
            assert (customer.source, customer.kind, customer.references) == (
                "loyalty", "loyalty", ())
            assert as_tuple(customer) == expected_customer(by_card[key])
    assert statement_log.count == 1


async def test_large_batches_are_chunked_one_statement_each(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox, statement_log: StatementLog) -> None:
    members = loyalty_data.loyalty_members
    cards = [m["card_number"] for m in members]
    keys = cards + [f"LC-X{i:09d}" for i in range(1200 - len(cards))]
    adapter = make_adapter(loyalty_engine, max_concurrency=2)
    customers = await adapter.customers_by_ids(keys)
    assert [c.id if c else None for c in customers] == cards + [None] * (1200 - len(cards))
    assert statement_log.count == math.ceil(1200 / CHUNK) == 3
    statement_log.reset()
    accounts = await adapter.accounts_by_cards(keys + keys)
    assert [a.id if a else None for a in accounts] == [c.id if c else None
                                                      for c in customers + customers]
    assert statement_log.count == 3, "duplicate keys are asked once"
    statement_log.reset()
    ids = [m["member_id"] for m in members] + list(range(10_000, 10_000 + 600))
    ledgers = await adapter.ledger_by_member_ids(ids)
    assert sum(len(entries) for entries in ledgers) == len(loyalty_data.loyalty_points)
    assert statement_log.count == math.ceil(len(ids) / CHUNK)


async def test_customers_by_email_as_typed(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox, statement_log: StatementLog) -> None:
    members = [m for m in loyalty_data.loyalty_members if m["email"] and m["email"].strip()]
    asked = [f"  {m['email'].strip().upper()}\t" for m in members] + ["nobody@example.com", ""]
    result = await make_adapter(loyalty_engine).customers_by_emails(asked)
    assert statement_log.count == 1
    assert result[-2:] == [[], []]
    for email, found in zip(asked[:-2], result[:-2], strict=True):
        expected = {m["card_number"] for m in loyalty_data.loyalty_members
                    if m["email"] and m["email"].strip().lower() == email.strip().lower()}
        assert expected and {c.id for c in found} == expected
        assert all(c.emails and c.emails[0].strip().lower() == email.strip().lower()
                   for c in found)
    typed = [m for m in members if m["email"] != m["email"].strip().lower()]
    assert any("\t" in m["email"] for m in typed), "some emails were typed with tabs/blanks"
    clean = await make_adapter(loyalty_engine).customers_by_emails(
        [m["email"].strip().lower() for m in typed])
    assert [[c.id for c in found] for found in clean] == [[m["card_number"]] for m in typed]


async def test_customers_by_phone_digits(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox, statement_log: StatementLog) -> None:
    members = [m for m in loyalty_data.loyalty_members if m["phone"] and digits_key(m["phone"])]
    # Asked in another spelling than stored: +<country> then the last 10 digits, dotted.
    asked = ["+1 " + ".".join((k[:3], k[3:6], k[6:])) for k in
             (digits_key(m["phone"]) for m in members)] + ["(999) 000-1111", "no digits"]
    result = await make_adapter(loyalty_engine).customers_by_phones(asked)
    assert statement_log.count == 1
    assert result[-2:] == [[], []]
    formats = {re.sub(r"[0-9]", "9", m["phone"]) for m in members}
    assert len(formats) >= 5, "typed phones come in many spellings"
    for phone, found in zip(asked[:-2], result[:-2], strict=True):
        expected = {m["card_number"] for m in members
                    if digits_key(m["phone"]) == digits_key(phone)}
        assert expected and {c.id for c in found} == expected
    assert any(len(found) > 1 for found in result), "households and junk numbers are shared"


async def test_typed_emails_and_phones_with_odd_spacing(
        loyalty_engine: AsyncEngine, sync_engine: sa.Engine) -> None:
    base = {"tier": "GOLD", "status": "ACTIVE", "enrolled_at": datetime(2024, 1, 2, 3, 4)}
    load_members(sync_engine, [
        {**base, "member_id": 90_001, "card_number": "LC-9000000001", "first_name": "Zoë",
         "last_name": "Ng", "email": "\tZoe.Ng@Example.COM ", "phone": " +1 (555) 010-2030 "},
        {**base, "member_id": 90_002, "card_number": "LC-9000000002", "first_name": "Al",
         "last_name": "Ng", "email": "zoe.ng@example.com", "phone": "15550102030"},
        {**base, "member_id": 90_003, "card_number": "LC-9000000003", "first_name": "Bo",
         "last_name": "Ng", "email": "zoe.ng@example.co", "phone": "010-2030"},
    ])
    load_points(sync_engine, [
        {"entry_id": 90_001, "member_id": 90_001, "occurred_at": datetime(2024, 2, 1),
         "points": 300, "reason": "PURCHASE", "channel": "WEB", "order_ref": "shopify:77"},
        {"entry_id": 90_002, "member_id": 90_001, "occurred_at": datetime(2024, 3, 1),
         "points": -120, "reason": "RETURN", "channel": "STORE", "order_ref": "square:SQ-9"},
    ])
    adapter = make_adapter(loyalty_engine)
    [emails] = await adapter.accounts_by_emails(["ZOE.NG@example.com"])
    assert [a.id for a in emails] == ["LC-9000000001", "LC-9000000002"]
    assert [(a.points_balance, a.lifetime_points) for a in emails] == [(180, 300), (0, 0)]
    assert emails[0].email == "\tZoe.Ng@Example.COM "
    phones, short = await adapter.accounts_by_phones(["555 010 2030", "0102030"])
    assert [a.id for a in phones] == ["LC-9000000001", "LC-9000000002"]
    assert [a.id for a in short] == ["LC-9000000003"]
    [[first, second]] = await adapter.ledger_by_member_ids([90_001])
    assert (first.points, first.order_ref) == (-120, SourceRef("square", "SQ-9"))
    assert (second.points, second.order_ref) == (300, SourceRef("shopify", "77"))


async def test_accounts_by_cards_sum_the_ledger(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox, statement_log: StatementLog) -> None:
    members = loyalty_data.loyalty_members
    keys = [m["card_number"] for m in members] + ["LC-0000000000"]
    accounts = await make_adapter(loyalty_engine).accounts_by_cards(keys)
    assert statement_log.count == 1
    assert "JOIN points_ledger" in statement_log.statements[0]
    assert accounts[-1] is None
    for member, account in zip(members, accounts, strict=False):
        assert account is not None
        check_account(account, member, loyalty_data)
    without = [a for a, m in zip(accounts, members, strict=False)
               if not ledger_rows(loyalty_data, m["member_id"])]
    assert without and all(a and (a.points_balance, a.lifetime_points) == (0, 0)
                           for a in without)
    assert any(a and a.points_balance < a.lifetime_points for a in accounts)


@pytest.mark.parametrize("by", ["email", "phone"])
async def test_accounts_by_email_and_phone(by: str, loyalty_engine: AsyncEngine,
                                           loyalty_data: Sandbox) -> None:
    adapter = make_adapter(loyalty_engine)
    key: Callable[[str], str] = (lambda v: v.strip().lower()) if by == "email" else digits_key
    members = [m for m in loyalty_data.loyalty_members if m[by] and key(m[by])][:40]
    lookup = adapter.accounts_by_emails if by == "email" else adapter.accounts_by_phones
    result = await lookup([m[by] for m in members])
    by_card = {m["card_number"]: m for m in loyalty_data.loyalty_members}
    for member, found in zip(members, result, strict=True):
        assert member["card_number"] in {a.id for a in found}
        for account in found:
            check_account(account, by_card[account.id], loyalty_data)
            assert key(getattr(account, by)) == key(member[by])


async def test_ledger_newest_first_with_parsed_order_refs(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox, statement_log: StatementLog) -> None:
    ids = [m["member_id"] for m in loyalty_data.loyalty_members]
    keys = [ids[5], 987_654, *ids, ids[5]]
    ledgers = await make_adapter(loyalty_engine).ledger_by_member_ids(keys)
    assert statement_log.count == 1
    assert len(ledgers) == len(keys) and ledgers[1] == [] and ledgers[0] == ledgers[-1]
    refs = 0
    for member_id, entries in zip(keys, ledgers, strict=True):
        rows = sorted(ledger_rows(loyalty_data, member_id),
                      key=lambda p: (p["occurred_at"], p["entry_id"]), reverse=True)
        assert [e.id for e in entries] == [str(p["entry_id"]) for p in rows]
        for entry, row in zip(entries, rows, strict=True):
            assert entry.member_id == member_id
            assert (entry.points, entry.reason, entry.channel) == (
                row["points"], row["reason"], row["channel"])
            assert entry.occurred_at == row["occurred_at"].replace(tzinfo=UTC)
            if row["order_ref"] is None:
                assert entry.order_ref is None
            else:
                kind, _, record_id = row["order_ref"].partition(":")
                assert entry.order_ref == SourceRef(kind, record_id)
                assert kind in ("shopify", "square")
                refs += 1
    assert refs > 50


async def test_crawl_is_paged_by_member_id_and_narrowed_by_enrolment(
        loyalty_engine: AsyncEngine, loyalty_data: Sandbox, statement_log: StatementLog) -> None:
    adapter = make_adapter(loyalty_engine)
    adapter.page_size = 50
    members = loyalty_data.loyalty_members
    assert [page async for page in adapter.crawl_customers(datetime.now(UTC))] == []
    enrolled = sorted(m["enrolled_at"] for m in members)
    middle = enrolled[len(enrolled) // 2].replace(tzinfo=UTC)
    later = [c.id async for page in adapter.crawl_customers(middle) for c in page]
    assert sorted(later) == sorted(m["card_number"] for m in members
                                   if m["enrolled_at"].replace(tzinfo=UTC) >= middle)
    assert 0 < len(later) < len(members)
    statement_log.reset()
    pages = [page async for page in adapter.crawl_customers(None)]
    assert [len(p) for p in pages] == [50, 50, len(members) - 100]
    assert statement_log.count == 3
    by_card = {m["card_number"]: m for m in members}
    seen = [c.id for page in pages for c in page]
    assert seen == [m["card_number"] for m in sorted(members, key=lambda m: m["member_id"])]
    assert all(as_tuple(c) == expected_customer(by_card[c.id]) for p in pages for c in p)
    statement_log.reset()
    default = [page async for page in make_adapter(loyalty_engine).crawl_customers(None)]
    assert [len(p) for p in default] == [len(members)] and statement_log.count == 1
