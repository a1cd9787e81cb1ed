from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from silos.control import FaultResponses, SandboxControl


async def item(request: Request) -> Response:
    return PlainTextResponse(f"item {request.path_params['item_id']}")


ROUTES = [Route("/items/{item_id}.json", item)]
RESPONSES = FaultResponses(
    rate_limited=lambda: PlainTextResponse("slow down", 429, headers={"Retry-After": "3"}),
    server_error=lambda: PlainTextResponse("boom", 500),
    unavailable=lambda: PlainTextResponse("down", 503),
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = SandboxControl(Starlette(routes=ROUTES), ROUTES, RESPONSES)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://silo"
    ) as c:
        yield c


@pytest.mark.anyio
async def test_requests_are_counted_per_endpoint_template(client: httpx.AsyncClient) -> None:
    for n in (1, 2, 3):
        assert (await client.get(f"/items/{n}.json")).text == f"item {n}"
    await client.get("/nowhere")
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats == {
        "total": 4,
        "endpoints": {"GET /items/{item_id}.json": 3, "GET (unrouted)": 1},
    }
    assert (await client.post("/_sandbox/reset")).json() == {"ok": True}
    assert (await client.get("/_sandbox/stats")).json() == {"total": 0, "endpoints": {}}


@pytest.mark.anyio
async def test_fault_modes_use_the_vendor_responses(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_sandbox/faults", json={"rate_limited": True})).status_code == 200
    limited = await client.get("/items/1.json")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    await client.post("/_sandbox/faults", json={"rate_limited": False, "down": True})
    assert (await client.get("/items/1.json")).status_code == 503
    await client.post("/_sandbox/faults", json={"down": False, "error_rate": 1.0})
    assert (await client.get("/items/1.json")).status_code == 500
    await client.post("/_sandbox/reset")
    assert (await client.get("/items/1.json")).status_code == 200


@pytest.mark.anyio
async def test_error_rate_is_a_share_of_requests(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/faults", json={"error_rate": 0.5})
    codes = [(await client.get("/items/1.json")).status_code for _ in range(200)]
    assert 60 < codes.count(500) < 140
    assert set(codes) == {200, 500}


@pytest.mark.anyio
async def test_latency_is_added(client: httpx.AsyncClient) -> None:
    import time

    await client.post("/_sandbox/faults", json={"latency_ms": 60, "jitter_ms": 10})
    started = time.perf_counter()
    await client.get("/items/1.json")
    assert time.perf_counter() - started >= 0.045


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [{"latency_ms": -1}, {"error_rate": 2}, {"down": "yes"}, {"nope": 1}, [1]],
)
async def test_bad_fault_settings_are_refused_and_change_nothing(
    client: httpx.AsyncClient, body: object
) -> None:
    before = (await client.get("/_sandbox/faults")).json()
    response = await client.post("/_sandbox/faults", json={"latency_ms": 5, **body}
                                 if isinstance(body, dict) else body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert (await client.get("/_sandbox/faults")).json() == before


@pytest.mark.anyio
async def test_malformed_fault_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/_sandbox/faults", content=b"{not json")
    assert response.status_code == 400
