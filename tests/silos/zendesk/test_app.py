"""The Zendesk silo over HTTP: routes, auth, pagination walks, errors, control API and faults."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import ASGIApp

from silos.zendesk import ZendeskSiloConfig, ZendeskStore, create_app
from silos.zendesk.errors import RATE_LIMITED_TEXT
from tests.shapes import assert_same_shape

BASE = "https://c360-sandbox.zendesk.com"
CONFIG = ZendeskSiloConfig(retry_after_seconds=93)
AUTH = (f"{CONFIG.email}/token", CONFIG.api_token)
FIELD = CONFIG.order_number_field_id
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
CHANNELS = ("web", "email", "voice", "chat", "web")
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}


@dataclass
class Sandbox:
    store: ZendeskStore
    app: ASGIApp
    alice: dict[str, Any]
    bob: dict[str, Any]
    walkers: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)


def build() -> Sandbox:
    store = ZendeskStore(seed=11)
    alice = store.create_user(
        {
            "user": {
                "name": "Alice Martin",
                "email": "alice@example.com",
                "phone": "+1 (415) 555-0101",
                "external_id": "shopify-1001",
                "role": "end-user",
                "tags": ["vip"],
            }
        },
        at=T0 - timedelta(days=30),
    )
    bob = store.create_user({"user": {"name": "Bob Stone", "phone": "+14155550199"}}, at=T0)
    sandbox = Sandbox(store, create_app(store, CONFIG), alice, bob)
    for i in range(7):
        sandbox.walkers.append(
            store.create_user({"user": {"name": f"Pat Walker{i}", "email": f"walker{i}@ex.org"}})
        )
    for i, channel in enumerate(CHANNELS):
        at = T0 + timedelta(days=i)
        ticket = store.create_ticket(
            {
                "ticket": {
                    "requester_id": alice["id"],
                    "subject": f"Order #{1000 + i}",
                    "comment": {"body": f"Where is order #{1000 + i}?"},
                    "priority": "normal",
                    "type": "incident",
                    "tags": ["order"],
                    "custom_fields": [{"id": FIELD, "value": f"#{1000 + i}"}],
                    "via": {"channel": channel},
                }
            },
            at=at,
        )
        sandbox.tickets.append(ticket)
    first = sandbox.tickets[0]["id"]
    for hours in range(1, 5):
        store.update_ticket(
            first,
            {"ticket": {"comment": {"body": f"Update {hours}", "public": True}}},
            at=T0 + timedelta(hours=hours),
        )
    store.update_ticket(
        sandbox.tickets[1]["id"], {"ticket": {"status": "solved"}}, at=T0 + timedelta(days=9)
    )
    return sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    return build()


def client(app: ASGIApp, auth: Any = AUTH) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, auth=auth)


async def cursor_walk(api: httpx.AsyncClient, url: str, name: str) -> tuple[list[Any], str | None]:
    """Follow ``links.next`` until ``has_more`` is false: (records, the last page's prev link)."""
    records: list[Any] = []
    while True:
        response = await api.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        records.extend(body[name])
        if not body["meta"]["has_more"]:
            return records, body["links"]["prev"]
        url = body["links"]["next"]
        assert url.startswith(BASE) and "page%5Bafter%5D=" in url


async def cursor_walk_back(api: httpx.AsyncClient, url: str, name: str) -> list[Any]:
    records: list[Any] = []
    while True:
        body = (await api.get(url)).json()
        records[:0] = body[name]
        if not body["meta"]["has_more"]:
            return records
        url = body["links"]["prev"]


async def offset_walk(api: httpx.AsyncClient, url: str, name: str) -> tuple[list[Any], int]:
    records: list[Any] = []
    count = -1
    while url:
        response = await api.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        records.extend(body[name])
        count = body["count"]
        url = body["next_page"]
    return records, count


# -- auth and routing ---------------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize(
    "auth",
    [
        None,
        ("agent@c360-sandbox.example/token", "wrong-token"),
        ("someone@else.example/token", CONFIG.api_token),
        ("agent@c360-sandbox.example", CONFIG.api_token),
    ],
)
async def test_missing_or_wrong_credentials_get_401(sandbox: Sandbox, auth: Any) -> None:
    async with client(sandbox.app, auth=auth) as api:
        response = await api.get(f"/api/v2/users/{sandbox.alice['id']}.json")
    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


