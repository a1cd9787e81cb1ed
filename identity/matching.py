"""Deterministic match rules: which records are the same person, and by which rule.

Rules, in precedence order (each documented in the README's identity section):

1. ``manual`` — an operator's ``link(a, b)``; an operator's ``split(r)`` takes ``r`` out of
   every automatic link (the latest override about a record wins).
2. ``reference`` — an explicit cross-reference: a loyalty card number in a Shopify tag or a
   Square ``reference_id``, a Zendesk ``external_id`` naming the Shopify customer, …
3. ``email`` — the same normalized mailbox, unless the two names clearly conflict (a family
   sharing one address stays two people).
4. ``phone+name`` — the same E.164 phone **and** agreeing names: households share phones, so a
   shared phone alone never merges two people.

Blocked identifiers never link: junk values (configured) and any email or phone carried by
more than ``max_people_per_identifier`` distinct people (people counted by name groups).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from nicknames import NickNamer
from rapidfuzz.distance import OSA

from identity.names import LOCALES as NAME_LOCALES
from identity.names import PARTICLES, NamePack, family_tokens, load, surname_keys
from identity.normalize import name_tokens

RULE_ORDER = ("manual", "reference", "email", "phone+name", "self")

RecordKey = tuple[str, str]
"""(source, record id)."""


@dataclass(frozen=True, slots=True)
class RecordIdentity:
    """What the registry knows of one silo record: identifiers and a name match key only."""

    source: str
    id: str
    kind: str
    emails: frozenset[str]
    phones: frozenset[str]
    first: tuple[str, ...]
    last: tuple[str, ...]
    references: frozenset[RecordKey] = frozenset()

    @property
    def key(self) -> RecordKey:
        return (self.source, self.id)


@dataclass(frozen=True)
class MatchRules:
    use_references: bool = True
    use_email: bool = True
    use_phone_with_name: bool = True
    email_requires_compatible_names: bool = True
    max_people_per_identifier: int = 5
    junk_emails: frozenset[str] = frozenset(
        {"test@test.com", "none@none.com", "noemail@example.com", "no@email.com",
         "na@na.com", "email@email.com", "example@example.com", "customer@example.com"})
    junk_phones: frozenset[str] = frozenset()
    extra_nicknames: tuple[tuple[str, ...], ...] = ()
    name_locales: tuple[str, ...] = ("en",)
    """Name conventions beyond English (:mod:`identity.names`): es, ca, it, pt, fr; the
    English ``nicknames`` dataset applies with or without them."""


Reading = tuple[tuple[str, ...], tuple[str, ...], str]
"""One reading of a record's name: (given-name tokens, family-name tokens, how it was read:
one of :data:`READINGS`)."""
AS_WRITTEN, SWAPPED, SURNAME_IN_GIVEN, ONE_FIELD, ONE_FIELD_FAMILY_FIRST = (
    "as written", "given and family names swapped", "a surname in the given-name field",
    "the whole name in one field", "the whole name in one field, family name first")
READINGS = (AS_WRITTEN, SWAPPED, SURNAME_IN_GIVEN, ONE_FIELD, ONE_FIELD_FAMILY_FIRST)


@dataclass(frozen=True, slots=True)
class Override:
    """An operator's decision: ``link`` two records, or ``split`` one out of its person."""

    action: str
    record: RecordKey
    other: RecordKey | None = None


@dataclass
class Clustering:
    clusters: list[list[RecordKey]]
    matched_by: dict[RecordKey, str]
    blocked: dict[str, set[str]] = field(default_factory=dict)


def typo_kind(a: str, b: str) -> str | None:
    """The single edit between two different words: ``transposition`` (``mray``),
    ``indel`` (``mry``, ``marry``) or ``substitution`` (``mark``); None if more than one."""
    if a == b:
        return None
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return "substitution"
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] \
                and a[diffs[1]] == b[diffs[0]]:
            return "transposition"
        return None
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) - len(short) != 1:
        return None
    for i in range(len(long)):
        if long[:i] + long[i + 1:] == short:
            return "indel"
    return None


