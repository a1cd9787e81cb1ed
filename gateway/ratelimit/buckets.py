"""Token buckets: in process, or on Redis so several workers share one budget.

A bucket holds up to ``burst`` tokens and refills at ``rate_per_s``; a request takes one. The
Redis bucket is one Lua script (atomic on the server, time from the server's clock, the key
expiring once the bucket would be full again), so workers never race each other.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

from gateway.ratelimit.settings import Bucket

log = logging.getLogger("c360.ratelimit")
MAX_BUCKETS = 100_000


class Limiter(Protocol):
    """Where buckets live (extension point: in process or on Redis)."""

    async def take(self, key: str, bucket: Bucket) -> float:
        """Take a token: 0 when allowed, else the seconds until one is available."""
        ...


class MemoryLimiter:
    """This process's buckets, least recently used first: past ``max_buckets`` the idlest is
    dropped (a dropped bucket is as good as full again)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_buckets: int = MAX_BUCKETS) -> None:
        self.clock = clock
        self.max_buckets = max_buckets
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def take(self, key: str, bucket: Bucket) -> float:
        return self.take_now(key, bucket)

    def take_now(self, key: str, bucket: Bucket) -> float:
        now = self.clock()
        tokens, at = self.buckets.get(key, (float(bucket.burst), now))
        tokens = min(float(bucket.burst), tokens + (now - at) * bucket.rate_per_s)
        allowed = tokens >= 1
        self.buckets[key] = (tokens - 1 if allowed else tokens, now)
        self.buckets.move_to_end(key)
        if len(self.buckets) > self.max_buckets:
            self.buckets.popitem(last=False)
        return 0.0 if allowed else (1 - tokens) / bucket.rate_per_s


_SCRIPT = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local held = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(held[1])
local at = tonumber(held[2])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', key, math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisLimiter:
    """Buckets shared by every worker. If Redis fails or is slow (``timeout_s``), this
    worker's own buckets take over for ``retry_s`` before Redis is tried again — neither
    refusing everyone nor waving everyone through — and a warning is logged at most once a
    minute (with the error's type only: no key, no address)."""

    def __init__(self, redis: Any, prefix: str = "c360:rl:", *, timeout_s: float = 0.25,
                 retry_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.clock = clock
        self.script = redis.register_script(_SCRIPT)
        self.fallback = MemoryLimiter(clock)
        self._down_until = -math.inf
        self._warned = -math.inf

    async def take(self, key: str, bucket: Bucket) -> float:
        if self._down_until > self.clock():
            return self.fallback.take_now(key, bucket)
        try:
            async with asyncio.timeout(self.timeout_s):
                wait = await self.script(keys=[self.prefix + key],
                                         args=[repr(bucket.rate_per_s), bucket.burst])
        except (RedisError, OSError, TimeoutError) as exc:
            now = self.clock()
            self._down_until = now + self.retry_s
            if now - self._warned >= 60:
                self._warned = now
                log.warning("rate limits: redis unavailable (%s); this worker's own buckets "
                            "meanwhile", type(exc).__name__)
            return self.fallback.take_now(key, bucket)
        if self._down_until > -math.inf:
            self._down_until = -math.inf
            log.info("rate limits: redis answers again; buckets shared again")
        return float(wait.decode() if isinstance(wait, bytes) else wait)