@pytest.mark.anyio
async def test_credentials_are_checked_in_any_encoding(sandbox: Sandbox) -> None:
    token = base64.b64encode(f"AGENT@c360-sandbox.example/token:{CONFIG.api_token}".encode())
    async with client(sandbox.app, auth=None) as api:
        ok = await api.get(
            "/api/v2/users/show_many.json", headers={"Authorization": f"basic {token.decode()}"}
        )
        garbage = await api.get(
            "/api/v2/users/show_many.json", headers={"Authorization": "Basic %%%"}
        )
        bearer = await api.get(
            "/api/v2/users/show_many.json", headers={"Authorization": "Bearer x"}
        )
    assert ok.status_code == 200
    assert garbage.status_code == bearer.status_code == 401


@pytest.mark.anyio
async def test_show_user_with_and_without_json_suffix(sandbox: Sandbox) -> None:
    user_id = sandbox.alice["id"]
    async with client(sandbox.app) as api:
        with_suffix = await api.get(f"/api/v2/users/{user_id}.json")
        bare = await api.get(f"/api/v2/users/{user_id}", params={"include": "identities"})
        missing = await api.get("/api/v2/users/1.json")
        not_a_number = await api.get("/api/v2/users/me-and-you.json")
        unrouted = await api.get("/api/v2/organizations.json")
        wrong_method = await api.delete(f"/api/v2/users/{user_id}.json")
    assert with_suffix.status_code == 200
    assert with_suffix.json() == {"user": orjson.loads(orjson.dumps(sandbox.alice))}
    assert [i["type"] for i in bare.json()["identities"]] == ["email", "phone_number"]
    assert missing.status_code == not_a_number.status_code == 404
    assert missing.json() == not_a_number.json() == NOT_FOUND
    assert unrouted.status_code == wrong_method.status_code == 404
    assert unrouted.json() == {"error": "InvalidEndpoint", "description": "Not found"}


# -- users --------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_show_many_users_by_ids_and_external_ids(sandbox: Sandbox) -> None:
    alice, bob = sandbox.alice["id"], sandbox.bob["id"]
    async with client(sandbox.app) as api:
        by_ids = (
            await api.get(
                "/api/v2/users/show_many.json", params={"ids": f"{bob},{alice},1,x,{bob}"}
            )
        ).json()
        by_external = (
            await api.get(
                "/api/v2/users/show_many.json",
                params={"external_ids": "SHOPIFY-1001,nope", "include": "identities"},
            )
        ).json()
        empty = (await api.get("/api/v2/users/show_many.json")).json()
    assert [u["id"] for u in by_ids["users"]] == [bob, alice]
    assert (by_ids["count"], by_ids["next_page"], by_ids["previous_page"]) == (2, None, None)
    assert "identities" not in by_ids
    assert [u["id"] for u in by_external["users"]] == [alice]
    assert [(i["user_id"], i["type"]) for i in by_external["identities"]] == [
        (alice, "email"),
        (alice, "phone_number"),
    ]
    assert empty == {"users": [], "next_page": None, "previous_page": None, "count": 0}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v2/users/show_many.json", "ids"),
        ("/api/v2/users/show_many.json", "external_ids"),
        ("/api/v2/tickets/show_many.json", "ids"),
    ],
)
async def test_show_many_refuses_more_than_100_values(
    sandbox: Sandbox, path: str, param: str
) -> None:
    async with client(sandbox.app) as api:
        at_limit = await api.get(path, params={param: ",".join(str(n) for n in range(1, 101))})
        over = await api.get(path, params={param: ",".join(str(n) for n in range(1, 102))})
    assert at_limit.status_code == 200
    assert over.status_code == 400
    assert over.json() == {
        "error": "TooManyValues",
        "description": f"Parameter {param} cannot specify more than 100 values",
        "max_count": 100,
    }


@pytest.mark.anyio
async def test_search_users(sandbox: Sandbox) -> None:
    alice, bob = sandbox.alice["id"], sandbox.bob["id"]

    async def ids(**params: str) -> list[int]:
        response = await api.get("/api/v2/users/search.json", params=params)
        assert response.status_code == 200
        return [user["id"] for user in response.json()["users"]]

    async with client(sandbox.app) as api:
        assert await ids(query="ALICE@example.com") == [alice]
        assert await ids(query="415-555-0101") == [alice]
        assert await ids(query="+1 415 555 0199") == [bob]
        assert await ids(query="phone:14155550199") == [bob]
        assert await ids(query="alice martin") == [alice]
        assert await ids(query='name:"bob stone"') == [bob]
        assert await ids(query="nobody") == []
        assert await ids(external_id="Shopify-1001") == [alice]
        assert await ids(external_id="shopify-9") == []
        assert await ids() == []


