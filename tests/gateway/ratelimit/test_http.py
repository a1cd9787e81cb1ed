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

import httpx
import pytest
import tomli_w

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


def _serve(config: Path, port: int) -> subprocess.Popen[str]:
    return serve(str(config), port, workers=2)


def _burst(port: int, headers: dict[str, str], count: int) -> list[int]:
    def one(_: int) -> int:
        with httpx.Client(headers={**headers, "Connection": "close"}) as client:
            return client.post(f"http://127.0.0.1:{port}/graphql",
                               json={"query": "{ __typename }"}, timeout=10).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


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
    port = free_port_block(size=1)
    proc = _serve(config, port)
    statuses: list[int] = []
    try:
        # rounds of concurrent requests on fresh connections until both workers have answered
        # (a worker still starting accepts none): the in-process budgets then show as > 5
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            statuses += _burst(port, bearer(data, "agent", subject="agent-9"), 40)
            if statuses.count(200) > 5 or len(statuses) >= 200:
                break
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert set(statuses) <= {200, 429}
    allowed = statuses.count(200)
    if shared:
        assert allowed == 5  # one budget across both workers
    else:
        assert 5 < allowed <= 10  # each worker has its own bucket of 5
