"""``GET /metrics``: what a platform team's Prometheus scrapes — requests by operation and
outcome, every silo call by source and status (the silos' own counters agree), refusals at
capacity; for the ``metrics:read`` scope only, and no personal data in it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest import approx

from bench.harness import REPO, S1_QUERY, S2_QUERY

pytestmark = pytest.mark.anyio

SCRAPER_KEY = "c360_test_scraper_key_0123456789abcdef"
SCRAPER = {"Authorization": f"ApiKey {SCRAPER_KEY}"}
REPORTING_KEY = "c360_test_reporting_key_0123456789abcdef"
KEYS = {"auth": {"api_keys": [
    {"name": "prometheus", "hash": "sha256:" + hashlib.sha256(SCRAPER_KEY.encode()).hexdigest(),
     "scopes": ["metrics:read"]},
    {"name": "reporting", "hash": "sha256:" + hashlib.sha256(REPORTING_KEY.encode()).hexdigest(),
     "scopes": ["catalog:read"]}]},
    "rate_limits": {"enabled": False}}
EMAILS = "query Emails { customers(first: 3) { edges { node { email { value } } } } }"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in text_string_to_metric_families(response.text)
               for s in family.samples}
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_and_silo_calls_are_counted_by_operation_and_outcome(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(config=KEYS) as client:
        found = (await client.post("/graphql", json={"query": EMAILS})).json()
        email = found["data"]["customers"]["edges"][0]["node"]["email"]["value"]
        for silo in silos.values():
            await silo.post("/_sandbox/reset")
        _, before = await scrape(client)
        answered = await client.post("/graphql", json={
            "query": S1_QUERY, "variables": {"email": email}, "operationName": "S1"})
        assert answered.status_code == 200 and "errors" not in answered.json()
        listed = await client.post("/graphql", json={"query": S2_QUERY})
        assert listed.status_code == 200 and "errors" not in listed.json()
        text, after = await scrape(client)
    assert value(after, "c360_requests_total", operation="S1", outcome="ok") == 1
    assert value(after, "c360_requests_total", operation="S2", outcome="ok") == 1
    assert value(after, "c360_requests_total", operation="Emails", outcome="ok") == 1
    assert value(after, "c360_request_duration_seconds_count", operation="S1") == 1
    assert value(after, "c360_requests_in_flight") == 0
    for name, silo in silos.items():
        served = int((await silo.get("/_sandbox/stats")).json()["total"])
        counted = value(after, "c360_upstream_requests_total", source=name, status="200") - \
            value(before, "c360_upstream_requests_total", source=name, status="200")
        assert counted == served > 0, name
        assert value(after, "c360_upstream_duration_seconds_count", source=name) >= counted
    loyalty = value(after, "c360_upstream_requests_total", source="loyalty", status="ok") - \
        value(before, "c360_upstream_requests_total", source="loyalty", status="ok")
    assert loyalty >= 1  # the members among S2's fifty customers: SQL statements
    assert email.lower() not in text.lower() and "@" not in text


async def test_failures_are_counted_by_outcome_and_status(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(config=KEYS) as client:
        found = (await client.post("/graphql", json={"query": EMAILS})).json()
        email = found["data"]["customers"]["edges"][0]["node"]["email"]["value"]
        await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
        partial = await client.post("/graphql", json={
            "query": S1_QUERY, "variables": {"email": email}})
        assert partial.json()["data"]["customer"] and partial.json()["errors"]
        assert (await client.post("/graphql", json={"query": "{ nope }"})).status_code == 200
        anonymous = await client.post("/graphql", json={"query": EMAILS},
                                      headers={"Authorization": ""})
        assert anonymous.status_code == 401
        _, samples = await scrape(client)
    assert value(samples, "c360_requests_total", operation="S1", outcome="partial") == 1
    assert value(samples, "c360_requests_total", operation="anonymous", outcome="invalid") == 1
    assert value(samples, "c360_requests_total", operation="unknown",
                 outcome="unauthenticated") == 1
    assert value(samples, "c360_upstream_requests_total", source="zendesk", status="503") >= 1


async def test_refusals_at_capacity_are_counted_with_their_reason(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(config=KEYS, settings={"max_in_flight": 1}) as client:
        app = client._transport.app  # type: ignore[attr-defined]
        admission = app.state.admission
        held = admission.arrive("held", None, admission.now(), 60.0)  # the one slot, taken
        refused = await client.post("/graphql", json={"query": EMAILS})
        assert refused.status_code == 503
        admission.finish(held)
        _, samples = await scrape(client)
    assert value(samples, "c360_requests_total", operation="unknown", outcome="overloaded") == 1
    assert value(samples, "c360_admission_refusals_total", reason="full") == 1


async def test_metrics_need_the_metrics_scope(gateway: Callable[..., Any],
                                              silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(config=KEYS) as client:
        assert (await client.get("/metrics", headers={"Authorization": ""})).status_code == 401
        refused = await client.get("/metrics",
                                   headers={"Authorization": f"ApiKey {REPORTING_KEY}"})
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await client.get("/metrics")).status_code == 200  # back office: every scope
    async with gateway(config={**KEYS, "telemetry": {"metrics": False}}) as client:
        assert (await client.get("/metrics", headers=SCRAPER)).status_code == 404


def test_an_operation_label_cannot_grow_without_bound() -> None:
    from gateway.telemetry.metrics import MAX_OPERATIONS, Metrics

    metrics = Metrics()
    assert metrics.operation(None) == "unknown" and metrics.operation("") == "anonymous"
    assert metrics.operation("Lookup") == "Lookup"
    assert metrics.operation("jane@example.com") == "other"
    for i in range(MAX_OPERATIONS):
        metrics.operation(f"Op{i}")
    assert metrics.operation("OneTooMany") == "other"
    assert metrics.operation("Lookup") == "Lookup"


OBSERVED = [0.0, 0.0004, 0.001, 0.0011, 0.005, 0.03, 0.25, 0.2500001, 4.9, 5.0, 7.5, 120.0]


def _exposed(registry: Any) -> Samples:
    from prometheus_client import generate_latest

    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for s in family.samples if not s.name.endswith("_created")}


def _observe_all(tallied: Any, direct: Any) -> None:
    """The same calls, batches, cache reads and requests: tallied on one Metrics, observed
    one by one on the other's prometheus-client metrics (either may be None)."""
    for i, seconds in enumerate(OBSERVED):
        status = "200" if i % 3 else "503"
        outcome = "ok" if i % 4 else "partial"
        if tallied is not None:
            tallied.call("shopify", status, seconds)
            tallied.batch("zendesk", "tickets_of", i + 1)
            tallied.cache("square", "orders_of", "miss", i)
            tallied.request("S1", outcome, seconds, refused="full" if i == 3 else None)
        if direct is not None:
            direct.upstream.labels("shopify", status).inc()
            direct.upstream_duration.labels("shopify").observe(seconds)
            direct.batch_size.labels("zendesk", "tickets_of").observe(i + 1)
            direct.cache_requests.labels("square", "orders_of", "miss").inc(i)
            direct.requests.labels("S1", outcome).inc()
            direct.duration.labels("S1").observe(seconds)
            if i == 3:
                direct.refusals.labels("full").inc()