@pytest.mark.anyio
async def test_search_users_offset_walk_returns_each_user_once(sandbox: Sandbox) -> None:
    expected = [user["id"] for user in sandbox.walkers]
    async with client(sandbox.app) as api:
        walked, count = await offset_walk(
            api, f"{BASE}/api/v2/users/search.json?query=pat&per_page=3", "users"
        )
        second = (
            await api.get(
                "/api/v2/users/search.json", params={"query": "pat", "per_page": 3, "page": 2}
            )
        ).json()
        capped = (
            await api.get("/api/v2/users/search.json", params={"query": "pat", "per_page": 500})
        ).json()
    assert [user["id"] for user in walked] == expected
    assert count == 7
    assert second["previous_page"] == f"{BASE}/api/v2/users/search.json?page=1&per_page=3&query=pat"
    assert second["next_page"] == f"{BASE}/api/v2/users/search.json?page=3&per_page=3&query=pat"
    assert len(capped["users"]) == 7 and capped["next_page"] is None


@pytest.mark.anyio
async def test_search_users_is_offset_only_and_limited(sandbox: Sandbox) -> None:
    async with client(sandbox.app) as api:
        cursor = await api.get(
            "/api/v2/users/search.json", params={"query": "pat", "page[size]": 2}
        )
        deep = await api.get("/api/v2/users/search.json", params={"query": "pat", "page": 101})
        bad_page = await api.get(
            "/api/v2/users/search.json", params={"query": "pat", "page": "two"}
        )
    assert cursor.status_code == bad_page.status_code == 400
    assert cursor.json()["error"]["title"] == "Invalid attribute"
    assert (
        "page must be an integer from api/v2/users/search/index"
        in cursor.json()["error"]["message"]
    )
    assert deep.status_code == 400
    assert deep.json()["errors"][0]["code"] == "InvalidPaginationDepth"


@pytest.mark.anyio
async def test_create_user(sandbox: Sandbox) -> None:
    body = {"user": {"name": "Dana Cole", "email": "dana@example.com", "phone": "555 0100 200"}}
    async with client(sandbox.app) as api:
        created = await api.post("/api/v2/users.json", json=body)
        user = created.json()["user"]
        fetched = await api.get(f"/api/v2/users/{user['id']}.json")
        duplicate = await api.post(
            "/api/v2/users", json={"user": {"name": "D", "email": "DANA@example.com"}}
        )
        nameless = await api.post("/api/v2/users.json", json={"user": {"email": "x@example.com"}})
        rootless = await api.post("/api/v2/users.json", json={"name": "Dana"})
        malformed = await api.post(
            "/api/v2/users.json",
            content=b'{"user": {"name": ',
            headers={"Content-Type": "application/json"},
        )
    assert created.status_code == 201
    assert created.headers["location"] == user["url"]
    assert fetched.json()["user"] == user
    assert user["phone"] == "555 0100 200" and user["role"] == "end-user"
    assert duplicate.status_code == nameless.status_code == 422
    assert duplicate.json() == {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {
            "email": [
                {
                    "description": "Email: DANA@example.com is already being used by another user",
                    "error": "DuplicateValue",
                }
            ]
        },
    }
    assert list(nameless.json()["details"]) == ["name"]
    assert rootless.status_code == 400
    assert rootless.json() == {
        "error": "ParameterMissing",
        "description": "param is missing or the value is empty: user",
    }
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("text/plain")


