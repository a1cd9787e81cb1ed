"""``c360 demo`` as a user runs it: a subprocess on free ports, queried over real HTTP by an
anonymous caller and by each role with the tokens the demo prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.processes import free_port_block, interrupt, read_until

ROLES = ("customer", "store_associate", "agent", "backoffice")


def _ask(url: str, token: str | None, query: str, **variables: Any) -> httpx.Response:
    headers = {"Accept": "application/graphql-response+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url, json={"query": query, "variables": variables}, headers=headers,
                      timeout=30)


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def test_demo_sessions_over_http(tmp_path: Path) -> None:
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
        tokens = {role: re.search(rf"^  {role}\s+(\S+)$", output, re.M) for role in ROLES}
        assert all(tokens.values()), output
        token = {role: match.group(1) for role, match in tokens.items() if match}
        assert f"c360 token --config {tmp_path}" in output

        # anonymous: the GraphiQL page (with the agent's token in its Headers tab) and health,
        # nothing else
        page = httpx.get(url, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "/graphiql/static/" in page.text
        assert token["agent"] in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ready"
        anonymous = _ask(url, None, "{ customers(first: 3) { totalCount } }")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert _codes(anonymous.json()) == ["UNAUTHENTICATED"]

        # back office: everyone, paged
        listed = _ask(url, token["backoffice"], "{ customers(first: 3) { totalCount edges { "
                                                "node { id email { value } } } } }")
        assert listed.status_code == 200, listed.text
        body = listed.json()["data"]["customers"]
        assert body["totalCount"] > 100 and len(body["edges"]) == 3
        someone = body["edges"][1]["node"]
        email = someone["email"]["value"]
        assert "***" not in email

        # agent: one customer in full; no listing
        agent = _ask(url, token["agent"], "query($e: String!) { customer(email: $e) { id "
                                          "email { value } } customers(first: 3) { totalCount } }",
                     e=email).json()
        assert agent["data"]["customer"] == someone
        assert _codes(agent) == ["FORBIDDEN"] and agent["data"]["customers"] is None

        # store associate: looks up by email, sees contact data masked
        clerk = _ask(url, token["store_associate"], "query($e: String!) { customer(email: $e) { "
                                                    "id email { value } } }", e=email).json()
        assert clerk["data"]["customer"]["id"] == someone["id"]
        masked = clerk["data"]["customer"]["email"]["value"]
        assert masked.startswith(email[0] + "***@") and masked != email

        # the printed examples, each with the role it says: no refusal
        examples = output.split("Try in GraphiQL", 1)[1].split("Tokens (", 1)[0]
        blocks = [b for b in examples.split("\n\n") if "{" in b]
        assert len(blocks) == 3
        for block, role in zip(blocks, ("agent", "store_associate", "customer"), strict=True):
            document = "\n".join(line for line in block.splitlines()
                                 if not line.strip().startswith("#"))
            answer = _ask(url, token[role], document)
            assert answer.status_code == 200, answer.text
            codes = set(_codes(answer.json()))
            assert not codes & {"FORBIDDEN", "QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED"}
            assert answer.json()["data"]

        # customer: only themself
        me = _ask(url, token["customer"], "{ me { id displayName { value } } }").json()
        assert me["data"]["me"]["id"] and not me.get("errors")
        other = _ask(url, token["customer"], "query($id: ID!) { customer(id: $id) { id } }",
                     id=someone["id"] if someone["id"] != me["data"]["me"]["id"]
                     else body["edges"][0]["node"]["id"]).json()
        assert other == {"data": {"customer": None}}
    finally:
        code = interrupt(proc, timeout=30)
    assert code == 0
