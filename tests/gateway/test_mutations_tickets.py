"""Tickets through the graph (``createTicket``, ``addTicketComment``, ``setTicketStatus``):
a customer without a helpdesk user gets one, linked in the registry; the ticket read back
through the graph and from Zendesk; a lost answer or a repeated key writes one ticket; roles
refused with no write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from silos.sandbox import RunningSandbox, SandboxOptions
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.mutations import direct, error_codes, mutate, new_key, writes
from tests.gateway.test_graph import graphql

pytestmark = pytest.mark.anyio

CREATE = """mutation($c: ID!, $subject: String!, $body: String!, $channel: TicketChannel!,
                    $order: ID) {
  createTicket(customer: $c, subject: $subject, body: $body, channel: $channel,
               order: $order) {
    saga { id status steps { name source status } }
    ticket { id ticketId source subject status channel orderReference } } }"""
COMMENT = """mutation($t: ID!, $body: String!) { addTicketComment(ticket: $t, body: $body) {
  saga { status } ticket { comments { body public } } } }"""
STATUS = """mutation($t: ID!, $status: TicketStatus!) {
  setTicketStatus(ticket: $t, status: $status) { saga { status } ticket { status } } }"""
WHO = """query($kind: String!, $id: ID!) { customer(sourceRef: {kind: $kind, id: $id}) {
  id sourceRecords { kind id }
  orders(first: 5) { edges { node { id number } } }
  tickets(first: 50) { edges { node { id subject } } } } }"""


@pytest.fixture(scope="module")
def tickets_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=60, seed=31,
                                          data_dir=tmp_path_factory.mktemp("tickets")))


@pytest.fixture
def gateway_sandbox(tickets_sandbox: RunningSandbox) -> RunningSandbox:
    return tickets_sandbox


def people(sandbox: RunningSandbox, has: str, lacks: str) -> list[dict[str, str]]:
    found = []
    for person in sandbox.data.ground_truth:
        records = {r["kind"]: r["id"] for r in person["records"]}
        if has in records and lacks not in records:
            found.append(records)
    return found


async def who(client: httpx.AsyncClient, kind: str, record_id: str) -> dict[str, Any]:
    body = await graphql(client, WHO, kind=kind, id=record_id)
    found: dict[str, Any] = body["data"]["customer"]
    return found


async def test_a_customer_without_a_helpdesk_user_gets_one_linked_and_a_ticket(
        tickets_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = people(tickets_sandbox, "shopify", "zendesk")[0]
    async with gateway() as client:
        before = await who(client, "shopify", person["shopify"])
        order = before["orders"]["edges"][0]["node"] if before["orders"]["edges"] else None
        body = await mutate(client, CREATE, new_key(), c=before["id"],
                            subject="Where is my parcel?", body="It was due on Monday.",
                            channel="PHONE", order=order["id"] if order else None)
        assert "errors" not in body, body
        made = body["data"]["createTicket"]
        assert [(s["name"], s["source"], s["status"]) for s in made["saga"]["steps"]] == [
            ("ensure_requester", "zendesk", "DONE"), ("link_requester", "registry", "DONE"),
            ("create_ticket", "zendesk", "DONE")]
        ticket = made["ticket"]
        assert (ticket["subject"], ticket["status"], ticket["source"]) == (
            "Where is my parcel?", "new", "zendesk")
        assert ticket["channel"] == "phone"
        if order:
            assert ticket["orderReference"] == order["number"]
        after = await who(client, "shopify", person["shopify"])
        assert after["id"] == before["id"]
        helpdesk = [r["id"] for r in after["sourceRecords"] if r["kind"] == "zendesk"]
        assert len(helpdesk) == 1, "the new helpdesk user is linked to the customer"
        assert ticket["id"] in [e["node"]["id"] for e in after["tickets"]["edges"]]

    async with direct(tickets_sandbox) as runtime:
        zendesk = runtime.adapters["zendesk"]
        [found] = await zendesk.tickets_by_ids([ticket["ticketId"]])
        assert found.requester_id == helpdesk[0]
        assert found.subject == "Where is my parcel?"
        [user] = await zendesk.customers_by_ids([helpdesk[0]])
        assert user is not None


async def test_comment_and_status_are_written_to_the_ticket(
        tickets_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = people(tickets_sandbox, "zendesk", "none")[0]
    async with gateway(role="agent") as client:
        customer = await who(client, "zendesk", person["zendesk"])
        made = await mutate(client, CREATE, new_key(), c=customer["id"], subject="Refund",
                            body="Please refund the scarf.", channel="EMAIL")
        created = made["data"]["createTicket"]
        assert [s["name"] for s in created["saga"]["steps"]] == ["create_ticket"], made
        ticket_id = created["ticket"]["id"]
        body = await mutate(client, COMMENT, new_key(), t=ticket_id,
                            body="Refund issued today.")
        comments = body["data"]["addTicketComment"]["ticket"]["comments"]
        assert {"body": "Refund issued today.", "public": True} in comments, body
        body = await mutate(client, STATUS, new_key(), t=ticket_id, status="SOLVED")
        assert body["data"]["setTicketStatus"]["ticket"]["status"] == "solved", body
    async with direct(tickets_sandbox) as runtime:
        zendesk = runtime.adapters["zendesk"]
        tid = created["ticket"]["ticketId"]
        [ticket] = await zendesk.tickets_by_ids([tid])
        [found] = await zendesk.comments_by_ticket_ids([tid])
    assert ticket.status == "solved"
    assert [c.body for c in found][-1] == "Refund issued today."


async def test_a_lost_answer_and_a_repeated_key_write_one_ticket(
        tickets_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    person = people(tickets_sandbox, "zendesk", "none")[1]
    key = new_key()
    async with gateway() as client:
        customer = await who(client, "zendesk", person["zendesk"])
        before = len(customer["tickets"]["edges"])
        stats = (await silos["zendesk"].get("/_sandbox/stats")).json()["endpoints"]
        create = next(e for e in stats if e.startswith("POST") and "tickets" in e) \
            if any(e.startswith("POST") and "tickets" in e for e in stats) else \
            "POST /api/v2/tickets.json"
        await silos["zendesk"].post("/_sandbox/faults", json={
            "lost_response": True, "endpoints": [create]})
        body = await mutate(client, CREATE, key, c=customer["id"], subject="Lost answer",
                            body="The first answer never arrives.", channel="WEB")
        await silos["zendesk"].post("/_sandbox/faults", json={"lost_response": False})
        if body["data"]["createTicket"] is None:
            assert error_codes(body) == ["SAGA_IN_PROGRESS"], body
            body = await mutate(client, CREATE, key, c=customer["id"], subject="Lost answer",
                                body="The first answer never arrives.", channel="WEB")
        assert body["data"]["createTicket"]["saga"]["status"] == "COMPLETED", body
        again = await mutate(client, CREATE, key, c=customer["id"], subject="Lost answer",
                             body="The first answer never arrives.", channel="WEB")
        assert again["data"]["createTicket"]["ticket"]["id"] == \
            body["data"]["createTicket"]["ticket"]["id"]
        after = await who(client, "zendesk", person["zendesk"])
    subjects = [e["node"]["subject"] for e in after["tickets"]["edges"]]
    assert len(subjects) == before + 1 and subjects.count("Lost answer") == 1
    assert (await writes(silos))["zendesk"] >= 1


@pytest.mark.parametrize(("role", "mutation", "code"), [
    ("service", "create", "FORBIDDEN"), ("customer", "status", "FORBIDDEN"),
    ("store_associate", "status", "FORBIDDEN"), ("customer", "create_other", "NOT_FOUND")])
async def test_roles_that_may_not_write_tickets_are_refused_with_no_write(
        role: str, mutation: str, code: str, tickets_sandbox: RunningSandbox,
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    mine, other = people(tickets_sandbox, "zendesk", "none")[2:4]
    async with gateway() as client:
        customer = await who(client, "zendesk", other["zendesk"])
        made = await mutate(client, CREATE, new_key(), c=customer["id"], subject="x",
                            body="y", channel="CHAT")
        ticket_id = made["data"]["createTicket"]["ticket"]["id"]
    for s in silos.values():
        await s.post("/_sandbox/reset")
    claims: dict[str, Any] = {
        "customer": {"customer": f"zendesk:{mine['zendesk']}"},
        "store_associate": {"store": tickets_sandbox.data.stores[0].code}}.get(role, {})
    async with gateway(role=role, **claims) as client:
        if mutation.startswith("create"):
            body = await mutate(client, CREATE, new_key(), c=customer["id"], subject="x",
                                body="y", channel="CHAT")
        else:
            body = await mutate(client, STATUS, new_key(), t=ticket_id, status="SOLVED")
    assert error_codes(body) == [code], body
    assert await writes(silos) == {kind: 0 for kind in silos}


async def test_a_customer_opens_a_ticket_for_themself(
        tickets_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = people(tickets_sandbox, "zendesk", "none")[4]
    async with gateway() as client:
        me = await who(client, "zendesk", person["zendesk"])
    async with gateway(role="customer", customer=f"zendesk:{person['zendesk']}") as client:
        body = await mutate(client, CREATE, new_key(), c=me["id"], subject="Size exchange",
                            body="Can I swap the M for an L?", channel="CHAT")
        assert body["data"]["createTicket"]["saga"]["status"] == "COMPLETED", body


TIMELINE = """query($id: ID!) { customer(id: $id) {
  timeline(first: 5, kinds: [TICKET_OPENED]) { edges { node {
    channel subject { ... on Ticket { id } } } } } } }"""


async def test_a_ticket_opened_at_the_store_is_a_store_event_in_the_timeline(
        tickets_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = people(tickets_sandbox, "zendesk", "none")[1]
    async with gateway() as client:
        customer = await who(client, "zendesk", person["zendesk"])
        made = await mutate(client, CREATE, new_key(), c=customer["id"], subject="Wrong size",
                            body="Asked at the counter to exchange it.", channel="STORE")
        ticket = made["data"]["createTicket"]["ticket"]
        assert ticket["channel"] == "store", made
        body = await graphql(client, TIMELINE, id=customer["id"])
    events = [e["node"] for e in body["data"]["customer"]["timeline"]["edges"]]
    assert {"channel": "STORE", "subject": {"id": ticket["id"]}} in events, body
