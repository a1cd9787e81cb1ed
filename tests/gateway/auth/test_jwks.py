"""The JWKS key cache: one fetch for any number of concurrent requests, keys kept for
``jwks_cache_s``, an unknown ``kid`` refetched at most once per ``jwks_refresh_s``, an outage
neither hammers the identity provider nor drops the keys already known."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.auth.settings import JwtConfig
from gateway.auth.tokens import InvalidCredential, Jwks, KeysUnavailable, TokenVerifier

pytestmark = pytest.mark.anyio
URL = "https://idp.example/jwks.json"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Idp:
    """A JWKS endpoint that counts its fetches; ``answer`` is what it says next."""

    def __init__(self, *jwks: dict[str, Any]) -> None:
        self.answer: httpx.Response | None = None
        self.keys = list(jwks)
        self.fetches = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        await asyncio.sleep(0.01)  # long enough for every concurrent request to be waiting
        return self.answer or httpx.Response(200, json={"keys": self.keys})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


def _jwk(key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    else:
        data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, **extra}


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def _all(jwks: Jwks, kid: str | None, n: int = 20) -> list[Any]:
    return await asyncio.gather(*(jwks.key(kid) for _ in range(n)), return_exceptions=True)


async def test_concurrent_requests_share_one_fetch(rsa_key: rsa.RSAPrivateKey) -> None:
    idp = Idp(_jwk(rsa_key, "k1"))
    async with idp.client() as client:
        jwks = Jwks(URL, client, refresh_s=60, cache_s=3600, clock=Clock())
        found = await _all(jwks, "k1")
        assert idp.fetches == 1
        assert all(key.key_id == "k1" for key, _ in found)
        unknown = await _all(jwks, "k9")  # one refetch for all of them, then refused
        assert idp.fetches == 2
        assert all(isinstance(e, InvalidCredential) for e in unknown)


async def test_a_cold_start_with_an_unknown_kid_fetches_once(rsa_key: rsa.RSAPrivateKey,
                                                             ) -> None:
    idp = Idp(_jwk(rsa_key, "k1"))
    async with idp.client() as client:
        jwks = Jwks(URL, client, refresh_s=60, cache_s=3600, clock=Clock())
        refused = await _all(jwks, "k9")
    assert idp.fetches == 1
    assert all(isinstance(e, InvalidCredential) for e in refused)


async def test_keys_expire_after_the_cache_time_and_kids_refetch_per_interval(
        rsa_key: rsa.RSAPrivateKey) -> None:
    idp = Idp(_jwk(rsa_key, "k1"))
    clock = Clock()
    async with idp.client() as client:
        jwks = Jwks(URL, client, refresh_s=60, cache_s=600, clock=clock)
        await jwks.key("k1")
        clock.now += 599
        await jwks.key("k1")
        assert idp.fetches == 1
        clock.now += 2
        await jwks.key("k1")
        assert idp.fetches == 2
        with pytest.raises(InvalidCredential):
            await jwks.key("k2")
        assert idp.fetches == 3
        clock.now += 59
        with pytest.raises(InvalidCredential):
            await jwks.key("k2")
        assert idp.fetches == 3
        idp.keys.append(_jwk(rsa_key, "k2"))  # rotated in
        clock.now += 1
        assert (await jwks.key("k2"))[0].key_id == "k2"
        assert idp.fetches == 4


async def test_an_outage_keeps_the_known_keys_and_retries_per_interval(
        rsa_key: rsa.RSAPrivateKey) -> None:
    idp = Idp(_jwk(rsa_key, "k1"))
    clock = Clock()
    async with idp.client() as client:
        jwks = Jwks(URL, client, refresh_s=60, cache_s=600, clock=clock)
        await jwks.key("k1")
        idp.answer = httpx.Response(503)
        clock.now += 601
        assert (await jwks.key("k1"))[0].key_id == "k1"  # the old key still verifies
        assert idp.fetches == 2
        clock.now += 30
        await _all(jwks, "k1")
        assert idp.fetches == 2
        clock.now += 31
        await jwks.key("k1")
        assert idp.fetches == 3


@pytest.mark.parametrize("answer", [
    httpx.Response(500), httpx.Response(200, text="<html>"), httpx.Response(200, json=[]),
    httpx.Response(200, json={"keys": "nope"}), httpx.Response(200, json={"keys": [1, "x"]}),
    httpx.Response(200, json={"keys": [{"kty": "RSA", "kid": "k1"}]}),
])
async def test_with_nothing_cached_an_outage_is_unavailable_without_hammering(
        answer: httpx.Response) -> None:
    idp = Idp()
    idp.answer = answer
    clock = Clock()
    async with idp.client() as client:
        jwks = Jwks(URL, client, refresh_s=60, cache_s=600, clock=clock)
        failed = await _all(jwks, "k1")
        assert all(isinstance(e, KeysUnavailable) for e in failed)
        assert idp.fetches == 1
        clock.now += 4
        with pytest.raises(KeysUnavailable):
            await jwks.key("k1")
        assert idp.fetches == 1
        clock.now += 2
        with pytest.raises(KeysUnavailable):
            await jwks.key("k1")
        assert idp.fetches == 2


def _config(**overrides: Any) -> JwtConfig:
    return JwtConfig(**{"issuer": "idp", "audience": ("c360",), "jwks_url": URL,
                        "algorithms": ("RS256", "RS384", "ES256"), **overrides})


def _token(key: Any, algorithm: str, kid: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": "idp", "aud": "c360", "sub": "s", "role": "agent",
                       "exp": now + 60}, key, algorithm=algorithm, headers={"kid": kid})


async def test_a_key_verifies_only_tokens_of_its_algorithm(rsa_key: rsa.RSAPrivateKey) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    idp = Idp(_jwk(rsa_key, "rs256", alg="RS256"), _jwk(rsa_key, "any-rsa"),
              _jwk(ec_key, "ec"), _jwk(rsa_key, "encryption", use="enc"))
    async with idp.client() as client:
        verifier = TokenVerifier(_config(), client)
        assert (await verifier.verify(_token(rsa_key, "RS256", "rs256")))["sub"] == "s"
        assert (await verifier.verify(_token(rsa_key, "RS384", "any-rsa")))["sub"] == "s"
        with pytest.raises(InvalidCredential):  # the JWK says RS256
            await verifier.verify(_token(rsa_key, "RS384", "rs256"))
        with pytest.raises(InvalidCredential):  # an RSA token naming an EC key
            await verifier.verify(_token(rsa_key, "RS256", "ec"))
        with pytest.raises(InvalidCredential):  # an encryption key never verifies
            await verifier.verify(_token(rsa_key, "RS256", "encryption"))


async def test_a_verified_token_is_remembered_until_it_expires(
        rsa_key: rsa.RSAPrivateKey) -> None:
    idp = Idp(_jwk(rsa_key, "k1"))
    async with idp.client() as client:
        verifier = TokenVerifier(_config(leeway_s=0), client)
        exp = int(time.time()) + 2  # at least a second ahead
        token = jwt.encode({"iss": "idp", "aud": "c360", "sub": "s", "exp": exp}, rsa_key,
                           algorithm="RS256", headers={"kid": "k1"})
        first = await verifier.verify(token)
        assert await verifier.verify(token) is first  # no second signature check
        await asyncio.sleep(exp - time.time() + 0.05)
        with pytest.raises(InvalidCredential):
            await verifier.verify(token)
