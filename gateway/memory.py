"""Giving the heap back after a peak.

A burst of requests (50 callers, a slow silo holding them all at once) takes the process's heap
to its peak: vendor answers of hundreds of kilobytes, their parsed JSON, the answers being
built. When they end, the objects are freed, but glibc's allocator keeps the freed pages of its
heaps mapped — only the top of a heap is returned, and one live allocation above a free
stretch holds it all — so the worker's resident memory stays at the peak's. Measured on the
benchmark, RSS after the whole run was 1.3–1.6× RSS after its warm-up with no live object more.

Cyclic garbage of the burst waits for a full collection too, which comes rarely: the collector
runs less often than CPython's default (:data:`gateway.loop.GC_THRESHOLDS`).

:class:`Trimmer` watches the admission's counters and, once the worker has been idle (nothing
running or queued, nothing admitted) for a whole check interval after having served requests
since the last time, runs a full collection and then glibc's ``malloc_trim(0)``, which hands
every free page of every heap back to the kernel. It runs on the loop while nothing else does;
a worker that is never idle is using its memory. Measured on the benchmark's worker after a
burst: the collection about 100 ms, the trim 2–3 ms. A request arriving meanwhile waits for
them, at most once per burst — the full collection the burst's garbage would otherwise get from
the collector's own thresholds, in the middle of later requests. Where the C library has no
``malloc_trim`` (musl, macOS), it does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from typing import Protocol

from gateway.loop import running

CHECK_S = 1.0
"""How often the trimmer looks at the worker."""


class Activity(Protocol):
    """What the trimmer reads of the admission (:class:`gateway.admission.Admission`)."""

    @property
    def admitted_total(self) -> int: ...

    @property
    def idle(self) -> bool: ...


def malloc_trim() -> Callable[[], None] | None:
    """glibc's ``malloc_trim(0)``, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def call() -> None:
        trim(0)
    return call


class Trimmer:
    """Trims the heap when the worker goes idle after serving (module doc). ``trim`` is
    injected by tests."""

    def __init__(self, activity: Activity, trim: Callable[[], None] | None) -> None:
        self.activity = activity
        self.trim = trim
        self.trims = 0
        self._seen = self._trimmed_at = activity.admitted_total

    def check(self) -> bool:
        """Trim now if the worker served requests since the last trim, then admitted none since
        the previous check and is idle: a whole interval without a request, not a gap between
        two requests of a burst (a full collection takes tens of milliseconds)."""
        if self.trim is None:
            return False
        total = self.activity.admitted_total
        quiet = self.activity.idle and total == self._seen
        self._seen = total
        if not quiet or total == self._trimmed_at:
            return False
        self._trimmed_at = total
        gc.collect()
        self.trim()
        self.trims += 1
        return True


def trimming(trimmer: Trimmer, every_s: float = CHECK_S
             ) -> contextlib.AbstractAsyncContextManager[None]:
    """Run ``trimmer.check`` every ``every_s`` for the app's lifespan."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            trimmer.check()

    return running(loop(), "c360-trim")
