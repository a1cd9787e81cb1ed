"""The gateway's configuration: one TOML file (``c360 sandbox`` writes a ready one) plus
``C360_…`` environment variables, which override any key (secrets belong there).

A bad file fails at start with a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters.config import Table
from adapters.errors import ConfigError
from adapters.kinds import SourceConfig, parse_source
from gateway.auth.settings import AuthConfig, parse_auth
from gateway.breakers import BreakerConfig, parse_breakers
from gateway.cache import CacheConfig, parse_cache
from gateway.limits.settings import LimitsConfig, parse_limits, parse_persisted
from gateway.ratelimit.settings import RateLimitConfig, parse_rate_limits
from gateway.telemetry.settings import TelemetryConfig, parse_telemetry
from identity.matching import RULE_ORDER, MatchRules
from identity.names import LOCALES as NAME_LOCALES
from identity.normalize import (
    DEFAULT_ALIASES,
    DEFAULT_DOT_INSENSITIVE,
    DEFAULT_PLUS_TAG,
    EmailRules,
)

FIELDS = ("name", "email", "phone", "address")
DEFAULT_IDENTITY_URL = "sqlite+aiosqlite:///c360-identity.sqlite"


@dataclass(frozen=True)
class GatewaySettings:
    request_budget_ms: int = 2000
    """From a request's arrival to its answer."""
    max_in_flight: int = 128
    """GraphQL requests one worker admits at once, running and queued (a hard cap: more are
    refused at once, 503 ``OVERLOADED``). See :mod:`gateway.admission`."""
    queue_wait_ms: int = 500
    """The longest predicted wait for the CPU a request that must queue is admitted with;
    longer (or not finishing within its budget) is refused at arrival (503, ``OVERLOADED``).
    Up to the budget, a longer wait trades latency for fewer refusals."""
    max_loop_lag_ms: int = 50
    """Event-loop lag above which the worker narrows its running window (fewer requests at
    once; the others wait their turn in its queue); the narrowest window."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the gateway (CORS); none by default."""
    max_body_bytes: int = 1_048_576
    """A larger request body is refused (413) before it is read."""


@dataclass(frozen=True)
class StoreConfig:
    """One physical store and its location id in each source that knows it."""

    code: str
    name: str
    locations: Mapping[str, str]


@dataclass(frozen=True)
class IdentityConfig:
    database_url: str = DEFAULT_IDENTITY_URL
    default_region: str = "US"
    regions: tuple[str, ...] = ()
    cache_ttl_s: float = 30.0
    refresh_s: float = 30.0
    """How often a serving gateway crawls the sources' change feeds, and how old a person's
    last live re-check may be before a read re-checks them (0: neither)."""
    rules: MatchRules = field(default_factory=MatchRules)
    email_rules: EmailRules = field(default_factory=EmailRules)


@dataclass(frozen=True)
class SurvivorshipConfig:
    """Source priority per profile field (name, email, phone, address); ties and unlisted
    sources fall back to the most recently updated record."""

    default: tuple[str, ...]
    fields: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class SagaConfig:
    """``[sagas]``: how mutations' sagas run."""

    budget_ms: int = 20_000
    """How long a mutation's request waits for its saga (longer than a read's budget: a
    saga calls several silos one after the other). A saga not finished by then goes on; the
    answer says so, and repeating the call with the same key gets its result."""
    lease_s: float = 30.0
    """How long a worker's claim on a running saga lasts without progress; a saga whose
    worker died is taken over (recovered) after it."""
    recover_interval_s: float = 10.0
    """How often a serving gateway looks for sagas to recover (also once at start)."""
    pause_after: str | None = None
    """Test hook (``journey.step``): a saga stops for good after that step, as if its worker
    hung there — for the crash-recovery test. Never set in production."""


