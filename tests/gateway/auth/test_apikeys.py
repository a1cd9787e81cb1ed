"""API keys for services: created by `c360 apikey create`, kept as a hash in the config,
carrying exactly their scopes; a revoked or unknown key is a 401."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapters.errors import ConfigError
from gateway.config import parse_config
from silos.sandbox import RunningSandbox, gateway_config
from tests.gateway.auth.conftest import silo_calls

pytestmark = pytest.mark.anyio


def _create(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "apikey", "create", *args],
                          capture_output=True, text=True, timeout=60)


def test_apikey_create_prints_the_key_once_and_the_config_lines() -> None:
    done = _create("--name", "reporting", "--scopes", "catalog:read", "stock:read")
    assert done.returncode == 0, done.stderr
    key = re.search(r"^  (c360_\S+)$", done.stdout, re.M)
    assert key is not None
    snippet = tomllib.loads(done.stdout.split("Add to the gateway config:", 1)[1])
    [entry] = snippet["auth"]["api_keys"]
    assert entry["name"] == "reporting" and entry["scopes"] == ["catalog:read", "stock:read"]
    assert key.group(1) not in done.stdout.split("Add to the gateway config:", 1)[1]
    assert _create("--name", "x", "--scopes", "everything").returncode == 2
    assert "unknown scopes" in _create("--name", "x", "--scopes", "everything").stderr


async def test_a_key_carries_exactly_its_scopes_and_a_revoked_key_is_refused(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    done = _create("--name", "catalog-sync", "--scopes", "catalog:read")
    key = re.search(r"^  (c360_\S+)$", done.stdout, re.M).group(1)  # type: ignore[union-attr]
    entry = tomllib.loads(done.stdout.split("Add to the gateway config:", 1)[1])
    async with gateway(config=entry, headers={"Authorization": f"ApiKey {key}"}) as client:
        product = await client.post("/graphql", json={"query": '{ product(sku: "X") { sku } }'})
        assert product.json() == {"data": {"product": None}}
        order = await client.post("/graphql", json={"query": '{ order(id: "T3JkZXI6eDp5") '
                                                             '{ id } }'})
        assert order.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    before = await silo_calls(silos)
    async with gateway(headers={"Authorization": f"ApiKey {key}"}) as client:  # revoked
        refused = await client.post("/graphql", json={"query": '{ product(sku: "X") { sku } }'})
        assert refused.status_code == 401
    assert await silo_calls(silos) == before


@pytest.mark.parametrize(("auth", "key", "message"), [
    ({"jwt": {"issuer": "i", "audience": "a", "algorithms": ["HS256"],
              "shared_secret": "x" * 40}}, None, None),
    ({"jwt": {"issuer": "i", "audience": "a", "algorithms": ["HS256"]}},
     "auth.jwt.algorithms", "HS256 needs auth.jwt.shared_secret"),
    ({"jwt": {"issuer": "i", "audience": "a", "algorithms": ["none"],
              "shared_secret": "x" * 40}}, "auth.jwt.algorithms", "is not allowed"),
    ({"jwt": {"issuer": "i", "audience": "a"}}, "auth.jwt.jwks_url", "give jwks_url"),
    ({"jwt": {"issuer": "i", "audience": "a", "jwks_url": "ftp://x"}}, "auth.jwt.jwks_url",
     "http(s) URL"),
    ({"jwt": {"issuer": "i", "audience": "a", "algorithms": ["HS256"], "shared_secret": "short"}},
     "auth.jwt.shared_secret", "at least 32"),
    ({"jwt": {"issuer": "i", "audience": "a", "shared_secret": "x" * 40}},
     "auth.jwt.algorithms", "list HS256"),
    ({"jwt": {"issuer": "i", "audience": "a", "algorithms": ["HS256", "RS256"],
              "shared_secret": "x" * 40}}, "auth.jwt.algorithms", "RS256 needs jwks_url"),
    ({"jwt": {"issuer": "i", "audience": "a", "algorithms": ["HS512"],
              "shared_secret": "x" * 40}}, "auth.jwt.algorithms", "is not allowed"),
    ({"jwt": {"issuer": "i", "audience": 7, "algorithms": ["HS256"],
              "shared_secret": "x" * 40}}, "auth.jwt.audience", "string or a list"),
    ({"jwt": {"issuer": "i", "audience": "a", "public_key_file": "/nope.pem"}},
     "auth.jwt.public_key_file", "no such file"),
    ({"api_keys": [{"name": "a", "hash": "md5:x", "scopes": []}]}, "auth.api_keys[0].hash",
     "sha256"),
    ({"api_keys": [{"name": "a", "hash": "sha256:" + "0" * 64, "scopes": ["root"]}]},
     "auth.api_keys[0].scopes", "unknown scopes"),
    ({"roles": {"agent": {"scopes": ["customers:lookup", "nope"]}}}, "auth.roles.agent.scopes",
     "unknown scopes"),
    ({"roles": {"superuser": {"scopes": []}}}, "auth.roles.superuser", "not a role"),
    ({"jwt": {"issuer": "i", "audience": "a", "algorithms": ["HS256"],
              "shared_secret": "x" * 40, "claim": {}}}, "auth.jwt.claim", "unknown key"),
])
def test_auth_config_errors_name_the_key(graph_sandbox: RunningSandbox, auth: dict[str, Any],
                                         key: str | None, message: str | None) -> None:
    data = {**gateway_config(graph_sandbox), "auth": auth}
    if key is None:
        assert parse_config(data, env={}).auth.jwt is not None
        return
    with pytest.raises(ConfigError) as raised:
        parse_config(data, env={})
    assert raised.value.key == key and message in str(raised.value)


def test_the_shared_secret_comes_from_the_environment(graph_sandbox: RunningSandbox) -> None:
    data = {**gateway_config(graph_sandbox),
            "auth": {"jwt": {"issuer": "i", "audience": "a", "algorithms": ["HS256"],
                             "shared_secret": ""}}}
    config = parse_config(data, env={"C360_AUTH_JWT_SHARED_SECRET": "y" * 40})
    assert config.auth.jwt is not None and config.auth.jwt.shared_secret == "y" * 40
    assert "y" * 40 not in repr(config)
