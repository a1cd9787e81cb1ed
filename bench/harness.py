"""Orchestrating one benchmark run: sandbox, latency profiles, contestants, load, measurements.

Everything runs on 127.0.0.1 as separate processes: ``c360 sandbox`` (the three REST silos; the
loyalty SQLite file), ``c360 index``, one contestant at a time (``c360 serve --workers 1|2``,
the same with ``C360_BATCHING=0``, Hive Gateway ``--fork 1|2`` from :mod:`bench.peer.hive`),
and one :mod:`bench.load` process per cell (the direct contestant runs inside it). For each
contestant × scenario × profile × concurrency the harness records the load process's latency and
throughput, the server process tree's CPU time (utime + stime from ``/proc/<pid>/stat``,
workers included) and its peak RSS (``VmHWM`` summed over the tree); per contestant × scenario,
the upstream requests per query per source (``/_sandbox/stats`` around K counted queries).

The sandbox holds :data:`HEAVY_CUSTOMERS` heavy customers (``c360 sandbox --heavy``, about 5,000
timeline events each) for **S4**: the first page of such a customer's timeline, and **S4-p10**,
its tenth page, whose ``after`` cursor (page 9's ``endCursor``) is found once per customer by
walking nine pages through the first c360 server, before it is primed and measured. Their upstream
count is the requests of one page.

**The floor** is the latency of the silo calls on the critical path, what a gateway with zero
overhead would still pay. Each scenario needs a fixed number of sequential levels of silo calls
(:data:`FLOOR_LEVELS`: which silo calls one level makes concurrently, from c360's own plan with its
identity registry and its catalog/location caches warm; an entry of a level may itself be a chain
of levels, as when each source pages its own window while the others do theirs). The harness
samples each silo's response time as a client sees it (a cheap read: Shopify
``customers.json?ids=<1>``, Square ``customers/bulk-retrieve`` of 1, Zendesk ``users/show_many`` of
1, one loyalty SQL lookup) under each latency profile, then draws, per level, one sample per call
on that level (a chain: the sum of its levels) and keeps the slowest, sums the levels, and repeats
20,000 times: the floor's p50/p95/p99. With one silo at 1 s the samples are the 0 ms ones plus the
added second (the emulator adds exactly latency ± jitter).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import tomli_w

from bench import targets
from bench.peer.hive import stop as stop_group
from gateway.auth.signing import mint
from gateway.config import parse_config

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
SILOS = ("shopify", "square", "zendesk")
SILO_OFFSET = {"shopify": 1, "square": 2, "zendesk": 3}
HEAVY_CUSTOMERS = 4
"""Heavy customers in the sandbox (S4's variables rotate over them); ~0.2 s of generation each."""
S4_PAGES_BEFORE = 9
"""S4-p10 reads the page after this many pages of 20."""
CLK_TCK = os.sysconf("SC_CLK_TCK")
IDENTITY_REFRESH_S = 3600
"""``identity.refresh_s`` of the benchmarked gateways: every cell reads people checked within the
interval (the warm-up read them), whatever the order and length of the cells — with the default
30 s, a cell more than 30 s after the warm-up re-checked every person it read and another did not,
which no comparison between cells survived. What a live re-check costs is measured on its own by
``python -m bench.recheck``."""
PRIME_LOOP_S = 4.0
"""Warm-up: seconds of closed loop at each scenario's highest concurrency."""

PROFILES: dict[str, dict[str, tuple[float, float]]] = {
    "0ms": {s: (0.0, 0.0) for s in SILOS},
    "20ms": {s: (20.0, 5.0) for s in SILOS},
    "zendesk-1s": {"shopify": (0.0, 0.0), "square": (0.0, 0.0), "zendesk": (1000.0, 0.0)},
}
"""Per silo (added latency ms, ± jitter ms) through ``POST /_sandbox/faults``. The loyalty
database is a SQLite file: it has no fault API and never gets added latency."""

FloorPlan: TypeAlias = "list[list[str | FloorPlan]]"
"""Sequential levels; a level's entries run concurrently, each one call to a silo or a chain
(a nested plan: its own levels one after another)."""

FLOOR_LEVELS: dict[str, FloorPlan] = {
    # profile, orders, tickets, loyalty of the registry's records; the products of the order
    # lines come from the catalogs' caches (Shopify's SKU index, Square's variations by SKU)
    "S1": [["shopify", "shopify", "square", "square", "zendesk", "zendesk", "loyalty"]],
    # 50 profiles, order refs (Shopify Admin GraphQL), Square orders per 10 customers, tickets
    # (Zendesk search), loyalty; then Shopify orders by ids
    "S2": [["shopify", "shopify", "square", "square", "square", "square", "square", "square",
            "zendesk", "zendesk", "loyalty"], ["shopify"]],
    # Shopify inventory levels and Square stock counts (the SKU's inventory item and
    # variations, and the locations, come from the catalogs' caches)
    "S3": [["shopify", "square"]],
}
# the shared-subset queries read the same records (profiles of every source, orders of both
# channels filtered to WEB, tickets) through the same levels
FLOOR_LEVELS["S1-shared"] = FLOOR_LEVELS["S1"]
FLOOR_LEVELS["S2-shared"] = FLOOR_LEVELS["S2"]
# One timeline page: the card's person from the registry (no silo call), the location index and
# the open carts from the caches; then every source reads its window of 21 concurrently — Shopify
# an Admin GraphQL page of order ids, a GraphQL page of those changed since the window's edge,
# then orders.json?ids=; Square a SearchOrders window, then one of orders updated after the edge
# (its SKUs from the variation cache); Zendesk a search.json window (on the first page with the
# requester's newest tickets from tickets/requested.json beside it), then a search of tickets
# changed since the edge; loyalty one SQL statement. The merge needs every stream's edge before
# it knows which tickets changed after it, so those tickets' audits (about 3 a page: 1 to 7
# measured) come after every window: 4 silo round trips on the critical path.
_SHOPIFY_WINDOW: FloorPlan = [["shopify"], ["shopify"], ["shopify"]]
_SQUARE_WINDOW: FloorPlan = [["square"], ["square"]]
FLOOR_LEVELS["S4"] = [[_SHOPIFY_WINDOW, _SQUARE_WINDOW, [["zendesk", "zendesk"], ["zendesk"]],
                       "loyalty"], ["zendesk", "zendesk", "zendesk"]]
FLOOR_LEVELS["S4-p10"] = [[_SHOPIFY_WINDOW, _SQUARE_WINDOW, [["zendesk"], ["zendesk"]],
                           "loyalty"], ["zendesk", "zendesk", "zendesk"]]


def draw_floor(plan: FloorPlan, samples: dict[str, list[float]], rng: random.Random) -> float:
    """One draw of a plan's silo latency: its levels one after another, each costing its
    slowest entry (a call: one sampled response time of its silo; a chain: its own draw)."""
    return sum(max(rng.choice(samples[e]) if isinstance(e, str) else draw_floor(e, samples, rng)
                   for e in level) for level in plan)


def floor_calls(plan: FloorPlan) -> list[int]:
    """Silo calls per level (a chain's calls count on the level that starts it)."""
    return [sum(1 if isinstance(e, str) else sum(floor_calls(e)) for e in level)
            for level in plan]


S1_QUERY = """query S1($email: String!) {
  customer(email: $email) {
    id displayName { value source } email { value } phone { value }
    orders(first: 10) { edges { node {
      id channel number placedAt status total { amount currency }
      lines { sku title quantity total { amount currency } product { sku title } } } } }
    tickets(status: ["new", "open", "pending"]) { edges { node {
      id subject status channel createdAt } } }
    loyalty { cardNumber tier pointsBalance } } }"""

S2_QUERY = """query S2 {
  customers(first: 50) { edges { node {
    id displayName { value }
    orders(first: 10) { edges { node {
      id channel number placedAt status total { amount currency } } } }
    tickets { edges { node { id subject status } } }
    loyalty { tier } } } } }"""

S3_QUERY = """query S3($sku: String!, $lat: Float!, $lng: Float!) {
  storesWithStock(sku: $sku, near: {lat: $lat, lng: $lng}, radiusKm: 25) {
    location { id name address { line1 city } } available distanceKm } }"""

S4_QUERY = """query S4($card: String!, $after: String) {
  customer(loyaltyCard: $card) { timeline(first: 20, after: $after) {
    edges { cursor node { occurredAt kind channel system summary subject { __typename } } }
    pageInfo { hasNextPage endCursor } } } }"""
"""A timeline page of 20 (S4: the first; S4-p10: ``after`` page 9's ``endCursor``)."""


@dataclass(frozen=True)
class Durations:
    warmup_s: float
    latency_s: float
    capacity_s: float
    load_s: float
    slow_min_requests: int
    count_requests: int
    floor_samples: int
    floor_samples_slow: int
    capacity_max_s: float
    overload_s: float
    """Measured window of the open-loop overload (after ``warmup_s``)."""


DEFAULT = Durations(warmup_s=1.0, latency_s=6.0, capacity_s=3.0, load_s=6.0,
                    slow_min_requests=8, count_requests=20, floor_samples=200,
                    floor_samples_slow=60, capacity_max_s=40.0, overload_s=8.0)
QUICK = Durations(warmup_s=0.5, latency_s=2.0, capacity_s=1.5, load_s=2.0,
                  slow_min_requests=3, count_requests=5, floor_samples=80,
                  floor_samples_slow=30, capacity_max_s=20.0, overload_s=4.0)
CURVE_CONCURRENCY = (4, 16)
"""The goodput curve's closed loops between c = 1 and c = 50 (those two are the cells')."""
OVERLOAD_FACTOR = 2.0
"""The open-loop overload offers this many times the measured capacity."""
OVERLOAD_MAX_CONNECTIONS = 2048
"""The overload's client (aiohttp: httpx's pool slows down with hundreds of requests in
flight) keeps this many connections open at most (no cap on requests in flight below it: the
gateway, not the client, decides what waits)."""


@dataclass
class Contestant:
    key: str
    name: str
    kind: str  # c360 | direct | peer
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    cells: list[tuple[str, str, int]] = field(default_factory=list)  # scenario, profile, c
    curve: list[tuple[str, str, int]] = field(default_factory=list)
    """Closed loops only (the goodput curve between the cells' c = 1 and c = 50)."""
    overload: list[tuple[str, str]] = field(default_factory=list)
    """(scenario, profile): capacity, then Poisson arrivals at 2× it with no in-flight cap."""


def plan(quick: bool, peer: bool) -> list[Contestant]:
    """The contestants and their cells. The default run is every cell (Hive Gateway and the
    shared-subset queries only where the peer is available); ``--quick`` is a smoke run of the
    20 ms profile, S1/S2 at c=1 with Zendesk at 1 s, and the shared subset at c=50. S4 (a
    heavy customer's timeline) is c360's alone: Hive Gateway has no such view, and the direct
    client would have to re-implement the windowed merge of four histories."""
    def cells(scenarios: tuple[str, ...], profiles: tuple[str, ...] = tuple(PROFILES),
              conc: tuple[int, ...] = (1, 50)) -> list[tuple[str, str, int]]:
        return [(s, p, c) for p in profiles for s in scenarios for c in conc]

    shared = ("S1-shared", "S2-shared") if peer else ()
    fast = ("0ms", "20ms")
    timeline = ("S4", "S4-p10")
    overload = [("S1", "20ms"), ("S2", "20ms")]
    if not quick:
        # S3 never calls Zendesk (its 1 s profile is the 0 ms one); a second worker changes
        # nothing for one client at a time; without batching and without a gateway, 50
        # concurrent S2s do not finish within the client's 10 s (measured once, at 20 ms)
        return [
            Contestant("c360-1w", "c360 (1 worker)", "c360", 1,
                       cells=cells(("S1", "S2") + shared) + cells(("S3",), fast)
                       + cells(timeline, fast),
                       curve=cells(("S1", "S2", "S3", "S4"), fast, CURVE_CONCURRENCY),
                       overload=overload),
            Contestant("c360-2w", "c360 (2 workers)", "c360", 2,
                       cells=cells(("S1", "S2") + shared, conc=(50,))
                       + cells(("S3",), fast, (50,))),
            Contestant("c360-nobatch", "c360 no batching (1 worker)", "c360", 1,
                       {"C360_BATCHING": "0"},
                       cells=cells(("S1", "S2"), conc=(1,)) + cells(("S1", "S2"), ("20ms",),
                                                                     (50,))),
            Contestant("c360-noauth", "c360 without auth and limits (1 worker)", "c360", 1,
                       {"C360_SECURITY": "0"}, cells=cells(("S1",), fast, (1,))),
            Contestant("direct", "direct (no gateway)", "direct",
                       cells=cells(("S1", "S2"), conc=(1,)) + cells(("S1",), conc=(50,))
                       + [("S2", "20ms", 50)]),
            Contestant("hive-1", "Hive Gateway (1 fork)", "peer", 1, cells=cells(shared)),
            Contestant("hive-2", "Hive Gateway (2 forks)", "peer", 2,
                       cells=cells(shared, conc=(50,))),
        ]
    return [
        Contestant("c360-1w", "c360 (1 worker)", "c360", 1,
                   cells=cells(("S1", "S2", "S3") + shared, ("20ms",))
                   + cells(("S1", "S2"), ("zendesk-1s",), (1,)) + [("S1", "0ms", 1)]
                   + cells(timeline, ("20ms",), (1,)),
                   curve=cells(("S1", "S2"), ("20ms",), CURVE_CONCURRENCY), overload=overload),
        Contestant("c360-2w", "c360 (2 workers)", "c360", 2,
                   cells=cells(shared or ("S1",), ("20ms",), (50,))),
        Contestant("c360-nobatch", "c360 no batching (1 worker)", "c360", 1,
                   {"C360_BATCHING": "0"}, cells=cells(("S1", "S2"), ("20ms",), (1,))),
        Contestant("c360-noauth", "c360 without auth and limits (1 worker)", "c360", 1,
                   {"C360_SECURITY": "0"}, cells=cells(("S1",), ("0ms", "20ms"), (1,))),
        Contestant("direct", "direct (no gateway)", "direct",
                   cells=cells(("S1", "S2"), ("20ms",), (1,)) + [("S1", "20ms", 50),
                                                                  ("S1", "zendesk-1s", 1)]),
        Contestant("hive-1", "Hive Gateway (1 fork)", "peer", 1, cells=cells(shared, ("20ms",))),
        Contestant("hive-2", "Hive Gateway (2 forks)", "peer", 2,
                   cells=cells(shared, ("20ms",), (50,))),
    ]


@dataclass(frozen=True)
class Selection:
    """What of the plan to run (``python -m bench --scenarios/--profiles/--no-curve/
    --no-overload/--no-operations``): None keeps every scenario or profile."""

    scenarios: frozenset[str] | None = None
    profiles: frozenset[str] | None = None
    curve: bool = True
    overload: bool = True
    operations: bool = True
    """Issue 14's in-process cells (:mod:`bench.operations`)."""

    def keeps(self, scenario: str, profile: str) -> bool:
        return ((self.scenarios is None or scenario in self.scenarios)
                and (self.profiles is None or profile in self.profiles))

    def apply(self, contestants: list[Contestant]) -> list[Contestant]:
        """The contestants with only the selected cells, curve points and overloads; those
        left with nothing to run are dropped."""
        kept = []
        for c in contestants:
            cells = [x for x in c.cells if self.keeps(x[0], x[1])]
            curve = [x for x in c.curve if self.curve and self.keeps(x[0], x[1])]
            overload = [x for x in c.overload if self.overload and self.keeps(x[0], x[1])]
            if cells or curve or overload:
                kept.append(replace(c, cells=cells, curve=curve, overload=overload))
        return kept

    def describe(self) -> dict[str, Any]:
        return {"scenarios": sorted(self.scenarios) if self.scenarios is not None else "all",
                "profiles": sorted(self.profiles) if self.profiles is not None else "all",
                "curve": self.curve, "overload": self.overload,
                "operations": self.operations}


CLOSED_FIELDS = ("rps", "ok_rps", "requests", "ok", "partial", "failed", "error_kinds",
                 "partial_causes", "failed_kinds", "p50_ms", "p99_ms", "max_ms",
                 "accepted_p99_ms", "accepted_max_ms", "completed_total")
"""What a closed loop's result keeps (a goodput-curve point, a cell's capacity phase)."""


def memory_entry(name: str, after_warmup_kb: int, after_kb: int, peak_kb: int
                 ) -> dict[str, Any]:
    """A server's resident set (its process tree) after warm-up and after all its cells."""
    return {"contestant": name, "after_warmup_mb": round(after_warmup_kb / 1024, 1),
            "after_cells_mb": round(after_kb / 1024, 1), "peak_mb": round(peak_kb / 1024, 1),
            "ratio": targets.rss_ratio(after_warmup_kb, after_kb)}


# -- processes ----------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def start_process(args: list[str], log_path: Path, env: dict[str, str] | None = None,
                  cwd: Path = REPO) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as out:
        return subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


