"""Where the gateway's CPU goes: ``python -m bench.profile S1|S2|S3|S4|S4-p10 [--queries 300]
[--profile 0ms] [--html FILE] [--cpu-only]``.

Starts the sandbox silos in their own process and indexes them, as the benchmark does; then runs
the gateway app in this process (its real transports and databases, sockets to the silos),
primes it with every variable set of the scenario once (for S4-p10, walking each heavy
customer's timeline to page 9's cursor first), and sends ``--queries`` queries one at a
time (in process, through ``httpx.ASGITransport``) under pyinstrument (the ``bench`` extra).
Prints the CPU per query and the self time by package and by function — the tables that pointed
at each fix of the benchmarks issue — and with ``--html`` writes pyinstrument's interactive
tree. pyinstrument roughly doubles the CPU it measures: read shares, not milliseconds. To see a
served process under real load instead: ``py-spy record --gil -p <pid>`` (also in the extra).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    PROFILES,
    S1_QUERY,
    S2_QUERY,
    S3_QUERY,
    S4_PAGES_BEFORE,
    S4_QUERY,
    log,
    sandboxed,
)
from gateway.app import create_app
from gateway.config import load_config
from gateway.loop import run as run_loop
from gateway.loop import tune_gc

QUERIES = {"S1": S1_QUERY, "S2": S2_QUERY, "S3": S3_QUERY, "S4": S4_QUERY, "S4-p10": S4_QUERY}


def _package(frame: Any) -> str:
    path = frame.file_path or ""
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0]
    return frame.file_path_short.split("/")[0] if frame.file_path_short else "<built-in>"


def self_times(root: Any) -> tuple[Counter[str], Counter[str]]:
    """Self time by package and by function over a pyinstrument frame tree."""
    packages: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    stack = [root]
    while stack:
        frame = stack.pop()
        packages[_package(frame)] += frame.total_self_time
        functions[f"{frame.function} ({frame.file_path_short}:{frame.line_no})"] += \
            frame.total_self_time
        stack.extend(frame.children)
    return packages, functions


async def profile(config_path: Path, query: str, variables: list[dict[str, Any]],
                  queries: int, html: Path | None, credentials: dict[str, str],
                  walk: int = 0, cpu_only: bool = False) -> None:
    from pyinstrument import Profiler

    app = create_app(load_config(config_path))
    tune_gc()
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://c360",
            headers=credentials) as client:
        if walk:  # each timeline's cursor after ``walk`` pages
            variables = [await _walk(client, query, values, walk) for values in variables]
        for values in variables:
            primed = await client.post("/graphql", json={"query": query, "variables": values})
            if primed.status_code != 200:
                raise RuntimeError(f"the gateway answered {primed.status_code}: {primed.text}")
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        cpu = time.process_time()
        if html is not None or not cpu_only:
            profiler.start()
        for i in range(queries):
            await client.post("/graphql", json={
                "query": query, "variables": variables[i % len(variables)]})
        if profiler.is_running:
            profiler.stop()
        cpu = time.process_time() - cpu
    if cpu_only:
        print(f"{queries} queries: {cpu / queries * 1000:.1f} ms CPU per query "
              f"(gateway and its in-process client, no profiler)")
        return
    session = profiler.last_session
    assert session is not None
    packages, functions = self_times(session.root_frame())
    total = sum(packages.values()) or 1.0
    print(f"{queries} queries: {cpu / queries * 1000:.1f} ms CPU per query under the profiler "
          f"(gateway and its in-process client)")
    print("self time by package:")
    for name, seconds in packages.most_common(20):
        print(f"  {100 * seconds / total:5.1f} %  {name}")
    print("self time by function:")
    for name, seconds in functions.most_common(25):
        print(f"  {100 * seconds / total:5.1f} %  {name}")
    if html is not None:
        html.write_text(profiler.output_html(), encoding="utf-8")
        print(f"tree: {html}")


async def _walk(client: httpx.AsyncClient, query: str, values: dict[str, Any],
                pages: int) -> dict[str, Any]:
    after = None
    for _ in range(pages):
        body = (await client.post("/graphql", json={
            "query": query, "variables": {**values, "after": after}})).json()
        info = body["data"]["customer"]["timeline"]["pageInfo"]
        if not info["hasNextPage"]:
            raise RuntimeError(f"the timeline of {values} ends before page {pages + 1}")
        after = info["endCursor"]
    return {**values, "after": after}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=sorted(QUERIES))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="0ms",
                        help="silo latency profile (default 0ms: CPU only)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--base-port", type=int, default=18600)
    parser.add_argument("--html", type=Path, default=None)
    parser.add_argument("--cpu-only", action="store_true",
                        help="no profiler: only the CPU per query (to compare two versions)")
    args = parser.parse_args()
    with sandboxed(args.customers, args.base_port, "c360-profile-") as run:
        run.set_profile(args.profile)
        log(f"profiling {args.queries} {args.scenario} queries")
        run_loop(profile(run.config_path, QUERIES[args.scenario],
                         run.variables[args.scenario.removesuffix("-p10")], args.queries,
                         args.html, run.credentials,
                         S4_PAGES_BEFORE if args.scenario == "S4-p10" else 0,
                         cpu_only=args.cpu_only))

if __name__ == "__main__":
    main()
