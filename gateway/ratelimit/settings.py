"""``[rate_limits]``: a token bucket per principal, defaults per role.

```toml
[rate_limits]
enabled = true

[rate_limits.roles.customer]     # each customer token: 5 requests/s, bursts of 20
rate_per_s = 5
burst = 20

[rate_limits.keys.reporting]     # one API key by name
rate_per_s = 50
burst = 100
```
With ``redis_url`` configured the buckets live on Redis and every worker shares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.config import Table
from adapters.errors import ConfigError
from resolvers.principal import Role


@dataclass(frozen=True)
class Bucket:
    rate_per_s: float
    burst: int


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
    keys: Mapping[str, Bucket] = field(default_factory=dict)
    """API key name → its own bucket."""


def _bucket(table: Table, base: Bucket) -> Bucket:
    bucket = Bucket(rate_per_s=table.number("rate_per_s", base.rate_per_s, minimum=0.001),
                    burst=table.integer("burst", base.burst, minimum=1))
    table.finish()
    return bucket


def parse_rate_limits(table: Table) -> RateLimitConfig:
    enabled = table.boolean("enabled", True)
    roles = dict(DEFAULT_BUCKETS)
    roles_table = table.table("roles")
    for name in list(roles_table.data):
        if name not in roles:
            raise ConfigError(roles_table.key(name), "not a role")
        roles[name] = _bucket(roles_table.table(name), roles[name])
    roles_table.finish()
    keys = {}
    keys_table = table.table("keys")
    for name in list(keys_table.data):
        keys[name] = _bucket(keys_table.table(name), DEFAULT_BUCKETS[Role.SERVICE.value])
    keys_table.finish()
    table.finish()
    return RateLimitConfig(enabled=enabled, roles=roles, keys=keys)
