"""``c360 serve --workers 2`` with the registry on PostgreSQL and the caches, rate limits and
breakers on Redis: real processes over real connections. A value cached by one worker is served
by the other without calling the silo; a breaker one worker trips is open for the other (which
then fails fast without calling the silo); one principal has one rate-limit budget whichever
worker answers.

Every request goes out on a new connection (the kernel spreads them over the workers) with its
own ``X-Request-ID``; the worker that answered is the ``process`` of that request's JSON
``c360.access`` line.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
import tomli_w

from bench.harness import S1_QUERY
from gateway.config import parse_config
from gateway.loop import run
from gateway.runtime import open_runtime
from silos.sandbox import (
    RunningSandbox,
    SandboxOptions,
    Servers,
    gateway_config,
    prepare,
    start_silos,
)
from tests.processes import free_port_block
from tests.tokens import bearer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FAILURES = 3
"""``[breakers] failures``: failed zendesk calls in a row (all workers together) that open it."""
SYNC_MS = 100
"""``[breakers] sync_ms``: how often a worker reads the shared breaker state."""
BURST = 4
"""The ``service`` role's burst; it refills at one token per 1000 s (never, in this test)."""
STARTUP_S = 120
"""Two workers importing the gateway, each opening PostgreSQL and Redis, on two slow cores."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    worker: int
    """The ``process`` of the request's access line: the worker that answered."""
    sources: list[str]
    """The sources that worker called for it (the access line's ``sources``)."""


class AccessLog:
    """The ``c360.access`` lines of the gateway's JSON log, by request id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lines: dict[str, dict[str, Any]] = {}

    def _read(self) -> None:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line being written is read next time
        self.offset += len(complete)
        for raw in complete.splitlines():
            if not raw.startswith(b"{"):
                continue
            line = json.loads(raw)
            if line.get("logger") == "c360.access":
                self.lines[line["request_id"]] = line

    def all(self) -> dict[str, dict[str, Any]]:
        self._read()
        return self.lines

    def line(self, request_id: str, timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            self._read()
            if request_id in self.lines:
                return self.lines[request_id]
            if time.monotonic() > deadline:
                raise AssertionError(f"no access line for request {request_id}")
            time.sleep(0.02)


class Gateway:
    """Requests to ``c360 serve``, each on a new connection, attributed to their worker."""

    def __init__(self, base: str, log: AccessLog) -> None:
        self.base = base
        self.log = log

    def post(self, query: str, headers: dict[str, str], **variables: Any) -> Answer:
        request_id = uuid.uuid4().hex
        response = httpx.post(f"{self.base}/graphql", timeout=60,
                              json={"query": query, "variables": variables},
                              headers={**headers, "X-Request-ID": request_id})
        assert response.headers["x-request-id"] == request_id
        line = self.log.line(request_id)
        return Answer(response.status_code, response.json(), line["process"], line["sources"])

    def ready(self) -> tuple[int, dict[str, Any]]:
        """``/readyz`` and the worker that answered it: on one connection, a GraphQL request
        without credentials (401, but logged with its worker), then ``/readyz``."""
        request_id = uuid.uuid4().hex
        with httpx.Client(base_url=self.base, timeout=60) as client:
            probe = client.post("/graphql", json={"query": "{ __typename }"},
                                headers={"X-Request-ID": request_id})
            connection = local_address(probe)
            ready = client.get("/readyz")
            assert local_address(ready) == connection, "not one connection"
        assert probe.status_code == 401 and ready.status_code == 200, ready.text
        return self.log.line(request_id)["process"], ready.json()


def local_address(response: httpx.Response) -> Any:
    return response.extensions["network_stream"].get_extra_info("client_addr")


def served(running: RunningSandbox, kind: str) -> int:
    """Vendor API requests the silo has served since its last reset."""
    stats = httpx.get(f"{running.url(kind)}/_sandbox/stats", timeout=10).json()
    total: int = stats["total"]
    return total


def email_of(running: RunningSandbox, records: dict[str, str]) -> str:
    email: str = running.data.shopify.customers[int(records["shopify"])]["email"] or ""
    return email.strip()


def people(running: RunningSandbox, *kinds: str) -> list[dict[str, str]]:
    """The records of the people known to each of ``kinds`` and with a Shopify email."""
    found = []
    for person in running.data.ground_truth:
        records = {r["kind"]: r["id"] for r in person["records"]}
        if all(k in records for k in ("shopify", *kinds)) and email_of(running, records):
            found.append(records)
    return found


def zendesk_failed(answer: Answer) -> bool:
    """The answer is the person without zendesk: every error is zendesk unavailable."""
    errors = answer.body.get("errors") or []
    return (answer.status == 200 and answer.body["data"]["customer"] is not None
            and bool(errors) and all(e["extensions"] == {"code": "SOURCE_UNAVAILABLE",
                                                         "source": "zendesk"} for e in errors))


@contextmanager
def silos_over_http(running: RunningSandbox) -> Iterator[None]:
    """The sandbox's three REST silos on their ports, served from a thread of this process."""
    loop = asyncio.new_event_loop()
    servers = Servers()
    started = threading.Event()
    failed: list[BaseException] = []

    async def serve() -> None:
        await start_silos(running, servers)
        started.set()
        await servers.stopped.wait()
        await asyncio.gather(*servers.tasks)

    def main() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            failed.append(exc)
        finally:
            started.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=main, name="silos", daemon=True)
    thread.start()
    try:
        assert started.wait(60) and not failed, f"the silos did not start: {failed}"
        yield
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(servers.stop)
        thread.join(30)


