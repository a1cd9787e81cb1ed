"""Identity resolution on the Spanish, Italian and mixed populations, scored the way
``python -m bench.identity --locale …`` scores them: precision at least 0.999, recall within
0.005 of the ceiling (the share of true pairs some chain of email, cross-reference and
same-person phone evidence can join).

2,000 customers per locale (about 3 s each; 5,000 take about 8 s) keeps the suite fast; the
benchmark runs the full 5,000.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.identity import MIN_PRECISION, RECALL_SLACK, measure
from silos.sandbox import SandboxOptions

pytestmark = pytest.mark.anyio

CUSTOMERS = 2000


@pytest.mark.parametrize("locale", ["es", "it", "mixed"])
async def test_locale_population_meets_the_targets(locale: str, tmp_path: Path) -> None:
    result = await measure(SandboxOptions(customers=CUSTOMERS, seed=42, data_dir=tmp_path,
                                          locale=locale))
    assert result.ceiling.share > 0.95, result.describe()
    assert result.score.precision >= MIN_PRECISION, result.describe()
    assert result.score.recall >= result.ceiling.share - RECALL_SLACK, result.describe()
