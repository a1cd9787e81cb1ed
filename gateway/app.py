"""The HTTP face of c360: GraphQL over HTTP, GraphiQL from local files, health and readiness.

``POST /graphql`` (and ``GET`` for queries) follows the GraphQL-over-HTTP spec: JSON requests,
``application/graphql-response+json`` when the client accepts it (request errors are 400 then;
with plain ``application/json`` they are 200, as the spec's legacy rules say), 405 for a
mutation over GET, 406/415 for media types we cannot serve. The gateway never answers with a
stack trace or a bare 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import orjson
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.errors import UpstreamError
from adapters.protocols import CustomerSource
from adapters.transport import PooledTransport
from gateway.admission import (
    Admission,
    Arrival,
    Refusal,
    Ticket,
    arrival,
    upstream_deadline,
    watching,
)
from gateway.audit.store import AccessRecord, AuditUnavailable
from gateway.auth.customer import acting_for
from gateway.auth.middleware import Authenticator, authentication, unauthenticated
from gateway.breakers import RedisBreakers, build_breakers, syncing
from gateway.cache import build_cache
from gateway.config import Config, GatewaySettings
from gateway.graphiql import graphiql_html, wants_page
from gateway.limits.gate import QueryGate, Refused
from gateway.memory import Trimmer, malloc_trim, trimming
from gateway.ratelimit.middleware import rate_limiting
from gateway.runtime import Runtime, open_runtime
from gateway.telemetry.metrics import Metrics, folding, metrics_endpoint, worker_exited
from gateway.telemetry.requests import Observed, answer_of
from gateway.telemetry.traces import build_provider, in_recorded_trace, tracer_of
from gateway.telemetry.traces import shutdown as shutdown_traces
from identity.crawl import Crawler, crawling
from resolvers.context import Context
from resolvers.loaders import BatchSizes, Loaders
from resolvers.principal import Principal, Role
from schema import C360Schema, build_schema

log = logging.getLogger("c360.gateway")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
READY_TIMEOUT_S = 2.0
JWKS_LIMITS = httpx.Limits(max_connections=2, max_keepalive_connections=1)
REDIS_TIMEOUT_S = 0.25


def _json(body: Any, status: int = 200, media_type: str = JSON,
          headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type,
                    headers=dict(headers or {}))


def _request_error(message: str, status: int, media_type: str = JSON,
                   headers: Mapping[str, str] | None = None) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]},
                 status, media_type, headers)


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header (None: nothing we can serve)."""
    if not accept:
        return JSON
    best: tuple[float, str] | None = None
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        choice = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "application/*": JSON,
                  "*/*": JSON}.get(media.lower())
        if choice and q > 0 and (best is None or q > best[0] or (
                q == best[0] and choice == GRAPHQL_RESPONSE)):
            best = (q, choice)
    return best[1] if best else None


