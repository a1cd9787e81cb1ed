"""The ``c360`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.errors import ConfigError
from gateway.loop import run as run_loop

if TYPE_CHECKING:
    from identity.service import IndexReport
    from identity.steward import Steward


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
    sandbox.add_argument("--locale", choices=("us", "es", "it", "mixed"), default="us",
                         help="the population: US (default), Spanish/Catalan, Italian, or a "
                              "mix (two surnames, particles, local nicknames and phone "
                              "formats); the written c360.toml matches it")
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
    _identity_parser(commands)
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


def _identity_parser(commands: Any) -> None:
    identity = commands.add_parser(
        "identity", help="stewardship of the identity registry: explain, review, link, split, "
                         "eval")
    actions = identity.add_subparsers(dest="identity_command", required=True)
    explain = actions.add_parser(
        "explain", help="which records are this person, by which rule and evidence, and the "
                        "near matches the rules refused")
    explain.add_argument("--config", type=Path, required=True)
    which = explain.add_mutually_exclusive_group(required=True)
    which.add_argument("--email")
    which.add_argument("--phone")
    which.add_argument("--record", help="kind:id or source:id")
    explain.add_argument("--json", action="store_true")
    review = actions.add_parser(
        "review", help="pairs the rules kept apart, most likely first, for a human decision")
    review.add_argument("--config", type=Path, required=True)
    review.add_argument("--limit", type=_positive, default=20)
    review.add_argument("--json", action="store_true")
    link = actions.add_parser("link", help="join two records into one person, for good")
    link.add_argument("--config", type=Path, required=True)
    link.add_argument("a", help="kind:id or source:id")
    link.add_argument("b", help="kind:id or source:id")
    link.add_argument("--reason", required=True)
    link.add_argument("--actor", default=None, help="who decided (default: $USER)")
    split = actions.add_parser("split", help="take a record out of its person, for good")
    split.add_argument("--config", type=Path, required=True)
    split.add_argument("record", help="kind:id or source:id")
    split.add_argument("--reason", required=True)
    split.add_argument("--actor", default=None, help="who decided (default: $USER)")
    evaluate = actions.add_parser(
        "eval", help="score the registry against a ground truth (the sandbox's "
                     "ground_truth.json): pairwise precision, recall, F1")
    evaluate.add_argument("--config", type=Path, required=True)
    evaluate.add_argument("--truth", type=Path, required=True)
    evaluate.add_argument("--json", action="store_true")


def _actor(given: str | None) -> str:
    if given:
        return given
    import getpass

    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def _identity(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.runtime import open_runtime
    from identity.steward import Steward, StewardError

    config = load_config(args.config)
    async with open_runtime(config) as runtime:
        try:
            return await _steward_command(args, Steward(runtime.registry, runtime.normalizer))
        except StewardError as exc:
            print(f"c360: {exc}", file=sys.stderr)
            return 1


async def _steward_command(args: argparse.Namespace, steward: Steward) -> int:
    import json
    from dataclasses import asdict

    registry = steward.registry
    command = args.identity_command
    if command == "explain":
        found = await steward.explain(email=args.email, phone=args.phone,
                                      record=args.record)
        if args.json:
            print(json.dumps([asdict(e) for e in found], indent=1))
        else:
            print("\n".join(_explanation_lines(found)))
        return 0
    if command == "review":
        candidates = await steward.review(args.limit)
        if args.json:
            print(json.dumps([asdict(c) for c in candidates], indent=1))
            return 0
        print("The registry keeps identifiers and names, no address: \"same name and "
              "address\" is read as the same full name in exactly two people.")
        if not candidates:
            print("no candidate pairs")
        for c in candidates:
            print(f"{c.score:.2f}  {c.a} ({c.person_a or 'unlinked'})  <->  {c.b} "
                  f"({c.person_b or 'unlinked'})\n      {c.evidence}\n      {c.command}")
        return 0
    if command == "link":
        actor = _actor(args.actor)
        a, b = await steward.link(args.a, args.b, actor=actor, reason=args.reason)
        person = (await registry.golden_of([a]))[0]
        print(f"linked {a[0]}:{a[1]} and {b[0]}:{b[1]} by {actor}: now person {person}")
        return 0
    if command == "split":
        actor = _actor(args.actor)
        key = await steward.split(args.record, actor=actor, reason=args.reason)
        person = (await registry.golden_of([key]))[0]
        print(f"split {key[0]}:{key[1]} by {actor}: now alone as person {person}")
        return 0
    result = await steward.evaluate(args.truth)
    score = result.score
    if args.json:
        print(json.dumps({
            "precision": score.precision, "recall": score.recall, "f1": score.f1,
            "true_pairs": score.true_pairs, "predicted_pairs": score.predicted_pairs,
            "correct_pairs": score.correct_pairs, "truth_records": result.truth_records,
            "linked_records": result.linked_records,
            "missing_records": result.missing_records,
            "people_true": result.people_true,
            "people_predicted": result.people_predicted}))
    else:
        print(f"precision {score.precision:.4f}  recall {score.recall:.4f}  "
              f"F1 {score.f1:.4f}")
        print(f"pairs: {score.true_pairs:,} true, {score.predicted_pairs:,} predicted, "
              f"{score.correct_pairs:,} correct")
        print(f"records: {result.truth_records:,} in the truth, {result.linked_records:,} "
              f"linked, {result.missing_records:,} missing; people: "
              f"{result.people_true:,} true, {result.people_predicted:,} predicted")
    return 0


def _explanation_lines(found: Sequence[Any]) -> list[str]:
    lines: list[str] = []
    for explanation in found:
        lines.append(f"person {explanation.person}: {len(explanation.records)} records")
        for r in explanation.records:
            lines.append(f"  {r.source}:{r.id}  ({r.kind})  rule {r.rule}")
            lines.extend(f"      {line}" for line in r.evidence)
        if explanation.refused:
            lines.append("  refused by the rules (nearest records of other people):")
            for n in explanation.refused:
                lines.append(f"  {n.source}:{n.id}  ({n.kind})  person "
                             f"{n.person or 'unlinked'}\n      {n.why_refused}")
        else:
            lines.append("  no record of another person shares an email or phone")
    return lines


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
    print("\n".join(index_report_lines(report, time.perf_counter() - started)))
    return 1 if report.failed else 0


def index_report_lines(report: IndexReport, seconds: float) -> list[str]:
    """``c360 index``'s report: per source the records read, how (the crawl method) and what
    was removed, or why it failed; then the totals, and which sources to fix."""
    lines = []
    for source, count in sorted(report.records.items()):
        removed = report.removed.get(source, 0)
        method = report.methods.get(source)
        lines.append(f"  {source:10s} {count:>8,} records"
                     + (f", {removed} removed" if removed else "")
                     + (f"  via {method}" if method else ""))
    for source, problem in sorted(report.failed.items()):
        lines.append(f"  {source:10s} FAILED: {problem}")
    lines.append(f"{report.people:,} people, {report.changed:,} links changed, "
                 f"in {seconds:.1f}s")
    if report.failed:
        lines.append(f"{len(report.failed)} of {len(report.failed) + len(report.records)} "
                     f"sources failed ({', '.join(sorted(report.failed))}) and kept what the "
                     "registry had of them; the others were indexed")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        from silos.sandbox import SandboxOptions, run

        run(SandboxOptions(customers=args.customers, seed=args.seed, host=args.host,
                           port=args.port, data_dir=args.data_dir, loyalty_url=args.loyalty_url,
                           latency_ms=args.latency_ms, heavy_customers=args.heavy,
                           locale=args.locale))
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
        if args.command == "identity":
            return run_loop(_identity(args))
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
