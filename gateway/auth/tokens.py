"""JWT bearer tokens, verified with PyJWT.

Keys come from a public key file, a JWKS URL (fetched with the ``httpx.AsyncClient`` the app's
lifespan opens; cached, an unknown ``kid`` refetches at most once per ``jwks_refresh_s``) or a
shared secret (HS256 only, never a public key used as an HMAC secret). The token's ``alg``
must be on the allow-list; ``iss``, ``aud``, ``exp`` and ``nbf`` are checked with the leeway.
Verified tokens are remembered until they expire, so a client reusing its token costs a
dictionary lookup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gateway.auth.settings import JwtConfig

log = logging.getLogger("c360.auth")
VERIFIED_CACHE = 10_000
RETRY_S = 5.0
"""With no key cached, a failed JWKS fetch is retried after this long (or jwks_refresh_s)."""
_FAMILY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class InvalidCredential(Exception):
    """The credential is refused; ``reason`` is a category for the log, never for the
    caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """No verification key could be had (the JWKS endpoint is down and nothing is cached)."""


class Jwks:
    """A JWKS endpoint's keys by ``kid``."""

    def __init__(self, url: str, client: httpx.AsyncClient, refresh_s: float, cache_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.client = client
        self.refresh_s = refresh_s
        self.cache_s = cache_s
        self.clock = clock
        self.keys: dict[str | None, tuple[jwt.PyJWK, str | None]] = {}
        """kid → the key and the ``alg`` its JWK declares (if it does)."""
        self.fetched_at: float | None = None
        self.tried_at: float | None = None
        self.refetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        """Fetches finished (or failed): a request that waited on another's fetch uses it."""

    async def _fetch(self) -> None:
        self.tried_at = self.clock()
        try:
            response = await self.client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            payload = response.json()
            if not isinstance(payload, dict) or not isinstance(payload.get("keys"), list):
                raise ValueError("not a JWKS")
            entries = [k for k in payload["keys"] if isinstance(k, dict) and k.get("use") != "enc"]
            found = jwt.PyJWKSet.from_dict({"keys": entries})
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            self.fetches += 1
            log.warning("auth: JWKS fetch failed (%s)", type(exc).__name__)
            if not self.keys:
                raise KeysUnavailable() from exc
            # keep the keys we have; try again after the refresh interval, not per request
            self.fetched_at = self.tried_at - self.cache_s + self.refresh_s
            return
        self.fetches += 1
        declared = {k.get("kid"): k.get("alg") for k in entries}
        self.keys = {key.key_id: (key, declared.get(key.key_id)) for key in found.keys}
        self.fetched_at = self.tried_at

    def _expired(self) -> bool:
        return self.fetched_at is None or self.clock() - self.fetched_at > self.cache_s

    def _backing_off(self) -> bool:
        """Nothing cached and the endpoint failed a moment ago: don't ask again per request."""
        return not self.keys and self.tried_at is not None and \
            self.clock() - self.tried_at < min(self.refresh_s, RETRY_S)

    async def key(self, kid: str | None) -> tuple[jwt.PyJWK, str | None]:
        """The key named ``kid`` and the ``alg`` its JWK declares; a token without a ``kid``
        may use the only key of a set of one."""
        if self._expired() or kid not in self.keys:
            seen = self.fetches
            async with self._lock:
                # single flight: what another request fetched while this one waited will do
                if self.fetches != seen or self._backing_off():
                    pass
                elif self._expired():
                    await self._fetch()
                elif kid not in self.keys and (self.refetched_at is None or self.clock()
                                               - self.refetched_at >= self.refresh_s):
                    self.refetched_at = self.clock()  # the key may have been rotated in
                    await self._fetch()
            if not self.keys:
                raise KeysUnavailable()
        found = self.keys.get(kid)
        if found is None and kid is None and len(self.keys) == 1:
            found = next(iter(self.keys.values()))
        if found is None:
            raise InvalidCredential("unknown key")
        return found


class TokenVerifier:
    """Verifies a bearer token and returns its claims (see the module doc)."""

    def __init__(self, config: JwtConfig, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.public_key: Any = None
        if config.public_key_file is not None:
            self.public_key = load_pem_public_key(config.public_key_file.read_bytes())
        self.jwks: Jwks | None = None
        if config.jwks_url is not None:
            if client is None:
                raise ValueError("a JWKS URL needs an HTTP client")
            self.jwks = Jwks(config.jwks_url, client, config.jwks_refresh_s,
                             config.jwks_cache_s)
        self._verified: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()

    async def _key(self, header: dict[str, Any]) -> Any:
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.config.algorithms:
            raise InvalidCredential("algorithm not allowed")
        if algorithm.startswith("HS"):
            if not self.config.shared_secret:  # pragma: no cover - settings refuse it
                raise InvalidCredential("algorithm not allowed")
            return self.config.shared_secret
        if self.jwks is not None:
            kid = header.get("kid")
            jwk, declared = await self.jwks.key(kid if isinstance(kid, str) else None)
            if _FAMILY.get(algorithm[:2]) != jwk.key_type or declared not in (None, algorithm):
                raise InvalidCredential("key of another algorithm")
            return jwk.key
        if self.public_key is None:
            raise InvalidCredential("no key for the algorithm")
        return self.public_key

    async def verify(self, token: str) -> dict[str, Any]:
        now = self.clock()
        known = self._verified.get(token)
        if known is not None:
            if now <= known[1] + self.config.leeway_s:
                self._verified.move_to_end(token)
                return known[0]
            del self._verified[token]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidCredential("malformed") from None
        key = await self._key(header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[header["alg"]], audience=list(self.config.audience),
                issuer=self.config.issuer, leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise InvalidCredential("expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidCredential("not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidCredential("audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidCredential("issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidCredential("signature") from None
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise InvalidCredential(type(exc).__name__) from None
        exp = claims.get("exp")
        if isinstance(exp, int | float):
            self._verified[token] = (claims, float(exp))
            if len(self._verified) > VERIFIED_CACHE:
                self._verified.popitem(last=False)
        return claims
