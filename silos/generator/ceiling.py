"""The recall ceiling: the share of true pairs that some chain of evidence can join.

A matcher only sees what the records hold. Two records of one person can be joined when a
chain of evidence connects them through that person's own records, each link being

* the same normalized email (junk placeholders excepted),
* an explicit cross-reference (a loyalty card in a Shopify tag or a Square ``reference_id``,
  a Zendesk ``external_id`` naming the Shopify customer: ``RecordIdentity.references``),
* the same E.164 phone — between two records of the same person, i.e. a shared phone plus a
  name a perfect matcher would agree on (nickname, short form, swapped fields and all).

The ceiling is the share of ground-truth pairs whose two records are connected that way;
a matcher that merges nobody wrongly cannot recall more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

RecordKey = tuple[str, str]


class Evidence(Protocol):
    """What the registry keeps of one record (``identity.matching.RecordIdentity``)."""

    @property
    def key(self) -> RecordKey: ...

    @property
    def emails(self) -> frozenset[str]: ...

    @property
    def phones(self) -> frozenset[str]: ...

    @property
    def references(self) -> frozenset[RecordKey]: ...


@dataclass(frozen=True)
class Ceiling:
    true_pairs: int
    joinable_pairs: int
    """True pairs connected by a chain of email, reference and same-person phone links."""
    without_phone: int
    """True pairs connected by email and reference links alone."""

    @property
    def share(self) -> float:
        return self.joinable_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def share_without_phone(self) -> float:
        return self.without_phone / self.true_pairs if self.true_pairs else 1.0


class _Components:
    def __init__(self, keys: Iterable[RecordKey]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, key: RecordKey) -> RecordKey:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: RecordKey, b: RecordKey) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def pairs(self) -> int:
        sizes: dict[RecordKey, int] = defaultdict(int)
        for key in self.parent:
            sizes[self.find(key)] += 1
        return sum(n * (n - 1) // 2 for n in sizes.values())


def _joined(records: list[Evidence], keys: set[RecordKey], junk_emails: frozenset[str],
            phones: bool) -> int:
    components = _Components(keys)
    first_with: dict[tuple[str, str], RecordKey] = {}
    for record in records:
        values = [("email", e) for e in record.emails if e not in junk_emails]
        if phones:
            values += [("phone", p) for p in record.phones]
        for value in values:
            other = first_with.setdefault(value, record.key)
            components.union(other, record.key)
        for ref in record.references:
            if ref in keys:
                components.union(record.key, ref)
    return components.pairs()


def ceiling(records: Iterable[Evidence], truth: Mapping[RecordKey, str],
            junk_emails: Iterable[str] = ()) -> Ceiling:
    """The ceiling for ``records`` (as the registry normalized them) against ``truth``
    (record → person; ``identity.evaluate.truth_from_ground_truth``). True records missing
    from ``records`` join nothing."""
    junk = frozenset(e.strip().lower() for e in junk_emails)
    members: dict[str, set[RecordKey]] = defaultdict(set)
    for key, person in truth.items():
        members[person].add(key)
    held: dict[str, list[Evidence]] = defaultdict(list)
    for record in records:
        owner = truth.get(record.key)
        if owner is not None:
            held[owner].append(record)
    true_pairs = joinable = without_phone = 0
    for person, keys in members.items():
        true_pairs += len(keys) * (len(keys) - 1) // 2
        if len(keys) < 2:
            continue
        mine = held.get(person, [])
        joinable += _joined(mine, keys, junk, phones=True)
        without_phone += _joined(mine, keys, junk, phones=False)
    return Ceiling(true_pairs, joinable, without_phone)
