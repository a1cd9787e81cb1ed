"""Stewardship: why records are one person, which near matches the rules refused, and the
operator's decisions about them (``c360 identity explain | review | link | split | eval``).

Everything here reads the registry (identifiers and name match keys only) and re-asks the
match rules (:class:`~identity.matching.Matcher`) about pairs of records; nothing is
re-implemented. Emails and phones are masked in every explanation (``j***@gmail.com``,
``+34 *******78``) and never logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from adapters.errors import GatewayError
from identity.evaluate import PairwiseScore, pairwise_score, truth_from_ground_truth
from identity.matching import RULE_ORDER, Matcher, NameMatcher, RecordIdentity, RecordKey
from identity.normalize import Normalizer
from identity.registry import Registry

EXPLAIN_NEIGHBOURS = 20
"""At most this many refused neighbours in one explanation."""


class StewardError(GatewayError):
    """A steward's input the registry cannot act on (an unknown record, a malformed
    reference, an unreadable truth file); the message says which."""

    code = "BAD_USER_INPUT"


# -- masking ------------------------------------------------------------------------------
def mask_email(email: str) -> str:
    """``jane.doe@gmail.com`` → ``j***@gmail.com``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str) -> str:
    """An E.164 number with its country code and last two digits only: ``+34 *******78``."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    try:
        country = str(phonenumbers.parse(phone, None).country_code)
    except phonenumbers.NumberParseException:
        country = ""
    national = digits[len(country):] if country and digits.startswith(country) else digits
    hidden = "*" * max(len(national) - 2, 0)
    return f"+{country} {hidden}{national[-2:]}" if country else f"{hidden}{national[-2:]}"


def mask(key_type: str, value: str) -> str:
    return mask_email(value) if key_type == "email" else mask_phone(value)


def full_name(record: RecordIdentity) -> str:
    return " ".join(record.first + record.last) or "(no name)"


def ref(key: RecordKey) -> str:
    """A record as the commands take it: ``source:id``."""
    return f"{key[0]}:{key[1]}"


def name_reason(names: NameMatcher, a: RecordIdentity, b: RecordIdentity) -> str:
    """Why two names agree or not: ``NameMatcher.why`` when the matcher has it, else a short
    statement of what ``agree`` / ``conflict`` / ``first_names_related`` say."""
    why: Callable[[RecordIdentity, RecordIdentity], object] | None = getattr(names, "why", None)
    if callable(why):
        return str(why(a, b))
    left, right = f"'{full_name(a)}'", f"'{full_name(b)}'"
    if not a.first or not b.first:
        return f"{left} vs {right}: a record without a first name never agrees"
    if names.agree(a, b):
        return f"{left} and {right} agree"
    if names.conflict(a, b):
        return f"{left} vs {right}: first names unrelated"
    if names.first_names_related(a.first[0], b.first[0]):
        return f"{left} vs {right}: first names related but not the same name"
    return f"{left} vs {right}: names do not agree"


# -- what the commands answer -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LinkedRecordView:
    source: str
    kind: str
    id: str
    rule: str
    evidence: list[str]


@dataclass(frozen=True, slots=True)
class Neighbour:
    source: str
    kind: str
    id: str
    person: str | None
    why_refused: str


@dataclass(frozen=True, slots=True)
class Explanation:
    person: str
    records: list[LinkedRecordView]
    refused: list[Neighbour]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pair the rules kept apart that a human may want to join."""

    score: float
    a: str
    b: str
    person_a: str | None
    person_b: str | None
    evidence: str
    command: str


@dataclass(frozen=True, slots=True)
class EvalResult:
    score: PairwiseScore
    truth_records: int
    linked_records: int
    missing_records: int
    people_true: int
    people_predicted: int


@dataclass
class _Overrides:
    links: dict[RecordKey, list[tuple[RecordKey, str, str]]] = field(default_factory=dict)
    splits: dict[RecordKey, tuple[str, str]] = field(default_factory=dict)


