"""GraphiQL in a real headless Chromium, as the demo serves it: the agent's token is in the
Headers tab and GraphiQL's own schema fetch goes through with it (the docs show the root
types); the same page from a gateway that prefills nothing cannot load the schema."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.processes import free_port_block, interrupt, read_until, serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _rendered(url: str) -> str:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is not installed (CI=true: required)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--virtual-time-budget=10000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_graphiql_in_a_browser_uses_the_demo_token(tmp_path: Path) -> None:
    port = free_port_block(size=104)
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--port", str(port), "--customers", "60",
         "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server: subprocess.Popen[str] | None = None
    try:
        output = read_until(demo, "Ctrl-C stops", timeout=90)
        assert "c360 demo ready" in output, output
        page = _rendered(f"http://127.0.0.1:{port}/graphql")
        assert "Root Types" in page and ">Query<" in page  # the schema came back
        assert '"Authorization"' in page and "Bearer eyJ" in page  # in the Headers tab

        other = free_port_block(size=1)  # the same silos, a gateway that prefills nothing
        server = serve(str(tmp_path / "c360.toml"), other)
        bare = _rendered(f"http://127.0.0.1:{other}/graphql")
        assert "Root Types" not in bare and "Bearer eyJ" not in bare
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        assert interrupt(demo, timeout=30) == 0
