"""The sandbox control API and fault injection shared by the emulated REST silos.

This is *not* part of any vendor API. Every emulated silo is wrapped in :class:`SandboxControl`,
which serves:

``GET /_sandbox/stats``
    ``{"total": N, "endpoints": {"GET /admin/api/{version}/customers.json": N, ...}}``: vendor API
    requests counted per endpoint (method + route template) since the last reset.
``POST /_sandbox/reset``
    zeroes the counters and clears every fault.
``POST /_sandbox/faults``
    JSON ``{"latency_ms", "jitter_ms", "error_rate", "rate_limited", "down",
    "lost_response", "endpoints"}`` (every key optional, omitted keys keep their value): added
    latency (uniform in ``latency_ms ± jitter_ms``), a share of requests answered with the
    vendor's 500, a 429 storm in the vendor's shape, every request refused with 503, or
    ``lost_response``: the request is **applied** and its answer lost — the caller gets a
    ``504 Gateway Timeout`` as from a proxy that gave up waiting (the outcome a write's caller
    cannot know). ``endpoints`` (a list of ``"METHOD /route/template"`` as in the stats; empty
    for all) limits the faults to those endpoints, e.g. one step of a saga.
    ``GET /_sandbox/faults`` returns the current settings.

Vendor specifics (the 429/500/503 bodies and headers) come from a :class:`FaultResponses` given by
each silo, so the faults look exactly like the vendor's own.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from silos.responses import json_response

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Faults:
    """Fault settings of one silo; all off by default."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    rate_limited: bool = False
    down: bool = False
    lost_response: bool = False
    endpoints: list[str] = field(default_factory=list)

    def applies_to(self, endpoint: str) -> bool:
        return not self.endpoints or endpoint in self.endpoints

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, validating every key and value (raises ``ValueError``)."""
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {key!r}")
            current = getattr(self, key)
            if key == "endpoints":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError("endpoints must be a list of strings")
                value = list(value)
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be a boolean")
            else:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{key} must be a non-negative number")
                if key == "error_rate" and value > 1:
                    raise ValueError("error_rate must be between 0 and 1")
                value = float(value)
            setattr(self, key, value)


async def _discard(message: Any) -> None:
    """An ASGI ``send`` that drops the answer (the write is applied, its answer lost)."""


@dataclass(frozen=True)
class FaultResponses:
    """How a vendor answers when it is rate limited, failing or down."""

    rate_limited: Callable[[], Response]
    server_error: Callable[[], Response]
    unavailable: Callable[[], Response]


@dataclass
class SandboxControl:
    """ASGI middleware adding the control API, request counting and fault injection to a silo."""

    app: ASGIApp
    routes: list[Route]
    responses: FaultResponses
    faults: Faults = field(default_factory=Faults)
    stats: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(default_factory=random.Random)

    def endpoint_of(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return f"{scope['method']} {route.path}"
        return f"{scope['method']} (unrouted)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            response = await self.control(Request(scope, receive))
            await response(scope, receive, send)
            return
        endpoint = self.endpoint_of(scope)
        self.stats[endpoint] += 1
        faults = self.faults
        if not faults.applies_to(endpoint):
            await self.app(scope, receive, send)
            return
        if faults.latency_ms or faults.jitter_ms:
            delay = faults.latency_ms + self.rng.uniform(-faults.jitter_ms, faults.jitter_ms)
            if delay > 0:
                await asyncio.sleep(delay / 1000)
        fault: Response | None = None
        if faults.down:
            fault = self.responses.unavailable()
        elif faults.rate_limited:
            fault = self.responses.rate_limited()
        elif faults.error_rate and self.rng.random() < faults.error_rate:
            fault = self.responses.server_error()
        if fault is not None:
            await fault(scope, receive, send)
            return
        if faults.lost_response:
            await self.app(scope, receive, _discard)
            await json_response({"error": "Gateway Timeout"}, 504)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def control(self, request: Request) -> Response:
        action = request.url.path[len(CONTROL_PREFIX) :].rstrip("/")
        method = request.method
        if action == "stats" and method == "GET":
            return json_response({"total": sum(self.stats.values()), "endpoints": dict(self.stats)})
        if action == "reset" and method == "POST":
            self.stats.clear()
            self.faults = Faults()
            return json_response({"ok": True})
        if action == "faults" and method == "GET":
            return json_response(asdict(self.faults))
        if action == "faults" and method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                faults = Faults(**asdict(self.faults))
                faults.update(body)
            except ValueError as exc:
                return json_response({"error": str(exc)}, status_code=400)
            self.faults = faults
            return json_response(asdict(faults))
        return json_response({"error": f"no control endpoint {method} {request.url.path}"}, 404)
