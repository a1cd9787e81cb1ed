"""Identity resolution on sandbox data: accuracy, indexing time and lookup latency.

``python -m bench.identity [--customers 5000] [--seed 42] [--locale us|es|it|mixed]
[--registry-url URL]``

Generates the sandbox (``--locale``: the population, see :mod:`silos.generator.locales`),
indexes every source through the real adapters (in process, over ``httpx.ASGITransport``; the
silos answer with no added latency), scores the registry's people against ``ground_truth``
(pairwise precision, recall, F1) and against the recall **ceiling** (the share of true pairs
some chain of email, cross-reference and same-person phone evidence can join:
:mod:`silos.generator.ceiling`), checks the targets (precision ≥ 0.999, recall ≥ ceiling −
0.005), and times registry lookups by email.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway import loop
from gateway.config import Config, parse_config
from gateway.runtime import Runtime, open_runtime
from identity.evaluate import PairwiseScore, pairwise_score, truth_from_ground_truth
from identity.matching import RecordIdentity
from identity.records import record_identity
from identity.registry import Registry
from silos.generator import LOCALES
from silos.generator.ceiling import Ceiling, ceiling
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config, prepare

MIN_PRECISION = 0.999
RECALL_SLACK = 0.005
"""The targets: precision at least MIN_PRECISION, recall within RECALL_SLACK of the ceiling."""


@dataclass(frozen=True)
class Accuracy:
    score: PairwiseScore
    ceiling: Ceiling

    @property
    def meets_targets(self) -> bool:
        return (self.score.precision >= MIN_PRECISION
                and self.score.recall >= self.ceiling.share - RECALL_SLACK)

    def describe(self) -> str:
        score, top = self.score, self.ceiling
        return (f"precision {score.precision:.4f}  recall {score.recall:.4f}  F1 "
                f"{score.f1:.4f}  ceiling {top.share:.4f} (email+reference alone "
                f"{top.share_without_phone:.4f})  ({score.correct_pairs:,} of "
                f"{score.true_pairs:,} true pairs, {score.predicted_pairs:,} predicted, "
                f"{top.joinable_pairs:,} joinable)")

    def targets(self) -> str:
        score = self.score
        floor = self.ceiling.share - RECALL_SLACK
        return (f"precision {score.precision:.4f} >= {MIN_PRECISION} "
                f"{'ok' if score.precision >= MIN_PRECISION else 'MISSED'};  recall "
                f"{score.recall:.4f} >= ceiling - {RECALL_SLACK} = {floor:.4f} "
                f"{'ok' if score.recall >= floor else 'MISSED'}")


def runtime_config(running: RunningSandbox) -> Config:
    """The sandbox's gateway config, parsed (its identity regions and name locales follow the
    sandbox's locale)."""
    return parse_config(gateway_config(running), env={})


async def crawled_records(runtime: Runtime) -> list[RecordIdentity]:
    """Every source's records as the registry normalizes them."""
    records: list[RecordIdentity] = []
    for source in runtime.identity.sources:
        async for page in source.crawl_customers(None):
            records.extend(record_identity(c, runtime.normalizer) for c in page)
    return records


async def accuracy(running: RunningSandbox, runtime: Runtime) -> Accuracy:
    """Score the indexed registry against the ground truth and its ceiling."""
    truth = truth_from_ground_truth(running.data.ground_truth)
    score = pairwise_score(truth, await runtime.registry.assignments())
    top = ceiling(await crawled_records(runtime), truth,
                  junk_emails=runtime.config.identity.rules.junk_emails)
    return Accuracy(score, top)


async def measure(options: SandboxOptions) -> Accuracy:
    """Generate ``options``' sandbox, index it and score it (for the locale tests)."""
    running = prepare(options)
    async with open_runtime(runtime_config(running),
                            transports=running.transports()) as runtime:
        report = await runtime.identity.index()
        if report.failed:
            raise RuntimeError(f"sources failed to index: {report.failed}")
        return await accuracy(running, runtime)


async def run(customers: int, seed: int, registry_url: str | None, lookups: int,
              locale: str = "us") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        running = prepare(SandboxOptions(customers=customers, seed=seed, data_dir=Path(tmp),
                                         locale=locale))
        print(f"sandbox: {customers:,} customers ({locale}) generated in "
              f"{time.perf_counter() - started:.1f}s")
        config = runtime_config(running)
        async with registry_engine(registry_url) as engine, open_runtime(
                config, transports=running.transports(),
                engines={"identity": engine} if engine else None) as runtime:
            started = time.perf_counter()
            report = await runtime.identity.index()
            elapsed = time.perf_counter() - started
            records = sum(report.records.values())
            print(f"index: {records:,} records from {len(report.records)} sources -> "
                  f"{report.people:,} people in {elapsed:.1f}s")
            if report.failed:
                print(f"  FAILED sources: {report.failed}")
            result = await accuracy(running, runtime)
            print(f"accuracy: {result.describe()}")
            print(f"targets ({locale}): {result.targets()}")
            emails = sorted({e for e in (runtime.normalizer.email(c["email"])
                                         for c in running.data.shopify.customers.values()) if e})
            sample = random.Random(seed).sample(emails, min(lookups, len(emails)))
            db = Registry(runtime.registry.engine)
            for label, registry in (("registry (database)", db),
                                    ("registry + in-process cache, warm", runtime.registry)):
                for email in sample:
                    await runtime.registry.lookup("email", email)
                timings = []
                for email in sample:
                    t0 = time.perf_counter()
                    await registry.lookup("email", email)
                    timings.append(time.perf_counter() - t0)
                timings.sort()
                print(f"lookup by email, {label} ({len(sample)} lookups): "
                      f"p50 {statistics.median(timings) * 1e3:.3f} ms  "
                      f"p99 {timings[int(len(timings) * 0.99) - 1] * 1e3:.3f} ms")


@asynccontextmanager
async def registry_engine(url: str | None) -> AsyncIterator[AsyncEngine | None]:
    """None (the sandbox's SQLite registry), or an engine on a fresh PostgreSQL schema that is
    dropped afterwards — the benchmark never touches existing tables."""
    if not url:
        yield None
        return
    schema = f"c360_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--registry-url", default=None,
                        help="a postgresql+asyncpg:// URL to hold the registry in a fresh schema "
                             "(default: SQLite in a temp dir)")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--locale", choices=LOCALES, default="us",
                        help="the population: us (default), es, it or mixed")
    args = parser.parse_args()
    loop.run(run(args.customers, args.seed, args.registry_url, args.lookups, args.locale))


if __name__ == "__main__":
    main()