@contextmanager
def sandboxed(customers: int, base_port: int, prefix: str) -> Iterator[Run]:
    """A benchmark sandbox of its own for an in-process tool (``bench.profile``,
    ``bench.recheck``): the silos started and indexed, the variables chosen; stopped and its
    files removed at the end."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    run = Run(work, work, True, customers, base_port, None, False)
    try:
        run.start_sandbox()
        run.choose_variables()
        yield run
    finally:
        if run.sandbox is not None:
            stop_process(run.sandbox)
        shutil.rmtree(work, ignore_errors=True)


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM to the process group we started (the server and its workers), then SIGKILL."""
    stop_group(proc, timeout_s)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str,
               proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready after {timeout_s:.0f} s")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def tree_cpu_s(pid: int) -> float:
    """utime + stime (+ reaped children's) of the process tree, in seconds."""
    total = 0
    for p in tree(pid):
        fields = _stat(p)
        if fields:  # after the state: utime is field 14 of stat, i.e. index 11 here
            total += sum(int(v) for v in fields[11:15])
    return total / CLK_TCK


def tree_hwm_kb(pid: int) -> int:
    """Peak resident set (VmHWM) summed over the tree's processes, in kB."""
    return _tree_status_kb(pid, "VmHWM:")


def tree_rss_kb(pid: int) -> int:
    """Resident set now (VmRSS) summed over the tree's processes, in kB."""
    return _tree_status_kb(pid, "VmRSS:")


