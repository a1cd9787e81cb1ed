"""Everything a gateway process holds for its lifetime: one pooled client per HTTP source, one
engine per SQL source, the adapters over them, and the identity registry.

Created once (the app's lifespan, or a CLI command) and closed once; tests inject transports
(``httpx.ASGITransport`` over the emulated silos, ``httpx.MockTransport`` for faults).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.breaker import Breaker
from adapters.cache import MemoryLookupCache
from adapters.entities import EntityCache
from adapters.kinds import Adapter, build_adapter, with_store_locations
from adapters.loyalty import LoyaltyAdapter, LoyaltyConfig
from adapters.protocols import CustomerSource
from adapters.sql import create_engine
from adapters.transport import PooledTransport
from gateway.audit.store import AuditLog
from gateway.config import Config
from gateway.telemetry.metrics import Metrics
from gateway.telemetry.settings import ACCESS_LOGGED
from gateway.telemetry.upstream import ObservedTransport, statement_observer
from identity.freshness import Rechecker
from identity.matching import Matcher
from identity.normalize import Normalizer
from identity.registry import Registry, tune_sqlite
from identity.service import IdentityService
from resolvers.people import Survivorship
from sagas.engine import SagaEngine
from sagas.journeys import Journeys
from sagas.store import SagaStore

HTTP_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)


@dataclass
class Runtime:
    config: Config
    adapters: dict[str, Adapter]
    registry: Registry
    identity: IdentityService
    normalizer: Normalizer
    survivorship: Survivorship
    audit: AuditLog
    sagas: SagaEngine
    memo: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[type, frozenset[str]] = field(default_factory=dict)
    """Small process-wide caches (e.g. the location index), each with its own expiry."""
    cache: EntityCache | None = None
    """The entity cache the requests' loaders read through (none when disabled)."""
    breakers: Mapping[str, Breaker] = field(default_factory=dict)
    """Each source's circuit breaker (none when ``[breakers] enabled = false``)."""
    rechecker: Rechecker | None = None
    """Live re-checks of the people requests read (``identity.refresh_s``; None when 0)."""

    def customer_sources(self) -> list[CustomerSource]:
        return [a for a in self.adapters.values() if isinstance(a, CustomerSource)]

    def capable(self, protocol: type) -> frozenset[str]:
        """Names of the sources implementing a capability protocol (checked once: an
        ``isinstance`` against a runtime-checkable protocol costs microseconds per call)."""
        found = self.capabilities.get(protocol)
        if found is None:
            found = frozenset(n for n, a in self.adapters.items() if isinstance(a, protocol))
            self.capabilities[protocol] = found
        return found


@asynccontextmanager
async def open_runtime(
    config: Config,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    engines: Mapping[str, AsyncEngine] | None = None,
    metrics: Metrics | None = None,
    breakers: Mapping[str, Breaker] | None = None,
    cache: EntityCache | None = None,
    tracer: Tracer | None = None,
) -> AsyncIterator[Runtime]:
    """Open clients, engines and the registry for ``config``; close them all on exit. With
    ``metrics``, every source's calls are counted and timed; ``breakers`` guard the sources
    they name (:mod:`gateway.breakers`); ``cache`` fronts the batch reads and is evicted by
    the writes (:mod:`adapters.entities`); with ``tracer``, each call is a span
    (:mod:`gateway.telemetry.traces`); with either, or an access log at ``info``, each
    request's log line names the sources it called (:mod:`gateway.telemetry.upstream`)."""
    breakers = breakers or {}
    transports = transports or {}
    observed = (metrics is not None or tracer is not None
                or config.telemetry.log_level in ACCESS_LOGGED)
    engines = dict(engines or {})
    async with AsyncExitStack() as stack:
        store_locations: dict[str, set[str]] = {}
        for store in config.stores:
            for source, location_id in store.locations.items():
                store_locations.setdefault(source, set()).add(location_id)
        adapters: dict[str, Adapter] = {}
        for name, source_config in config.sources.items():
            source_config = with_store_locations(
                source_config, frozenset(store_locations.get(name, ())))
            if isinstance(source_config, LoyaltyConfig):
                engine = engines.get(name)
                if engine is None:
                    engine = create_engine(source_config.url, pool_size=source_config.pool,
                                           max_overflow=source_config.max_overflow)
                    stack.push_async_callback(engine.dispose)
                adapter = adapters[name] = build_adapter(name, source_config, engine=engine)
                adapter.use_breaker(breakers.get(name))
                if observed and isinstance(adapter, LoyaltyAdapter):
                    adapter.observe(statement_observer(name, engine.dialect.name, metrics,
                                                       tracer))
            else:
                transport = transports.get(name) or PooledTransport(HTTP_LIMITS)
                if observed:
                    transport = ObservedTransport(transport, name, metrics, tracer)
                client = httpx.AsyncClient(transport=transport, limits=HTTP_LIMITS)
                stack.push_async_callback(client.aclose)
                adapters[name] = build_adapter(name, source_config, client=client)
                adapters[name].use_breaker(breakers.get(name))
        if cache is not None:
            for adapter in adapters.values():
                cache.install_eviction(adapter)
        identity_engine = engines.get("identity")
        if identity_engine is None:
            identity_engine = create_engine(config.identity.database_url)
            tune_sqlite(identity_engine)
            stack.push_async_callback(identity_engine.dispose)
        normalizer = Normalizer(config.identity.email_rules, config.identity.default_region,
                                config.identity.regions)
        ttl = config.identity.cache_ttl_s
        registry = Registry(identity_engine, Matcher(config.identity.rules),
                            MemoryLookupCache(ttl_s=ttl) if ttl > 0 else None,
                            MemoryLookupCache(ttl_s=ttl) if ttl > 0 else None)
        await registry.create()
        audit = AuditLog(identity_engine)
        await audit.create()
        identity = IdentityService(
            registry, [a for a in adapters.values() if isinstance(a, CustomerSource)],
            normalizer)
        saga_store = SagaStore(identity_engine)
        await saga_store.create()
        sagas = SagaEngine(saga_store, Journeys(adapters, registry, identity).all(),
                           lease_s=config.sagas.lease_s, pause_after=config.sagas.pause_after)
        stack.push_async_callback(sagas.close)
        runtime = Runtime(config, adapters, registry, identity, normalizer, Survivorship(
            config.survivorship.default, config.survivorship.fields), audit, sagas,
                          breakers=breakers, cache=cache)
        if config.identity.refresh_s > 0:
            runtime.rechecker = Rechecker(runtime.identity, config.identity.refresh_s,
                                          rules=config.identity.rules)
            stack.push_async_callback(runtime.rechecker.close)
        yield runtime
