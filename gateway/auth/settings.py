"""``[auth]``: how callers authenticate and what each role is granted.

```toml
[auth.jwt]
issuer = "https://login.example.com/"
audience = "c360"
jwks_url = "https://login.example.com/.well-known/jwks.json"   # or public_key_file = "…pem"
algorithms = ["RS256"]          # RS256, ES256, EdDSA; HS256 only with shared_secret
leeway_s = 30

[auth.jwt.claims]               # where your identity provider puts things
role = "https://c360.example.com/role"
customer = "customer_id"
store = "store"

[[auth.api_keys]]               # c360 apikey create --name reporting --scopes catalog:read
name = "reporting"
hash = "sha256:…"
scopes = ["catalog:read"]

[auth.roles.agent]              # override what a role grants
scopes = ["customers:lookup", "contact:read", "orders:read"]
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from adapters.config import Table
from adapters.errors import ConfigError
from resolvers.principal import Role
from schema.policy import DEFAULT_GRANTS, SCOPES

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")
DEFAULT_ALGORITHMS = ("RS256", "ES256", "EdDSA")
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ClaimNames:
    """Where the principal's parts are in a token: a claim name, or a dotted path into
    nested objects (a claim whose name has dots, such as a URL, is read as it is first)."""

    subject: str = "sub"
    role: str = "role"
    scopes: str = "scope"
    customer: str = "customer_id"
    store: str = "store"


@dataclass(frozen=True)
class JwtConfig:
    issuer: str
    audience: tuple[str, ...]
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    jwks_url: str | None = None
    public_key_file: Path | None = None
    shared_secret: str | None = field(default=None, repr=False)
    leeway_s: float = 30.0
    jwks_refresh_s: float = 60.0
    """At most one JWKS refetch per this many seconds when a token names an unknown key."""
    jwks_cache_s: float = 3600.0
    claims: ClaimNames = field(default_factory=ClaimNames)
    signing_key_file: Path | None = None
    """A private key for ``c360 token`` (the sandbox's); the gateway never signs with it."""


@dataclass(frozen=True)
class ApiKeyEntry:
    name: str
    digest: str
    """The key's SHA-256, hex."""
    scopes: frozenset[str]
    role: Role = Role.SERVICE


@dataclass(frozen=True)
class AuthConfig:
    jwt: JwtConfig | None = None
    api_keys: tuple[ApiKeyEntry, ...] = ()
    grants: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_GRANTS))
    """Role name → the scopes it grants."""

    @property
    def configured(self) -> bool:
        return self.jwt is not None or bool(self.api_keys)


def _scopes(table: Table, key: str) -> frozenset[str]:
    values = table.strings(key, [])
    unknown = [s for s in values if s not in SCOPES]
    if unknown:
        raise ConfigError(table.key(key), f"unknown scopes {', '.join(map(repr, unknown))}; "
                                          f"known: {', '.join(sorted(SCOPES))}")
    return frozenset(values)


def _role(table: Table, key: str, default: str) -> Role:
    value = table.string(key, default)
    try:
        return Role(value)
    except ValueError:
        raise ConfigError(table.key(key), f"unknown role {value!r}; one of "
                                          f"{', '.join(r.value for r in Role)}") from None


def _check_public_key(table: Table, path: Path, algorithms: tuple[str, ...]) -> None:
    try:
        key = load_pem_public_key(path.read_bytes())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(table.key("public_key_file"), f"{path} is not a PEM public key "
                                                        f"(-----BEGIN PUBLIC KEY-----)") from None
    families = {rsa.RSAPublicKey: ("RSA", ("RS", "PS")),
                ec.EllipticCurvePublicKey: ("EC", ("ES",)),
                ed25519.Ed25519PublicKey: ("Ed25519", ("EdDSA",))}
    name, prefixes = next((f for kind, f in families.items() if isinstance(key, kind)),
                          ("unsupported", ()))
    if not any(a.startswith(prefixes) for a in algorithms if a in ASYMMETRIC):
        raise ConfigError(table.key("algorithms"), f"none of them verifies with the {name} key "
                                                   f"in public_key_file")


