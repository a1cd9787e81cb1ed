"""``c360 sandbox``: the four emulated silos on local ports, filled from one population."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import tomli_w
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway import loop
from silos.control import SandboxControl
from silos.generator import Sandbox, generate
from silos.loyalty import create_loyalty_engine, create_schema, load_members, load_points
from silos.shopify import ShopifySiloConfig
from silos.shopify import create_app as create_shopify_app
from silos.square import SquareSiloConfig
from silos.square import create_app as create_square_app
from silos.zendesk import ZendeskSiloConfig
from silos.zendesk import create_app as create_zendesk_app

SHOPIFY_API_VERSION = "2026-07"
SQUARE_API_VERSION = "2025-10-16"
SANDBOX_ISSUER = "c360-sandbox"
SANDBOX_AUDIENCE = "c360"
CART_HISTORY_DAYS = 365


@dataclass(frozen=True)
class SandboxOptions:
    customers: int = 500
    seed: int = 42
    host: str = "127.0.0.1"
    port: int = 8100
    data_dir: Path = Path("sandbox-data")
    loyalty_url: str | None = None
    latency_ms: float = 0.0
    heavy_customers: int = 0
    locale: str = "us"
    """The population (``us``, ``es``, ``it``, ``mixed``: :mod:`silos.generator.locales`);
    the gateway config's identity regions and name locales follow it."""


# The [identity] settings each population needs: the region national phone numbers are read in
# (records without a country), the other regions tried, and the name conventions to apply.
LOCALE_IDENTITY: dict[str, dict[str, Any]] = {
    "us": {"default_region": "US", "regions": ["US", "GB"]},
    "es": {"default_region": "ES", "regions": ["ES", "IT", "US"], "name_locales": ["es", "ca"]},
    "it": {"default_region": "IT", "regions": ["IT", "ES", "US"], "name_locales": ["it"]},
    "mixed": {"default_region": "ES", "regions": ["ES", "IT", "US", "PT", "FR"],
              "name_locales": ["es", "ca", "it", "pt", "fr"]},
}


@dataclass
class RunningSandbox:
    """A generated sandbox and its silo apps, ready to be served (or called in process)."""

    options: SandboxOptions
    data: Sandbox
    apps: dict[str, SandboxControl]
    config_path: Path
    ground_truth_path: Path
    loyalty_url: str

    def transports(self) -> dict[str, httpx.AsyncBaseTransport]:
        """In-process transports to the silo apps (no sockets), keyed by source name."""
        return {kind: httpx.ASGITransport(app=app) for kind, app in self.apps.items()}

    def url(self, kind: str) -> str:
        offset = {"shopify": 1, "square": 2, "zendesk": 3}[kind]
        return f"http://{self.options.host}:{self.options.port + offset}"


def _async_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0]
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
              "postgres": "postgresql+asyncpg"}.get(base)
    if driver is None:
        raise ValueError(f"unsupported loyalty database URL scheme {scheme!r}")
    return f"{driver}://{rest}"


def gateway_config(running: RunningSandbox) -> dict[str, Any]:
    """The ``c360.toml`` the gateway reads, pointing at this sandbox's silos."""
    shopify, square, zendesk = (ShopifySiloConfig(), SquareSiloConfig(), ZendeskSiloConfig())
    data = running.data
    # the generated data is dated from ``as_of``: open carts reach back a year before it
    cart_days = max(0, (datetime.now(UTC) - data.as_of).days) + CART_HISTORY_DAYS
    return {
        "gateway": {"request_budget_ms": 2000},
        "sources": {
            "shopify": {"kind": "shopify", "url": running.url("shopify"),
                        "api_version": SHOPIFY_API_VERSION,
                        "access_token": shopify.access_token, "timeout_ms": 1500,
                        "references": {"tag:loyalty:": "loyalty"},
                        "cart_lookback_days": cart_days},
            "square": {"kind": "square", "url": running.url("square"),
                       "api_version": SQUARE_API_VERSION,
                       "access_token": square.access_token, "timeout_ms": 1500,
                       "references": {"reference_id": "loyalty"},
                       "return_reference_source": "shopify"},
            "zendesk": {"kind": "zendesk", "url": running.url("zendesk"),
                        "email": zendesk.email, "api_token": zendesk.api_token,
                        "timeout_ms": 1500,
                        "order_number_field_id": data.order_number_field_id,
                        "references": {"external_id": "shopify"}},
            "loyalty": {"kind": "loyalty", "url": _async_url(running.loyalty_url),
                        "timeout_ms": 1500},
        },
        "stores": [{"code": s.code, "name": s.name,
                    "locations": {"shopify": str(s.shopify_location_id),
                                  "square": s.square_location_id}} for s in data.stores],
        "identity": {"database_url": "sqlite+aiosqlite:///"
                     + str((running.options.data_dir / "identity.sqlite").resolve()),
                     **copy.deepcopy(LOCALE_IDENTITY[running.options.locale])},
        "auth": {"jwt": {
            "issuer": SANDBOX_ISSUER, "audience": SANDBOX_AUDIENCE, "algorithms": ["ES256"],
            "public_key_file": str(signing_key_paths(running.options.data_dir)[1].resolve()),
            "signing_key_file": str(signing_key_paths(running.options.data_dir)[0].resolve()),
        }},
        "limits": {"introspection": True, "suggestions": True},
    }


