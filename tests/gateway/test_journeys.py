"""The cross-channel journeys the sandbox generates, seen through the omnichannel views: each
journey person's timeline is exactly the events the generator wrote, in time order, and their
open requests and carts are what the story left in flight (values from the generator's ground
truth, and from the silos themselves)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from silos.generator import Journey
from silos.sandbox import RunningSandbox
from tests.gateway.test_graph import graphql

pytestmark = pytest.mark.anyio

VIEWS = """query($kind: String!, $id: ID!) {
  customer(sourceRef: {kind: $kind, id: $id}) {
    timeline(first: 100) { edges { node { occurredAt kind channel system summary } }
      pageInfo { hasNextPage } }
    openRequests { kind status reference system channel store { code }
      nextStep { actor action } subject { __typename ... on Order { orderId } ... on Ticket {
      ticketId } } }
    carts { cartId kind status recoveryUrl lines { sku quantity } } } }"""

STATUS_OF = {("pickup", "PENDING"): ("PICKUP", "PREPARING"),
             ("ticket", "new"): ("TICKET", "RECEIVED"),
             ("ticket", "open"): ("TICKET", "IN_PROGRESS"),
             ("ticket", "pending"): ("TICKET", "AWAITING_CUSTOMER")}


def record_of(sandbox: RunningSandbox, journey: Journey) -> tuple[str, str]:
    row = next(p for p in sandbox.data.ground_truth if p["person"] == journey.person)
    first = row["records"][0]
    return first["kind"], first["id"]


async def views(client: httpx.AsyncClient, sandbox: RunningSandbox,
                journey: Journey) -> dict[str, Any]:
    kind, record_id = record_of(sandbox, journey)
    body = await graphql(client, VIEWS, kind=kind, id=record_id)
    assert "errors" not in body, (journey.name, body)
    found: dict[str, Any] = body["data"]["customer"]
    return found


def journeys(sandbox: RunningSandbox, name: str) -> list[Journey]:
    found = [j for j in sandbox.data.journeys if j.name == name]
    assert found, name
    return found


@pytest.mark.parametrize("name", ["cart_then_store", "pickup_return_elsewhere",
                                  "phone_ticket_store_receipt", "open_pickup", "points_claim"])
async def test_the_timeline_is_the_journey_in_time_order(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any], name: str) -> None:
    async with gateway(role="agent") as client:
        for journey in journeys(graph_sandbox, name):
            found = await views(client, graph_sandbox, journey)
            events = [e["node"] for e in found["timeline"]["edges"]]
            assert not found["timeline"]["pageInfo"]["hasNextPage"]
            times = [datetime.fromisoformat(e["occurredAt"]) for e in events]
            assert times == sorted(times, reverse=True), journey
            seen = Counter((datetime.fromisoformat(e["occurredAt"]), e["kind"], e["channel"],
                            e["system"]) for e in events)
            truth = Counter((e.at, e.kind, e.channel, e.system) for e in journey.events)
            assert seen == truth, (journey.name, seen - truth, truth - seen)


async def test_open_requests_and_carts_are_what_each_journey_left_in_flight(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    async with gateway(role="agent") as client:
        for journey in graph_sandbox.data.journeys:
            found = await views(client, graph_sandbox, journey)
            wanted_requests = Counter()
            wanted_carts = set()
            for request in journey.open_requests:
                if request.kind == "cart":
                    wanted_carts.add(request.ref.split(":", 1)[1])
                    continue
                kind, status = STATUS_OF[(request.kind, request.state)]
                if journey.name == "points_claim":
                    kind = "POINTS_CLAIM"
                wanted_requests[(kind, status, request.system, request.ref.split(":", 1)[1])] += 1
            got = Counter((r["kind"], r["status"], r["system"],
                           (r["subject"] or {}).get("orderId") or (r["subject"] or {}).get(
                               "ticketId")) for r in found["openRequests"])
            assert got == wanted_requests, (journey.name, found["openRequests"])
            assert {c["cartId"] for c in found["carts"] if c["kind"] == "CHECKOUT"} == \
                wanted_carts, (journey.name, found["carts"])


async def test_where_is_my_return_from_the_web_order_number(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = graph_sandbox.data
    stores = {s.square_location_id: s.code for s in data.stores}
    pickups = {str(s.shopify_location_id): s.code for s in data.stores}
    async with gateway(role="agent") as client:
        for journey in journeys(graph_sandbox, "pickup_return_elsewhere"):
            order = data.shopify.orders[int(journey.records["web_order"])]
            body = await graphql(client, """query($ref: String!) { request(reference: $ref) {
                kind status open system store { code } nextStep { actor } } }""",
                                 ref=order["name"])
            found = {r["kind"]: r for r in body["data"]["request"]}
            assert set(found) == {"PICKUP", "RETURN"}, body
            assert (found["PICKUP"]["status"], found["PICKUP"]["store"]["code"]) == (
                "COMPLETED", pickups[journey.records["pickup_location"]])
            assert (found["RETURN"]["status"], found["RETURN"]["system"],
                    found["RETURN"]["store"]["code"]) == (
                "COMPLETED", "square", stores[journey.records["return_location"]])
            assert found["RETURN"]["store"]["code"] != found["PICKUP"]["store"]["code"]


async def test_a_points_claim_waits_on_the_loyalty_team_until_credited(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    async with gateway(role="agent") as client:
        for journey in journeys(graph_sandbox, "points_claim"):
            found = await views(client, graph_sandbox, journey)
            claims = [r for r in found["openRequests"] if r["kind"] == "POINTS_CLAIM"]
            if journey.open_requests:
                assert [r["nextStep"]["actor"] for r in claims] == ["LOYALTY"]
            else:
                assert claims == []
                assert any(e["node"]["kind"] == "POINTS_ADJUSTED"
                           for e in found["timeline"]["edges"])
