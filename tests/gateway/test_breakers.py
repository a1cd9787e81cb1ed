"""A silo that is down costs no more than its breaker's probes: the gateway stops calling it,
answers without it at once, says so in ``/readyz`` and the metrics, and closes the breaker when
a probe gets an answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bench.harness import S1_QUERY
from tests.gateway.telemetry.test_metrics import EMAILS, KEYS, scrape, value

pytestmark = pytest.mark.anyio
COOLDOWN_S = 1.0
BREAKERS = {"breakers": {"failures": 3, "window_s": 30, "cooldown_s": 60,
                         "sources": {"zendesk": {"cooldown_s": COOLDOWN_S}}}}


async def served(silo: httpx.AsyncClient) -> int:
    return int((await silo.get("/_sandbox/stats")).json()["total"])


async def test_a_down_silo_costs_only_the_probes(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    zendesk = silos["zendesk"]
    async with gateway(config={**KEYS, **BREAKERS}) as client:
        found = (await client.post("/graphql", json={"query": EMAILS})).json()
        email = found["data"]["customers"]["edges"][0]["node"]["email"]["value"]
        ask = {"query": S1_QUERY, "variables": {"email": email}}
        await zendesk.post("/_sandbox/faults", json={"down": True})
        first = (await client.post("/graphql", json=ask)).json()
        tripped = await served(zendesk)
        assert tripped >= 3  # three failures in a row opened it
        started = time.perf_counter()
        answers = [(await client.post("/graphql", json=ask)).json() for _ in range(10)]
        fast = time.perf_counter() - started
        assert await served(zendesk) == tripped, "an open breaker calls nothing"
        for body in [first, *answers]:
            assert body["data"]["customer"]["email"]["value"] == email
            codes = {(e["extensions"]["code"], e["extensions"].get("source"))
                     for e in body["errors"]}
            assert codes == {("SOURCE_UNAVAILABLE", "zendesk")}, codes
        assert fast < COOLDOWN_S, "still inside the cool-down: the probe test below needs it"

        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["zendesk"] == "SOURCE_UNAVAILABLE"
        assert ready.json()["breakers"] == {"shopify": "closed", "square": "closed",
                                            "zendesk": "open", "loyalty": "closed"}
        assert await served(zendesk) == tripped, "nor does the readiness check"
        _, samples = await scrape(client)
        assert value(samples, "c360_breaker_state", source="zendesk") == 2
        assert value(samples, "c360_breaker_state", source="shopify") == 0
        assert value(samples, "c360_breaker_transitions_total", source="zendesk",
                     state="open") == 1

        await asyncio.sleep(COOLDOWN_S + 0.1)
        await asyncio.gather(*(client.post("/graphql", json=ask) for _ in range(5)))
        assert await served(zendesk) == tripped + 1, "one probe, not retried, for five requests"

        await zendesk.post("/_sandbox/faults", json={"down": False})
        await asyncio.sleep(COOLDOWN_S + 0.1)
        healed = (await client.post("/graphql", json=ask)).json()
        assert "errors" not in healed, healed["errors"]
        ready = await client.get("/readyz")
        assert ready.json()["status"] == "ready" and ready.json()["breakers"]["zendesk"] == \
            "closed"
        _, samples = await scrape(client)
        assert value(samples, "c360_breaker_state", source="zendesk") == 0
        assert value(samples, "c360_breaker_transitions_total", source="zendesk",
                     state="half_open") == 2


async def test_breakers_can_be_turned_off(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(config={"breakers": {"enabled": False}}) as client:
        found = (await client.post("/graphql", json={"query": EMAILS})).json()
        email = found["data"]["customers"]["edges"][0]["node"]["email"]["value"]
        await silos["zendesk"].post("/_sandbox/faults", json={"down": True})
        for _ in range(3):
            await client.post("/graphql", json={"query": S1_QUERY,
                                                "variables": {"email": email}})
        calls = await served(silos["zendesk"])
        await client.post("/graphql", json={"query": S1_QUERY, "variables": {"email": email}})
        assert await served(silos["zendesk"]) > calls
        assert (await client.get("/readyz")).json()["breakers"] == {}


async def test_the_registry_down_makes_a_worker_unavailable(
        gateway: Callable[..., Any], tmp_path: Any) -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    broken = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'registry.sqlite'}")
    async with gateway(engines={"identity": broken}) as client:
        async with broken.begin() as conn:
            await conn.execute(sa.text("DROP TABLE identity_record"))
        ready = await client.get("/readyz")
    await broken.dispose()
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["registry"] == "UNAVAILABLE"
