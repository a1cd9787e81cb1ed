"""The Hive Gateway / GraphQL Mesh contestant: install, compose, start, stop, and its queries.

The peer is what a team would build with The Guild's stack instead of c360: **GraphQL Mesh**
(``@graphql-mesh/compose-cli`` + ``@omnigraph/openapi``) composes a supergraph from OpenAPI 3
descriptions of Shopify and Zendesk (``openapi/*.yaml``, written from the emulated silos) and
joins them with ``@resolveTo`` additional type definitions (``mesh.config.ts``);
**Hive Gateway** (``@graphql-hive/gateway``, REST transport ``@graphql-mesh/transport-rest``)
serves it, ``--fork N`` workers (N = c360's uvicorn workers). Versions are pinned in
``package.json`` / ``package-lock.json``; nothing here runs in CI.

The joins (see ``mesh.config.ts``; calls per request in brackets)::

    ShopifyCustomer.orders(first) -> orders.json?customer_id=&status=any&limit=   [1 per customer]
    ShopifyCustomer.zendeskUsers  -> users/search.json?query=email:<Shopify email> [1 per customer]
    ZendeskUser.requestedTickets  -> users/{id}/tickets/requested.json             [1 per user]
    ShopifyLineItem.product       -> products.json?ids=<all product ids>&limit=250 [1, batched]
    ZendeskTicket.requester       -> users/show_many.json?ids=<all requester ids>  [1, batched]

Shopify REST has no multi-customer order filter and Zendesk no multi-user ticket list, so those
joins cannot batch; Mesh batches the two ``keysArg`` joins (products, requesters) into one call
per request with a DataLoader, matching results by ``valueKeyField: "id"``.

What each side runs (the data asked for is the same; neither side filters what the other cannot):

* **S1** (one customer 360, by email). ``S1_PEER``: ``shopifyCustomerSearch(query:
  "email:<email>")`` → the customer's profile, last 10 orders (any status) with lines and each
  line's product, and the Zendesk users found by that email with all their requested tickets.
  ``S1_C360``: ``customer(email:)`` → the same profile fields, ``orders(channel: WEB, first: 10)``
  with lines and products, and ``tickets(first: 100)``.
* **S2** (50 customers by Shopify id). ``S2_PEER``: ``shopifyCustomers(ids: [50], limit: 250)``
  → profile, last 10 orders (no lines), Zendesk users by email and their tickets.
  ``S2_C360``: 50 aliased ``customer(sourceRef: {kind: "shopify", id})`` fields (c360 has no
  list-by-silo-id field; the aliases share its per-request DataLoaders) with the same fields.

What Mesh cannot do, and so what neither query asks for:

* **Identity.** Mesh has no identity resolution: it is given a Shopify customer (by email
  search or ids) and joins Zendesk users whose email Zendesk's search finds for the Shopify
  email — case-insensitive, otherwise exact. A person whose emails differ across systems (Gmail
  dots, ``+tags``, a work address — about a third of the sandbox's Shopify+Zendesk people) gets
  no tickets from the peer; c360 links them (so its ticket lists can be longer: compare the
  two sides with :func:`canonical_s1_peer` / :func:`canonical_s1_c360` on customers whose
  emails agree). The POS (Square) is not composed.
* **Loyalty** lives in a SQL database; Mesh's SQL sources are outside this peer, so neither side
  asks for the loyalty tier. **Open tickets**: Zendesk's requested-tickets endpoint has no
  status filter and Mesh has no declarative filter, so both sides return every ticket with its
  status and the client keeps the open ones. **S3** (stores with stock near a point) needs
  geo-distance and a SKU→inventory join over two catalogs: not expressible without custom code.
* **Join keys must be selected by the client** when the join sits under another join
  (``product_id`` under ``orders``, a Zendesk user's ``id`` under ``zendeskUsers``): Mesh
  1.x / Hive Gateway 2.x add a ``@resolveTo``'s ``requiredSelectionSet`` only one level down
  from a subgraph's own root field (observed: without them ``product`` is null and
  ``requestedTickets`` fails with "Variable $user_id ... was not provided"). The queries here
  select them.
* No per-request time budget or partial-failure codes: a slow silo delays the whole answer
  (c360 answers within its 2 s budget with ``errors[].extensions.code``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PEER_DIR = Path(__file__).resolve().parent
NODE_MODULES = PEER_DIR / "node_modules"
SUPERGRAPH = PEER_DIR / "supergraph.graphql"
GATEWAY_BIN = NODE_MODULES / "@graphql-hive" / "gateway" / "dist" / "bin.js"
COMPOSE_BIN = NODE_MODULES / "@graphql-mesh" / "compose-cli" / "esm" / "bin.js"
SHOPIFY_API_VERSION = "2026-07"
MIN_NODE_MAJOR = 20
INSTALL_TIMEOUT_S = 900.0
COMPOSE_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60.0
STOP_GRACE_S = 3.0
S2_SIZE = 50


# ------------------------------------------------------------------------------------ install

@dataclass(frozen=True)
class InstallResult:
    """Truthy when the peer can run; ``reason`` says why not (or what was done)."""

    ok: bool
    reason: str
    seconds: float = 0.0

    def __bool__(self) -> bool:
        return self.ok


def _node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10,
                             check=True).stdout.strip()
        return int(out.lstrip("v").split(".")[0])
    except (subprocess.SubprocessError, OSError, ValueError):
        return None


def installed() -> bool:
    return GATEWAY_BIN.is_file() and COMPOSE_BIN.is_file()


def install(timeout_s: float = INSTALL_TIMEOUT_S) -> InstallResult:
    """``npm ci`` in ``bench/peer`` unless ``node_modules`` is there (about 530 MB, a minute).

    Returns a falsy :class:`InstallResult` with the reason when Node.js or npm is missing or too
    old, or npm cannot reach its registry; never raises for those."""
    major = _node_major()
    if major is None:
        return InstallResult(False, "node is not installed (Node.js >= 20 is needed)")
    if major < MIN_NODE_MAJOR:
        return InstallResult(False, f"node {major} is too old (Node.js >= 20 is needed)")
    if installed():
        return InstallResult(True, "already installed")
    npm = shutil.which("npm")
    if npm is None:
        return InstallResult(False, "npm is not installed")
    started = time.monotonic()
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=PEER_DIR, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return InstallResult(False, f"npm ci did not finish in {timeout_s:.0f} s",
                             time.monotonic() - started)
    except OSError as exc:
        return InstallResult(False, f"npm ci could not run: {exc}")
    seconds = time.monotonic() - started
    if done.returncode != 0 or not installed():
        lines = [line.removeprefix("npm error").strip()
                 for line in (done.stderr or done.stdout).splitlines()]
        detail = " | ".join([line for line in lines if line][:2]) or "no output"
        return InstallResult(False, f"npm ci failed (exit {done.returncode}): {detail}", seconds)
    return InstallResult(True, f"npm ci in {seconds:.0f} s", seconds)


# ------------------------------------------------------------------------------------ compose

def compose(shopify_url: str, zendesk_url: str, *, shopify_token: str, zendesk_email: str,
            zendesk_token: str, api_version: str = SHOPIFY_API_VERSION) -> dict[str, str]:
    """Compose ``supergraph.graphql`` (mesh-compose over ``mesh.config.ts``) and return the
    environment Hive Gateway needs to reach these silos: base URLs and credentials, which the
    supergraph only names as ``{env.…}`` templates (so the composed file holds no secret and
    no port). Raises ``RuntimeError`` with mesh-compose's output when composition fails."""
    if not installed():
        raise RuntimeError("the peer is not installed: call install() first")
    env = {**os.environ, "C360_PEER_SHOPIFY_API_VERSION": api_version, "NO_COLOR": "1"}
    done = subprocess.run(["node", str(COMPOSE_BIN), "-o", SUPERGRAPH.name], cwd=PEER_DIR,
                          env=env, capture_output=True, text=True, timeout=COMPOSE_TIMEOUT_S)
    if done.returncode != 0 or not SUPERGRAPH.is_file():
        raise RuntimeError(f"mesh-compose failed (exit {done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    basic = base64.b64encode(f"{zendesk_email}/token:{zendesk_token}".encode()).decode()
    return {
        "C360_PEER_SHOPIFY_URL": shopify_url.rstrip("/"),
        "C360_PEER_SHOPIFY_TOKEN": shopify_token,
        "C360_PEER_ZENDESK_URL": zendesk_url.rstrip("/"),
        "C360_PEER_ZENDESK_BASIC": basic,
    }


def compose_for(config: Mapping[str, Any]) -> dict[str, str]:
    """:func:`compose` for a c360 gateway configuration (``silos.sandbox.gateway_config`` or a
    parsed ``c360.toml``): the same silos and credentials c360 uses."""
    shopify, zendesk = config["sources"]["shopify"], config["sources"]["zendesk"]
    return compose(shopify["url"], zendesk["url"], shopify_token=shopify["access_token"],
                   zendesk_email=zendesk["email"], zendesk_token=zendesk["api_token"],
                   api_version=shopify.get("api_version", SHOPIFY_API_VERSION))


# ------------------------------------------------------------------------------ start / stop

def post_graphql(url: str, query: str, variables: Mapping[str, Any] | None = None,
                 timeout_s: float = 10.0) -> dict[str, Any]:
    """One GraphQL POST (stdlib only); the decoded JSON body."""
    body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "content-type": "application/json", "accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def start(port: int, workers: int, env: Mapping[str, str], *, host: str = "127.0.0.1",
          timeout_s: float = START_TIMEOUT_S,
          log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start Hive Gateway on ``host:port`` with ``--fork workers`` and wait (at most
    ``timeout_s``) until every worker has started and the gateway answers a query.

    ``env`` is what :func:`compose` returned (added to this process's environment). The
    gateway runs in its own session (process group) so that :func:`stop` ends its workers too;
    its output goes to ``log_path`` (a temporary file by default; ``proc.log_path``)."""
    if not SUPERGRAPH.is_file():
        raise RuntimeError("no supergraph.graphql: call compose() first")
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="c360-peer-hive-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    command = ["node", str(GATEWAY_BIN), "supergraph", SUPERGRAPH.name,
               "--config-path", "gateway.config.ts", "--fork", str(workers),
               "--host", host, "--port", str(port)]
    full_env = {**os.environ, **env, "NO_COLOR": "1", "NODE_ENV": "production"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=PEER_DIR, env=full_env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    proc.log_path = log_path  # type: ignore[attr-defined]
    url = f"http://{host}:{port}/graphql"
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"hive-gateway exited with {proc.returncode}:\n"
                               f"{_tail(log_path)}")
        if _workers_listening(log_path) >= max(workers, 1) and _answers(url):
            return proc
        if time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"hive-gateway did not answer on {url} in {timeout_s:.0f} s:\n"
                               f"{_tail(log_path)}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return post_graphql(url, "{ __typename }", timeout_s=2.0).get("data") == {
            "__typename": "Query"}
    except (OSError, ValueError):
        return False


def _workers_listening(log_path: Path) -> int:
    """How many processes logged that they listen (one per worker, or the single process)."""
    try:
        return log_path.read_text(errors="replace").count("Listening on")
    except OSError:
        return 0


def _tail(log_path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM to the gateway's whole process group, then SIGKILL to it after ``grace_s``.

    The group, not the primary alone: with ``--fork`` > 1, a SIGTERM or SIGINT to the primary
    only stops the workers' servers but leaves the primary and a worker running (observed with
    Hive Gateway 2.15.1 on Node 20)."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    try:  # workers left behind by a primary that exited first
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ------------------------------------------------------------------------------------ queries

S1_PEER = """
query S1Peer($query: String!) {
  shopifyCustomerSearch(query: $query, limit: 1) {
    customers {
      id first_name last_name email phone
      orders(first: 10) {
        id name processed_at financial_status fulfillment_status total_price currency
        line_items { product_id sku title quantity price product { id title } }
      }
      zendeskUsers {
        id email
        requestedTickets { id subject status priority created_at via { channel } }
      }
    }
  }
}
"""

S1_C360 = """
query S1C360($email: String!) {
  customer(email: $email) {
    id
    displayName { value }
    email { value }
    phone { value }
    orders(channel: WEB, first: 10) {
      edges { node {
        orderId number placedAt status total { amount currency }
        lines { sku title quantity unitPrice { amount currency } product { sku title } }
      } }
    }
    tickets(first: 100) {
      edges { node { ticketId subject status priority channel createdAt } }
    }
  }
}
"""

S2_PEER = """
query S2Peer($ids: [BigInt]!) {
  shopifyCustomers(ids: $ids, limit: 250) {
    customers {
      id first_name last_name email phone
      orders(first: 10) {
        id name processed_at financial_status fulfillment_status total_price currency
      }
      zendeskUsers {
        id email
        requestedTickets { id subject status priority created_at via { channel } }
      }
    }
  }
}
"""

_S2_C360_FIELDS = """
    id
    displayName { value }
    email { value }
    phone { value }
    orders(channel: WEB, first: 10) {
      edges { node { orderId number placedAt status total { amount currency } } }
    }
    tickets(first: 100) {
      edges { node { ticketId subject status priority channel createdAt } }
    }
"""


def _s2_c360(size: int) -> str:
    params = ", ".join(f"$id{i}: ID!" for i in range(size))
    fields = "\n".join(
        f'  c{i}: customer(sourceRef: {{kind: "shopify", id: $id{i}}}) {{ ...S2Customer }}'
        for i in range(size))
    return (f"query S2C360({params}) {{\n{fields}\n}}\n"
            f"fragment S2Customer on Customer {{{_S2_C360_FIELDS}}}\n")


S2_C360 = _s2_c360(S2_SIZE)
"""50 aliases ``c0``..``c49`` of ``customer(sourceRef: {kind: "shopify", id: $idN})``."""


def s1_peer_variables(email: str) -> dict[str, Any]:
    return {"query": f"email:{email}"}


def s1_c360_variables(email: str) -> dict[str, Any]:
    return {"email": email}


def s2_peer_variables(shopify_ids: Sequence[int | str]) -> dict[str, Any]:
    return {"ids": [int(i) for i in shopify_ids]}


def s2_c360_variables(shopify_ids: Sequence[int | str]) -> dict[str, Any]:
    if len(shopify_ids) != S2_SIZE:
        raise ValueError(f"S2 takes exactly {S2_SIZE} ids, not {len(shopify_ids)}")
    return {f"id{i}": str(v) for i, v in enumerate(shopify_ids)}


# ------------------------------------------------------------------- comparing the two sides

def _money(value: Any) -> str:
    return f"{float(value):.2f}"


def canonical_s1_peer(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The S1 answer of the peer as plain comparable values (None: no such customer).

    Orders are sorted by id: Shopify REST lists a customer's orders by id (creation), c360 by
    ``placedAt`` (``processed_at``), and the sandbox has imported orders whose two orders
    differ. (For a customer with more than 10 web orders the two "last 10" could differ too;
    the sandbox's customers have at most 7.)"""
    customers = (data.get("shopifyCustomerSearch") or {}).get("customers") or []
    if not customers:
        return None
    c = customers[0]
    return {
        "orders": sorted((
            {"id": str(o["id"]), "number": o["name"], "total": _money(o["total_price"]),
             "lines": [(li["sku"], int(li["quantity"]), _money(li["price"]),
                        (li.get("product") or {}).get("title")) for li in o["line_items"]]}
            for o in c["orders"] or []), key=lambda o: int(o["id"])),
        "tickets": sorted((str(t["id"]), t["status"]) for u in c["zendeskUsers"] or []
                          for t in u["requestedTickets"] or []),
    }


def canonical_s1_c360(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The S1 answer of c360 in the shape of :func:`canonical_s1_peer`."""
    c = data.get("customer")
    if not c:
        return None
    orders = [e["node"] for e in c["orders"]["edges"]]
    return {
        "orders": sorted((
            {"id": str(o["orderId"]), "number": o["number"], "total": _money(o["total"]["amount"]),
             "lines": [(li["sku"], int(float(li["quantity"])), _money(li["unitPrice"]["amount"]),
                        (li.get("product") or {}).get("title")) for li in o["lines"]]}
            for o in orders), key=lambda o: int(o["id"])),
        "tickets": sorted((str(e["node"]["ticketId"]), e["node"]["status"])
                          for e in c["tickets"]["edges"]),
    }
