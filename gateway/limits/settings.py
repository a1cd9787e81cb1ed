"""``[limits]`` and ``[persisted]``: per-role query limits and persisted operations.

```toml
[limits]
introspection = false        # __schema / __type (GraphiQL's docs need it: the demo turns it on)
suggestions = false          # "Did you mean …?" in error messages

[limits.default]             # every role, over the built-in defaults
max_depth = 12

[limits.roles.customer]      # one role
max_cost = 800

[persisted]
manifest = "persisted-operations.json"   # Apollo's manifest or a Relay/Hive {hash: document} map
apq = true                               # automatic persisted queries
apq_ttl_s = 86400
only_roles = ["customer"]                # these roles run manifest operations only
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.config import Table
from adapters.errors import ConfigError
from resolvers.principal import Role


@dataclass(frozen=True)
class RoleLimits:
    max_depth: int
    max_aliases: int
    max_root_fields: int
    max_tokens: int
    max_directives: int
    max_cost: int
    default_list_size: int = 20
    """The size assumed for a list without ``@listSize`` or a slicing argument."""


_STAFF = RoleLimits(max_depth=12, max_aliases=30, max_root_fields=10, max_tokens=5_000,
                    max_directives=20, max_cost=5_000)
_BULK = RoleLimits(max_depth=15, max_aliases=100, max_root_fields=100, max_tokens=20_000,
                   max_directives=50, max_cost=100_000)
DEFAULT_LIMITS: dict[str, RoleLimits] = {
    Role.CUSTOMER.value: RoleLimits(max_depth=10, max_aliases=15, max_root_fields=5,
                                    max_tokens=2_000, max_directives=10, max_cost=2_000),
    Role.STORE_ASSOCIATE.value: _STAFF,
    Role.AGENT.value: _STAFF,
    Role.BACKOFFICE.value: _BULK,
    Role.SERVICE.value: _BULK,
}
"""Built-in limits per role: a customer's app is held tightest; back office and services run
lists (50 customers with their orders) and get room for them."""


@dataclass(frozen=True)
class PersistedConfig:
    manifest: Path | None = None
    operations: Mapping[str, str] = field(default_factory=dict)
    """The manifest's documents by SHA-256 (checked when the config is read)."""
    apq: bool = True
    apq_ttl_s: float = 86_400.0
    apq_max_entries: int = 10_000
    only_roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LimitsConfig:
    introspection: bool = False
    suggestions: bool = False
    roles: Mapping[str, RoleLimits] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    persisted: PersistedConfig = field(default_factory=PersistedConfig)

    def for_role(self, role: str | None) -> RoleLimits:
        """A role's limits; no role (no principal) gets the tightest."""
        return self.roles.get(role or Role.CUSTOMER.value, self.roles[Role.CUSTOMER.value])


_NAMES = [f.name for f in dataclasses.fields(RoleLimits)]
MAX_DEPTH = 200
"""graphql-core's parser nesting limit (and the cost walk's)."""


def _integer(table: Table, name: str, default: int | None) -> int | None:
    value: int | None = table.integer(name, default, minimum=1)
    if name == "max_depth" and value is not None and value > MAX_DEPTH:
        raise ConfigError(table.key(name), f"must be at most {MAX_DEPTH} (the parser refuses "
                                           f"deeper documents)")
    return value


def _overrides(table: Table, base: RoleLimits) -> RoleLimits:
    values: dict[str, Any] = {name: _integer(table, name, getattr(base, name))
                              for name in _NAMES}
    table.finish()
    return dataclasses.replace(base, **values)


def parse_limits(table: Table) -> LimitsConfig:
    introspection = table.boolean("introspection", False)
    suggestions = table.boolean("suggestions", False)
    default_table = table.table("default")
    overridden = {n: v for n in _NAMES
                  if (v := _integer(default_table, n, None)) is not None}
    default_table.finish()
    roles = {role: dataclasses.replace(limits, **overridden)
             for role, limits in DEFAULT_LIMITS.items()}
    roles_table = table.table("roles")
    for name in list(roles_table.data):
        if name not in roles:
            raise ConfigError(roles_table.key(name), "not a role")
        roles[name] = _overrides(roles_table.table(name), roles[name])
    roles_table.finish()
    table.finish()
    return LimitsConfig(introspection=introspection, suggestions=suggestions, roles=roles)


def parse_persisted(table: Table, base: Path | None) -> PersistedConfig:
    manifest = table.string("manifest", None)
    path = None
    if manifest is not None:
        path = Path(manifest)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise ConfigError(table.key("manifest"), f"no such file: {path}")
    only = table.strings("only_roles", [])
    for role in only:
        if role not in {r.value for r in Role}:
            raise ConfigError(table.key("only_roles"), f"not a role: {role!r}")
    from gateway.limits.persisted import load_manifest

    config = PersistedConfig(manifest=path, operations=load_manifest(path) if path else {},
                             apq=table.boolean("apq", True),
                             apq_ttl_s=table.number("apq_ttl_s", 86_400.0, minimum=1),
                             apq_max_entries=table.integer("apq_max_entries", 10_000,
                                                           minimum=1),
                             only_roles=frozenset(only))
    table.finish()
    return config
