"""The entity cache's config and its shared store on Redis (:mod:`adapters.entities`).

```toml
[cache]
enabled = true              # the default
store = "redis"             # "memory" (this process) or "redis"; default: redis with redis_url
ttl_s = 0                   # served without calling the source for this long (0: always call)
stale_if_error_s = 86400    # served, marked stale, when the source fails, up to this old
max_entries = 20000         # the in-process store's size
encryption_key = "…"        # better from C360_CACHE_ENCRYPTION_KEY: 32 bytes, base64
sensitive = ["customers_by_ids", …]   # default: every read carrying personal data

[cache.sources.shopify]     # per source: ttl_s, stale_if_error_s
ttl_s = 30
```

On Redis a value's key is ``c360:entity:<source>:<method>:<digest>``, the digest a keyed
BLAKE2b of the record's key (with the encryption key; without one, unkeyed): no email, phone or
id in clear. The value, with the time it was stored, is JSON (:mod:`adapters.codec`: nothing a
reader could run), sealed with AES-GCM under ``encryption_key`` and bound to its key. Without a
key, the ``sensitive`` reads are not stored on Redis at all (only the catalog is). A Redis that
fails or hangs (``timeout_s``) is as good as empty, logged once a minute by error type only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.exceptions import RedisError

from adapters.codec import encode, from_data
from adapters.config import Table
from adapters.entities import (
    CACHEABLE,
    PERSONAL,
    CachePolicy,
    EntityCache,
    EntityStore,
    Entry,
    Listener,
    MemoryEntityStore,
)
from adapters.errors import ConfigError

log = logging.getLogger("c360.cache")
T = TypeVar("T")
STORES = ("memory", "redis")


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool = True
    store: str | None = None
    """``memory`` or ``redis``; None: redis when ``redis_url`` is set, else memory."""
    default: CachePolicy = field(default_factory=CachePolicy)
    sources: dict[str, CachePolicy] = field(default_factory=dict)
    max_entries: int = 20_000
    encryption_key: bytes | None = field(default=None, repr=False)
    sensitive: frozenset[str] = PERSONAL


def _policy(table: Table, base: CachePolicy) -> CachePolicy:
    return CachePolicy(ttl_s=table.seconds("ttl_s", base.ttl_s),
                       stale_if_error_s=table.seconds("stale_if_error_s", base.stale_if_error_s))


def parse_cache(table: Table, sources: list[str]) -> CacheConfig:
    enabled = table.boolean("enabled", True)
    store = table.string("store", None)
    if store is not None and store not in STORES:
        raise ConfigError(table.key("store"), f"must be one of {', '.join(STORES)}")
    default = _policy(table, CachePolicy())
    raw_key = table.string("encryption_key", None)
    key = None
    if raw_key:
        try:
            key = base64.b64decode(raw_key, validate=True)
        except (binascii.Error, ValueError):
            key = None
        if key is None or len(key) != 32:
            raise ConfigError(table.key("encryption_key"),
                              "must be 32 bytes, base64-encoded (e.g. "
                              "`python -c 'import os,base64;print(base64.b64encode("
                              "os.urandom(32)).decode())'`)")
    sensitive = frozenset(table.strings("sensitive", sorted(PERSONAL)))
    unknown = sorted(sensitive - set(CACHEABLE))
    if unknown:
        raise ConfigError(table.key("sensitive"), f"unknown read {unknown[0]!r}; known: "
                                                  f"{', '.join(sorted(CACHEABLE))}")
    per_source = table.per_source("sources", sources, lambda t: _policy(t, default))
    config = CacheConfig(enabled=enabled, store=store, default=default, sources=per_source,
                         max_entries=table.integer("max_entries", 20_000, minimum=1),
                         encryption_key=key, sensitive=sensitive)
    table.finish()
    return config


class RedisEntityStore:
    """:class:`adapters.entities.EntityStore` on Redis (module doc)."""

    def __init__(self, redis: Any, *, encryption_key: bytes | None = None,
                 sensitive: frozenset[str] = PERSONAL, prefix: str = "c360:entity:",
                 timeout_s: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.clock = clock
        self._aead = AESGCM(encryption_key) if encryption_key is not None else None
        self._digest_key = encryption_key or b""
        self._skipped = frozenset() if encryption_key is not None else sensitive
        self._warned = -math.inf

    def _key(self, source: str, method: str, key: str) -> str:
        digest = hashlib.blake2b(key.encode(), key=self._digest_key, digest_size=16,
                                 person=b"c360-entity").hexdigest()
        return f"{self.prefix}{source}:{method}:{digest}"

    def _warn(self, what: str, exc: BaseException) -> None:
        now = self.clock()
        if now - self._warned >= 60:
            self._warned = now
            log.warning("cache: redis %s failed (%s); reads go to the sources meanwhile",
                        what, type(exc).__name__)

    async def _call(self, what: str, call: Awaitable[T]) -> T | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await call
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn(what, exc)
            return None

    def _seal(self, key: str, plain: bytes) -> bytes:
        if self._aead is None:
            return plain
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plain, key.encode())

    def _open(self, key: str, sealed: bytes) -> bytes:
        if self._aead is None:
            return sealed
        return self._aead.decrypt(sealed[:12], sealed[12:], key.encode())

    async def get_many(self, source: str, method: str, keys: Sequence[str]
                       ) -> list[Entry | None]:
        if method in self._skipped or not keys:
            return [None] * len(keys)
        names = [self._key(source, method, k) for k in keys]
        found = await self._call("read", self.redis.mget(names))
        if found is None:
            return [None] * len(keys)
        entries: list[Entry | None] = []
        value_type = CACHEABLE[method]
        for name, raw in zip(names, found, strict=True):
            if raw is None:
                entries.append(None)
                continue
            try:
                stored_at, data = orjson.loads(self._open(name, raw))
                entries.append((float(stored_at), from_data(value_type, data)))
            except (InvalidTag, ValueError, TypeError, KeyError) as exc:
                self._warn("value", exc)  # another key, a changed model: as if absent
                entries.append(None)
        return entries

    async def put_many(self, source: str, method: str, items: Sequence[tuple[str, Any]],
                       stored_at: float, keep_s: float) -> None:
        if method in self._skipped or not items:
            return
        keep_ms = max(int(keep_s * 1000), 1)

        async def write() -> None:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, value in items:
                    name = self._key(source, method, key)
                    pipe.set(name, self._seal(name, encode([stored_at, value])), px=keep_ms)
                await pipe.execute()

        await self._call("write", write())

    async def evict(self, items: Sequence[tuple[str, str, str]]) -> None:
        names = [self._key(*item) for item in items if item[1] not in self._skipped]
        if names:
            await self._call("evict", self.redis.delete(*names))


def build_cache(config: CacheConfig, redis: Any, *, listener: Listener | None = None
                ) -> EntityCache | None:
    """The process's entity cache (None when disabled); on Redis when configured so."""
    if not config.enabled:
        return None
    on_redis = redis is not None and config.store in (None, "redis")
    store: EntityStore = RedisEntityStore(
        redis, encryption_key=config.encryption_key, sensitive=config.sensitive) if on_redis \
        else MemoryEntityStore(config.max_entries)
    return EntityCache(store, config.default, config.sources, listener=listener)
