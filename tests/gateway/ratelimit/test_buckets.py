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
        keys = [k if isinstance(k, str) else k.decode() for k in await one.keys("c360:rl:*")]
        assert sorted(keys) == ["c360:rl:k", "c360:rl:other"]
        assert 0 < await one.pttl("c360:rl:k") <= 1_001_000
    finally:
        await one.aclose()
        await two.aclose()


async def test_past_its_size_the_idlest_bucket_is_dropped() -> None:
    limiter = MemoryLimiter(Clock(), max_buckets=2)
    bucket = Bucket(rate_per_s=0.01, burst=1)
    assert await limiter.take("a", bucket) == 0
    assert await limiter.take("b", bucket) == 0
    assert await limiter.take("a", bucket) > 0  # refused, yet used: b is now the idlest
    assert await limiter.take("c", bucket) == 0
    assert list(limiter.buckets) == ["a", "c"]
    assert await limiter.take("a", bucket) > 0  # a caller hammering away keeps its bucket
    assert await limiter.take("b", bucket) == 0  # b's was dropped: full again


@pytest.mark.redis
async def test_the_redis_bucket_refills_on_the_servers_clock(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        limiter = RedisLimiter(client, clock=lambda: 0.0)  # the worker's clock stands still
        bucket = Bucket(rate_per_s=20, burst=2)
        assert [await limiter.take("k", bucket) for _ in range(2)] == [0, 0]
        wait = await limiter.take("k", bucket)
        assert 0 < wait <= 0.05
        await asyncio.sleep(0.12)
        assert await limiter.take("k", bucket) == 0
        assert await limiter.take("k", bucket) == 0
        assert await limiter.take("k", bucket) > 0  # refilled 2 (its burst), not more
    finally:
        await client.aclose()


async def test_redis_down_falls_back_to_local_buckets_and_warns_once(
        caplog: pytest.LogCaptureFixture) -> None:
    from redis.asyncio import Redis

    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    clock = Clock()
    try:
        limiter = RedisLimiter(down, clock=clock)
        bucket = Bucket(rate_per_s=0.01, burst=2)
        with caplog.at_level("WARNING", logger="c360.ratelimit"):
            assert [await limiter.take("sub:secret", bucket) for _ in range(2)] == [0, 0]
            assert await limiter.take("sub:secret", bucket) > 0
            clock.now += 5  # past the retry delay: Redis is tried again, still down
            assert await limiter.take("sub:other", bucket) == 0
        [warning] = [r for r in caplog.records if r.name == "c360.ratelimit"]
        assert "ConnectionError" in warning.getMessage()
        assert "secret" not in warning.getMessage() and "127.0.0.1" not in warning.getMessage()
    finally:
        await down.aclose()


@pytest.mark.redis
async def test_while_redis_fails_it_is_left_alone_then_shared_again(
        redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    client = Redis.from_url(redis_url)
    clock = Clock()
    try:
        limiter = RedisLimiter(client, clock=clock, retry_s=1.0)
        script, calls = limiter.script, []

        async def failing(**kwargs: object) -> object:
            calls.append(kwargs)
            raise RedisConnectionError("refused")

        limiter.script = failing
        bucket = Bucket(rate_per_s=0.01, burst=5)
        assert [await limiter.take("k", bucket) for _ in range(3)] == [0, 0, 0]
        assert len(calls) == 1  # the next two did not wait on a failing Redis
        limiter.script = script
        assert await limiter.take("k", bucket) == 0  # still inside the retry delay: local
        assert await client.exists("c360:rl:k") == 0
        clock.now += 1.5
        with caplog.at_level("INFO", logger="c360.ratelimit"):
            assert await limiter.take("k", bucket) == 0
        assert await client.exists("c360:rl:k") == 1  # shared again
        assert any("again" in r.getMessage() for r in caplog.records)
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_stalled_redis_costs_a_request_at_most_its_timeout(redis_url: str) -> None:
    from redis.asyncio import Redis

    client, admin = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        limiter = RedisLimiter(client, timeout_s=0.1)
        bucket = Bucket(rate_per_s=0.01, burst=5)
        assert await limiter.take("k", bucket) == 0
        await admin.client_pause(500)
        try:
            started = asyncio.get_running_loop().time()
            assert await limiter.take("k", bucket) == 0
            assert asyncio.get_running_loop().time() - started < 0.3
            assert "k" in limiter.fallback.buckets  # answered by this worker's own bucket
        finally:
            await admin.client_unpause()  # answered once the pause ends
    finally:
        await client.aclose()
        await admin.aclose()