# -- tickets ------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_requested_tickets_cursor_walks(sandbox: Sandbox) -> None:
    expected = [ticket["id"] for ticket in sandbox.tickets]
    url = f"{BASE}/api/v2/users/{sandbox.alice['id']}/tickets/requested.json?page[size]=2"
    async with client(sandbox.app) as api:
        forward, prev = await cursor_walk(api, url, "tickets")
        assert prev is not None
        backward = await cursor_walk_back(api, prev, "tickets")
        newest_first, _ = await cursor_walk(api, f"{url}&sort=-id", "tickets")
        by_update, _ = await cursor_walk(api, f"{url}&sort=updated_at", "tickets")
        empty = (
            await api.get(
                f"/api/v2/users/{sandbox.bob['id']}/tickets/requested", params={"page[size]": 2}
            )
        ).json()
    assert [t["id"] for t in forward] == expected
    assert [t["id"] for t in backward] == expected[:-1]
    assert [t["id"] for t in newest_first] == expected[::-1]
    assert [t["id"] for t in by_update] == [1, 3, 4, 5, 2]
    assert all("fields" not in ticket for ticket in forward)
    assert empty == {
        "tickets": [],
        "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
        "links": {"prev": None, "next": None},
    }


@pytest.mark.anyio
async def test_requested_tickets_offset_walk(sandbox: Sandbox) -> None:
    expected = [ticket["id"] for ticket in sandbox.tickets]
    path = f"/api/v2/users/{sandbox.alice['id']}/tickets/requested.json"
    async with client(sandbox.app) as api:
        walked, count = await offset_walk(api, f"{BASE}{path}?per_page=2", "tickets")
        newest = (await api.get(path, params={"sort_order": "desc", "per_page": 2})).json()
        updated = (await api.get(path, params={"sort_by": "updated_at"})).json()
        unknown = await api.get("/api/v2/users/1/tickets/requested.json")
    assert [t["id"] for t in walked] == expected and count == 5
    assert [t["id"] for t in newest["tickets"]] == expected[:-3:-1]
    assert [t["id"] for t in updated["tickets"]] == [1, 3, 4, 5, 2]
    assert unknown.status_code == 404 and unknown.json() == NOT_FOUND


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page[size]": "2", "page[after]": "garbage"}, "page[after]"),
        (
            {"page[size]": "2", "page[before]": base64.b64encode(b'{"o":"id","v":["x"]}').decode()},
            "page[before]",
        ),
        ({"page[size]": "101"}, "page[size]"),
        ({"page[size]": "0"}, "page[size]"),
        ({"page[size]": "two"}, "page[size]"),
        ({"page[size]": "2", "sort": "priority"}, "sort"),
    ],
)
async def test_bad_cursor_parameters_get_zendesks_error(
    sandbox: Sandbox, params: dict[str, str], parameter: str
) -> None:
    async with client(sandbox.app) as api:
        response = await api.get(
            f"/api/v2/users/{sandbox.alice['id']}/tickets/requested.json", params=params
        )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"code": "InvalidPaginationParameter", "title": f"{parameter} is not valid"}]
    }


@pytest.mark.anyio
async def test_cursor_of_another_sort_is_refused(sandbox: Sandbox) -> None:
    path = f"/api/v2/users/{sandbox.alice['id']}/tickets/requested.json"
    async with client(sandbox.app) as api:
        first = (await api.get(path, params={"page[size]": 1})).json()
        foreign = await api.get(
            path,
            params={"page[size]": 1, "sort": "-id", "page[after]": first["meta"]["after_cursor"]},
        )
    assert foreign.status_code == 400


@pytest.mark.anyio
async def test_ticket_show_and_show_many(sandbox: Sandbox) -> None:
    first, second = sandbox.tickets[0]["id"], sandbox.tickets[1]["id"]
    async with client(sandbox.app) as api:
        shown = (await api.get(f"/api/v2/tickets/{first}.json")).json()
        many = (
            await api.get("/api/v2/tickets/show_many", params={"ids": f"{second},{first},99"})
        ).json()
        missing = await api.get("/api/v2/tickets/99.json")
    assert shown["ticket"]["id"] == first
    assert (
        shown["ticket"]["custom_fields"]
        == shown["ticket"]["fields"]
        == [{"id": FIELD, "value": "#1000"}]
    )
    assert [t["id"] for t in many["tickets"]] == [second, first] and many["count"] == 2
    assert many["tickets"][0]["status"] == "solved"
    assert missing.status_code == 404 and missing.json() == NOT_FOUND


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["comments", "audits"])
async def test_comment_and_audit_walks(sandbox: Sandbox, name: str) -> None:
    ticket_id = sandbox.tickets[0]["id"]
    listed = getattr(sandbox.store, f"ticket_{name}")(ticket_id)
    expected = [record["id"] for record in listed]
    path = f"/api/v2/tickets/{ticket_id}/{name}.json"
    async with client(sandbox.app) as api:
        forward, prev = await cursor_walk(api, f"{BASE}{path}?page[size]=2", name)
        assert prev is not None
        backward = await cursor_walk_back(api, prev, name)
        newest_first, _ = await cursor_walk(
            api, f"{BASE}{path}?page[size]=2&sort=-created_at", name
        )
        offset, count = await offset_walk(api, f"{BASE}{path}?per_page=2", name)
        desc = (await api.get(path, params={"sort_order": "desc"})).json()
        missing = await api.get(f"/api/v2/tickets/99/{name}.json")
    assert len(expected) == 5
    assert [r["id"] for r in forward] == expected == [r["id"] for r in offset]
    assert [r["id"] for r in backward] == expected[:-1]
    assert [r["id"] for r in newest_first] == expected[::-1]
    assert [r["id"] for r in desc[name]] == expected[::-1]
    assert count == 5
    assert missing.status_code == 404


