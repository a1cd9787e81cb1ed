"""CPU cost of the emulated silos per request: ``python -m bench.silos [--customers N]``.

Calls each silo's ASGI app directly (no sockets, no client) with the requests a gateway makes
most, and prints the CPU microseconds each takes. The silos share the benchmark machine's cores
with the gateway, so these must stay small next to a gateway request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import Any

from silos.generator import generate
from silos.sandbox import SHOPIFY_API_VERSION
from silos.shopify import ShopifySiloConfig
from silos.shopify import create_app as shopify_app
from silos.square import SquareSiloConfig
from silos.square import create_app as square_app
from silos.zendesk import ZendeskSiloConfig
from silos.zendesk import create_app as zendesk_app

ASGIApp = Callable[..., Any]


async def call(app: ASGIApp, method: str, path: str, query: str = "",
               body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"silo"), (b"content-type", b"application/json"),
                         *(headers or [])],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(name: str, app: ASGIApp, requests: list[tuple[Any, ...]],
                  rounds: int) -> None:
    for request in requests[:5]:
        status = await call(app, *request)
        assert status == 200, (name, request, status)
    started = time.process_time()
    for _ in range(rounds):
        for request in requests:
            await call(app, *request)
    per = (time.process_time() - started) / (rounds * len(requests))
    print(f"  {name:58s} {per * 1e6:8.0f} µs CPU/request")


async def main_async(customers: int, rounds: int) -> None:
    data = generate(customers=customers, seed=42)
    truth = data.ground_truth
    ids: dict[str, list[str]] = {"shopify": [], "square": [], "zendesk": []}
    for person in truth:
        for record in person["records"]:
            if record["kind"] in ids:
                ids[record["kind"]].append(record["id"])
    shop = shopify_app(data.shopify, ShopifySiloConfig())
    token = [(b"x-shopify-access-token", ShopifySiloConfig().access_token.encode())]
    base = f"/admin/api/{SHOPIFY_API_VERSION}"
    sq = square_app(data.square, SquareSiloConfig())
    bearer = [(b"authorization", f"Bearer {SquareSiloConfig().access_token}".encode())]
    zd = zendesk_app(data.zendesk, ZendeskSiloConfig())
    zconf = ZendeskSiloConfig()
    basic = base64.b64encode(f"{zconf.email}/token:{zconf.api_token}".encode())
    auth = [(b"authorization", b"Basic " + basic)]

    def batches(kind: str, n: int) -> list[list[str]]:
        return [ids[kind][i:i + n] for i in range(0, 20 * n, n)]

    print(f"silo CPU per request ({customers} customers, {rounds} rounds)")
    await measure("shopify GET customers.json?ids=<50>", shop, [
        ("GET", f"{base}/customers.json", f"ids={','.join(b)}&limit=250", b"", token)
        for b in batches("shopify", 50)], rounds)
    await measure("shopify GET orders.json?customer_id=<1>&status=any", shop, [
        ("GET", f"{base}/orders.json", f"customer_id={i}&status=any", b"", token)
        for i in ids["shopify"][:20]], rounds)
    await measure("square POST customers/bulk-retrieve <50>", sq, [
        ("POST", "/v2/customers/bulk-retrieve", "",
         json.dumps({"customer_ids": b}).encode(), bearer) for b in batches("square", 50)],
        rounds)
    locations = list(data.square.locations)
    await measure("square POST orders/search customer_filter <10>", sq, [
        ("POST", "/v2/orders/search", "", json.dumps({
            "location_ids": locations, "query": {"filter": {"customer_filter": {
                "customer_ids": b}}}}).encode(), bearer) for b in batches("square", 10)],
        rounds)
    await measure("zendesk GET users/show_many.json?ids=<50>&include=identities", zd, [
        ("GET", "/api/v2/users/show_many.json", f"ids={','.join(b)}&include=identities", b"",
         auth) for b in batches("zendesk", 50)], rounds)
    await measure("zendesk GET users/{id}/tickets/requested.json", zd, [
        ("GET", f"/api/v2/users/{i}/tickets/requested.json", "", b"", auth)
        for i in ids["zendesk"][:20]], rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main_async(args.customers, args.rounds))


if __name__ == "__main__":
    main()
