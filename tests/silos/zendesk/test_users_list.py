"""List Users (``GET /api/v2/users.json``) of the Zendesk silo, and an agent's token, which
Zendesk refuses the incremental exports (admins only)."""

from __future__ import annotations

import httpx
import pytest

from silos.zendesk import ZendeskSiloConfig, ZendeskStore, create_app
from silos.zendesk.errors import FORBIDDEN_TEXT

BASE = "https://c360-sandbox.zendesk.com"
AGENT = ZendeskSiloConfig(token_role="agent", max_page_size=3)
AUTH = (f"{AGENT.email}/token", AGENT.api_token)


def store() -> ZendeskStore:
    account = ZendeskStore(seed=3)
    for i in range(7):
        account.create_user({"user": {"name": f"Casey List{i}", "email": f"list{i}@example.org"}})
    account.create_user({"user": {"name": "Avery Agent", "email": "avery@example.org",
                                  "role": "agent"}})
    return account


@pytest.fixture
def account() -> ZendeskStore:
    return store()


async def get(account: ZendeskStore, config: ZendeskSiloConfig, path: str,
              params: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(account, config))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, auth=AUTH) as http:
        return await http.get(path, params=params)


@pytest.mark.anyio
async def test_an_agent_is_forbidden_the_incremental_export(account: ZendeskStore) -> None:
    response = await get(account, AGENT, "/api/v2/incremental/users/cursor.json",
                         {"start_time": "0"})
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "description": FORBIDDEN_TEXT}


@pytest.mark.anyio
async def test_an_admin_may_export(account: ZendeskStore) -> None:
    response = await get(account, ZendeskSiloConfig(), "/api/v2/incremental/users/cursor.json",
                         {"start_time": "0"})
    assert response.status_code == 200
    assert response.json()["users"]


@pytest.mark.anyio
async def test_an_agent_lists_end_users_with_cursor_pages(account: ZendeskStore) -> None:
    seen: list[int] = []
    params = {"role": "end-user", "page[size]": "3", "include": "identities"}
    pages = 0
    while True:
        body = (await get(account, AGENT, "/api/v2/users.json", params)).json()
        pages += 1
        seen.extend(u["id"] for u in body["users"])
        assert all(u["role"] == "end-user" for u in body["users"])
        assert {i["user_id"] for i in body["identities"]} <= {u["id"] for u in body["users"]}
        if not body["meta"]["has_more"]:
            break
        assert "page%5Bafter%5D=" in body["links"]["next"]
        params = {**params, "page[after]": body["meta"]["after_cursor"]}
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 7


@pytest.mark.anyio
async def test_users_list_without_a_role_has_everyone_and_offset_pages(
        account: ZendeskStore) -> None:
    body = (await get(account, AGENT, "/api/v2/users", {"per_page": "3", "page": "3"})).json()
    assert body["count"] == 9  # the account owner, seven end users and an agent
    assert len(body["users"]) == 3 and body["next_page"] is None
    assert body["previous_page"] is not None
    agents = (await get(account, AGENT, "/api/v2/users.json",
                        {"role[]": "agent", "page[size]": "3"})).json()
    assert [u["name"] for u in agents["users"]] == ["Avery Agent"]


def test_token_role_is_checked() -> None:
    with pytest.raises(ValueError, match="token_role"):
        ZendeskSiloConfig(token_role="owner")
