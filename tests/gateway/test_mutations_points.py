"""Points through the graph (``adjustPoints``, ``redeemPoints``): read back through the graph
and straight from the loyalty database; a balance never below zero under concurrent
redemptions; a key repeated or raced writes one entry; roles and ownership refused with
nothing written."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from silos.sandbox import RunningSandbox, SandboxOptions
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.mutations import error_codes, mutate, new_key
from tests.gateway.test_graph import graphql, people_with

pytestmark = pytest.mark.anyio

ADJUST = """mutation($c: ID!, $points: Int!, $reason: String!, $key: String) {
  adjustPoints(customer: $c, points: $points, reason: $reason, idempotencyKey: $key) {
    points saga { id status steps { name source status } }
    customer { loyalty { pointsBalance } } } }"""
REDEEM = """mutation($c: ID!, $points: Int!) {
  redeemPoints(customer: $c, points: $points) {
    points saga { status } customer { loyalty { pointsBalance } } } }"""
WHO = """query($id: ID!) { customer(sourceRef: {kind: "loyalty", id: $id}) {
  id loyalty { cardNumber pointsBalance } } }"""


@pytest.fixture(scope="module")
def points_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=40, seed=91,
                                          data_dir=tmp_path_factory.mktemp("points")))


@pytest.fixture
def gateway_sandbox(points_sandbox: RunningSandbox) -> RunningSandbox:
    return points_sandbox


def ledger(sandbox: RunningSandbox, card: str) -> list[dict[str, Any]]:
    """The member's ledger, read straight from the loyalty database."""
    engine = sa.create_engine(sandbox.loyalty_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT p.entry_id, p.points, p.reason, p.channel FROM points_ledger p "
                "JOIN loyalty_member m ON m.member_id = p.member_id "
                "WHERE m.card_number = :card ORDER BY p.entry_id"), {"card": card})
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


async def member(client: Any, sandbox: RunningSandbox, index: int) -> dict[str, Any]:
    person = people_with(sandbox, "loyalty")[index]
    body = await graphql(client, WHO, id=person["loyalty"])
    found: dict[str, Any] = body["data"]["customer"]
    return {"id": found["id"], "card": found["loyalty"]["cardNumber"],
            "balance": found["loyalty"]["pointsBalance"]}


