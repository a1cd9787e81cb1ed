from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from silos.square import SquareSiloConfig, SquareStore, create_app
from tests.silos.square.helpers import (
    CONFIG,
    T0,
    TOKEN,
    Seeded,
    client,
    customer_body,
    item_body,
    location_body,
)

pytestmark = pytest.mark.anyio


def _only_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert error["code"] == code
    assert isinstance(error["detail"], str) and error["detail"]
    assert set(error) <= {"category", "code", "detail", "field"}
    return error  # type: ignore[no-any-return]


async def _walk(http: httpx.AsyncClient, path: str, body: dict[str, Any], key: str) -> list[Any]:
    seen: list[Any] = []
    cursor = None
    while True:
        response = await http.post(path, json={**body, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(page.get(key, []))
        cursor = page.get("cursor")
        if cursor is None:
            return seen


# -- auth, headers, bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "did not include an `Authorization`"),
        ({"Authorization": f"Token {TOKEN}"}, "malformed"),
        ({"Authorization": "Bearer"}, "malformed"),
        ({"Authorization": "Bearer wrong-token"}, "could not be authorized"),
    ],
)
async def test_auth_errors(headers: dict[str, str], fragment: str) -> None:
    async with client(create_app(SquareStore(), CONFIG), headers=headers) as http:
        for response in (
            await http.get("/v2/locations"),
            await http.post("/v2/customers/search", json={}),
        ):
            error = _only_error(response, 401, "UNAUTHORIZED")
            assert error["category"] == "AUTHENTICATION_ERROR"
            assert fragment in error["detail"]


async def test_default_config_token() -> None:
    app = create_app()
    headers = {"Authorization": f"Bearer {SquareSiloConfig().access_token}"}
    async with client(app, headers=headers) as http:
        assert (await http.get("/v2/locations")).json() == {}


async def test_square_version_header() -> None:
    async with client(create_app(SquareStore(), CONFIG)) as http:
        assert (await http.get("/v2/locations")).status_code == 200
        response = await http.get("/v2/locations", headers={"Square-Version": "latest"})
        _only_error(response, 400, "INVALID_SQUARE_VERSION_FORMAT")


async def test_malformed_bodies() -> None:
    async with client(create_app(SquareStore(), CONFIG)) as http:
        broken = await http.post(
            "/v2/customers",
            content=b'{"given_name": ',
            headers={"Content-Type": "application/json"},
        )
        error = _only_error(broken, 400, "BAD_REQUEST")
        assert error["category"] == "INVALID_REQUEST_ERROR"
        array = await http.post("/v2/customers/search", json=[1, 2])
        _only_error(array, 400, "EXPECTED_JSON_BODY")
        form = await http.post(
            "/v2/customers",
            content=b"given_name=A",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        _only_error(form, 400, "INVALID_CONTENT_TYPE")
        wrong_type = await http.post("/v2/customers/search", json={"limit": "ten"})
        assert _only_error(wrong_type, 400, "EXPECTED_INTEGER")["field"] == "limit"
        empty = await http.post("/v2/customers/search")
        assert empty.status_code == 200 and empty.json() == {}


async def test_unknown_endpoints_answer_like_square() -> None:
    async with client(create_app(SquareStore(), CONFIG)) as http:
        for response in (await http.get("/v2/nothing-here"), await http.delete("/v2/locations")):
            error = _only_error(response, 404, "NOT_FOUND")
            assert error["category"] == "INVALID_REQUEST_ERROR"
            assert "is not found" in error["detail"]


# -- locations, customers --------------------------------------------------------------------


async def test_locations() -> None:
    async with client(create_app(SquareStore(), CONFIG)) as http:
        created = await http.post("/v2/locations", json=location_body())
        assert created.status_code == 200
        location = created.json()["location"]
        listed = (await http.get("/v2/locations")).json()
        assert listed == {"locations": [location]}
        one = await http.get(f"/v2/locations/{location['id']}")
        assert one.json() == {"location": location}
        _only_error(await http.get("/v2/locations/NOPE"), 404, "NOT_FOUND")
        missing = await http.post("/v2/locations", json={"location": {"timezone": "UTC"}})
        error = _only_error(missing, 400, "MISSING_REQUIRED_PARAMETER")
        assert error["field"] == "location.name"


async def test_create_and_retrieve_customer() -> None:
    store = SquareStore()
    async with client(create_app(store, CONFIG)) as http:
        body = customer_body(4, idempotency_key="create-4")
        first = await http.post("/v2/customers", json=body)
        assert first.status_code == 200
        customer = first.json()["customer"]
        again = await http.post("/v2/customers", json=body)
        assert again.json()["customer"]["id"] == customer["id"]
        assert len(store.customers) == 1
        fetched = await http.get(f"/v2/customers/{customer['id']}")
        assert fetched.json() == {"customer": customer}
        error = _only_error(await http.get("/v2/customers/NOPE"), 404, "NOT_FOUND")
        assert error["detail"] == "Customer with ID `NOPE` not found."
        bad = await http.post("/v2/customers", json={"given_name": "A", "phone_number": "12"})
        assert _only_error(bad, 400, "INVALID_PHONE_NUMBER")["field"] == "phone_number"


async def test_customer_search_walk_over_http() -> None:
    store = SquareStore(seed=2)
    for index in range(23):
        store.create_customer(customer_body(index))
    async with client(create_app(store, CONFIG)) as http:
        seen = await _walk(http, "/v2/customers/search", {"limit": 5}, "customers")
        assert [c["id"] for c in seen] == [
            c["id"]
            for c in sorted(
                store.customers.values(), key=lambda c: (c["given_name"].lower(), c["id"])
            )
        ]
        exact = await http.post(
            "/v2/customers/search",
            json={"query": {"filter": {"phone_number": {"exact": "+12125550007"}}}},
        )
        assert [c["reference_id"] for c in exact.json()["customers"]] == ["REF-7"]
        bad_cursor = await http.post("/v2/customers/search", json={"cursor": "bm9wZQ"})
        assert _only_error(bad_cursor, 400, "INVALID_CURSOR")["field"] == "cursor"
        too_many = await http.post("/v2/customers/search", json={"limit": 500})
        _only_error(too_many, 400, "VALUE_TOO_HIGH")


async def test_list_customers_walk() -> None:
    store = SquareStore(seed=2)
    for index in range(7):
        store.create_customer(customer_body(index))
    async with client(create_app(store, CONFIG)) as http:
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 3, "sort_field": "CREATED_AT", "sort_order": "DESC"}
        while True:
            page = (await http.get("/v2/customers", params=params)).json()
            seen.extend(c["id"] for c in page["customers"])
            if "cursor" not in page:
                break
            params["cursor"] = page["cursor"]
        assert sorted(seen) == sorted(store.customers) and len(seen) == 7
        counted = (await http.get("/v2/customers", params={"count": "true"})).json()
        assert counted["count"] == 7
        for params in ({"limit": "0"}, {"limit": "x"}, {"sort_order": "UP"}):
            response = await http.get("/v2/customers", params=params)
            assert response.status_code == 400


