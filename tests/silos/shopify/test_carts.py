"""Abandoned checkouts and draft orders: the store's records, their vendor shape, the endpoints."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from silos.shopify import ShopifySiloConfig, ShopifyStore, ShopifyValidationError, create_app
from silos.shopify.errors import BadRequest, ShopifyNotFoundError
from tests.shapes import as_json, assert_same_shape, covered, shape_differences

from .factory import ADDRESS, API, HEADERS, T0, Shop, build_shop, customer_body
from .test_app import BASE, flat, links, walk

Payload = Callable[[str], Any]

# The sandbox computes no taxes or discounts on checkouts: these vendor lists stay empty here.
CHECKOUT_UNCOVERED = {
    "$.line_items[].discount_allocations[]", "$.tax_lines[]", "$.discount_codes[]"}
# Nor taxes on draft orders.
DRAFT_UNCOVERED = {"$.line_items[].tax_lines[]", "$.tax_lines[]"}


@dataclass
class Carts:
    shop: Shop
    checkouts: list[dict[str, Any]]
    """Newest last; [0] has no customer, [1] is completed, [2] is closed."""
    drafts: list[dict[str, Any]]
    """[0] completed, [1] invoice sent, the rest open."""


def checkout_body(shop: Shop, n: int, *, customer: bool = True, **extra: Any) -> dict[str, Any]:
    variants = shop.product["variants"]
    body: dict[str, Any] = {
        "email": None,
        "line_items": [
            {"variant_id": variants[n % 3]["id"], "quantity": 1 + n % 2},
            {"variant_id": variants[(n + 1) % 3]["id"], "quantity": 1},
        ],
        "source_name": "web",
        **extra,
    }
    if customer:
        body["customer"] = {"id": shop.customers[n % len(shop.customers)]["id"]}
    return {"checkout": body}


def draft_body(shop: Shop, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "draft_order": {
            "customer": {"id": shop.customers[n % len(shop.customers)]["id"]},
            "line_items": [{"variant_id": shop.product["variants"][n % 3]["id"], "quantity": 2}],
            "note": f"call back #{n}",
            **extra,
        }
    }


def build_carts(checkouts: int = 12, drafts: int = 7) -> Carts:
    shop = build_shop(customers=4, orders_per_customer=1)
    store = shop.store
    start = T0 + timedelta(days=1)
    made = [
        store.create_checkout(checkout_body(shop, n, customer=n != 0),
                              at=start + timedelta(hours=n))
        for n in range(checkouts)
    ]
    later = start + timedelta(days=2)
    store.complete_checkout(made[1]["id"], at=later)
    store.close_checkout(made[2]["id"], at=later)
    made_drafts = [
        store.create_draft_order(draft_body(shop, n), at=start + timedelta(hours=n))
        for n in range(drafts)
    ]
    store.complete_draft_order(made_drafts[0]["id"], at=later)
    store.send_draft_order_invoice(made_drafts[1]["id"], at=later)
    return Carts(
        shop,
        [store.checkout(c["id"]) or {} for c in made],
        [store.draft_order(d["id"]) or {} for d in made_drafts],
    )


@pytest.fixture
def carts() -> Carts:
    return build_carts()


@pytest.fixture
async def client(carts: Carts) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(carts.shop.store, ShopifySiloConfig())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=HEADERS
    ) as c:
        yield c


# ------------------------------------------------------------------------------ the store


def test_checkout_is_priced_from_the_catalog_and_recoverable() -> None:
    shop = build_shop(customers=1, orders_per_customer=0)
    store = shop.store
    customer = shop.customers[0]
    green, red, _ = shop.product["variants"]
    checkout = store.create_checkout(
        {"checkout": {"customer": {"id": customer["id"]}, "email": None,
                      "line_items": [{"variant_id": green["id"], "quantity": 2},
                                     {"variant_id": red["id"], "quantity": 1}],
                      "source_name": "web",
                      "shipping_lines": [{"title": "Standard", "price": "5.00"}]}},
        at=T0,
    )
    assert checkout["created_at"] == checkout["updated_at"] == "2025-07-02T12:25:58-04:00"
    assert checkout["email"] == customer["email"]
    assert checkout["customer"]["id"] == customer["id"]
    assert [(line["sku"], line["quantity"], line["price"], line["line_price"])
            for line in checkout["line_items"]] == [
        ("IPOD2008GREEN", 2, "199.00", "398.00"), ("IPOD2008RED", 1, "199.00", "199.00")]
    assert (checkout["subtotal_price"], checkout["total_price"]) == ("597.00", "602.00")
    assert checkout["line_items"][0]["product_id"] == shop.product["id"]
    assert checkout["abandoned_checkout_url"] == (
        f"https://{store.shop_domain}/{store.shop_id}/checkouts/{checkout['token']}/recover")
    assert checkout["completed_at"] is None and checkout["closed_at"] is None
    assert checkout["name"] == f"#{checkout['id']}"
    anonymous = store.create_checkout(
        {"checkout": {"email": "walk.in@example.com",
                      "line_items": [{"variant_id": green["id"], "quantity": 1}]}}, at=T0)
    assert "customer" not in anonymous and anonymous["email"] == "walk.in@example.com"
    assert anonymous["id"] > checkout["id"] and store.checkout_ids[-1] == anonymous["id"]


def test_checkout_embeds_the_customer_as_it_is_now(carts: Carts) -> None:
    store = carts.shop.store
    checkout = carts.checkouts[3]
    customer_id = checkout["customer"]["id"]
    store.create_order({"order": {"customer": {"id": customer_id}, "line_items": [
        {"variant_id": carts.shop.product["variants"][0]["id"], "quantity": 1}]}},
        at=T0 + timedelta(days=30))
    now = store.customers[customer_id]["updated_at"]
    assert now != checkout["customer"]["updated_at"]
    assert (store.checkout(checkout["id"]) or {})["customer"]["updated_at"] == now


def test_completing_a_checkout_creates_its_order(carts: Carts) -> None:
    store = carts.shop.store
    completed = carts.checkouts[1]
    assert completed["completed_at"] == "2025-07-05T12:25:58-04:00"
    assert completed["updated_at"] == completed["completed_at"] and completed["closed_at"] is None
    order = next(o for o in store.orders.values() if o["checkout_id"] == completed["id"])
    assert (order["checkout_token"], order["cart_token"]) == (
        completed["token"], completed["cart_token"])
    assert order["total_price"] == completed["total_price"]
    assert order["customer"]["id"] == completed["customer"]["id"]
    assert [line["variant_id"] for line in order["line_items"]] == [
        line["variant_id"] for line in completed["line_items"]]
    with pytest.raises(ShopifyValidationError):
        store.complete_checkout(completed["id"])
    assert carts.checkouts[2]["closed_at"] is not None
    with pytest.raises(ShopifyNotFoundError):
        store.close_checkout(1)


def test_cart_bodies_are_validated() -> None:
    shop = build_shop(customers=1, orders_per_customer=0)
    store = shop.store
    green = shop.product["variants"][0]["id"]
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("checkout", {"line_items": []}, "line_items"),
        ("checkout", {"line_items": [{"variant_id": 1, "quantity": 1}]}, "line_items.variant_id"),
        ("checkout", {"line_items": [{"variant_id": green, "quantity": 0}]},
         "line_items.quantity"),
        ("checkout", {"customer": {"id": 1}, "line_items": [{"variant_id": green}]}, "customer"),
        ("draft_order", {"line_items": [{"price": "1.00"}]}, "line_items.title"),
        ("draft_order", {"line_items": [{"title": "X", "price": "abc"}]}, "line_items.price"),
        ("draft_order", {"line_items": [{"variant_id": green}],
                         "applied_discount": {"value_type": "bogus", "value": "1"}},
         "applied_discount.value_type"),
    ]
    for root, data, field in bad:
        create = store.create_checkout if root == "checkout" else store.create_draft_order
        with pytest.raises(ShopifyValidationError) as refused:
            create({root: data})
        assert field in refused.value.errors, (root, data)
    with pytest.raises(BadRequest):
        store.create_checkout({"draft_order": {}})
    with pytest.raises(BadRequest):
        store.create_draft_order({"checkout": {}})
    assert store.checkouts == {} and store.draft_orders == {}


def test_draft_order_names_prices_and_discounts() -> None:
    shop = build_shop(customers=1, orders_per_customer=0)
    store = shop.store
    customer = shop.customers[0]
    green = shop.product["variants"][0]["id"]
    draft = store.create_draft_order(
        {"draft_order": {"customer": {"id": customer["id"]},
                         "line_items": [{"variant_id": green, "quantity": 2},
                                        {"title": "Engraving", "price": "30.00", "sku": "ENG"}],
                         "applied_discount": {"value_type": "percentage", "value": "10",
                                              "title": "Loyal"},
                         "shipping_line": {"title": "Courier", "price": "12.25"},
                         "use_customer_default_address": True, "tags": "rush, vip"}},
        at=T0,
    )
    assert (draft["name"], draft["status"], draft["order_id"]) == ("#D1", "open", None)
    assert draft["invoice_url"].startswith(f"https://{store.shop_domain}/{store.shop_id}/invoices/")
    assert [(line["sku"], line["custom"], line["price"]) for line in draft["line_items"]] == [
        ("IPOD2008GREEN", False, "199.00"), ("ENG", True, "30.00")]
    assert draft["applied_discount"]["amount"] == "42.80"
    assert (draft["subtotal_price"], draft["total_price"]) == ("385.20", "397.45")
    assert draft["total_line_items_price_set"]["shop_money"]["amount"] == "428.00"
    assert draft["shipping_address"]["city"] == "Ottawa"
    assert draft["email"] == customer["email"] and draft["tags"] == "rush, vip"
    assert "addresses" not in draft["customer"] and draft["customer"]["orders_count"] == 0
    second = store.create_draft_order(
        {"draft_order": {"line_items": [{"variant_id": green}]}}, at=T0)
    assert second["name"] == "#D2" and "customer" not in second


def test_completing_a_draft_order_creates_the_order_once(carts: Carts) -> None:
    store = carts.shop.store
    draft = carts.drafts[0]
    assert draft["status"] == "completed"
    assert draft["completed_at"] == draft["updated_at"] == "2025-07-05T12:25:58-04:00"
    order = store.orders[draft["order_id"]]
    assert order["source_name"] == "shopify_draft_order"
    assert order["financial_status"] == "paid"
    assert order["total_price"] == draft["total_price"]
    assert order["customer"]["id"] == draft["customer"]["id"]
    with pytest.raises(ShopifyValidationError):
        store.complete_draft_order(draft["id"])
    with pytest.raises(ShopifyValidationError):
        store.send_draft_order_invoice(draft["id"])
    sent = carts.drafts[1]
    assert (sent["status"], sent["invoice_sent_at"]) == ("invoice_sent", sent["updated_at"])
    pending = store.complete_draft_order(carts.drafts[2]["id"], payment_pending=True)
    assert store.orders[pending["order_id"]]["financial_status"] == "pending"
    with pytest.raises(ShopifyNotFoundError):
        store.complete_draft_order(1)


# ------------------------------------------------------------- contract: 2026-07 payloads


@pytest.mark.vendor_payloads
def test_checkout_matches_the_vendor_shape(payload: Payload) -> None:
    shop = build_shop(customers=1, orders_per_customer=0)
    ours = as_json(shop.store.create_checkout(
        checkout_body(shop, 0, phone="+16135550100", shipping_address=ADDRESS,
                      billing_address=ADDRESS,
                      note_attributes=[{"name": "colour", "value": "green"}],
                      shipping_lines=[{"title": "Free Shipping", "price": "0.00"}]),
        at=T0))
    for vendor in payload("shopify/checkouts_list.json")["checkouts"]:
        assert_same_shape(ours, vendor)
        assert set(covered(ours, vendor)) == CHECKOUT_UNCOVERED


@pytest.mark.vendor_payloads
def test_draft_orders_match_the_vendor_shape(carts: Carts, payload: Payload) -> None:
    store = carts.shop.store
    request = copy.deepcopy(payload("shopify/draft_order_create_request.json"))
    request["draft_order"]["customer"]["id"] = carts.shop.customers[0]["id"]
    created = as_json(store.create_draft_order(request, at=T0))
    assert (created["subtotal_price"], created["applied_discount"]["amount"]) == ("30.00", "10.00")
    assert created["line_items"][0]["custom"] is True
    assert created["shipping_address"]["address1"] == "Chestnut Street 92"
    assert_same_shape(created, payload("shopify/draft_order_create.json")["draft_order"])
    anonymous = as_json(store.create_draft_order(
        {"draft_order": {"line_items": [{"title": "Gift wrap", "price": "5.00"}]}}, at=T0))
    assert "customer" not in anonymous
    for vendor in payload("shopify/draft_orders_list.json")["draft_orders"]:
        mine = [created, as_json(carts.drafts[0]), as_json(carts.drafts[3])] \
            if "customer" in vendor else [anonymous]
        for ours in mine:
            differences, _ = shape_differences(ours, vendor)
            assert differences == []
            assert set(covered(ours, vendor)) <= DRAFT_UNCOVERED
    done = as_json(store.complete_draft_order(int(created["id"]), at=T0))
    assert_same_shape(done, payload("shopify/draft_order_complete.json")["draft_order"])


# ------------------------------------------------------------------------------- over HTTP


@pytest.mark.anyio
async def test_checkouts_list_open_ones_newest_first_in_pages(
    client: httpx.AsyncClient, carts: Carts
) -> None:
    forward, backward = await walk(client, f"{API}/checkouts.json?limit=4", "checkouts")
    open_ids = sorted((c["id"] for c in carts.checkouts if c["closed_at"] is None), reverse=True)
    assert flat(forward) == open_ids and carts.checkouts[1]["id"] in open_ids
    assert [len(page) for page in forward] == [4, 4, 3]
    assert backward == forward
    first = (await client.get(f"{API}/checkouts.json?limit=1")).json()["checkouts"][0]
    assert first == as_json(carts.checkouts[-1])
    closed = await client.get(f"{API}/checkouts.json", params={"status": "closed"})
    assert [c["id"] for c in closed.json()["checkouts"]] == [carts.checkouts[2]["id"]]


@pytest.mark.anyio
async def test_checkout_filters_and_count(client: httpx.AsyncClient, carts: Carts) -> None:
    checkouts = carts.checkouts
    since = checkouts[5]["id"]
    forward, _ = await walk(client, f"{API}/checkouts.json?since_id={since}&limit=2", "checkouts")
    assert flat(forward) == [c["id"] for c in checkouts[6:]]
    created = {"created_at_min": checkouts[4]["created_at"],
               "created_at_max": checkouts[7]["created_at"]}
    response = await client.get(f"{API}/checkouts.json", params=created)
    assert sorted(c["id"] for c in response.json()["checkouts"]) == [
        c["id"] for c in checkouts[4:8]]
    updated = {"updated_at_min": checkouts[1]["updated_at"]}
    response = await client.get(f"{API}/checkouts.json", params=updated)
    assert [c["id"] for c in response.json()["checkouts"]] == [checkouts[1]["id"]]
    count = await client.get(f"{API}/checkouts/count.json")
    assert count.json() == {"count": 11}
    count = await client.get(f"{API}/checkouts/count.json", params={**created, "status": "any"})
    assert count.status_code == 400
    count = await client.get(f"{API}/checkouts/count.json", params=created)
    assert count.json() == {"count": 4}
    fields = await client.get(f"{API}/checkouts.json?fields=id,abandoned_checkout_url&limit=1")
    assert set(fields.json()["checkouts"][0]) == {"id", "abandoned_checkout_url"}


@pytest.mark.anyio
async def test_checkout_list_errors(client: httpx.AsyncClient) -> None:
    for query, errors in (
        ("status=any", {"status": "Invalid value."}),
        ("limit=251", "Limit exceeds maximum limit of 250"),
        ("limit=0", {"limit": "Invalid value."}),
        ("created_at_min=yesterday", {"created_at_min": "Invalid value."}),
        ("since_id=x", {"since_id": "Invalid value."}),
        ("page_info=abc", {"page_info": "Invalid value."}),
    ):
        response = await client.get(f"{API}/checkouts.json?{query}")
        assert (response.status_code, response.json()) == (400, {"errors": errors}), query
    first = await client.get(f"{API}/checkouts.json?limit=2")
    refused = await client.get(f"{links(first)['next']}&status=open")
    assert refused.status_code == 400 and "status" in refused.json()["errors"]
    orders_cursor = links(await client.get(f"{API}/orders.json?limit=1&status=any"))["next"]
    wrong = await client.get(f"{API}/checkouts.json?{orders_cursor.split('?', 1)[1]}")
    assert wrong.json() == {"errors": {"page_info": "Invalid value."}}


@pytest.mark.anyio
async def test_draft_orders_list_every_status_ascending(
    client: httpx.AsyncClient, carts: Carts
) -> None:
    forward, backward = await walk(client, f"{API}/draft_orders.json?limit=3", "draft_orders")
    assert flat(forward) == [d["id"] for d in carts.drafts]
    assert backward == forward
    listed = (await client.get(f"{API}/draft_orders.json")).json()["draft_orders"]
    assert listed == [as_json(d) for d in carts.drafts]
    for status, expected in (("open", carts.drafts[2:]), ("invoice_sent", carts.drafts[1:2]),
                             ("completed", carts.drafts[:1])):
        response = await client.get(f"{API}/draft_orders.json", params={"status": status})
        assert [d["id"] for d in response.json()["draft_orders"]] == [d["id"] for d in expected]
        count = await client.get(f"{API}/draft_orders/count.json", params={"status": status})
        assert count.json() == {"count": len(expected)}
    wanted = [carts.drafts[4]["id"], carts.drafts[1]["id"], 123]
    response = await client.get(
        f"{API}/draft_orders.json",
        params={"ids": ",".join(map(str, wanted)), "fields": "id,name,status"})
    assert response.json()["draft_orders"] == [
        {"id": d["id"], "name": d["name"], "status": d["status"]}
        for d in (carts.drafts[1], carts.drafts[4])]
    since = await client.get(f"{API}/draft_orders.json",
                             params={"since_id": carts.drafts[4]["id"]})
    assert [d["id"] for d in since.json()["draft_orders"]] == [
        d["id"] for d in carts.drafts[5:]]
    updated = await client.get(f"{API}/draft_orders.json",
                               params={"updated_at_min": carts.drafts[0]["updated_at"]})
    assert [d["id"] for d in updated.json()["draft_orders"]] == [
        d["id"] for d in carts.drafts[:2]]
    for query, errors in (("status=closed", {"status": "Invalid value."}),
                          ("ids=1,x", {"ids": "Invalid value."}),
                          ("updated_at_max=soon", {"updated_at_max": "Invalid value."})):
        response = await client.get(f"{API}/draft_orders.json?{query}")
        assert (response.status_code, response.json()) == (400, {"errors": errors}), query


@pytest.mark.anyio
async def test_draft_order_create_get_invoice_and_complete(
    client: httpx.AsyncClient, carts: Carts
) -> None:
    shop = carts.shop
    created = await client.post(f"{API}/draft_orders.json", json=draft_body(shop, 1))
    assert created.status_code == 201, created.text
    draft = created.json()["draft_order"]
    assert draft["name"] == f"#D{len(carts.drafts) + 1}" and draft["status"] == "open"
    got = await client.get(f"{API}/draft_orders/{draft['id']}.json")
    assert got.json() == {"draft_order": draft}
    invoice = await client.post(f"{API}/draft_orders/{draft['id']}/send_invoice.json",
                                json={"draft_order_invoice": {"subject": "Your order"}})
    assert invoice.status_code == 201
    assert invoice.json()["draft_order_invoice"]["to"] == draft["email"]
    completed = await client.put(f"{API}/draft_orders/{draft['id']}/complete.json")
    assert completed.status_code == 200, completed.text
    done = completed.json()["draft_order"]
    assert done["status"] == "completed" and done["completed_at"] is not None
    order = await client.get(f"{API}/orders/{done['order_id']}.json")
    assert order.json()["order"]["source_name"] == "shopify_draft_order"
    again = await client.put(f"{API}/draft_orders/{draft['id']}/complete.json")
    assert again.status_code == 422 and "base" in again.json()["errors"]
    for response in (
        await client.get(f"{API}/draft_orders/1.json"),
        await client.put(f"{API}/draft_orders/1/complete.json"),
        await client.post(f"{API}/draft_orders/1/send_invoice.json"),
    ):
        assert (response.status_code, response.json()) == (404, {"errors": "Not Found"})
    missing = await client.post(f"{API}/draft_orders.json", json={"order": {}})
    assert (missing.status_code, missing.json()) == (
        400, {"errors": {"draft_order": "Required parameter missing or invalid"}})
    invalid = await client.post(f"{API}/draft_orders.json",
                                json={"draft_order": {"line_items": []}})
    assert invalid.status_code == 422
    pending = await client.put(
        f"{API}/draft_orders/{carts.drafts[3]['id']}/complete.json?payment_pending=maybe")
    assert pending.json() == {"errors": {"payment_pending": "Invalid value."}}


@pytest.mark.anyio
async def test_unauthenticated_cart_requests_are_refused(carts: Carts) -> None:
    app = create_app(carts.shop.store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        for path in ("checkouts.json", "draft_orders.json", "draft_orders/count.json"):
            assert (await c.get(f"{API}/{path}")).status_code == 401


def test_an_empty_store_has_no_carts() -> None:
    store = ShopifyStore()
    store.create_customer(customer_body(1))
    assert store.checkout(1) is None and store.draft_order(1) is None
    assert store.checkout_views([]) == [] and store.draft_order_views([]) == []
