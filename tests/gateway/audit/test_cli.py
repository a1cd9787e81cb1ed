"""`c360 audit --customer ID`: a customer's recorded reads, newest first, under its current id and
every id retired into it by a merge; text or JSON lines; a clear message and exit status for no
records, a bad config and an unreadable database."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.audit.store import AccessRecord, AuditLog
from gateway.cli import main
from identity.registry import Registry
from identity.schema import identity_alias, identity_record
from silos.sandbox import RunningSandbox, gateway_config

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _read(golden: str, minutes: int, subject: str, request_id: str) -> AccessRecord:
    return AccessRecord(at=T0 + timedelta(minutes=minutes), request_id=request_id,
                        subject=subject, role="agent", method="jwt", golden_id=golden,
                        groups=("contact", "orders"), operation_name="Caller")


async def _registry_with_a_merge(url: str) -> None:
    """cus_old was merged into cus_new; each was read before, and someone else was too."""
    engine = create_async_engine(url)
    await Registry(engine).create()
    async with engine.begin() as conn:
        await conn.execute(identity_record.insert().values(
            source="shopify", record_id="1", kind="customer", golden_id="cus_new",
            indexed_at=T0))
        await conn.execute(identity_alias.insert().values(alias="cus_old", golden_id="cus_new"))
    log = AuditLog(engine)
    await log.create()
    await log.record([_read("cus_old", 1, "agent-1", "req-1"),
                      _read("cus_new", 2, "agent-2", "req-2"),
                      _read("cus_other", 3, "agent-3", "req-3")])
    await engine.dispose()


@pytest.fixture
def config_file(graph_sandbox: RunningSandbox, tmp_path: Path) -> Path:
    data: dict[str, Any] = copy.deepcopy(gateway_config(graph_sandbox))
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}"
    data["identity"]["database_url"] = url
    asyncio.run(_registry_with_a_merge(url))
    path = tmp_path / "c360.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


@pytest.mark.parametrize("customer", ["cus_old", "cus_new"])
def test_lists_reads_under_current_and_retired_ids(
        config_file: Path, customer: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--config", str(config_file), "--customer", customer,
                 "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["customer"], r["subject"], r["request_id"], r["groups"]) for r in lines] == [
        ("cus_new", "agent-2", "req-2", ["contact", "orders"]),
        ("cus_old", "agent-1", "req-1", ["contact", "orders"])]
    assert lines[0]["at"] == "2026-12-01T09:02:00+00:00" and lines[0]["role"] == "agent"


def test_text_lines_and_since(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--config", str(config_file), "--customer", "cus_new",
                 "--since", "2026-12-01T10:01:30+01:00"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("2026-12-01T09:02:00+00:00")
    for part in ("agent-2", "agent", "contact,orders", "req-2", "Caller"):
        assert part in line


def test_no_records_says_so(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--config", str(config_file), "--customer", "cus_nobody"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no recorded reads of cus_nobody" in captured.err


def test_a_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c360.toml"
    path.write_text('[identity]\ndatabase_url = "sqlite+aiosqlite:///x.sqlite"\nbogus = 1\n')
    assert main(["audit", "--config", str(path), "--customer", "cus_a"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("c360: ") and "Traceback" not in err


def test_an_unreadable_database_is_a_message(
        graph_sandbox: RunningSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data: dict[str, Any] = copy.deepcopy(gateway_config(graph_sandbox))
    data["identity"]["database_url"] = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}"
    path = tmp_path / "c360.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    assert main(["audit", "--config", str(path), "--customer", "cus_a"]) == 1
    err = capsys.readouterr().err
    assert "the audit log could not be read" in err and "Traceback" not in err
