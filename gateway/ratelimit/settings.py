"""``[rate_limits]``: a token bucket per principal, defaults per role.

```toml
[rate_limits]
enabled = true

[rate_limits.default]            # optional: what every role gets unless it has its own
rate_per_s = 10

[rate_limits.roles.customer]     # each customer token: 5 requests/s, bursts of 20
rate_per_s = 5
burst = 20

[rate_limits.keys.reporting]     # one API key (auth.api_keys) by name; unset fields come
rate_per_s = 50                  # from its role's bucket
burst = 100
```
Built in: customer 5/s burst 20, store_associate and agent 10/30, backoffice 20/50,
service 100/200. With ``redis_url`` configured the buckets live on Redis and every worker
shares them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.config import Table
from adapters.errors import ConfigError
from resolvers.principal import Role


@dataclass(frozen=True, slots=True)
class Bucket:
    rate_per_s: float
    """Tokens added per second (a request takes one)."""
    burst: int
    """The bucket's size: requests allowed at once after a quiet spell."""


DEFAULT_BUCKETS: dict[str, Bucket] = {
    Role.CUSTOMER.value: Bucket(5, 20),
    Role.STORE_ASSOCIATE.value: Bucket(10, 30),
    Role.AGENT.value: Bucket(10, 30),
    Role.BACKOFFICE.value: Bucket(20, 50),
    Role.SERVICE.value: Bucket(100, 200),
}


@dataclass(frozen=True)
class RateLimitConfig:
    enabled: bool = True
    roles: Mapping[str, Bucket] = field(default_factory=lambda: dict(DEFAULT_BUCKETS))
    """Role name → the bucket each of its principals gets."""
    keys: Mapping[str, Bucket] = field(default_factory=dict)
    """API key name → its own bucket (only keys configured under ``rate_limits.keys``)."""


@dataclass(frozen=True, slots=True)
class _Fields:
    """The fields one table sets, to lay over another bucket."""

    rate_per_s: float | None
    burst: int | None

    def over(self, base: Bucket) -> Bucket:
        return Bucket(base.rate_per_s if self.rate_per_s is None else self.rate_per_s,
                      base.burst if self.burst is None else self.burst)


def _fields(table: Table) -> _Fields:
    rate = table.number("rate_per_s", None, minimum=0.001)
    if rate is not None and not math.isfinite(rate):
        raise ConfigError(table.key("rate_per_s"), "must be a finite number")
    fields = _Fields(rate, table.integer("burst", None, minimum=1))
    table.finish()
    return fields


def parse_rate_limits(table: Table, api_keys: Mapping[str, Role] | None = None,
                      ) -> RateLimitConfig:
    """Read ``[rate_limits]``; ``api_keys`` (name → role, from ``auth.api_keys``) lets a
    key's own bucket start from its role's and refuses a name that is no configured key."""
    api_keys = api_keys or {}
    enabled = table.boolean("enabled", True)
    default = _fields(table.table("default"))
    roles_table = table.table("roles")
    for name in roles_table.data:
        if name not in DEFAULT_BUCKETS:
            raise ConfigError(roles_table.key(name), f"not a role ({', '.join(Role)})")
    roles = {name: _fields(roles_table.table(name)).over(default.over(base))
             for name, base in DEFAULT_BUCKETS.items()}
    roles_table.finish()
    keys_table = table.table("keys")
    for name in keys_table.data:
        if name not in api_keys:
            raise ConfigError(keys_table.key(name), "names no API key in auth.api_keys")
    keys: dict[str, Bucket] = {}
    for name, role in api_keys.items():
        own = _fields(keys_table.table(name))
        if own != _Fields(None, None):
            keys[name] = own.over(roles[role.value])
    keys_table.finish()
    table.finish()
    return RateLimitConfig(enabled=enabled, roles=roles, keys=keys)