@pytest.mark.anyio
async def test_create_ticket_over_http(sandbox: Sandbox) -> None:
    body = {
        "ticket": {
            "requester_id": sandbox.bob["id"],
            "subject": "Refund",
            "comment": {"body": "Please refund order #77"},
            "custom_fields": [{"id": FIELD, "value": "#77"}],
        }
    }
    async with client(sandbox.app) as api:
        created = await api.post("/api/v2/tickets.json", json=body)
        requested = (await api.get(f"/api/v2/users/{sandbox.bob['id']}/tickets/requested")).json()
        bad_requester = await api.post(
            "/api/v2/tickets.json", json={"ticket": {"requester_id": 5, "comment": {"body": "x"}}}
        )
        blank = await api.post(
            "/api/v2/tickets", json={"ticket": {"requester_id": sandbox.bob["id"]}}
        )
        malformed = await api.post("/api/v2/tickets.json", content=b"ticket=1")
    assert created.status_code == 201
    answer = created.json()
    assert created.headers["location"] == answer["ticket"]["url"]
    assert answer["ticket"]["via"]["channel"] == "api"
    assert answer["ticket"]["custom_fields"] == [{"id": FIELD, "value": "#77"}]
    assert answer["audit"]["ticket_id"] == answer["ticket"]["id"]
    assert answer["audit"]["events"][0]["body"] == "Please refund order #77"
    assert [t["id"] for t in requested["tickets"]] == [answer["ticket"]["id"]]
    assert bad_requester.status_code == blank.status_code == 422
    assert list(bad_requester.json()["details"]) == ["requester"]
    assert blank.json()["details"] == {
        "base": [{"description": "Description: cannot be blank", "error": "BlankValue"}]
    }
    assert malformed.status_code == 400


@pytest.mark.anyio
async def test_update_ticket_over_http(sandbox: Sandbox) -> None:
    ticket_id = sandbox.tickets[2]["id"]
    path = f"/api/v2/tickets/{ticket_id}.json"
    async with client(sandbox.app) as api:
        solved = await api.put(
            path, json={"ticket": {"status": "solved", "comment": {"body": "Done"}}}
        )
        unchanged = await api.put(path, json={"ticket": {"status": "solved"}})
        closed = await api.put(path, json={"ticket": {"status": "closed"}})
        refused = await api.put(path, json={"ticket": {"comment": {"body": "Reopen"}}})
        missing = await api.put("/api/v2/tickets/99.json", json={"ticket": {"status": "open"}})
        malformed = await api.put(path, content=b"{")
        comments = (await api.get(f"/api/v2/tickets/{ticket_id}/comments.json")).json()
    assert solved.status_code == 200
    events = solved.json()["audit"]["events"]
    assert [e["type"] for e in events] == ["Comment", "Change"]
    assert events[1] == {
        "id": events[1]["id"],
        "type": "Change",
        "value": "solved",
        "field_name": "status",
        "previous_value": "new",
    }
    assert unchanged.status_code == 200 and "audit" not in unchanged.json()
    assert closed.json()["ticket"]["status"] == "closed"
    assert refused.status_code == 422
    assert refused.json()["details"] == {
        "status": [{"description": "closed prevents ticket update"}]
    }
    assert missing.status_code == 404 and missing.json() == NOT_FOUND
    assert malformed.status_code == 400
    assert [c["body"] for c in comments["comments"]] == ["Where is order #1002?", "Done"]


