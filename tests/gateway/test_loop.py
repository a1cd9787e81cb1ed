"""Process settings of a serving gateway."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import server
from gateway.loop import GC_THRESHOLDS, tune_gc
from silos.sandbox import SandboxOptions, prepare


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_the_served_app_freezes_startup_objects_and_collects_less_often(
        restored_gc: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running = prepare(SandboxOptions(customers=5, seed=1, data_dir=tmp_path))
    monkeypatch.setenv(server.CONFIG_ENV, str(running.config_path))
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    server.app()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 10_000  # modules, the schema: out of every collection


def test_cycles_are_still_collected(restored_gc: None) -> None:
    tune_gc()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