def _show(tokens: tuple[str, ...]) -> str:
    return " ".join(tokens) or "-"


class NameMatcher:
    """Do two names denote the same person? Two strengths:

    * ``agree`` (used with a shared phone, which households share): first names equal,
      nickname-related (the ``nicknames`` dataset plus configured groups) or one slip apart
      (a transposition, or a dropped/doubled letter in a name of 5+ letters — never a
      substituted letter, which turns Mary into Mark); last names equal or one edit apart;
      given and family name may be swapped; a name split differently (``Mary Van der|Berg``)
      still agrees when its letters are the same.
    * ``conflict`` (used with a shared email, which a family rarely shares): both records are
      named and the first names are not even loosely related (no shared 3-letter start, more
      than two edits apart, no nickname relation) — Maria and Carlos conflict, Katie and
      Katherine do not.

    With name locales (:mod:`identity.names`: es, ca, it, pt, fr) a name is read the ways
    those countries' systems write it (:meth:`readings`): two surnames of which one system
    keeps one, particles, compound given names shortened or joined, familiar forms, a whole
    name in one field. Two names also **conflict** when they positively denote two members of
    one family (:meth:`household_distinct`: sisters María José and María Teresa, a father and
    son with another second surname), and :meth:`distinct` tells a cluster merge apart from
    a bridge through an ambiguous short form (Toni between Antonio and Antonia).

    :meth:`why` explains a pair in one line, for stewards.
    """

    def __init__(self, extra: Sequence[Sequence[str]] = (),
                 locales: Sequence[str] = ("en",)) -> None:
        namer = NickNamer()
        self._namer = namer
        self._extra: dict[str, set[str]] = defaultdict(set)
        for group in extra:
            names = {n.lower() for n in group}
            for name in names:
                self._extra[name] |= names
        self.pack: NamePack | None = load(locales)
        self._loose: NamePack | None = None if self.pack is None else load(NAME_LOCALES)
        """Every pack, for ``conflict`` only: a familiar form of another country (Tonino for
        Antonio in a Spanish shop) is no clear difference, though no agreement either."""
        self._related = lru_cache(maxsize=20_000)(self._related_uncached)
        self._first_agree = lru_cache(maxsize=200_000)(self._first_names_agree_uncached)
        self._forms = lru_cache(maxsize=200_000)(self._forms_uncached)
        self._primary = lru_cache(maxsize=200_000)(self._primary_uncached)
        self._pair_distinct = lru_cache(maxsize=200_000)(self._distinct_uncached)

    def _related_uncached(self, name: str) -> frozenset[str]:
        related = {name} | self._namer.nicknames_of(name) | self._namer.canonicals_of(name)
        if self.pack is not None:
            related |= self.pack.related.get(name, frozenset())
        return frozenset(related | self._extra.get(name, set()))

    def nicknames(self, a: str, b: str) -> bool:
        return b in self._related(a) or a in self._related(b)

    @staticmethod
    def close(a: str, b: str) -> bool:
        """Last names: equal, or one edit apart when the longer has 4+ letters."""
        return a == b or (max(len(a), len(b)) >= 4 and typo_kind(a, b) is not None)

    def first_names_agree(self, a: str, b: str) -> bool:
        return self._first_agree(a, b)

    def _first_names_agree_uncached(self, a: str, b: str) -> bool:
        if a == b or self.nicknames(a, b):
            return True
        kind = typo_kind(a, b)
        return kind == "transposition" or (kind == "indel" and min(len(a), len(b)) >= 4
                                           and max(len(a), len(b)) >= 5)

    def first_names_related(self, a: str, b: str) -> bool:
        if self.first_names_agree(a, b) or a[:3] == b[:3]:
            return True
        limit = 2 if min(len(a), len(b)) >= 4 else 1
        if OSA.distance(a, b, score_cutoff=limit) <= limit:
            return True
        if (self._related(a) & self._related(b)) - {a, b}:
            return True
        if self._loose is not None:
            loose_a = self._loose.related.get(a, frozenset({a}))
            loose_b = self._loose.related.get(b, frozenset({b}))
            return b in loose_a or a in loose_b or bool((loose_a & loose_b) - {a, b})
        return False

    def agree(self, a: RecordIdentity, b: RecordIdentity) -> bool:
        if not a.first or not b.first:
            return False
        if "".join(a.first + a.last) == "".join(b.first + b.last):
            return True
        if self.pack is not None:
            return self._locale_agree(a, b) is not None
        last_a, last_b = "".join(a.last), "".join(b.last)
        if self.first_names_agree(a.first[0], b.first[0]) and (
                not last_a or not last_b or self.close(last_a, last_b)):
            return True
        return bool(last_a and last_b) and self.first_names_agree(a.first[0], last_b) \
            and self.close(last_a, b.first[0])

    def conflict(self, a: RecordIdentity, b: RecordIdentity) -> bool:
        if not a.first or not b.first or self.agree(a, b):
            return False
        if self.pack is not None:
            if self.household_distinct(a, b) is not None:
                return True
            if self._locale_related(a, b):
                return False
        if self.first_names_related(a.first[0], b.first[0]):
            return False
        # given and family name swapped, or one side holding a single name of either kind
        tokens_a = [t for t in (a.first[0], "".join(a.last)) if t]
        tokens_b = [t for t in (b.first[0], "".join(b.last)) if t]
        matches = sum(1 for x in tokens_a if any(self.first_names_related(x, y)
                                                 for y in tokens_b))
        return matches < min(len(tokens_a), len(tokens_b))

    # -- locale packs: two surnames, particles, compound and familiar given names ----------
    def readings(self, record: RecordIdentity) -> tuple[Reading, ...]:
        """The readings of a record's name under the configured locales (the first is the
        name as written); empty without locale packs."""
        if self.pack is None:
            return ()
        return self._forms(record.first, record.last)

    def _forms_uncached(self, first: tuple[str, ...], last: tuple[str, ...]
                        ) -> tuple[Reading, ...]:
        """The readings of a name as systems write it: as given; given and family names
        swapped; a whole name in one field (given name first or family name first); a first
        surname written in the given-name field. Particles are dropped from family names and
        familiar or joined compound given names opened up."""
        assert self.pack is not None
        pack = self.pack

        def given(tokens: tuple[str, ...]) -> tuple[str, ...]:
            return pack.expand(tuple(t for t in tokens if t not in PARTICLES))

        readings: list[Reading] = []
        if last or all(pack.is_given(t) or t in pack.compounds for t in given(first)[1:]):
            # a given-name field holding a whole name (Carlos Ramos Gil) is no compound given
            # name: read only as the whole name in one field
            readings.append((given(first), family_tokens(last), AS_WRITTEN))
        if last:
            readings.append((given(last), family_tokens(first), SWAPPED))
            if len(first) >= 2 and not pack.is_given(first[-1]):
                readings.append((given(first[:-1]), family_tokens(first[-1:] + last),
                                 SURNAME_IN_GIVEN))
        elif len(first) >= 2:
            for cut in range(1, len(first)):
                if pack.is_given(first[0]) or first[0] in pack.compounds:
                    readings.append((given(first[:cut]), family_tokens(first[cut:]),
                                     ONE_FIELD))
                if pack.is_given(first[cut]) or first[cut] in pack.compounds:
                    readings.append((given(first[cut:]), family_tokens(first[:cut]),
                                     ONE_FIELD_FAMILY_FIRST))
        if not readings:
            readings.append((given(first), family_tokens(last), AS_WRITTEN))
        seen: dict[tuple[tuple[str, ...], tuple[str, ...]], Reading] = {}
        for reading in readings:
            if reading[0]:
                seen.setdefault((reading[0], reading[1]), reading)
        return tuple(seen.values())

    def _primary_uncached(self, first: tuple[str, ...], last: tuple[str, ...]) -> Reading:
        """The name as written: given tokens (particles dropped, compounds opened up) and
        family tokens."""
        assert self.pack is not None
        return (self.pack.expand(tuple(t for t in first if t not in PARTICLES)),
                family_tokens(last), AS_WRITTEN)

    def _given_agree(self, a: tuple[str, ...], b: tuple[str, ...]) -> bool:
        return self._given_relation(a, b) is not None

    def _given_relation(self, a: tuple[str, ...], b: tuple[str, ...]) -> str | None:
        """How two given names (tokens, compounds opened up) agree, or None: one compound
        shortened to its first part (María José ~ María) or, for the packs' first parts
        (Francisco Javier ~ Javier), its second; never two compounds differing in a part
        (María José, María Teresa)."""
        assert self.pack is not None
        if self.first_names_agree(a[0], b[0]):
            first = self._token_relation(a[0], b[0])
            if len(a) == 1 and len(b) == 1:
                return first
            if len(a) == 1 or len(b) == 1:
                return f"{first}, compound given name shortened to its first part"
            if self.first_names_agree(a[1], b[1]):
                return f"{first}; {self._token_relation(a[1], b[1])}"
            return None
        second = self.pack.shortened_to_second
        if len(a) == 1 and len(b) >= 2 and b[0] in second and self.first_names_agree(a[0], b[1]):
            return "compound given name shortened to its second part"
        if len(b) == 1 and len(a) >= 2 and a[0] in second and self.first_names_agree(b[0], a[1]):
            return "compound given name shortened to its second part"
        if "".join(a) == "".join(b):
            return "same given name, written joined or split"
        return None

    def _token_relation(self, a: str, b: str) -> str:
        if a == b:
            return f"same given name ({a})"
        if self.nicknames(a, b):
            return f"familiar form ({a} ~ {b})"
        return f"given names one slip apart ({a} ~ {b})"

    def _surname_agree(self, x: str, y: str, strict: bool) -> bool:
        """One family name: equal, a joined particle apart (DeLuca, Luca), or, unless
        ``strict``, one edit apart — once a joined particle is stripped, a swapped or
        substituted letter only (Dacsota ~ Costa; an added letter would make Domínguez
        Mínguez and Duarte Huarte)."""
        keys_x, keys_y = surname_keys(x), surname_keys(y)
        if keys_x & keys_y:
            return True
        if strict:
            return False
        if self.close(x, y):
            return True
        return any(typo_kind(kx, ky) in ("transposition", "substitution") and len(kx) >= 4
                   for kx in keys_x for ky in keys_y if (kx, ky) != (x, y))

    def _surnames_agree(self, a: tuple[str, ...], b: tuple[str, ...],
                        strict: bool = False) -> bool:
        return self._surnames_relation(a, b, strict) is not None

    def _surnames_relation(self, a: tuple[str, ...], b: tuple[str, ...],
                           strict: bool = False) -> str | None:
        """Equal family names, or one system keeping only one of two (the first; the last
        too with the Portuguese pack), or two written as one word; one letter apart unless
        ``strict`` (a reading with given and family names swapped)."""
        if not a or not b:
            return "a record has no family name"
        if a == b:
            return "same family name" + ("s" if len(a) > 1 else "")
        if "".join(a) == "".join(b):
            return "family names written as one word"
        if len(a) >= 2 and len(b) >= 2:
            if self._surname_agree(a[0], b[0], strict) and \
                    self._surname_agree(a[1], b[1], strict):
                return "both surnames match (a particle or a letter apart)"
            return None
        one, many = (a, b) if len(a) == 1 else (b, a)
        if len(many) == 1:
            if self._surname_agree(one[0], many[0], True):
                return "same family name, a particle written joined or dropped"
            if self._surname_agree(one[0], many[0], strict):
                return "family names one letter apart"
            return None
        assert self.pack is not None
        if self._surname_agree(one[0], many[0], strict):
            return "first surname matches (the other record keeps only the first)"
        if self.pack.paternal_last and self._surname_agree(one[0], many[-1], strict):
            return "last surname matches (Portuguese order: the other keeps only the last)"
        if self._surname_agree(one[0], "".join(many), True):
            return "two surnames written as one word"
        return None

    def _locale_agree(self, a: RecordIdentity, b: RecordIdentity
                      ) -> tuple[Reading, Reading, str, str] | None:
        """The two readings under which the names agree, if any, and how the given and the
        family names agree."""
        for fa in self._forms(a.first, a.last):
            for fb in self._forms(b.first, b.last):
                swapped_a, swapped_b = fa[2] == SWAPPED, fb[2] == SWAPPED
                if swapped_a and swapped_b:
                    continue
                given = self._given_relation(fa[0], fb[0])
                if given is None:
                    continue
                family = self._surnames_relation(fa[1], fb[1], strict=swapped_a or swapped_b)
                if family is not None:
                    return fa, fb, given, family
        return None

    def _locale_related(self, a: RecordIdentity, b: RecordIdentity) -> bool:
        """Given names that may be the same person's (a family sharing an email seldom has
        two members whose given names are familiar forms of each other); two swapped
        readings compare family names, not given names."""
        return any(self._given_agree(fa[0], fb[0]) for fa in self._forms(a.first, a.last)
                   for fb in self._forms(b.first, b.last)
                   if not (fa[2] == SWAPPED and fb[2] == SWAPPED))

    def household_distinct(self, a: RecordIdentity, b: RecordIdentity) -> str | None:
        """Why two names, as written, are two members of one family, or None: two compound
        given names sharing the first part and not the second (sisters María José and María
        Teresa), or two records each with two surnames that differ in one (father and son
        Juan Núñez Ibáñez and Juan Núñez García). Only with locale packs."""
        if self.pack is None or not a.first or not b.first:
            return None
        ga, fa, _ = self._primary(a.first, a.last)
        gb, fb, _ = self._primary(b.first, b.last)
        given = self.pack.given
        # a second given name that the other record holds anywhere, or after a particle, may
        # be a surname written in the given-name field (José Martín | Ramírez, José Manuel |
        # Martín Ramírez; María de Miguel | Pastor)
        particle = any(t in PARTICLES for t in a.first[1:] + b.first[1:])
        if not particle and len(ga) >= 2 and len(gb) >= 2 and self.first_names_agree(ga[0], gb[0]) \
                and ga[1] in given and gb[1] in given and not self.first_names_agree(ga[1], gb[1]) \
                and ga[1] not in b.first + b.last and gb[1] not in a.first + a.last:
            return f"compound given names differ in the second name ({_show(ga)} vs {_show(gb)})"
        if len(fa) >= 2 and len(fb) >= 2 and not self._surnames_agree(fa, fb):
            return f"two surnames each, and they differ ({_show(fa)} vs {_show(fb)})"
        return None

    def distinct(self, a: RecordIdentity, b: RecordIdentity) -> bool:
        """Two records that must not end up in one person through a third (a shared phone
        links Toni to Antonio and to Antonia; Antonio and Antonia stay apart): the names are
        two members of a family (:meth:`household_distinct`), or both given names are known
        names (of the packs) unrelated under every reading. Always False without packs."""
        if self.pack is None or not a.first or not b.first:
            return False
        return self._pair_distinct(a.first, a.last, b.first, b.last)

    def _distinct_uncached(self, first_a: tuple[str, ...], last_a: tuple[str, ...],
                           first_b: tuple[str, ...], last_b: tuple[str, ...]) -> bool:
        assert self.pack is not None
        a = RecordIdentity("", "", "", frozenset(), frozenset(), first_a, last_a)
        b = RecordIdentity("", "", "", frozenset(), frozenset(), first_b, last_b)
        if self.agree(a, b):
            return False
        if self.household_distinct(a, b) is not None:
            return True
        ga, gb = self._primary(first_a, last_a)[0], self._primary(first_b, last_b)[0]
        known = self.pack.given
        return ga[0] in known and gb[0] in known and not self.first_names_agree(ga[0], gb[0]) \
            and not self._locale_related(a, b)

    def bridges(self, z: RecordIdentity, a: RecordIdentity, b: RecordIdentity) -> bool:
        """A compound given name holding both ``a``'s and ``b``'s given names as its parts
        (Francisco Javier between Francisco and Javier): evidence that they are one person."""
        if self.pack is None or not z.first or not a.first or not b.first:
            return False
        parts = self._primary(z.first, z.last)[0]
        if len(parts) < 2:
            return False
        ga, gb = self._primary(a.first, a.last)[0], self._primary(b.first, b.last)[0]
        at_a = {i for i, p in enumerate(parts) if self.first_names_agree(ga[0], p)}
        at_b = {i for i, p in enumerate(parts) if self.first_names_agree(gb[0], p)}
        return any(i != j for i in at_a for j in at_b)

    def why(self, a: RecordIdentity, b: RecordIdentity) -> str:
        """A steward's one-line reason why two names agree or not (and whether they conflict,
        which keeps a shared email from linking them); it shows the name tokens."""
        shown = f"{_show(a.first + a.last)!r} and {_show(b.first + b.last)!r}"
        if not a.first or not b.first:
            return f"{shown} do not agree: a record has no given name"
        if self.agree(a, b):
            return f"{shown} agree: {self._agreement(a, b)}"
        reason = self._refusal(a, b)
        if self.conflict(a, b):
            return f"{shown} do not agree, and conflict (a shared email does not link them): " \
                   f"{reason}"
        return f"{shown} do not agree: {reason}"

    def _agreement(self, a: RecordIdentity, b: RecordIdentity) -> str:
        if self.pack is not None:
            found = self._locale_agree(a, b)
            if found is None:
                return "same letters, split into given and family names differently"
            fa, fb, given, family = found
            how = next((r[2] for r in (fa, fb) if r[2] != AS_WRITTEN), None)
            return f"{given}; {family}" + (f" (read as {how})" if how else "")
        if "".join(a.first + a.last) == "".join(b.first + b.last):
            return "same letters, split into given and family names differently"
        last_a, last_b = "".join(a.last), "".join(b.last)
        if self.first_names_agree(a.first[0], b.first[0]):
            given = self._token_relation(a.first[0], b.first[0])
            if not last_a or not last_b:
                return f"{given}; a record has no family name"
            return f"{given}; " + ("same family name" if last_a == last_b
                                   else f"family names one letter apart ({last_a} ~ {last_b})")
        return "given and family names swapped"

    def _refusal(self, a: RecordIdentity, b: RecordIdentity) -> str:
        distinct = self.household_distinct(a, b)
        if distinct is not None:
            return distinct
        if self.pack is not None:
            if not self._locale_related(a, b):
                return f"given names differ ({_show(self._primary(a.first, a.last)[0])} vs " \
                       f"{_show(self._primary(b.first, b.last)[0])})"
            fa, fb = self._primary(a.first, a.last), self._primary(b.first, b.last)
            return f"family names differ ({_show(fa[1])} vs {_show(fb[1])})"
        if not self.first_names_agree(a.first[0], b.first[0]):
            kind = typo_kind(a.first[0], b.first[0])
            extra = ", one substituted letter makes another name" if kind == "substitution" \
                else ""
            return f"given names differ ({a.first[0]} vs {b.first[0]}{extra})"
        return f"family names differ ({_show(a.last)} vs {_show(b.last)})"