# -- control API and faults ---------------------------------------------------------------
@pytest.mark.anyio
async def test_stats_count_requests_per_endpoint(sandbox: Sandbox) -> None:
    user_id = sandbox.alice["id"]
    async with client(sandbox.app) as api:
        await api.get(f"/api/v2/users/{user_id}.json")
        await api.get(f"/api/v2/users/{user_id}.json")
        await api.get(f"/api/v2/users/{user_id}")
        await api.get("/api/v2/tickets/1/comments.json")
        stats = (await api.get("/_sandbox/stats")).json()
        await api.post("/_sandbox/reset")
        after_reset = (await api.get("/_sandbox/stats")).json()
    assert stats == {
        "total": 4,
        "endpoints": {
            "GET /api/v2/users/{user_id}.json": 2,
            "GET /api/v2/users/{user_id}": 1,
            "GET /api/v2/tickets/{ticket_id}/comments.json": 1,
        },
    }
    assert after_reset == {"total": 0, "endpoints": {}}


@pytest.mark.anyio
async def test_rate_limited_fault_is_plain_text_with_retry_after(sandbox: Sandbox) -> None:
    async with client(sandbox.app) as api:
        assert (await api.post("/_sandbox/faults", json={"rate_limited": True})).status_code == 200
        limited = await api.get(f"/api/v2/users/{sandbox.alice['id']}.json")
        await api.post("/_sandbox/reset")
        fine = await api.get(f"/api/v2/users/{sandbox.alice['id']}.json")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "93"
    assert limited.headers["content-type"].startswith("text/plain")
    assert limited.text == RATE_LIMITED_TEXT
    assert fine.status_code == 200


@pytest.mark.anyio
async def test_error_rate_and_down_faults(sandbox: Sandbox) -> None:
    async with client(sandbox.app) as api:
        await api.post("/_sandbox/faults", json={"error_rate": 1.0})
        failed = await api.get("/api/v2/tickets/1.json")
        await api.post("/_sandbox/faults", json={"down": True})
        down = await api.get("/api/v2/tickets/1.json")
        faults = (await api.get("/_sandbox/faults")).json()
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("text/plain")
    assert down.status_code == 503
    assert down.headers["retry-after"] == "93"
    assert faults["down"] is True and faults["error_rate"] == 1.0


@pytest.mark.anyio
async def test_latency_fault_delays_answers(sandbox: Sandbox) -> None:
    async with client(sandbox.app) as api:
        await api.post("/_sandbox/faults", json={"latency_ms": 60})
        started = time.perf_counter()
        response = await api.get("/api/v2/tickets/1.json")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed >= 0.055


def test_config_and_store_must_agree_on_the_order_number_field() -> None:
    store = ZendeskStore(order_number_field_id=42)
    with pytest.raises(ValueError, match="order_number_field_id"):
        create_app(store, ZendeskSiloConfig())
    assert create_app(store) is not None


# -- contract: the emulator's JSON against recorded Zendesk payloads -----------------------
EMAIL_SOURCE = {
    "$.ticket.via.source.from.address": "email tickets name the sender (Zendesk's email source)",
    "$.ticket.via.source.from.name": "email tickets name the sender (Zendesk's email source)",
    "$.ticket.via.source.to.address": "email tickets name the support address",
    "$.ticket.via.source.to.name": "email tickets name the support address",
}
COMMENT_FIXTURE_EDITS = {
    "$.comments[].audit_id": "hand-edited fixture drops it; real comments carry it (see audits)",
    "$.comments[].via": "hand-edited fixture drops it (the README says so)",
    "$.comments[].metadata": "hand-edited fixture drops it (the README says so)",
    "$.links": "hand-edited fixture has no links; cursor pages carry them (tickets recordings)",
}


