from __future__ import annotations

import pytest

from identity.evaluate import pairwise_score, truth_from_ground_truth


def test_pairwise_scores() -> None:
    truth = truth_from_ground_truth([
        {"person": "P1", "records": [{"kind": "a", "id": "1"}, {"kind": "b", "id": "1"},
                                     {"kind": "c", "id": "1"}]},
        {"person": "P2", "records": [{"kind": "a", "id": "2"}, {"kind": "b", "id": "2"}]},
    ])
    # P1 split in two, P2 wrongly merged with one of P1's records
    predicted = {("a", "1"): "x", ("b", "1"): "x", ("c", "1"): "y", ("a", "2"): "y",
                 ("b", "2"): "y"}
    score = pairwise_score(truth, predicted)
    assert (score.true_pairs, score.predicted_pairs, score.correct_pairs) == (4, 4, 2)
    assert score.precision == 0.5 and score.recall == 0.5
    assert score.f1 == pytest.approx(0.5)
    perfect = pairwise_score(truth, {r: p for r, p in truth.items()})
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
