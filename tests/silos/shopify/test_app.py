from __future__ import annotations

import base64
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from silos.shopify import ShopifySiloConfig, ShopifyStore, create_app
from tests.shapes import as_json

from .factory import API, HEADERS, INVALID_TOKEN, T0, FakeClock, Shop, customer_body

BASE = "https://c360-sandbox.myshopify.com"


def links(response: httpx.Response) -> dict[str, str]:
    header = response.headers.get("link")
    if header is None:
        return {}
    found = {}
    for part in header.split(", "):
        url, rel = part.split("; ")
        found[rel.removeprefix('rel="').removesuffix('"')] = url.strip("<>")
    return found


def ident(record: dict[str, Any]) -> Any:
    if "id" in record:
        return record["id"]
    return (record["inventory_item_id"], record["location_id"])


async def walk(
    client: httpx.AsyncClient, url: str, key: str
) -> tuple[list[list[Any]], list[list[Any]]]:
    """Pages forward following rel=next, then back from the last page following rel=previous."""
    forward: list[list[Any]] = []
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert "previous" not in links(response)
    while True:
        forward.append([ident(record) for record in response.json()[key]])
        following = links(response).get("next")
        if following is None:
            break
        response = await client.get(following)
        assert response.status_code == 200, response.text
    backward: list[list[Any]] = [forward[-1]]
    while (previous := links(response).get("previous")) is not None:
        response = await client.get(previous)
        assert response.status_code == 200, response.text
        backward.append([ident(record) for record in response.json()[key]])
    backward.reverse()
    return forward, backward


def flat(pages: list[list[Any]]) -> list[Any]:
    return [record_id for page in pages for record_id in page]


# ------------------------------------------------------------------------------- auth, routing


@pytest.mark.anyio
async def test_missing_or_wrong_token_is_401(client: httpx.AsyncClient) -> None:
    for headers in ({"X-Shopify-Access-Token": ""}, {"X-Shopify-Access-Token": "shpat_wrong"}):
        response = await client.get(f"{API}/customers.json", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"errors": INVALID_TOKEN}
        assert "x-shopify-shop-api-call-limit" not in response.headers
    async with httpx.AsyncClient(transport=client._transport, base_url=BASE) as anonymous:
        response = await anonymous.get(f"{API}/orders.json")
    assert (response.status_code, response.json()) == (401, {"errors": INVALID_TOKEN})


@pytest.mark.anyio
async def test_unknown_paths_ids_and_versions_are_404(client: httpx.AsyncClient) -> None:
    for path in (
        f"{API}/customers/1.json",
        f"{API}/orders/1.json",
        f"{API}/products/1.json",
        f"{API}/locations/1.json",
        f"{API}/customers/abc.json",
        f"{API}/widgets.json",
        "/admin/api/v1/customers.json",
        "/admin/customers.json",
    ):
        response = await client.get(path)
        assert (response.status_code, response.json()) == (404, {"errors": "Not Found"}), path
    response = await client.delete(f"{API}/customers.json")
    assert (response.status_code, response.json()) == (404, {"errors": "Not Found"})


@pytest.mark.anyio
async def test_version_and_call_limit_headers(client: httpx.AsyncClient) -> None:
    first = await client.get("/admin/api/unstable/locations.json")
    second = await client.get(f"{API}/locations.json")
    assert first.headers["x-shopify-api-version"] == "unstable"
    assert second.headers["x-shopify-api-version"] == "2026-07"
    used = [int(r.headers["x-shopify-shop-api-call-limit"].split("/")[0]) for r in (first, second)]
    assert second.headers["x-shopify-shop-api-call-limit"].endswith("/40")
    assert used[1] >= used[0] >= 1


@pytest.mark.anyio
async def test_single_records_are_the_stored_records(client: httpx.AsyncClient, shop: Shop) -> None:
    customer = shop.customers[3]
    order = shop.orders[5]
    got = await client.get(f"{API}/customers/{customer['id']}.json")
    assert got.json() == {"customer": as_json(customer)}
    got = await client.get(f"{API}/orders/{order['id']}.json")
    assert got.json() == {"order": as_json(order)}
    got = await client.get(f"{API}/products/{shop.product['id']}.json")
    assert got.json() == {"product": as_json(shop.product)}
    got = await client.get(f"{API}/orders/{order['id']}.json?fields=id,name,total_price")
    assert got.json() == {
        "order": {"id": order["id"], "name": order["name"], "total_price": order["total_price"]}
    }


