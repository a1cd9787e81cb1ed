"""The gateway in process, over the emulated silos in process (no sockets)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.config import parse_config
from gateway.loop import run
from gateway.runtime import open_runtime
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config, prepare
from tests.tokens import bearer


def indexed_sandbox(options: SandboxOptions) -> RunningSandbox:
    """A sandbox, its identity index built (a module that writes to the silos makes its own)."""
    running = prepare(options)

    async def index() -> None:
        config = parse_config(gateway_config(running), env={})
        async with open_runtime(config, transports=running.transports()) as runtime:
            report = await runtime.identity.index()
            assert not report.failed

    run(index())
    return running


@pytest.fixture(scope="session")
def graph_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    """300 people, indexed once for the whole session."""
    return indexed_sandbox(SandboxOptions(customers=300, seed=42,
                                          data_dir=tmp_path_factory.mktemp("graph")))


GatewayFactory = Callable[..., Any]


@pytest.fixture
def gateway_sandbox(graph_sandbox: RunningSandbox) -> RunningSandbox:
    """The sandbox ``gateway`` and ``silos`` serve; a module that writes to the silos
    overrides it with its own."""
    return graph_sandbox


@pytest.fixture
async def silos(gateway_sandbox: RunningSandbox
                ) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Clients to each silo's control API; faults and counters are reset after the test."""
    clients = {kind: httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                       base_url="http://silo")
               for kind, app in gateway_sandbox.apps.items()}
    for client in clients.values():
        await client.post("/_sandbox/reset")
    yield clients
    for client in clients.values():
        await client.post("/_sandbox/reset")
        await client.aclose()


@pytest.fixture
async def gateway(gateway_sandbox: RunningSandbox, silos: dict[str, httpx.AsyncClient],
                  ) -> AsyncIterator[Callable[..., Any]]:
    """``async with gateway(**config overrides) as client`` — a gateway app and its client."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(batching: bool = True, budget_ms: int | None = None,
                   transports: dict[str, httpx.AsyncBaseTransport] | None = None,
                   survivorship: dict[str, Any] | None = None,
                   engines: dict[str, Any] | None = None,
                   settings: dict[str, Any] | None = None,
                   config: dict[str, Any] | None = None,
                   role: str = "backoffice", customer: str | None = None,
                   store: str | None = None, scopes: tuple[str, ...] = (),
                   headers: dict[str, str] | None = None,
                   tracer_provider: Any = None,
                   ) -> AsyncIterator[httpx.AsyncClient]:
        """Every request carries a token of ``role`` (backoffice by default), unless
        ``headers`` are given (``{}``: anonymous); ``config`` merges top-level tables."""
        data = copy.deepcopy(gateway_config(gateway_sandbox))
        for table, values in (config or {}).items():
            if isinstance(values, dict) and isinstance(data.get(table), dict):
                data[table].update(values)
            else:
                data[table] = values
        if budget_ms is not None:
            data["gateway"]["request_budget_ms"] = budget_ms
        data["gateway"].update(settings or {})
        if survivorship is not None:
            data["survivorship"] = survivorship
        app = create_app(parse_config(data, env={}),
                         transports={**gateway_sandbox.transports(), **(transports or {})},
                         engines=engines, batching=batching,
                         tracer_provider=tracer_provider)
        if headers is None:
            headers = bearer(data, role, customer=customer, store=store, scopes=scopes)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway",
                headers=headers) as client:
            yield client

    yield make
