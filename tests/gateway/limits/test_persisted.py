"""Persisted operations: reading a manifest (errors name the key and the entry), the APQ
stores (in process: TTL and LRU; Redis: namespaced keys with a TTL, a Redis failure is a
miss), and the ``[persisted]`` / ``[limits]`` settings' errors."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from adapters.errors import ConfigError
from gateway.config import parse_config
from gateway.limits.persisted import MemoryApqStore, RedisApqStore, load_manifest
from silos.sandbox import RunningSandbox, gateway_config

DOCUMENT = "{ __typename }"
DIGEST = hashlib.sha256(DOCUMENT.encode()).hexdigest()


def _write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_both_manifest_formats_give_documents_by_id(tmp_path: Path) -> None:
    apollo = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": DIGEST.upper(), "name": "T", "type": "query", "body": DOCUMENT}]}
    assert load_manifest(_write(tmp_path, apollo)) == {DIGEST: DOCUMENT}
    relay = {f"sha256:{DIGEST}": DOCUMENT, "md5-like-id": "{ me { id } }"}
    assert load_manifest(_write(tmp_path, relay)) == {DIGEST: DOCUMENT,
                                                      "md5-like-id": "{ me { id } }"}


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "cannot read"),
    ([DOCUMENT], "neither an Apollo persisted query manifest"),
    ({"a": 1}, "neither an Apollo persisted query manifest"),
    ({"format": "apollo-persisted-query-manifest", "operations": {}}, "must be a list"),
    ({"format": "apollo-persisted-query-manifest", "operations": [{"id": DIGEST}]},
     "operations[0] needs an id and a body"),
    ({DIGEST: "{ me { id } }"}, f"entry {DIGEST[:16]}… is not the SHA-256"),
])
def test_a_bad_manifest_is_a_config_error_naming_the_key(
        tmp_path: Path, content: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_manifest(_write(tmp_path, content))
    assert raised.value.key == "persisted.manifest"
    assert message in str(raised.value)


def test_settings_errors_name_the_key(graph_sandbox: RunningSandbox, tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"persisted": {"manifest": str(tmp_path / "none.json")}}, "persisted.manifest"),
        ({"persisted": {"only_roles": ["admin"]}}, "persisted.only_roles"),
        ({"persisted": {"apq_ttl_s": 0}}, "persisted.apq_ttl_s"),
        ({"persisted": {"apq": "yes please"}}, "persisted.apq"),
        ({"persisted": {"manifests": "x.json"}}, "persisted.manifests"),
        ({"limits": {"roles": {"agent": {"max_depth": 201}}}}, "limits.roles.agent.max_depth"),
        ({"limits": {"default": {"max_tokens": "many"}}}, "limits.default.max_tokens"),
        ({"limits": {"introspection": "on"}}, "limits.introspection"),
    ]
    for tables, key in cases:
        with pytest.raises(ConfigError) as raised:
            parse_config({**gateway_config(graph_sandbox), **tables}, env={})
        assert raised.value.key == key, tables


def test_a_relative_manifest_path_is_read_beside_the_config(
        graph_sandbox: RunningSandbox, tmp_path: Path) -> None:
    _write(tmp_path, {DIGEST: DOCUMENT})
    config = parse_config({**gateway_config(graph_sandbox),
                           "persisted": {"manifest": "manifest.json"}}, env={}, base=tmp_path)
    assert config.limits.persisted.operations == {DIGEST: DOCUMENT}


@pytest.mark.anyio
async def test_the_memory_store_forgets_after_its_ttl_and_beyond_its_size() -> None:
    now = [0.0]
    store = MemoryApqStore(ttl_s=60, max_entries=2, clock=lambda: now[0])
    await store.put("a", "{ a }")
    await store.put("b", "{ b }")
    assert await store.get("a") == "{ a }"  # a is now the most recently used
    await store.put("c", "{ c }")
    assert (await store.get("b"), await store.get("a")) == (None, "{ a }")
    now[0] = 61
    assert await store.get("a") is None and await store.get("c") is None


@pytest.mark.anyio
@pytest.mark.redis
async def test_the_redis_store_namespaces_its_keys_and_sets_a_ttl(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        store = RedisApqStore(client, ttl_s=300)
        assert await store.get(DIGEST) is None
        await store.put(DIGEST, DOCUMENT)
        assert await store.get(DIGEST) == DOCUMENT
        assert await client.keys("*") == [f"c360:apq:{DIGEST}".encode()]
        assert 290 < await client.ttl(f"c360:apq:{DIGEST}") <= 300
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_a_redis_failure_is_a_miss_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        store = RedisApqStore(client, ttl_s=300)
        await store.put(DIGEST, DOCUMENT)
        assert await store.get(DIGEST) is None
    finally:
        await client.aclose()
    assert DOCUMENT not in caplog.text
    [record] = caplog.records  # once, not per request
    assert record.getMessage().startswith("apq: redis set failed (")


@pytest.mark.anyio
async def test_a_redis_slower_than_the_timeout_is_a_miss() -> None:
    class Stuck:
        async def get(self, key: str) -> bytes:
            await asyncio.sleep(60)
            return b"{ never }"

    store = RedisApqStore(Stuck(), ttl_s=300, timeout_s=0.05)
    started = time.monotonic()
    assert await store.get(DIGEST) is None
    assert time.monotonic() - started < 1
