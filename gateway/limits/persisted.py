"""Persisted operations: a manifest of allowed documents by hash, and automatic persisted
queries (APQ) with a store.

The manifest is what client tooling emits: Apollo's persisted query manifest
(``{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "name",
"type", "body"}]}``) or the plain ``{"<hash>": "<document>"}`` map Relay and Hive write. APQ
follows Apollo's protocol (``extensions.persistedQuery {version: 1, sha256Hash}``): the store
is in process by default and on Redis when ``redis_url`` is configured, so every worker knows a
query any of them was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from adapters.errors import ConfigError

log = logging.getLogger("c360.limits")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_key(document_id: str) -> str:
    """A manifest id as it is looked up: a SHA-256 without its ``sha256:`` prefix, in lower
    case; any other id (Relay's MD5s, Hive's ``app~version~hash``) as given."""
    bare = document_id.removeprefix("sha256:")
    return bare.lower() if SHA256.match(bare.lower()) else document_id


def load_manifest(path: Path) -> dict[str, str]:
    """Hash → document; an id that looks like a SHA-256 must be its document's."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("persisted.manifest", f"cannot read {path}: {exc}") from None
    entries: dict[str, str] = {}
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ConfigError("persisted.manifest", "operations must be a list")
        for index, operation in enumerate(operations):
            if not isinstance(operation, dict) or not isinstance(operation.get("id"), str) or \
                    not isinstance(operation.get("body"), str):
                raise ConfigError("persisted.manifest", f"operations[{index}] needs an id and "
                                                        f"a body")
            entries[operation["id"]] = operation["body"]
    elif isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in data.items()):
        entries = dict(data)
    else:
        raise ConfigError("persisted.manifest", "neither an Apollo persisted query manifest "
                                                "nor a {hash: document} map")
    found: dict[str, str] = {}
    for key, body in entries.items():
        id_ = manifest_key(key)
        if SHA256.match(id_) and sha256(body) != id_:
            raise ConfigError("persisted.manifest", f"entry {key[:16]}… is not the SHA-256 of "
                                                    f"its document")
        found[id_] = body
    return found


class ApqStore(Protocol):
    """Where automatically persisted queries are kept (extension point: in process or
    Redis)."""

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, query: str) -> None: ...


class MemoryApqStore:
    """A bounded LRU with a TTL, per process."""

    def __init__(self, ttl_s: float, max_entries: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self.entries: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def get(self, digest: str) -> str | None:
        found = self.entries.get(digest)
        if found is None:
            return None
        if self.clock() > found[1]:
            del self.entries[digest]
            return None
        self.entries.move_to_end(digest)
        return found[0]

    async def put(self, digest: str, query: str) -> None:
        self.entries[digest] = (query, self.clock() + self.ttl_s)
        self.entries.move_to_end(digest)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


class RedisApqStore:
    """Shared by every worker; entries expire after the TTL. A Redis failure or a Redis
    slower than ``timeout_s`` is a miss (the client sends the full query again) or an
    unstored query, never an error; logged at most once a minute."""

    def __init__(self, redis: Any, ttl_s: float, prefix: str = "c360:apq:",
                 timeout_s: float = 0.25) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._warned = -math.inf

    async def _call(self, what: str, call: Awaitable[Any]) -> Any:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await call
        except Exception as exc:  # noqa: BLE001 - any Redis failure: as if absent
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("apq: redis %s failed (%s); queries are sent in full meanwhile",
                            what, type(exc).__name__)
            return None

    async def get(self, digest: str) -> str | None:
        found = await self._call("get", self.redis.get(self.prefix + digest))
        if found is None:
            return None
        return found.decode("utf-8") if isinstance(found, bytes) else str(found)

    async def put(self, digest: str, query: str) -> None:
        await self._call("set", self.redis.set(self.prefix + digest, query.encode("utf-8"),
                                               ex=max(1, int(self.ttl_s))))
