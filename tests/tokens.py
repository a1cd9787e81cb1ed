"""Credentials for tests: tokens signed with the sandbox's local key, as `c360 token` signs
them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.auth.signing import mint
from gateway.config import parse_config


def token(config_data: dict[str, Any], role: str = "backoffice", *,
          customer: str | None = None, store: str | None = None,
          scopes: Iterable[str] = (), subject: str | None = None, ttl_s: int = 3600) -> str:
    """A token the gateway configured with ``config_data`` (a sandbox's) accepts."""
    jwt = parse_config(config_data, env={}).auth.jwt
    assert jwt is not None, "the config has no [auth.jwt]"
    return mint(jwt, role, subject=subject, customer=customer, store=store, scopes=scopes,
                ttl_s=ttl_s)


def bearer(config_data: dict[str, Any], role: str = "backoffice", **kwargs: Any,
           ) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(config_data, role, **kwargs)}"}