def _jwt(table: Table, base: Path | None) -> JwtConfig:
    def path(key: str) -> Path | None:
        value = table.string(key, None)
        if value is None:
            return None
        found = Path(value)
        if not found.is_absolute() and base is not None:
            found = base / found
        if not found.is_file():
            raise ConfigError(table.key(key), f"no such file: {found}")
        return found

    audience = table.value("audience")
    if isinstance(audience, str):
        audience = [audience]
    if not isinstance(audience, list) or not audience or not all(
            isinstance(a, str) and a for a in audience):
        raise ConfigError(table.key("audience"), "must be a string or a list of strings")
    secret = table.string("shared_secret", None)
    algorithms = tuple(table.strings("algorithms", list(DEFAULT_ALGORITHMS)))
    for algorithm in algorithms:
        if algorithm == "HS256":
            if not secret:
                raise ConfigError(table.key("algorithms"),
                                  "HS256 needs auth.jwt.shared_secret")
        elif algorithm not in ASYMMETRIC:
            raise ConfigError(table.key("algorithms"), f"{algorithm!r} is not allowed; use "
                                                       f"RS256, ES256, EdDSA or HS256")
    if not algorithms:
        raise ConfigError(table.key("algorithms"), "must not be empty")
    if secret and len(secret) < 32:
        raise ConfigError(table.key("shared_secret"), "must be at least 32 characters")
    jwks_url = table.url("jwks_url", None)
    public_key_file = path("public_key_file")
    if jwks_url and public_key_file:
        raise ConfigError(table.key("jwks_url"), "give jwks_url or public_key_file, not both")
    if not (jwks_url or public_key_file or secret):
        raise ConfigError(table.key("jwks_url"),
                          "give jwks_url, public_key_file or shared_secret")
    if (jwks_url or public_key_file) and not any(a in ASYMMETRIC for a in algorithms):
        raise ConfigError(table.key("algorithms"), "list the algorithm of the public keys")
    if secret and "HS256" not in algorithms:
        raise ConfigError(table.key("algorithms"), "list HS256: the shared_secret verifies "
                                                   "HS256 tokens only")
    keyless = [a for a in algorithms if a in ASYMMETRIC and not (jwks_url or public_key_file)]
    if keyless:
        raise ConfigError(table.key("algorithms"), f"{', '.join(keyless)} needs jwks_url or "
                                                   f"public_key_file")
    if public_key_file is not None:
        _check_public_key(table, public_key_file, algorithms)
    claims_table = table.table("claims")
    defaults = ClaimNames()
    claims = ClaimNames(**{name: claims_table.string(name, getattr(defaults, name))
                           for name in ("subject", "role", "scopes", "customer", "store")})
    claims_table.finish()
    config = JwtConfig(
        issuer=table.string("issuer"), audience=tuple(audience), algorithms=algorithms,
        jwks_url=jwks_url, public_key_file=public_key_file, shared_secret=secret,
        leeway_s=table.number("leeway_s", 30.0, minimum=0),
        jwks_refresh_s=table.number("jwks_refresh_s", 60.0, minimum=0),
        jwks_cache_s=table.number("jwks_cache_s", 3600.0, minimum=0),
        claims=claims, signing_key_file=path("signing_key_file"))
    table.finish()
    return config


def parse_auth(table: Table, base: Path | None = None) -> AuthConfig:
    """Read ``[auth]``; relative key file paths are read from ``base`` (the config's folder)."""
    jwt_table = table.table("jwt")
    jwt = _jwt(jwt_table, base) if jwt_table.data else None
    if jwt is None:
        jwt_table.finish()
    keys: list[ApiKeyEntry] = []
    for entry in table.tables("api_keys"):
        digest = entry.string("hash").lower()
        if not _HASH.match(digest):
            raise ConfigError(entry.key("hash"), "must be sha256:<64 hex digits> "
                                                 "(c360 apikey create prints it)")
        name = entry.string("name")
        if any(k.name == name for k in keys):
            raise ConfigError(entry.key("name"), f"two keys are named {name!r}")
        keys.append(ApiKeyEntry(name=name, digest=digest.removeprefix("sha256:"),
                                scopes=_scopes(entry, "scopes"),
                                role=_role(entry, "role", Role.SERVICE.value)))
        entry.finish()
    grants = dict(DEFAULT_GRANTS)
    roles = table.table("roles")
    for name in list(roles.data):
        if name not in {r.value for r in Role}:
            raise ConfigError(roles.key(name), "not a role")
        role_table = roles.table(name)
        grants[name] = _scopes(role_table, "scopes")
        role_table.finish()
    roles.finish()
    table.finish()
    return AuthConfig(jwt=jwt, api_keys=tuple(keys), grants=grants)
