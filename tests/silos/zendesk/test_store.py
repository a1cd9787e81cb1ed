"""The Zendesk store: records in Zendesk's shape, Zendesk's validation, indexes and audits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from silos.zendesk import ZendeskNotFoundError, ZendeskStore, ZendeskValidationError
from silos.zendesk.errors import ParameterMissingError
from silos.zendesk.store import html_body, zendesk_time

FIELD = 360001234567
T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def alice(store: ZendeskStore, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "Alice Martin",
        "email": "Alice.Martin@example.com",
        "phone": "+1 (415) 555-0101",
        "external_id": "shopify-1001",
        "role": "end-user",
        "tags": ["vip", "vip", "wholesale"],
    }
    body.update(extra)
    return store.create_user({"user": body}, at=T0)


def ticket_body(requester: int, **extra: Any) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "requester_id": requester,
        "subject": "Where is order #1001?",
        "comment": {"body": "Hello,\n\nmy parcel <never> came.\nThanks"},
        "priority": "high",
        "type": "incident",
        "tags": ["order"],
        "custom_fields": [{"id": FIELD, "value": 1001}, {"id": 1, "value": "other"}],
        "via": {"channel": "web"},
    }
    ticket.update(extra)
    return {"ticket": ticket}


def test_zendesk_time_format() -> None:
    assert zendesk_time(datetime(2023, 9, 18, 23, 34, 37, 999_000, tzinfo=UTC)) == (
        "2023-09-18T23:34:37Z"
    )
    assert zendesk_time(datetime(2023, 9, 18, 23, 34, 37)) == "2023-09-18T23:34:37Z"
    eastern = timezone(timedelta(hours=-5))
    assert zendesk_time(datetime(2023, 9, 18, 18, 0, tzinfo=eastern)) == "2023-09-18T23:00:00Z"
    assert zendesk_time(None).endswith("Z")


def test_html_body_escapes_and_keeps_paragraphs() -> None:
    assert html_body("a <b>\nc\n\nd") == (
        '<div class="zd-comment" dir="auto"><p dir="auto">a &lt;b&gt;<br>c</p>'
        '<p dir="auto">d</p></div>'
    )


def test_account_owner_exists() -> None:
    store = ZendeskStore()
    agent = store.get_user(store.agent_id)
    assert agent is not None
    assert agent["email"] == "agent@c360-sandbox.example"
    assert agent["role"] == "admin" and agent["ticket_restriction"] is None
    assert store.user_count == 1


def test_create_user_shape_and_identities() -> None:
    store = ZendeskStore(subdomain="acme")
    user = alice(store)
    assert user["url"] == f"https://acme.zendesk.com/api/v2/users/{user['id']}.json"
    assert user["created_at"] == user["updated_at"] == "2024-03-01T09:30:00Z"
    assert (user["email"], user["phone"], user["external_id"]) == (
        "Alice.Martin@example.com",
        "+1 (415) 555-0101",
        "shopify-1001",
    )
    assert user["tags"] == ["vip", "wholesale"]
    assert user["shared_phone_number"] is False
    assert user["ticket_restriction"] == "requested" and user["restricted_agent"] is True
    assert user["verified"] is False and user["user_fields"] == {}
    identities = store.identities(user["id"])
    assert [(i["type"], i["value"], i["primary"]) for i in identities] == [
        ("email", "Alice.Martin@example.com", True),
        ("phone_number", "+1 (415) 555-0101", True),
    ]
    assert all(i["user_id"] == user["id"] for i in identities)
    assert identities[0]["url"] == (
        f"https://acme.zendesk.com/api/v2/users/{user['id']}/identities/{identities[0]['id']}.json"
    )


def test_user_without_email_or_phone() -> None:
    store = ZendeskStore()
    user = store.create_user({"user": {"name": "Walk In", "email": "", "external_id": 77}})
    assert user["email"] is None and user["phone"] is None
    assert user["shared_phone_number"] is None
    assert user["external_id"] == "77"
    assert store.identities(user["id"]) == []


def test_ids_are_deterministic_per_seed() -> None:
    def ids(seed: int) -> list[int]:
        store = ZendeskStore(seed=seed)
        user = alice(store)
        ticket = store.create_ticket(ticket_body(user["id"]), at=T0)
        audit = store.latest_audit(ticket["id"])
        assert audit is not None
        return [store.agent_id, user["id"], ticket["id"], audit["id"]]

    assert ids(3) == ids(3)
    assert ids(3) != ids(4)
    assert ids(3)[2] == 1


def test_lookups_are_case_insensitive() -> None:
    store = ZendeskStore()
    user = alice(store)
    assert store.find_user_by_email("alice.martin@EXAMPLE.com") is user
    assert store.find_user_by_external_id("SHOPIFY-1001") is user
    assert store.find_user_by_email("nobody@example.com") is None
    assert store.find_user_by_external_id("nope") is None
    assert store.get_user(user["id"]) is user


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({"name": "Other", "email": "ALICE.MARTIN@example.com"}, "email", "DuplicateValue"),
        ({"name": "Other", "external_id": "Shopify-1001"}, "external_id", "DuplicateValue"),
        ({"name": "Other", "email": "not-an-address"}, "email", "InvalidFormat"),
        ({"name": "  ", "email": "x@example.com"}, "name", "InvalidValue"),
        ({"email": "y@example.com"}, "name", "InvalidValue"),
        ({"name": "Other", "role": "owner"}, "role", "InvalidValue"),
        ({"name": "Other", "tags": "vip"}, "tags", "InvalidValue"),
        ({"name": "Other", "phone": 5550101}, "phone", "InvalidValue"),
    ],
)
def test_create_user_validation(body: dict[str, Any], field: str, error: str) -> None:
    store = ZendeskStore()
    alice(store)
    with pytest.raises(ZendeskValidationError) as caught:
        store.create_user({"user": body})
    assert list(caught.value.details) == [field]
    assert caught.value.details[field][0]["error"] == error
    assert store.user_count == 2


def test_duplicate_email_message_is_zendesks() -> None:
    store = ZendeskStore()
    alice(store)
    with pytest.raises(ZendeskValidationError) as caught:
        store.create_user({"user": {"name": "A", "email": "alice.martin@example.com"}})
    assert caught.value.details == {
        "email": [
            {
                "description": (
                    "Email: alice.martin@example.com is already being used by another user"
                ),
                "error": "DuplicateValue",
            }
        ]
    }


@pytest.mark.parametrize("body", [{}, {"user": "Alice"}, [], None])
def test_create_user_needs_the_user_object(body: Any) -> None:
    with pytest.raises(ParameterMissingError):
        ZendeskStore().create_user(body)


def test_search_users() -> None:
    store = ZendeskStore()
    a = alice(store)
    b = store.create_user(
        {"user": {"name": "Bob Martin", "email": "bob@shop.example", "phone": "415-555-0199"}}
    )
    c = store.create_user({"user": {"name": "Carla Alice Diaz", "phone": "+44 20 7946 0958"}})

    def ids(query: str) -> list[int]:
        return [user["id"] for user in store.search_users(query)]

    assert ids("alice.martin@example.com") == [a["id"]]
    assert ids("email:BOB@shop.example") == [b["id"]]
    assert ids("4155550101") == [a["id"]]
    assert ids("+1 415 555 0101") == [a["id"]]
    assert ids('phone:"(415) 555-0199"') == [b["id"]]
    assert ids("phone:4155550199") == [b["id"]]
    assert ids("+442079460958") == [c["id"]]
    assert ids("martin") == [a["id"], b["id"]]
    assert ids("alice") == [a["id"], c["id"]]
    assert ids("name:alice") == [a["id"], c["id"]]
    assert ids("alice martin") == [a["id"]]
    assert ids('name:"Carla Diaz"') == [c["id"]]
    assert ids("shop") == [b["id"]]
    assert ids("name:shop") == []
    assert ids("external_id:SHOPIFY-1001") == [a["id"]]
    assert ids("role:end-user martin") == [a["id"], b["id"]]
    assert ids("role:admin") == [store.agent_id]
    assert ids("zed") == []
    assert ids("") == []


def test_create_ticket_shape() -> None:
    store = ZendeskStore(subdomain="acme")
    user = alice(store)
    ticket = store.create_ticket(ticket_body(user["id"]), at=T0)
    assert ticket["id"] == 1
    assert ticket["url"] == "https://acme.zendesk.com/api/v2/tickets/1.json"
    assert ticket["status"] == "new"
    assert ticket["custom_status_id"] == store.custom_status_ids["new"]
    assert (ticket["subject"], ticket["raw_subject"]) == ("Where is order #1001?",) * 2
    assert ticket["description"] == "Hello,\n\nmy parcel <never> came.\nThanks"
    assert ticket["custom_fields"] == [{"id": FIELD, "value": "1001"}]
    assert ticket["fields"] == ticket["custom_fields"]
    assert ticket["via"] == {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}}
    assert ticket["requester_id"] == ticket["submitter_id"] == user["id"]
    assert ticket["is_public"] is True and ticket["recipient"] is None
    assert ticket["tags"] == ["order"]
    assert ticket["ticket_form_id"] == store.ticket_form_id
    assert store.get_ticket(1) is ticket
    assert list(store.requested_tickets(user["id"])) == [ticket]
    assert store.ticket_count == 1


def test_create_ticket_records_the_first_comment_and_a_create_audit() -> None:
    store = ZendeskStore()
    user = alice(store)
    ticket = store.create_ticket(ticket_body(user["id"]), at=T0)
    [comment] = store.ticket_comments(ticket["id"])
    [audit] = store.ticket_audits(ticket["id"])
    assert store.latest_audit(ticket["id"]) is audit
    assert comment["author_id"] == user["id"] and comment["public"] is True
    assert comment["audit_id"] == audit["id"] and comment["created_at"] == "2024-03-01T09:30:00Z"
    assert comment["html_body"].startswith('<div class="zd-comment"')
    assert audit["author_id"] == user["id"] and audit["via"]["channel"] == "web"
    comment_event, *creates = audit["events"]
    assert comment_event["type"] == "Comment" and comment_event["id"] == comment["id"]
    assert {event["field_name"]: event["value"] for event in creates} == {
        "requester_id": str(user["id"]),
        "subject": "Where is order #1001?",
        "status": "new",
        "priority": "high",
        "type": "incident",
        "tags": ["order"],
        str(FIELD): "1001",
        "ticket_form_id": str(store.ticket_form_id),
    }
    assert all(event["type"] == "Create" for event in creates)


def test_ticket_channels_and_submitters() -> None:
    store = ZendeskStore(subdomain="acme")
    user = alice(store)
    email = store.create_ticket(ticket_body(user["id"], via={"channel": "email"}))
    assert email["via"]["source"] == {
        "from": {"address": "Alice.Martin@example.com", "name": "Alice Martin"},
        "to": {"name": "acme", "address": "support@acme.zendesk.com"},
        "rel": None,
    }
    assert email["recipient"] == "support@acme.zendesk.com"
    api = store.create_ticket(ticket_body(user["id"], via=None))
    assert api["via"]["channel"] == "api" and api["submitter_id"] == store.agent_id
    mine = store.create_ticket({"ticket": {"comment": {"body": "note to self"}}})
    assert mine["requester_id"] == store.agent_id and mine["status"] == "new"
    assert mine["custom_fields"] == [{"id": FIELD, "value": None}]
    assert mine["priority"] is None and mine["type"] is None and mine["subject"] is None
    private = store.create_ticket(ticket_body(user["id"], comment={"body": "x", "public": False}))
    assert private["is_public"] is False
    voice = store.create_ticket(ticket_body(user["id"], via={"channel": "voice"}))
    assert voice["via"]["source"] == {"from": {}, "to": {}, "rel": None}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"requester_id": 12345}, "requester"),
        ({"requester_id": "abc"}, "requester"),
        ({"comment": {"body": "  "}}, "base"),
        ({"comment": "text"}, "base"),
        ({"status": "done"}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"type": "bug"}, "type"),
        ({"submitter_id": 999}, "submitter"),
        ({"comment": {"body": "x", "author_id": 999}}, "author_id"),
    ],
)
def test_create_ticket_validation(change: dict[str, Any], field: str) -> None:
    store = ZendeskStore()
    user = alice(store)
    with pytest.raises(ZendeskValidationError) as caught:
        store.create_ticket(ticket_body(user["id"], **change))
    assert list(caught.value.details) == [field]
    assert store.ticket_count == 0
    assert store.create_ticket(ticket_body(user["id"]))["id"] == 1


def test_update_ticket_records_comment_and_changes() -> None:
    store = ZendeskStore()
    user = alice(store)
    ticket = store.create_ticket(ticket_body(user["id"]), at=T0)
    later = T0 + timedelta(days=2)
    updated = store.update_ticket(
        ticket["id"],
        {"ticket": {"status": "solved", "priority": "low", "comment": {"body": "Found it."}}},
        at=later,
    )
    assert updated is ticket
    assert ticket["status"] == "solved" and ticket["priority"] == "low"
    assert ticket["custom_status_id"] == store.custom_status_ids["solved"]
    assert ticket["updated_at"] == "2024-03-03T09:30:00Z" != ticket["created_at"]
    audit = store.latest_audit(ticket["id"])
    assert audit is not None and audit["created_at"] == "2024-03-03T09:30:00Z"
    assert audit["author_id"] == store.agent_id and audit["via"]["channel"] == "api"
    comment_event, *changes = audit["events"]
    assert comment_event["type"] == "Comment" and comment_event["author_id"] == store.agent_id
    assert [(e["type"], e["field_name"], e["value"], e["previous_value"]) for e in changes] == [
        ("Change", "status", "solved", "new"),
        ("Change", "priority", "low", "high"),
    ]
    comments = store.ticket_comments(ticket["id"])
    assert [c["body"] for c in comments][-1] == "Found it."
    assert len(store.ticket_audits(ticket["id"])) == 2


def test_agent_comment_opens_a_new_ticket_and_public_is_inherited() -> None:
    store = ZendeskStore()
    user = alice(store)
    ticket = store.create_ticket(ticket_body(user["id"], comment={"body": "x", "public": False}))
    store.update_ticket(ticket["id"], {"ticket": {"comment": {"body": "internal note"}}})
    assert ticket["status"] == "open"
    assert store.ticket_comments(ticket["id"])[-1]["public"] is False
    assert ticket["is_public"] is False
    store.update_ticket(
        ticket["id"],
        {"ticket": {"comment": {"body": "hi", "public": True, "author_id": user["id"]}}},
    )
    assert ticket["is_public"] is True
    assert store.ticket_comments(ticket["id"])[-1]["author_id"] == user["id"]
    audit = store.latest_audit(ticket["id"])
    assert audit is not None and audit["via"]["channel"] == "web"
    end_user = store.create_ticket(ticket_body(user["id"]))
    store.update_ticket(
        end_user["id"], {"ticket": {"comment": {"body": "any news?", "author_id": user["id"]}}}
    )
    assert end_user["status"] == "new"


def test_closed_ticket_refuses_updates() -> None:
    store = ZendeskStore()
    user = alice(store)
    ticket = store.create_ticket(ticket_body(user["id"]))
    store.update_ticket(ticket["id"], {"ticket": {"status": "closed"}})
    with pytest.raises(ZendeskValidationError) as caught:
        store.update_ticket(ticket["id"], {"ticket": {"comment": {"body": "reopen?"}}})
    assert caught.value.details == {"status": [{"description": "closed prevents ticket update"}]}
    assert ticket["status"] == "closed"


def test_update_errors_and_noop() -> None:
    store = ZendeskStore()
    user = alice(store)
    ticket = store.create_ticket(ticket_body(user["id"]), at=T0)
    with pytest.raises(ZendeskNotFoundError):
        store.update_ticket(99, {"ticket": {"status": "open"}})
    with pytest.raises(ParameterMissingError):
        store.update_ticket(ticket["id"], {"status": "open"})
    with pytest.raises(ZendeskValidationError):
        store.update_ticket(ticket["id"], {"ticket": {"status": "finished"}})
    before = store.latest_audit(ticket["id"])
    store.update_ticket(ticket["id"], {"ticket": {"status": "new", "comment": {"body": " "}}})
    assert store.latest_audit(ticket["id"]) is before
    assert ticket["updated_at"] == ticket["created_at"]


def test_comments_and_audits_stay_in_time_order() -> None:
    store = ZendeskStore()
    user = alice(store)
    ticket = store.create_ticket(ticket_body(user["id"]), at=T0)
    store.update_ticket(
        ticket["id"], {"ticket": {"comment": {"body": "late"}}}, at=T0 + timedelta(days=3)
    )
    store.update_ticket(
        ticket["id"], {"ticket": {"comment": {"body": "early"}}}, at=T0 + timedelta(days=1)
    )
    assert [c["body"] for c in store.ticket_comments(ticket["id"])][1:] == ["early", "late"]
    times = [a["created_at"] for a in store.ticket_audits(ticket["id"])]
    assert times == sorted(times)
    latest = store.latest_audit(ticket["id"])
    assert latest is not None and latest["events"][0]["body"] == "early"


def test_unknown_ids_read_as_empty() -> None:
    store = ZendeskStore()
    assert store.get_ticket(1) is None
    assert store.requested_tickets(5) == ()
    assert store.ticket_comments(5) == () and store.ticket_audits(5) == ()
    assert store.latest_audit(5) is None
    assert store.identities(5) == []


def test_every_ticket_write_is_kept_for_the_search_index() -> None:
    times = iter([100.0, 200.0, 150.0, 300.0])
    store = ZendeskStore(clock=lambda: next(times))
    user = alice(store)
    ticket = store.create_ticket(
        {"ticket": {"requester_id": user["id"], "comment": {"body": "Hi"}, "tags": ["a"]}}, at=T0)
    store.update_ticket(ticket["id"], {"ticket": {"status": "open"}})
    store.update_ticket(ticket["id"], {"ticket": {"status": "open"}})  # no change, no write
    store.update_ticket(ticket["id"], {"ticket": {"status": "solved"}})
    ticket["tags"].append("changed later")
    assert store.searchable_ticket(ticket["id"], 99.9) is None
    created = store.searchable_ticket(ticket["id"], 199)
    assert created is not None and created["status"] == "new" and created["tags"] == ["a"]
    assert set(created) == {"id", "requester_id", "status", "priority", "type", "tags",
                            "created_at", "updated_at"}
    # a clock that steps back never reorders writes: "solved" (150) counts as written at 200,
    # with "open", and the later of two writes at one instant is what the index holds
    solved = store.searchable_ticket(ticket["id"], 200)
    assert solved is not None and solved["status"] == "solved"
    store.update_ticket(ticket["id"], {"ticket": {"priority": "high"}})
    before = store.searchable_ticket(ticket["id"], 299)
    after = store.searchable_ticket(ticket["id"], 300)
    assert before is not None and (before["status"], before["priority"]) == ("solved", None)
    assert after is not None and after["priority"] == "high"
    assert store.searchable_ticket(999, 1e12) is None
    assert list(store.ticket_ids()) == [ticket["id"]]
