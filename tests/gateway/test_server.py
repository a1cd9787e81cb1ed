"""``c360 serve``: a bad config stops it naming the key; with every silo down it still serves,
healthy but not ready."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from silos.sandbox import SandboxOptions, prepare
from tests.processes import free_port_block


def test_a_bad_config_stops_serve_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c360.toml"
    config.write_text('[sources.pos]\nkind = "square"\nurl = "http://127.0.0.1:1"\n'
                      'access_token = "x"\ntimeout_ms = "soon"\n')
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "sources.pos.timeout_ms" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_without_silos_is_alive_but_not_ready(tmp_path: Path) -> None:
    sandbox_port = free_port_block()
    running = prepare(SandboxOptions(customers=20, seed=3, data_dir=tmp_path,
                                     port=sandbox_port))  # written, never served
    port = free_port_block(size=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(running.config_path),
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 503
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
