"""Name conventions of Spanish, Catalan, Italian, Portuguese and French customers, as locale
packs for :class:`identity.matching.NameMatcher` (``identity.name_locales``).

A pack holds, per locale (``identity/names/data/<locale>.toml``, their sources cited in
``identity/names/README.md``): **hypocorisms** (the familiar forms people give a shop instead
of their given name), **compound names** that have their own familiar form (María Teresa →
Maite), the first parts of compound names that clerks drop (**shortened to the second**:
Francisco Javier → Javier), the common **given names** (to tell a given name from a family name
when a system writes a whole name in one field, and to keep a familiar form that is a name of
its own out of the evidence), and whether the family name kept alone is the **last** of two
(Portuguese) rather than the first (Spanish, Catalan). The family-name **particles** (de, del,
della, d', da, dos, van der …) are shared by all packs.

English (``en``) has no pack: the ``nicknames`` dataset (US given names) is always consulted by
:class:`~identity.matching.NameMatcher`, with or without packs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from identity.normalize import name_tokens

LOCALES = ("en", "es", "ca", "it", "pt", "fr")
"""Known name locales (``en``: the default rules, no pack)."""

PARTICLES = frozenset({
    "de", "del", "dela", "della", "dello", "delle", "dei", "degli", "dell", "di", "da", "das",
    "do", "dos", "d", "la", "las", "lo", "los", "le", "les", "du", "des", "van", "von", "der",
    "den", "ter", "y", "i", "e",
})
"""Family-name particles and the conjunctions between two surnames (Spanish y, Catalan i,
Portuguese e): dropped when family names are compared (de la Fuente ~ Fuente)."""
JOINED_PARTICLES = frozenset({"san", "sant", "santa", "santo", "sao"})
"""Particles that belong to the family name (San Martín is not Martín): joined to the next
token instead of dropped (Sant Anna ~ Sant'Anna ~ Santanna)."""
_STRIPPABLE = tuple(sorted(
    {"de", "del", "dela", "della", "dello", "delle", "dei", "degli", "dell", "di", "d", "da",
     "das", "dos", "van", "vande", "vanden", "vander", "von", "vonder"},
    key=len, reverse=True))
"""Particles found written joined to a family name (DeLuca, Dangelo, Dasilva, Vandenberg).
Not lo, la, le, do, du, san: López, Lozano, Domínguez, Dupont and Sánchez are family names
of their own, not a particle and a shorter name."""
def _min_stripped(particle: str) -> int:
    """Letters a joined family name must keep once its particle is stripped: 5 after d'
    (Dangelo → Angelo), 4 after de, di, da (DeLuca → Luca, not Dimas → Mas), 3 after longer
    particles (Delrío → Río, not Delsa → Sa)."""
    return {1: 5, 2: 4}.get(len(particle), 3)
MIN_DROPPED = 3
"""Letters the rest of a family name must keep when a separate particle is dropped (Del Río →
Río, but not De Sá → Sá)."""

_ABBREVIATIONS = {"ma": ("maria",), "m": ("maria",), "jm": ("jose", "maria")}
"""Abbreviations of a first given name followed by a second (Mª José, M. Teresa); Mª alone
is María too."""


@dataclass(frozen=True)
class NamePack:
    """The merged conventions of the configured locales (see the module docstring)."""

    related: dict[str, frozenset[str]]
    """A one-word given name → the names it may stand for (itself included)."""
    compounds: dict[str, tuple[str, ...]]
    """A familiar or joined form → the compound given name it stands for."""
    given: frozenset[str]
    """Given names: the frequent ones and every name and form of the packs."""
    paternal_last: bool
    shortened_to_second: frozenset[str] = frozenset()
    """First parts of compound given names that clerks drop, keeping the second."""
    compound_parts: frozenset[str] = frozenset()
    """First parts of the packs' compound given names (maria, jose, juan, gian, jean …)."""
    locales: tuple[str, ...] = ()

    def is_given(self, token: str) -> bool:
        """A given name, or the abbreviation of one (Mª)."""
        return token in self.given or token in _ABBREVIATIONS

    def expand(self, given: tuple[str, ...]) -> tuple[str, ...]:
        """Given-name tokens with joined or familiar compound forms opened up (Maite →
        maria teresa, Mariajose → maria jose, Juancarlos → juan carlos) and Mª read as
        María."""
        out: list[str] = []
        for index, token in enumerate(given):
            if token in _ABBREVIATIONS and (index + 1 < len(given) or token == "ma"):
                out.extend(_ABBREVIATIONS[token])
            elif token in self.compounds:
                out.extend(self.compounds[token])
            else:
                out.extend(self.split_joined(token))
        return tuple(out)

    def split_joined(self, token: str) -> tuple[str, ...]:
        """A compound given name written as one word (``mariajose``, ``juancarlos``,
        ``jeanpierre``): a compound's first part and a given name of 3+ letters; else the
        token alone."""
        for cut in range(3, len(token) - 2):
            head, tail = token[:cut], token[cut:]
            if head in self.compound_parts and tail in self.given:
                return head, tail
        return (token,)


def _tokens(text: str) -> tuple[str, ...]:
    return name_tokens(text)


@lru_cache(maxsize=100_000)
def surname_keys(token: str) -> frozenset[str]:
    """A family-name token and what remains of it without a leading particle written joined
    (``deluca`` → ``luca``; ``dangelo`` → ``angelo``; ``delrio`` → ``rio``), when enough
    letters remain (:func:`_min_stripped`)."""
    return frozenset({token} | {token[len(p):] for p in _STRIPPABLE if token.startswith(p)
                                and len(token) - len(p) >= _min_stripped(p)})


@lru_cache(maxsize=100_000)
def family_tokens(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Family-name tokens as compared: particles dropped (when :data:`MIN_DROPPED` letters
    remain), San/Sant/Santa joined to the next token (``("de", "la", "fuente")`` →
    ``("fuente",)``; ``("sant", "anna")`` → ``("santanna",)``; ``("de", "sa")`` →
    ``("desa",)``)."""
    out: list[str] = []
    pending: list[str] = []
    for token in tokens:
        if token in JOINED_PARTICLES:
            pending.append(token)
        elif token in PARTICLES:
            pending.append(token)
        else:
            kept = [p for p in pending if p in JOINED_PARTICLES]
            if len(token) < MIN_DROPPED and pending:
                kept = pending
            out.append("".join(kept) + token)
            pending = []
    if pending and not out:
        return ("".join(pending),) if "".join(pending) else ()
    return tuple(out)


@cache
def _data(code: str) -> dict[str, Any]:
    path = resources.files(__name__).joinpath("data", f"{code}.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"name locale {code}: cannot read {path}: {exc}") from exc
    for key, kind in (("hypocorisms", dict), ("compounds", dict), ("given", list),
                      ("shortened_to_second", list), ("paternal_last", bool)):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"name locale {code}: {key} must be a {kind.__name__}")
    for table in ("hypocorisms", "compounds"):
        for name, forms in data[table].items():
            if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
                raise ValueError(f"name locale {code}: {table}.{name} must be a list of names")
    return data


@lru_cache(maxsize=32)
def _load(chosen: tuple[str, ...]) -> NamePack | None:
    if not chosen:
        return None
    packs = [_data(code) for code in chosen]
    groups: dict[str, set[str]] = {}
    compounds: dict[str, tuple[str, ...]] = {}
    given: set[str] = set()
    parts: set[str] = set()
    for pack in packs:
        frequent = {t for name in pack["given"] for t in _tokens(name)}
        for name, forms in pack["hypocorisms"].items():
            full = _tokens(name)
            # a familiar form that is also a frequent name of its own in that locale (Laia,
            # Franco, Sara) is not evidence: a mother Eulàlia and her daughter Laia are two
            # people
            names = {"".join(full)} | {"".join(_tokens(f)) for f in forms
                                       if "".join(_tokens(f)) not in frequent}
            if len(full) > 1:
                for form in names:
                    compounds.setdefault(form, full)
            else:
                for one in names:
                    groups.setdefault(one, set()).update(names)
            given.update(names)
        for name, forms in pack["compounds"].items():
            full = tuple(t for t in _tokens(name) if t not in PARTICLES)
            parts.add(full[0])
            for form in {"".join(full), *("".join(_tokens(f)) for f in forms)}:
                compounds.setdefault(form, full)
            given.update(full)
        given.update(t for name in pack["given"] for t in _tokens(name))
    related = {name: frozenset(names) for name, names in groups.items()}
    return NamePack(
        related, compounds, frozenset(given),
        paternal_last=any(pack["paternal_last"] for pack in packs),
        # of every pack: a Gian Marco living in Spain is still called Marco
        shortened_to_second=frozenset(t for code in LOCALES[1:]
                                      for name in _data(code)["shortened_to_second"]
                                      for t in _tokens(name)),
        compound_parts=frozenset(parts), locales=chosen)


def load(locales: Iterable[str]) -> NamePack | None:
    """The pack of ``locales`` (None when only English: the default rules apply unchanged).
    Raises ValueError naming an unknown locale."""
    codes = [code.lower() for code in locales]
    unknown = [code for code in codes if code not in LOCALES]
    if unknown:
        raise ValueError(f"unknown name locale(s) {', '.join(unknown)} "
                         f"(known: {', '.join(LOCALES)})")
    return _load(tuple(dict.fromkeys(code for code in codes if code != "en")))


def group_counts(code: str) -> dict[str, int]:
    """Sizes of one locale's data (hypocorism groups that keep a familiar form, compounds,
    given names): the README's table and the tests' floor."""
    data = _data(code)
    pack = _load((code,))
    assert pack is not None
    kept = sum(1 for name in data["hypocorisms"]
               if len(pack.related.get("".join(_tokens(name)), frozenset())) > 1
               or any(pack.compounds.get(form) == _tokens(name) for form in pack.compounds
                      if form != "".join(_tokens(name))))
    return {"hypocorisms": kept, "compounds": len(data["compounds"]),
            "given": len(data["given"])}