class RequestId:
    """ASGI middleware: every request gets an id (a sane incoming ``X-Request-ID`` is kept),
    echoed in the response and carried by every error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class Shedding:
    """ASGI middleware ahead of authentication: a GraphQL request the worker would refuse
    whatever it asked — ``max_in_flight`` admitted, or the queue's predicted wait over
    ``queue_wait_ms`` (:meth:`Admission.shed`) — is refused here, before its credential is
    verified and its body read, so that refusing the excess costs the least CPU."""

    def __init__(self, app: ASGIApp, admission: Admission, path: str = "/graphql") -> None:
        self.app = app
        self.admission = admission
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and \
                scope["method"] in ("GET", "POST") and not wants_page(scope):
            refusal = self.admission.shed()
            if refusal is not None:
                answer_of(scope).refused = refusal.reason
                media_type = negotiate(Headers(scope=scope).get("accept")) or JSON
                await _overloaded(media_type, refusal.retry_after_s)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class GraphQLEndpoint:
    def __init__(self, schema: C360Schema, settings: GatewaySettings, gate: QueryGate,
                 batching: bool = True, graphiql_headers: Mapping[str, str] | None = None,
                 tracer: Tracer | None = None, batch_sizes: BatchSizes | None = None,
                 ) -> None:
        self.schema = schema
        self.tracer = tracer
        self.batch_sizes = batch_sizes
        self.settings = settings
        self.batching = batching
        self.admission = Admission(settings.max_in_flight,
                                   max_lag_s=settings.max_loop_lag_ms / 1000,
                                   max_wait_s=settings.queue_wait_ms / 1000)
        self.gate = gate
        self.graphiql_page = graphiql_html("/graphql", headers=graphiql_headers)

    def context(self, request: Request, deadline: float) -> Context:
        runtime: Runtime = request.app.state.runtime
        recheck = runtime.rechecker.for_request(deadline) if runtime.rechecker else None
        return Context(runtime=runtime, request_id=request.state.request_id, deadline=deadline,
                       loaders=Loaders(runtime.adapters, runtime.registry, deadline,
                                       batching=self.batching, recheck=recheck,
                                       cache=runtime.cache,
                                       tracer=self.tracer if in_recorded_trace() else None,
                                       batch_sizes=self.batch_sizes),
                       principal=principal_of(request),
                       idempotency_key=request.headers.get("idempotency-key"))

    async def _run(self, context: Context, query: str, variables: dict[str, Any] | None,
                   operation_name: str | None, mutation: bool) -> Any:
        context.acting_for = await acting_for(context.runtime, context.principal)
        result = await self.schema.execute(query, variable_values=variables,
                                           context_value=context, operation_name=operation_name)
        recheck = context.loaders.recheck
        if recheck is not None and not mutation and not context.budget_spent \
                and await recheck.settle():
            # the identity re-check that ran beside the reads linked new records: read again
            # (the silo answers are cached in this request's loaders; only the new records'
            # reads go out), so the answer shows them as if the re-check had come first
            context.loaders.forget_identity()
            context.partial_errors.clear()
            context.stale.clear()
            result = await self.schema.execute(query, variable_values=variables,
                                               context_value=context,
                                               operation_name=operation_name)
        return result

    def _finished(self, ticket: Ticket, loaders: Loaders, running: asyncio.Future[Any]
                  ) -> None:
        self.admission.finish(ticket)
        loaders.release()
        if not running.cancelled():
            running.exception()  # retrieved: the caller had its answer already

    async def execute(self, request: Request, query: str, variables: dict[str, Any] | None,
                      operation_name: str | None, media_type: str, *,
                      mutation: bool = False, cost: int | None = None) -> Response:
        """Run the operation under admission control and the request budget (see
        :mod:`gateway.admission`); a mutation's budget is ``sagas.budget_ms``. ``cost`` is the
        document's static cost (the prior of its CPU prediction)."""
        budget_ms = self.settings.request_budget_ms
        if mutation:
            budget_ms = max(budget_ms, request.app.state.runtime.config.sagas.budget_ms)
        budget = budget_ms / 1000
        arrived = arrival(request.scope)
        ticket = self.admission.arrive((query, operation_name, cost), cost, arrived, budget)
        if isinstance(ticket, Refusal):
            answer_of(request.scope).refused = ticket.reason
            return _overloaded(media_type, ticket.retry_after_s)
        if not await self.admission.wait(ticket):
            answer_of(request.scope).refused = "late"
            log.warning("request %s: refused after queueing, its turn came too late for its "
                        "predicted cost", request.state.request_id)
            return _overloaded(media_type, 1)
        context = self.context(request, upstream_deadline(arrived, budget))
        context.answer_deadline = arrived + budget
        running = asyncio.ensure_future(
            self._run(context, query, variables, operation_name, mutation))
        running.add_done_callback(partial(self._finished, ticket, context.loaders))
        remaining = arrived + budget - asyncio.get_running_loop().time()
        try:
            done, _ = await asyncio.wait({running}, timeout=max(remaining, 0))
        except asyncio.CancelledError:  # the client went away, or the server is stopping
            running.cancel()
            raise
        if not done or context.budget_spent:
            # answer now; the cancelled work may take a moment to let go of its connections,
            # and keeps its admission slot until it has
            running.cancel()
            log.warning("request %s: cut at its %d ms budget", request.state.request_id,
                        budget_ms)
            return _json({"errors": [{
                "message": f"the request did not complete within its {budget_ms} ms budget",
                "extensions": {"code": "BUDGET_EXCEEDED",
                               "requestId": request.state.request_id}}]}, 504, media_type)
        result = running.result()
        if context.accessed and context.principal is not None:
            try:
                await context.runtime.audit.record(access_records(context, operation_name))
            except AuditUnavailable:
                log.error("request %s: answer withheld, its PII access audit record could not "
                          "be written", request.state.request_id)
                return _json({"errors": [{
                    "message": "the answer could not be audited; retry shortly",
                    "extensions": {"code": "AUDIT_UNAVAILABLE",
                                   "requestId": request.state.request_id}}]}, 503, media_type,
                    {"Retry-After": "1"})
        body: dict[str, Any] = {}
        answer = answer_of(request.scope)
        answer.outcome = "ok"
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
            answer.outcome = "partial" if result.data is not None else "error"
            answer.codes = error_codes(body["errors"])
        if result.data is None and result.errors:
            status = 400 if media_type == GRAPHQL_RESPONSE else 200
            return _json(body, status, media_type)
        body["data"] = result.data
        if context.stale:
            body["extensions"] = {"stale": context.stale}
        return _json(body, 200, media_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        media_type = negotiate(request.headers.get("accept"))
        if wants_page(request.scope):
            return HTMLResponse(self.graphiql_page)
        principal = principal_of(request)
        if principal is None:  # the middleware lets only the page through
            return unauthenticated()
        if media_type is None:
            return _request_error(f"cannot answer as {request.headers.get('accept')}; "
                                  f"accept {GRAPHQL_RESPONSE} or {JSON}", 406)
        if request.method == "GET":
            params: dict[str, Any] = dict(request.query_params)
            if "variables" in params:
                try:
                    params["variables"] = orjson.loads(params["variables"])
                except orjson.JSONDecodeError:
                    return _request_error("variables is not valid JSON", 400, media_type)
            if "extensions" in params:
                try:
                    params["extensions"] = orjson.loads(params["extensions"])
                except orjson.JSONDecodeError:
                    return _request_error("extensions is not valid JSON", 400, media_type)
        elif request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type != JSON:
                return _request_error(f"send the request as {JSON}", 415, media_type)
            body = await _bounded_body(request, self.settings.max_body_bytes)
            if body is None:
                return _request_error(f"the body is over {self.settings.max_body_bytes} bytes",
                                      413, media_type)
            try:
                params = orjson.loads(body)
            except orjson.JSONDecodeError:
                return _request_error("the body is not valid JSON", 400, media_type)
        else:
            return _request_error("use GET or POST", 405, media_type, {"Allow": "GET, POST"})
        if not isinstance(params, dict):
            return _request_error("the body must be a JSON object", 400, media_type)
        variables = params.get("variables")
        operation_name = params.get("operationName")
        checked = await self.gate.admit(params, principal, request.app.state, request.method)
        if isinstance(checked, Refused):
            answer_of(request.scope).operation = (operation_name if isinstance(
                operation_name, str) else "")
            # a document refused before execution is a request error: 400 with the GraphQL
            # response media type, 200 under the legacy application/json rules
            status = 200 if checked.status == 400 and media_type == JSON else checked.status
            if checked.status == 400:
                answer_of(request.scope).outcome = "invalid"
            return _json({"errors": checked.errors()}, status, media_type, checked.headers)
        query = checked.query
        if variables is not None and not isinstance(variables, dict):
            return _request_error("variables must be an object", 400, media_type)
        if operation_name is not None and not isinstance(operation_name, str):
            return _request_error("operationName must be a string", 400, media_type)
        answer_of(request.scope).operation = checked.operation
        answer_of(request.scope).operation_type = "mutation" if checked.mutation else "query"
        return await self.execute(request, query, variables, operation_name, media_type,
                                  mutation=checked.mutation, cost=checked.cost)


def error_codes(errors: list[dict[str, Any]]) -> list[str]:
    """Each error's ``extensions.code``, with its source when it names one (for the log line:
    no message, which may quote a value)."""
    codes = []
    for error in errors:
        extensions = error.get("extensions") or {}
        code = str(extensions.get("code", "ERROR"))
        source = extensions.get("source")
        codes.append(f"{code}:{source}" if source else code)
    return sorted(set(codes))


def _overloaded(media_type: str, retry_after_s: int) -> Response:
    return _json({"errors": [{"message": "the gateway is at capacity; retry shortly",
                              "extensions": {"code": "OVERLOADED"}}]}, 503, media_type,
                 {"Retry-After": str(retry_after_s)})


def access_records(context: Context, operation_name: str | None) -> list[AccessRecord]:
    """The PII access audit records of a request: one per customer whose profile it read."""
    principal = context.principal
    assert principal is not None
    now = datetime.now(UTC)
    return [AccessRecord(at=now, request_id=context.request_id, subject=principal.subject,
                         role=principal.role.value, method=principal.method, golden_id=golden,
                         groups=tuple(sorted(groups)), operation_name=operation_name)
            for golden, groups in sorted(context.accessed.items())]


class Trusted:
    """Benchmarks only (``security=False``): every caller is a back-office principal."""

    def __init__(self, app: ASGIApp, grants: Mapping[str, frozenset[str]]) -> None:
        self.app = app
        self.principal = Principal("benchmark", Role.BACKOFFICE, grants["backoffice"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["principal"] = self.principal
        await self.app(scope, receive, send)


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it is over ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def principal_of(request: Request) -> Principal | None:
    """The principal the authentication middleware put on the request."""
    principal = request.scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else None


def cors(config: Config) -> list[Middleware]:
    """CORS for the configured origins only (``gateway.cors_origins``); none by default."""
    origins = list(config.gateway.cors_origins)
    if not origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type", "X-Request-ID",
                                      "Idempotency-Key"],
                       expose_headers=["X-Request-ID", "Retry-After"], max_age=600)]