def test_a_tally_folds_into_exactly_what_direct_observations_expose() -> None:
    """The request path tallies; the exposition must read as if every call, batch and read
    had been observed one by one (buckets on their upper bounds, sums, counters)."""
    from gateway.telemetry.metrics import Metrics

    tallied, direct = Metrics(), Metrics()
    _observe_all(tallied, direct)
    assert _exposed(tallied.registry) != _exposed(direct.registry)  # nothing folded yet
    tallied.fold()
    assert _exposed(tallied.registry) == approx(_exposed(direct.registry))
    tallied.fold()  # a second fold adds nothing
    assert _exposed(tallied.registry) == approx(_exposed(direct.registry))
    tallied.call("shopify", "200", 0.002)
    direct.upstream.labels("shopify", "200").inc()
    direct.upstream_duration.labels("shopify").observe(0.002)
    tallied.fold()
    assert _exposed(tallied.registry) == approx(_exposed(direct.registry))


_WORKER = """
import sys
from gateway.telemetry.metrics import Metrics
from tests.gateway.telemetry.test_metrics import _observe_all
metrics = Metrics()
if sys.argv[1] == "tallied":
    _observe_all(metrics, None)
    metrics.fold()
else:
    _observe_all(None, metrics)
print(metrics.exposition()[0].decode())
"""


def test_several_workers_tally_onto_their_memory_mapped_values(tmp_path: Path) -> None:
    """With several workers (prometheus-client's multiprocess mode, chosen as it is imported:
    a process of its own each), a tallying worker's files sum to what one observing every
    call writes."""
    texts = []
    for how in ("tallied", "direct"):
        directory = tmp_path / how
        directory.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", _WORKER, how], capture_output=True, text=True, timeout=60,
            cwd=REPO, env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)})
        assert done.returncode == 0, done.stderr[-2000:]
        assert any(directory.iterdir()), "not in multiprocess mode"
        texts.append(done.stdout)
    tallied, direct = ({(s.name, frozenset(s.labels.items())): s.value
                        for family in text_string_to_metric_families(text)
                        for s in family.samples} for text in texts)
    assert tallied[("c360_upstream_duration_seconds_bucket",
                    frozenset({("source", "shopify"), ("le", "0.005")}))] == 5
    assert tallied == approx(direct)  # sums: the same seconds, added in another order


async def test_a_worker_folds_on_its_own_and_as_it_stops() -> None:
    """What another worker's scrape reads (several workers) is at most FOLD_S behind, and a
    stopping worker's last requests are folded before it leaves the sum."""
    import asyncio

    from gateway.telemetry.metrics import Metrics, folding

    def served(metrics: Metrics) -> float:
        return _exposed(metrics.registry).get(
            ("c360_requests_total", frozenset({("operation", "S1"), ("outcome", "ok")})), 0.0)

    metrics = Metrics()
    async with folding(metrics, every_s=0.05):
        metrics.request("S1", "ok", 0.01)
        assert served(metrics) == 0
        await asyncio.sleep(0.2)
        assert served(metrics) == 1
        metrics.request("S1", "ok", 0.01)
    assert served(metrics) == 2
