"""Every read of a customer's profile by staff or a service leaves an audit record — who,
role, which customer, which groups of fields, which request; never the values — listed by
`c360 audit`; a customer reading itself leaves none; an answer that cannot be audited is not
sent."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.audit.store import AuditLog
from silos.sandbox import RunningSandbox, gateway_config

pytestmark = pytest.mark.anyio
READ = """query Caller($e: String!) { customer(email: $e) { id displayName { value }
  email { value } orders(first: 2) { edges { node { id } } } } }"""


def _email(sandbox: RunningSandbox) -> str:
    return next(c["email"] for c in sandbox.data.shopify.customers.values() if c.get("email"))


async def test_staff_reads_are_recorded_and_listed(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox, tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    data = copy.deepcopy(gateway_config(graph_sandbox))
    email = _email(graph_sandbox)
    # a registry of its own: the session's, copied, so the audit rows are this test's alone
    source = Path(data["identity"]["database_url"].removeprefix("sqlite+aiosqlite:///"))
    path.write_bytes(source.read_bytes())
    data["identity"]["database_url"] = f"sqlite+aiosqlite:///{path}"
    async with gateway(role="agent", config={"identity": data["identity"]}) as client:
        response = await client.post("/graphql", json={"query": READ, "variables": {"e": email},
                                                       "operationName": "Caller"},
                                     headers={"X-Request-ID": "audit-test-1"})
        golden = response.json()["data"]["customer"]["id"]
    async with gateway(role="customer", customer=golden,
                       config={"identity": data["identity"]}) as client:
        mine = await client.post("/graphql", json={"query": "{ me { email { value } } }"})
        assert mine.json()["data"]["me"]["email"]["value"]
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    [record] = await AuditLog(engine).query([golden])
    await engine.dispose()
    assert (record.role, record.method, record.request_id, record.operation_name) == (
        "agent", "jwt", "audit-test-1", "Caller")
    assert record.groups == ("contact", "name", "orders")
    assert email not in repr(record)

    config_path = tmp_path / "c360.toml"
    config_path.write_bytes(tomli_w.dumps(data).encode())
    listed = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "--config",
                             str(config_path), "--customer", golden], capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert "agent" in line and "contact,name,orders" in line and "audit-test-1" in line
    later = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "--config",
                            str(config_path), "--customer", golden, "--since",
                            "2999-01-01T00:00:00"], capture_output=True, text=True, timeout=60)
    assert later.returncode == 0 and later.stdout == "" and "no recorded reads" in later.stderr


async def test_an_answer_that_cannot_be_audited_is_withheld(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.audit.store import AuditUnavailable

    async def broken(self: AuditLog, entries: Any) -> None:
        raise AuditUnavailable("audit log write failed (OperationalError)")

    monkeypatch.setattr(AuditLog, "record", broken)
    async with gateway(role="backoffice") as client:
        response = await client.post("/graphql", json={"query": READ,
                                                       "variables": {"e": _email(graph_sandbox)}})
        assert response.status_code == 503
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
        assert "data" not in body
        catalog = await client.post("/graphql", json={"query": '{ product(sku: "X") { sku } }'})
        assert catalog.status_code == 200  # no customer read, nothing to audit
