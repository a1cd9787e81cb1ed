"""What a saga costs over the writes it makes: ``python -m bench.writes [--rounds 40]``.

In one process, over the emulated silos (``httpx.ASGITransport``, no added latency), the same
buy-online-pick-up-in-store journey is run ``rounds`` times each way, alternating:

- **saga**: ``placePickupOrder`` through the gateway (authentication, idempotency key, input
  resolution, the saga's state recorded before and after each step in SQLite, the audit
  record, the answer read back);
- **direct**: the same three writes straight through the adapters (the Shopify order, the
  Square pickup order holding the units, the loyalty entry), as a client without the gateway
  would make them, with nothing recorded.

Prints the median and p90 of each, and their ratio (saga / direct); ``--latency-ms`` adds a
latency to every HTTP silo answer (the loyalty database stays local).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from adapters.models import LineRequest, NewLedgerEntry, NewStoreOrder, NewWebOrder
from gateway import loop
from gateway.app import create_app
from gateway.auth.signing import mint
from gateway.config import parse_config
from gateway.runtime import open_runtime
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config, prepare

PLACE = """mutation($c: ID!, $lines: [LineInput!]!, $store: ID!) {
  placePickupOrder(customer: $c, lines: $lines, store: $store) {
    pointsEarned saga { status } order { orderId } } }"""
CASE = """query($id: ID!) { customer(sourceRef: {kind: "shopify", id: $id}) {
  id loyalty { cardNumber status } orders(first: 20) { edges { node { lines { sku } } } } } }"""
STOCK = """query($sku: String!) { product(sku: $sku) {
  inventory { location { code } available source } } }"""


def _quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9) - 1]


async def _case(client: httpx.AsyncClient, running: RunningSandbox) -> dict[str, Any]:
    """A customer with a web account and a card, and a SKU a store holds (then stocked
    plenty there, so that every round can hold a unit)."""
    for person in running.data.ground_truth:
        kinds = {r["kind"]: r["id"] for r in person["records"]}
        if not {"shopify", "loyalty"} <= kinds.keys():
            continue
        answer = (await client.post("/graphql", json={
            "query": CASE, "variables": {"id": kinds["shopify"]}})).json()
        if "data" not in answer:
            raise SystemExit(f"the gateway refused the case lookup: {answer}")
        found = answer["data"]["customer"]
        if (found["loyalty"] or {}).get("status") != "ACTIVE":
            continue
        skus = {line["sku"] for edge in found["orders"]["edges"]
                for line in edge["node"]["lines"] if line["sku"]}
        for sku in sorted(skus):
            product = (await client.post("/graphql", json={
                "query": STOCK, "variables": {"sku": sku}})).json()["data"]["product"]
            for level in (product or {}).get("inventory") or []:
                if level["source"] == "square" and float(level["available"]) >= 1:
                    return {"id": found["id"], "card": found["loyalty"]["cardNumber"],
                            "shopify": kinds["shopify"], "sku": sku,
                            "store": level["location"]["code"]}
    raise SystemExit("no customer with a card and a well stocked SKU in this sandbox")


async def _latency(running: RunningSandbox, ms: float) -> None:
    """Every HTTP silo answering after ``ms`` (the sandbox control API)."""
    for app in running.apps.values():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://silo") as control:
            await control.post("/_sandbox/faults", json={"latency_ms": ms})


async def measure(customers: int, rounds: int, latency_ms: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        running = prepare(SandboxOptions(customers=customers, seed=31, data_dir=Path(tmp)))
        data = {**gateway_config(running), "rate_limits": {"enabled": False}}
        config = parse_config(data, env={})
        async with open_runtime(config, transports=running.transports()) as runtime:
            await runtime.identity.index()
        app = create_app(config, transports=running.transports())
        assert config.auth.jwt is not None
        headers = {"Authorization": f"Bearer {mint(config.auth.jwt, 'backoffice')}"}
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway",
                headers=headers) as client, open_runtime(
                config, transports=running.transports()) as direct:
            case = await _case(client, running)
            store = next(s for s in running.data.stores if s.code == case["store"])
            square = running.data.square
            variation = next(i for i, o in square.catalog.items()
                             if o["type"] == "ITEM_VARIATION"
                             and o["item_variation_data"].get("sku") == case["sku"])
            square.batch_change_inventory({"idempotency_key": "bench-stock", "changes": [
                {"type": "PHYSICAL_COUNT", "physical_count": {
                    "catalog_object_id": variation, "location_id": store.square_location_id,
                    "quantity": "100000", "state": "IN_STOCK",
                    "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}]})
            shop, pos, ledger = (direct.adapters[k] for k in ("shopify", "square", "loyalty"))
            lines = (LineRequest(case["sku"], 1),)

            async def saga() -> None:
                body = (await client.post("/graphql", headers={
                    "Idempotency-Key": uuid.uuid4().hex}, json={"query": PLACE, "variables": {
                        "c": case["id"], "store": case["store"],
                        "lines": [{"sku": case["sku"], "quantity": 1}]}})).json()
                if not (body.get("data") or {}).get("placePickupOrder"):
                    raise SystemExit(f"placePickupOrder failed: {body}")

            async def plain() -> None:
                key = uuid.uuid4().hex
                order = await shop.create_order(NewWebOrder(
                    customer_id=case["shopify"], lines=lines, saga_tag=f"c360-saga-{key}",
                    pickup_location_id=str(store.shopify_location_id)))
                await pos.create_store_order(NewStoreOrder(
                    location_id=store.square_location_id, lines=lines, reference_id=order.id,
                    pickup=True, recipient_name="Bench"), key=f"{key}-hold")
                await ledger.post_points(NewLedgerEntry(
                    card=case["card"], points=int(Decimal(order.total.amount)),
                    reason="PURCHASE", channel="WEB"), key=f"{key}-points")

            timings: dict[str, list[float]] = {"saga": [], "direct": []}
            for call in (saga, plain):  # warm-up: caches, connections, the registry
                await call()
            await _latency(running, latency_ms)
            for _ in range(rounds):
                for name, call in (("saga", saga), ("direct", plain)):
                    start = time.perf_counter()
                    await call()
                    timings[name].append((time.perf_counter() - start) * 1000)
    saga_p50, saga_p90 = _quantiles(timings["saga"])
    direct_p50, direct_p90 = _quantiles(timings["direct"])
    print(f"placePickupOrder, {rounds} rounds each, {customers} customers, "
          f"HTTP silos at {latency_ms:g} ms")
    print(f"  saga   p50 {saga_p50:7.1f} ms   p90 {saga_p90:7.1f} ms")
    print(f"  direct p50 {direct_p50:7.1f} ms   p90 {direct_p90:7.1f} ms")
    print(f"  ratio saga/direct: p50 {saga_p50 / direct_p50:.2f}, "
          f"p90 {saga_p90 / direct_p90:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.writes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="added to every Shopify, Square and Zendesk answer")
    args = parser.parse_args()
    loop.run(measure(args.customers, args.rounds, args.latency_ms))


if __name__ == "__main__":
    main()
