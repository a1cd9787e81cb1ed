"""Traceability: ``Customer.openRequests`` and ``Query.request(reference:)`` follow a request
through every system that holds it, in one status vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from silos.loyalty.db import create_loyalty_engine, load_points
from silos.sandbox import RunningSandbox, SandboxOptions
from silos.shopify.records import pickup_shipping_line
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.test_graph import graphql, people_with

pytestmark = pytest.mark.anyio

FIELDS = """kind status open reference channel source system openedAt updatedAt
  nextStep { actor action } store { code name }
  subject { __typename ... on Order { orderId number } ... on Ticket { ticketId status } }"""
OPEN = ("query($card: String!) { customer(loyaltyCard: $card) { openRequests { " + FIELDS
        + " } } }")
FIND = "query($ref: String!) { request(reference: $ref) { " + FIELDS + " } }"


@pytest.fixture(scope="module")
def requests_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    """A sandbox of its own: these tests write orders, returns, tickets and points."""
    return indexed_sandbox(SandboxOptions(customers=100, seed=21,
                                          data_dir=tmp_path_factory.mktemp("requests")))


@pytest.fixture
def gateway_sandbox(requests_sandbox: RunningSandbox) -> RunningSandbox:
    return requests_sandbox


def someone(sandbox: RunningSandbox, index: int = 0) -> dict[str, str]:
    return people_with(sandbox, "shopify", "square", "zendesk", "loyalty")[index]


async def open_requests(client: httpx.AsyncClient, card: str) -> list[dict[str, Any]]:
    body = await graphql(client, OPEN, card=card)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["customer"]["openRequests"]
    return found


async def find(client: httpx.AsyncClient, reference: str) -> list[dict[str, Any]]:
    body = await graphql(client, FIND, ref=reference)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["request"]
    return found


def web_order(sandbox: RunningSandbox, person: dict[str, str], *, pickup_at: int | None = None,
              at: datetime | None = None) -> dict[str, Any]:
    data = sandbox.data
    variant = next(iter(data.shopify.variants.values()))
    body: dict[str, Any] = {"customer": {"id": int(person["shopify"])},
                            "financial_status": "paid", "source_name": "web",
                            "line_items": [{"variant_id": variant["id"], "quantity": 1}]}
    if pickup_at is not None:
        body["shipping_lines"] = [pickup_shipping_line(data.shopify.locations[pickup_at])]
    order: dict[str, Any] = data.shopify.create_order({"order": body},
                                                      at=at or datetime.now(UTC))
    return order


async def test_a_pickup_is_prepared_by_the_store_then_collected(
        requests_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = requests_sandbox.data
    person = someone(requests_sandbox)
    store = data.stores[0]
    order = web_order(requests_sandbox, person, pickup_at=store.shopify_location_id)
    async with gateway(role="agent") as client:
        [pickup] = [r for r in await open_requests(client, person["loyalty"])
                    if r["reference"] == order["name"]]
        assert (pickup["kind"], pickup["status"], pickup["nextStep"]["actor"]) == (
            "PICKUP", "PREPARING", "STORE")
        assert pickup["store"]["code"] == store.code and pickup["channel"] == "WEB"
        data.shopify.create_fulfillment(order["id"], {"fulfillment": {
            "location_id": store.shopify_location_id}}, at=datetime.now(UTC))
        assert order["name"] not in {r["reference"] for r in await open_requests(
            client, person["loyalty"])}
        [done] = await find(client, order["name"])
        assert (done["kind"], done["status"], done["open"], done["nextStep"]) == (
            "PICKUP", "COMPLETED", False, None)
        assert await find(client, order["name"].lstrip("#")) == [done]


async def test_a_web_order_waits_on_the_warehouse_then_the_carrier(
        requests_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = requests_sandbox.data
    person = someone(requests_sandbox, 1)
    order = web_order(requests_sandbox, person)
    async with gateway(role="agent") as client:
        [waiting] = await find(client, order["name"])
        assert (waiting["kind"], waiting["status"], waiting["nextStep"]["actor"]) == (
            "DELIVERY", "RECEIVED", "WAREHOUSE")
        data.shopify.create_fulfillment(order["id"], {"fulfillment": {
            "location_id": data.warehouse_location_ids[0], "tracking_company": "UPS",
            "tracking_number": "1Z999AA10123456784"}}, at=datetime.now(UTC))
        [moving] = await find(client, order["name"])
        assert (moving["status"], moving["nextStep"]["actor"]) == ("IN_TRANSIT", "CARRIER")
        assert "1Z999AA10123456784" in moving["nextStep"]["action"]


async def test_a_web_order_returned_in_store_waits_for_its_refund(
        requests_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = requests_sandbox.data
    person = someone(requests_sandbox, 2)
    store = data.stores[1]
    order = web_order(requests_sandbox, person, at=datetime.now(UTC) - timedelta(days=10))
    line = order["line_items"][0]
    returned = data.square.create_order({"idempotency_key": f"ret-{order['id']}", "order": {
        "location_id": store.square_location_id, "reference_id": str(order["id"]),
        "customer_id": person["square"], "state": "COMPLETED", "returns": [{
            "return_line_items": [{"name": line["title"], "quantity": "1",
                                   "base_price_money": {"amount": 1000, "currency": "USD"}}]}]}},
        at=datetime.now(UTC))
    async with gateway(role="store_associate", store=store.code) as client:
        [pending] = [r for r in await find(client, order["name"]) if r["kind"] == "RETURN"]
        assert (pending["status"], pending["nextStep"]["actor"]) == ("REFUND_PENDING",
                                                                     "SUPPORT")
        assert pending["store"]["code"] == store.code and pending["system"] == "square"
        assert [r["status"] for r in await find(client, returned["id"])] == ["REFUND_PENDING"]
        data.shopify.create_refund(order["id"], {"refund": {"refund_line_items": [{
            "line_item_id": line["id"], "quantity": 1, "restock_type": "return",
            "location_id": store.shopify_location_id}]}}, at=datetime.now(UTC))
        assert [r["status"] for r in await find(client, returned["id"])] == ["COMPLETED"]


async def test_tickets_and_points_claims_say_who_acts_next(
        requests_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = requests_sandbox.data
    person = someone(requests_sandbox, 3)
    now = datetime.now(UTC)
    waiting = data.zendesk.create_ticket({"ticket": {
        "requester_id": int(person["zendesk"]), "subject": "Which size?",
        "comment": {"body": "Hello"}, "via": {"channel": "voice"}}}, at=now)
    data.zendesk.update_ticket(waiting["id"], {"ticket": {"status": "pending", "comment": {
        "body": "Could you send a photo?", "public": True}}}, at=now)
    claim = data.zendesk.create_ticket({"ticket": {
        "requester_id": int(person["zendesk"]), "subject": "Loyalty points missing",
        "comment": {"body": "My store purchase earned nothing"}, "tags": ["loyalty_claim"],
        "via": {"channel": "web"}}}, at=now)
    async with gateway(role="agent") as client:
        [asked] = await find(client, f"#{waiting['id']}")
        assert (asked["kind"], asked["status"], asked["channel"], asked["nextStep"]["actor"]) \
            == ("TICKET", "AWAITING_CUSTOMER", "PHONE", "CUSTOMER")
        [points] = await find(client, str(claim["id"]))
        assert (points["kind"], points["nextStep"]["actor"]) == ("POINTS_CLAIM", "LOYALTY")
        member = next(m for m in data.loyalty_members if m["card_number"] == person["loyalty"])
        engine = create_loyalty_engine(requests_sandbox.loyalty_url)
        load_points(engine, [{"entry_id": 20_000_000, "member_id": member["member_id"],
                              "occurred_at": (now + timedelta(minutes=5)).replace(tzinfo=None),
                              "points": 120, "reason": "ADJUSTMENT", "channel": "PHONE",
                              "order_ref": None}])
        engine.dispose()
        [credited] = await find(client, str(claim["id"]))
        assert (credited["status"], credited["nextStep"]["actor"]) == ("IN_PROGRESS", "SUPPORT")
        assert "120 points" in credited["nextStep"]["action"]
        by_card = await find(client, person["loyalty"])
        assert {r["reference"] for r in by_card} >= {f"#{waiting['id']}", f"#{claim['id']}"}
        assert all(r["open"] for r in by_card)
        listed = await open_requests(client, person["loyalty"])
        assert [r["reference"] for r in listed] == [r["reference"] for r in by_card]
        times = [datetime.fromisoformat(r["updatedAt"]) for r in listed]
        assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("reference", ["", "   ", "#", "no such order", "#99999999",
                                       "x" * 81, "'; DROP TABLE orders; --", "LC-0000000000"])
async def test_an_unknown_or_malformed_reference_is_an_empty_list(
        gateway: Callable[..., Any], reference: str) -> None:
    async with gateway(role="agent") as client:
        assert await find(client, reference) == []


async def test_a_customer_finds_only_its_own_requests(
        requests_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    own, other = someone(requests_sandbox, 4), someone(requests_sandbox, 5)
    mine = web_order(requests_sandbox, own)
    theirs = web_order(requests_sandbox, other)
    async with gateway(role="customer", customer=f"shopify:{own['shopify']}") as client:
        assert [r["reference"] for r in await find(client, mine["name"])] == [mine["name"]]
        assert await find(client, theirs["name"]) == []
        assert await find(client, other["loyalty"]) == []
