"""How the emulated Zendesk matches users to a search ``query`` (pure helpers).

Zendesk's user search matches a partial or full value of the name, e-mail address or phone, and
takes ``field:value`` terms (``email:``, ``phone:``, ``name:``, ``external_id:``, ``role:``;
``type:user`` is accepted and ignored).
Terms are ANDed. Here a bare term with ``@`` is an e-mail address, a term made of phone characters
with at least seven digits is a phone number (compared on its digits, with or without the country
code), and any other term matches whole words of the name or the e-mail address (``name:`` only
the name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERM = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')
_WORD = re.compile(r"[^\W_]+")
_NON_DIGIT = re.compile(r"\D")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-]+$")

NATIONAL_DIGITS = 10
MIN_PHONE_DIGITS = 7
FIELDS = frozenset(("email", "phone", "name", "external_id", "role"))


@dataclass(frozen=True)
class Term:
    """One search term: ``field`` is ``None`` for a bare term."""

    field: str | None
    value: str


USER_TYPE = Term("type", "user")


def parse_query(query: str) -> list[Term]:
    """The terms of ``query``; a query that is only a phone number is one term."""
    if looks_like_phone(query.strip()):
        return [Term(None, query.strip())]
    terms: list[Term] = []
    for match in _TERM.finditer(query):
        quoted_field, quoted_value, field, value, phrase, bare = match.groups()
        if quoted_field is not None:
            terms.append(_field_term(quoted_field, quoted_value))
        elif field is not None:
            terms.append(_field_term(field, value))
        elif phrase is not None:
            terms.append(Term(None, phrase))
        else:
            terms.append(Term(None, bare))
    return [term for term in terms if term.value.strip() and term != USER_TYPE]


def _field_term(field: str, value: str) -> Term:
    lowered = field.lower()
    if lowered in FIELDS:
        return Term(lowered, value)
    if lowered == "type" and value.lower() == "user":
        return USER_TYPE
    return Term(None, f"{field}:{value}")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_external_id(external_id: str) -> str:
    """Zendesk treats external ids as case-insensitive."""
    return external_id.strip().lower()


def phone_keys(phone: str) -> list[str]:
    """Index keys of a phone number: all its digits, and the national part of a longer one."""
    digits = _NON_DIGIT.sub("", phone)
    if not digits:
        return []
    if len(digits) > NATIONAL_DIGITS:
        return [digits, digits[-NATIONAL_DIGITS:]]
    return [digits]


def looks_like_phone(term: str) -> bool:
    return (
        _PHONE_CHARS.match(term) is not None and len(_NON_DIGIT.sub("", term)) >= MIN_PHONE_DIGITS
    )


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]
