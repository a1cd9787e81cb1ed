"""The authentication middleware: every request but the public ones carries a credential.

Public without one: ``/healthz``, ``/readyz``, the GraphiQL page (``GET /graphql`` from a
browser, no ``query``) and its static files. Anything else without a valid ``Authorization:
Bearer <jwt>`` or ``Authorization: ApiKey <key>`` is answered 401 ``UNAUTHENTICATED`` with
``WWW-Authenticate: Bearer error="invalid_token"`` — never why, so nothing helps an attacker —
before any silo is called; the reason is logged under the request id, never the credential.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.apikeys import ApiKeys
from gateway.auth.principals import from_api_key, from_claims
from gateway.auth.settings import AuthConfig
from gateway.auth.tokens import InvalidCredential, KeysUnavailable, TokenVerifier
from gateway.config import Config
from gateway.graphiql import wants_page
from resolvers.principal import Principal

log = logging.getLogger("c360.auth")
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
PUBLIC_PREFIXES = ("/graphiql/static/",)
UNAUTHENTICATED = orjson.dumps({"errors": [{"message": "authentication required",
                                            "extensions": {"code": "UNAUTHENTICATED"}}]})
UNAVAILABLE = orjson.dumps({"errors": [{"message": "authentication is unavailable; retry "
                                                   "shortly",
                                        "extensions": {"code": "AUTHENTICATION_UNAVAILABLE"}}]})
CHALLENGE = (b"www-authenticate", b'Bearer error="invalid_token"')


def unauthenticated() -> Response:
    """The 401 the middleware sends, for an endpoint reached without a principal."""
    return Response(UNAUTHENTICATED, 401, {CHALLENGE[0].decode(): CHALLENGE[1].decode()},
                    media_type="application/json")


class Authenticator:
    """Turns a request's ``Authorization`` header into a principal (or refuses it)."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.keys = ApiKeys(config.api_keys)
        self.verifier: TokenVerifier | None = None
        if config.jwt is not None and config.jwt.jwks_url is None:
            self.verifier = TokenVerifier(config.jwt)

    def open(self, client: httpx.AsyncClient | None) -> None:
        """Called in the app's lifespan with the client that fetches the JWKS."""
        if self.config.jwt is not None and self.config.jwt.jwks_url is not None:
            self.verifier = TokenVerifier(self.config.jwt, client)

    async def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            raise InvalidCredential("no credential")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if not credential:
            raise InvalidCredential("no credential")
        scheme = scheme.lower()
        if scheme == "apikey":
            entry = self.keys.find(credential)
            if entry is None:
                raise InvalidCredential("unknown api key")
            return from_api_key(entry, self.config)
        if scheme == "bearer":
            if self.verifier is None or self.config.jwt is None:
                raise InvalidCredential("tokens not configured")
            claims = await self.verifier.verify(credential)
            return from_claims(claims, self.config.jwt.claims, self.config)
        raise InvalidCredential("scheme")


def _public(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return True
    return path == "/graphql" and wants_page(scope)


class Authenticate:
    """ASGI middleware (module doc); puts the principal at ``scope["state"]["principal"]``."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _public(scope):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        header = dict(scope.get("headers", [])).get(b"authorization")
        try:
            principal = await self.authenticator.principal(
                header.decode("latin-1") if header else None)
        except InvalidCredential as refused:
            log.info("request %s: unauthenticated (%s)", state.get("request_id", "-"),
                     refused.reason)
            await _answer(send, 401, UNAUTHENTICATED, [CHALLENGE])
            return
        except KeysUnavailable:
            log.warning("request %s: no key to verify tokens with (JWKS unreachable)",
                        state.get("request_id", "-"))
            await _answer(send, 503, UNAVAILABLE, [(b"retry-after", b"5")])
            return
        state["principal"] = principal
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, body: bytes,
                  headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})


def authentication(config: Config, authenticator: Authenticator | None = None,
                   ) -> list[Middleware]:
    """The middleware that authenticates requests (outermost first)."""
    if not config.auth.configured:
        log.warning("auth: no [auth] configured: every /graphql request will be refused")
    return [Middleware(Authenticate, authenticator=authenticator or Authenticator(config.auth))]
