"""Claims and API keys → :class:`~resolvers.principal.Principal`."""

from __future__ import annotations

from typing import Any

from gateway.auth.settings import ApiKeyEntry, AuthConfig, ClaimNames
from gateway.auth.tokens import InvalidCredential
from resolvers.principal import Principal, Role
from schema.policy import SCOPES

_MISSING = object()


def claim(claims: dict[str, Any], name: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (an exact name wins: URL-like
    claim names have dots)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _role(value: Any) -> Role:
    names = value if isinstance(value, list) else [value]
    roles = {Role(n) for n in names if isinstance(n, str) and n in Role._value2member_map_}
    if len(roles) != 1:
        raise InvalidCredential("role")
    return roles.pop()


def _scopes(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        raise InvalidCredential("scopes")
    return frozenset(s for s in value if isinstance(s, str) and s in SCOPES)


def _text(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def from_claims(claims: dict[str, Any], names: ClaimNames, config: AuthConfig) -> Principal:
    subject = _text(claim(claims, names.subject))
    if subject is None:
        raise InvalidCredential("subject")
    role = _role(claim(claims, names.role))
    asked = _scopes(claim(claims, names.scopes))
    granted = config.grants.get(role.value, frozenset())
    if role is Role.SERVICE:
        scopes = asked or frozenset()
    else:
        scopes = granted if asked is None else granted & asked
    customer = _text(claim(claims, names.customer))
    store = _text(claim(claims, names.store))
    if role is Role.CUSTOMER and customer is None:
        raise InvalidCredential("customer claim")
    if role is Role.STORE_ASSOCIATE and store is None:
        raise InvalidCredential("store claim")
    expires = claims.get("exp")
    return Principal(subject=subject, role=role, scopes=scopes,
                     customer=customer if role is Role.CUSTOMER else None,
                     store=store if role is Role.STORE_ASSOCIATE else None, method="jwt",
                     expires_at=float(expires) if isinstance(expires, int | float) else None)


def from_api_key(entry: ApiKeyEntry, config: AuthConfig) -> Principal:
    scopes = entry.scopes if entry.role is Role.SERVICE else \
        config.grants.get(entry.role.value, frozenset()) & (entry.scopes or SCOPES.keys())
    return Principal(subject=f"apikey:{entry.name}", role=entry.role,
                     scopes=frozenset(scopes), method="apikey")
