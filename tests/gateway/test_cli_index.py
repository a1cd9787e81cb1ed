"""``c360 index`` over a running ``c360 sandbox``: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.processes import free_port_block, read_until


def test_index_links_the_sandbox_over_http(tmp_path: Path) -> None:
    port = free_port_block()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "sandbox", "--customers", "150", "--port",
         str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        read_until(sandbox, "Ctrl-C stops", timeout=60)
        config = tmp_path / "c360.toml"
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "index", "--config", str(config)],
            capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "people" in done.stdout
        truth = json.loads((tmp_path / "ground_truth.json").read_text())
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'identity.sqlite'}")
        with engine.connect() as conn:
            linked = conn.execute(sa.text(
                "select count(*) from identity_record where golden_id is not null")).scalar()
        engine.dispose()
        assert linked == sum(len(p["records"]) for p in truth)
        again = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "index", "--config", str(config), "--since",
             "2020-01-01T00:00:00"], capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 links changed" in again.stdout
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(timeout=20)
        if sandbox.stdout is not None:
            sandbox.stdout.close()


def test_a_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c360.toml"
    config.write_text('[sources.shop]\nkind = "shopify"\nurl = "http://127.0.0.1:1"\n')
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "index", "--config", str(config)],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("C360_")})
    assert done.returncode == 2
    assert "sources.shop.access_token" in done.stderr
    assert "Traceback" not in done.stderr