@dataclass(frozen=True)
class Config:
    gateway: GatewaySettings
    sources: Mapping[str, SourceConfig]
    stores: tuple[StoreConfig, ...]
    identity: IdentityConfig
    survivorship: SurvivorshipConfig
    auth: AuthConfig = field(default_factory=AuthConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    sagas: SagaConfig = field(default_factory=SagaConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    breakers: BreakerConfig = field(default_factory=BreakerConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    redis_url: str | None = None
    """Shared state for several workers: rate limits, persisted queries, breakers, caches."""
    path: Path | None = None


def _identity(table: Table) -> IdentityConfig:
    enabled = table.strings("rules", ["reference", "email", "phone+name"])
    for rule in enabled:
        if rule not in RULE_ORDER or rule in ("manual", "self"):
            raise ConfigError(table.key("rules"), f"unknown rule {rule!r}")
    defaults = MatchRules()
    region = table.string("default_region", "US").upper()
    if len(region) != 2 or not region.isalpha():
        raise ConfigError(table.key("default_region"), "must be a two-letter region code")
    regions = tuple(r.upper() for r in table.strings("regions", [region]))
    if any(len(r) != 2 or not r.isalpha() for r in regions):
        raise ConfigError(table.key("regions"), "must be two-letter region codes")
    nick_groups = table.value("nicknames", [])
    if not isinstance(nick_groups, list) or not all(
            isinstance(g, list) and all(isinstance(n, str) for n in g) for g in nick_groups):
        raise ConfigError(table.key("nicknames"), "must be a list of lists of names")
    name_locales = tuple(dict.fromkeys(
        code.strip().lower() for code in table.strings("name_locales", ["en"])))
    unknown = [code for code in name_locales if code not in NAME_LOCALES]
    if unknown or not name_locales:
        raise ConfigError(table.key("name_locales"),
                          f"unknown name locale(s) {', '.join(unknown) or '(none given)'}; "
                          f"known: {', '.join(NAME_LOCALES)}")
    rules = MatchRules(
        use_references="reference" in enabled,
        use_email="email" in enabled,
        use_phone_with_name="phone+name" in enabled,
        email_requires_compatible_names=table.boolean("email_requires_compatible_names", True),
        max_people_per_identifier=table.integer("max_people_per_identifier", 5, minimum=1),
        junk_emails=frozenset(e.strip().lower() for e in table.strings(
            "junk_emails", sorted(defaults.junk_emails))),
        junk_phones=frozenset(table.strings("junk_phones", [])),
        extra_nicknames=tuple(tuple(n.lower() for n in g) for g in nick_groups),
        name_locales=name_locales,
    )
    email = table.table("email")
    aliases = email.value("domain_aliases", dict(DEFAULT_ALIASES))
    if not isinstance(aliases, Mapping) or not all(
            isinstance(v, str) for v in aliases.values()):
        raise ConfigError(email.key("domain_aliases"), "must be a table of domain = domain")
    email_rules = EmailRules(
        dot_insensitive=frozenset(d.lower() for d in email.strings(
            "dot_insensitive_domains", list(DEFAULT_DOT_INSENSITIVE))),
        plus_tag=frozenset(d.lower() for d in email.strings(
            "plus_tag_domains", list(DEFAULT_PLUS_TAG))),
        aliases=tuple(sorted((k.lower(), v.lower()) for k, v in aliases.items())),
    )
    email.finish()
    refresh_s = table.number("refresh_s", 30.0, minimum=0)
    if not math.isfinite(refresh_s):
        raise ConfigError(table.key("refresh_s"), "must be a finite number of seconds")
    config = IdentityConfig(
        database_url=table.string("database_url", DEFAULT_IDENTITY_URL),
        default_region=region, regions=regions,
        cache_ttl_s=table.number("cache_ttl_s", 30.0, minimum=0), refresh_s=refresh_s,
        rules=rules,
        email_rules=email_rules)
    table.finish()
    return config


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raises ConfigError naming the offending key."""
    path = Path(path)
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    config = parse_config(data, env, base=path.parent)
    return dataclasses.replace(config, path=path)


def parse_config(data: Mapping[str, object], env: Mapping[str, str],
                 base: Path | None = None) -> Config:
    """Validate a config's data; relative file paths in it are read from ``base``."""
    root = Table(data, "", env)
    gateway_table = root.table("gateway")
    gateway = GatewaySettings(
        request_budget_ms=gateway_table.integer("request_budget_ms", 2000, minimum=1),
        max_in_flight=gateway_table.integer("max_in_flight", 128, minimum=1),
        queue_wait_ms=gateway_table.integer("queue_wait_ms", 500, minimum=0),
        max_loop_lag_ms=gateway_table.integer("max_loop_lag_ms", 50, minimum=1),
        cors_origins=tuple(_origins(gateway_table)),
        max_body_bytes=gateway_table.integer("max_body_bytes", 1_048_576, minimum=1024))
    gateway_table.finish()
    sources_table = root.table("sources", required=True)
    if not sources_table.data:
        raise ConfigError("sources", "at least one source is required")
    sources: dict[str, SourceConfig] = {}
    for name in sources_table.data:
        sources[name] = parse_source(name, sources_table.table(name, required=True))
    sources_table.finish()
    for name, source in sources.items():
        named = dict(getattr(source, "references", {}) or {})
        returns_of = getattr(source, "return_reference_source", None)
        if returns_of:
            named["return_reference_source"] = returns_of
        for field_name, target in named.items():
            if target not in sources:
                key = (f"sources.{name}.{field_name}" if field_name == "return_reference_source"
                       else f"sources.{name}.references.{field_name}")
                raise ConfigError(key, f"names no configured source ({target!r})")
    stores: list[StoreConfig] = []
    for store_table in root.tables("stores"):
        locations_table = store_table.table("locations", required=True)
        locations = {}
        for source_name in locations_table.data:
            if source_name not in sources:
                raise ConfigError(locations_table.key(source_name), "names no configured source")
            value = locations_table.value(source_name, None)
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise ConfigError(locations_table.key(source_name), "must be a location id")
            locations[source_name] = str(value)
        locations_table.finish()
        stores.append(StoreConfig(store_table.string("code"), store_table.string("name"),
                                  locations))
        store_table.finish()
    identity = _identity(root.table("identity"))
    survivorship = _survivorship(root.table("survivorship"), list(sources))
    auth = parse_auth(root.table("auth"), base)
    limits = dataclasses.replace(parse_limits(root.table("limits")),
                                 persisted=parse_persisted(root.table("persisted"), base))
    rate_limits = parse_rate_limits(root.table("rate_limits"),
                                    {key.name: key.role for key in auth.api_keys})
    sagas_table = root.table("sagas")
    sagas = SagaConfig(
        budget_ms=sagas_table.integer("budget_ms", 20_000, minimum=100),
        lease_s=float(sagas_table.number("lease_s", 30.0, minimum=0.5)),
        recover_interval_s=float(sagas_table.number("recover_interval_s", 10.0, minimum=0.1)),
        pause_after=sagas_table.string("pause_after", None))
    sagas_table.finish()
    telemetry = parse_telemetry(root.table("telemetry"))
    breakers = parse_breakers(root.table("breakers"), list(sources))
    cache = parse_cache(root.table("cache"), list(sources))
    redis_url = root.string("redis_url", None)
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://",
                                                           "unix://")):
        raise ConfigError("redis_url", "must be a redis://, rediss:// or unix:// URL")
    if cache.enabled and cache.store == "redis" and redis_url is None:
        raise ConfigError("cache.store", "redis needs redis_url")
    root.finish()
    return Config(gateway, sources, tuple(stores), identity, survivorship, auth=auth,
                  limits=limits, rate_limits=rate_limits, sagas=sagas, telemetry=telemetry,
                  breakers=breakers, cache=cache, redis_url=redis_url)


def _origins(table: Table) -> list[str]:
    origins = table.strings("cors_origins", [])
    for origin in origins:
        if origin != "*" and not (origin.startswith(("http://", "https://"))
                                  and "/" not in origin.split("://", 1)[1]):
            raise ConfigError(table.key("cors_origins"),
                              f"{origin!r} is not an origin (scheme://host[:port])")
    return list(origins)


def _survivorship(table: Table, sources: list[str]) -> SurvivorshipConfig:
    def checked(key: str, names: list[str]) -> tuple[str, ...]:
        for name in names:
            if name not in sources:
                raise ConfigError(key, f"names no configured source ({name!r})")
        return tuple(names)

    default = checked(table.key("default"), table.strings("default", sources))
    fields_table = table.table("fields")
    fields = {}
    for field_name in list(fields_table.data):
        if field_name not in FIELDS:
            raise ConfigError(fields_table.key(field_name), f"not one of {', '.join(FIELDS)}")
        fields[field_name] = checked(fields_table.key(field_name),
                                     fields_table.strings(field_name))
    fields_table.finish()
    table.finish()
    return SurvivorshipConfig(default, fields)
