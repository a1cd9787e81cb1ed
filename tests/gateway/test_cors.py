"""CORS for the configured origins only: a browser app on an allowed origin may call the
gateway (its preflight carries no credential and is not refused by authentication; the app can
read the answers, errors included); any other origin gets no CORS headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.errors import ConfigError
from gateway.config import parse_config
from silos.sandbox import RunningSandbox, gateway_config
from tests.tokens import bearer

pytestmark = pytest.mark.anyio
APP = "https://app.example.com"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}
QUERY = {"query": "{ __typename }"}


def _cors_headers(headers: Any) -> list[str]:
    return [name for name in headers if name.lower().startswith("access-control-")]


async def test_an_allowed_origin_is_answered_with_cors_headers(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox) -> None:
    async with gateway(settings={"cors_origins": [APP]}, headers={}) as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)  # no credential
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert {"authorization", "content-type"} <= {
            h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
        assert "access-control-allow-credentials" not in preflight.headers  # tokens, no cookies
        answer = await client.post("/graphql", json=QUERY, headers={
            "Origin": APP, **bearer(gateway_config(graph_sandbox))})
        assert answer.status_code == 200
        assert answer.json() == {"data": {"__typename": "Query"}}
        assert answer.headers["access-control-allow-origin"] == APP
        exposed = answer.headers["access-control-expose-headers"].lower()
        assert "x-request-id" in exposed and "retry-after" in exposed


async def test_the_app_can_read_refusals_too(gateway: Callable[..., Any]) -> None:
    tiny = {"rate_limits": {"roles": {"backoffice": {"rate_per_s": 0.001, "burst": 1}}}}
    async with gateway(settings={"cors_origins": [APP]}, config=tiny) as client:
        anonymous = await client.post("/graphql", json=QUERY,
                                      headers={"Origin": APP, "Authorization": ""})
        assert anonymous.status_code == 401
        assert anonymous.headers["access-control-allow-origin"] == APP
        assert (await client.post("/graphql", json=QUERY, headers={"Origin": APP})
                ).status_code == 200
        limited = await client.post("/graphql", json=QUERY, headers={"Origin": APP})
        assert limited.status_code == 429
        assert limited.headers["access-control-allow-origin"] == APP
        assert "retry-after" in limited.headers["access-control-expose-headers"].lower()


async def test_another_origin_gets_no_cors_headers(gateway: Callable[..., Any]) -> None:
    async with gateway(settings={"cors_origins": [APP]}) as client:
        preflight = await client.options("/graphql", headers={**PREFLIGHT,
                                                              "Origin": "https://evil.example"})
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers
        answer = await client.post("/graphql", json=QUERY,
                                   headers={"Origin": "https://evil.example"})
        assert answer.status_code == 200  # a browser hides it from the page; others may call
        assert "access-control-allow-origin" not in answer.headers


async def test_without_configured_origins_there_are_no_cors_headers(
        gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)
        assert _cors_headers(preflight.headers) == []
        answer = await client.post("/graphql", json=QUERY, headers={"Origin": APP})
        assert answer.status_code == 200
        assert _cors_headers(answer.headers) == []


@pytest.mark.parametrize("origin", ["not an origin", "app.example.com",
                                    "https://app.example.com/", "https://app.example.com/path",
                                    "ftp://app.example.com"])
def test_a_bad_origin_in_the_config_names_the_key(graph_sandbox: RunningSandbox,
                                                  origin: str) -> None:
    data = gateway_config(graph_sandbox)
    data["gateway"] = {**data["gateway"], "cors_origins": [APP, origin]}
    with pytest.raises(ConfigError) as raised:
        parse_config(data, env={})
    assert raised.value.key == "gateway.cors_origins"


def test_origins_may_come_from_the_environment(graph_sandbox: RunningSandbox) -> None:
    config = parse_config(gateway_config(graph_sandbox), env={
        "C360_GATEWAY_CORS_ORIGINS": f"{APP}, http://localhost:5173"})
    assert config.gateway.cors_origins == (APP, "http://localhost:5173")
