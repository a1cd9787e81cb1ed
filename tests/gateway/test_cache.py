"""The entity cache through the graph: a warm cache spares the silo; a silo that fails (or whose
breaker is open) is answered with what it said last, marked ``extensions.stale``; a write
through the gateway evicts what it changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from silos.sandbox import RunningSandbox, SandboxOptions
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.mutations import mutate, new_key
from tests.gateway.telemetry.test_metrics import KEYS, scrape, value
from tests.gateway.test_mutations_tickets import CREATE

pytestmark = pytest.mark.anyio
TICKETS = """query($id: ID!) { customer(sourceRef: {kind: "zendesk", id: $id}) {
  id tickets(first: 50) { edges { node { id subject } } } } }"""


def with_tickets(sandbox: RunningSandbox) -> list[dict[str, str]]:
    """People with a helpdesk user and tickets, and an email."""
    found = []
    for person in sandbox.data.ground_truth:
        records = {r["kind"]: r["id"] for r in person["records"]}
        if "zendesk" in records and sandbox.data.zendesk.requested_tickets(
                int(records["zendesk"])):
            found.append(records)
    assert found, "no person with tickets in the sandbox"
    return found


async def served(silo: httpx.AsyncClient) -> dict[str, int]:
    endpoints: dict[str, int] = (await silo.get("/_sandbox/stats")).json()["endpoints"]
    return endpoints


async def test_a_silo_that_fails_is_answered_with_its_last_answer_marked_stale(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    person = with_tickets(graph_sandbox)[0]
    config = {**KEYS, "breakers": {"failures": 3, "cooldown_s": 60}}
    async with gateway(config=config) as client:
        ask = {"query": TICKETS, "variables": {"id": person["zendesk"]}}
        fresh = (await client.post("/graphql", json=ask)).json()
        assert "errors" not in fresh and "extensions" not in fresh
        assert fresh["data"]["customer"]["tickets"]["edges"]
        await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
        answers = [(await client.post("/graphql", json=ask)).json() for _ in range(6)]
        ready = (await client.get("/readyz")).json()
        _, samples = await scrape(client)
    assert ready["breakers"]["zendesk"] == "open", "the later answers came past an open breaker"
    for body in answers:
        assert "errors" not in body, body["errors"]
        assert body["data"] == fresh["data"], "what zendesk answered last"
        stale = body["extensions"]["stale"]
        assert {"path": ["customer", "tickets"], "source": "zendesk"} in [
            {k: v for k, v in s.items() if k != "ageSeconds"} for s in stale]
        assert {s["source"] for s in stale} == {"zendesk"}
        assert all(0 <= s["ageSeconds"] < 60 for s in stale)
    assert value(samples, "c360_cache_requests_total", source="zendesk",
                 method="tickets_by_requester_ids", result="stale") == 6


async def test_past_stale_if_error_the_failure_shows(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    person = with_tickets(graph_sandbox)[0]
    async with gateway(config={"cache": {"stale_if_error_s": 0}}) as client:
        ask = {"query": TICKETS, "variables": {"id": person["zendesk"]}}
        assert "errors" not in (await client.post("/graphql", json=ask)).json()
        await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
        body = (await client.post("/graphql", json=ask)).json()
    assert "extensions" not in body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SOURCE_UNAVAILABLE"}


async def test_a_warm_cache_spares_the_silo(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    config = {**KEYS, "cache": {"sources": {"zendesk": {"ttl_s": 300}}}}
    async with gateway(config=config) as client:
        ask = {"query": TICKETS, "variables": {"id": with_tickets(graph_sandbox)[0]["zendesk"]}}
        cold = (await client.post("/graphql", json=ask)).json()
        before = await served(silos["zendesk"])
        warm = (await client.post("/graphql", json=ask)).json()
        assert await served(silos["zendesk"]) == before, "answered from the cache"
        _, samples = await scrape(client)
    assert warm == cold
    assert value(samples, "c360_cache_requests_total", source="zendesk",
                 method="tickets_by_requester_ids", result="hit") == 1
    assert value(samples, "c360_cache_requests_total", source="zendesk",
                 method="tickets_by_requester_ids", result="miss") == 1


@pytest.fixture(scope="module")
def cache_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=40, seed=37,
                                          data_dir=tmp_path_factory.mktemp("cache")))


async def test_a_write_through_the_gateway_evicts_what_it_changed(
        cache_sandbox: RunningSandbox, gateway: Callable[..., Any],
        gateway_sandbox: RunningSandbox, silos: dict[str, httpx.AsyncClient]) -> None:
    assert gateway_sandbox is cache_sandbox
    person = with_tickets(cache_sandbox)[0]
    config = {"cache": {"sources": {"zendesk": {"ttl_s": 300}}}}
    async with gateway(config=config) as client:
        ask = {"query": TICKETS, "variables": {"id": person["zendesk"]}}
        before = (await client.post("/graphql", json=ask)).json()["data"]["customer"]
        calls = await served(silos["zendesk"])
        assert (await client.post("/graphql", json=ask)).json()["data"]["customer"] == before
        assert await served(silos["zendesk"]) == calls, "cached"
        made = await mutate(client, CREATE, new_key(), c=before["id"],
                            subject="¿Dónde está mi pedido?", body="Llegaba el lunes.",
                            channel="PHONE", order=None)
        assert "errors" not in made, made
        after = (await client.post("/graphql", json=ask)).json()["data"]["customer"]
    subjects = [e["node"]["subject"] for e in after["tickets"]["edges"]]
    assert "¿Dónde está mi pedido?" in subjects, "the new ticket shows at once"
    assert len(subjects) == len(before["tickets"]["edges"]) + 1


@pytest.fixture
def gateway_sandbox(request: pytest.FixtureRequest, graph_sandbox: RunningSandbox
                    ) -> RunningSandbox:
    if "cache_sandbox" in request.fixturenames:
        sandbox: RunningSandbox = request.getfixturevalue("cache_sandbox")
        return sandbox
    return graph_sandbox
