"""The circuit breaker's states, alone (each worker's own) and shared by two workers on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapters.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, BreakerPolicy
from adapters.errors import CircuitOpen, UpstreamRateLimited, UpstreamUnavailable
from adapters.http import RetryPolicy, VendorHTTP

pytestmark = pytest.mark.anyio
POLICY = BreakerPolicy(failures=3, window_s=10.0, cooldown_s=5.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Workers = Callable[[Clock], AsyncIterator[tuple[Breaker, Breaker]]]


async def _alone(clock: Clock) -> AsyncIterator[tuple[Breaker, Breaker]]:
    breaker = Breaker("zendesk", POLICY, clock=clock)
    yield breaker, breaker


async def _on_redis(clock: Clock, url: str) -> AsyncIterator[tuple[Breaker, Breaker]]:
    from redis.asyncio import Redis

    from gateway.breakers import RedisBreakers

    clients = [Redis.from_url(url), Redis.from_url(url)]
    one, two = (Breaker("zendesk", POLICY, shared=RedisBreakers(c), clock=clock)
                for c in clients)
    yield one, two
    for client in clients:
        await client.aclose()


@pytest.fixture(params=["alone", pytest.param("redis", marks=pytest.mark.redis)])
def workers(request: pytest.FixtureRequest) -> Callable[[Clock], Any]:
    """Two workers' breakers of one source: the same object alone, two over Redis."""
    if request.param == "alone":
        return _alone
    url = request.getfixturevalue("redis_url")
    return lambda clock: _on_redis(clock, url)


async def sync(a: Breaker, b: Breaker) -> None:
    """What the background reader does: hand the shared state to both workers."""
    shared: Any = a.shared
    if shared is None:
        return
    states = await shared.states(["zendesk"])
    for breaker in (a, b):
        breaker.observe(*states["zendesk"])


async def fail(breaker: Breaker) -> None:
    probe = await breaker.admit()
    await breaker.failed(probe)


async def tripped_then_cooled(one: Breaker, two: Breaker, clock: Clock) -> None:
    """``one`` trips the breaker, both workers learn it, then its cool-down passes."""
    for _ in range(3):
        await fail(one)
    await sync(one, two)
    clock.now += 5.1


async def test_failures_in_a_row_open_it_everywhere_and_calls_fail_fast(
        workers: Callable[[Clock], Any]) -> None:
    clock = Clock()
    async for one, two in workers(clock):
        await fail(one)
        await fail(two)
        assert one.state == CLOSED
        await fail(one)  # the third in a row, counted across both workers
        assert one.state == OPEN
        await sync(one, two)
        for breaker in (one, two):
            with pytest.raises(CircuitOpen) as refused:
                await breaker.admit()
            assert refused.value.code == "SOURCE_UNAVAILABLE"
            assert 4.0 < refused.value.retry_in <= 5.0


async def test_a_success_starts_the_count_again(workers: Callable[[Clock], Any]) -> None:
    clock = Clock()
    async for one, two in workers(clock):
        await fail(one)
        await fail(one)
        await one.succeeded(await one.admit())
        await fail(two)
        await fail(one)
        assert (one.state, two.state) == (CLOSED, CLOSED)


async def test_failures_further_apart_than_the_window_do_not_add_up() -> None:
    clock = Clock()
    breaker = Breaker("zendesk", POLICY, clock=clock)
    await fail(breaker)
    await fail(breaker)
    clock.now += 11
    await fail(breaker)
    assert breaker.state == CLOSED
    await fail(breaker)
    await fail(breaker)
    assert breaker.state == OPEN


async def test_after_the_cooldown_one_probe_closes_it(workers: Callable[[Clock], Any]) -> None:
    clock = Clock()
    async for one, two in workers(clock):
        await tripped_then_cooled(one, two, clock)
        assert await one.admit() is True  # the probe
        assert one.state == HALF_OPEN
        with pytest.raises(CircuitOpen):
            await two.admit()  # one probe at a time, whichever worker
        await one.succeeded(True)
        await sync(one, two)
        assert (one.state, two.state) == (CLOSED, CLOSED)
        assert await two.admit() is False


async def test_a_failed_probe_opens_it_for_another_cooldown(
        workers: Callable[[Clock], Any]) -> None:
    clock = Clock()
    async for one, two in workers(clock):
        await tripped_then_cooled(one, two, clock)
        probe = await two.admit()
        assert probe is True
        await two.failed(probe)
        await sync(one, two)
        assert (one.state, two.state) == (OPEN, OPEN)
        clock.now += 4
        with pytest.raises(CircuitOpen):
            await one.admit()


async def test_a_dead_redis_leaves_each_worker_its_own_breaker() -> None:
    from redis.asyncio import Redis

    from gateway.breakers import RedisBreakers

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    clock = Clock()
    breaker = Breaker("zendesk", POLICY, shared=RedisBreakers(dead), clock=clock)
    for _ in range(3):
        await fail(breaker)
    assert breaker.state == OPEN
    clock.now += 5.1
    assert await breaker.admit() is True
    await breaker.succeeded(True)
    assert breaker.state == CLOSED
    await dead.aclose()


def _vendor(handler: Callable[[httpx.Request], httpx.Response], breaker: Breaker
            ) -> VendorHTTP:
    async def no_sleep(seconds: float) -> None:
        return None

    http = VendorHTTP("zendesk", httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                      base_url="http://zendesk", headers={}, timeout=1.0,
                      retry=RetryPolicy(attempts=3), sleep=no_sleep)
    http.breaker = breaker
    return http


async def test_an_open_breaker_attempts_no_connection_and_probes_once() -> None:
    calls: list[str] = []
    up = False

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={}) if up else httpx.Response(503)

    clock = Clock()
    http = _vendor(handler, Breaker("zendesk", POLICY, clock=clock))
    with pytest.raises(UpstreamUnavailable) as first:
        await http.send("GET", "/a", idempotent=True)
    assert not isinstance(first.value, CircuitOpen)
    assert len(calls) == 3  # the third failure in a row opened it: no more retries
    for _ in range(20):
        with pytest.raises(CircuitOpen):
            await http.send("GET", "/a", idempotent=True)
    assert len(calls) == 3
    clock.now += 5.1
    with pytest.raises(UpstreamUnavailable):
        await http.send("GET", "/a", idempotent=True)
    assert len(calls) == 4, "a probe is one call, never retried"
    clock.now += 5.1
    up = True
    await http.send("GET", "/a", idempotent=True)
    await http.send("GET", "/a", idempotent=True)
    assert len(calls) == 6 and http.breaker is not None and http.breaker.state == CLOSED


async def test_answers_that_are_not_outages_do_not_open_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429 if request.url.path == "/busy" else 404)

    http = _vendor(handler, Breaker("zendesk", POLICY, clock=Clock()))
    for _ in range(5):
        with pytest.raises(UpstreamRateLimited):
            await http.send("GET", "/busy", idempotent=False)
        await http.send("GET", "/gone", idempotent=True, allow=frozenset({404}))
    assert http.breaker is not None and http.breaker.state == CLOSED
