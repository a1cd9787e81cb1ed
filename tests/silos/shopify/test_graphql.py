"""The emulated Admin GraphQL endpoint: orders/customers connections, search, cost, errors."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from silos.shopify import ShopifySiloConfig, ShopifyStore, create_app

from .factory import API, HEADERS, INVALID_TOKEN, FakeClock, Shop, build_shop

pytestmark = pytest.mark.anyio

BASE = "https://c360-sandbox.myshopify.com"
GRAPHQL = f"{API}/graphql.json"
ORDER_REFS = """query($first: Int!, $query: String, $after: String, $reverse: Boolean) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT, reverse: $reverse) {
    nodes { id legacyResourceId name createdAt processedAt closed
            customer { id legacyResourceId displayName } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


@pytest.fixture
def shop() -> Shop:
    return build_shop(customers=12, orders_per_customer=3)


def silo(store: ShopifyStore, **settings: Any) -> httpx.AsyncClient:
    app = create_app(store, ShopifySiloConfig(**settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE,
                             headers=HEADERS)


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with silo(shop.store) as c:
        yield c


async def gql(
    client: httpx.AsyncClient, document: str, /, **variables: Any
) -> dict[str, Any]:
    response = await client.post(GRAPHQL, json={"query": document, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def of_customers(shop: Shop, *customers: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = {customer["id"] for customer in customers}
    return [order for order in shop.orders if order["customer"]["id"] in wanted]


def utc(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------ the orders


async def test_orders_of_several_customers_newest_first(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    picked = (shop.customers[1], shop.customers[4], shop.customers[9])
    query = " OR ".join(f"customer_id:{c['id']}" for c in picked)
    body = await gql(client, ORDER_REFS, first=250, query=query, reverse=True)
    orders = body["data"]["orders"]
    expected = sorted(of_customers(shop, *picked), key=lambda o: o["created_at"], reverse=True)
    assert [node["legacyResourceId"] for node in orders["nodes"]] == [
        str(order["id"]) for order in expected]
    for node, order in zip(orders["nodes"], expected, strict=True):
        customer = shop.store.customers[order["customer"]["id"]]
        assert node == {
            "id": f"gid://shopify/Order/{order['id']}",
            "legacyResourceId": str(order["id"]),
            "name": order["name"],
            "createdAt": utc(order["created_at"]),
            "processedAt": utc(order["processed_at"]),
            "closed": False,
            "customer": {
                "id": f"gid://shopify/Customer/{customer['id']}",
                "legacyResourceId": str(customer["id"]),
                "displayName": f"{customer['first_name']} {customer['last_name']}",
            },
        }
    assert orders["pageInfo"]["hasNextPage"] is False
    assert orders["pageInfo"]["hasPreviousPage"] is False
    cost = body["extensions"]["cost"]
    # 2 for the connection + per order node 1 + 1 for its customer object.
    assert cost["requestedQueryCost"] == 2 + 250 * 2
    assert cost["actualQueryCost"] == 2 + len(expected) * 2
    assert cost["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 2000 - cost["actualQueryCost"],
        "restoreRate": 100.0,
    }


async def test_the_search_is_answered_from_the_customer_index(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    class NoScan(dict[int, Any]):
        def __iter__(self) -> Iterator[int]:
            raise AssertionError("every order was scanned")

    shop.store.orders = NoScan(shop.store.orders)
    customer = shop.customers[2]
    body = await gql(client, ORDER_REFS, first=10, query=f"customer_id:{customer['id']}")
    assert len(body["data"]["orders"]["nodes"]) == 3


async def test_pages_follow_end_cursor_and_go_back_with_before(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    picked = shop.customers[:5]
    query = " OR ".join(f"customer_id:{c['id']}" for c in picked)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await gql(client, ORDER_REFS, first=4, query=query, after=after,
                          reverse=True))["data"]["orders"]
        pages += 1
        seen += [node["legacyResourceId"] for node in page["nodes"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = sorted(of_customers(shop, *picked), key=lambda o: o["created_at"], reverse=True)
    assert seen == [str(order["id"]) for order in expected]
    assert pages == 4  # 15 orders, 4 a page
    back = await gql(client, """query($before: String!, $query: String!) {
        orders(last: 3, before: $before, query: $query, sortKey: CREATED_AT, reverse: true) {
          edges { cursor node { legacyResourceId } }
          pageInfo { hasPreviousPage hasNextPage } } }""", before=after, query=query)
    connection = back["data"]["orders"]
    assert [edge["node"]["legacyResourceId"] for edge in connection["edges"]] == seen[8:11]
    assert connection["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": True}


async def test_sort_keys_and_default(client: httpx.AsyncClient, shop: Shop) -> None:
    query = ("query($sort: OrderSortKeys!) "
             "{ orders(first: 250, sortKey: $sort) { nodes { legacyResourceId } } }")
    by_id = await gql(client, query, sort="ID")
    ids = [int(n["legacyResourceId"]) for n in by_id["data"]["orders"]["nodes"]]
    assert ids == sorted(shop.store.orders)
    default = await gql(client, "{ orders(first: 250) { nodes { legacyResourceId processedAt } } }")
    stamps = [n["processedAt"] for n in default["data"]["orders"]["nodes"]]
    assert stamps == sorted(stamps) and len(stamps) == len(shop.orders)


async def test_date_id_and_text_filters(client: httpx.AsyncClient, shop: Shop) -> None:
    middle = shop.orders[len(shop.orders) // 2]
    after = (datetime.fromisoformat(middle["created_at"]) - timedelta(seconds=1)).astimezone(UTC)
    query = "query($q: String!) { orders(first: 250, query: $q) { nodes { legacyResourceId } } }"

    async def ids(search: str) -> set[int]:
        body = await gql(client, query, q=search)
        return {int(n["legacyResourceId"]) for n in body["data"]["orders"]["nodes"]}

    later = {o["id"] for o in shop.orders if o["created_at"] >= middle["created_at"]}
    assert await ids(f"created_at:>'{after.isoformat()}'") == later
    assert await ids(f"created_at:<='{after.isoformat()}'") == {
        o["id"] for o in shop.orders} - later
    assert await ids(f"id:{middle['id']}") == {middle["id"]}
    assert await ids(f"id:>={middle['id']}") == {o["id"] for o in shop.orders
                                                 if o["id"] >= middle["id"]}
    assert await ids(middle["name"]) == {middle["id"]}
    customer = middle["customer"]["id"]
    mine = {o["id"] for o in shop.orders if o["customer"]["id"] == customer}
    assert await ids(f"customer_id:{customer} -id:{middle['id']}") == mine - {middle["id"]}
    # A field the orders search does not know is ignored, as Shopify documents.
    assert await ids(f"customer_id:{customer} colour:red") == mine
    assert await ids("customer_id:not-a-number") == set()


async def test_customers_connection(client: httpx.AsyncClient, shop: Shop) -> None:
    target = shop.customers[3]
    body = await gql(client, """query($q: String!) { customers(first: 5, query: $q) {
        nodes { id legacyResourceId firstName lastName numberOfOrders tags createdAt } } }""",
                     q=f"email:{target['email'].upper()}")
    (node,) = body["data"]["customers"]["nodes"]
    assert node == {
        "id": f"gid://shopify/Customer/{target['id']}",
        "legacyResourceId": str(target["id"]),
        "firstName": "Bob",
        "lastName": target["last_name"],
        "numberOfOrders": "3",
        "tags": ["Léon", "Noël"],
        "createdAt": utc(target["created_at"]),
    }
    newest = await gql(client, "{ customers(first: 2, sortKey: CREATED_AT, reverse: true) "
                               "{ nodes { legacyResourceId } pageInfo { hasNextPage } } }")
    assert [n["legacyResourceId"] for n in newest["data"]["customers"]["nodes"]] == [
        str(c["id"]) for c in shop.customers[::-1][:2]]
    assert newest["data"]["customers"]["pageInfo"]["hasNextPage"] is True


# ------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ orders { nodes { id } } }", "you must provide one of first or last"),
        ("{ orders(first: 251) { nodes { id } } }", "first cannot exceed 250."),
        ("{ customers(last: 300) { nodes { id } } }", "last cannot exceed 250."),
    ],
)
async def test_connection_sizes_are_checked_before_execution(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    body = await gql(client, query)
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert error["message"].startswith(message)
    assert error["locations"] == [{"line": 1, "column": 3}]


async def test_single_query_cost_limit(client: httpx.AsyncClient) -> None:
    nodes = "nodes { id customer { id } }"
    body = await gql(client, f"{{ a: orders(first: 250) {{ {nodes} }} "
                             f"b: orders(first: 250) {{ {nodes} }} }}")
    (error,) = body["errors"]
    assert "data" not in body
    assert error["message"].startswith(
        "Query cost is 1004, which exceeds the single query max cost limit (1000).")
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 1004, "maxCost": 1000,
                                   "documentation": "https://shopify.dev/api/usage/rate-limits"}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"query": "{ orders(first: 2 }"}, "Syntax Error"),
        ({"query": "{ widgets(first: 2) { id } }"}, "widgets"),
        ({"query": "{ orders(first: 2, sortKey: TOTAL_PRICE) { nodes { id } } }"}, "TOTAL_PRICE"),
        ({"query": "query($n: Int!) { orders(first: $n) { nodes { id } } }",
          "variables": {"n": "many"}}, "$n"),
        ({"query": "mutation { orderClose(id: 1) { id } }"}, "orderClose"),
        ({"variables": {}}, "No query string was present"),
    ],
    ids=["syntax", "unknown-field", "unknown-sort-key", "bad-variable", "mutation", "no-query"],
)
async def test_malformed_requests_are_200_with_errors(
    client: httpx.AsyncClient, payload: dict[str, Any], fragment: str
) -> None:
    response = await client.post(GRAPHQL, json=payload)
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body and body["errors"]
    assert fragment in body["errors"][0]["message"]


async def test_garbled_cursor_is_an_execution_error(client: httpx.AsyncClient) -> None:
    garbled = base64.urlsafe_b64encode(b'{"nope": 1}').decode()
    body = await gql(client, "query($a: String) { orders(first: 2, after: $a) { nodes { id } } }",
                     a=garbled)
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Invalid cursor"
    assert body["errors"][0]["path"] == ["orders"]


async def test_auth_body_and_content_types(client: httpx.AsyncClient, shop: Shop) -> None:
    query = "{ orders(first: 1) { nodes { id } } }"
    for token in ("", "shpat_wrong"):
        refused = await client.post(GRAPHQL, json={"query": query},
                                    headers={"X-Shopify-Access-Token": token})
        assert (refused.status_code, refused.json()) == (401, {"errors": INVALID_TOKEN})
    raw = await client.post(GRAPHQL, content=query,
                            headers={"Content-Type": "application/graphql"})
    assert raw.status_code == 200 and len(raw.json()["data"]["orders"]["nodes"]) == 1
    garbage = await client.post(GRAPHQL, content=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and "errors" in garbage.json()
    assert (await client.get(GRAPHQL)).status_code == 404
    unstable = await client.post("/admin/api/unstable/graphql.json", json={"query": query})
    assert unstable.headers["x-shopify-api-version"] == "unstable"


# ---------------------------------------------------------------------- throttling, faults


async def test_cost_bucket_throttles_when_enforced(shop: Shop) -> None:
    clock = FakeClock()
    settings = {"rate_limit": True, "graphql_bucket_size": 560.0, "graphql_restore_rate": 50.0,
                "clock": clock}
    async with silo(shop.store, **settings) as client:
        customer = shop.customers[0]["id"]
        first = await gql(client, ORDER_REFS, first=250, query=f"customer_id:{customer}")
        cost = first["extensions"]["cost"]
        assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (502, 2 + 3 * 2)
        assert cost["throttleStatus"]["currentlyAvailable"] == 560 - 8
        wide = await gql(client, ORDER_REFS, first=250)  # all 36 orders: 2 + 36 * 2
        assert wide["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 552 - 74
        throttled = await gql(client, ORDER_REFS, first=250)
        assert throttled == {
            "errors": [{"message": "Throttled",
                        "extensions": {"code": "THROTTLED",
                                       "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {
                "requestedQueryCost": 502, "actualQueryCost": None,
                "throttleStatus": {"maximumAvailable": 560.0, "currentlyAvailable": 478,
                                   "restoreRate": 50.0}}},
        }
        clock.now += 0.5  # 25 points restored: 503 >= 502
        again = await gql(client, ORDER_REFS, first=250)
        assert "errors" not in again
        # REST calls neither count against the GraphQL bucket nor the other way round.
        rest = await client.get(f"{API}/locations.json")
        assert rest.headers["x-shopify-shop-api-call-limit"] == "1/40"
        post = await client.post(
            GRAPHQL, json={"query": "{ customers(first: 1) { nodes { id } } }"})
        assert "x-shopify-shop-api-call-limit" not in post.headers


async def test_not_enforced_by_default(shop: Shop) -> None:
    async with silo(shop.store, graphql_bucket_size=600.0, clock=FakeClock()) as client:
        bodies = [await gql(client, ORDER_REFS, first=250) for _ in range(3)]
    assert all("errors" not in body for body in bodies)
    assert bodies[-1]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] >= 0


async def test_sandbox_faults_in_the_graphql_shapes(client: httpx.AsyncClient) -> None:
    query = {"query": ORDER_REFS, "variables": {"first": 100}}
    await client.post("/_sandbox/faults", json={"rate_limited": True})
    storm = await client.post(GRAPHQL, json=query)
    assert storm.status_code == 200
    body = storm.json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 100 * 2
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    assert (await client.get(f"{API}/locations.json")).status_code == 429
    await client.post("/_sandbox/faults", json={"rate_limited": False, "error_rate": 1.0})
    failed = await client.post(GRAPHQL, json=query)
    assert failed.status_code == 200
    (error,) = failed.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["message"].startswith(
        "Internal error. Looks like something went wrong on our end.")
    assert error["extensions"]["requestId"] in error["message"]
    assert (await client.get(f"{API}/locations.json")).status_code == 500
    await client.post("/_sandbox/faults", json={"error_rate": 0.0, "down": True})
    down = await client.post(GRAPHQL, json=query)
    assert down.status_code == 503 and down.headers["content-type"].startswith("text/html")
    stats = (await client.get("/_sandbox/stats")).json()["endpoints"]
    assert stats["POST /admin/api/{version}/graphql.json"] == 3


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        ShopifySiloConfig(graphql_bucket_size=0)
    with pytest.raises(ValueError):
        ShopifySiloConfig(graphql_restore_rate=0)
