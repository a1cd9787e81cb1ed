"""``c360 demo`` as a user runs it: a subprocess on free ports, queried over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.processes import free_port_block, interrupt, read_until


def test_demo_serves_the_graph_over_http(tmp_path: Path) -> None:
    port = free_port_block(size=104)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--port", str(port), "--customers", "120",
         "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        output = read_until(proc, "Ctrl-C stops", timeout=90)
        assert "c360 demo ready" in output, output
        url = f"http://127.0.0.1:{port}/graphql"
        assert url in output
        page = httpx.get(url, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "/graphiql/static/" in page.text
        listed = httpx.post(url, json={"query": "{ customers(first: 3) { totalCount edges { "
                                                "node { id displayName { value source } } } } }"},
                            headers={"Accept": "application/graphql-response+json"})
        assert listed.status_code == 200
        body = listed.json()["data"]["customers"]
        assert body["totalCount"] > 100 and len(body["edges"]) == 3
        assert all(e["node"]["displayName"]["value"] for e in body["edges"])
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ready"
    finally:
        code = interrupt(proc, timeout=30)
    assert code == 0
