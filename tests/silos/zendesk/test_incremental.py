"""The cursor-based incremental user export of the Zendesk silo
(``GET /api/v2/incremental/users/cursor.json``)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from silos.zendesk import ZendeskSiloConfig, ZendeskStore, create_app

BASE = "https://c360-sandbox.zendesk.com"
PATH = "/api/v2/incremental/users/cursor.json"
CONFIG = ZendeskSiloConfig(max_export_per_page=4)
AUTH = (f"{CONFIG.email}/token", CONFIG.api_token)
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)


class Clock:
    """A settable "now" for the export's last-minute rule."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


@dataclass
class Account:
    store: ZendeskStore
    clock: Clock
    app: Any
    users: list[dict[str, Any]]


def build() -> Account:
    store = ZendeskStore(seed=5)
    users: list[dict[str, Any]] = []
    # Created out of time order, with two pairs of ties on updated_at.
    offsets = [5, 1, 3, 3, 0, 9, 7, 1, 12, 2]
    for i, days in enumerate(offsets):
        body: dict[str, Any] = {"name": f"Casey Export{i}", "email": f"export{i}@example.org"}
        if i % 3 == 0:
            body["phone"] = f"+1 415 555 01{i:02d}"
        users.append(store.create_user({"user": body}, at=T0 + timedelta(days=days)))
    clock = Clock(NOW)
    return Account(store, clock, create_app(store, CONFIG, clock=clock), users)


@pytest.fixture
def account() -> Account:
    return build()


def client(account: Account, auth: Any = AUTH) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=account.app), base_url=BASE, auth=auth
    )


def stream_order(users: list[dict[str, Any]]) -> list[int]:
    return [u["id"] for u in sorted(users, key=lambda u: (u["updated_at"], u["id"]))]


