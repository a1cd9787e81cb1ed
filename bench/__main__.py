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

Writes ``bench/results/results.md`` (the table and the targets checklist), ``results.json`` and
``latency.png``, and prints the table.

Run time on the 2-core benchmark machine (2,000 customers): the default run **about 21
minutes** (1,116 s measured before S4, whose 8 cells — S4 and S4-p10, 0 and 20 ms, c = 1 and
50 — add about 1.5 minutes: 88 cells with Hive Gateway, 6 s measured per latency cell and 3 s +
6 s per throughput cell after 1 s warm-ups, longer where a slow profile needs it, and each
server primed first); ``--quick`` **about 5 minutes** (291 s measured on a busy machine: 31
cells, the 20 ms profile, S1/S2 at c=1 with Zendesk at 1 s, S4/S4-p10 at c=1, shorter phases).
The plot needs matplotlib (the ``bench`` extra); the peer needs Node.js ≥ 20.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from bench import report
from bench.harness import Run, log


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~5-minute smoke run")
    parser.add_argument("--customers", type=int, default=2000,
                        help="sandbox population (default 2000)")
    parser.add_argument("--base-port", type=int, default=18400,
                        help="silos on +1..+3, the contestant on +10 (default 18400)")
    parser.add_argument("--out", type=Path, default=report.RESULTS_DIR,
                        help="where results.md/json and latency.png go")
    parser.add_argument("--only", default=None,
                        help="comma-separated contestant keys: c360-1w, c360-2w, c360-nobatch, "
                             "c360-noauth, direct, hive-1, hive-2")
    parser.add_argument("--no-peer", action="store_true", help="skip Hive Gateway")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (sandbox data, server logs)")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C: the servers it started are stopped on the way out
    signal.signal(signal.SIGTERM, _terminate)
    work = Path(tempfile.mkdtemp(prefix="c360-bench-"))
    try:
        run = Run(args.out, work, args.quick, args.customers, args.base_port,
                  set(args.only.split(",")) if args.only else None, not args.no_peer)
        results = run.execute()
    finally:
        if args.keep:
            log(f"working directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(report.write(results, args.out))


if __name__ == "__main__":
    main()
