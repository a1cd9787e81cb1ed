"""Signing tokens with a local key (``c360 token``): for the sandbox, the demo, tests and
benchmarks. A production gateway only verifies tokens its identity provider signs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from adapters.errors import ConfigError
from gateway.auth.settings import JwtConfig
from resolvers.principal import Role
from schema.policy import SCOPES


def _set(claims: dict[str, Any], name: str, value: Any) -> None:
    """Put a claim at a name or a dotted path, as the claim names say where to read it."""
    if "://" in name or "." not in name:
        claims[name] = value
        return
    *parents, last = name.split(".")
    node = claims
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _signing_key(config: JwtConfig) -> Any:
    assert config.signing_key_file is not None
    try:
        return load_pem_private_key(config.signing_key_file.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError("auth.jwt.signing_key_file", f"{config.signing_key_file} is not an "
                                                       f"unencrypted PEM private key") from None


def _algorithm(config: JwtConfig, key: Any) -> str:
    """The first allowed algorithm the key signs with."""
    prefixes: tuple[str, ...] = ()
    if isinstance(key, rsa.RSAPrivateKey):
        prefixes = ("RS", "PS")
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        prefixes = ("ES",)
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        prefixes = ("EdDSA",)
    found = next((a for a in config.algorithms if prefixes and a.startswith(prefixes)), None)
    if found is None:
        raise ConfigError("auth.jwt.algorithms", "none of them signs with the key in "
                                                 "signing_key_file")
    return found


def mint(config: JwtConfig, role: str, *, subject: str | None = None,
         customer: str | None = None, store: str | None = None,
         scopes: Iterable[str] = (), ttl_s: int = 3600, now: float | None = None) -> str:
    """A token the gateway configured with ``config`` accepts."""
    if config.signing_key_file is None:
        raise ConfigError("auth.jwt.signing_key_file", "needed to sign tokens (the sandbox "
                                                       "writes one)")
    try:
        Role(role)
    except ValueError:
        raise ConfigError("role", f"unknown role {role!r}; one of "
                                  f"{', '.join(r.value for r in Role)}") from None
    scopes = list(scopes)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ConfigError("scopes", f"unknown scopes {', '.join(unknown)}")
    if role == Role.CUSTOMER and not customer:
        raise ConfigError("customer", "a customer token names its customer (--customer)")
    if role == Role.STORE_ASSOCIATE and not store:
        raise ConfigError("store", "a store associate token names its store (--store)")
    key = _signing_key(config)
    algorithm = _algorithm(config, key)
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"iss": config.issuer, "aud": config.audience[0], "iat": issued,
                              "nbf": issued, "exp": issued + ttl_s, "jti": uuid.uuid4().hex}
    names = config.claims
    _set(claims, names.subject, subject or f"{role}-{uuid.uuid4().hex[:8]}")
    _set(claims, names.role, role)
    if scopes:
        _set(claims, names.scopes, " ".join(scopes))
    if customer:
        _set(claims, names.customer, customer)
    if store:
        _set(claims, names.store, store)
    return jwt.encode(claims, key, algorithm=algorithm)
