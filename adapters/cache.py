"""The cache seam: in-process by default; a shared cache (Redis) later implements the same
protocol. The identity registry keeps lookups and each person's records in it, adapters their
catalog entries; values are plain lists (of strings, or of frozen dataclasses), so they
serialize."""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

Key = tuple[str, str]
V = TypeVar("V")


class LookupCache(Protocol[V]):
    """Caches ``key → value`` (e.g. ``(key type, normalized value) → golden ids``, or
    ``("records", golden id) → linked records``). ``clear`` is called whenever this process
    changes links; other processes' changes show after the TTL."""

    def get(self, key: Key) -> V | None: ...

    def put(self, key: Key, value: V) -> None: ...

    def clear(self) -> None: ...


class NoCache(Generic[V]):
    def get(self, key: Key) -> V | None:
        return None

    def put(self, key: Key, value: V) -> None:
        return None

    def clear(self) -> None:
        return None


class MemoryLookupCache(Generic[V]):
    """A bounded LRU with a time to live. Values are lists, copied in and out: a caller that
    changes what it got back does not change the cache."""

    def __init__(self, ttl_s: float = 30.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[Key, tuple[float, V]] = OrderedDict()

    def get(self, key: Key) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < self.clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return copy.copy(value)

    def put(self, key: Key, value: V) -> None:
        self._items[key] = (self.clock() + self.ttl, copy.copy(value))
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
