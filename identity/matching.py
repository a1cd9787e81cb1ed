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

from identity.locales import PARTICLES as _PARTICLES
from identity.locales import NamePack, load, surname_keys
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
    """Name conventions beyond English (:mod:`identity.locales`): es, ca, it, pt, fr."""


NameForm = tuple[tuple[str, ...], tuple[str, ...]]
"""One reading of a record's name: (given-name tokens, family-name tokens)."""
_SWAPPED = "\x00swapped"
"""Ends the family tokens of a reading with given and family names swapped (two swapped
readings are never compared: that is the unswapped comparison with looser family names)."""
_COMPOUND_SHORTENED_TO_SECOND = frozenset({"francisco", "gian", "pier", "jean"})
"""First parts of compound given names that clerks drop, keeping the second (Francisco
Javier → Javier, Gian Luca → Luca)."""


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
        self._related = lru_cache(maxsize=20_000)(self._related_uncached)
        self._forms = lru_cache(maxsize=200_000)(self._forms_uncached)

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
        return bool((self._related(a) & self._related(b)) - {a, b})

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
        if self.pack is not None and self._locale_related(a, b):
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
    def _forms_uncached(self, first: tuple[str, ...], last: tuple[str, ...]
                        ) -> tuple[NameForm, ...]:
        """The readings of a name as systems write it: as given; given and family names
        swapped; a whole name in one field (given name first or family name first); a first
        surname written in the given-name field. Particles are dropped from family names and
        familiar or joined compound given names opened up."""
        assert self.pack is not None
        pack = self.pack

        def family(tokens: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(t for t in tokens if t not in _PARTICLES)

        def given(tokens: tuple[str, ...]) -> tuple[str, ...]:
            return pack.expand(tuple(t for t in tokens if t not in _PARTICLES))

        readings: list[NameForm] = [(given(first), family(last))]
        if last:
            readings.append((given(last), family(first) + (_SWAPPED,)))
            if len(first) >= 2 and not pack.is_given(first[-1]):
                readings.append((given(first[:-1]), family(first[-1:] + last)))
        elif len(first) >= 2:
            for cut in range(1, len(first)):
                if pack.is_given(first[0]) or first[0] in pack.compounds:
                    readings.append((given(first[:cut]), family(first[cut:])))
                if pack.is_given(first[cut]) or first[cut] in pack.compounds:
                    readings.append((given(first[cut:]), family(first[:cut])))
        return tuple(dict.fromkeys((g, f) for g, f in readings if g))

    def _given_agree(self, a: tuple[str, ...], b: tuple[str, ...]) -> bool:
        if self.first_names_agree(a[0], b[0]):
            if len(a) == 1 or len(b) == 1:
                return True
            return self.first_names_agree(a[1], b[1])
        if len(a) == 1 and len(b) >= 2 and b[0] in _COMPOUND_SHORTENED_TO_SECOND:
            return self.first_names_agree(a[0], b[1])
        if len(b) == 1 and len(a) >= 2 and a[0] in _COMPOUND_SHORTENED_TO_SECOND:
            return self.first_names_agree(b[0], a[1])
        return "".join(a) == "".join(b)

    def _surname_agree(self, x: str, y: str, strict: bool) -> bool:
        return (not strict and self.close(x, y)) or bool(surname_keys(x) & surname_keys(y))

    def _surnames_agree(self, a: tuple[str, ...], b: tuple[str, ...],
                        strict: bool = False) -> bool:
        """Equal family names, or one system keeping only one of two (the first; the last
        too with the Portuguese pack), or two written as one word; one letter apart unless
        ``strict`` (a reading with given and family names swapped)."""
        if not a or not b:
            return True
        if "".join(a) == "".join(b):
            return True
        if len(a) >= 2 and len(b) >= 2:
            return self._surname_agree(a[0], b[0], strict) and \
                self._surname_agree(a[1], b[1], strict)
        one, many = (a, b) if len(a) == 1 else (b, a)
        if len(many) == 1:
            return self._surname_agree(one[0], many[0], strict)
        assert self.pack is not None
        return self._surname_agree(one[0], many[0], strict) or (
            self.pack.paternal_last and self._surname_agree(one[0], many[-1], strict)) or \
            self._surname_agree(one[0], "".join(many), True)

    def _locale_agree(self, a: RecordIdentity, b: RecordIdentity
                      ) -> tuple[NameForm, NameForm] | None:
        """The two readings under which the names agree, if any."""
        for fa in self._forms(a.first, a.last):
            for fb in self._forms(b.first, b.last):
                swapped_a, swapped_b = fa[1][-1:] == (_SWAPPED,), fb[1][-1:] == (_SWAPPED,)
                if swapped_a and swapped_b:
                    continue
                family_a = fa[1][:-1] if swapped_a else fa[1]
                family_b = fb[1][:-1] if swapped_b else fb[1]
                if self._given_agree(fa[0], fb[0]) and self._surnames_agree(
                        family_a, family_b, strict=swapped_a or swapped_b):
                    return (fa[0], family_a), (fb[0], family_b)
        return None

    def _locale_related(self, a: RecordIdentity, b: RecordIdentity) -> bool:
        """Given names that may be the same person's (a family sharing an email seldom has
        two members whose given names are familiar forms of each other)."""
        return any(self._given_agree(fa[0], fb[0]) for fa in self._forms(a.first, a.last)
                   for fb in self._forms(b.first, b.last))

    def why(self, a: RecordIdentity, b: RecordIdentity) -> str:
        """A steward's short reason why two names agree or not."""
        shown = f"{' '.join(a.first + a.last)!r} and {' '.join(b.first + b.last)!r}"
        if self.agree(a, b):
            if self.pack is not None:
                found = self._locale_agree(a, b)
                if found is not None:
                    (ga, sa), (gb, sb) = found
                    return (f"{shown} agree: given {' '.join(ga)} ~ {' '.join(gb)}, family "
                            f"{' '.join(sa) or '-'} ~ {' '.join(sb) or '-'}")
            return f"{shown} agree"
        if not a.first or not b.first:
            return f"{shown}: a record has no given name"
        if self.conflict(a, b):
            return f"{shown} conflict: the given names are unrelated"
        return f"{shown} do not agree: the given or family names differ"


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

            return covered(left, right) or covered(right, left)

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
