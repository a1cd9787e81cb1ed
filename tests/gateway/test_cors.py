"""CORS for the configured origins only: a browser app on an allowed origin may call the
gateway (its preflight needs no credential); any other origin gets no CORS headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.errors import ConfigError
from gateway.config import parse_config
from silos.sandbox import RunningSandbox, gateway_config

pytestmark = pytest.mark.anyio
APP = "https://app.example.com"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


async def test_an_allowed_origin_is_answered_with_cors_headers(
        gateway: Callable[..., Any]) -> None:
    async with gateway(settings={"cors_origins": [APP]}) as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        answer = await client.post("/graphql", json={"query": "{ __typename }"},
                                   headers={"Origin": APP})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == APP
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()


async def test_another_origin_gets_no_cors_headers(gateway: Callable[..., Any]) -> None:
    async with gateway(settings={"cors_origins": [APP]}) as client:
        preflight = await client.options("/graphql", headers={**PREFLIGHT,
                                                              "Origin": "https://evil.example"})
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers
    async with gateway() as client:  # none configured
        answer = await client.post("/graphql", json={"query": "{ __typename }"},
                                   headers={"Origin": APP})
        assert "access-control-allow-origin" not in answer.headers


def test_a_bad_origin_in_the_config_names_the_key(graph_sandbox: RunningSandbox) -> None:
    data = gateway_config(graph_sandbox)
    data["gateway"] = {**data["gateway"], "cors_origins": ["app.example.com/path"]}
    with pytest.raises(ConfigError) as raised:
        parse_config(data, env={})
    assert raised.value.key == "gateway.cors_origins"
