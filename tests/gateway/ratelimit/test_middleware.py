"""The rate-limit middleware on its own: only authenticated ``/graphql`` requests count, and a
refusal is answered before the app runs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from gateway.ratelimit.buckets import MemoryLimiter, RedisLimiter
from gateway.ratelimit.middleware import RateLimit, bucket_key
from gateway.ratelimit.settings import Bucket, RateLimitConfig
from resolvers.principal import Principal, Role

pytestmark = pytest.mark.anyio
ONE = RateLimitConfig(roles={role.value: Bucket(0.5, 1) for role in Role},
                      keys={"reporting": Bucket(0.5, 2)})
AGENT = Principal(subject="jane@example.com", role=Role.AGENT, scopes=frozenset())


class App:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1


async def _call(middleware: RateLimit, principal: Principal | None, path: str = "/graphql",
                kind: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": kind, "path": path, "state": {"principal": principal} if principal else {}}
    await middleware(scope, None, send)  # type: ignore[arg-type]
    return sent


async def test_over_the_limit_the_app_does_not_run() -> None:
    app = App()
    middleware = RateLimit(app, ONE, MemoryLimiter())
    assert await _call(middleware, AGENT) == [] and app.calls == 1
    start, body = await _call(middleware, AGENT)
    assert app.calls == 1
    assert start["status"] == 429
    headers = dict(start["headers"])
    assert headers[b"retry-after"] == b"2"  # one token every 2 s
    assert headers[b"content-type"] == b"application/json"
    assert orjson.loads(body["body"]) == {"errors": [{
        "message": "too many requests; retry after 2 s",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": 2}}]}
    assert int(headers[b"content-length"]) == len(body["body"])


async def test_only_authenticated_graphql_requests_count() -> None:
    app = App()
    middleware = RateLimit(app, ONE, MemoryLimiter())
    for _ in range(3):
        assert await _call(middleware, None) == []  # authentication decided already
        assert await _call(middleware, AGENT, path="/healthz") == []
        assert await _call(middleware, AGENT, kind="websocket") == []
    assert app.calls == 9


async def test_an_api_key_with_its_own_bucket_uses_it() -> None:
    app = App()
    middleware = RateLimit(app, ONE, MemoryLimiter())
    key = Principal(subject="apikey:reporting", role=Role.SERVICE, scopes=frozenset(),
                    method="apikey")
    other = Principal(subject="apikey:sync", role=Role.SERVICE, scopes=frozenset(),
                      method="apikey")
    assert [len(await _call(middleware, key)) for _ in range(3)] == [0, 0, 2]
    assert [len(await _call(middleware, other)) for _ in range(2)] == [0, 2]
    assert bucket_key(key) == "apikey:reporting"
    impostor = Principal(subject="apikey:reporting", role=Role.SERVICE, scopes=frozenset())
    assert bucket_key(impostor).startswith("sub:")  # a token's subject is never a key's
    assert "jane" not in bucket_key(AGENT) and len(bucket_key(AGENT)) == 36


async def test_the_limiter_lives_on_redis_when_the_app_has_a_client() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url("redis://127.0.0.1:1/0")
    try:
        middleware = RateLimit(App(), ONE)
        with_redis = SimpleNamespace(state=SimpleNamespace(redis=client))
        assert isinstance(middleware._limiter({"app": with_redis}), RedisLimiter)
        middleware = RateLimit(App(), ONE)
        without = SimpleNamespace(state=SimpleNamespace(redis=None))
        assert isinstance(middleware._limiter({"app": without}), MemoryLimiter)
    finally:
        await client.aclose()
