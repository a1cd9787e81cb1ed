"""Contract tests: the emulator's JSON has the keys and JSON types of Square's own examples.

The vendor payloads are the ``example`` objects of Square's OpenAPI spec, read in place from
``../shared/vendor-payloads/square``. Every deliberate difference is listed with its reason.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from silos.square import SquareStore, create_app
from tests import shapes
from tests.silos.square.helpers import CONFIG, T0, Seeded, client, customer_body, location_body

pytestmark = [pytest.mark.anyio, pytest.mark.vendor_payloads]

NO_GROUPS = "customer groups and segments are not emulated"
NO_PRICING_RULES = "taxes, discounts and modifiers are not emulated (all amounts are 0)"
ITEM_TYPE = "item_type (always ITEM) postdates this example; the payment-link example has it"


# Square leaves unset fields out, so list elements compare by their merged shape.
assert_same_shape = partial(shapes.assert_same_shape, merge_elements=True)


async def test_retrieve_customer(payload: Any) -> None:
    store = SquareStore()
    customer = store.create_customer(customer_body(1), at=T0)
    async with client(create_app(store, CONFIG)) as http:
        response = (await http.get(f"/v2/customers/{customer['id']}")).json()
    assert_same_shape(
        response,
        payload("square/retrieve_customer_response.json"),
        {"$.customer.group_ids": NO_GROUPS, "$.customer.segment_ids": NO_GROUPS},
    )


async def test_search_and_list_customers(payload: Any) -> None:
    store = SquareStore()
    for index in range(3):
        store.create_customer(customer_body(index), at=T0 + timedelta(seconds=index))
    ignore = {"$.customers[].group_ids": NO_GROUPS, "$.customers[].segment_ids": NO_GROUPS}
    async with client(create_app(store, CONFIG)) as http:
        searched = (await http.post("/v2/customers/search", json={"limit": 2})).json()
        listed = (await http.get("/v2/customers")).json()
    assert_same_shape(searched, payload("square/search_customers_response.json"), ignore)
    assert_same_shape(listed, payload("square/list_customers_response.json"), ignore)


async def test_bulk_retrieve_customers(payload: Any) -> None:
    store = SquareStore()
    customer = store.create_customer(
        {
            "given_name": "Amelia",
            "family_name": "Earhart",
            "birthday": "1897-07-24",
            "email_address": "amelia@example.com",
            "note": "updated customer note",
        },
        at=T0,
    )
    async with client(create_app(store, CONFIG)) as http:
        response = (
            await http.post(
                "/v2/customers/bulk-retrieve", json={"customer_ids": [customer["id"], "UNKNOWN"]}
            )
        ).json()
    vendor = payload("square/bulk_retrieve_customers_response.json")["responses"]
    vendor_found = [entry for entry in vendor.values() if "customer" in entry]
    vendor_error = next(entry for entry in vendor.values() if "errors" in entry)
    responses = response["responses"]
    assert set(response) == {"responses"}
    assert_same_shape([responses[customer["id"]]], vendor_found)
    assert_same_shape(responses["UNKNOWN"], vendor_error)
    assert responses["UNKNOWN"]["errors"][0]["detail"] == "Customer with ID `UNKNOWN` not found."


async def test_error_envelope_matches_the_per_item_error(payload: Any) -> None:
    vendor = payload("square/bulk_retrieve_customers_response.json")["responses"]
    vendor_error = next(entry for entry in vendor.values() if "errors" in entry)
    async with client(create_app(SquareStore(), CONFIG)) as http:
        not_found = (await http.get("/v2/orders/NOPE")).json()
        invalid = (await http.post("/v2/orders/search", json={})).json()
        unauthorized = (await http.get("/v2/locations", headers={"Authorization": ""})).json()
    assert_same_shape(not_found, vendor_error)
    assert_same_shape(unauthorized, vendor_error)
    assert_same_shape(
        invalid,
        vendor_error,
        added={
            "$.errors[].field": "validation errors name the field; "
            "the vendor example is a NOT_FOUND"
        },
    )


async def test_locations(payload: Any) -> None:
    store = SquareStore()
    store.create_location(location_body(), at=T0)
    store.create_location(
        location_body("Midtown", description="Midtown Atlanta store", mcc="7299"), at=T0
    )
    async with client(create_app(store, CONFIG)) as http:
        response = (await http.get("/v2/locations")).json()
    assert_same_shape(response, payload("square/list_locations_response.json"))


def _ad_hoc_order(seeded: Seeded, **order: Any) -> dict[str, Any]:
    return seeded.store.create_order(
        {
            "order": {
                "location_id": seeded.location["id"],
                "line_items": [
                    {
                        "name": "Item 1",
                        "quantity": "1",
                        "base_price_money": {"amount": 500, "currency": "USD"},
                    },
                    {
                        "name": "Item 2",
                        "quantity": "2",
                        "base_price_money": {"amount": 300, "currency": "USD"},
                    },
                ],
                **order,
            }
        },
        at=T0,
    )


async def test_retrieve_order(payload: Any) -> None:
    seeded = Seeded()
    order = _ad_hoc_order(seeded)
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = (await http.get(f"/v2/orders/{order['id']}")).json()
    assert_same_shape(
        response,
        payload("square/retrieve_order_response.json"),
        {
            "$.order.discounts": NO_PRICING_RULES,
            "$.order.line_items[].applied_discounts": NO_PRICING_RULES,
        },
        {"$.order.line_items[].item_type": ITEM_TYPE},
    )


async def test_create_order(payload: Any) -> None:
    seeded = Seeded()
    body = {
        "idempotency_key": "c-1",
        "order": {
            "location_id": seeded.location["id"],
            "reference_id": "my-order-001",
            "source": {"name": "My App"},
            "line_items": [
                {
                    "name": "New York Strip Steak",
                    "quantity": "1",
                    "base_price_money": {"amount": 1599, "currency": "USD"},
                },
                {"catalog_object_id": seeded.large, "quantity": "2"},
            ],
        },
    }
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = (await http.post("/v2/orders", json=body)).json()
    assert_same_shape(
        response,
        payload("square/create_order_response.json"),
        {
            "$.order.discounts": NO_PRICING_RULES,
            "$.order.taxes": NO_PRICING_RULES,
            "$.order.line_items[].applied_discounts": NO_PRICING_RULES,
            "$.order.line_items[].applied_taxes": NO_PRICING_RULES,
            "$.order.line_items[].modifiers": NO_PRICING_RULES,
        },
        {
            "$.order.line_items[].catalog_version": "Square returns it for catalog items; "
            "this example omits it",
            "$.order.line_items[].item_type": ITEM_TYPE,
        },
    )


async def test_completed_order(payload: Any) -> None:
    seeded = Seeded()
    order = _ad_hoc_order(seeded, state="COMPLETED", source={"name": "Source Name"})
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = (await http.get(f"/v2/orders/{order['id']}")).json()
    assert_same_shape(
        response,
        payload("square/pay_order_response.json"),
        {
            "$.order.tenders": "payments are not emulated (orders are completed at creation)",
        },
        {
            "$.order.total_tip_money": "this example omits it; the other order examples have it",
            "$.order.line_items[].variation_total_price_money": "this example predates the field",
            "$.order.line_items[].item_type": ITEM_TYPE,
        },
    )


async def test_batch_retrieve_orders(payload: Any) -> None:
    seeded = Seeded()
    order = _ad_hoc_order(seeded, reference_id="my-order-001")
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = (
            await http.post("/v2/orders/batch-retrieve", json={"order_ids": [order["id"]]})
        ).json()
    assert_same_shape(
        response, payload("square/batch_retrieve_orders_response.json"), allow_extra=True
    )


async def test_search_orders_entries(payload: Any) -> None:
    seeded = Seeded()
    for index in range(4):
        seeded.sale(index)
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = (
            await http.post(
                "/v2/orders/search",
                json={
                    "location_ids": [seeded.location["id"]],
                    "return_entries": True,
                    "limit": 3,
                },
            )
        ).json()
    assert_same_shape(response, payload("square/search_orders_response.json"))


async def test_fulfillment_orders(payload: Any) -> None:
    vendor = payload("square/create_payment_link_response.json")["related_resources"]["orders"]
    seeded = Seeded()
    digital = seeded.store.create_order(
        {
            "order": {
                "location_id": seeded.location["id"],
                "state": "DRAFT",
                "source": {"name": "Test Online Checkout Application"},
                "line_items": [
                    {
                        "name": "Auto Detailing",
                        "quantity": "1",
                        "base_price_money": {"amount": 12500, "currency": "USD"},
                    }
                ],
                "fulfillments": [{"type": "DIGITAL"}],
            }
        },
        at=T0,
    )
    pickup = seeded.sale(
        1,
        source={"name": "App"},
        fulfillments=[
            {
                "type": "PICKUP",
                "state": "RESERVED",
                "pickup_details": {
                    "recipient": {"display_name": "Amelia Earhart"},
                    "pickup_at": "2024-03-01T18:00:00Z",
                },
            }
        ],
    )
    omitted_here = "the other order examples have it; this one omits it"
    ad_hoc_only = "the vendor example has ad-hoc items only"
    service_charge = {"$[].line_items[].total_service_charge_money": omitted_here}
    assert_same_shape([digital], vendor, added=service_charge)
    assert_same_shape(
        [pickup],
        vendor,
        added={
            **service_charge,
            "$[].fulfillments[].pickup_details": "PICKUP fulfillments carry their pickup_details",
            "$[].line_items[].catalog_object_id": ad_hoc_only,
            "$[].line_items[].catalog_version": ad_hoc_only,
            "$[].line_items[].variation_name": ad_hoc_only,
        },
    )
    assert pickup["fulfillments"][0]["pickup_details"]["accepted_at"] == pickup["created_at"]


async def test_catalog_objects(payload: Any) -> None:
    seeded = Seeded()
    vendor = payload("square/batch_retrieve_catalog_objects_response.json")
    async with client(create_app(seeded.store, CONFIG)) as http:
        items = (
            await http.post("/v2/catalog/batch-retrieve", json={"object_ids": [seeded.item["id"]]})
        ).json()
        variation = (
            await http.post(
                "/v2/catalog/batch-retrieve",
                json={"object_ids": [seeded.regular], "include_related_objects": True},
            )
        ).json()
    no_taxonomy = "categories and taxes are not emulated"
    sku = "variations carry sku (documented); this example has none"
    assert_same_shape(
        items,
        {"objects": vendor["objects"]},
        {
            "$.objects[].item_data.categories": no_taxonomy,
            "$.objects[].item_data.tax_ids": no_taxonomy,
            "$.objects[].item_data.description": "not given when the test item was created",
        },
        {"$.objects[].item_data.variations[].item_variation_data.sku": sku},
    )
    assert_same_shape(
        {"related_objects": variation["related_objects"]},
        {"related_objects": vendor["related_objects"]},
        {
            "$.related_objects[].category_data": no_taxonomy,
            "$.related_objects[].tax_data": no_taxonomy,
        },
        {"$.related_objects[].item_data": "the parent ITEM of a requested variation"},
    )
    assert_same_shape(
        variation["objects"],
        vendor["objects"][0]["item_data"]["variations"],
        added={"$[].item_variation_data.sku": sku},
    )


async def test_inventory_counts(payload: Any) -> None:
    seeded = Seeded()
    seeded.store.batch_change_inventory(
        {
            "idempotency_key": "k",
            "changes": [
                {
                    "type": "PHYSICAL_COUNT",
                    "physical_count": {
                        "catalog_object_id": seeded.regular,
                        "location_id": seeded.location["id"],
                        "quantity": "79",
                        "state": "IN_STOCK",
                        "occurred_at": "2024-03-01T11:00:00Z",
                    },
                }
            ],
        },
        at=T0,
    )
    async with client(create_app(seeded.store, CONFIG)) as http:
        response = (
            await http.post(
                "/v2/inventory/counts/batch-retrieve", json={"catalog_object_ids": [seeded.regular]}
            )
        ).json()
    assert_same_shape(
        response,
        payload("square/batch_retrieve_inventory_counts_response.json"),
        {"$.errors": "successful responses omit the empty errors list"},
    )