async def test_bulk_retrieve_customers_over_http() -> None:
    seeded = Seeded(customers=2)
    known = seeded.customers[1]["id"]
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = await http.post(
            "/v2/customers/bulk-retrieve", json={"customer_ids": [known, "UNKNOWN"]}
        )
        assert response.status_code == 200
        responses = response.json()["responses"]
        assert responses[known]["customer"]["id"] == known
        assert responses["UNKNOWN"]["errors"][0]["code"] == "NOT_FOUND"
        over = await http.post(
            "/v2/customers/bulk-retrieve", json={"customer_ids": [str(i) for i in range(101)]}
        )
        assert _only_error(over, 400, "ARRAY_LENGTH_TOO_LONG")["field"] == "customer_ids"


# -- orders, catalog, inventory --------------------------------------------------------------


async def test_orders_over_http() -> None:
    seeded = Seeded()
    async with client(create_app(seeded.store, CONFIG)) as http:
        body = {
            "idempotency_key": "http-1",
            "order": {
                "location_id": seeded.location["id"],
                "customer_id": seeded.customers[0]["id"],
                "line_items": [{"catalog_object_id": seeded.large, "quantity": "3"}],
            },
        }
        created = await http.post("/v2/orders", json=body)
        assert created.status_code == 200
        order = created.json()["order"]
        assert order["total_money"] == {"amount": 1050, "currency": "USD"}
        assert (await http.post("/v2/orders", json=body)).json()["order"]["id"] == order["id"]
        reused = await http.post(
            "/v2/orders", json={**body, "order": {"location_id": seeded.location["id"]}}
        )
        _only_error(reused, 400, "IDEMPOTENCY_KEY_REUSED")
        assert (await http.get(f"/v2/orders/{order['id']}")).json() == {"order": order}
        _only_error(await http.get("/v2/orders/NOPE"), 404, "NOT_FOUND")
        batch = await http.post(
            "/v2/orders/batch-retrieve", json={"order_ids": [order["id"], "NOPE"]}
        )
        assert [o["id"] for o in batch.json()["orders"]] == [order["id"]]
        missing = await http.post("/v2/orders", json={"order": {"line_items": []}})
        assert _only_error(missing, 400, "MISSING_REQUIRED_PARAMETER")["field"] == (
            "order.location_id"
        )


async def test_search_orders_walk_over_http() -> None:
    seeded = Seeded(customers=2)
    for index in range(31):
        seeded.sale(index, customer_id=seeded.customers[index % 2]["id"], state="COMPLETED")
    async with client(create_app(seeded.store, CONFIG)) as http:
        body = {
            "location_ids": [seeded.location["id"]],
            "limit": 7,
            "return_entries": True,
            "query": {"filter": {"customer_filter": {"customer_ids": [seeded.customers[0]["id"]]}}},
        }
        entries = await _walk(http, "/v2/orders/search", body, "order_entries")
        expected = [
            o["id"]
            for o in seeded.store.orders.values()
            if o["customer_id"] == seeded.customers[0]["id"]
        ]
        assert [e["order_id"] for e in entries] == expected[::-1]
        over = await http.post("/v2/orders/search", json={"location_ids": ["a"] * 11})
        assert _only_error(over, 400, "ARRAY_LENGTH_TOO_LONG")["field"] == "location_ids"


