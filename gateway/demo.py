"""``c360 demo``: the emulated silos, an identity index and the gateway, in one command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gateway.app import create_app
from gateway.auth.signing import mint
from gateway.config import Config, parse_config
from gateway.loop import tune_gc
from gateway.runtime import open_runtime
from silos.sandbox import SandboxOptions, Servers, gateway_config, prepare, start_silos

EXAMPLES = """\
Try in GraphiQL ({url}):

  # a call-center agent (the agent's token, already in the Headers tab), "where is my
  # return?": the request from the order number, who acts next, and the caller's history in
  # every channel
  {{ request(reference: "{order_name}") {{ kind status system updatedAt store {{ name }}
      nextStep {{ actor action }} }}
    customer(phone: "{phone}") {{ displayName {{ value }}
      timeline(first: 10) {{ edges {{ node {{ occurredAt kind channel system summary }} }} }}
      openRequests {{ kind status reference nextStep {{ actor action }} }} }} }}

  # a store clerk (the store_associate token: contact data masked): the cart the customer
  # left online and their open pickup
  {{ customer(email: "{email}") {{ email {{ value }}
      carts {{ kind updatedAt total {{ amount currency }} lines {{ title quantity }} }}
      openRequests {{ kind status reference store {{ name }} nextStep {{ actor action }} }} }} }}

  # a mobile app (the customer token): my history, what I am waiting for, and where I can
  # pick up a product today
  {{ me {{ timeline(first: 10) {{ edges {{ node {{ occurredAt kind channel summary }} }} }}
      openRequests {{ kind status reference nextStep {{ action }} }} }}
    product(sku: "{sku}") {{ availability {{ online inStores pickupStores {{ name }} }} }} }}
"""


def demo_tokens(running: object, config: Config) -> dict[str, tuple[str, str]]:
    """A ready token per role (valid 12 h) and the ``c360 token`` command that makes it."""
    data = running.data  # type: ignore[attr-defined]
    jwt = config.auth.jwt
    assert jwt is not None
    customer = f"shopify:{next(iter(data.shopify.customers))}"
    store = config.stores[0].code if config.stores else None
    path = running.config_path  # type: ignore[attr-defined]
    wanted: dict[str, dict[str, Any]] = {
        "customer": {"customer": customer, "subject": "app-user"},
        "store_associate": {"store": store, "subject": "clerk-1"},
        "agent": {"subject": "agent-1"},
        "backoffice": {"subject": "ops-1"},
    }
    made = {}
    for role, claims in wanted.items():
        token = mint(jwt, role, ttl_s=12 * 3600, **claims)
        flags = "".join(f" --{k} {v}" for k, v in claims.items() if k != "subject")
        made[role] = (token, f"c360 token --config {path} --role {role}{flags} --ttl 43200")
    return made


def examples(running: object, url: str) -> str:
    """The examples, over the sandbox's own journeys: a web order picked up in one store and
    returned in another (its customer calls), a pickup waiting with a cart left online."""
    data = running.data  # type: ignore[attr-defined]
    records = {p["person"]: {r["kind"]: r["id"] for r in p["records"]}
               for p in data.ground_truth}
    returned = next(j for j in data.journeys if j.name == "pickup_return_elsewhere")
    waiting = next(j for j in data.journeys if j.name == "open_pickup")
    caller = data.shopify.customers[int(records[returned.person]["shopify"])]
    walk_in = data.shopify.customers[int(records[waiting.person]["shopify"])]
    order = data.shopify.orders[int(returned.records["web_order"])]
    sku = next(v["sku"] for p in data.shopify.products.values() for v in p["variants"])
    return EXAMPLES.format(url=url, order_name=order["name"], phone=caller["phone"],
                           email=walk_in["email"], sku=sku)


async def run_demo(host: str, port: int, customers: int, seed: int, data_dir: Path) -> None:
    started = time.perf_counter()
    running = prepare(SandboxOptions(customers=customers, seed=seed, host=host,
                                     port=port + 100, data_dir=data_dir))
    config = parse_config(gateway_config(running), env={})
    tokens = demo_tokens(running, config)
    servers = Servers()
    await start_silos(running, servers)
    async with open_runtime(config) as runtime:
        report = await runtime.identity.index()
    app = create_app(config, graphiql_headers={
        "Authorization": f"Bearer {tokens['agent'][0]}"})
    tune_gc()
    await servers.start(app, host, port)
    url = f"http://{host}:{port}/graphql"
    print(f"c360 demo ready in {time.perf_counter() - started:.1f}s: {report.people:,} people "
          f"linked from {sum(report.records.values()):,} silo records", flush=True)
    print(f"  GraphiQL  {url}", flush=True)
    print(f"  silos     shopify {running.url('shopify')}  square {running.url('square')}  "
          f"zendesk {running.url('zendesk')}", flush=True)
    print(examples(running, url), flush=True)
    print("Tokens (GraphiQL's Headers tab already has the agent's; paste another as\n"
          '{"Authorization": "Bearer <token>"} to see what each role sees):', flush=True)
    for role, (token, command) in tokens.items():
        print(f"  {role:16s} {token}\n  {'':16s} ({command})", flush=True)
    print("Ctrl-C stops.", flush=True)
    await servers.run_until_signal()
