"""The Zendesk crawl with an agent's token: the incremental export is refused (403, admins
only) and the crawl reads List Users instead, saying so."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from adapters.errors import UpstreamAuthError
from adapters.models import Customer
from adapters.zendesk import ZendeskAdapter, ZendeskConfig
from adapters.zendesk.adapter import METHOD_EXPORT, METHOD_USERS_LIST
from silos.generator import Sandbox, generate
from silos.zendesk import ZendeskSiloConfig, create_app

pytestmark = pytest.mark.anyio

URL = "https://c360-sandbox.zendesk.com"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return generate(customers=400, seed=29)


@pytest.fixture
async def http(sandbox: Sandbox, request: pytest.FixtureRequest
               ) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    silo = ZendeskSiloConfig(token_role=request.param,
                             order_number_field_id=sandbox.order_number_field_id)
    paths: list[str] = []

    async def note(req: httpx.Request) -> None:
        paths.append(req.url.path)

    async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(sandbox.zendesk, silo)),
            base_url=URL, event_hooks={"request": [note]}) as client:
        yield client, paths


def adapter(client: httpx.AsyncClient, token: str | None = None) -> ZendeskAdapter:
    silo = ZendeskSiloConfig()
    return ZendeskAdapter(ZendeskConfig(URL, silo.email, token or silo.api_token), client)


async def crawl(zendesk: ZendeskAdapter, since: datetime | None = None) -> list[Customer]:
    return [c async for page in zendesk.crawl_customers(since) for c in page]


@pytest.mark.parametrize("http", ["admin"], indirect=True)
async def test_an_admin_token_crawls_the_incremental_export(
        http: tuple[httpx.AsyncClient, list[str]]) -> None:
    client, paths = http
    zendesk = adapter(client)
    assert zendesk.crawl_method is None
    assert await crawl(zendesk)
    assert zendesk.crawl_method == METHOD_EXPORT
    assert set(paths) == {"/api/v2/incremental/users/cursor.json"}


@pytest.mark.parametrize("http", ["agent"], indirect=True)
async def test_an_agent_token_falls_back_to_the_users_list(
        http: tuple[httpx.AsyncClient, list[str]], sandbox: Sandbox,
        caplog: pytest.LogCaptureFixture) -> None:
    client, paths = http
    zendesk = adapter(client)
    with caplog.at_level(logging.WARNING, logger="c360.adapters.zendesk"):
        found = await crawl(zendesk)
    expected = {r["id"] for p in sandbox.ground_truth for r in p["records"]
                if r["kind"] == "zendesk"}
    assert {c.id for c in found} == expected and len(found) == len(expected)
    assert sum(1 for c in found if c.emails) > len(found) // 2  # identities sideloaded
    assert zendesk.crawl_method == METHOD_USERS_LIST
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "403" in warning and "users list" in warning and "agent" in warning
    assert ZendeskSiloConfig().api_token not in warning
    assert paths[0] == "/api/v2/incremental/users/cursor.json"
    assert set(paths[1:]) == {"/api/v2/users.json"} and len(paths) > 2  # cursor pages

    paths.clear()
    caplog.clear()
    again = await crawl(zendesk)  # the refusal is remembered: no second 403
    assert len(again) == len(found) and set(paths) == {"/api/v2/users.json"}
    assert not caplog.records


@pytest.mark.parametrize("http", ["agent"], indirect=True)
async def test_an_incremental_crawl_through_the_list_keeps_later_changes(
        http: tuple[httpx.AsyncClient, list[str]]) -> None:
    client, _ = http
    everyone = await crawl(adapter(client))
    stamps = sorted(c.updated_at or c.created_at for c in everyone
                    if (c.updated_at or c.created_at) is not None)
    since = stamps[len(stamps) // 2]
    later = await crawl(adapter(client), since.astimezone(UTC))
    assert later and len(later) < len(everyone)
    assert {c.id for c in later} == {c.id for c in everyone
                                     if (c.updated_at or c.created_at) >= since}


@pytest.mark.parametrize("http", ["agent"], indirect=True)
async def test_a_wrong_token_is_not_a_fallback(
        http: tuple[httpx.AsyncClient, list[str]]) -> None:
    client, paths = http
    with pytest.raises(UpstreamAuthError) as refused:
        await crawl(adapter(client, token="not-the-token"))
    assert refused.value.status == 401
    assert paths == ["/api/v2/incremental/users/cursor.json"]
