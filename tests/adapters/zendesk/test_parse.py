"""The pure Zendesk parse functions over real Zendesk payloads."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.models import Customer, Ticket, TicketAudit, TicketComment
from adapters.zendesk.parse import (
    cursor_next,
    export_next,
    identities_by_user,
    is_end_user,
    order_reference,
    parse_audits,
    parse_comments,
    parse_search_tickets,
    parse_ticket,
    parse_tickets,
    parse_user,
    parse_users,
    records,
    search_count,
    search_has_next,
    split_name,
)
from tests.adapters.zendesk.payloads import CASES

pytestmark = pytest.mark.vendor_payloads

Payload = Callable[[str], Any]
ORDER_FIELD = 360001234567


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mary Ann Smith", ("Mary Ann", "Smith")),
        ("  Alice   Martin ", ("Alice", "Martin")),
        ("Cher", ("Cher", None)),
        ("   ", (None, None)),
        (None, (None, None)),
    ],
)
def test_a_zendesk_name_is_split_at_its_last_word(
    name: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert split_name(name) == expected


def test_user_show(payload: Payload) -> None:
    user = payload("zendesk/user_show.json")["user"]
    customer = parse_user(user, source="helpdesk")
    assert (customer.source, customer.kind, customer.id) == ("helpdesk", "zendesk", "6130907993114")
    assert (customer.first_name, customer.last_name) == ("09cace", None)
    assert customer.emails == ("automationsqa@z3nmail.com",)
    assert customer.phones == ()
    assert customer.created_at == at("2023-09-09 23:51:58")
    assert customer.updated_at == at("2023-09-18 23:22:25")
    assert customer.references == ()
    assert not is_end_user(user)


def test_users_cursor_page_holds_an_end_user(payload: Payload) -> None:
    body = payload("zendesk/users_cursor_page.json")
    [customer] = parse_users(body, end_users_only=True)
    assert customer.id == "6130869168922"
    assert (customer.first_name, customer.last_name) == ("The", "Customer")
    assert customer.emails == ("customer@example.com",)
    assert customer.created_at == at("2023-09-09 23:52:05")
    assert cursor_next(body) == body["meta"]["after_cursor"]


def test_show_many_user_without_email_keeps_its_name(payload: Payload) -> None:
    body = payload("zendesk/users_show_many.json")
    [customer] = parse_users(body, end_users_only=True)
    assert customer.id == "6164047594522"
    assert (customer.first_name, customer.last_name, customer.emails) == ("testUser", None, ())


def test_agents_and_admins_are_not_customers(payload: Payload) -> None:
    admin = payload("zendesk/user_show.json")["user"]
    end_user = payload("zendesk/users_show_many.json")["users"][0]
    body = {"users": [admin, end_user]}
    assert [c.id for c in parse_users(body)] == ["6130907993114", "6164047594522"]
    assert [c.id for c in parse_users(body, end_users_only=True)] == ["6164047594522"]
    deleted = {**end_user, "active": False}
    assert parse_users({"users": [deleted]}, end_users_only=True) == []


def test_identities_add_emails_and_phones(payload: Payload) -> None:
    identity = payload("zendesk/user_identity_object.json")
    phone = {**identity, "id": 1, "type": "phone_number", "value": "+1 (415) 555-0101"}
    same_phone = {**identity, "id": 2, "type": "phone_number", "value": "+14155550101"}
    twitter = {**identity, "id": 3, "type": "twitter", "value": "@someone"}
    user = {**payload("zendesk/users_show_many.json")["users"][0], "id": identity["user_id"],
            "email": "Example@Example.com"}
    grouped = identities_by_user([identity, phone, same_phone, twitter])
    assert list(grouped) == ["21207616708"]
    customer = parse_user(user, grouped["21207616708"])
    assert customer.id == "21207616708"
    assert customer.emails == ("Example@Example.com",)
    assert customer.phones == ("+1 (415) 555-0101",)
    sideloaded = parse_users({"users": [{**user, "email": None}],
                              "identities": [identity, phone]})
    assert sideloaded[0].emails == ("example@example.com",)
    assert sideloaded[0].phones == ("+1 (415) 555-0101",)


def test_configured_attributes_become_references(payload: Payload) -> None:
    user = copy.deepcopy(payload("zendesk/user_show.json")["user"])
    assert parse_user(user, references={"external_id": "shopify"}).references == ()
    user["external_id"] = "7008881234"
    user["user_fields"] = {"loyalty_card": "LC-0001234567", "empty": ""}
    refs = parse_user(
        user,
        references={
            "external_id": "shopify",
            "user_fields.loyalty_card": "loyalty",
            "user_fields.empty": "square",
        },
    ).references
    assert refs == (("shopify", "7008881234"), ("loyalty", "LC-0001234567"))


def test_ticket_show(payload: Payload) -> None:
    raw = payload("zendesk/ticket_show.json")["ticket"]
    ticket = parse_ticket(raw, source="helpdesk", order_field_id=ORDER_FIELD)
    assert (ticket.source, ticket.kind, ticket.id) == ("helpdesk", "zendesk", "1")
    assert ticket.subject == "Sample ticket: Meet the ticket"
    assert (ticket.status, ticket.priority, ticket.channel) == ("open", "normal", "sample_ticket")
    assert ticket.requester_id == "6130869168922"
    assert ticket.created_at == ticket.updated_at == at("2023-09-09 23:52:05")
    assert ticket.tags == ("sample", "support", "zendesk")
    assert ticket.order_reference is None


def test_the_order_reference_comes_from_the_configured_field(payload: Payload) -> None:
    raw = copy.deepcopy(payload("zendesk/ticket_show.json")["ticket"])
    raw["custom_fields"] = [{"id": 111, "value": "other"}, {"id": ORDER_FIELD, "value": "#1042"}]
    assert parse_ticket(raw, order_field_id=ORDER_FIELD).order_reference == "#1042"
    assert order_reference(raw, None) is None
    assert order_reference(raw, 222) is None
    raw["custom_fields"] = [{"id": ORDER_FIELD, "value": None}]
    assert order_reference(raw, ORDER_FIELD) is None


def test_ticket_lists(payload: Payload) -> None:
    [many] = parse_tickets(payload("zendesk/tickets_show_many.json"))
    assert (many.id, many.subject, many.status, many.priority, many.channel) == (
        "3861", "test", "new", None, "api")
    assert many.requester_id == "6130907993114"
    first = payload("zendesk/tickets_cursor_page_first.json")
    following = payload("zendesk/tickets_cursor_page_next.json")
    assert [t.id for t in parse_tickets(first) + parse_tickets(following)] == ["1", "2"]
    assert cursor_next(first) == "eyJvIjoibmljZV9pZCIsInYiOiJhUUVBQUFBQUFBQUEifQ=="
    second = parse_tickets(following)[0]
    assert (second.subject, second.channel, second.priority) == ("wow this is great", "web", None)



def test_ticket_search_results(payload: Payload) -> None:
    body = payload("zendesk/search_tickets_result.json")
    [found] = parse_search_tickets(body, source="helpdesk")
    assert (found.source, found.id, found.priority, found.subject) == (
        "helpdesk", "4", "urgent", "nyanyanyanya")
    assert (found.requester_id, found.status) == ("377922500012", "new")
    assert found.created_at == at("2019-06-06 10:02:04")
    assert (search_count(body), search_has_next(body)) == (1, False)
    user = {**payload("zendesk/search_users_result.json")["results"][0], "result_type": "user"}
    mixed = {**body, "results": [user, *body["results"]], "count": 2}
    assert [t.id for t in parse_search_tickets(mixed)] == ["4"]


@pytest.mark.parametrize("count", [None, -1, "3", True, 2.5])
def test_a_search_count_must_be_a_count(count: object) -> None:
    with pytest.raises(TypeError):
        search_count({"results": [], "count": count})


def test_ticket_audits(payload: Payload) -> None:
    body = payload("zendesk/ticket_audits_cursor_page.json")
    [audit] = parse_audits(body)
    assert (audit.id, audit.ticket_id, audit.author_id) == ("6130852545178", "1", "6130907993114")
    assert audit.created_at == at("2023-09-09 23:52:05")
    assert [e.type for e in audit.events] == ["Comment"] + ["Create"] * 7
    by_field = {e.field_name: e.value for e in audit.events if e.type == "Create"}
    assert by_field["requester_id"] == "6130869168922"
    assert by_field["tags"] == "sample support zendesk"
    assert by_field["status"] == "open"
    assert cursor_next(body) == body["meta"]["after_cursor"]


def test_ticket_comments(payload: Payload) -> None:
    body = payload("zendesk/ticket_comments.json")
    comments = parse_comments(body, "77")
    assert [(c.id, c.ticket_id, c.author_id, c.public) for c in comments] == [
        ("2", "77", "377922500012", True), ("3", "77", "377922500012", True)]
    assert {c.body for c in comments} == {"Mail to create fixture ticket for testing"}
    assert [c.created_at for c in comments] == [at("2019-06-03 01:23:47"),
                                                 at("2019-06-03 02:23:47")]
    assert cursor_next(body) == "xxx"


def test_search_results_are_users(payload: Payload) -> None:
    [admin] = [parse_user(r) for r in records(payload("zendesk/search_users_result.json"),
                                               "results")]
    assert (admin.id, admin.first_name, admin.last_name, admin.emails) == (
        "1234", "Foo", "Bar", ("a@a.com",))
    [exported] = [parse_user(r) for r in records(
        payload("zendesk/search_export_users_cursor_page.json"), "results")]
    assert (exported.first_name, exported.last_name) == ("blah", "blah")
    assert exported.emails == ("z3nz3n@zenmail.com",)


def test_export_and_cursor_ends() -> None:
    assert export_next({"end_of_stream": False, "after_cursor": "MTU3||4|"}) == "MTU3||4|"
    assert export_next({"end_of_stream": True, "after_cursor": "MTU3||4|"}) is None
    assert cursor_next({"meta": {"has_more": False, "after_cursor": None}}) is None
    with pytest.raises(ValueError):
        export_next({"end_of_stream": False, "after_cursor": None})
    with pytest.raises(ValueError):
        cursor_next({"meta": {"has_more": True, "after_cursor": None}})


@pytest.mark.parametrize(
    "broken",
    [
        {"id": {"nested": 1}},
        {"id": True},
        {"id": "12a"},
        {"requester_id": None},
        {"status": 3},
        {"created_at": 1694303525},
        {"created_at": "yesterday"},
        {"tags": "one,two"},
        {"via": "web"},
    ],
)
def test_a_ticket_of_the_wrong_shape_is_refused(payload: Payload, broken: dict[str, Any]) -> None:
    raw = {**payload("zendesk/ticket_show.json")["ticket"], **broken}
    with pytest.raises((TypeError, ValueError)):
        parse_ticket(raw)


@pytest.mark.parametrize(("path", "parse"), CASES, ids=[path for path, _ in CASES])
def test_every_case_parses_its_whole_payload(
    payload: Payload, path: str, parse: Callable[[Any], object]
) -> None:
    result = parse(payload(path))
    models = result if isinstance(result, list) else [result]
    assert models
    for model in models:
        assert isinstance(model, Customer | Ticket | TicketAudit | TicketComment)
        assert model.id.isdigit()
