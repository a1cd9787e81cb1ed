"""The benchmark's plan and selection (bench.harness): the goodput curve and the overload are
planned for c360 (1 worker), and ``--scenarios/--profiles/--no-curve/--no-overload`` narrow it."""

from __future__ import annotations

from bench.harness import Selection, memory_entry, plan


def baseline(quick: bool) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]],
                                   list[tuple[str, str]]]:
    c = next(c for c in plan(quick, peer=False) if c.key == "c360-1w")
    return c.cells, c.curve, c.overload


def test_the_full_run_measures_the_whole_curve_and_the_overload() -> None:
    cells, curve, overload = baseline(quick=False)
    for scenario in ("S1", "S2", "S3", "S4"):
        for profile in ("0ms", "20ms"):
            measured = sorted({c for s, p, c in cells + curve if (s, p) == (scenario, profile)})
            assert measured == [1, 4, 16, 50], (scenario, profile)
    assert overload == [("S1", "20ms"), ("S2", "20ms")]


def test_the_quick_run_keeps_the_s1_s2_curve_at_20ms() -> None:
    cells, curve, overload = baseline(quick=True)
    for scenario in ("S1", "S2"):
        measured = sorted({c for s, p, c in cells + curve if (s, p) == (scenario, "20ms")})
        assert measured == [1, 4, 16, 50]
    assert {p for _, p, _ in curve} == {"20ms"}
    assert overload == [("S1", "20ms"), ("S2", "20ms")]


def test_selection_narrows_cells_curve_and_overload_and_drops_idle_contestants() -> None:
    contestants = plan(quick=True, peer=False)
    kept = Selection(frozenset({"S2"}), frozenset({"20ms"}), curve=False).apply(contestants)
    base = next(c for c in kept if c.key == "c360-1w")
    assert {(s, p) for s, p, _ in base.cells} == {("S2", "20ms")}
    assert base.curve == [] and base.overload == [("S2", "20ms")]
    assert "c360-noauth" not in {c.key for c in kept}  # S1 only: nothing left to run
    assert Selection().apply(contestants) == [c for c in contestants if c.cells]


def test_memory_entry_reports_the_ratio_after_the_cells() -> None:
    entry = memory_entry("c360 (1 worker)", 102_400, 122_880, 131_072)
    assert entry == {"contestant": "c360 (1 worker)", "after_warmup_mb": 100.0,
                     "after_cells_mb": 120.0, "peak_mb": 128.0, "ratio": 1.2}
