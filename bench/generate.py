"""How long the sandbox generator takes: ``python -m bench.generate [--customers N]``.

Generates the population, fills the three in-memory silos and writes the loyalty rows to a
throw-away SQLite file, printing the time of each phase and the volumes made.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from silos.generator import generate
from silos.loyalty import create_loyalty_engine, create_schema, load_members, load_points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    started = time.perf_counter()
    data = generate(customers=args.customers, seed=args.seed)
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_loyalty_engine(f"sqlite:///{Path(tmp) / 'loyalty.sqlite'}")
        create_schema(engine)
        load_members(engine, data.loyalty_members)
        load_points(engine, data.loyalty_points)
        engine.dispose()
    loaded = time.perf_counter()
    print(f"customers={args.customers} seed={args.seed}")
    for key, value in sorted(data.counts.items()):
        print(f"  {key:32s} {value:>9,}")
    print(f"generate + fill silos : {generated - started:6.1f} s")
    print(f"loyalty into SQLite   : {loaded - generated:6.1f} s")
    print(f"total                 : {loaded - started:6.1f} s")


if __name__ == "__main__":
    main()
