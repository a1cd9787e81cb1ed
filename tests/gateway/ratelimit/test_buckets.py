"""Token buckets: burst then refill, in process with a fake clock and on a real Redis."""

from __future__ import annotations

import asyncio

import pytest

from gateway.ratelimit.buckets import MemoryLimiter, RedisLimiter
from gateway.ratelimit.settings import Bucket

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock)
    bucket = Bucket(rate_per_s=2, burst=3)
    assert [await limiter.take("a", bucket) for _ in range(3)] == [0, 0, 0]
    assert await limiter.take("a", bucket) == pytest.approx(0.5)
    assert await limiter.take("b", bucket) == 0  # another principal's bucket
    clock.now += 0.5
    assert await limiter.take("a", bucket) == 0
    assert await limiter.take("a", bucket) > 0
    clock.now += 60
    assert [await limiter.take("a", bucket) for _ in range(4)][:3] == [0, 0, 0]  # capped


@pytest.mark.redis
async def test_the_redis_bucket_is_shared_and_atomic(redis_url: str) -> None:
    from redis.asyncio import Redis

    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        bucket = Bucket(rate_per_s=0.01, burst=10)
        first, second = RedisLimiter(one), RedisLimiter(two)
        waits = await asyncio.gather(*(limiter.take("k", bucket)
                                       for _ in range(15) for limiter in (first, second)))
        assert sum(1 for w in waits if w == 0) == 10
        assert all(w > 10 for w in waits if w)  # a token every 100 s
        assert await first.take("other", bucket) == 0
        keys = [k.decode() for k in await one.keys("c360:rl:*")]
        assert sorted(keys) == ["c360:rl:k", "c360:rl:other"]
        assert 0 < await one.pttl("c360:rl:k") <= 1_001_000
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_down_falls_back_to_local_buckets() -> None:
    from redis.asyncio import Redis

    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        limiter = RedisLimiter(down)
        bucket = Bucket(rate_per_s=0.01, burst=2)
        assert [await limiter.take("k", bucket) for _ in range(3)][:2] == [0, 0]
        assert await limiter.take("k", bucket) > 0
    finally:
        await down.aclose()
