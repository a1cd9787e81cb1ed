"""Customer-profile rules of the Customers API: field validation, phone numbers, search matching."""

from __future__ import annotations

import re
from typing import Any

from silos.square.errors import bad_request

_PHONE_CHARS = frozenset("+0123456789 -().")
_NON_DIGITS = re.compile(r"\D")
_NAME_FIELDS = ("given_name", "family_name", "company_name", "email_address", "phone_number")


def phone_digits(phone: str) -> str:
    return _NON_DIGITS.sub("", phone)


def e164(phone: str, country_code: str = "1") -> str:
    """The standard E.164 form Square matches exact phone searches against.

    ``+1-212-555-4240`` and ``+001 (212) 555-4240`` give ``+12125554240``; a national number
    without ``+`` is taken in the seller's country (``country_code``).
    """
    digits = phone_digits(phone)
    international = phone.lstrip().startswith("+")
    if digits.startswith("00"):
        return "+" + digits[2:]
    if international:
        return "+" + digits
    if len(digits) == 10:
        return f"+{country_code}{digits}"
    return "+" + digits


def check_phone(phone: str, field: str = "phone_number") -> None:
    """Square's loose check: 9 to 16 digits, an optional ``+`` and common separators only."""
    digits = phone_digits(phone)
    if not _PHONE_CHARS.issuperset(phone) or not 9 <= len(digits) <= 16:
        raise bad_request("INVALID_PHONE_NUMBER", "Invalid phone number.", field)


def check_email(email: str, field: str = "email_address") -> None:
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or " " in email:
        raise bad_request("INVALID_EMAIL_ADDRESS", "Invalid email address.", field)


def check_birthday(birthday: str, field: str = "birthday") -> str:
    """``YYYY-MM-DD`` or ``MM-DD`` (returned as ``0000-MM-DD``, as Square stores it)."""
    parts = birthday.split("-")
    if len(parts) == 2:
        parts = ["0000", *parts]
    if (
        len(parts) != 3
        or not all(part.isdigit() for part in parts)
        or [len(part) for part in parts] != [4, 2, 2]
        or not 1 <= int(parts[1]) <= 12
        or not 1 <= int(parts[2]) <= 31
    ):
        raise bad_request("INVALID_VALUE", "Birthday must be YYYY-MM-DD or MM-DD.", field)
    return "-".join(parts)


def require_identity(values: dict[str, Any]) -> None:
    if not any(values.get(name) for name in _NAME_FIELDS):
        raise bad_request(
            "BAD_REQUEST",
            "At least one of the following fields must be set: " + ", ".join(_NAME_FIELDS) + ".",
        )


def tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens, punctuation acting as separators (fuzzy matching)."""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in text.lower())
    return cleaned.split()


def fuzzy_match(stored: str | None, query_tokens: list[str]) -> bool:
    """Square's fuzzy text filter: every query token appears somewhere in the stored value."""
    if not stored:
        return False
    haystack = " ".join(tokens(stored))
    return all(token in haystack for token in query_tokens)