async def export(api: httpx.AsyncClient, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every page from ``params`` until ``end_of_stream``, following ``after_url``."""
    pages = [(await api.get(PATH, params=params)).json()]
    while not pages[-1]["end_of_stream"]:
        assert len(pages) < 50
        pages.append((await api.get(pages[-1]["after_url"])).json())
    return pages


@pytest.mark.anyio
async def test_full_export_walks_every_user_once_in_update_order(account: Account) -> None:
    async with client(account) as api:
        pages = await export(api, {"start_time": "0", "per_page": "3"})
    walked = [user["id"] for page in pages for user in page["users"]]
    everyone = [account.store.get_user(account.store.agent_id), *account.users]
    assert walked == stream_order([u for u in everyone if u is not None])
    assert [len(page["users"]) for page in pages] == [3, 3, 3, 2]
    assert [page["end_of_stream"] for page in pages] == [False, False, False, True]
    for page in pages:
        assert set(page) == {
            "users", "after_url", "after_cursor", "before_url", "before_cursor", "end_of_stream"
        }
        assert page["before_url"] is None and page["before_cursor"] is None
        query = parse_qs(urlsplit(page["after_url"]).query)
        assert query == {"cursor": [page["after_cursor"]], "per_page": ["3"]}
        assert page["after_url"].startswith(f"{BASE}{PATH}?")
    last = pages[-1]["users"][-1]
    decoded = base64.b64decode(pages[-1]["after_cursor"]).decode()
    stamp = int(datetime.fromisoformat(last["updated_at"]).timestamp())
    assert decoded == f"{stamp}.0||{last['id']}|"


@pytest.mark.anyio
async def test_start_time_is_inclusive_and_filters_older_changes(account: Account) -> None:
    start = T0 + timedelta(days=3)
    async with client(account) as api:
        pages = await export(api, {"start_time": str(int(start.timestamp()))})
    walked = [user["id"] for page in pages for user in page["users"]]
    expected = [u for u in account.users if datetime.fromisoformat(u["updated_at"]) >= start]
    assert walked == stream_order(expected)
    assert len(walked) == 6 and len(pages) == 2


@pytest.mark.anyio
async def test_the_last_cursor_resumes_with_later_changes_only(account: Account) -> None:
    async with client(account) as api:
        first = await export(api, {"start_time": "0"})
        resume = first[-1]["after_cursor"]
        nothing = (await api.get(PATH, params={"cursor": resume})).json()
        older = account.store.create_user(
            {"user": {"name": "Late Comer", "email": "late@example.org"}},
            at=NOW - timedelta(minutes=5),
        )
        fresh = account.store.create_user(
            {"user": {"name": "Just Now", "email": "now@example.org"}},
            at=NOW - timedelta(seconds=20),
        )
        later = (await api.get(PATH, params={"cursor": resume})).json()
        account.clock.at = NOW + timedelta(minutes=2)
        after = (await api.get(PATH, params={"cursor": later["after_cursor"]})).json()
    assert nothing["users"] == [] and nothing["end_of_stream"] is True
    assert nothing["after_cursor"] == resume
    assert [u["id"] for u in later["users"]] == [older["id"]]
    assert later["end_of_stream"] is True
    assert [u["id"] for u in after["users"]] == [fresh["id"]]


@pytest.mark.anyio
async def test_per_page_defaults_to_and_is_capped_at_the_maximum(account: Account) -> None:
    async with client(account) as api:
        default = (await api.get(PATH, params={"start_time": "0"})).json()
        capped = (await api.get(PATH, params={"start_time": "0", "per_page": "5000"})).json()
        one = (await api.get(PATH, params={"start_time": "0", "per_page": "1"})).json()
    assert len(default["users"]) == len(capped["users"]) == CONFIG.max_export_per_page
    assert len(one["users"]) == 1 and one["end_of_stream"] is False


@pytest.mark.anyio
async def test_identities_are_sideloaded_for_the_page(account: Account) -> None:
    start = str(int((T0 + timedelta(days=2)).timestamp()))
    async with client(account) as api:
        body = (
            await api.get(PATH, params={"start_time": start, "include": "identities"})
        ).json()
        bare = (await api.get(PATH, params={"start_time": start})).json()
    page_ids = {u["id"] for u in body["users"]}
    expected = [i for uid in (u["id"] for u in body["users"])
                for i in account.store.identities(uid)]
    assert body["identities"] == expected
    assert {i["user_id"] for i in body["identities"]} == page_ids
    assert {i["type"] for i in body["identities"]} == {"email", "phone_number"}
    assert "identities" not in bare
    assert "include=identities" in body["after_url"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({}, "start_time is required"),
        ({"start_time": "yesterday"}, "start_time must be a Unix epoch time"),
        ({"start_time": "-5"}, "start_time must be a Unix epoch time"),
        (
            {"start_time": str(int((NOW - timedelta(seconds=30)).timestamp()))},
            "Too recent start_time. Use a start_time older than 1 minute",
        ),
        ({"cursor": "not-base64!"}, "cursor is invalid"),
        ({"cursor": base64.b64encode(b'{"o":"id"}').decode()}, "cursor is invalid"),
        ({"start_time": "0", "per_page": "many"}, "per_page must be an integer"),
    ],
)
async def test_bad_export_parameters_get_invalid_value(
    account: Account, params: dict[str, str], description: str
) -> None:
    async with client(account) as api:
        response = await api.get(PATH, params=params)
    assert response.status_code == 422
    assert response.json() == {"error": "InvalidValue", "description": description}


@pytest.mark.anyio
async def test_export_needs_credentials_and_is_counted(account: Account) -> None:
    async with client(account, auth=None) as anonymous:
        refused = await anonymous.get(PATH, params={"start_time": "0"})
    async with client(account) as api:
        await api.get(PATH, params={"start_time": "0"})
        await api.get("/api/v2/incremental/users/cursor", params={"start_time": "0"})
        stats = (await api.get("/_sandbox/stats")).json()
    assert refused.status_code == 401
    assert stats["endpoints"]["GET /api/v2/incremental/users/cursor.json"] == 2
    assert stats["endpoints"]["GET /api/v2/incremental/users/cursor"] == 1
