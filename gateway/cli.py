"""The ``c360`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from adapters.errors import ConfigError
from gateway.loop import run as run_loop


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
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
    sandbox.add_argument("--heavy", type=_non_negative, default=0, metavar="N",
                         help="add N heavy customers (all four silos, ~5000 timeline events "
                              "each)")
    demo = commands.add_parser(
        "demo", help="the emulated silos, an identity index and the gateway with GraphiQL")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000,
                      help="gateway port (the silos use port+101..port+103)")
    demo.add_argument("--customers", type=_positive, default=500)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--data-dir", type=Path, default=Path("sandbox-data"))
    serve = commands.add_parser("serve", help="serve the gateway for a config file")
    serve.add_argument("--config", type=Path, required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=_positive, default=1)
    commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    index = commands.add_parser(
        "index", help="crawl every source's customer identifiers and link them into people")
    index.add_argument("--config", type=Path, required=True)
    index.add_argument("--since", type=_timestamp, default=None,
                       help="only records updated since this ISO 8601 time")
    token = commands.add_parser(
        "token", help="print a token signed with the config's local signing key (sandbox, "
                      "demo, tests)")
    token.add_argument("--config", type=Path, required=True)
    token.add_argument("--role", required=True,
                       help="customer | store_associate | agent | backoffice | service")
    token.add_argument("--customer", default=None,
                       help="the customer a customer token acts for: a golden id or kind:id")
    token.add_argument("--store", default=None, help="a store associate's store code")
    token.add_argument("--scopes", nargs="*", default=[], help="scopes (services; others "
                                                               "are narrowed to them)")
    token.add_argument("--subject", default=None)
    token.add_argument("--ttl", type=_positive, default=3600, help="seconds")
    audit = commands.add_parser(
        "audit", help="who read a customer's personal data (the PII access audit)")
    audit.add_argument("--config", type=Path, required=True)
    audit.add_argument("--customer", required=True,
                       help="the golden id (an id retired by a merge works too)")
    audit.add_argument("--since", type=_timestamp, default=None,
                       help="only reads since this ISO 8601 time")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    sagas = commands.add_parser(
        "sagas", help="the mutations' sagas: list them, resume or compensate one")
    sagas.add_argument("--config", type=Path, required=True)
    sagas.add_argument("--failed", action="store_true",
                       help="only sagas that did not complete")
    sagas.add_argument("--json", action="store_true", help="one JSON object per line")
    sagas.add_argument("action", nargs="?", choices=("resume", "compensate"),
                       help="resume: drive it on from where it stopped; compensate: undo "
                            "what it wrote")
    sagas.add_argument("saga_id", nargs="?", help="the saga id (with an action)")
    apikey = commands.add_parser("apikey", help="API keys for backend services")
    apikey_commands = apikey.add_subparsers(dest="apikey_command", required=True)
    create = apikey_commands.add_parser(
        "create", help="print a new key once, and the lines to add to the config")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", nargs="+", required=True)
    create.add_argument("--role", default="service",
                        help="service (default), agent or backoffice")
    return parser


def _token(args: argparse.Namespace) -> int:
    from gateway.auth.signing import mint
    from gateway.config import load_config

    config = load_config(args.config)
    if config.auth.jwt is None:
        raise ConfigError("auth.jwt", "the config verifies no tokens")
    print(mint(config.auth.jwt, args.role, subject=args.subject, customer=args.customer,
               store=args.store, scopes=args.scopes, ttl_s=args.ttl))
    return 0


def _apikey_create(args: argparse.Namespace) -> int:
    import re

    import tomli_w

    from gateway.auth.apikeys import digest, generate_key
    from schema.policy import SCOPES

    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", args.name):
        raise ConfigError("--name", "letters, digits, dots, dashes and underscores")
    unknown = [s for s in args.scopes if s not in SCOPES]
    if unknown:
        raise ConfigError("--scopes", f"unknown scopes {', '.join(unknown)}; known: "
                                      f"{', '.join(sorted(SCOPES))}")
    if args.role not in ("service", "agent", "backoffice"):
        raise ConfigError("--role", "service, agent or backoffice")
    key = generate_key()
    entry: dict[str, object] = {"name": args.name, "hash": f"sha256:{digest(key)}",
                                "scopes": list(args.scopes)}
    if args.role != "service":
        entry["role"] = args.role
    print(f"API key (shown once; give it to the service, keep it secret):\n  {key}\n")
    print("Add to the gateway config:\n")
    print(tomli_w.dumps({"auth": {"api_keys": [entry]}}).strip())
    return 0


async def _audit(config_path: Path, customer: str, since: datetime | None,
                 as_json: bool) -> int:
    import json

    import sqlalchemy as sa

    from gateway.config import load_config
    from gateway.runtime import open_runtime
    from identity.schema import identity_alias

    config = load_config(config_path)
    try:
        async with open_runtime(config) as runtime:
            current = (await runtime.registry.resolve([customer]))[0] or customer
            async with runtime.registry.engine.connect() as conn:
                retired = (await conn.execute(sa.select(identity_alias.c.alias).where(
                    identity_alias.c.golden_id == current))).scalars().all()
            records = await runtime.audit.query([current, customer, *retired], since)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        print(f"c360: the audit log could not be read ({type(exc).__name__})", file=sys.stderr)
        return 1
    if not records:
        print(f"no recorded reads of {customer}" + (f" since {since.isoformat()}"
                                                    if since else ""), file=sys.stderr)
    for r in records:
        if as_json:
            print(json.dumps({"at": r.at.isoformat(), "subject": r.subject, "role": r.role,
                              "method": r.method, "customer": r.golden_id,
                              "groups": list(r.groups), "request_id": r.request_id,
                              "operation": r.operation_name}))
        else:
            print(f"{r.at.isoformat(timespec='seconds')}  {r.subject:24s} {r.role:16s} "
                  f"{','.join(r.groups):32s} request {r.request_id}"
                  + (f"  {r.operation_name}" if r.operation_name else ""))
    return 0


async def _sagas(config_path: Path, failed: bool, as_json: bool, action: str | None,
                 saga_id: str | None) -> int:
    import json

    from gateway.config import load_config
    from gateway.runtime import open_runtime
    from sagas.engine import SagaUnknown
    from sagas.store import SagaState

    def line(state: SagaState) -> str:
        if as_json:
            return json.dumps({
                "id": state.saga_id, "journey": state.journey, "status": state.status.value,
                "created_at": state.created_at.isoformat(), "subject": state.subject,
                "role": state.role, "failed_step": state.failed_step,
                "error_code": state.error_code, "steps": [
                    {"name": s.name, "source": s.source, "status": s.status.value,
                     "attempts": s.attempts, "error_code": s.error_code}
                    for s in state.steps]})
        steps = " ".join(f"{s.name}:{s.status.value}" for s in state.steps)
        problem = f"  {state.failed_step}: {state.error_code}" if state.error_code else ""
        return (f"{state.saga_id}  {state.created_at.isoformat(timespec='seconds')}  "
                f"{state.journey:22s} {state.status.value:12s} {steps}{problem}")

    if (action is None) != (saga_id is None):
        print("c360: give an action and a saga id together (resume ID | compensate ID)",
              file=sys.stderr)
        return 2
    config = load_config(config_path)
    async with open_runtime(config) as runtime:
        if action is None:
            for state in await runtime.sagas.store.listing(failed=failed):
                print(line(state))
            return 0
        assert saga_id is not None
        try:
            if action == "resume":
                state = await runtime.sagas.resume(saga_id)
            else:
                state = await runtime.sagas.compensate(saga_id)
        except SagaUnknown:
            print(f"c360: no saga {saga_id}", file=sys.stderr)
            return 1
        print(line(state))
        return 0 if state.status.value in ("COMPLETED", "COMPENSATED") else 1


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _index(config_path: Path, since: datetime | None) -> int:
    from gateway.config import load_config
    from gateway.runtime import open_runtime

    config = load_config(config_path)
    started = time.perf_counter()
    async with open_runtime(config) as runtime:
        report = await runtime.identity.index(since)
    for source, count in sorted(report.records.items()):
        removed = report.removed.get(source, 0)
        print(f"  {source:10s} {count:>8,} records" + (f", {removed} removed" if removed else ""))
    for source, problem in sorted(report.failed.items()):
        print(f"  {source:10s} FAILED: {problem}")
    print(f"{report.people:,} people, {report.changed:,} links changed, "
          f"in {time.perf_counter() - started:.1f}s")
    return 1 if report.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        from silos.sandbox import SandboxOptions, run

        run(SandboxOptions(customers=args.customers, seed=args.seed, host=args.host,
                           port=args.port, data_dir=args.data_dir, loyalty_url=args.loyalty_url,
                           latency_ms=args.latency_ms, heavy_customers=args.heavy))
        return 0
    if args.command == "schema":
        from schema import sdl

        sys.stdout.write(sdl())
        return 0
    if args.command == "demo":
        from gateway.demo import run_demo

        run_loop(run_demo(args.host, args.port, args.customers, args.seed, args.data_dir))
        return 0
    if args.command == "serve":
        from gateway.server import serve as serve_gateway

        try:
            serve_gateway(str(args.config), args.host, args.port, args.workers)
        except ConfigError as exc:
            print(f"c360: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        if args.command == "index":
            return run_loop(_index(args.config, args.since))
        if args.command == "audit":
            return run_loop(_audit(args.config, args.customer, args.since, args.json))
        if args.command == "sagas":
            return run_loop(_sagas(args.config, args.failed, args.json, args.action,
                                   args.saga_id))
        if args.command == "token":
            return _token(args)
        if args.command == "apikey":
            return _apikey_create(args)
    except ConfigError as exc:
        print(f"c360: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