async def test_catalog_and_inventory_over_http() -> None:
    seeded = Seeded()
    async with client(create_app(seeded.store, CONFIG)) as http:
        upsert = await http.post(
            "/v2/catalog/object", json=item_body("tea", "Tea", [("Mug", "TEA-M", 150)])
        )
        assert upsert.status_code == 200
        tea = upsert.json()["catalog_object"]
        mug = tea["item_data"]["variations"][0]["id"]
        batch = await http.post(
            "/v2/catalog/batch-retrieve",
            json={"object_ids": [mug], "include_related_objects": True},
        )
        assert batch.json()["related_objects"][0]["id"] == tea["id"]
        missing = await http.post("/v2/catalog/batch-retrieve", json={})
        assert _only_error(missing, 400, "MISSING_REQUIRED_PARAMETER")["field"] == "object_ids"
        changes = [
            {
                "type": "PHYSICAL_COUNT",
                "physical_count": {
                    "catalog_object_id": variation,
                    "location_id": location,
                    "quantity": "4",
                    "state": "IN_STOCK",
                    "occurred_at": T0.isoformat(),
                },
            }
            for variation in (mug, seeded.regular, seeded.large)
            for location in (seeded.location["id"], seeded.other_location["id"])
        ]
        created = await http.post(
            "/v2/inventory/changes/batch-create",
            json={"idempotency_key": "inv-1", "changes": changes},
        )
        assert created.status_code == 200 and len(created.json()["changes"]) == 6
        counts = await _walk(http, "/v2/inventory/counts/batch-retrieve", {"limit": 4}, "counts")
        assert len(counts) == 6 and {c["quantity"] for c in counts} == {"4"}
        no_key = await http.post("/v2/inventory/changes/batch-create", json={"changes": []})
        assert _only_error(no_key, 400, "MISSING_REQUIRED_PARAMETER")["field"] == (
            "idempotency_key"
        )
        over = await http.post("/v2/inventory/counts/batch-retrieve", json={"limit": 1001})
        _only_error(over, 400, "VALUE_TOO_HIGH")


# -- sandbox control -------------------------------------------------------------------------


async def test_stats_count_requests_per_endpoint() -> None:
    seeded = Seeded(customers=1)
    async with client(create_app(seeded.store, CONFIG)) as http:
        await http.get(f"/v2/customers/{seeded.customers[0]['id']}")
        await http.get("/v2/customers/OTHER")
        await http.post("/v2/customers/search", json={})
        stats = (await http.get("/_sandbox/stats")).json()
        assert stats["total"] == 3
        assert stats["endpoints"] == {
            "GET /v2/customers/{customer_id}": 2,
            "POST /v2/customers/search": 1,
        }
        assert (await http.post("/_sandbox/reset")).json() == {"ok": True}
        assert (await http.get("/_sandbox/stats")).json() == {"total": 0, "endpoints": {}}


@pytest.mark.parametrize(
    ("faults", "status", "category", "code"),
    [
        ({"rate_limited": True}, 429, "RATE_LIMIT_ERROR", "RATE_LIMITED"),
        ({"error_rate": 1.0}, 500, "API_ERROR", "INTERNAL_SERVER_ERROR"),
        ({"down": True}, 503, "API_ERROR", "SERVICE_UNAVAILABLE"),
    ],
)
async def test_faults_use_square_shapes(
    faults: dict[str, Any], status: int, category: str, code: str
) -> None:
    async with client(create_app(SquareStore(), CONFIG)) as http:
        assert (await http.post("/_sandbox/faults", json=faults)).status_code == 200
        response = await http.post("/v2/customers/search", json={})
        assert _only_error(response, status, code)["category"] == category
        await http.post("/_sandbox/reset")
        assert (await http.post("/v2/customers/search", json={})).status_code == 200


async def test_latency_fault_delays_requests() -> None:
    async with client(create_app(SquareStore(), CONFIG)) as http:
        await http.post("/_sandbox/faults", json={"latency_ms": 60})
        started = time.perf_counter()
        response = await http.get("/v2/locations")
        assert response.status_code == 200
        assert time.perf_counter() - started >= 0.05


async def test_control_api_needs_no_square_token() -> None:
    async with client(create_app(SquareStore(), CONFIG), headers={}) as http:
        assert (await http.get("/_sandbox/faults")).json()["down"] is False
        assert (await http.get("/_sandbox/stats")).status_code == 200
        _only_error(await http.get("/v2/locations"), 401, "UNAUTHORIZED")
