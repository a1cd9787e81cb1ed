"""What the identity re-check costs a person's view: ``python -m bench.recheck [--people 90]
[--profile 20ms]``.

A request reading a person not checked for ``identity.refresh_s`` also searches every silo for
new records of that person (:mod:`identity.freshness`). Over the benchmark's sandbox and its
S1 query, in one process (its real transports and databases, sockets to the silos): the first
pass reads ``--people`` people never read before — each re-checked —, the second reads them
again within the interval — none re-checked. Prints, per pass, the p50 latency, the gateway's
CPU per query (with its in-process client) and the silo requests per query by endpoint, and
the ratios of the first pass to the second.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tomllib
from typing import Any

import httpx
import tomli_w

from bench.harness import PROFILES, S1_QUERY, SILOS, Run, log, sandboxed
from gateway.app import create_app
from gateway.config import load_config
from gateway.loop import run as run_loop

WARM = 5
"""People read first (their re-checks included) so that the catalog and location caches are
warm in both passes."""


def _counts(run: Run) -> dict[str, dict[str, int]]:
    return {s: run.http.get(run.silo_url(s) + "/_sandbox/stats").json()["endpoints"]
            for s in SILOS}


async def measure(run: Run, people: int) -> list[dict[str, Any]]:
    app = create_app(load_config(run.config_path))
    variables = run.variables["S1"][:WARM + people]
    passes: list[dict[str, Any]] = []
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://c360",
            headers=run.credentials, timeout=30) as client:

        async def ask(values: dict[str, Any]) -> float:
            started = time.perf_counter()
            answer = await client.post("/graphql", json={"query": S1_QUERY,
                                                         "variables": values})
            if answer.status_code != 200 or "errors" in answer.json():
                raise RuntimeError(f"S1 answered {answer.status_code}: {answer.text[:300]}")
            return time.perf_counter() - started

        for values in variables[:WARM]:
            await ask(values)
        for name in ("re-checked", "fresh"):
            before = _counts(run)
            cpu = time.process_time()
            latencies = [await ask(values) for values in variables[WARM:]]
            cpu = time.process_time() - cpu
            after = _counts(run)
            requests = {f"{s} {e}": (after[s].get(e, 0) - before[s].get(e, 0)) / people
                        for s in SILOS for e in after[s]
                        if after[s].get(e, 0) != before[s].get(e, 0)}
            passes.append({"pass": name, "p50_ms": statistics.median(latencies) * 1000,
                           "cpu_ms": cpu / people * 1000,
                           "requests": sum(requests.values()), "endpoints": requests})
    return passes


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=90)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="20ms")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--base-port", type=int, default=18650)
    args = parser.parse_args()
    with sandboxed(args.customers, args.base_port, "c360-recheck-") as run:
        config = tomllib.loads(run.config_path.read_text(encoding="utf-8"))
        # the default interval: the first pass is the first read of each person in it
        config["identity"]["refresh_s"] = 30
        run.config_path.write_bytes(tomli_w.dumps(config).encode())
        run.set_profile(args.profile)
        people = min(args.people, len(run.variables["S1"]) - WARM)
        log(f"S1 over {people} people, {args.profile} silos: re-checked, then fresh")
        first, second = run_loop(measure(run, people))
        for found in (first, second):
            log(f"  {found['pass']:<10} p50 {found['p50_ms']:.1f} ms, CPU {found['cpu_ms']:.1f} "
                f"ms/query, {found['requests']:.2f} silo requests/query")
            for endpoint, count in sorted(found["endpoints"].items()):
                log(f"      {count:5.2f}  {endpoint}")
        log(f"  re-checked / fresh: p50 {first['p50_ms'] / second['p50_ms']:.2f}×, CPU "
            f"{first['cpu_ms'] / second['cpu_ms']:.2f}×, silo requests "
            f"{first['requests'] / second['requests']:.2f}×")

if __name__ == "__main__":
    main()
