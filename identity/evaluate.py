"""Score identity resolution against a labelled truth (e.g. the sandbox's ground_truth.json)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

Record = tuple[str, str]


@dataclass(frozen=True)
class PairwiseScore:
    """Pairwise precision/recall over pairs of records placed in the same person."""

    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(groups: Iterable[Iterable[Record]]) -> set[tuple[Record, Record]]:
    pairs: set[tuple[Record, Record]] = set()
    for group in groups:
        pairs.update(combinations(sorted(set(group)), 2))
    return pairs


def pairwise_score(truth: Mapping[Record, str], predicted: Mapping[Record, str]) -> PairwiseScore:
    """``truth`` and ``predicted`` map each record to its person; records missing from
    ``predicted`` count as unlinked."""
    def grouped(assignment: Mapping[Record, str]) -> list[list[Record]]:
        groups: dict[str, list[Record]] = defaultdict(list)
        for record, person in assignment.items():
            groups[person].append(record)
        return list(groups.values())

    true_pairs = _pairs(grouped(truth))
    predicted_pairs = _pairs(grouped({r: p for r, p in predicted.items() if r in truth}))
    return PairwiseScore(len(true_pairs), len(predicted_pairs), len(true_pairs & predicted_pairs))


def truth_from_ground_truth(ground_truth: Iterable[Mapping[str, object]]) -> dict[Record, str]:
    """``ground_truth.json`` rows → {(kind, id): person}."""
    truth: dict[Record, str] = {}
    for person in ground_truth:
        records = person["records"]
        assert isinstance(records, list)
        for record in records:
            truth[(str(record["kind"]), str(record["id"]))] = str(person["person"])
    return truth
