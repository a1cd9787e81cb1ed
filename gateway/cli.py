"""The ``c360`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="c360", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser(
        "sandbox", help="run the emulated Shopify, Square, Zendesk and loyalty silos")
    sandbox.add_argument("--customers", type=_positive, default=500)
    sandbox.add_argument("--seed", type=int, default=42)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8100,
                         help="base port: Shopify on +1, Square on +2, Zendesk on +3")
    sandbox.add_argument("--data-dir", type=Path, default=Path("sandbox-data"))
    sandbox.add_argument("--loyalty-url", default=None,
                         help="SQLAlchemy URL of the loyalty database (default: SQLite file "
                              "in the data dir)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0,
                         help="latency added to every silo response")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        from silos.sandbox import SandboxOptions, run

        run(SandboxOptions(customers=args.customers, seed=args.seed, host=args.host,
                           port=args.port, data_dir=args.data_dir, loyalty_url=args.loyalty_url,
                           latency_ms=args.latency_ms))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