@pytest.mark.anyio
async def test_locations(client: httpx.AsyncClient, shop: Shop) -> None:
    listed = (await client.get(f"{API}/locations.json")).json()["locations"]
    assert [loc["name"] for loc in listed] == ["Brooklyn Store", "Newark Warehouse"]
    assert listed[0]["localized_country_name"] == "United States"
    single = (await client.get(f"{API}/locations/{shop.brooklyn['id']}.json")).json()["location"]
    assert "localized_country_name" not in single and single["name"] == "Brooklyn Store"


@pytest.mark.anyio
async def test_request_uri_too_long_is_414(client: httpx.AsyncClient) -> None:
    ids = ",".join(str(7_100_000_000_000 + n) for n in range(700))
    response = await client.get(f"{API}/customers.json?ids={ids}")
    assert response.status_code == 414
    assert response.headers["content-type"].startswith("text/html")


# -------------------------------------------------------------------------------- pagination


@pytest.mark.anyio
async def test_customer_pages_both_ways_return_every_record_once(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    forward, backward = await walk(client, f"{API}/customers.json?limit=5", "customers")
    expected = sorted((c["id"] for c in shop.customers), reverse=True)
    assert flat(forward) == expected
    assert [len(page) for page in forward] == [5, 5, 2]
    assert backward == forward


@pytest.mark.anyio
async def test_link_header_shape_and_host(shop: Shop) -> None:
    app = create_app(shop.store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8101", headers=HEADERS
    ) as client:
        response = await client.get(f"{API}/customers.json?limit=5&fields=id,email")
        following = links(response)["next"]
        parts = urlsplit(following)
        assert (parts.scheme, parts.netloc, parts.path) == (
            "http",
            "127.0.0.1:8101",
            f"{API}/customers.json",
        )
        query = parse_qs(parts.query)
        assert query["limit"] == ["5"] and query["fields"] == ["id,email"]
        assert set(query) == {"limit", "fields", "page_info"}
        assert response.headers["link"] == f'<{following}>; rel="next"'
        page = await client.get(following)
        assert set(page.json()["customers"][0]) == {"id", "email"}
        header = page.headers["link"]
        assert header.index('rel="previous"') < header.index('rel="next"')
        everything = await client.get(f"{API}/customers.json")
        assert "link" not in everything.headers
        assert len(everything.json()["customers"]) == 12


@pytest.mark.anyio
async def test_page_info_refuses_other_filters(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{API}/orders.json?limit=3&status=any&updated_at_min=2020-01-01")
    following = links(first)["next"]
    for extra in ("status=any", "updated_at_min=2020-01-01T00:00:00Z", "ids=1"):
        param = extra.split("=")[0]
        response = await client.get(f"{following}&{extra}")
        assert response.status_code == 400
        assert response.json() == {
            "errors": {
                param: f"{param} cannot be passed when page_info is present. "
                "See https://shopify.dev/api/usage/pagination-rest for more information."
            }
        }
    ok = await client.get(f"{following}&fields=id")
    assert ok.status_code == 200 and set(ok.json()["orders"][0]) == {"id"}


@pytest.mark.anyio
async def test_bad_page_info_is_400(client: httpx.AsyncClient) -> None:
    customers = await client.get(f"{API}/customers.json?limit=2")
    customer_cursor = parse_qs(urlsplit(links(customers)["next"]).query)["page_info"][0]
    garbage = base64.urlsafe_b64encode(b"not json").decode()
    for page_info in ("abc", garbage, "%%%", customer_cursor[:-3]):
        response = await client.get(f"{API}/customers.json", params={"page_info": page_info})
        assert response.status_code == 400, page_info
        assert response.json() == {"errors": {"page_info": "Invalid value."}}
    response = await client.get(f"{API}/orders.json", params={"page_info": customer_cursor})
    assert (response.status_code, response.json()) == (
        400,
        {"errors": {"page_info": "Invalid value."}},
    )


@pytest.mark.anyio
async def test_limit_bounds(client: httpx.AsyncClient) -> None:
    over = await client.get(f"{API}/customers.json?limit=251")
    assert (over.status_code, over.json()) == (
        400,
        {"errors": "Limit exceeds maximum limit of 250"},
    )
    assert (await client.get(f"{API}/customers.json?limit=250")).status_code == 200
    for bad in ("0", "-1", "ten"):
        response = await client.get(f"{API}/customers.json?limit={bad}")
        assert response.json() == {"errors": {"limit": "Invalid value."}}


@pytest.mark.anyio
async def test_default_page_size_is_50() -> None:
    store = ShopifyStore()
    for n in range(55):
        store.create_customer(customer_body(n), at=T0)
    app = create_app(store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=HEADERS
    ) as client:
        response = await client.get(f"{API}/customers.json")
        assert len(response.json()["customers"]) == 50
        rest = await client.get(links(response)["next"])
        assert len(rest.json()["customers"]) == 5


@pytest.mark.anyio
async def test_ids_filter_is_paginated_and_ignores_unknown_ids(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    wanted = [c["id"] for c in shop.customers[:7]]
    ids = ",".join(str(i) for i in [*wanted, 123])
    forward, backward = await walk(client, f"{API}/customers.json?ids={ids}&limit=3", "customers")
    assert flat(forward) == sorted(wanted, reverse=True)
    assert backward == forward
    bad = await client.get(f"{API}/customers.json?ids=1,x")
    assert (bad.status_code, bad.json()) == (400, {"errors": {"ids": "Invalid value."}})


@pytest.mark.anyio
async def test_since_id_lists_ascending_after_the_id(client: httpx.AsyncClient, shop: Shop) -> None:
    ids = sorted(c["id"] for c in shop.customers)
    forward, backward = await walk(
        client, f"{API}/customers.json?since_id={ids[3]}&limit=4", "customers"
    )
    assert flat(forward) == ids[4:]
    assert backward == forward


@pytest.mark.anyio
async def test_customer_time_filters(client: httpx.AsyncClient, shop: Shop) -> None:
    created = shop.customers[4]["created_at"]
    response = await client.get(f"{API}/customers.json", params={"created_at_min": created})
    ids = [c["id"] for c in response.json()["customers"]]
    assert sorted(ids) == sorted(c["id"] for c in shop.customers[4:])
    response = await client.get(f"{API}/customers.json", params={"updated_at_max": "2000-01-01"})
    assert response.json() == {"customers": []}
    bad = await client.get(f"{API}/customers.json", params={"created_at_min": "yesterday"})
    assert bad.json() == {"errors": {"created_at_min": "Invalid value."}}


# ----------------------------------------------------------------------------------- search


@pytest.mark.anyio
async def test_search_by_email_phone_and_name(client: httpx.AsyncClient, shop: Shop) -> None:
    customer = shop.customers[2]
    for query in (
        f"email:{customer['email'].upper()}",
        "phone:+16136120002",
        'phone:"(613) 612-0002"',
        "norman2",
    ):
        response = await client.get(f"{API}/customers/search.json", params={"query": query})
        assert [c["id"] for c in response.json()["customers"]] == [customer["id"]], query
    nothing = await client.get(f"{API}/customers/search.json", params={"query": "email:x@y.z"})
    assert nothing.json() == {"customers": []}


@pytest.mark.anyio
async def test_search_pages_both_ways(client: httpx.AsyncClient, shop: Shop) -> None:
    forward, backward = await walk(
        client, f"{API}/customers/search.json?query=bob&limit=5", "customers"
    )
    assert flat(forward) == sorted((c["id"] for c in shop.customers), reverse=True)
    assert backward == forward
    first = await client.get(f"{API}/customers/search.json?query=bob&limit=5")
    refused = await client.get(f"{links(first)['next']}&query=bob")
    assert refused.status_code == 400 and "query" in refused.json()["errors"]


# ----------------------------------------------------------------------------------- orders


@pytest.mark.anyio
async def test_orders_default_to_open(client: httpx.AsyncClient, shop: Shop) -> None:
    store = shop.store
    closed = shop.orders[0]
    store.close_order(closed["id"], at=T0 + timedelta(days=1))
    cancelled = shop.orders[1]
    store.cancel_order(cancelled["id"], at=T0 + timedelta(days=1))
    open_ids = {o["id"] for o in shop.orders} - {closed["id"], cancelled["id"]}
    forward, backward = await walk(client, f"{API}/orders.json?limit=7", "orders")
    assert set(flat(forward)) == open_ids and len(flat(forward)) == len(open_ids)
    assert backward == forward
    every, _ = await walk(client, f"{API}/orders.json?limit=7&status=any", "orders")
    assert flat(every) == sorted((o["id"] for o in shop.orders), reverse=True)
    for status, expected in (("closed", [closed["id"]]), ("cancelled", [cancelled["id"]])):
        response = await client.get(f"{API}/orders.json?status={status}")
        assert [o["id"] for o in response.json()["orders"]] == expected
    bad = await client.get(f"{API}/orders.json?status=all")
    assert bad.json() == {"errors": {"status": "Invalid value."}}


@pytest.mark.anyio
async def test_order_filters(client: httpx.AsyncClient, shop: Shop) -> None:
    store = shop.store
    customer = shop.customers[1]
    mine = [o["id"] for o in shop.orders if o["customer"]["id"] == customer["id"]]
    response = await client.get(f"{API}/orders.json?customer_id={customer['id']}")
    assert sorted(o["id"] for o in response.json()["orders"]) == sorted(mine)
    store.create_fulfillment(
        shop.orders[2]["id"], {"fulfillment": {"location_id": shop.warehouse["id"]}}
    )
    fulfilled = await client.get(f"{API}/orders.json?fulfillment_status=shipped")
    assert [o["id"] for o in fulfilled.json()["orders"]] == [shop.orders[2]["id"]]
    unshipped = await client.get(f"{API}/orders.json?fulfillment_status=unshipped&limit=250")
    assert len(unshipped.json()["orders"]) == len(shop.orders) - 1
    store.create_refund(
        shop.orders[3]["id"],
        {
            "refund": {
                "refund_line_items": [
                    {"line_item_id": shop.orders[3]["line_items"][0]["id"], "quantity": 1}
                ]
            }
        },
    )
    refunded = await client.get(f"{API}/orders.json?financial_status=refunded")
    assert [o["id"] for o in refunded.json()["orders"]] == [shop.orders[3]["id"]]
    created = shop.orders[20]["created_at"]
    response = await client.get(f"{API}/orders.json", params={"created_at_min": created})
    assert {o["id"] for o in response.json()["orders"]} == {o["id"] for o in shop.orders[20:]}
    response = await client.get(
        f"{API}/orders.json",
        params={"ids": f"{shop.orders[0]['id']},{shop.orders[1]['id']}", "created_at_max": created},
    )
    assert sorted(o["id"] for o in response.json()["orders"]) == [
        shop.orders[0]["id"],
        shop.orders[1]["id"],
    ]


@pytest.mark.anyio
async def test_customer_orders(client: httpx.AsyncClient, shop: Shop) -> None:
    customer = shop.customers[5]
    mine = sorted(o["id"] for o in shop.orders if o["customer"]["id"] == customer["id"])
    shop.store.close_order(mine[0])
    response = await client.get(f"{API}/customers/{customer['id']}/orders.json")
    assert [o["id"] for o in response.json()["orders"]] == mine[1:]
    forward, backward = await walk(
        client, f"{API}/customers/{customer['id']}/orders.json?status=any&limit=1", "orders"
    )
    assert forward == [[mine[1]], [mine[0]]] and backward == forward
    missing = await client.get(f"{API}/customers/1/orders.json")
    assert missing.status_code == 404


@pytest.mark.anyio
async def test_create_customer_and_order_over_http(client: httpx.AsyncClient, shop: Shop) -> None:
    created = await client.post(f"{API}/customers.json", json=customer_body(99))
    assert created.status_code == 201
    customer = created.json()["customer"]
    assert customer["phone"] == "+16136120099"
    taken = await client.post(f"{API}/customers.json", json=customer_body(99))
    assert (taken.status_code, taken.json()) == (
        422,
        {"errors": {"email": ["has already been taken"], "phone": ["has already been taken"]}},
    )
    order = await client.post(
        f"{API}/orders.json",
        json={
            "order": {
                "customer": {"id": customer["id"]},
                "line_items": [{"variant_id": shop.product["variants"][0]["id"], "quantity": 2}],
            }
        },
    )
    assert order.status_code == 201
    body = order.json()["order"]
    assert body["total_price"] == "398.00" and body["customer"]["id"] == customer["id"]
    again = await client.get(f"{API}/orders/{body['id']}.json")
    assert again.json()["order"] == body
    bad = await client.post(
        f"{API}/orders.json", json={"order": {"line_items": [{"variant_id": 5}]}}
    )
    assert (bad.status_code, bad.json()) == (
        422,
        {"errors": {"line_items.variant_id": ["is invalid"]}},
    )


@pytest.mark.anyio
async def test_malformed_bodies_are_400(client: httpx.AsyncClient, shop: Shop) -> None:
    order_id = shop.orders[0]["id"]
    for path, root in (
        (f"{API}/customers.json", "customer"),
        (f"{API}/orders.json", "order"),
        (f"{API}/orders/{order_id}/refunds.json", "refund"),
    ):
        for content in (
            b"{not json",
            b"[1, 2]",
            b'{"something": {}}',
            b'{"%s": "x"}' % root.encode(),
        ):
            response = await client.post(path, content=content)
            assert response.status_code == 400, (path, content)
            assert response.json() == {"errors": {root: "Required parameter missing or invalid"}}


@pytest.mark.anyio
async def test_refunds_over_http(client: httpx.AsyncClient, shop: Shop) -> None:
    order = shop.orders[4]
    line = order["line_items"][0]
    created = await client.post(
        f"{API}/orders/{order['id']}/refunds.json",
        json={
            "refund": {
                "note": "damaged",
                "refund_line_items": [
                    {"line_item_id": line["id"], "quantity": 1, "restock_type": "no_restock"}
                ],
            }
        },
    )
    assert created.status_code == 201
    refund = created.json()["refund"]
    assert refund["transactions"][0]["amount"] == "199.00"
    listed = await client.get(f"{API}/orders/{order['id']}/refunds.json")
    assert listed.json() == {"refunds": [refund]}
    over = await client.post(
        f"{API}/orders/{order['id']}/refunds.json",
        json={"refund": {"refund_line_items": [{"line_item_id": line["id"], "quantity": 1}]}},
    )
    assert over.status_code == 422
    missing = await client.post(f"{API}/orders/1/refunds.json", json={"refund": {}})
    assert (missing.status_code, missing.json()) == (404, {"errors": "Not Found"})
    assert (await client.get(f"{API}/orders/1/refunds.json")).status_code == 404


@pytest.mark.anyio
async def test_close_open_cancel_and_fulfillments(client: httpx.AsyncClient, shop: Shop) -> None:
    order = shop.orders[6]
    closed = await client.post(f"{API}/orders/{order['id']}/close.json")
    assert closed.json()["order"]["closed_at"] is not None
    reopened = await client.post(f"{API}/orders/{order['id']}/open.json")
    assert reopened.json()["order"]["closed_at"] is None
    cancelled = await client.post(
        f"{API}/orders/{order['id']}/cancel.json", json={"reason": "customer"}
    )
    assert cancelled.json()["order"]["cancel_reason"] == "customer"
    twice = await client.post(f"{API}/orders/{order['id']}/cancel.json")
    assert twice.status_code == 422
    shop.store.create_fulfillment(
        order["id"], {"fulfillment": {"location_id": shop.brooklyn["id"]}}
    )
    listed = await client.get(f"{API}/orders/{order['id']}/fulfillments.json")
    assert [f["location_id"] for f in listed.json()["fulfillments"]] == [shop.brooklyn["id"]]
    assert (await client.post(f"{API}/orders/1/close.json")).status_code == 404


# ------------------------------------------------------------------------ products, inventory


@pytest.mark.anyio
async def test_products_list_ascending_with_pages(client: httpx.AsyncClient, shop: Shop) -> None:
    store = shop.store
    made = [shop.product["id"]]
    for n in range(4):
        made.append(
            store.create_product({"product": {"title": f"Thing {n}", "vendor": "Acme"}})["id"]
        )
    forward, backward = await walk(client, f"{API}/products.json?limit=2", "products")
    assert flat(forward) == made and backward == forward
    acme = await client.get(f"{API}/products.json?vendor=Acme&since_id={made[2]}")
    assert [p["id"] for p in acme.json()["products"]] == made[3:]


@pytest.mark.anyio
async def test_inventory_levels(client: httpx.AsyncClient, shop: Shop) -> None:
    items = [v["inventory_item_id"] for v in shop.product["variants"]]
    response = await client.get(
        f"{API}/inventory_levels.json",
        params={
            "inventory_item_ids": f"{items[0]},{items[1]}",
            "location_ids": str(shop.brooklyn["id"]),
        },
    )
    levels = response.json()["inventory_levels"]
    assert [(lv["inventory_item_id"], lv["available"]) for lv in levels] == [
        (items[0], 3),
        (items[1], 3),
    ]
    forward, backward = await walk(
        client,
        f"{API}/inventory_levels.json?location_ids={shop.warehouse['id']},{shop.brooklyn['id']}"
        "&limit=4",
        "inventory_levels",
    )
    assert len(flat(forward)) == 6 and [len(p) for p in forward] == [4, 2]
    assert backward == forward
    neither = await client.get(f"{API}/inventory_levels.json")
    assert neither.status_code == 422
    too_many = ",".join(str(n) for n in range(51))
    over = await client.get(f"{API}/inventory_levels.json?inventory_item_ids={too_many}")
    assert over.status_code == 422 and "inventory_item_ids" in over.json()["errors"]
    fifty = ",".join(str(n) for n in range(50))
    ok = await client.get(f"{API}/inventory_levels.json?location_ids={fifty}")
    assert ok.json() == {"inventory_levels": []}
    shop.store.set_inventory_level(
        {"location_id": shop.brooklyn["id"], "inventory_item_id": items[2], "available": 9},
        at=T0 + timedelta(days=5),
    )
    recent = await client.get(
        f"{API}/inventory_levels.json",
        params={"location_ids": str(shop.brooklyn["id"]), "updated_at_min": "2025-07-05"},
    )
    assert [lv["inventory_item_id"] for lv in recent.json()["inventory_levels"]] == [items[2]]


# -------------------------------------------------------------------------------- rate limits


@pytest.mark.anyio
async def test_leaky_bucket_enforced_with_an_injected_clock() -> None:
    clock = FakeClock()
    config = ShopifySiloConfig(rate_limit=True, bucket_size=3, leak_rate=1.0, clock=clock)
    app = create_app(ShopifyStore(), config)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=HEADERS
    ) as client:
        answers = [await client.get(f"{API}/locations.json") for _ in range(3)]
        assert [r.headers["x-shopify-shop-api-call-limit"] for r in answers] == [
            "1/3",
            "2/3",
            "3/3",
        ]
        limited = await client.get(f"{API}/locations.json")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "2.0"
        assert limited.json() == {
            "errors": "Exceeded 1 calls per second for api client. "
            "Reduce request rates to resume uninterrupted service."
        }
        assert "x-shopify-shop-api-call-limit" not in limited.headers
        clock.now += 1.0
        again = await client.get(f"{API}/locations.json")
        assert (again.status_code, again.headers["x-shopify-shop-api-call-limit"]) == (200, "3/3")
        clock.now += 10
        rested = await client.get(f"{API}/locations.json")
        assert rested.headers["x-shopify-shop-api-call-limit"] == "1/3"


@pytest.mark.anyio
async def test_bucket_not_enforced_by_default() -> None:
    clock = FakeClock()
    app = create_app(ShopifyStore(), ShopifySiloConfig(bucket_size=2, clock=clock))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=HEADERS
    ) as client:
        answers = [await client.get(f"{API}/locations.json") for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4
    assert answers[-1].headers["x-shopify-shop-api-call-limit"] == "2/2"


# ------------------------------------------------------------------------------ control API


@pytest.mark.anyio
async def test_control_api_counts_and_faults(client: httpx.AsyncClient, shop: Shop) -> None:
    await client.get(f"{API}/customers.json")
    await client.get(f"{API}/customers/{shop.customers[0]['id']}.json")
    await client.get(f"{API}/customers/{shop.customers[1]['id']}.json")
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["endpoints"] == {
        "GET /admin/api/{version}/customers.json": 1,
        "GET /admin/api/{version}/customers/{customer_id:int}.json": 2,
    }
    await client.post("/_sandbox/faults", json={"rate_limited": True})
    limited = await client.get(f"{API}/customers.json")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2.0")
    assert limited.json()["errors"].startswith("Exceeded 2 calls per second for api client.")
    await client.post("/_sandbox/faults", json={"rate_limited": False, "error_rate": 1.0})
    failed = await client.get(f"{API}/customers.json")
    assert (failed.status_code, failed.json()) == (500, {"errors": "Internal Server Error"})
    await client.post("/_sandbox/faults", json={"error_rate": 0.0, "down": True})
    down = await client.get(f"{API}/customers.json")
    assert down.status_code == 503 and down.headers["content-type"].startswith("text/html")
    await client.post("/_sandbox/reset")
    await client.post("/_sandbox/faults", json={"latency_ms": 60})
    started = time.perf_counter()
    slow = await client.get(f"{API}/locations.json")
    assert slow.status_code == 200 and time.perf_counter() - started >= 0.05
    await client.post("/_sandbox/reset")
    assert (await client.get(f"{API}/locations.json")).status_code == 200


def test_store_and_config_currency_must_agree() -> None:
    with pytest.raises(ValueError, match="currency"):
        create_app(ShopifyStore(currency="CAD"), ShopifySiloConfig())
