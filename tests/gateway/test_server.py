"""``c360 serve``: a bad config stops it naming the key; with every silo down it still serves,
healthy, degraded (not taken out of the balancer)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.telemetry.metrics import FOLD_S
from silos.sandbox import SandboxOptions, prepare
from tests.processes import free_port_block


def healthy(base: str, timeout_s: float = 30) -> httpx.Response:
    """``GET /healthz`` once the server listens."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(f"{base}/healthz").raise_for_status()
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_bad_config_stops_serve_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c360.toml"
    config.write_text('[sources.pos]\nkind = "square"\nurl = "http://127.0.0.1:1"\n'
                      'access_token = "x"\ntimeout_ms = "soon"\n')
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "sources.pos.timeout_ms" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_without_silos_is_alive_and_degraded(tmp_path: Path) -> None:
    sandbox_port = free_port_block()
    running = prepare(SandboxOptions(customers=20, seed=3, data_dir=tmp_path,
                                     port=sandbox_port))  # written, never served
    port = free_port_block(size=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(running.config_path),
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert healthy(f"http://127.0.0.1:{port}").json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200  # it answers, without them: stays behind the balancer
        assert ready.json()["status"] == "degraded"
        checks = ready.json()["checks"]
        assert checks["registry"] == "ok" and checks["loyalty"] == "ok"
        assert checks["shopify"] == checks["square"] == checks["zendesk"] == "SOURCE_UNAVAILABLE"
        token = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "token", "--config", str(running.config_path),
             "--role", "agent"], capture_output=True, text=True, timeout=60, check=True)
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=10, json={
            "query": '{ customer(sourceRef: {kind: "shopify", id: "1"}) { id } }'},
            headers={"Authorization": f"Bearer {token.stdout.strip()}"})
        assert answer.status_code == 200
        [error] = answer.json()["errors"]
        assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "shopify"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def test_security_off_is_refused_off_loopback(tmp_path: Path) -> None:
    running = prepare(SandboxOptions(customers=10, seed=3, data_dir=tmp_path))
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config",
                           str(running.config_path), "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "C360_SECURITY": "0"})
    assert done.returncode == 2
    assert "C360_SECURITY" in done.stderr and "loopback" in done.stderr


def access_lines(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "c360.access"]


def workers(log: Path) -> set[int]:
    """The processes that wrote access lines."""
    return {line["process"] for line in access_lines(log)}


def test_two_workers_answer_the_sum_of_their_metrics_in_json_logs(tmp_path: Path) -> None:
    key = "c360_test_scraper_key_0123456789abcdef"
    config = tmp_path / "c360.toml"
    config.write_text(f"""
[sources.zendesk]
kind = "zendesk"
url = "http://127.0.0.1:9"
email = "api@example.com"
api_token = "x"

[identity]
database_url = "sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}"
refresh_s = 0

[[auth.api_keys]]
name = "prometheus"
hash = "sha256:{hashlib.sha256(key.encode()).hexdigest()}"
scopes = ["metrics:read"]

[telemetry]
log_format = "json"
""")
    port = free_port_block(size=1)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config),
             "--port", str(port), "--workers", "2"], stdout=out, stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"})
    base = f"http://127.0.0.1:{port}"
    try:
        healthy(base, timeout_s=60)
        sent = 0
        while len(workers(log)) < 2 and sent < 400:  # new connections, spread by the kernel
            assert httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}
                              ).status_code == 401
            sent += 1
        assert len(workers(log)) == 2
        summed = (f'c360_requests_total{{operation="unknown",outcome="unauthenticated"}} '
                  f"{float(sent)}")

        def scrape() -> str:
            with httpx.Client() as client:
                scraped = client.get(f"{base}/metrics", headers={"Authorization": f"ApiKey {key}"})
            assert scraped.status_code == 200
            return scraped.text

        folded_by = time.monotonic() + 3 * FOLD_S  # the other worker's last second
        while summed not in scrape() and time.monotonic() < folded_by:
            time.sleep(FOLD_S / 10)
        for _ in range(6):
            assert summed in scrape()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    access = access_lines(log)
    assert len(access) == sent and all(line["request_id"] != "-" for line in access)
    assert {line["outcome"] for line in access} == {"unauthenticated"}
