"""The registry's lookup cache seam: in-process by default; a shared cache (Redis) later
implements the same protocol."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

Key = tuple[str, str]


class LookupCache(Protocol):
    """Caches ``(key type, normalized value) → golden ids``. ``clear`` is called whenever
    this process changes links; other processes' changes show after the TTL."""

    def get(self, key: Key) -> list[str] | None: ...

    def put(self, key: Key, golden_ids: list[str]) -> None: ...

    def clear(self) -> None: ...


class NoCache:
    def get(self, key: Key) -> list[str] | None:
        return None

    def put(self, key: Key, golden_ids: list[str]) -> None:
        return None

    def clear(self) -> None:
        return None


class MemoryLookupCache:
    """A bounded LRU with a time to live."""

    def __init__(self, ttl_s: float = 30.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[Key, tuple[float, list[str]]] = OrderedDict()

    def get(self, key: Key) -> list[str] | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < self.clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return list(value)

    def put(self, key: Key, golden_ids: list[str]) -> None:
        self._items[key] = (self.clock() + self.ttl, list(golden_ids))
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
