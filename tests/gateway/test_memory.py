"""The heap is given back once the worker is idle after serving."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.memory import Trimmer, malloc_trim
from tests.gateway.test_admission import Meter, admission, enter

pytestmark = pytest.mark.anyio


@dataclass
class Worker:
    admitted_total: int = 0
    idle: bool = True


def test_the_heap_is_trimmed_once_idle_for_an_interval_after_serving() -> None:
    trims: list[int] = []
    worker = Worker()
    trimmer = Trimmer(worker, lambda: trims.append(1))
    assert not trimmer.check()  # nothing served yet
    worker.admitted_total, worker.idle = 3, False
    assert not trimmer.check()  # serving
    worker.idle = True
    assert trimmer.check() and trims == [1]  # nothing admitted since the last check
    assert not trimmer.check()  # idle, nothing served since
    worker.admitted_total = 4  # a request came and went between two checks
    assert not trimmer.check()  # a gap in a burst, maybe
    assert trimmer.check() and trims == [1, 1]  # a whole interval without one
    assert not Trimmer(worker, None).check()  # no malloc_trim in this C library


def test_the_admission_says_when_the_worker_is_idle() -> None:
    meter = Meter()
    gate = admission(meter)
    assert gate.idle and gate.admitted_total == 0
    ticket = enter(gate, meter, "a")
    assert not gate.idle and gate.admitted_total == 1
    gate.finish(ticket)
    assert gate.idle


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc: Linux")
def test_malloc_trim_gives_freed_heap_pages_back() -> None:
    """Blocks over pymalloc's 512 bytes come from glibc's heap; freeing all but every 50th
    leaves the heap's pages mapped (the kept blocks pin its top) until trimmed."""
    trim = malloc_trim()
    assert trim is not None
    trim()
    blocks = [bytearray(3000) for _ in range(50_000)]  # about 150 MB
    kept = blocks[::50]
    del blocks
    before = _rss_bytes()
    trim()
    after = _rss_bytes()
    assert before - after > 50 * 2**20, (before, after)
    assert len(kept) == 1000


async def test_the_served_app_trims_after_its_requests(gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        trimmer = client._transport.app.state.trimmer  # type: ignore[attr-defined]
        assert trimmer.trim is not None and not trimmer.check()
        response = await client.post("/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 200
        assert not trimmer.check()  # a request in the last interval
        assert trimmer.check() and trimmer.trims == 1
