"""``GET /metrics``: what a platform team's Prometheus scrapes — requests by operation and
outcome, every silo call by source and status (the silos' own counters agree), refusals at
capacity; for the ``metrics:read`` scope only, and no personal data in it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import S1_QUERY, S2_QUERY

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
