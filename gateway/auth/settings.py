"""``[auth]``: how callers authenticate and what each role is granted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.config import Table
from schema.policy import DEFAULT_GRANTS


@dataclass(frozen=True)
class AuthConfig:
    grants: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_GRANTS))
    """Role name → the scopes it grants."""


def parse_auth(table: Table) -> AuthConfig:
    table.finish()
    return AuthConfig()
