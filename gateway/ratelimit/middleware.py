"""The rate-limit middleware (placeholder until the buckets land)."""

from __future__ import annotations

from starlette.middleware import Middleware

from gateway.config import Config


def rate_limiting(config: Config) -> list[Middleware]:
    """The middleware that enforces rate limits per principal (outermost first)."""
    return []
