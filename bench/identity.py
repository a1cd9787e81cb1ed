"""Identity resolution on sandbox data: accuracy, indexing time and lookup latency.

``python -m bench.identity [--customers 5000] [--seed 42] [--registry-url URL]``

Generates the sandbox, indexes every source through the real adapters (in process, over
``httpx.ASGITransport``; the silos answer with no added latency), scores the registry's people
against ``ground_truth`` (pairwise precision, recall, F1), and times registry lookups by email.
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
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway import loop
from gateway.config import parse_config
from gateway.runtime import open_runtime
from identity.evaluate import pairwise_score, truth_from_ground_truth
from identity.registry import Registry
from silos.sandbox import SandboxOptions, gateway_config, prepare


async def run(customers: int, seed: int, registry_url: str | None, lookups: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        running = prepare(SandboxOptions(customers=customers, seed=seed, data_dir=Path(tmp)))
        print(f"sandbox: {customers:,} customers generated in "
              f"{time.perf_counter() - started:.1f}s")
        config = parse_config(gateway_config(running), env={})
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
            predicted = await runtime.registry.assignments()
            score = pairwise_score(truth_from_ground_truth(running.data.ground_truth),
                                   predicted)
            print(f"accuracy: precision {score.precision:.4f}  recall {score.recall:.4f}  "
                  f"F1 {score.f1:.4f}  ({score.correct_pairs:,} of {score.true_pairs:,} true "
                  f"pairs, {score.predicted_pairs:,} predicted)")
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
    args = parser.parse_args()
    loop.run(run(args.customers, args.seed, args.registry_url, args.lookups))


if __name__ == "__main__":
    main()