def split_full_name(name: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A single ``name`` field (Zendesk) as (first tokens, last token)."""
    tokens = name_tokens(name)
    if len(tokens) <= 1:
        return tokens, ()
    return tokens[:-1], tokens[-1:]


class _UnionFind:
    def __init__(self, keys: Iterable[RecordKey]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, key: RecordKey) -> RecordKey:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: RecordKey, b: RecordKey) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True


class Matcher:
    """Clusters records into people by the rules; pure and deterministic."""

    def __init__(self, rules: MatchRules | None = None) -> None:
        self.rules = rules or MatchRules()
        self.names = NameMatcher(self.rules.extra_nicknames, self.rules.name_locales)

    def people_count(self, records: Sequence[RecordIdentity]) -> int:
        """Distinct people among records sharing an identifier, by greedy name groups."""
        groups: list[RecordIdentity] = []
        for record in records:
            if not record.first:
                continue
            if not any(self.names.agree(record, g) for g in groups):
                groups.append(record)
        return max(len(groups), 1)

    def cluster(
        self, records: Sequence[RecordIdentity], overrides: Sequence[Override] = ()
    ) -> Clustering:
        rules = self.rules
        by_key = {r.key: r for r in records}
        uf = _UnionFind(sorted(by_key))
        matched: dict[RecordKey, str] = {}
        split: set[RecordKey] = set()
        manual: list[tuple[RecordKey, RecordKey]] = []
        for override in overrides:
            if override.action == "split":
                split.add(override.record)
                manual = [(a, b) for a, b in manual if override.record not in (a, b)]
            elif override.action == "link" and override.other is not None:
                split.discard(override.record)
                split.discard(override.other)
                manual.append((override.record, override.other))

        named: dict[RecordKey, list[RecordIdentity]] = {
            r.key: [r] for r in records if r.first}

        def compatible(a: RecordKey, b: RecordKey, rule: str) -> bool:
            """Joining two groups must not put conflicting names in one person: for a phone,
            one side's names all agree with a name on the other side; for an email, no two
            names conflict."""
            left, right = named.get(uf.find(a), []), named.get(uf.find(b), [])
            if rule == "email":
                if not rules.email_requires_compatible_names:
                    return True
                return not any(self.names.conflict(x, y) for x in left for y in right)

            def covered(xs: list[RecordIdentity], ys: list[RecordIdentity]) -> bool:
                return all(any(self.names.agree(x, y) for y in ys) for x in xs)

            if not (covered(left, right) or covered(right, left)):
                return False
            if self.names.pack is None:
                return True
            # with name locales: no bridge through an ambiguous short form (Toni between
            # Antonio and Antonia, María between María José and María Teresa)
            members = left + right
            return not any(self.names.distinct(x, y) and not any(
                self.names.bridges(z, x, y) for z in members) for x in left for y in right)

        def link(a: RecordKey, b: RecordKey, rule: str) -> None:
            if a == b or a not in by_key or b not in by_key:
                return
            if rule != "manual" and (a in split or b in split):
                return
            if rule in ("email", "phone+name") and not compatible(a, b, rule):
                return
            ra, rb = uf.find(a), uf.find(b)
            if uf.union(a, b):
                distinct = {(r.first, r.last): r for r in named.pop(rb, [])}
                distinct.update({(r.first, r.last): r for r in named.pop(ra, [])})
                named[uf.find(a)] = list(distinct.values())
            for k in (a, b):
                if k not in matched or RULE_ORDER.index(rule) < RULE_ORDER.index(matched[k]):
                    matched[k] = rule

        for a, b in manual:
            link(a, b, "manual")
        if rules.use_references:
            for record in records:
                for ref in sorted(record.references):
                    link(record.key, ref, "reference")
        blocked: dict[str, set[str]] = {"email": set(), "phone": set()}
        if rules.use_email:
            for email, group in self._groups(records, "emails"):
                if email in rules.junk_emails or self._crowded(group):
                    blocked["email"].add(email)
                    continue
                for i, one in enumerate(group):
                    for other in group[i + 1:]:
                        link(one.key, other.key, "email")
        if rules.use_phone_with_name:
            for phone, group in self._groups(records, "phones"):
                if phone in rules.junk_phones or self._crowded(group):
                    blocked["phone"].add(phone)
                    continue
                for i, one in enumerate(group):
                    for other in group[i + 1:]:
                        if self.names.agree(one, other):
                            link(one.key, other.key, "phone+name")
        members: dict[RecordKey, list[RecordKey]] = defaultdict(list)
        for key in sorted(by_key):
            members[uf.find(key)].append(key)
        clusters = sorted(members.values())
        for key in by_key:
            matched.setdefault(key, "self")
        return Clustering(clusters, matched, blocked)

    def _crowded(self, group: Sequence[RecordIdentity]) -> bool:
        limit = self.rules.max_people_per_identifier
        return len(group) > limit and self.people_count(group) > limit

    @staticmethod
    def _groups(
        records: Sequence[RecordIdentity], attr: str
    ) -> list[tuple[str, list[RecordIdentity]]]:
        groups: dict[str, list[RecordIdentity]] = defaultdict(list)
        for record in records:
            for value in getattr(record, attr):
                groups[value].append(record)
        return sorted((v, g) for v, g in groups.items() if len(g) > 1)