async def healthz(request: Request) -> Response:
    return _json({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Whether this worker can serve: 503 ``unavailable`` only when the registry (the
    gateway's own database) cannot be read. Each source is checked with a cheap read within 2 s
    (not called while its breaker is open) and reported in ``checks``; a source that fails
    makes the answer ``degraded``, still 200 — the gateway answers without it (partial
    answers, stale-if-error), and a load balancer must not take every worker out because one
    silo is down. ``breakers`` gives each source's breaker state."""
    runtime: Runtime = request.app.state.runtime

    async def probe(name: str, adapter: Any) -> tuple[str, str]:
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                if isinstance(adapter, CustomerSource):
                    await adapter.customers_by_ids(["1"])
            return name, "ok"
        except UpstreamError as exc:
            return name, exc.code
        except TimeoutError:
            return name, "SOURCE_TIMEOUT"

    async def registry() -> tuple[str, str]:
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await runtime.registry.count_people()
            return "registry", "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readyz: registry %s", type(exc).__name__)
            return "registry", "UNAVAILABLE"

    checks = await asyncio.gather(registry(), *(probe(n, a)
                                                for n, a in runtime.adapters.items()))
    status = dict(checks)
    serving = status["registry"] == "ok"
    ready = serving and all(v == "ok" for v in status.values())
    return _json({"status": "ready" if ready else "degraded" if serving else "unavailable",
                  "checks": status,
                  "breakers": {n: b.state for n, b in runtime.breakers.items()}},
                 200 if serving else 503)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait for it to end (before what it uses closes)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(config: Config, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None
               = None, engines: Mapping[str, AsyncEngine] | None = None,
               batching: bool = True, graphiql_headers: Mapping[str, str] | None = None,
               security: bool = True, tracer_provider: TracerProvider | None = None
               ) -> Starlette:
    """The gateway app; clients, engines and the registry live for the app's lifespan.
    ``graphiql_headers`` prefill GraphiQL's Headers tab (``c360 demo``'s agent token).
    ``security=False`` (benchmarks only: ``C360_SECURITY=0``) drops authentication, rate and
    query limits and treats every caller as back office; field rules still apply.
    ``tracer_provider`` records the app's spans (tests: an in-memory exporter; the caller shuts
    it down); without one, ``[telemetry] traces`` builds one the app shuts down."""

    metrics = Metrics() if config.telemetry.metrics else None
    owned = None if tracer_provider is not None else build_provider(config.telemetry)
    provider = tracer_provider or owned
    tracer = tracer_of(provider) if provider is not None else None
    schema = build_schema(introspection=config.limits.introspection,
                          suggestions=config.limits.suggestions)
    authenticator = Authenticator(config.auth)
    endpoint = GraphQLEndpoint(schema, config.gateway,
                               QueryGate(schema._schema, config, checks=security),
                               batching=batching, graphiql_headers=graphiql_headers,
                               tracer=tracer, batch_sizes=metrics.batch if metrics else None)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as outer:
            if owned is not None:  # runs last: after all else has closed and ended its spans
                outer.push_async_callback(shutdown_traces, owned)
            app.state.redis = None
            if config.redis_url is not None:
                from redis.asyncio import Redis

                # a dead or hung Redis must cost a request milliseconds, not its budget: the
                # rate limiter, the APQ store and the breakers fall back to this worker's own
                # state
                app.state.redis = Redis.from_url(
                    config.redis_url, socket_timeout=REDIS_TIMEOUT_S,
                    socket_connect_timeout=REDIS_TIMEOUT_S, retry_on_timeout=False)
                outer.push_async_callback(app.state.redis.aclose)
            shared = RedisBreakers(app.state.redis) if app.state.redis is not None else None
            breakers = build_breakers(config.breakers, list(config.sources), shared=shared,
                                      listener=metrics.breaker if metrics else None)
            if metrics is not None:
                for name in breakers:
                    metrics.breaker(name, "closed", moved=False)
            if shared is not None and breakers:
                await outer.enter_async_context(syncing(shared, breakers,
                                                        config.breakers.sync_s))
            cache = build_cache(config.cache, app.state.redis,
                                listener=metrics.cache if metrics else None)
            async with open_runtime(config, transports=transports, engines=engines,
                                    metrics=metrics, breakers=breakers,
                                    cache=cache, tracer=tracer) as runtime, \
                    watching(endpoint.admission), AsyncExitStack() as stack:
                stack.callback(worker_exited)
                if metrics is not None:
                    await stack.enter_async_context(folding(metrics))
                app.state.runtime = runtime
                app.state.trimmer = Trimmer(endpoint.admission, malloc_trim())
                await stack.enter_async_context(trimming(app.state.trimmer))
                app.state.crawler = None
                if config.identity.refresh_s > 0:  # the registry kept fresh while serving
                    app.state.crawler = await stack.enter_async_context(crawling(Crawler(
                        runtime.registry, runtime.customer_sources(), runtime.normalizer,
                        interval_s=config.identity.refresh_s)))
                jwks_client = None
                if config.auth.jwt is not None and config.auth.jwt.jwks_url is not None:
                    jwks_client = httpx.AsyncClient(
                        transport=(transports or {}).get("jwks") or PooledTransport(
                            JWKS_LIMITS),
                        timeout=5.0)
                    stack.push_async_callback(jwks_client.aclose)
                authenticator.open(jwks_client)
                recovery = asyncio.create_task(runtime.sagas.recover_every(
                    config.sagas.recover_interval_s))
                stack.push_async_callback(_stop, recovery)
                yield

    routes: list[BaseRoute] = [
        Route("/graphql", endpoint, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics_endpoint(metrics)))
    try:
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        from gateway.graphiql import STATIC_DIR

        routes.append(Mount("/graphiql/static", StaticFiles(directory=STATIC_DIR)))
    except ImportError:  # pragma: no cover
        pass
    middleware = [Middleware(Arrival), Middleware(RequestId),
                  Middleware(Observed, metrics=metrics, tracer=tracer), *cors(config),
                  Middleware(Shedding, admission=endpoint.admission),
                  *(authentication(config, authenticator) + rate_limiting(config) if security
                    else [Middleware(Trusted, grants=config.auth.grants)])]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                    exception_handlers={Exception: _internal_error})
    app.state.admission = endpoint.admission
    return app


async def _internal_error(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", "-")
    log.error("request %s: unhandled %s", request_id, type(exc).__name__,
              exc_info=(type(exc), exc, exc.__traceback__))
    return _json({"errors": [{"message": "Internal server error", "extensions": {
        "code": "INTERNAL_SERVER_ERROR", "requestId": request_id}}]}, 500)

