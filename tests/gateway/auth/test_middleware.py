"""The middleware around the app: a gateway without ``[auth]`` starts and refuses every query;
a refusal is logged under the request id with a reason category, never the credential."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from gateway.app import create_app
from gateway.config import parse_config
from silos.sandbox import RunningSandbox, gateway_config
from tests.tokens import bearer, token

pytestmark = pytest.mark.anyio
QUERY = '{ product(sku: "X") { sku } }'


async def test_without_auth_config_it_starts_warns_and_refuses_every_query(
        graph_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="c360.auth")
    data = copy.deepcopy(gateway_config(graph_sandbox))
    credential = bearer(data, "backoffice")  # signed by the key the config no longer trusts
    del data["auth"]
    app = create_app(parse_config(data, env={}), transports=graph_sandbox.transports())
    assert any("no [auth] configured" in r.getMessage() for r in caplog.records)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        assert (await client.get("/healthz")).status_code == 200
        for headers in ({}, credential):
            refused = await client.post("/graphql", json={"query": QUERY}, headers=headers)
            assert refused.status_code == 401
            assert refused.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_refusal_is_logged_with_the_request_id_and_no_credential(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="c360.auth")
    data = gateway_config(graph_sandbox)
    expired = token(data, "customer", customer="shopify:secret-customer-1", ttl_s=-3600)
    async with gateway(headers={"Authorization": f"Bearer {expired}",
                                "X-Request-Id": "req-auth-1"}) as client:
        response = await client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 401
    [record] = [r for r in caplog.records if r.name == "c360.auth"]
    assert "req-auth-1" in record.getMessage() and "expired" in record.getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert expired not in logged and expired.split(".")[1] not in logged
    assert "secret-customer-1" not in logged and "secret-customer-1" not in response.text


async def test_a_reused_token_is_not_verified_again(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Auth's share of the ≤ 0.3 ms p50 budget for auth + limits: a signature check costs
    ~0.07 ms (ES256), a token already verified is a dictionary lookup."""
    decoded: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr("gateway.auth.tokens.jwt.decode", counting)
    async with gateway() as client:
        for _ in range(5):
            assert (await client.post("/graphql", json={"query": QUERY})).status_code == 200
        other = await client.post("/graphql", json={"query": QUERY},
                                  headers=bearer(gateway_config(graph_sandbox), "agent"))
        assert other.status_code == 200
    assert len(decoded) == 2 and decoded[0] != decoded[1]