class Steward:
    """The stewardship operations over one registry."""

    def __init__(self, registry: Registry, normalizer: Normalizer,
                 matcher: Matcher | None = None) -> None:
        self.registry = registry
        self.normalizer = normalizer
        self.matcher = matcher or registry.matcher
        self.names = self.matcher.names

    # -- finding records ----------------------------------------------------------------
    async def record(self, text: str) -> RecordKey:
        """The one record ``kind:id`` or ``source:id`` names."""
        name, sep, record_id = text.partition(":")
        if not sep or not name.strip() or not record_id.strip():
            raise StewardError(f"{text!r} is not a record: give kind:id or source:id "
                               "(e.g. shopify:1042)")
        found = await self.registry.find_records(name.strip(), record_id.strip())
        if not found:
            raise StewardError(f"no record {text} in the registry (run `c360 index` first?)")
        if len(found) > 1:
            raise StewardError(f"{text} names {len(found)} records; give source:id: "
                               + ", ".join(ref(k) for k in found))
        return found[0]

    async def people_of(self, *, email: str | None = None, phone: str | None = None,
                        record: str | None = None) -> list[str]:
        """The people an email, a phone (any format) or a record belongs to."""
        if record is not None:
            key = await self.record(record)
            golden = (await self.registry.golden_of([key]))[0]
            if golden is None:
                raise StewardError(f"{record} is not linked yet (run `c360 index`)")
            return [golden]
        if email is not None:
            value = self.normalizer.email(email)
            if value is None:
                raise StewardError("that is not an email address")
            key_type = "email"
        elif phone is not None:
            value = self.normalizer.phone(phone)
            if value is None:
                raise StewardError("that is not a valid phone number (try the +country form)")
            key_type = "phone"
        else:
            raise StewardError("give an email, a phone or a record")
        carriers = (await self.registry.carriers([(key_type, value)]))[(key_type, value)]
        people = [g for g in await self.registry.golden_of(carriers) if g is not None]
        if not people:
            raise StewardError(f"no record carries that {key_type} ({mask(key_type, value)})")
        return sorted(set(people))

    # -- explain --------------------------------------------------------------------------
    async def explain(self, *, email: str | None = None, phone: str | None = None,
                      record: str | None = None) -> list[Explanation]:
        """For each person found: their records with the rule and evidence behind each link,
        and the nearest records the rules refused to join, with why."""
        people = await self.people_of(email=email, phone=phone, record=record)
        overrides = await self._overrides()
        return [await self._explain(golden, overrides) for golden in people]

    async def _explain(self, golden: str, overrides: _Overrides) -> Explanation:
        members = await self.registry.members(golden)
        stored = await self.registry.identities(members)
        own = {k: stored[k][0] for k in members if k in stored}
        views = []
        for key, record in own.items():
            rule = stored[key][2] or "self"
            views.append(LinkedRecordView(record.source, record.kind, record.id, rule,
                                          self._evidence(record, rule, own, overrides)))
        views.sort(key=lambda v: (RULE_ORDER.index(v.rule) if v.rule in RULE_ORDER else 99,
                                  v.source, v.id))
        refused = await self._neighbours(golden, own, overrides)
        return Explanation(golden, views, refused)

    def _evidence(self, record: RecordIdentity, rule: str, own: Mapping[RecordKey,
                  RecordIdentity], overrides: _Overrides) -> list[str]:
        lines: list[str] = []
        split = overrides.splits.get(record.key)
        for partner, actor, reason in overrides.links.get(record.key, []):
            if partner in own:
                lines.append(f"manual by {actor}: {reason} (with {ref(partner)})")
        for other in own.values():
            if other.key == record.key:
                continue
            if other.key in record.references:
                lines.append(f"reference: it names {ref(other.key)}")
            elif record.key in other.references:
                lines.append(f"reference: named by {ref(other.key)}")
            for email in sorted(record.emails & other.emails):
                if not self.names.conflict(record, other):
                    lines.append(f"email {mask_email(email)} (with {ref(other.key)})")
            for phone in sorted(record.phones & other.phones):
                if self.names.agree(record, other):
                    lines.append(f"phone {mask_phone(phone)} + names agree: "
                                 f"{name_reason(self.names, record, other)} "
                                 f"(with {ref(other.key)})")
        if rule == "self":
            if split is not None:
                lines.append(f"split by {split[0]}: {split[1]}")
            elif not lines:
                lines.append("no rule links it to another record")
        elif not lines:
            lines.append(f"{rule}, through the other records of this person")
        return lines

    async def _neighbours(self, golden: str, own: Mapping[RecordKey, RecordIdentity],
                          overrides: _Overrides) -> list[Neighbour]:
        keys = sorted({(t, v) for r in own.values()
                       for t, values in (("email", r.emails), ("phone", r.phones))
                       for v in values})
        carriers = await self.registry.carriers(keys) if keys else {}
        outside = {k for found in carriers.values() for k in found if k not in own}
        stored = await self.registry.identities(outside)
        by_value: dict[RecordKey, list[tuple[str, str]]] = {}
        for (key_type, value), found in carriers.items():
            for key in found:
                if key in stored:
                    by_value.setdefault(key, []).append((key_type, value))
        neighbours = []
        for key, shared in sorted(by_value.items()):
            other, person, _ = stored[key]
            if person == golden:
                continue
            key_type, value = min(shared)
            crowd = [stored[k][0] if k in stored else own[k]
                     for k in carriers[(key_type, value)] if k in stored or k in own]
            why = self.why_apart(other, own.values(), key_type, value, crowd, overrides)
            neighbours.append(Neighbour(other.source, other.kind, other.id, person, why))
        return neighbours[:EXPLAIN_NEIGHBOURS]

    def why_apart(self, other: RecordIdentity, group: Iterable[RecordIdentity], key_type: str,
                  value: str, crowd: Sequence[RecordIdentity], overrides: _Overrides) -> str:
        """Why ``other``, sharing ``value`` with a record of ``group``, is not in its person:
        an operator's split, a blocked identifier, or the names."""
        shares = f"shares {key_type} {mask(key_type, value)}"
        split = overrides.splits.get(other.key)
        if split is not None:
            return f"{shares} but was split by {split[0]}: {split[1]}"
        rules = self.matcher.rules
        junk = rules.junk_emails if key_type == "email" else rules.junk_phones
        if value in junk:
            return f"{shares} but it is a placeholder value (never links)"
        limit = rules.max_people_per_identifier
        if len(crowd) > limit and self.matcher.people_count(crowd) > limit:
            return (f"{shares} but it is carried by {len(crowd)} records of more than "
                    f"{limit} people (blocked)")
        members = [r for r in group if value in (r.emails if key_type == "email" else r.phones)]
        first = members[0] if members else next(iter(group))
        if key_type == "email":
            clash = next((r for r in group if self.names.conflict(r, other)), None)
            if clash is not None:
                return f"{shares} but names conflict: {name_reason(self.names, clash, other)}"
            return f"{shares}; names do not conflict, but not linked: " \
                   f"{name_reason(self.names, first, other)}"
        if not self.names.agree(first, other):
            return f"{shares} but names differ: {name_reason(self.names, first, other)}"
        lone = next((r for r in group if r.first and not self.names.agree(r, other)), None)
        if lone is not None:
            return (f"{shares} and names agree, but another record of this person does not: "
                    f"{name_reason(self.names, lone, other)}")
        return f"{shares}; not linked (run `c360 index` to re-link)"

    # -- review ---------------------------------------------------------------------------
    async def review(self, limit: int = 20) -> list[Candidate]:
        """Pairs of people the rules kept apart, most likely the same first: a shared phone
        with similar names (related first names, close last names: 0.8-0.9), a shared email
        whose names conflict (0.5), a shared phone and family name with other first names (a
        household, 0.3) and — the registry keeps no address — the same full name in exactly
        two people (0.2). Records an operator split out are left out."""
        overrides = await self._overrides()
        shared = await self.registry.shared_keys()
        same_names = await self.registry.same_names()
        keys = {k for found in shared.values() for k in found}
        keys |= {k for group in same_names for k in group}
        stored = await self.registry.identities(keys)
        best: dict[tuple[str, str], Candidate] = {}

        def offer(a: RecordKey, b: RecordKey, score: float, evidence: str) -> None:
            pa, pb = stored[a][1], stored[b][1]
            if pa is not None and pa == pb:
                return
            if a in overrides.splits or b in overrides.splits:
                return
            if (a, b) > (b, a):
                a, b, pa, pb = b, a, pb, pa
            left, right = pa or ref(a), pb or ref(b)
            pair = (min(left, right), max(left, right))
            candidate = Candidate(
                round(score, 3), ref(a), ref(b), pa, pb, evidence,
                f'c360 identity link {ref(a)} {ref(b)} --reason "..."')
            if pair not in best or best[pair].score < candidate.score:
                best[pair] = candidate

        for (key_type, value), found in sorted(shared.items()):
            present = [k for k in found if k in stored]
            crowd = [stored[k][0] for k in present]
            limit_people = self.matcher.rules.max_people_per_identifier
            if len(crowd) > limit_people and self.matcher.people_count(crowd) > limit_people:
                continue
            for i, a in enumerate(present):
                for b in present[i + 1:]:
                    scored = self._score(stored[a][0], stored[b][0], key_type, value)
                    if scored is not None:
                        offer(a, b, *scored)
        for group in same_names:
            present = [k for k in group if k in stored]
            for i, a in enumerate(present):
                for b in present[i + 1:]:
                    offer(a, b, 0.2, f"same name '{full_name(stored[a][0])}', no shared email "
                                     "or phone (the registry keeps no address to compare)")
        ranked = sorted(best.values(), key=lambda c: (-c.score, c.a, c.b))
        return ranked[:limit]

    def _score(self, a: RecordIdentity, b: RecordIdentity, key_type: str,
               value: str) -> tuple[float, str] | None:
        names = self.names
        shares = f"shares {key_type} {mask(key_type, value)}"
        if key_type == "phone":
            if not a.first or not b.first or names.agree(a, b):
                return None
            last_a, last_b = "".join(a.last), "".join(b.last)
            close = bool(last_a and last_b) and names.close(last_a, last_b)
            if names.first_names_related(a.first[0], b.first[0]):
                score = 0.8 + (0.1 if close else 0.0)
                return score, f"{shares}, similar names: {name_reason(names, a, b)}"
            if close:
                return 0.3, (f"{shares}, same family name, other first names (a household?): "
                             f"{name_reason(names, a, b)}")
            return None
        if a.first and b.first and names.conflict(a, b):
            return 0.5, f"{shares} but names conflict: {name_reason(names, a, b)}"
        return None

    # -- decisions ------------------------------------------------------------------------
    async def link(self, a: str, b: str, *, actor: str, reason: str) -> tuple[RecordKey,
                                                                             RecordKey]:
        """Join the records ``a`` and ``b`` (``kind:id`` or ``source:id``) for good."""
        first, second = await self.record(a), await self.record(b)
        if first == second:
            raise StewardError("link needs two different records")
        try:
            await self.registry.link(first, second, actor=actor, reason=reason)
        except ValueError as exc:
            raise StewardError(str(exc)) from None
        return first, second

    async def split(self, record: str, *, actor: str, reason: str) -> RecordKey:
        """Take a record out of its person for good."""
        key = await self.record(record)
        try:
            await self.registry.split(key, actor=actor, reason=reason)
        except ValueError as exc:
            raise StewardError(str(exc)) from None
        return key

    async def _overrides(self) -> _Overrides:
        found = _Overrides()
        for row in await self.registry.overrides():
            record = (row["source"], row["record_id"])
            if row["action"] == "split":
                found.splits[record] = (row["actor"], row["reason"])
                for partner in found.links.pop(record, []):
                    found.links[partner[0]] = [p for p in found.links.get(partner[0], [])
                                               if p[0] != record]
            elif row["other_source"] is not None:
                other = (row["other_source"], row["other_record_id"])
                found.splits.pop(record, None)
                found.splits.pop(other, None)
                found.links.setdefault(record, []).append((other, row["actor"], row["reason"]))
                found.links.setdefault(other, []).append((record, row["actor"], row["reason"]))
        return found

    # -- evaluation -----------------------------------------------------------------------
    async def evaluate(self, truth_path: Path) -> EvalResult:
        """Score the registry against a ground-truth file in the sandbox's format."""
        truth = truth_from_ground_truth(read_truth(truth_path))
        predicted = await self.registry.assignments(by_kind=True)
        score = pairwise_score(truth, predicted)
        linked = sum(1 for r in truth if r in predicted)
        return EvalResult(score, len(truth), linked, len(truth) - linked,
                          len(set(truth.values())),
                          len({predicted[r] for r in truth if r in predicted}))


def read_truth(path: Path) -> list[Mapping[str, Any]]:
    """A ``ground_truth.json`` (a list of ``{"person", "records": [{"kind", "id"}]}``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StewardError(f"no truth file {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StewardError(f"the truth file {path} cannot be read ({type(exc).__name__})"
                           ) from None
    if not isinstance(data, list) or not all(
            isinstance(p, dict) and isinstance(p.get("records"), list)
            and all(isinstance(r, dict) and "kind" in r and "id" in r for r in p["records"])
            and "person" in p for p in data):
        raise StewardError(f"{path} is not a ground truth file (a list of people, each with "
                           '"person" and "records": [{"kind", "id"}])')
    return data
