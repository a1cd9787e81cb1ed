"""Rate limits per principal over HTTP: 429 with Retry-After and RATE_LIMITED, no silo
called; one principal's excess does not touch another's budget; and two `c360 serve` workers
sharing Redis share one budget (with in-process buckets each would have its own)."""

from __future__ import annotations

import concurrent.futures
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import tomli_w

from gateway.auth.apikeys import digest
from gateway.config import parse_config
from gateway.loop import run
from gateway.runtime import open_runtime
from silos.sandbox import SandboxOptions, gateway_config, prepare
from tests.gateway.auth.conftest import silo_calls
from tests.processes import free_port_block, serve
from tests.tokens import bearer

pytestmark = pytest.mark.anyio
TINY = {"rate_limits": {"roles": {"agent": {"rate_per_s": 0.01, "burst": 3}}}}


async def test_over_the_limit_is_429_and_calls_no_silo(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(role="agent", config=TINY) as client:
        answers = [await client.post("/graphql", json={"query": "{ __typename }"})
                   for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        before = await silo_calls(silos)
        refused = await client.post("/graphql", json={
            "query": '{ product(sku: "x") { sku } }'})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 99
        body = refused.json()
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert body["errors"][0]["extensions"]["retryAfter"] == int(
            refused.headers["retry-after"])
        assert refused.headers["x-request-id"]
        assert await silo_calls(silos) == before
        assert (await client.get("/healthz")).status_code == 200  # not counted


async def test_each_principal_has_its_own_bucket(gateway: Callable[..., Any],
                                                 graph_sandbox: Any) -> None:
    data = {**gateway_config(graph_sandbox), **TINY}
    async with gateway(role="agent", config=TINY) as client:
        for _ in range(3):
            await client.post("/graphql", json={"query": "{ __typename }"})
        assert (await client.post("/graphql", json={"query": "{ __typename }"})).status_code \
            == 429
        other = await client.post("/graphql", json={"query": "{ __typename }"},
                                  headers=bearer(data, "agent", subject="agent-2"))
        assert other.status_code == 200
        ops = await client.post("/graphql", json={"query": "{ __typename }"},
                                headers=bearer(data, "backoffice"))
        assert ops.status_code == 200


async def _statuses(client: httpx.AsyncClient, count: int,
                    headers: dict[str, str] | None = None) -> list[int]:
    return [(await client.post("/graphql", json={"query": "{ __typename }"},
                               headers=headers)).status_code for _ in range(count)]


async def test_each_role_has_its_own_default_burst(gateway: Callable[..., Any],
                                                   graph_sandbox: Any) -> None:
    frozen = {"rate_limits": {"default": {"rate_per_s": 0.001}}}  # bursts only, no refill
    data = gateway_config(graph_sandbox)
    async with gateway(config=frozen, headers={}) as client:
        customer = bearer(data, "customer", customer="shopify:1")
        assert await _statuses(client, 21, customer) == [200] * 20 + [429]
        agent = bearer(data, "agent")
        assert await _statuses(client, 31, agent) == [200] * 30 + [429]
        backoffice = bearer(data, "backoffice")
        assert await _statuses(client, 51, backoffice) == [200] * 50 + [429]


async def test_an_api_key_has_its_own_bucket(gateway: Callable[..., Any]) -> None:
    keys = {"c360_reporting": "reporting", "c360_sync": "sync"}
    config = {"auth": {"api_keys": [{"name": name, "hash": "sha256:" + digest(key),
                                     "scopes": ["catalog:read"]}
                                    for key, name in keys.items()]},
              "rate_limits": {"keys": {"reporting": {"rate_per_s": 0.001, "burst": 2}}}}
    async with gateway(config=config, headers={}) as client:
        reporting = {"Authorization": "ApiKey c360_reporting"}
        assert await _statuses(client, 3, reporting) == [200, 200, 429]
        assert await _statuses(client, 5, {"Authorization": "ApiKey c360_sync"}) == [200] * 5


@pytest.mark.redis
async def test_on_redis_the_bucket_is_named_by_a_hash_of_the_subject(
        gateway: Callable[..., Any], graph_sandbox: Any, redis_url: str) -> None:
    from redis.asyncio import Redis

    data = gateway_config(graph_sandbox)
    jane = bearer(data, "agent", subject="jane.doe@example.com")
    async with gateway(config={**TINY, "redis_url": redis_url}, headers=jane) as client:
        assert await _statuses(client, 4) == [200, 200, 200, 429]
    redis = Redis.from_url(redis_url)
    try:
        [key] = [k if isinstance(k, str) else k.decode() for k in await redis.keys("*")]
    finally:
        await redis.aclose()
    assert key.startswith("c360:rl:sub:")
    assert "jane" not in key and "example" not in key


def _serve(config: Path, port: int) -> subprocess.Popen[str]:
    return serve(str(config), port, workers=2)


def _burst(port: int, headers: dict[str, str], count: int) -> list[int]:
    def one(_: int) -> int:
        with httpx.Client(headers={**headers, "Connection": "close"}) as client:
            return client.post(f"http://127.0.0.1:{port}/graphql",
                               json={"query": "{ __typename }"}, timeout=10).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _workers_on_redis(pid: int, redis_port: int) -> int:
    """How many processes under ``pid`` hold an open connection to Redis (read from /proc:
    a worker connects on its first rate-limit check)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == redis_port and fields[3] == "01":
                inodes.add(f"socket:[{fields[9]}]")
    count = 0
    for child in _descendants(pid):
        try:
            sockets = {str(fd.readlink()) for fd in Path(f"/proc/{child}/fd").iterdir()}
        except OSError:  # exited meanwhile
            continue
        count += bool(sockets & inodes)
    return count


async def _index(data: dict[str, Any], running: Any) -> None:
    async with open_runtime(parse_config(data, env={}),
                            transports=running.transports()) as runtime:
        assert not (await runtime.identity.index()).failed


@pytest.mark.redis
@pytest.mark.parametrize("shared", [True, False])
def test_two_workers_share_one_budget_on_redis(shared: bool, tmp_path: Path,
                                               redis_url: str) -> None:
    running = prepare(SandboxOptions(customers=10, seed=5, data_dir=tmp_path,
                                     port=free_port_block()))
    data = {**gateway_config(running), **{"rate_limits": {"roles": {"agent": {
        "rate_per_s": 0.001, "burst": 5}}}}}
    if shared:
        data["redis_url"] = redis_url
    config = tmp_path / "shared.toml"
    config.write_bytes(tomli_w.dumps(data).encode())
    run(_index(data, running))  # as a user does (`c360 index`) before serving
    port = free_port_block(size=1)
    redis_port = urlsplit(redis_url).port or 6379
    proc = _serve(config, port)
    statuses: list[int] = []
    on_redis = 0
    try:
        # rounds of concurrent requests on fresh connections until both workers have answered
        # (a worker still starting accepts none): both connected to Redis when shared, more
        # than one bucket's worth allowed when not
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(statuses) < 1000:
            statuses += _burst(port, bearer(data, "agent", subject="agent-9"), 40)
            on_redis = _workers_on_redis(proc.pid, redis_port)
            if on_redis == 2 if shared else statuses.count(200) > 5:
                break
            time.sleep(0.3)
        later = _burst(port, bearer(data, "agent", subject="agent-9"), 40)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert set(statuses) <= {200, 429}
    allowed = statuses.count(200)
    if shared:
        assert on_redis == 2  # both workers took their tokens from Redis...
        assert allowed == 5  # ...out of one budget
        assert later == [429] * 40  # and then neither worker lets any through
    else:
        assert on_redis == 0
        assert 5 < allowed + later.count(200) <= 10  # each worker has its own bucket of 5
