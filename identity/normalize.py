"""Identifier normalization: emails, phones (E.164) and name match keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from anyascii import anyascii
from email_validator import EmailNotValidError, validate_email

DEFAULT_DOT_INSENSITIVE = ("gmail.com",)
DEFAULT_PLUS_TAG = (
    "gmail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com",
    "mac.com", "proton.me", "protonmail.com", "fastmail.com",
)
DEFAULT_ALIASES = {"googlemail.com": "gmail.com"}


@dataclass(frozen=True)
class EmailRules:
    """Per-domain mailbox rules: which domains ignore dots in the local part, which deliver
    ``local+tag`` to ``local``, and which domains are aliases of another."""

    dot_insensitive: frozenset[str] = field(default=frozenset(DEFAULT_DOT_INSENSITIVE))
    plus_tag: frozenset[str] = field(default=frozenset(DEFAULT_PLUS_TAG))
    aliases: tuple[tuple[str, str], ...] = tuple(DEFAULT_ALIASES.items())


class Normalizer:
    """Normalizes identifiers; results are cached (the same values recur across silos)."""

    def __init__(self, email_rules: EmailRules | None = None, default_region: str = "US",
                 regions: tuple[str, ...] = ()) -> None:
        self.rules = email_rules or EmailRules()
        self.aliases = dict(self.rules.aliases)
        self.default_region = default_region.upper()
        self.regions = tuple(r.upper() for r in regions if r.upper() != self.default_region)
        self.email = lru_cache(maxsize=200_000)(self._email)
        self.phone = lru_cache(maxsize=200_000)(self._phone)

    def _email(self, raw: str | None) -> str | None:
        """The mailbox an address delivers to, or None if it is not an email address."""
        if not raw:
            return None
        text = raw.strip()
        if not text:
            return None
        try:
            parsed = validate_email(text, check_deliverability=False)
        except EmailNotValidError:
            return None
        local = parsed.local_part.lower()
        domain = parsed.ascii_domain.lower()
        domain = self.aliases.get(domain, domain)
        if domain in self.rules.plus_tag and "+" in local:
            local = local.split("+", 1)[0]
        if domain in self.rules.dot_insensitive:
            local = local.replace(".", "")
        if not local:
            return None
        return f"{local}@{domain}"

    def _phone(self, raw: str | None, region: str | None = None) -> str | None:
        """E.164, reading national numbers in ``region`` (the record's own country when it has
        one) or the default region. A record without a country whose number is not valid there
        is read in the retailer's other ``regions``, and kept only if exactly one of them makes
        it valid. None when it is not a valid number."""
        if not raw:
            return None
        digits = re.sub(r"\D", "", raw)
        if len(digits) < 7 or len(set(digits)) <= 2:
            return None
        found = self._parse(raw, (region or self.default_region).upper())
        if found is None and region is None and not raw.lstrip().startswith("+"):
            candidates = {p for p in (self._parse(raw, r) for r in self.regions) if p}
            found = candidates.pop() if len(candidates) == 1 else None
        return found

    @staticmethod
    def _parse(raw: str, region: str) -> str | None:
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(parsed):
            return None
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_GEMINATE_L = re.compile(r"(?i)(?<=l)[\u00b7\u0387\u2027\u2219\u22c5\u30fb.](?=l)")
"""Catalan ``l·l`` (Gal·la, Marcel·lí) and its stand-ins (a Greek ano teleia, a hyphenation
point, a bullet or a full stop): one word, ``ll`` (anyascii would make the dot a hyphen)."""
_GEMINATE_L_HYPHEN = re.compile(r"(?i)(?<=[a-z\u00c0-\u00ff]l)-(?=l[aeiou\u00e0-\u00fc]s?\b)")
"""``l·l`` typed as a hyphen (``Gal-la``, ``Marcel-lí``): the hyphen before a syllable ``la``,
``li``, ``les``… only, so that Paul-Louis stays two names."""


@lru_cache(maxsize=100_000)
def name_tokens(text: str | None) -> tuple[str, ...]:
    """Casefolded ASCII tokens of a name (``"José  O'Brien"`` → ``("jose", "obrien")``;
    ``"D'Angelo"`` → ``("dangelo",)``; ``"Gal·la"``, ``"Gal.la"`` and ``"Gal-la"`` →
    ``("galla",)``; ``"Jean-Pierre"`` → ``("jean", "pierre")``)."""
    if not text:
        return ()
    text = _GEMINATE_L_HYPHEN.sub("", _GEMINATE_L.sub("", text))
    ascii_text = anyascii(text).lower().replace("'", "").replace("-", " ")
    return tuple(_NON_ALNUM.sub("", ascii_text).split())


def name_key(first: str | None, last: str | None) -> str:
    """``first|last`` as match key (``|``-joined tokens); a single-field name goes in first."""
    return f"{' '.join(name_tokens(first))}|{' '.join(name_tokens(last))}"
