"""The authentication middleware (placeholder until the backends land)."""

from __future__ import annotations

from starlette.middleware import Middleware

from gateway.config import Config


def authentication(config: Config) -> list[Middleware]:
    """The middleware that authenticates requests to ``/graphql`` (outermost first)."""
    return []
