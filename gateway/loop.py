"""Process settings of a serving gateway: the event loop (uvloop where available, as uvicorn
does) and the garbage collector."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``work`` as a background task for the block (an app's lifespan); cancel it after."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not built for every platform
        return asyncio.run(main)
    return uvloop.run(main)


GC_THRESHOLDS = (50_000, 20, 100)
"""Young-generation collections every 50,000 allocations instead of 700: one answer allocates
hundreds of thousands of short-lived objects (parsed vendor JSON, models, result dicts), and
with CPython's defaults the collector ran every few hundred of them, and a full collection often
enough to cost about 15 % of a 50-customer list's CPU (measured). An answer leaves no reference
cycles (``tests/gateway/test_memory.py``: upstream responses and execution contexts were the
cycles), so its objects are freed by reference counting as it ends: the count only grows with
what is alive, and a young collection — which scans everything allocated since the last one and
stops the loop meanwhile (20–70 ms each on the benchmark's worker, when answers were cyclic
garbage: the refusals' p99 under overload) — comes rarely."""


def tune_gc() -> None:
    """Collect once, move what exists now (modules, the schema, the runtime) out of the
    collector's sight for good (``gc.freeze``), and collect the young generation less often.
    Reference cycles are still collected; the process just stops re-scanning its long-lived
    objects on every full collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
