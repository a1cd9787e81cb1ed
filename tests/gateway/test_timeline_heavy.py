"""A customer with thousands of events: the timeline pages to its end with stable cursors while
new events are written, and every page costs a bounded number of upstream requests, whatever
the page number (counted with the emulated silos' own request counters)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.config import parse_config
from gateway.runtime import open_runtime
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.test_graph import graphql
from tests.gateway.test_timeline import PAGE, expected, seen

pytestmark = pytest.mark.anyio

FIRST = 50
HTTP_SILOS = ("shopify", "square", "zendesk")


@pytest.fixture(scope="module")
def heavy_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=40, seed=13, heavy_customers=1,
                                          data_dir=tmp_path_factory.mktemp("heavy")))


@pytest.fixture
def gateway_sandbox(heavy_sandbox: RunningSandbox) -> RunningSandbox:
    return heavy_sandbox


def heavy_records(sandbox: RunningSandbox) -> dict[str, str]:
    key = sandbox.data.heavy[0]
    person = next(p for p in sandbox.data.ground_truth if p["person"] == key)
    return {r["kind"]: r["id"] for r in person["records"]}


async def counts(silos: dict[str, httpx.AsyncClient]) -> dict[str, int]:
    return {kind: int((await silos[kind].get("/_sandbox/stats")).json()["total"])
            for kind in HTTP_SILOS}


def bound(first: int) -> dict[str, int]:
    """Upstream requests one page may cost, from the windows' construction (a page reads a
    window of ``first + 1`` records per stream; a short page may read up to 3 windows):
    Shopify a GraphQL page of ids, one of changed orders and one ``orders.json?ids=``; Square
    one ``SearchOrders`` and one of changed orders; Zendesk one search, one of changed tickets
    and on a first page the newest requested tickets, then the audits of the tickets changed
    after the window's edge."""
    rounds = 3
    return {"shopify": rounds * 3 + 1, "square": rounds * 2 + 1,
            "zendesk": rounds * (3 + first + 1)}


async def test_a_5000_event_timeline_pages_to_its_end_in_bounded_requests_per_page(
        heavy_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient], capsys: pytest.CaptureFixture[str]) -> None:
    data = heavy_sandbox.data
    person = heavy_records(heavy_sandbox)
    config = parse_config(gateway_config(heavy_sandbox), env={})
    async with open_runtime(config, transports=heavy_sandbox.transports()) as runtime:
        truth = await expected(runtime, person)
    assert len(truth) >= 4500
    variant = next(iter(data.shopify.variants.values()))
    costs: list[dict[str, int]] = []
    written = 0
    async with gateway() as client:
        after = None
        pages: list[list[tuple[datetime, str, str, str]]] = []
        while True:
            before = await counts(silos)
            body = await graphql(client, PAGE, card=person["loyalty"], first=FIRST, after=after)
            spent = await counts(silos)
            costs.append({k: spent[k] - before[k] for k in HTTP_SILOS})
            assert "errors" not in body, body
            connection = body["data"]["customer"]["timeline"]
            pages.append([seen(e["node"]) for e in connection["edges"]])
            if len(pages) % 10 == 0:  # new events between two page requests
                now = datetime.now(UTC)
                data.shopify.create_order({"order": {
                    "customer": {"id": int(person["shopify"])}, "financial_status": "paid",
                    "line_items": [{"variant_id": variant["id"], "quantity": 1}]}}, at=now)
                data.zendesk.create_ticket({"ticket": {
                    "requester_id": int(person["zendesk"]), "subject": "Another question",
                    "comment": {"body": "Hello"}}}, at=now)
                written += 2
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
            assert len(pages) <= len(truth)
    assert [e for page in pages for e in page] == truth
    assert written >= 2 * (len(truth) // FIRST // 10)
    limit = bound(FIRST)
    worst = {k: max(c[k] for c in costs) for k in HTTP_SILOS}
    assert all(worst[k] <= limit[k] for k in HTTP_SILOS), (worst, limit)
    early = sum(sum(c.values()) for c in costs[:10]) / 10
    late = sum(sum(c.values()) for c in costs[-11:-1]) / 10
    assert late <= 2 * early + 5, (early, late)
    with capsys.disabled():
        print(f"\nheavy timeline: {len(truth)} events in {len(pages)} pages of {FIRST}; "
              f"upstream requests per page, worst {worst}, mean first 10 {early:.1f}, "
              f"last 10 {late:.1f}")
