"""``c360 sandbox``: prepared data, the written config and ground truth, and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from silos.loyalty import create_loyalty_engine
from silos.sandbox import SandboxOptions, prepare
from tests.processes import free_port_block, interrupt, read_until

pytestmark = pytest.mark.anyio


async def test_prepare_writes_config_truth_and_loyalty_db(tmp_path: Path) -> None:
    running = prepare(SandboxOptions(customers=120, seed=3, data_dir=tmp_path, port=9100))
    config = tomllib.loads(running.config_path.read_text())
    assert {name: s["kind"] for name, s in config["sources"].items()} == {
        "shopify": "shopify", "square": "square", "zendesk": "zendesk", "loyalty": "loyalty"}
    assert config["sources"]["shopify"]["url"] == "http://127.0.0.1:9101"
    assert config["sources"]["square"]["url"] == "http://127.0.0.1:9102"
    assert config["sources"]["zendesk"]["url"] == "http://127.0.0.1:9103"
    assert config["sources"]["shopify"]["api_version"] == "2026-07"
    assert config["sources"]["zendesk"]["order_number_field_id"] == \
        running.data.order_number_field_id
    assert config["sources"]["loyalty"]["url"].startswith("sqlite+aiosqlite:///")
    assert len(config["stores"]) == 10
    for store in config["stores"]:
        assert running.data.shopify.customers is not None
        assert store["locations"]["square"] in running.data.square.locations
    truth = json.loads(running.ground_truth_path.read_text())
    assert truth == running.data.ground_truth
    engine = create_loyalty_engine(running.loyalty_url)
    with engine.connect() as conn:
        members = conn.execute(sa.text("select count(*) from loyalty_member")).scalar()
        points = conn.execute(sa.text("select count(*) from points_ledger")).scalar()
    engine.dispose()
    assert members == len(running.data.loyalty_members) > 0
    assert points == len(running.data.loyalty_points) > 0

    # the apps serve the generated data with the credentials the config carries
    person = next(p for p in truth if any(r["kind"] == "shopify" for r in p["records"]))
    shopify_id = next(r["id"] for r in person["records"] if r["kind"] == "shopify")
    source = config["sources"]["shopify"]
    transport = httpx.ASGITransport(app=running.apps["shopify"])
    async with httpx.AsyncClient(transport=transport, base_url=source["url"]) as client:
        response = await client.get(
            f"/admin/api/{source['api_version']}/customers/{shopify_id}.json",
            headers={"X-Shopify-Access-Token": source["access_token"]})
    assert response.status_code == 200
    assert str(response.json()["customer"]["id"]) == shopify_id


@pytest.mark.postgres
def test_loyalty_database_on_postgresql(tmp_path: Path, postgres_schema_url: str) -> None:
    running = prepare(SandboxOptions(customers=60, seed=5, data_dir=tmp_path,
                                     loyalty_url=postgres_schema_url))
    engine = create_loyalty_engine(postgres_schema_url)
    with engine.connect() as conn:
        cards = set(conn.execute(sa.text("select card_number from loyalty_member")).scalars())
    engine.dispose()
    assert cards == {m["card_number"] for m in running.data.loyalty_members}
    config = tomllib.loads(running.config_path.read_text())
    assert config["sources"]["loyalty"]["url"].startswith("postgresql+asyncpg://")


def test_cli_serves_the_silos_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port_block()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "sandbox", "--customers", "80", "--port",
         str(port), "--data-dir", str(tmp_path), "--latency-ms", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        output = read_until(proc, "Ctrl-C stops", timeout=60)
        assert "c360 sandbox ready" in output, output
        config = tomllib.loads((tmp_path / "c360.toml").read_text())
        zendesk = config["sources"]["zendesk"]
        truth = json.loads((tmp_path / "ground_truth.json").read_text())
        ids = [r["id"] for p in truth for r in p["records"] if r["kind"] == "zendesk"][:3]
        response = httpx.get(f"{zendesk['url']}/api/v2/users/show_many.json",
                             params={"ids": ",".join(ids)},
                             auth=(f"{zendesk['email']}/token", zendesk["api_token"]))
        assert response.status_code == 200
        assert sorted(str(u["id"]) for u in response.json()["users"]) == sorted(ids)
        faults = httpx.get(f"http://127.0.0.1:{port + 2}/_sandbox/faults").json()
        assert faults["latency_ms"] == 1
        stats = httpx.get(f"{zendesk['url']}/_sandbox/stats").json()
        assert stats["total"] == 1
    finally:
        code = interrupt(proc, timeout=20)
    assert code == 0
