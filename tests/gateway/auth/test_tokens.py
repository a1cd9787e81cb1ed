"""Bearer tokens: every way a token can be wrong is a 401 with nothing leaked and no silo
called; keys from a public key file, a JWKS URL (one refetch for an unknown key, then
refused) or a shared secret; claim names as an identity provider sets them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from silos.sandbox import RunningSandbox, gateway_config, signing_key_paths
from tests.gateway.auth.conftest import silo_calls

pytestmark = pytest.mark.anyio
QUERY = '{ product(sku: "NOPE") { sku } }'
REFUSED = {"errors": [{"message": "authentication required",
                       "extensions": {"code": "UNAUTHENTICATED"}}]}


def _sandbox_key(sandbox: RunningSandbox) -> Any:
    return serialization.load_pem_private_key(
        signing_key_paths(sandbox.options.data_dir)[0].read_bytes(), password=None)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": "c360-sandbox", "aud": "c360", "sub": "agent-7", "role": "agent",
              "iat": now, "nbf": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _es256(sandbox: RunningSandbox, **overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), _sandbox_key(sandbox), algorithm="ES256")


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "backoffice"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


BAD: dict[str, Callable[[RunningSandbox], str]] = {
    "expired": lambda s: _es256(s, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200,
                                nbf=int(time.time()) - 7200),
    "not yet valid": lambda s: _es256(s, nbf=int(time.time()) + 3600),
    "wrong audience": lambda s: _es256(s, aud="someone-else"),
    "wrong issuer": lambda s: _es256(s, iss="https://evil.example"),
    "alg none": lambda s: _unsigned(_claims()),
    "tampered payload": lambda s: _tampered(_es256(s)),
    "missing subject": lambda s: _es256(s, sub=None),
    "unknown role": lambda s: _es256(s, role="root"),
    "customer without customer": lambda s: _es256(s, role="customer"),
    "associate without store": lambda s: _es256(s, role="store_associate"),
    "no expiry": lambda s: _es256(s, exp=None),
    "garbage": lambda s: "not.a.token",
    "signed by another key": lambda s: jwt.encode(
        _claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256"),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_a_bad_token_is_401_with_nothing_leaked_and_no_silo_called(
        case: str, gateway: Callable[..., Any], graph_sandbox: RunningSandbox,
        silos: dict[str, httpx.AsyncClient]) -> None:
    token = BAD[case](graph_sandbox)
    async with gateway(headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == REFUSED
    assert "Traceback" not in response.text
    assert await silo_calls(silos) == 0


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic dTpw"},
    {"Authorization": "Bearer  "}, {"Authorization": "ApiKey c360_nope"},
])
async def test_missing_or_unusable_credentials_are_401(
        headers: dict[str, str], gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(headers=headers) as client:
        for response in (await client.post("/graphql", json={"query": QUERY}),
                         await client.get("/graphql", params={"query": QUERY}),
                         await client.get("/anything-else")):
            assert response.status_code == 401
            assert response.json() == REFUSED
    assert await silo_calls(silos) == 0


async def test_public_paths_need_no_credential(gateway: Callable[..., Any]) -> None:
    async with gateway(headers={}) as client:
        assert (await client.get("/healthz")).status_code == 200
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "GraphiQL" in page.text
        assert "Bearer" not in page.text  # only the demo prefills a token
        assert (await client.get("/graphiql/static/graphiql.min.css")).status_code == 200


@pytest.mark.parametrize(("query_string", "accept"), [
    ("%71uery=%7B__typename%7D", ["text/html, application/json"]),  # an encoded "query"
    ("query", ["text/html, application/json"]),
    ('extensions={"persistedQuery":{"version":1,"sha256Hash":"' + "0" * 64 + '"}}',
     ["application/json", "text/html"]),  # two Accept headers: the first one counts
])
async def test_nothing_passes_as_the_graphiql_page_and_runs(
        query_string: str, accept: list[str], gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    """The page is public; the middleware and the endpoint read the request the same way, so
    no request lets itself through as the page and is then executed."""
    async with gateway(headers={}) as client:
        response = await client.get(f"/graphql?{query_string}",
                                    headers=[("accept", value) for value in accept])
    assert response.status_code == 401
    assert response.json() == REFUSED
    assert await silo_calls(silos) == 0


async def test_a_valid_token_within_leeway_is_served(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox) -> None:
    late = _es256(graph_sandbox, exp=int(time.time()) - 10)  # leeway 30 s
    async with gateway(headers={"Authorization": f"Bearer {late}"}) as client:
        response = await client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200 and response.json() == {"data": {"product": None}}


def _rsa_jwks() -> tuple[Any, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return key, {**public, "kid": "k1", "use": "sig", "alg": "RS256"}


def _jwks_config(graph_sandbox: RunningSandbox, **jwt_keys: Any) -> dict[str, Any]:
    section = dict(gateway_config(graph_sandbox)["auth"]["jwt"])
    section.pop("public_key_file")
    section.pop("signing_key_file")
    section.update(jwt_keys)
    return {"auth": {"jwt": section}}


async def test_jwks_keys_cached_unknown_kid_refetched_once_then_refused(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox,
        silos: dict[str, httpx.AsyncClient]) -> None:
    key, jwk = _rsa_jwks()
    fetches: list[str] = []

    def jwks(request: httpx.Request) -> httpx.Response:
        fetches.append(str(request.url))
        return httpx.Response(200, json={"keys": [jwk]})

    config = _jwks_config(graph_sandbox, jwks_url="https://idp.example/jwks.json",
                          algorithms=["RS256"], jwks_refresh_s=300)
    good = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "k1"})
    rotated = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "k2"})
    other = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "k3"})
    async with gateway(config=config, transports={"jwks": httpx.MockTransport(jwks)},
                       headers={}) as client:
        for _ in range(3):
            ok = await client.post("/graphql", json={"query": QUERY},
                                   headers={"Authorization": f"Bearer {good}"})
            assert ok.status_code == 200, ok.text
        assert len(fetches) == 1  # cached
        refused = await client.post("/graphql", json={"query": QUERY},
                                    headers={"Authorization": f"Bearer {rotated}"})
        assert refused.status_code == 401 and len(fetches) == 2  # one refetch
        again = await client.post("/graphql", json={"query": QUERY},
                                  headers={"Authorization": f"Bearer {other}"})
        assert again.status_code == 401 and len(fetches) == 2  # not within the interval
    assert fetches == ["https://idp.example/jwks.json"] * 2


async def test_jwks_down_and_nothing_cached_is_503_not_401(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox) -> None:
    key, _ = _rsa_jwks()
    config = _jwks_config(graph_sandbox, jwks_url="https://idp.example/jwks.json",
                          algorithms=["RS256"])
    token = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "k1"})
    down = httpx.MockTransport(lambda request: httpx.Response(502, text="bad gateway"))
    async with gateway(config=config, transports={"jwks": down},
                       headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "AUTHENTICATION_UNAVAILABLE"


@pytest.mark.parametrize("kind", ["RSA", "EC"])
async def test_hs256_signed_with_the_public_key_is_refused(
        kind: str, gateway: Callable[..., Any], graph_sandbox: RunningSandbox,
        tmp_path: Path) -> None:
    """The key-confusion attack: HS256 with the gateway's RSA (or EC) public key as the HMAC
    secret — refused whether or not HS256 is allowed with a shared secret."""
    if kind == "RSA":
        public_path = tmp_path / "rsa.pub.pem"
        public_path.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048)
                                .public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        algorithm = "RS256"
    else:
        public_path = signing_key_paths(graph_sandbox.options.data_dir)[1]
        algorithm = "ES256"
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).decode().rstrip("=")
    signature = base64.urlsafe_b64encode(hmac.new(
        public_path.read_bytes(), f"{header}.{payload}".encode(), hashlib.sha256).digest(),
    ).decode().rstrip("=")
    forged = f"{header}.{payload}.{signature}"
    secret = "s" * 40
    base = {**gateway_config(graph_sandbox)["auth"]["jwt"], "algorithms": [algorithm],
            "public_key_file": str(public_path)}
    with_secret = {**base, "algorithms": [algorithm, "HS256"], "shared_secret": secret}
    for section in (base, with_secret):
        async with gateway(config={"auth": {"jwt": section}},
                           headers={"Authorization": f"Bearer {forged}"}) as client:
            response = await client.post("/graphql", json={"query": QUERY})
        assert response.status_code == 401
        assert response.json() == REFUSED
    honest = jwt.encode(_claims(), secret, algorithm="HS256")
    async with gateway(config={"auth": {"jwt": with_secret}},
                       headers={"Authorization": f"Bearer {honest}"}) as client:
        assert (await client.post("/graphql", json={"query": QUERY})).status_code == 200


async def test_eddsa_and_claim_names_of_another_identity_provider(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox, tmp_path: Any) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    public = tmp_path / "idp.pub.pem"
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    config = {"auth": {"jwt": {
        "issuer": "https://login.example/", "audience": ["c360", "other-api"],
        "algorithms": ["EdDSA"], "public_key_file": str(public),
        "claims": {"role": "https://c360.example/role", "subject": "user.id",
                   "customer": "app_metadata.customer"}}}}
    now = int(time.time())
    token = jwt.encode({"iss": "https://login.example/", "aud": "other-api", "exp": now + 60,
                        "user": {"id": "u-1"}, "https://c360.example/role": "service",
                        "scope": "catalog:read not-a-scope"}, key, algorithm="EdDSA")
    async with gateway(config=config, headers={"Authorization": f"Bearer {token}"}) as client:
        served = await client.post("/graphql", json={"query": QUERY})
        assert served.status_code == 200 and served.json() == {"data": {"product": None}}
        denied = await client.post("/graphql", json={"query": '{ order(id: "x") { id } }'})
        assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