def signing_key_paths(data_dir: Path) -> tuple[Path, Path]:
    return data_dir / "signing-key.pem", data_dir / "signing-key.pub.pem"


def ensure_signing_key(data_dir: Path) -> None:
    """A local ES256 key pair the sandbox's gateway config trusts (``c360 token`` signs with
    the private half); kept across runs, readable by its owner only."""
    private_path, public_path = signing_key_paths(data_dir)
    if private_path.exists() and public_path.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    private_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    private_path.chmod(0o600)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def prepare(options: SandboxOptions) -> RunningSandbox:
    """Generate the data, create the loyalty database and write ground truth and config."""
    data = generate(customers=options.customers, seed=options.seed,
                    heavy_customers=options.heavy_customers, locale=options.locale)
    options.data_dir.mkdir(parents=True, exist_ok=True)
    loyalty_url = options.loyalty_url or "sqlite:///" + str(
        (options.data_dir / "loyalty.sqlite").resolve())
    engine = create_loyalty_engine(loyalty_url)
    try:
        create_schema(engine, drop_existing=True)
        load_members(engine, data.loyalty_members)
        load_points(engine, data.loyalty_points)
    finally:
        engine.dispose()
    apps = {
        "shopify": create_shopify_app(data.shopify, ShopifySiloConfig()),
        "square": create_square_app(data.square, SquareSiloConfig()),
        "zendesk": create_zendesk_app(data.zendesk, ZendeskSiloConfig()),
    }
    for app in apps.values():
        app.faults.latency_ms = options.latency_ms
    ensure_signing_key(options.data_dir)
    truth = options.data_dir / "ground_truth.json"
    truth.write_text(json.dumps(data.ground_truth, indent=1), encoding="utf-8")
    running = RunningSandbox(options, data, apps, options.data_dir / "c360.toml", truth,
                             loyalty_url)
    with running.config_path.open("wb") as fh:
        fh.write(b"# c360 gateway configuration written by `c360 sandbox`\n")
        tomli_w.dump(gateway_config(running), fh)
    return running


class _Server(uvicorn.Server):
    """A uvicorn server whose signals are handled once for the group, by :class:`Servers`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Servers:
    """Several uvicorn servers in one event loop, stopped together on SIGINT/SIGTERM."""

    def __init__(self) -> None:
        self.servers: list[uvicorn.Server] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.stopped = asyncio.Event()

    async def start(self, app: Any, host: str, port: int) -> None:
        """Start one server and wait until it listens (SystemExit if it cannot)."""
        server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                        lifespan="auto", access_log=False))
        task = asyncio.create_task(server.serve())
        self.servers.append(server)
        self.tasks.append(task)
        while not server.started:
            if task.done():
                self.stop()
                await asyncio.gather(*self.tasks, return_exceptions=True)
                raise SystemExit(f"could not serve on {host}:{port} (is the port in use?)")
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        self.stopped.set()

    async def run_until_signal(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        try:
            await self.stopped.wait()
            await asyncio.gather(*self.tasks)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def start_silos(running: RunningSandbox, servers: Servers) -> None:
    for kind, app in running.apps.items():
        await servers.start(app, running.options.host, int(running.url(kind).rsplit(":", 1)[1]))


async def serve(running: RunningSandbox, on_ready: Callable[[], None] | None = None) -> None:
    """Serve the three REST silos until SIGINT/SIGTERM."""
    servers = Servers()
    await start_silos(running, servers)
    if on_ready is not None:
        on_ready()
    await servers.run_until_signal()


def describe(running: RunningSandbox, seconds: float) -> str:
    counts = running.data.counts
    lines = [
        f"c360 sandbox ready in {seconds:.1f}s: {counts['people']} people, "
        f"{counts['shopify_orders']} web orders, {counts['square_orders']} store sales, "
        f"{counts['tickets']} tickets, {counts['loyalty_members']} loyalty members",
        f"  shopify  {running.url('shopify')}/admin/api/{SHOPIFY_API_VERSION}/",
        f"  square   {running.url('square')}/v2/",
        f"  zendesk  {running.url('zendesk')}/api/v2/",
        f"  loyalty  {running.loyalty_url}",
        f"  config   {running.config_path}",
        f"  truth    {running.ground_truth_path}",
        f"  tokens   c360 token --config {running.config_path} --role agent   (the config "
        f"trusts {signing_key_paths(running.options.data_dir)[1].name})",
        "  control  GET /_sandbox/stats, POST /_sandbox/reset, POST /_sandbox/faults on each",
        "Ctrl-C stops.",
    ]
    return "\n".join(lines)


def run(options: SandboxOptions) -> None:
    started = time.perf_counter()
    running = prepare(options)
    loop.run(serve(running, lambda: print(
        describe(running, time.perf_counter() - started), flush=True)))
