"""The sources' circuit breakers (:mod:`adapters.breaker`): their config, and their state
shared by every worker on Redis.

```toml
[breakers]
enabled = true     # the default
failures = 5       # failed calls in a row that open a source's breaker
window_s = 30      # ... within this many seconds
cooldown_s = 10    # open this long, then one probe
sync_ms = 500      # with redis_url: how often a worker reads the shared state

[breakers.sources.zendesk]   # per source, any of failures, window_s, cooldown_s
cooldown_s = 30
```

On Redis, each source has three keys under ``c360:breaker:<source>:``: ``failures`` (failures
in a row, expiring after the window), ``open`` (present while open; its time to live is the
cool-down left), ``tripped`` (present from the trip until a probe answers: after the cool-down
the breaker is half-open) and ``probe`` (the worker probing, ``SET NX``, expiring after a
cool-down if that worker dies). A background task reads them every ``sync_ms`` for all sources
in one round trip and hands them to the breakers: no call waits for Redis, a trip by one worker
reaches the others within ``sync_ms``. A Redis that fails or hangs (``timeout_s``) is logged
once a minute, by its error type only; each worker's own breakers decide meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.exceptions import RedisError

from adapters.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, BreakerPolicy, Listener
from adapters.config import Table
from gateway.loop import running

log = logging.getLogger("c360.breakers")
T = TypeVar("T")
_KEYS = ("failures", "open", "tripped", "probe")


@dataclass(frozen=True)
class BreakerConfig:
    enabled: bool = True
    default: BreakerPolicy = field(default_factory=BreakerPolicy)
    sources: Mapping[str, BreakerPolicy] = field(default_factory=dict)
    sync_s: float = 0.5

    def policy(self, source: str) -> BreakerPolicy:
        return self.sources.get(source, self.default)


def _policy(table: Table, base: BreakerPolicy) -> BreakerPolicy:
    return BreakerPolicy(
        failures=table.integer("failures", base.failures, minimum=1),
        window_s=table.seconds("window_s", base.window_s, minimum=0.001),
        cooldown_s=table.seconds("cooldown_s", base.cooldown_s, minimum=0.001))


def parse_breakers(table: Table, sources: list[str]) -> BreakerConfig:
    enabled = table.boolean("enabled", True)
    default = _policy(table, BreakerPolicy())
    sync_ms = table.integer("sync_ms", 500, minimum=10)
    per_source = table.per_source("sources", sources, lambda t: _policy(t, default))
    table.finish()
    return BreakerConfig(enabled, default, per_source, sync_ms / 1000)


class RedisBreakers:
    """:class:`adapters.breaker.SharedBreakers` on Redis (module doc)."""

    def __init__(self, redis: Any, prefix: str = "c360:breaker:", *, timeout_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.clock = clock
        self._warned = -math.inf

    def _key(self, source: str, name: str) -> str:
        return f"{self.prefix}{source}:{name}"

    async def _call(self, what: str, call: Awaitable[T]) -> T | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await call
        except (RedisError, OSError, TimeoutError) as exc:
            now = self.clock()
            if now - self._warned >= 60:
                self._warned = now
                log.warning("breakers: redis %s failed (%s); each worker's own breakers "
                            "meanwhile", what, type(exc).__name__)
            return None

    async def failed(self, source: str, window_s: float) -> int | None:
        key = self._key(source, "failures")

        async def count() -> int:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.pexpire(key, max(int(window_s * 1000), 1), nx=True)
                counted, _ = await pipe.execute()
            return int(counted)

        return await self._call("count", count())

    async def succeeded(self, source: str) -> None:
        await self._call("reset", self.redis.delete(self._key(source, "failures")))

    async def trip(self, source: str, cooldown_s: float) -> None:
        cooldown_ms = max(int(cooldown_s * 1000), 1)

        async def write() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self._key(source, "open"), b"1", px=cooldown_ms)
                pipe.set(self._key(source, "tripped"), b"1",
                         px=max(cooldown_ms * 10, 3_600_000))
                pipe.delete(self._key(source, "failures"), self._key(source, "probe"))
                await pipe.execute()

        await self._call("trip", write())

    async def claim_probe(self, source: str, ttl_s: float) -> bool | None:
        async def claim() -> bool:
            return bool(await self.redis.set(self._key(source, "probe"), b"1", nx=True,
                                             px=max(int(ttl_s * 1000), 1)))

        return await self._call("probe", claim())

    async def close(self, source: str) -> None:
        await self._call("close", self.redis.delete(
            *(self._key(source, name) for name in _KEYS)))

    async def states(self, sources: list[str]) -> dict[str, tuple[str, float]] | None:
        """Each source's shared state and, when open, the seconds it stays open."""

        async def read() -> list[Any]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for source in sources:
                    pipe.pttl(self._key(source, "open"))
                    pipe.exists(self._key(source, "tripped"))
                return list(await pipe.execute())

        found = await self._call("read", read())
        if found is None:
            return None
        states: dict[str, tuple[str, float]] = {}
        for i, source in enumerate(sources):
            open_ms, tripped = int(found[2 * i]), int(found[2 * i + 1])
            if open_ms > 0:
                states[source] = (OPEN, open_ms / 1000)
            elif tripped:
                states[source] = (HALF_OPEN, 0.0)
            else:
                states[source] = (CLOSED, 0.0)
        return states


def build_breakers(config: BreakerConfig, sources: list[str], *,
                   shared: RedisBreakers | None = None,
                   listener: Listener | None = None) -> dict[str, Breaker]:
    """One breaker per source (none when disabled)."""
    if not config.enabled:
        return {}
    return {name: Breaker(name, config.policy(name), shared=shared, listener=listener)
            for name in sources}


def syncing(shared: RedisBreakers, breakers: Mapping[str, Breaker], interval_s: float
            ) -> AbstractAsyncContextManager[None]:
    """Read the shared state every ``interval_s`` while the app serves."""
    names = list(breakers)

    async def loop() -> None:
        while True:
            states = await shared.states(names)
            for name, (state, open_for) in (states or {}).items():
                breakers[name].observe(state, open_for)
            await asyncio.sleep(interval_s)

    return running(loop(), "c360-breakers")
