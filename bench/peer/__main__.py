"""Smoke check of the Hive Gateway / GraphQL Mesh peer against a running sandbox.

``python -m bench.peer --config sandbox-data/c360.toml [--port 0] [--workers 1] [--email E]
[--c360-url http://127.0.0.1:8000/graphql]``

Installs the peer if needed (npm ci), composes it for the sandbox's Shopify and Zendesk, starts
Hive Gateway, runs ``S1_PEER`` for one customer and checks the answer against the silos' own
REST answers, runs ``S2_PEER`` for 50 customers, prints the silo requests each cost
(``/_sandbox/stats``; this resets the silos' counters), optionally runs ``S1_C360`` on a running
c360 and compares, then stops the gateway. Every request is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx

from bench.peer import hive

TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Silos:
    """Direct REST reads of the sandbox's Shopify and Zendesk, and their request counters."""

    def __init__(self, config: dict[str, Any]) -> None:
        shopify, zendesk = config["sources"]["shopify"], config["sources"]["zendesk"]
        self.shopify_url = shopify["url"].rstrip("/")
        self.zendesk_url = zendesk["url"].rstrip("/")
        self.shopify = httpx.Client(
            base_url=f"{self.shopify_url}/admin/api/{shopify['api_version']}",
            headers={"X-Shopify-Access-Token": shopify["access_token"]}, timeout=TIMEOUT_S)
        self.zendesk = httpx.Client(
            base_url=f"{self.zendesk_url}/api/v2", timeout=TIMEOUT_S,
            auth=(f"{zendesk['email']}/token", zendesk["api_token"]))

    def get(self, client: httpx.Client, path: str, **params: Any) -> Any:
        response = client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        for url in (self.shopify_url, self.zendesk_url):
            httpx.post(f"{url}/_sandbox/reset", timeout=TIMEOUT_S).raise_for_status()

    def stats(self) -> dict[str, dict[str, int]]:
        out = {}
        for name, url in (("shopify", self.shopify_url), ("zendesk", self.zendesk_url)):
            body = httpx.get(f"{url}/_sandbox/stats", timeout=TIMEOUT_S).json()
            out[name] = {k.split(" ", 1)[1].removeprefix("/admin/api/{version}/")
                         .removeprefix("/api/v2/"): v for k, v in body["endpoints"].items()}
        return out

    def expected_s1(self, email: str) -> dict[str, Any] | None:
        """S1 read straight from the silos, in :func:`hive.canonical_s1_peer`'s shape."""
        customers = self.get(self.shopify, "/customers/search.json", query=f"email:{email}",
                             limit=1)["customers"]
        if not customers:
            return None
        customer = customers[0]
        orders = self.get(self.shopify, "/orders.json", customer_id=customer["id"],
                          status="any", limit=10)["orders"]
        product_ids = sorted({li["product_id"] for o in orders for li in o["line_items"]
                              if li.get("product_id")})
        products = {}
        if product_ids:
            products = {p["id"]: p for p in self.get(
                self.shopify, "/products.json", ids=",".join(map(str, product_ids)),
                limit=250)["products"]}
        users = self.get(self.zendesk, "/users/search.json",
                         query=f"email:{customer['email']}")["users"]
        tickets = [t for u in users for t in self.get(
            self.zendesk, f"/users/{u['id']}/tickets/requested.json", per_page=100)["tickets"]]
        return hive.canonical_s1_peer({"shopifyCustomerSearch": {"customers": [{
            "orders": [{**o, "line_items": [
                {**li, "product": products.get(li["product_id"])} for li in o["line_items"]]}
                for o in orders],
            "zendeskUsers": [{"requestedTickets": tickets}],
        }]}})

    def pick_email(self, data_dir: Path) -> str:
        """A customer known to Shopify and Zendesk under the same email, with orders and
        tickets (from the sandbox's ground truth)."""
        truth = json.loads((data_dir / "ground_truth.json").read_text(encoding="utf-8"))
        for person in truth:
            ids = {r["kind"]: r["id"] for r in person["records"]}
            if "shopify" not in ids or "zendesk" not in ids:
                continue
            customer = self.get(self.shopify, "/customers.json", ids=ids["shopify"])["customers"]
            users = self.get(self.zendesk, "/users/show_many.json", ids=ids["zendesk"])["users"]
            if not customer or not users or not customer[0]["email"] or not users[0]["email"]:
                continue
            if customer[0]["email"].strip().lower() != users[0]["email"].strip().lower():
                continue
            tickets = self.get(self.zendesk, f"/users/{ids['zendesk']}/tickets/requested.json")
            if customer[0]["orders_count"] >= 2 and tickets["count"] >= 1:
                return str(customer[0]["email"])
        raise SystemExit("no customer with the same email in Shopify and Zendesk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("sandbox-data/c360.toml"),
                        help="the c360.toml that `c360 sandbox` wrote (its silos must be up)")
    parser.add_argument("--port", type=int, default=0, help="gateway port (0: a free one)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--email", default=None, help="S1 customer (default: picked)")
    parser.add_argument("--c360-url", default=None,
                        help="a running c360 /graphql URL to compare S1 with")
    args = parser.parse_args()

    result = hive.install()
    print(f"install: {result.reason}")
    if not result:
        sys.exit(1)
    config = tomllib.loads(args.config.read_text(encoding="utf-8"))
    silos = Silos(config)
    started = time.monotonic()
    env = hive.compose_for(config)
    print(f"compose: {hive.SUPERGRAPH} in {time.monotonic() - started:.1f}s")
    port = args.port or free_port()
    started = time.monotonic()
    proc = hive.start(port, args.workers, env)
    url = f"http://127.0.0.1:{port}/graphql"
    print(f"hive-gateway --fork {args.workers}: {url} answering after "
          f"{time.monotonic() - started:.1f}s (log {proc.log_path})")  # type: ignore[attr-defined]
    ok = True
    try:
        email = args.email or silos.pick_email(args.config.parent)
        hive.post_graphql(url, hive.S1_PEER, hive.s1_peer_variables(email), TIMEOUT_S)  # warm
        silos.reset()
        answer = hive.post_graphql(url, hive.S1_PEER, hive.s1_peer_variables(email), TIMEOUT_S)
        print(f"S1_PEER silo requests: {json.dumps(silos.stats())}")
        print(f"S1_PEER answer for {email}:\n{json.dumps(answer, indent=1)}")
        expected = silos.expected_s1(email)
        got = hive.canonical_s1_peer(answer.get("data") or {})
        same = not answer.get("errors") and got == expected
        ok &= same
        print(f"S1_PEER matches the silos' own REST answers: {same}")
        if not same:
            print(f"  expected {json.dumps(expected)}\n  got      {json.dumps(got)}")

        ids = [c["id"] for c in silos.get(silos.shopify, "/customers.json",
                                          limit=hive.S2_SIZE)["customers"]]
        hive.post_graphql(url, hive.S2_PEER, hive.s2_peer_variables(ids), TIMEOUT_S)  # warm
        silos.reset()
        answer = hive.post_graphql(url, hive.S2_PEER, hive.s2_peer_variables(ids), TIMEOUT_S)
        customers = ((answer.get("data") or {}).get("shopifyCustomers") or {}).get(
            "customers") or []
        print(f"S2_PEER silo requests: {json.dumps(silos.stats())}")
        orders = sum(len(c["orders"] or []) for c in customers)
        tickets = sum(len(u["requestedTickets"] or []) for c in customers
                      for u in c["zendeskUsers"] or [])
        print(f"S2_PEER: {len(customers)} customers, {orders} orders, {tickets} tickets, "
              f"errors {answer.get('errors')}")
        ok &= len(customers) == hive.S2_SIZE and not answer.get("errors")

        if args.c360_url:
            hive.post_graphql(args.c360_url, hive.S2_C360, hive.s2_c360_variables(ids),
                              TIMEOUT_S)  # warm
            silos.reset()
            c360 = hive.post_graphql(args.c360_url, hive.S2_C360, hive.s2_c360_variables(ids),
                                     TIMEOUT_S)
            print(f"S2_C360 silo requests (Shopify, Zendesk): {json.dumps(silos.stats())}, "
                  f"{len(c360.get('data') or {})} customers, errors {c360.get('errors')}")
            hive.post_graphql(args.c360_url, hive.S1_C360, hive.s1_c360_variables(email),
                              TIMEOUT_S)  # warm
            silos.reset()
            c360 = hive.post_graphql(args.c360_url, hive.S1_C360,
                                     hive.s1_c360_variables(email), TIMEOUT_S)
            print(f"S1_C360 silo requests (Shopify, Zendesk): {json.dumps(silos.stats())}")
            same = hive.canonical_s1_c360(c360.get("data") or {}) == got
            print(f"S1_C360 answers the same orders, lines, products and tickets: {same}")
            if not same:
                print(f"  c360 {json.dumps(hive.canonical_s1_c360(c360.get('data') or {}))}"
                      f"\n  errors {c360.get('errors')}")
            ok &= same
    finally:
        hive.stop(proc)
        print("hive-gateway stopped")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
