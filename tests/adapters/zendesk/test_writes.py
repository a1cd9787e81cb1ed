"""The Zendesk adapter's writes (``TicketWriter``) against the emulated Zendesk silo, their
repeats after a lost answer, their typed errors, and the write builders and parsers."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from adapters.errors import (
    ConfigError,
    RecordNotFound,
    UpstreamRejected,
    UpstreamTimeout,
)
from adapters.models import NewComment, NewRequester, NewTicket
from adapters.protocols import TicketSource, TicketWriter
from adapters.zendesk import ZendeskAdapter, ZendeskConfig, parse
from adapters.zendesk import requests as calls
from silos.zendesk import ZendeskSiloConfig, ZendeskStore, create_app

pytestmark = pytest.mark.anyio

URL = "https://c360-sandbox.zendesk.com"
SILO = ZendeskSiloConfig()
FIELD = SILO.order_number_field_id
PERSON = NewRequester(name="Jane Doe", email="jane.private@example.org",
                      phone="+1 415 555 0101", external_id="golden-7")
TICKETS = "POST /api/v2/tickets.json"
UPDATE = "PUT /api/v2/tickets/{ticket_id}.json"


async def no_sleep(seconds: float) -> None:
    return None


class Harness:
    def __init__(self, *, order_field: int | None = FIELD) -> None:
        self.store = ZendeskStore(seed=3)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(self.store, SILO)), base_url=URL)
        self.adapter = ZendeskAdapter(
            ZendeskConfig(URL, SILO.email, SILO.api_token, order_number_field_id=order_field),
            self.client, source="helpdesk", sleep=no_sleep, rng=random.Random(1))

    async def faults(self, **faults: Any) -> None:
        response = await self.client.post("/_sandbox/faults", json=faults)
        assert response.status_code == 200, response.text

    async def stats(self) -> dict[str, int]:
        return dict((await self.client.get("/_sandbox/stats")).json()["endpoints"])

    async def requester(self) -> str:
        return await self.adapter.ensure_requester(PERSON)


@pytest.fixture
async def zd() -> Any:
    harness = Harness()
    async with harness.client:
        yield harness


def new_ticket(requester: str, **changes: Any) -> NewTicket:
    values: dict[str, Any] = {
        "requester_id": requester, "subject": "Where is my order?",
        "body": "It has not arrived.", "channel": "phone", "order_reference": "#1042",
        **changes}
    return NewTicket(**values)


def test_the_adapter_is_a_ticket_writer() -> None:
    adapter = Harness().adapter
    assert isinstance(adapter, TicketWriter)
    assert isinstance(adapter, TicketSource)


# -- ensure_requester ---------------------------------------------------------------------------
async def test_ensure_requester_twice_is_one_end_user(zd: Harness) -> None:
    first = await zd.requester()
    again = await zd.adapter.ensure_requester(PERSON)
    assert first == again
    assert zd.store.user_count == 2  # the account owner and Jane
    user = zd.store.get_user(int(first))
    assert user is not None and user["role"] == "end-user"
    assert user["external_id"] == "golden-7" and user["phone"] == "+1 415 555 0101"
    [customer] = await zd.adapter.customers_by_ids([first])
    assert customer is not None and customer.emails == ("jane.private@example.org",)


async def test_ensure_requester_finds_an_existing_user_by_email(zd: Harness) -> None:
    existing = zd.store.create_user({"user": {"name": "J. Doe",
                                              "email": "Jane.Private@example.org"}})
    assert await zd.requester() == str(existing["id"])
    assert zd.store.find_user_by_external_id("golden-7") is existing


async def test_ensure_requester_refused_is_typed_without_personal_data(zd: Harness) -> None:
    zd.store.create_user({"user": {"name": "Other", "email": "jane.private@example.org",
                                   "external_id": "someone-else"}})
    zd.store.create_user({"user": {"name": "Jane", "external_id": "golden-7"}})
    with pytest.raises(UpstreamRejected) as caught:
        await zd.requester()
    assert caught.value.status == 422
    assert "jane" not in str(caught.value).lower() and "@" not in str(caught.value)


# -- create_ticket ----------------------------------------------------------------------------
async def test_create_ticket_reads_back_through_the_reads(zd: Harness) -> None:
    requester = await zd.requester()
    created = await zd.adapter.create_ticket(new_ticket(requester, tags=("vip",)), key="k-1")
    assert created.subject == "Where is my order?" and created.status == "new"
    assert created.channel == "phone" and created.order_reference == "#1042"
    assert created.requester_id == requester and created.source == "helpdesk"
    [[read]] = await zd.adapter.tickets_by_requester_ids([requester])
    assert (read.id, read.subject, read.status, read.order_reference, read.channel) == (
        created.id, "Where is my order?", "new", "#1042", "phone")
    assert set(read.tags) == {"vip", "channel_phone"}
    record = zd.store.get_ticket(int(created.id))
    assert record is not None and record["via"]["channel"] == "api"
    assert record["custom_fields"] == [{"id": FIELD, "value": "#1042"}]
    [comments] = await zd.adapter.comments_by_ticket_ids([created.id])
    assert [(c.body, c.public) for c in comments] == [("It has not arrived.", True)]


async def test_create_ticket_again_with_the_same_key_is_the_same_ticket(zd: Harness) -> None:
    requester = await zd.requester()
    first = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    again = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    assert again == first
    assert zd.store.ticket_count == 1


async def test_a_ticket_is_found_by_its_key_after_the_key_is_forgotten(zd: Harness) -> None:
    requester = await zd.requester()
    assert await zd.adapter.ticket_by_key("k-old") is None
    first = await zd.adapter.create_ticket(new_ticket(requester), key="k-old")
    await zd.adapter.create_ticket(new_ticket(requester, subject="Other"), key="k-other")
    found = await zd.adapter.ticket_by_key("k-old")
    assert found is not None and (found.id, found.subject) == (first.id, first.subject)
    assert zd.store.ticket_count == 2


async def test_create_ticket_after_a_lost_answer_is_one_ticket(zd: Harness) -> None:
    requester = await zd.requester()
    await zd.client.post("/_sandbox/reset")
    await zd.faults(lost_response=True, endpoints=[TICKETS])
    with pytest.raises(UpstreamTimeout):
        await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    assert zd.store.ticket_count == 1
    # retried in the call itself with the same key: every retry was a hit
    assert (await zd.stats())[TICKETS] == 3
    await zd.faults(lost_response=False)
    ticket = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    assert zd.store.ticket_count == 1
    assert [t.id for t in (await zd.adapter.tickets_by_requester_ids([requester]))[0]] == [
        ticket.id]
    assert (await zd.stats())[TICKETS] == 4


async def test_create_ticket_errors_are_typed(zd: Harness) -> None:
    requester = await zd.requester()
    await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    with pytest.raises(UpstreamRejected) as reused:
        await zd.adapter.create_ticket(new_ticket(requester, subject="Other"), key="k-1")
    assert reused.value.status == 400
    with pytest.raises(UpstreamRejected) as unknown:
        await zd.adapter.create_ticket(new_ticket("999"), key="k-2")
    assert unknown.value.status == 422
    with pytest.raises(RecordNotFound):
        await zd.adapter.create_ticket(new_ticket("not-an-id"), key="k-3")
    assert zd.store.ticket_count == 1


async def test_an_order_reference_needs_the_configured_field() -> None:
    harness = Harness(order_field=None)
    async with harness.client:
        requester = await harness.requester()
        with pytest.raises(ConfigError, match="order_number_field_id"):
            await harness.adapter.create_ticket(new_ticket(requester), key="k")
        ticket = await harness.adapter.create_ticket(
            new_ticket(requester, order_reference=None), key="k")
    assert ticket.order_reference is None and ticket.channel == "phone"


# -- add_comment ------------------------------------------------------------------------------
async def test_add_comment_is_read_back(zd: Harness) -> None:
    requester = await zd.requester()
    ticket = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    answered = await zd.adapter.add_comment(
        ticket.id, NewComment("We are on it.", public=False), key="c-1")
    assert answered.id == ticket.id and answered.status == "open"  # an agent reply opens it
    [comments] = await zd.adapter.comments_by_ticket_ids([ticket.id])
    assert [(c.body, c.public) for c in comments][1:] == [("We are on it.", False)]
    audits = zd.store.ticket_audits(int(ticket.id))
    assert audits[-1]["metadata"]["custom"] == {calls.KEY_METADATA: "c-1"}


async def test_add_comment_after_a_lost_answer_is_one_comment(zd: Harness) -> None:
    requester = await zd.requester()
    ticket = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    await zd.faults(lost_response=True, endpoints=[UPDATE])
    with pytest.raises(UpstreamTimeout):
        await zd.adapter.add_comment(ticket.id, NewComment("Sorry!"), key="c-1")
    await zd.faults(lost_response=False)
    await zd.client.post("/_sandbox/reset")
    again = await zd.adapter.add_comment(ticket.id, NewComment("Sorry!"), key="c-1")
    assert again.id == ticket.id
    bodies = [c["body"] for c in zd.store.ticket_comments(int(ticket.id))]
    assert bodies == ["It has not arrived.", "Sorry!"]
    stats = await zd.stats()
    assert UPDATE not in stats  # found in the audits: not written again
    assert stats["GET /api/v2/tickets/{ticket_id}/audits.json"] == 1
    other = await zd.adapter.add_comment(ticket.id, NewComment("Sorry!"), key="c-2")
    assert other.id == ticket.id
    assert len(zd.store.ticket_comments(int(ticket.id))) == 3


async def test_add_comment_by_the_requester(zd: Harness) -> None:
    requester = await zd.requester()
    ticket = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    await zd.adapter.add_comment(ticket.id, NewComment("Any news?", author_id=requester),
                                 key="c-1")
    [comments] = await zd.adapter.comments_by_ticket_ids([ticket.id])
    assert comments[-1].author_id == requester and comments[-1].body == "Any news?"


async def test_add_comment_errors_are_typed(zd: Harness) -> None:
    with pytest.raises(RecordNotFound):
        await zd.adapter.add_comment("999", NewComment("hello"), key="c-1")
    with pytest.raises(RecordNotFound):
        await zd.adapter.add_comment("abc", NewComment("hello"), key="c-1")
    requester = await zd.requester()
    ticket = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    await zd.adapter.set_status(ticket.id, "closed", key="s-1")
    with pytest.raises(UpstreamRejected) as closed:
        await zd.adapter.add_comment(ticket.id, NewComment("late"), key="c-2")
    assert closed.value.status == 422 and not isinstance(closed.value, RecordNotFound)


# -- set_status -------------------------------------------------------------------------------
async def test_set_status_and_repeat(zd: Harness) -> None:
    requester = await zd.requester()
    ticket = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    pending = await zd.adapter.set_status(ticket.id, "pending", key="s-1")
    again = await zd.adapter.set_status(ticket.id, "pending", key="s-1")
    assert pending.status == again.status == "pending"
    [read] = await zd.adapter.tickets_by_ids([ticket.id])
    assert read is not None and read.status == "pending"
    assert len(zd.store.ticket_audits(int(ticket.id))) == 2  # the repeat changed nothing


async def test_set_status_after_a_lost_answer_and_on_a_closed_ticket(zd: Harness) -> None:
    requester = await zd.requester()
    ticket = await zd.adapter.create_ticket(new_ticket(requester), key="k-1")
    await zd.faults(lost_response=True, endpoints=[UPDATE])
    with pytest.raises(UpstreamTimeout):
        await zd.adapter.set_status(ticket.id, "closed", key="s-1")
    await zd.faults(lost_response=False)
    closed = await zd.adapter.set_status(ticket.id, "closed", key="s-1")
    assert closed.status == "closed"
    with pytest.raises(UpstreamRejected) as refused:
        await zd.adapter.set_status(ticket.id, "open", key="s-2")
    assert refused.value.status == 422
    with pytest.raises(RecordNotFound):
        await zd.adapter.set_status("999", "open", key="s-3")
    with pytest.raises(UpstreamRejected):
        await zd.adapter.set_status(ticket.id, "archived", key="s-4")


# -- builders and parsers ---------------------------------------------------------------------
def test_create_ticket_request() -> None:
    write = calls.create_ticket(
        requester_id="42", subject="S", body="B", public=True, channel="Store ",
        tags=("vip", "channel_store"), order_reference="#1", order_field_id=7, key="k")
    assert write.method == "POST" and write.path == "/api/v2/tickets.json"
    assert write.headers == {"Idempotency-Key": "k"}
    assert write.body == {"ticket": {
        "external_id": "k", "subject": "S", "comment": {"body": "B", "public": True},
        "requester_id": 42,
        "tags": ["vip", "channel_store"], "custom_fields": [{"id": 7, "value": "#1"}]}}
    with pytest.raises(ValueError):
        calls.create_ticket(requester_id="42", subject="S", body="B", public=True,
                            channel="web", tags=(), order_reference="#1",
                            order_field_id=None, key="k")


def test_update_and_user_requests() -> None:
    comment = calls.add_comment("5", "hi", public=False, author_id="9", key="k")
    assert comment.body == {"ticket": {"comment": {"body": "hi", "public": False,
                                                   "author_id": 9},
                                       "metadata": {"c360_key": "k"}}}
    status = calls.set_status("5", "solved", key="k")
    assert status.method == "PUT" and status.path == "/api/v2/tickets/5.json"
    assert status.body == {"ticket": {"status": "solved", "metadata": {"c360_key": "k"}}}
    user = calls.create_or_update_user("Jane", None, None, "g-1")
    assert user.body == {"user": {"name": "Jane", "external_id": "g-1",
                                  "skip_verify_email": True}}
    assert calls.channel_tag("In Store") == "channel_in_store"


def test_channel_is_read_from_the_tag_only_for_api_tickets() -> None:
    assert parse.ticket_channel("api", ["x", "channel_email"]) == "email"
    assert parse.ticket_channel(None, ["channel_chat"]) == "chat"
    assert parse.ticket_channel("api", ["channel_"]) == "api"
    assert parse.ticket_channel("voice", ["channel_web"]) == "voice"


def test_audits_carry_key() -> None:
    def page(*customs: Any) -> dict[str, Any]:
        return {"audits": [{"metadata": {"system": {}, "custom": c}} for c in customs]}

    assert parse.audits_carry_key(page({}, {"c360_key": "k"}), "k")
    assert parse.audits_carry_key(page({"custom": {"c360_key": "k"}}), "k")
    assert not parse.audits_carry_key(page({"c360_key": "other"}, {}), "k")
    assert not parse.audits_carry_key({"audits": [{"id": 1}]}, "k")
    with pytest.raises(TypeError):
        parse.audits_carry_key(page("nope"), "k")


@pytest.mark.vendor_payloads
def test_write_answers_parse(payload: Any) -> None:
    created = payload("zendesk/ticket_create_response.json")
    ticket = parse.parse_ticket(parse.ticket_of(created))
    assert ticket.id == "4" and ticket.channel == "api" and ticket.status == "new"
    assert parse.user_id(payload("zendesk/user_create_response.json")) == "369895320554"
    shown = parse.parse_ticket(parse.ticket_of(payload("zendesk/ticket_show.json")))
    assert shown.id
    audits = payload("zendesk/ticket_audits_cursor_page.json")
    assert not parse.audits_carry_key(audits, "k")
    assert parse.audit_custom(audits["audits"][0]) == {}
