"""A gateway killed (SIGKILL) between two steps of ``placePickupOrder``: real processes over
real HTTP; the next ``c360 serve`` finishes the saga, and the idempotency key still answers
it without writing again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.mutations import pickup_case, store_stock
from tests.processes import free_port_block, read_until, serve

pytestmark = pytest.mark.anyio

PLACE = """mutation($c: ID!, $lines: [LineInput!]!, $store: ID!) {
  placePickupOrder(customer: $c, lines: $lines, store: $store) {
    saga { id status } pointsEarned
    order { id status fulfillment { type status location { code } } } } }"""

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True,
                          text=True, env=ENV, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def sagas(config: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            cli("sagas", "--config", str(config), "--json").splitlines() if line.strip()]


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@contextmanager
def silos_and_gateway(tmp_path: Path, seed: int, customers: int,
                      pause_after: str) -> Iterator[dict[str, Any]]:
    """``c360 sandbox`` indexed, a config whose sagas pause after ``pause_after`` (lease 1 s),
    a backoffice token and a free port; ``procs["gateway"]`` (set by the test) is stopped at
    the end, then the silos."""
    port = free_port_block()
    silos = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "sandbox", "--customers", str(customers),
         "--seed", str(seed), "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    procs: dict[str, Any] = {"gateway": None}
    try:
        read_until(silos, "Ctrl-C stops", timeout=90)
        config = tmp_path / "c360.toml"
        cli("index", "--config", str(config))
        paused = tmp_path / "paused.toml"
        paused.write_text(config.read_text() + f'\n[sagas]\npause_after = "{pause_after}"\n'
                          'lease_s = 1\nrecover_interval_s = 1\n')
        token = cli("token", "--config", str(config), "--role", "backoffice").strip()
        procs.update(config=config, paused=paused, token=token,
                     truth=json.loads((tmp_path / "ground_truth.json").read_text()),
                     port=free_port_block(size=1))
        yield procs
    finally:
        gateway = procs["gateway"]
        if gateway is not None and gateway.poll() is None:
            gateway.send_signal(signal.SIGINT)
            try:
                gateway.wait(timeout=20)
            except subprocess.TimeoutExpired:
                gateway.kill()
        silos.send_signal(signal.SIGINT)
        silos.wait(timeout=20)
        if silos.stdout is not None:
            silos.stdout.close()


def kill_and_restart(procs: dict[str, Any], saga_id: str) -> None:
    """SIGKILL the paused gateway, serve again without the pause, wait for the recovery."""
    procs["gateway"].send_signal(signal.SIGKILL)
    procs["gateway"].wait(timeout=10)
    procs["gateway"] = serve(str(procs["config"]), procs["port"])
    done = wait_for(lambda: [s for s in sagas(procs["config"]) if s["id"] == saga_id
                             and s["status"] == "COMPLETED"], 60, "the recovery")
    assert {s["status"] for s in done[0]["steps"]} == {"DONE"}


async def test_a_saga_cut_by_sigkill_is_finished_by_the_next_start(tmp_path: Path) -> None:
    with silos_and_gateway(tmp_path, 17, 40, "place_pickup_order.create_order") as procs:
        person = next({r["kind"]: r["id"] for r in p["records"]} for p in procs["truth"]
                      if {"shopify", "loyalty"} <= {r["kind"] for r in p["records"]})
        procs["gateway"] = serve(str(procs["paused"]), procs["port"])
        base = f"http://127.0.0.1:{procs['port']}"
        headers = {"Authorization": f"Bearer {procs['token']}",
                   "Idempotency-Key": "kill-test-0001"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            case = await pickup_case(client, "shopify", person["shopify"])
            variables = {"c": case["id"], "store": case["store"],
                         "lines": [{"sku": case["sku"], "quantity": 2}]}
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/graphql", json={"query": PLACE, "variables": variables},
                                  timeout=4)
        [saga] = wait_for(lambda: [s for s in sagas(procs["config"])
                                   if s["journey"] == "place_pickup_order"], 30, "the saga")
        assert saga["status"] == "RUNNING"
        assert [(s["name"], s["status"]) for s in saga["steps"]][:2] == [
            ("create_order", "DONE"), ("hold_at_store", "PENDING")]
        kill_and_restart(procs, saga["id"])
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            answer = (await client.post("/graphql", json={
                "query": PLACE, "variables": variables})).json()
            placed = answer["data"]["placePickupOrder"]
            assert placed["saga"] == {"id": saga["id"], "status": "COMPLETED"}
            assert placed["order"]["fulfillment"]["type"] == "PICKUP"
            assert placed["order"]["fulfillment"]["location"]["code"] == case["store"]
            after = await store_stock(client, case["sku"])
            assert after[case["store"]] == case["available"] - 2, "reserved once"
            who = (await client.post("/graphql", json={"query": """query($id: ID!) {
                customer(id: $id) { orders(first: 100) { edges { node { id } } }
                loyalty { pointsBalance } } }""", "variables": {"id": case["id"]}})).json()
            orders = [e["node"]["id"] for e in who["data"]["customer"]["orders"]["edges"]]
            assert orders.count(placed["order"]["id"]) == 1
            assert who["data"]["customer"]["loyalty"]["pointsBalance"] == \
                case["balance"] + placed["pointsEarned"]


ADJUST = """mutation($c: ID!) { adjustPoints(customer: $c, points: 75, reason: "goodwill") {
  points saga { id status } customer { loyalty { pointsBalance } } } }"""


async def test_a_points_saga_killed_after_its_write_is_completed_by_the_next_start(
        tmp_path: Path) -> None:
    with silos_and_gateway(tmp_path, 19, 30, "adjust_points.post_points") as procs:
        card = next(r["id"] for p in procs["truth"] for r in p["records"]
                    if r["kind"] == "loyalty")
        procs["gateway"] = serve(str(procs["paused"]), procs["port"])
        base = f"http://127.0.0.1:{procs['port']}"
        headers = {"Authorization": f"Bearer {procs['token']}",
                   "Idempotency-Key": "kill-points-0001"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            who = (await client.post("/graphql", json={
                "query": 'query($id: ID!) { customer(sourceRef: {kind: "loyalty", id: $id}) '
                         '{ id loyalty { pointsBalance } } }',
                "variables": {"id": card}})).json()["data"]["customer"]
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/graphql", json={"query": ADJUST,
                                                    "variables": {"c": who["id"]}}, timeout=4)
        [saga] = wait_for(lambda: [s for s in sagas(procs["config"])
                                   if s["journey"] == "adjust_points"], 30, "the saga")
        assert saga["status"] == "RUNNING"
        assert [(s["name"], s["status"]) for s in saga["steps"]] == [("post_points", "DONE")]
        kill_and_restart(procs, saga["id"])
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            answer = (await client.post("/graphql", json={
                "query": ADJUST, "variables": {"c": who["id"]}})).json()
        made = answer["data"]["adjustPoints"]
        assert made["saga"] == {"id": saga["id"], "status": "COMPLETED"}
        assert made["customer"]["loyalty"]["pointsBalance"] == \
            who["loyalty"]["pointsBalance"] + 75, "written once"
