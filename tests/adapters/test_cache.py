from __future__ import annotations

from adapters.cache import MemoryLookupCache


def test_ttl_lru_and_clear() -> None:
    now = [0.0]
    cache = MemoryLookupCache(ttl_s=10, max_entries=2, clock=lambda: now[0])
    cache.put(("email", "a"), ["g1"])
    cache.put(("email", "b"), [])
    assert cache.get(("email", "b")) == []
    assert cache.get(("email", "a")) == ["g1"]
    cache.put(("email", "c"), ["g3"])  # evicts the least recently used: b
    assert cache.get(("email", "b")) is None
    now[0] = 11
    assert cache.get(("email", "a")) is None
    cache.put(("phone", "p"), ["g"])
    cache.clear()
    assert cache.get(("phone", "p")) is None