async def test_an_adjustment_is_read_back_through_the_graph_and_in_the_ledger(
        points_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        who = await member(client, points_sandbox, 0)
        before = ledger(points_sandbox, who["card"])
        body = await mutate(client, ADJUST, new_key(), c=who["id"], points=250,
                            reason="goodwill: late delivery")
        assert "errors" not in body, body
        made = body["data"]["adjustPoints"]
        assert made["points"] == 250
        assert made["saga"]["status"] == "COMPLETED"
        assert made["saga"]["steps"] == [{"name": "post_points", "source": "loyalty",
                                          "status": "DONE"}]
        assert made["customer"]["loyalty"]["pointsBalance"] == who["balance"] + 250
    after = ledger(points_sandbox, who["card"])
    assert len(after) == len(before) + 1
    assert (after[-1]["points"], after[-1]["reason"]) == (250, "ADJUSTMENT")


async def test_a_redemption_beyond_the_balance_is_refused_and_writes_nothing(
        points_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        who = await member(client, points_sandbox, 1)
        before = ledger(points_sandbox, who["card"])
        body = await mutate(client, REDEEM, new_key(), c=who["id"],
                            points=who["balance"] + 1)
        assert body["data"] == {"redeemPoints": None}
        assert error_codes(body) == ["INSUFFICIENT_POINTS"]
        assert body["errors"][0]["extensions"]["failedStep"] == "post_points"
        assert ledger(points_sandbox, who["card"]) == before
        if who["balance"] > 0:
            body = await mutate(client, REDEEM, new_key(), c=who["id"],
                                points=who["balance"])
            assert body["data"]["redeemPoints"]["customer"]["loyalty"]["pointsBalance"] == 0
            assert body["data"]["redeemPoints"]["points"] == -who["balance"]


async def test_twenty_concurrent_redemptions_never_take_the_balance_below_zero(
        points_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        who = await member(client, points_sandbox, 2)
        await mutate(client, ADJUST, new_key(), c=who["id"],
                     points=700 - who["balance"] or 1, reason="test balance")
        who = await member(client, points_sandbox, 2)
        bodies = await asyncio.gather(*(
            mutate(client, REDEEM, new_key(), c=who["id"], points=100) for _ in range(20)))
        done = [b for b in bodies if b["data"]["redeemPoints"] is not None]
        refused = [b for b in bodies if b["data"]["redeemPoints"] is None]
        assert len(done) == who["balance"] // 100
        assert {tuple(error_codes(b)) for b in refused} == {("INSUFFICIENT_POINTS",)}
        after = await member(client, points_sandbox, 2)
    assert after["balance"] == who["balance"] % 100 >= 0
    assert sum(e["points"] for e in ledger(points_sandbox, who["card"])) == after["balance"]


async def test_a_key_retried_or_raced_writes_one_entry(
        points_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    key = new_key()
    async with gateway() as client:
        who = await member(client, points_sandbox, 3)
        before = len(ledger(points_sandbox, who["card"]))
        bodies = await asyncio.gather(*(
            mutate(client, ADJUST, key, c=who["id"], points=40, reason="raced")
            for _ in range(6)))
        done = [b for b in bodies if b["data"]["adjustPoints"] is not None]
        assert done, bodies
        assert {b["data"]["adjustPoints"]["saga"]["id"] for b in done} == {
            done[0]["data"]["adjustPoints"]["saga"]["id"]}
        busy = [b for b in bodies if b["data"]["adjustPoints"] is None]
        assert all(error_codes(b) == ["SAGA_IN_PROGRESS"] for b in busy)
        again = await mutate(client, ADJUST, key, c=who["id"], points=40, reason="raced")
        assert again["data"]["adjustPoints"]["saga"]["status"] == "COMPLETED"
    assert len(ledger(points_sandbox, who["card"])) == before + 1


@pytest.mark.parametrize(("role", "mutation", "allowed"), [
    ("store_associate", "adjust", False), ("service", "adjust", False),
    ("service", "redeem", False), ("customer", "adjust", False)])
async def test_roles_without_the_scope_are_refused_with_nothing_written(
        role: str, mutation: str, allowed: bool, points_sandbox: RunningSandbox,
        gateway: Callable[..., Any]) -> None:
    person = people_with(points_sandbox, "loyalty")[4]
    async with gateway() as client:
        who = await member(client, points_sandbox, 4)
    claims: dict[str, Any] = {"customer": f"loyalty:{person['loyalty']}"} \
        if role == "customer" else {"store": points_sandbox.data.stores[0].code} \
        if role == "store_associate" else {}
    before = ledger(points_sandbox, who["card"])
    async with gateway(role=role, **claims) as client:
        if mutation == "adjust":
            body = await mutate(client, ADJUST, new_key(), c=who["id"], points=5, reason="x")
        else:
            body = await mutate(client, REDEEM, new_key(), c=who["id"], points=1)
    assert error_codes(body) == ["FORBIDDEN"]
    assert ledger(points_sandbox, who["card"]) == before


async def test_a_customer_redeems_their_own_points_only(
        points_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    mine, theirs = people_with(points_sandbox, "loyalty")[5:7]
    async with gateway() as client:
        me = await member(client, points_sandbox, 5)
        other = await member(client, points_sandbox, 6)
        await mutate(client, ADJUST, new_key(), c=me["id"], points=10, reason="setup")
    before = ledger(points_sandbox, other["card"])
    async with gateway(role="customer", customer=f"loyalty:{mine['loyalty']}") as client:
        body = await mutate(client, REDEEM, new_key(), c=me["id"], points=10)
        assert body["data"]["redeemPoints"]["points"] == -10, body
        body = await mutate(client, REDEEM, new_key(), c=other["id"], points=1)
        assert error_codes(body) == ["NOT_FOUND"]
    assert ledger(points_sandbox, other["card"]) == before
    assert theirs["loyalty"] != mine["loyalty"]