def settled_rss_kb(pid: int) -> int:
    """The tree's resident set after :data:`bench.targets.SETTLE_S` with no request."""
    time.sleep(targets.SETTLE_S)
    return tree_rss_kb(pid)


def _tree_status_kb(pid: int, key: str) -> int:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(key):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


# -- the run ------------------------------------------------------------------------------------
class Run:
    def __init__(self, out_dir: Path, work_dir: Path, quick: bool, customers: int,
                 base_port: int, only: set[str] | None, peer: bool,
                 selection: Selection | None = None) -> None:
        self.selection = selection or Selection()
        self.out_dir = out_dir
        self.work = work_dir
        self.quick = quick
        self.d = QUICK if quick else DEFAULT
        self.customers = customers
        self.base_port = base_port
        self.gateway_port = base_port + 10
        self.only = only
        self.want_peer = peer
        self.http = httpx.Client(timeout=10.0, trust_env=False)
        self.sandbox: subprocess.Popen[bytes] | None = None
        self.config_path = work_dir / "sandbox" / "c360.toml"
        self.skipped: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self.upstream: dict[str, dict[str, Any]] = {}
        self.curve: list[dict[str, Any]] = []
        self.overloads: list[dict[str, Any]] = []
        self.memory: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, Any] | None = None
        self.budget_ms = 2000
        self.variables: dict[str, list[dict[str, Any]]] = {}
        self.peer_vars: dict[str, list[dict[str, Any]]] = {}
        self.hive: Any = None
        self.peer_env: dict[str, str] | None = None
        self.credentials: dict[str, str] = {}

    def silo_url(self, silo: str) -> str:
        return f"http://127.0.0.1:{self.base_port + SILO_OFFSET[silo]}"

    # setup ------------------------------------------------------------------------------------
    def start_sandbox(self) -> None:
        data = self.work / "sandbox"
        data.mkdir(parents=True, exist_ok=True)
        log(f"sandbox: {self.customers:,} customers and {HEAVY_CUSTOMERS} heavy ones on ports "
            f"{self.base_port + 1}-{self.base_port + 3}")
        self.sandbox = start_process(
            [PY, "-m", "gateway.cli", "sandbox", "--customers", str(self.customers),
             "--heavy", str(HEAVY_CUSTOMERS), "--port", str(self.base_port),
             "--data-dir", str(data)], self.work / "sandbox.log")
        wait_until(lambda: all(self.http.get(self.silo_url(s) + "/_sandbox/stats")
                               .status_code == 200 for s in SILOS) and
                   self.config_path.is_file(), 300, "sandbox", self.sandbox)
        started = time.monotonic()
        done = subprocess.run([PY, "-m", "gateway.cli", "index", "--config",
                               str(self.config_path)], cwd=REPO, capture_output=True,
                              text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"c360 index failed:\n{done.stdout}\n{done.stderr}")
        log(f"index: {done.stdout.strip().splitlines()[-1]} ({time.monotonic() - started:.1f}s)")
        self.secure_config()

    def secure_config(self) -> None:
        """The benchmark's caller: a back-office token (JWT verified on every request, the
        query gate, the audit), with rate limits far above the load so none is refused; the
        identity re-check and crawl interval longer than the run (:data:`IDENTITY_REFRESH_S`)."""
        with self.config_path.open("rb") as fh:
            config = tomllib.load(fh)
        config["rate_limits"] = {"roles": {"backoffice": {"rate_per_s": 1_000_000,
                                                          "burst": 1_000_000}}}
        config.setdefault("identity", {})["refresh_s"] = IDENTITY_REFRESH_S
        self.config_path.write_bytes(tomli_w.dumps(config).encode())
        parsed = parse_config(config, env={})
        self.budget_ms = parsed.gateway.request_budget_ms
        jwt = parsed.auth.jwt
        assert jwt is not None
        self.credentials = {"authorization": "Bearer " + mint(
            jwt, "backoffice", subject="bench", ttl_s=24 * 3600)}

    def choose_variables(self) -> None:
        """S1 emails of people known to Shopify and at least two other silos (their Shopify
        address; heavy customers left out); S2 shared: sets of 50 Shopify ids; S3: catalog
        SKUs × store coordinates; S4: the heavy customers' loyalty cards (S4-p10's cursors
        come from :meth:`walk_timelines`)."""
        truth = json.loads((self.work / "sandbox" / "ground_truth.json").read_text())
        with self.config_path.open("rb") as fh:
            self.config = tomllib.load(fh)
        shop = self.config["sources"]["shopify"]
        base = f"{self.silo_url('shopify')}/admin/api/{shop['api_version']}"
        headers = {"X-Shopify-Access-Token": shop["access_token"]}
        rich = []
        all_shopify = []
        cards = []
        for person in truth:
            if "events" in person:  # a heavy customer: ground truth counts their events
                cards += [r["id"] for r in person["records"] if r["kind"] == "loyalty"]
                continue
            kinds = {r["kind"] for r in person["records"]}
            ids = [r["id"] for r in person["records"] if r["kind"] == "shopify"]
            if len(ids) == 1:
                all_shopify.append(ids[0])
                if len(kinds) >= 3:
                    rich.append(ids[0])
        rng = random.Random(42)
        rng.shuffle(rich)
        picked = rich[:120]
        emails = []
        for chunk in (picked[i:i + 100] for i in range(0, len(picked), 100)):
            r = self.http.get(base + "/customers.json", headers=headers,
                              params={"ids": ",".join(chunk), "limit": "250"})
            r.raise_for_status()
            emails += [c["email"].strip() for c in r.json()["customers"] if c.get("email")]
        emails.sort()
        rng.shuffle(emails)
        self.variables["S1"] = [{"email": e} for e in emails[:100]]
        self.variables["S2"] = [{}]
        r = self.http.get(base + "/products.json", headers=headers, params={"limit": "50"})
        skus = [v["sku"] for p in r.json()["products"] for v in p["variants"] if v.get("sku")]
        square = self.config["sources"]["square"]
        r = self.http.get(self.silo_url("square") + "/v2/locations", headers={
            "Authorization": f"Bearer {square['access_token']}"})
        points = [(loc["coordinates"]["latitude"] + 0.05, loc["coordinates"]["longitude"] - 0.05)
                  for loc in r.json().get("locations", []) if loc.get("coordinates")]
        rng.shuffle(skus)
        self.variables["S3"] = [{"sku": sku, "lat": lat, "lng": lng}
                                for sku in skus[:20] for lat, lng in points[:5]]
        rng.shuffle(self.variables["S3"])
        s2_sets = [sorted(all_shopify[i * 50:(i + 1) * 50]) for i in range(4)
                   if len(all_shopify) >= (i + 1) * 50]
        self.shared_ids = s2_sets
        self.variables["S4"] = [{"card": card} for card in cards]
        log(f"variables: {len(self.variables['S1'])} S1 emails, {len(self.variables['S3'])} "
            f"S3 (sku, point) pairs, {len(s2_sets)} sets of 50 Shopify ids, {len(cards)} "
            f"heavy customers' cards")

    def walk_timelines(self, contestant: Contestant) -> None:
        """S4-p10's variables: per heavy customer, page 9's ``endCursor``, walking the first
        nine pages once through this (c360) server with 0 ms silos. A cursor is a position in
        the timeline, valid for every server of the run."""
        self.set_profile("0ms")
        target = self.target(contestant, "S4")
        started = time.monotonic()
        found = []
        for variables in target["variables"]:
            after = None
            for page in range(S4_PAGES_BEFORE):
                r = self.http.post(target["url"], json={"query": target["query"], "variables": {
                    **variables, "after": after}}, headers=target["headers"], timeout=30)
                r.raise_for_status()
                body = r.json()
                info = ((((body.get("data") or {}).get("customer") or {}).get("timeline")
                         or {}).get("pageInfo") or {})
                if body.get("errors") or not info.get("hasNextPage"):
                    raise RuntimeError(f"timeline of {variables['card']}, page {page + 1}: "
                                       f"{body.get('errors') or 'no next page'}")
                after = info["endCursor"]
            found.append({**variables, "after": after})
        self.variables["S4-p10"] = found
        log(f"  S4-p10: page {S4_PAGES_BEFORE}'s cursor of {len(found)} timelines "
            f"({time.monotonic() - started:.1f}s)")

    def set_profile(self, profile: str) -> None:
        for silo, (latency, jitter) in PROFILES[profile].items():
            r = self.http.post(self.silo_url(silo) + "/_sandbox/faults", json={
                "latency_ms": latency, "jitter_ms": jitter, "error_rate": 0.0,
                "rate_limited": False, "down": False})
            r.raise_for_status()

    # the floor --------------------------------------------------------------------------------
    def sample_silos(self, n: int) -> dict[str, list[float]]:
        cfg = self.config["sources"]
        shop, square, zen = cfg["shopify"], cfg["square"], cfg["zendesk"]
        truth = json.loads((self.work / "sandbox" / "ground_truth.json").read_text())
        ids = {k: next(r["id"] for p in truth for r in p["records"] if r["kind"] == k)
               for k in ("shopify", "square", "zendesk", "loyalty")}
        calls: dict[str, Callable[[], httpx.Response]] = {
            "shopify": lambda: self.http.get(
                f"{self.silo_url('shopify')}/admin/api/{shop['api_version']}/customers.json",
                params={"ids": ids["shopify"]},
                headers={"X-Shopify-Access-Token": shop["access_token"]}),
            "square": lambda: self.http.post(
                self.silo_url("square") + "/v2/customers/bulk-retrieve",
                json={"customer_ids": [ids["square"]]},
                headers={"Authorization": f"Bearer {square['access_token']}"}),
            "zendesk": lambda: self.http.get(
                self.silo_url("zendesk") + "/api/v2/users/show_many.json",
                params={"ids": ids["zendesk"], "include": "identities"},
                auth=(f"{zen['email']}/token", zen["api_token"])),
        }
        samples: dict[str, list[float]] = {}
        for silo, call in calls.items():
            call().raise_for_status()
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                call()
                times.append((time.perf_counter() - t0) * 1000)
            samples[silo] = times
        db = cfg["loyalty"]["url"].split(":///", 1)[1]
        with sqlite3.connect(db) as conn:
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                conn.execute("SELECT m.*, coalesce(sum(p.points), 0) FROM loyalty_member m "
                             "LEFT JOIN points_ledger p ON p.member_id = m.member_id "
                             "WHERE m.card_number IN (?) GROUP BY m.member_id",
                             (ids["loyalty"],)).fetchall()
                times.append((time.perf_counter() - t0) * 1000)
            samples["loyalty"] = times
        return samples

    def measure_floor(self) -> dict[str, Any]:
        log("floor: sampling silo response times")
        samples: dict[str, dict[str, list[float]]] = {}
        for profile in PROFILES:
            if profile == "zendesk-1s":
                base = samples["0ms"]
                samples[profile] = {s: [v + PROFILES[profile].get(s, (0, 0))[0] for v in vs]
                                    for s, vs in base.items()}
                continue
            self.set_profile(profile)
            n = self.d.floor_samples if profile == "0ms" else self.d.floor_samples_slow
            samples[profile] = self.sample_silos(n)
        self.set_profile("0ms")
        rng = random.Random(7)
        floor: dict[str, dict[str, Any]] = {}
        for profile, by_silo in samples.items():
            floor[profile] = {}
            for scenario, levels in FLOOR_LEVELS.items():
                draws = sorted(draw_floor(levels, by_silo, rng) for _ in range(20_000))
                floor[profile][scenario] = {
                    "p50_ms": round(draws[len(draws) // 2], 3),
                    "p95_ms": round(draws[int(len(draws) * 0.95)], 3),
                    "p99_ms": round(draws[int(len(draws) * 0.99)], 3),
                    "levels": floor_calls(levels)}
        summary = {p: {s: round(sorted(v)[len(v) // 2], 3) for s, v in by.items()}
                   for p, by in samples.items()}
        log(f"floor: silo response p50 (ms) {summary}")
        return {"by_profile": floor, "silo_p50_ms": summary, "levels": FLOOR_LEVELS}

    # contestants ------------------------------------------------------------------------------
    def load_peer(self) -> bool:
        if not self.want_peer:
            self.skipped.append("Hive Gateway: skipped (--no-peer)")
            return False
        try:
            from bench.peer import hive
        except ImportError as exc:
            self.skipped.append(f"Hive Gateway: bench.peer.hive is missing ({exc})")
            return False
        try:
            result = hive.install()
        except Exception as exc:  # noqa: BLE001 - any install failure skips the peer
            self.skipped.append(f"Hive Gateway: install failed ({exc})")
            return False
        if not result:
            self.skipped.append(f"Hive Gateway: {getattr(result, 'reason', 'install failed')}")
            return False
        self.hive = hive
        return True

    def compose_peer(self) -> bool:
        try:
            self.peer_env = self.hive.compose_for(self.config)
        except Exception as exc:  # noqa: BLE001 - any compose failure skips the peer
            self.skipped.append(f"Hive Gateway: compose failed ({exc})")
            return False
        hive = self.hive
        emails = [v["email"] for v in self.variables["S1"]]
        self.peer_vars = {
            "S1-shared": [hive.s1_peer_variables(e) for e in emails],
            "S2-shared": [hive.s2_peer_variables(ids) for ids in self.shared_ids]}
        self.variables["S1-shared"] = [hive.s1_c360_variables(e) for e in emails]
        self.variables["S2-shared"] = [hive.s2_c360_variables(ids) for ids in self.shared_ids]
        return True

    def query_of(self, contestant: Contestant, scenario: str) -> str:
        if contestant.kind == "peer":
            return str({"S1-shared": self.hive.S1_PEER, "S2-shared": self.hive.S2_PEER}[scenario])
        if scenario == "S1-shared":
            return str(self.hive.S1_C360)
        if scenario == "S2-shared":
            return str(self.hive.S2_C360)
        return {"S1": S1_QUERY, "S2": S2_QUERY, "S3": S3_QUERY, "S4": S4_QUERY,
                "S4-p10": S4_QUERY}[scenario]

    def target(self, contestant: Contestant, scenario: str) -> dict[str, Any]:
        if contestant.kind == "direct":
            return {"kind": "direct", "scenario": scenario, "config": str(self.config_path),
                    "variables": self.variables[scenario]}
        variables = (self.peer_vars if contestant.kind == "peer" else self.variables)[scenario]
        return {"kind": "graphql", "url": f"http://127.0.0.1:{self.gateway_port}/graphql",
                "query": self.query_of(contestant, scenario), "variables": variables,
                "headers": self.credentials if contestant.kind == "c360" else {}}

    def start_contestant(self, contestant: Contestant) -> subprocess.Popen[bytes] | None:
        if contestant.kind == "direct":
            return None
        log_path = self.work / f"{contestant.key}.log"
        if contestant.kind == "peer":
            assert self.peer_env is not None
            proc: subprocess.Popen[bytes] = self.hive.start(
                self.gateway_port, contestant.workers, self.peer_env, log_path=log_path)
            return proc
        proc = start_process([PY, "-m", "gateway.cli", "serve", "--config",
                              str(self.config_path), "--port", str(self.gateway_port),
                              "--workers", str(contestant.workers)], log_path, contestant.env)
        url = f"http://127.0.0.1:{self.gateway_port}"
        wait_until(lambda: self.http.get(url + "/healthz").status_code == 200, 60,
                   contestant.name, proc)
        if contestant.workers > 1:  # the supervisor and every worker are up
            wait_until(lambda: len(tree(proc.pid)) >= contestant.workers + 1 and
                       log_path.read_text(errors="replace").count(
                           "Application startup complete") >= contestant.workers,
                       60, contestant.name, proc)
        return proc

    def run_load(self, spec: dict[str, Any], bound_s: float) -> dict[str, Any]:
        done = subprocess.run([PY, "-m", "bench.load"], cwd=REPO, input=json.dumps(spec),
                              capture_output=True, text=True, timeout=bound_s)
        if done.returncode != 0:
            raise RuntimeError(f"bench.load failed: {done.stderr.strip()[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def capacity_phase(self, concurrency: int) -> dict[str, Any]:
        """A closed loop of ``concurrency`` callers: its complete answers/s is the capacity."""
        d = self.d
        return {"name": "capacity", "mode": "closed", "concurrency": concurrency,
                "warmup_s": d.warmup_s, "warmup_requests": 1,
                "duration_s": d.capacity_s, "max_duration_s": d.capacity_max_s,
                "min_requests": concurrency, "max_requests": 20000}

    def phases(self, profile: str, concurrency: int) -> list[dict[str, Any]]:
        d = self.d
        if concurrency == 1:  # the silos' counters around it: upstream per request, any profile
            return [{"name": "measure", "mode": "closed", "concurrency": 1,
                     "warmup_s": d.warmup_s, "duration_s": d.latency_s, "max_requests": 5000,
                     "min_requests": d.slow_min_requests, "max_duration_s": 30.0,
                     "silos": {s: self.silo_url(s) for s in SILOS}}]
        return [self.capacity_phase(concurrency),
                {"name": "measure", "mode": "open", "concurrency": concurrency,
                 "rate_factor": 0.75, "warmup_s": d.warmup_s, "duration_s": d.load_s,
                 "min_arrivals": 10, "max_duration_s": d.warmup_s + 2 * d.load_s,
                 "max_requests": 20000, "seed": 1}]

    def run_cell(self, contestant: Contestant, proc: subprocess.Popen[bytes] | None,
                 scenario: str, profile: str, concurrency: int) -> dict[str, Any]:
        spec = {"target": self.target(contestant, scenario),
                "phases": self.phases(profile, concurrency), "timeout_s": 10.0}
        cpu0 = tree_cpu_s(proc.pid) if proc else 0.0
        result = self.run_load(spec, 900)
        cpu1 = tree_cpu_s(proc.pid) if proc else 0.0
        measured = result["phases"]["measure"]
        completed = sum(p.get("completed_total", 0) for p in result["phases"].values())
        row: dict[str, Any] = {
            "contestant": contestant.name, "key": contestant.key, "scenario": scenario,
            "profile": profile, "concurrency": concurrency,
            **{k: measured.get(k) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms",
                                            "requests", "ok", "partial", "failed",
                                            "error_kinds", "partial_causes", "failed_kinds",
                                            "accepted_p99_ms", "accepted_max_ms")},
            "completed_total": completed,
        }
        if concurrency == 1:
            row["upstream"] = measured.get("upstream")
            row["accepted_total"] = measured.get("accepted_total")
            row["rps"] = measured["rps"]
            row["ok_rps"] = round(measured["rps"] * measured["ok"] / max(measured["requests"], 1),
                                  2)
        else:
            capacity = result["phases"]["capacity"]
            row["rps"] = capacity["rps"]
            row["ok_rps"] = capacity["ok_rps"]
            row["capacity"] = {k: capacity.get(k) for k in CLOSED_FIELDS}
            row["offered_rps"] = measured.get("rate_offered")
            row["achieved_rps_at_offered"] = measured["rps"]
        # what the server worked on (not refused at admission): CPU per query, not per refusal
        row["accepted_all"] = sum(p.get("accepted_total", 0) for p in result["phases"].values())
        if proc is not None:
            row["cpu_s"] = round(cpu1 - cpu0, 3)
            row["cpu_s_per_1k"] = round((cpu1 - cpu0) / max(completed, 1) * 1000, 2)
            row["peak_rss_mb"] = round(tree_hwm_kb(proc.pid) / 1024, 1)
            row["cpu_measured"] = "server process tree"
        else:
            row["cpu_s_per_1k"] = round(result["client_cpu_s"] / max(completed, 1) * 1000, 2)
            row["peak_rss_mb"] = round(result["client_maxrss_kb"] / 1024, 1)
            row["cpu_measured"] = "client process (includes the load generator)"
        row["client_cpu_s"] = result["client_cpu_s"]
        return row

    def run_curve_cell(self, contestant: Contestant, proc: subprocess.Popen[bytes] | None,
                       scenario: str, profile: str, concurrency: int) -> dict[str, Any]:
        """One point of the goodput curve: a closed loop of ``concurrency`` callers alone."""
        spec = {"target": self.target(contestant, scenario), "timeout_s": 10.0,
                "phases": [{**self.capacity_phase(concurrency), "name": "closed"}]}
        cpu0 = tree_cpu_s(proc.pid) if proc else 0.0
        result = self.run_load(spec, 900)
        cpu1 = tree_cpu_s(proc.pid) if proc else result["client_cpu_s"]
        closed = result["phases"]["closed"]
        return {"contestant": contestant.name, "key": contestant.key, "scenario": scenario,
                "profile": profile, "concurrency": concurrency,
                **{k: closed.get(k) for k in CLOSED_FIELDS},
                "cpu_s": round(cpu1 - cpu0, 3), "accepted_all": closed.get("accepted_total"),
                "cpu_s_per_1k": round((cpu1 - cpu0) / max(closed["completed_total"], 1) * 1000,
                                      2)}

    def run_overload(self, contestant: Contestant, proc: subprocess.Popen[bytes] | None,
                     scenario: str, profile: str) -> dict[str, Any]:
        """Capacity (the closed loop at c = 50, or the best closed loop of this scenario and
        profile measured before when that one answered more: a c = 50 loop that collapses
        would understate it), then Poisson arrivals at :data:`OVERLOAD_FACTOR` × its complete
        answers/s with no cap on requests in flight, the silos' request counters read around
        the overload phase."""
        d = self.d
        best = max((p for p in targets.curve_points({"rows": self.rows, "curve": self.curve},
                                                    contestant.key)
                    if p["scenario"] == scenario and p["profile"] == profile
                    and p.get("ok_rps")), key=lambda p: p["ok_rps"], default=None)
        spec = {"target": self.target(contestant, scenario), "timeout_s": 10.0,
                "max_connections": OVERLOAD_MAX_CONNECTIONS, "client": "aiohttp",
                "phases": [self.capacity_phase(50),
                           {"name": "overload", "mode": "open", "concurrency": 0,
                            "rate_factor": OVERLOAD_FACTOR, "warmup_s": d.warmup_s,
                            "min_rate": OVERLOAD_FACTOR * (best["ok_rps"] if best else 0.0),
                            "duration_s": d.overload_s, "min_arrivals": 20,
                            "max_duration_s": d.warmup_s + 2 * d.overload_s,
                            "max_requests": 20000, "seed": 2,
                            "silos": {s: self.silo_url(s) for s in SILOS}}]}
        cpu0 = tree_cpu_s(proc.pid) if proc else 0.0
        result = self.run_load(spec, 900)
        cpu1 = tree_cpu_s(proc.pid) if proc else result["client_cpu_s"]
        over = result["phases"]["overload"]
        completed = sum(p.get("completed_total", 0) for p in result["phases"].values())
        return {"contestant": contestant.name, "key": contestant.key, "scenario": scenario,
                "profile": profile, "factor": OVERLOAD_FACTOR, "budget_ms": self.budget_ms,
                "best_closed": best and {"ok_rps": best["ok_rps"],
                                         "concurrency": best["concurrency"]},
                "capacity": {k: result["phases"]["capacity"].get(k) for k in CLOSED_FIELDS},
                "overload": over,
                "cpu_s_per_1k": round((cpu1 - cpu0) / max(completed, 1) * 1000, 2)}

    def prime(self, contestant: Contestant) -> None:
        """Before measuring a server: every scenario's variables once per worker, with 0 ms
        silos, on fresh connections (so that each worker gets some), then as many
        callers as the scenario's highest concurrency in a closed loop for
        :data:`PRIME_LOOP_S` (one burst is mostly refused by a busy worker, and would leave
        the working set of that concurrency out of "after warm-up"). Catalog SKU indexes and
        location lists are then warm, as in a server that has been up a while; what caches
        per customer (the registry's lookups, 30 s) has expired again by the later cells."""
        self.set_profile("0ms")
        started = time.monotonic()
        sent = 0
        answered: dict[int, int] = {}
        for scenario in sorted({c[0] for c in contestant.cells} & set(self.variables)):
            target = self.target(contestant, scenario)
            for _ in range(contestant.workers):
                for variables in target["variables"]:
                    r = self.http.post(target["url"], json={
                        "query": target["query"], "variables": variables},
                        headers={**target["headers"], "Connection": "close"}, timeout=30)
                    answered[r.status_code] = answered.get(r.status_code, 0) + 1
                    sent += 1
        for scenario in sorted({c[0] for c in contestant.cells} & set(self.variables)):
            # the highest concurrency in a closed loop: the memory a worker needs to serve it
            # is part of its warm state (RSS "after warm-up" is then its steady working set)
            target = self.target(contestant, scenario)
            burst = max((c[2] for c in contestant.cells if c[0] == scenario), default=1)
            values = target["variables"]
            until = time.monotonic() + PRIME_LOOP_S

            def loop(i: int, target: dict[str, Any] = target, values: list[Any] = values,
                     until: float = until, burst: int = burst) -> list[int]:
                codes = []
                # a client per caller: httpx.Client's pool is not safe across threads
                with httpx.Client(timeout=30, trust_env=False) as http:
                    while time.monotonic() < until:
                        try:
                            codes.append(http.post(target["url"], json={
                                "query": target["query"],
                                "variables": values[i % len(values)]},
                                headers=target["headers"]).status_code)
                        except httpx.HTTPError:
                            codes.append(0)  # logged with the statuses: no answer
                        i += burst
                return codes

            with ThreadPoolExecutor(max_workers=burst) as pool:
                for codes in pool.map(loop, range(burst)):
                    for code in codes:
                        answered[code] = answered.get(code, 0) + 1
                        sent += 1
        log(f"  primed with {sent} requests ({time.monotonic() - started:.1f}s), HTTP status: "
            f"{dict(sorted(answered.items()))}")

    def count_upstream(self, contestant: Contestant, scenario: str) -> dict[str, Any]:
        self.set_profile("0ms")
        spec = {"target": self.target(contestant, scenario), "timeout_s": 10.0,
                "phases": [{"name": "count", "mode": "count", "warmup_requests": 3,
                            "requests": self.d.count_requests,
                            "silos": {s: self.silo_url(s) for s in SILOS}}]}
        count: dict[str, Any] = self.run_load(spec, 900)["phases"]["count"]
        upstream = count["upstream"]
        if contestant.kind == "direct":  # one SQL query per S1/S2, by construction
            upstream["loyalty"] = {"per_query": 1.0, "endpoints": {"SQL": 1.0}}
        return count

    def run_contestant(self, contestant: Contestant) -> None:
        log(f"{contestant.name}: starting")
        try:
            proc = self.start_contestant(contestant)
        except Exception as exc:  # noqa: BLE001 - a contestant that cannot start is skipped
            self.skipped.append(f"{contestant.name}: could not start ({exc})")
            log(f"{contestant.name}: could not start: {exc}")
            return
        try:
            if (contestant.kind == "c360" and "S4-p10" not in self.variables
                    and any(c[0] == "S4-p10" for c in contestant.cells)):
                try:
                    self.walk_timelines(contestant)
                except (RuntimeError, httpx.HTTPError, KeyError) as exc:
                    self.skipped.append(f"S4-p10: no cursors ({exc})")
                    log(f"  S4-p10: no cursors: {exc}")
            if contestant.kind != "direct":
                self.prime(contestant)
            warm_kb = settled_rss_kb(proc.pid) if proc else 0
            for profile in PROFILES:
                self.run_profile(contestant, proc, profile)
            if proc is not None:
                self.memory[contestant.key] = memory_entry(
                    contestant.name, warm_kb, settled_rss_kb(proc.pid), tree_hwm_kb(proc.pid))
                log(f"  RSS {self.memory[contestant.key]['after_warmup_mb']} MB after warm-up, "
                    f"{self.memory[contestant.key]['after_cells_mb']} MB after its cells")
            self.count_all(contestant)
        finally:
            if proc is not None:
                if contestant.kind == "peer":
                    self.hive.stop(proc)
                else:
                    stop_process(proc)
            self.set_profile("0ms")

    def run_profile(self, contestant: Contestant, proc: subprocess.Popen[bytes] | None,
                    profile: str) -> None:
        """The contestant's cells and goodput-curve points under one latency profile, by
        scenario then concurrency, then its open-loop overloads."""
        work = ([(s, c, False) for s, p, c in contestant.cells if p == profile]
                + [(s, c, True) for s, p, c in contestant.curve if p == profile])
        overloads = [s for s, p in contestant.overload if p == profile]
        if not work and not overloads:
            return
        self.set_profile(profile)
        first: dict[str, int] = {}
        for scenario, _, _ in work:
            first.setdefault(scenario, len(first))
        for scenario, concurrency, curve in sorted(work, key=lambda w: (first[w[0]], w[1])):
            label = f"{scenario} {profile} c={concurrency}"
            t0 = time.monotonic()
            if curve:
                point = self._attempt(contestant, label, partial(
                    self.run_curve_cell, contestant, proc, scenario, profile, concurrency))
                if point is not None:
                    self.curve.append(point)
                    log(f"  {scenario:9s} {profile:10s} c={concurrency:<2d} closed loop: "
                        f"{point['ok_rps']:.1f} complete/s, p50 {_fmt(point['p50_ms'])} p99 "
                        f"{_fmt(point['p99_ms'])} ms, ok/partial/failed {point['ok']}/"
                        f"{point['partial']}/{point['failed']} ({time.monotonic() - t0:.1f}s)")
                continue
            row = self._attempt(contestant, label, partial(
                self.run_cell, contestant, proc, scenario, profile, concurrency))
            if row is not None:
                self.rows.append(row)
                log(f"  {scenario:9s} {profile:10s} c={concurrency:<2d} p50 "
                    f"{_fmt(row['p50_ms'])} p99 {_fmt(row['p99_ms'])} ms, "
                    f"{row['rps']:.1f} req/s, ok/partial/failed {row['ok']}/"
                    f"{row['partial']}/{row['failed']} ({time.monotonic() - t0:.1f}s)")
        for scenario in overloads:
            t0 = time.monotonic()
            run = self._attempt(contestant, f"{scenario} {profile} overload", partial(
                self.run_overload, contestant, proc, scenario, profile))
            if run is not None:
                self.overloads.append(run)
                over = run["overload"]
                log(f"  {scenario:9s} {profile:10s} overload at {over['rate_offered']:.1f}/s "
                    f"({run['factor']:g}× capacity): "
                    f"{over['ok_rps']:.1f} complete/s, {over['refused']} refused (p99 "
                    f"{_fmt(over['refused_p99_ms'])} ms), accepted p99 "
                    f"{_fmt(over['accepted_p99_ms'])} ms, peak {over['peak_in_flight']} in "
                    f"flight ({time.monotonic() - t0:.1f}s)")

    def _attempt(self, contestant: Contestant, label: str,
                 measure: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """``measure()``, or None when its load run failed (recorded as skipped)."""
        try:
            return measure()
        except (RuntimeError, subprocess.TimeoutExpired, KeyError) as exc:
            self.skipped.append(f"{contestant.name} {label}: {exc}")
            log(f"  {label}: FAILED {exc}")
            return None

    def count_all(self, contestant: Contestant) -> None:
        """Upstream requests per query of every scenario the contestant ran."""
        scenarios = ({c[0] for c in contestant.cells} | {c[0] for c in contestant.curve}
                     | {o[0] for o in contestant.overload})
        for scenario in sorted(scenarios):
            try:
                counted = self.count_upstream(contestant, scenario)
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as exc:
                self.skipped.append(f"{contestant.name} {scenario} upstream count: {exc}")
                continue
            self.upstream.setdefault(contestant.key, {})[scenario] = counted
            per = {s: v["per_query"] for s, v in counted["upstream"].items()}
            log(f"  {scenario} upstream requests per query: {per}")

    def run_operations(self) -> None:
        """Issue 14's cells over this run's sandbox: ``python -m bench.operations --attach``
        in a process of its own (the gateway apps in it; its progress on this run's output)."""
        log("operations (issue 14): in process, over the same silos")
        spec = {"config": str(self.config_path),
                "silos": {s: self.silo_url(s) for s in SILOS},
                "variables": self.variables["S1"], "credentials": self.credentials,
                "quick": self.quick}
        try:
            done = subprocess.run([PY, "-m", "bench.operations", "--attach"], cwd=REPO,
                                  input=json.dumps(spec), stdout=subprocess.PIPE, text=True,
                                  timeout=900)
            if done.returncode != 0:
                raise RuntimeError(f"exited with {done.returncode}")
            self.operations = json.loads(done.stdout)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            self.skipped.append(f"operations (issue 14): {exc}")
            log(f"  operations: FAILED {exc}")
        finally:
            self.set_profile("0ms")

    def execute(self) -> dict[str, Any]:
        started = time.monotonic()
        started_at = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            self.start_sandbox()
            self.choose_variables()
            floor = self.measure_floor()
            peer = self.load_peer() and self.compose_peer()
            contestants = plan(self.quick, peer)
            if not peer:
                contestants = [c for c in contestants if c.kind != "peer"]
            if self.only:
                contestants = [c for c in contestants if c.key in self.only]
            contestants = self.selection.apply(contestants)
            for contestant in contestants:
                self.run_contestant(contestant)
            if self.selection.operations:
                self.run_operations()
        finally:
            if self.sandbox is not None:
                stop_process(self.sandbox)
            self.http.close()
        for reason in self.skipped:
            log(f"skipped: {reason}")
        return {
            "meta": {"quick": self.quick, "customers": self.customers,
                     "cores": os.cpu_count(), "python": sys.version.split()[0],
                     "started": started_at,
                     "run_seconds": round(time.monotonic() - started, 1),
                     "durations": self.d.__dict__, "profiles": {
                         p: {s: {"latency_ms": v[0], "jitter_ms": v[1]} for s, v in by.items()}
                         for p, by in PROFILES.items()},
                     "queries": {"S1": S1_QUERY, "S2": S2_QUERY, "S3": S3_QUERY,
                                 "S4": S4_QUERY, "S4-p10": S4_QUERY},
                     "heavy_customers": HEAVY_CUSTOMERS, "budget_ms": self.budget_ms,
                     "selection": self.selection.describe()},
            "floor": floor,
            "rows": self.rows,
            "curve": self.curve,
            "overload": self.overloads,
            "memory": self.memory,
            "operations": self.operations,
            "upstream": self.upstream,
            "skipped": self.skipped,
        }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
