"""Loyalty rows → canonical models, and the lookup keys both sides of a query agree on.

Pure functions, no I/O. A row is any mapping of column name → value (a SQLAlchemy
``Row._mapping`` or a plain dict): ``loyalty_member`` columns, plus ``points_balance`` and
``lifetime_points`` for accounts. The schema's ``DateTime`` columns hold naive UTC times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.models import Customer, LedgerEntry, LoyaltyAccount, SourceRef

KIND = "loyalty"
PHONE_KEY_DIGITS = 10


def email_key(email: str) -> str:
    """The form emails are compared in: trimmed, lower-cased (nothing else is normalized)."""
    return email.strip().lower()


def phone_digits(phone: str) -> str:
    """The ASCII digits of ``phone``, in order."""
    return "".join(c for c in phone if "0" <= c <= "9")


def phone_key(phone: str) -> str:
    """The form phones are compared in: the last 10 digits (all of them when fewer).

    ``+1 (718) 966-9922``, ``718.966.9922`` and ``1-718-966-9922`` share the key ``7189669922``;
    ``+44 7552 790744`` and ``07552 790744`` share ``7552790744``. Empty when there is no digit.
    """
    return phone_digits(phone)[-PHONE_KEY_DIGITS:]


def utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (naive values are UTC by convention)."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _required_text(value: Any) -> str:
    text = _text(value)
    if text is None:
        raise ValueError("required text is NULL")
    return text


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _present(value: str | None) -> tuple[str, ...]:
    return (value,) if value is not None and value.strip() else ()


def parse_order_ref(value: str | None, sources: Mapping[str, str] | None = None
                    ) -> SourceRef | None:
    """``'shopify:<id>'`` / ``'square:<id>'`` → ``SourceRef``; None when absent or malformed.

    The prefix is a vendor kind; ``sources`` maps a kind to the configured source name that
    holds it (the kind itself is used when unmapped).
    """
    if value is None:
        return None
    kind, sep, record_id = value.strip().partition(":")
    kind, record_id = kind.strip().lower(), record_id.strip()
    if not sep or not kind or not record_id:
        return None
    return SourceRef((sources or {}).get(kind, kind), record_id)


def customer_from_row(row: Mapping[str, Any], source: str) -> Customer:
    """A member as a :class:`Customer`: id = card number, email/phone exactly as typed."""
    return Customer(
        source=source,
        kind=KIND,
        id=_required_text(row["card_number"]),
        first_name=_text(row["first_name"]),
        last_name=_text(row["last_name"]),
        emails=_present(_text(row["email"])),
        phones=_present(_text(row["phone"])),
        created_at=utc(row["enrolled_at"]),
    )


def account_from_row(row: Mapping[str, Any], source: str) -> LoyaltyAccount:
    """A member with the ``points_balance`` / ``lifetime_points`` sums of their ledger."""
    return LoyaltyAccount(
        source=source,
        kind=KIND,
        id=_required_text(row["card_number"]),
        member_id=_integer(row["member_id"]),
        first_name=_text(row["first_name"]),
        last_name=_text(row["last_name"]),
        email=_text(row["email"]),
        phone=_text(row["phone"]),
        tier=_required_text(row["tier"]),
        status=_required_text(row["status"]),
        enrolled_at=utc(row["enrolled_at"]),
        points_balance=_integer(row["points_balance"]),
        lifetime_points=_integer(row["lifetime_points"]),
    )


def ledger_entry_from_row(row: Mapping[str, Any],
                          sources: Mapping[str, str] | None = None) -> LedgerEntry:
    """One ``points_ledger`` row."""
    return LedgerEntry(
        id=str(_integer(row["entry_id"])),
        member_id=_integer(row["member_id"]),
        occurred_at=utc(row["occurred_at"]),
        points=_integer(row["points"]),
        reason=_required_text(row["reason"]),
        channel=_text(row["channel"]),
        order_ref=parse_order_ref(_text(row["order_ref"]), sources),
    )