async def fetch(sandbox: Sandbox, path: str, **params: Any) -> Any:
    async with client(sandbox.app) as api:
        response = await api.get(path, params=params)
    assert response.status_code in (200, 400, 404), response.text
    return response.json()


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_user_matches_zendesk(sandbox: Sandbox, payload: Any) -> None:
    shown = await fetch(sandbox, f"/api/v2/users/{sandbox.alice['id']}.json")
    assert_same_shape(shown, payload("zendesk/user_show.json"))
    assert_same_shape(shown, {"user": payload("zendesk/users_cursor_page.json")["users"][0]})


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_show_many_users_and_identities_match_zendesk(sandbox: Sandbox, payload: Any) -> None:
    many = await fetch(
        sandbox, "/api/v2/users/show_many.json", ids=str(sandbox.alice["id"]), include="identities"
    )
    identities = many.pop("identities")
    assert_same_shape(many, payload("zendesk/users_show_many.json"))
    identity = payload("zendesk/user_identity_object.json")
    assert [i["type"] for i in identities] == ["email", "phone_number"]
    for ours in identities:
        assert_same_shape(ours, identity)


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_user_search_matches_zendesk(sandbox: Sandbox, payload: Any) -> None:
    found = await fetch(sandbox, "/api/v2/users/search.json", query="alice@example.com")
    assert found["count"] == 1
    envelope = dict(payload("zendesk/users_show_many.json"))
    assert_same_shape(found, envelope)
    result = payload("zendesk/search_users_result.json")["results"][0]
    assert_same_shape(
        found["users"][0],
        result,
        omitted={
            "$.result_type": "only the generic /search.json tags results with their type",
            "$.chat_only": "absent from every 2023 user recording; a legacy Chat-era field",
            "$.user_fields.github_profile": "custom user fields are per account; ours has none",
            "$.user_fields.nickname": "custom user fields are per account; ours has none",
            "$.user_fields.twitter_account": "custom user fields are per account; ours has none",
        },
    )


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_ticket_matches_zendesk(sandbox: Sandbox, payload: Any) -> None:
    web, email = sandbox.tickets[0]["id"], sandbox.tickets[1]["id"]
    recorded = payload("zendesk/ticket_show.json")
    assert_same_shape(await fetch(sandbox, f"/api/v2/tickets/{web}.json"), recorded)
    assert_same_shape(
        await fetch(sandbox, f"/api/v2/tickets/{email}.json"), recorded, added=EMAIL_SOURCE
    )
    many = await fetch(
        sandbox, "/api/v2/tickets/show_many.json", ids=f"{web},{sandbox.tickets[2]['id']}"
    )
    assert_same_shape(many, payload("zendesk/tickets_show_many.json"))


@pytest.mark.anyio
@pytest.mark.vendor_payloads
@pytest.mark.parametrize(
    "fixture", ["tickets_cursor_page_first.json", "tickets_cursor_page_next.json"]
)
async def test_cursor_page_of_tickets_matches_zendesk(
    sandbox: Sandbox, payload: Any, fixture: str
) -> None:
    page = await fetch(
        sandbox, f"/api/v2/users/{sandbox.alice['id']}/tickets/requested.json", **{"page[size]": 1}
    )
    assert page["meta"]["has_more"] is True
    assert_same_shape(page, payload(f"zendesk/{fixture}"))


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_audits_page_matches_zendesk(sandbox: Sandbox, payload: Any) -> None:
    page = await fetch(
        sandbox, f"/api/v2/tickets/{sandbox.tickets[0]['id']}/audits.json", **{"page[size]": 1}
    )
    assert [e["type"] for e in page["audits"][0]["events"]][:2] == ["Comment", "Create"]
    assert_same_shape(page, payload("zendesk/ticket_audits_cursor_page.json"))


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_comments_page_matches_zendesk(sandbox: Sandbox, payload: Any) -> None:
    page = await fetch(
        sandbox, f"/api/v2/tickets/{sandbox.tickets[0]['id']}/comments.json", **{"page[size]": 2}
    )
    assert_same_shape(page, payload("zendesk/ticket_comments.json"), added=COMMENT_FIXTURE_EDITS)


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_error_bodies_match_zendesk(sandbox: Sandbox, payload: Any) -> None:
    missing = await fetch(sandbox, "/api/v2/tickets/99.json")
    assert missing == payload("zendesk/error_404_record_not_found.json")
    ids = ",".join(str(n) for n in range(101))
    too_many_tickets = await fetch(sandbox, "/api/v2/tickets/show_many.json", ids=ids)
    assert_same_shape(too_many_tickets, payload("zendesk/error_400_too_many_values_tickets.json"))
    too_many_users = await fetch(sandbox, "/api/v2/users/show_many.json", ids=ids)
    assert_same_shape(
        too_many_users,
        payload("zendesk/error_400_too_many_values_users.json"),
        added={"$.max_count": "the parameter-limit form of TooManyValues (tickets recording)"},
    )
