"""The rate-limit middleware: a token bucket per principal (per subject, or per API key),
checked after authentication and before anything else runs. Over the limit: 429 with
``Retry-After`` and ``RATE_LIMITED``; no silo is called."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import orjson
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.config import Config
from gateway.ratelimit.buckets import Limiter, MemoryLimiter, RedisLimiter
from gateway.ratelimit.settings import Bucket, RateLimitConfig
from resolvers.principal import Principal


def bucket_key(principal: Principal) -> str:
    """The bucket's name: ``apikey:<name>``, or ``sub:<sha256 of the subject>`` since a
    subject may be an email address (no personal data in Redis keys or logs)."""
    if principal.method == "apikey":
        return principal.subject
    return "sub:" + hashlib.sha256(principal.subject.encode("utf-8")).hexdigest()[:32]


class RateLimit:
    """ASGI middleware (module doc). The limiter is chosen on first use: on Redis when the
    app's lifespan opened a client (``app.state.redis``), else in process."""

    def __init__(self, app: ASGIApp, config: RateLimitConfig,
                 limiter: Limiter | None = None) -> None:
        self.app = app
        self.config = config
        self.limiter = limiter
        self.keys = {f"apikey:{name}": bucket for name, bucket in config.keys.items()}

    def _limiter(self, scope: Scope) -> Limiter:
        if self.limiter is None:
            app = scope.get("app")
            redis = getattr(getattr(app, "state", None), "redis", None)
            self.limiter = RedisLimiter(redis) if redis is not None else MemoryLimiter()
        return self.limiter

    def _bucket(self, principal: Principal) -> Bucket:
        if principal.method == "apikey":
            own = self.keys.get(principal.subject)
            if own is not None:
                return own
        return self.config.roles[principal.role.value]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        principal = state.get("principal")
        if scope["type"] != "http" or not isinstance(principal, Principal) or \
                scope.get("path") != "/graphql":
            await self.app(scope, receive, send)
            return
        wait = await self._limiter(scope).take(bucket_key(principal), self._bucket(principal))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        body = orjson.dumps({"errors": [{
            "message": f"too many requests; retry after {seconds} s",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": seconds}}]})
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(seconds).encode())]})
        await send({"type": "http.response.body", "body": body})


def rate_limiting(config: Config) -> list[Middleware]:
    """The middleware that enforces rate limits per principal (outermost first)."""
    if not config.rate_limits.enabled:
        return []
    return [Middleware(RateLimit, config=config.rate_limits)]
