"""c360 side by side with the alternatives: ``python -m bench [--quick]``.

One command measures, on the same emulated silos, the same queries and the same machine:

- **c360** served by uvicorn with 1 and 2 workers (``c360 serve --workers N``), and with its
  DataLoaders' batching off (``C360_BATCHING=0``);
- **direct**: a Python client doing S1 and S2 itself against the four silos, as a frontend team
  would without a gateway (:mod:`bench.direct`);
- **Hive Gateway over GraphQL Mesh** (:mod:`bench.peer.hive`, ``--fork 1|2``) on the subset of
  S1/S2 it can express (skipped, with the reason printed, when Node.js or its install is
  missing; its ``npm ci`` is the only thing fetched, and never in CI);
- **the floor**: the silo latencies on the critical path (see :mod:`bench.harness`).

Scenarios: **S1** one customer 360 by email (profile, last 10 orders with lines and products,
open tickets, loyalty); **S2** 50 customers with their orders, tickets and loyalty tier; **S3**
stores within 25 km with a SKU in stock; **S4** the first page (20 events) of a heavy
customer's timeline (4 sandbox customers of ~5,000 events each, by loyalty card) and **S4-p10**
its tenth page (from page 9's cursor, walked once before measuring) — c360 only, with upstream
requests per page and the ratio of page 10's to page 1's. Silo latency profiles
(``POST /_sandbox/faults``): 0 ms; 20 ms ± 5 ms; Zendesk at 1 s. Concurrency 1 (latency,
closed loop) and 50 (throughput: closed loop for req/s, then Poisson arrivals at 75 % of its
complete answers/s for the latencies). Fixed durations, warm-up excluded (and each server
primed first: every scenario's variables once per worker, so catalog indexes are warm as in a
server that has been up a while); every loop is bounded in requests and time. Loopback only.

For issue 13's targets, c360 (1 worker) also runs the **goodput curve** — closed loops at
c = 4 and 16 beside the cells' c = 1 and 50, for S1–S4 at 0 and 20 ms (``--quick``: S1 and S2 at
20 ms) — and the **open-loop overload**: S1 and S2 at 20 ms, the capacity (complete answers/s
of the best closed loop), then Poisson arrivals at twice it with no cap on requests in flight
(:mod:`bench.load` through aiohttp), the silos' counters read around it; every server's RSS is
read after its warm-up and after its cells. :mod:`bench.targets` judges them.

For issue 14, the run ends with :mod:`bench.operations` over the same silos (in a process of its
own, the gateway app in it, one query at a time, A/B phases alternated): S1 with the entity
cache warm vs cold (p50, CPU per query), S1 with Zendesk down with and without its circuit
breaker (p50, Zendesk requests per query) and the CPU cost of telemetry (metrics, access logs,
traces where the tree has them) on vs off; about 2 minutes (``--quick``: about 1),
``--no-operations`` skips it.

Writes ``bench/results/results.md`` (the table, the goodput curve, the overload, memory, the
operations cells and the targets checklist: issue 14's, issue 13's, then the earlier ones),
``results.json``, ``latency.png`` and ``goodput.png``, and prints the markdown.

Run time on the 2-core benchmark machine (2,000 customers): the default run **about 23
minutes** (1,116 s measured before S4, whose 8 cells add about 1.5 minutes, and about 2 more
for the curve's 16 closed loops and the 2 overload runs: 88 cells with Hive Gateway, 6 s
measured per latency cell and 3 s + 6 s per throughput cell after 1 s warm-ups, 3 s per curve
point, 3 s + 8 s per overload, longer where a slow profile needs it, and each server primed
first); ``--quick`` **about 4–5 minutes** (31 cells, the 20 ms profile, S1/S2 at c=1 with
Zendesk at 1 s, S4/S4-p10 at c=1, 4 curve points, 2 overloads of 4 s, shorter phases;
``--quick --only c360-1w`` about 2 minutes); the operations cells add about 2 minutes
(``--quick``: 1). To develop, narrow it further: ``--scenarios S1 --profiles 20ms --no-curve
--no-overload --no-operations`` (``--quick --only c360-1w --scenarios S1 --profiles 20ms
--no-operations``: under a minute). The plots need matplotlib (the ``bench`` extra); the peer
needs Node.js ≥ 20.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from bench import report
from bench.harness import PROFILES, Run, Selection, log


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")


SCENARIOS = ("S1", "S2", "S3", "S4", "S4-p10", "S1-shared", "S2-shared")


def _names(value: str | None) -> frozenset[str] | None:
    return frozenset(v.strip() for v in value.split(",") if v.strip()) if value else None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~5-minute smoke run")
    parser.add_argument("--customers", type=int, default=2000,
                        help="sandbox population (default 2000)")
    parser.add_argument("--base-port", type=int, default=18400,
                        help="silos on +1..+3, the contestant on +10 (default 18400)")
    parser.add_argument("--out", type=Path, default=report.RESULTS_DIR,
                        help="where results.md/json, latency.png and goodput.png go")
    parser.add_argument("--only", default=None,
                        help="comma-separated contestant keys: c360-1w, c360-2w, c360-nobatch, "
                             "c360-noauth, direct, hive-1, hive-2")
    parser.add_argument("--no-peer", action="store_true", help="skip Hive Gateway")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (sandbox data, server logs)")
    parser.add_argument("--scenarios", default=None,
                        help="comma-separated scenarios to keep (S1, S2, S3, S4, S4-p10, "
                             "S1-shared, S2-shared); default all")
    parser.add_argument("--profiles", default=None,
                        help="comma-separated latency profiles to keep (0ms, 20ms, "
                             "zendesk-1s); default all")
    parser.add_argument("--no-curve", action="store_true",
                        help="skip the goodput curve's closed loops at c = 4 and 16")
    parser.add_argument("--no-overload", action="store_true",
                        help="skip the open-loop overload at 2x capacity")
    parser.add_argument("--no-operations", action="store_true",
                        help="skip issue 14's in-process cells (warm cache, breaker, "
                             "telemetry cost: python -m bench.operations)")
    args = parser.parse_args()
    for flag, value, known in (("--scenarios", args.scenarios, SCENARIOS),
                               ("--profiles", args.profiles, tuple(PROFILES))):
        unknown = sorted((_names(value) or frozenset()) - set(known))
        if unknown:
            parser.error(f"{flag}: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    selection = Selection(_names(args.scenarios), _names(args.profiles),
                          curve=not args.no_curve, overload=not args.no_overload,
                          operations=not args.no_operations)
    # SIGTERM ends the run like Ctrl-C: the servers it started are stopped on the way out
    signal.signal(signal.SIGTERM, _terminate)
    work = Path(tempfile.mkdtemp(prefix="c360-bench-"))
    try:
        run = Run(args.out, work, args.quick, args.customers, args.base_port,
                  set(args.only.split(",")) if args.only else None, not args.no_peer,
                  selection)
        results = run.execute()
    finally:
        if args.keep:
            log(f"working directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(report.write(results, args.out))


if __name__ == "__main__":
    main()