def index(config: dict[str, Any], running: RunningSandbox) -> None:
    """The identity registry (on PostgreSQL) built from the silos."""

    async def build() -> None:
        async with open_runtime(parse_config(config, env={}),
                                transports=running.transports()) as runtime:
            report = await runtime.identity.index()
            assert not report.failed, report.failed

    run(build())


def start_gateway(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``c360 serve --workers 2``; the cache's encryption key from the environment, as a secret
    belongs (and no other ``C360_`` variable of the caller's)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("C360_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env["C360_CACHE_ENCRYPTION_KEY"] = base64.b64encode(os.urandom(32)).decode()
    env["PYTHONUNBUFFERED"] = "1"
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config),
             "--port", str(port), "--workers", "2"], stdout=out, stderr=subprocess.STDOUT,
            env=env)


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=5).raise_for_status()
            return
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("c360 serve did not start:\n"
                                     + log.read_text(errors="replace")[-4000:]) from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def test_two_workers_share_one_cache_one_breaker_and_one_budget(
        tmp_path: Path, postgres_schema_url: str, redis_url: str) -> None:
    running = prepare(SandboxOptions(customers=120, seed=11, data_dir=tmp_path,
                                     port=free_port_block()))
    data = gateway_config(running)
    data["gateway"]["request_budget_ms"] = 10_000  # a cold worker on a slow machine
    data["identity"].update(database_url=postgres_schema_url, refresh_s=0)
    data["redis_url"] = redis_url
    data["cache"] = {"sources": {"shopify": {"ttl_s": 300}}}  # zendesk: always called
    data["breakers"] = {"failures": FAILURES, "cooldown_s": 300, "sync_ms": SYNC_MS}
    data["rate_limits"] = {"roles": {
        "backoffice": {"rate_per_s": 1000, "burst": 1000},  # the cache and breaker requests
        "service": {"rate_per_s": 0.001, "burst": BURST}}}
    data["telemetry"] = {"log_format": "json"}
    index(data, running)
    config = tmp_path / "shared.toml"
    config.write_text(tomli_w.dumps(data))
    reader = bearer(data, "backoffice")
    rich = [p for p in people(running, "square", "zendesk", "loyalty")
            if running.data.shopify.orders_by_customer.get(int(p["shopify"]))]
    assert rich, "no person in all four silos with web orders"
    cached_email = email_of(running, rich[0])
    others = [email_of(running, p) for p in people(running, "zendesk")
              if email_of(running, p) != cached_email]
    assert len(others) >= 10

    port = free_port_block(size=1)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with silos_over_http(running):
        proc = start_gateway(config, port, log)
        try:
            wait_healthy(base, proc, log)
            gateway = Gateway(base, AccessLog(log))
            for kind in ("shopify", "square", "zendesk"):
                httpx.post(f"{running.url(kind)}/_sandbox/reset", timeout=10)

            # 1. A value cached by one worker is served by the other.
            first = gateway.post(S1_QUERY, reader, email=cached_email)
            assert first.status == 200 and "errors" not in first.body, first.body
            person = first.body["data"]["customer"]
            assert person["email"]["value"] == cached_email
            assert any(e["node"]["channel"] == "WEB" for e in person["orders"]["edges"])
            assert person["loyalty"] is not None
            assert "shopify" in first.sources
            shopify_calls = served(running, "shopify")
            assert shopify_calls > 0
            other = first
            deadline = time.monotonic() + STARTUP_S  # the second worker may still be starting
            while other.worker == first.worker:
                assert time.monotonic() < deadline, "the second worker never answered"
                other = gateway.post(S1_QUERY, reader, email=cached_email)
                assert other.status == 200 and "errors" not in other.body, other.body
                assert other.body["data"] == first.body["data"]
                assert "shopify" not in other.sources, "a worker read shopify past the cache"
            assert proc.pid not in (first.worker, other.worker)
            workers = {first.worker, other.worker}
            assert served(running, "shopify") == shopify_calls, \
                "the other worker called shopify for what the first had cached"
            assert "square" in other.sources  # square is not cached: called by each answer
            with redis.Redis.from_url(redis_url) as shared:
                assert shared.keys("c360:entity:shopify:*"), "nothing cached on Redis"

            # 2. One breaker state: zendesk down, its breaker opens for both workers.
            httpx.post(f"{running.url('zendesk')}/_sandbox/faults", json={"down": True},
                       timeout=10).raise_for_status()
            emails = itertools.cycle(others)
            called: dict[int, int] = dict.fromkeys(workers, 0)  # zendesk calls per worker
            tripping = 0
            while sum(called.values()) < FAILURES:
                assert tripping < 10, f"zendesk was called {called} times only"
                before = served(running, "zendesk")
                answer = gateway.post(S1_QUERY, reader, email=next(emails))
                tripping += 1
                assert zendesk_failed(answer), answer.body
                called[answer.worker] += served(running, "zendesk") - before
            time.sleep(10 * SYNC_MS / 1000)  # the other worker has read the shared state
            calls_when_open = served(running, "zendesk")
            fast: dict[int, int] = dict.fromkeys(workers, 0)  # answers without calling zendesk
            for _ in range(200):
                if min(fast.values()) >= 3:
                    break
                answer = gateway.post(S1_QUERY, reader, email=next(emails))
                assert answer.worker in workers
                assert zendesk_failed(answer), answer.body
                assert "zendesk" not in answer.sources, \
                    f"worker {answer.worker} called zendesk past an open breaker ({fast})"
                fast[answer.worker] += 1
            assert min(fast.values()) >= 3, f"answers per worker: {fast}"
            assert served(running, "zendesk") == calls_when_open
            # one of them never failed FAILURES times itself: the trip reached it from Redis
            assert min(called.values()) < FAILURES, called
            readiness: dict[int, dict[str, Any]] = {}
            for _ in range(100):
                if set(readiness) == workers:
                    break
                worker, ready = gateway.ready()
                readiness[worker] = ready
            assert set(readiness) == workers, "/readyz was answered by one worker only"
            for ready in readiness.values():
                assert ready["breakers"]["zendesk"] == "open", ready
                assert ready["checks"]["zendesk"] == "SOURCE_UNAVAILABLE", ready
                assert ready["breakers"]["shopify"] == "closed", ready
            assert served(running, "zendesk") == calls_when_open, "/readyz called zendesk"
            with redis.Redis.from_url(redis_url) as shared:
                assert shared.exists("c360:breaker:zendesk:open")

            # 3. One rate-limit budget: BURST requests allowed over both workers, then none.
            for attempt in range(30):
                service = bearer(data, "service", subject=f"budget-{attempt}")  # a new bucket
                allowed = [gateway.post("{ __typename }", service) for _ in range(BURST)]
                for answer in allowed:
                    assert answer.status == 200, answer.body
                    assert answer.body == {"data": {"__typename": "Query"}}
                if {a.worker for a in allowed} == workers:
                    break
            assert {a.worker for a in allowed} == workers, \
                "30 budgets spent on one worker each"
            refused: list[Answer] = []
            while {a.worker for a in refused} != workers:
                assert len(refused) < 100, "the refusals came from one worker only"
                answer = gateway.post("{ __typename }", service)
                assert answer.status == 429, \
                    f"request {BURST + len(refused) + 1} of the budget allowed by worker " \
                    f"{answer.worker}: {answer.body}"
                assert answer.body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
                refused.append(answer)
        finally:
            stop(proc)

    # both workers read and wrote the one registry on PostgreSQL: the PII audit of their reads
    engine = sa.create_engine(postgres_schema_url)
    try:
        with engine.connect() as conn:
            linked = conn.execute(sa.text(
                "select count(*) from identity_record where golden_id is not null")).scalar()
            audited = set(conn.execute(sa.text(
                "select distinct request_id from pii_access_audit")).scalars())
    finally:
        engine.dispose()
    assert linked == sum(len(p["records"]) for p in running.data.ground_truth)
    by_worker = {line["process"] for rid, line in AccessLog(log).all().items() if rid in audited}
    assert by_worker == workers, "the audit holds one worker's reads only"
