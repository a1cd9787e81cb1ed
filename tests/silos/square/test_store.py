from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from silos.square import SquareError, SquareStore
from tests.silos.square.helpers import T0, Seeded, customer_body, item_body, location_body


def _error(call: Any) -> SquareError:
    with pytest.raises(SquareError) as caught:
        call()
    return caught.value


def _walk(search: Any, body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = search({**body, **({"cursor": cursor} if cursor else {})})
        seen.extend(page.get(key, []))
        cursor = page.get("cursor")
        if cursor is None:
            return seen


# -- locations and determinism ---------------------------------------------------------------


def test_location_shape() -> None:
    store = SquareStore(seed=1)
    location = store.create_location(location_body(), at=T0)
    assert location["created_at"] == "2024-03-01T12:00:00Z"
    assert location["merchant_id"] == store.merchant_id
    assert (location["status"], location["currency"], location["country"]) == (
        "ACTIVE",
        "USD",
        "US",
    )
    assert location["coordinates"] == {"latitude": 37.7749, "longitude": -122.4194}
    assert store.list_locations() == {"locations": [location]}
    assert store.get_location(location["id"]) is location
    assert _error(lambda: store.get_location("NOPE")).code == "NOT_FOUND"
    assert _error(lambda: store.create_location({"location": {}})).field == "location.name"


def test_same_seed_same_data() -> None:
    def build() -> bytes:
        seeded = Seeded(customers=5)
        seeded.sale(1, customer_id=seeded.customers[0]["id"])
        return orjson.dumps(
            [
                seeded.store.customers,
                seeded.store.orders,
                seeded.store.catalog,
                seeded.store.locations,
            ]
        )

    assert build() == build()


# -- customers -------------------------------------------------------------------------------


def test_customer_shape_and_idempotency() -> None:
    store = SquareStore()
    body = customer_body(1, idempotency_key="k1", birthday="07-24")
    customer = store.create_customer(body, at=T0)
    assert len(customer["id"]) == 26
    assert customer["created_at"] == customer["updated_at"] == "2024-03-01T12:00:00.25Z"
    assert customer["creation_source"] == "THIRD_PARTY" and customer["version"] == 0
    assert customer["preferences"] == {"email_unsubscribed": False}
    assert customer["birthday"] == "0000-07-24"
    assert customer["phone_number"] == "+1-212-555-0001"
    assert "idempotency_key" not in customer
    assert store.create_customer(body) is customer
    assert store.create_customer(customer_body(1))["id"] != customer["id"]
    assert len(store.customers) == 2


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"note": "only a note"}, "BAD_REQUEST", None),
        (
            {"given_name": "A", "email_address": "not-an-email"},
            "INVALID_EMAIL_ADDRESS",
            "email_address",
        ),
        ({"given_name": "A", "phone_number": "555"}, "INVALID_PHONE_NUMBER", "phone_number"),
        ({"given_name": "A" * 301}, "VALUE_TOO_LONG", "given_name"),
        ({"given_name": "A", "reference_id": 5}, "EXPECTED_STRING", "reference_id"),
    ],
)
def test_customer_validation(body: dict[str, Any], code: str, field: str | None) -> None:
    error = _error(lambda: SquareStore().create_customer(body))
    assert (error.status, error.code, error.field) == (400, code, field)


def test_duplicate_emails_and_phones_are_allowed() -> None:
    store = SquareStore()
    first = store.create_customer({"given_name": "A", "email_address": "Same@Example.com"})
    second = store.create_customer({"given_name": "B", "email_address": "same@example.com"})
    found = store.search_customers(
        {"query": {"filter": {"email_address": {"exact": "SAME@example.COM"}}}}
    )
    assert {c["id"] for c in found["customers"]} == {first["id"], second["id"]}


def test_exact_filters() -> None:
    seeded = Seeded(customers=4)
    store, target = seeded.store, seeded.customers[2]

    def ids(filters: dict[str, Any]) -> list[str]:
        found = store.search_customers({"query": {"filter": filters}})
        return [c["id"] for c in found.get("customers", [])]

    assert ids({"email_address": {"exact": "PERSON2@example.com"}}) == [target["id"]]
    assert ids({"phone_number": {"exact": "+12125550002"}}) == [target["id"]]
    assert ids({"phone_number": {"exact": "+1 (212) 555-0002"}}) == [target["id"]]
    assert ids({"phone_number": {"exact": "2125550002"}}) == []
    assert ids({"reference_id": {"exact": "ref-2"}}) == [target["id"]]
    assert (
        ids({"email_address": {"exact": "person2@example.com"}, "reference_id": {"exact": "REF-3"}})
        == []
    )
    assert (
        store.search_customers(
            {"query": {"filter": {"email_address": {"exact": "nobody@example.com"}}}}
        )
        == {}
    )


def test_fuzzy_time_and_source_filters() -> None:
    seeded = Seeded(customers=4)
    store = seeded.store
    everyone = {c["id"] for c in seeded.customers}

    def ids(filters: dict[str, Any]) -> set[str]:
        found = store.search_customers({"query": {"filter": filters}})
        return {c["id"] for c in found.get("customers", [])}

    assert ids({"email_address": {"fuzzy": "person3 example"}}) == {seeded.customers[3]["id"]}
    assert ids({"phone_number": {"fuzzy": "555"}}) == everyone
    assert ids({"reference_id": {"fuzzy": "3"}}) == {seeded.customers[3]["id"]}
    window = {"start_at": "2024-03-01T12:01:00Z", "end_at": "2024-03-01T07:02:30-05:00"}
    assert ids({"created_at": window}) == {seeded.customers[1]["id"], seeded.customers[2]["id"]}
    assert ids({"creation_source": {"values": ["THIRD_PARTY"]}}) == everyone
    assert ids({"creation_source": {"values": ["THIRD_PARTY"], "rule": "EXCLUDE"}}) == set()
    error = _error(lambda: ids({"email_address": {"exact": "a@b.co", "fuzzy": "a"}}))
    assert error.code == "BAD_REQUEST"
    assert _error(lambda: ids({"group_ids": {"any": ["G"]}})).field == "query.filter.group_ids"
    bad_range = {"start_at": "2024-03-02T00:00:00Z", "end_at": "2024-03-01T00:00:00Z"}
    assert _error(lambda: ids({"created_at": bad_range})).code == "INVALID_TIME_RANGE"


def test_customer_sorting_and_count() -> None:
    seeded = Seeded(customers=5)
    store = seeded.store
    newest_first = store.search_customers(
        {"count": True, "query": {"sort": {"field": "CREATED_AT", "order": "DESC"}}}
    )
    assert [c["id"] for c in newest_first["customers"]] == [
        c["id"] for c in reversed(seeded.customers)
    ]
    assert newest_first["count"] == 5
    store.create_customer({"given_name": "aaron"})
    by_name = store.search_customers({"limit": 2})
    assert by_name["customers"][0]["given_name"] == "aaron"
    assert "cursor" in by_name and "count" not in by_name


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"sort": {"field": "CREATED_AT", "order": "DESC"}},
        {"filter": {"email_address": {"fuzzy": "example"}}},
    ],
)
def test_customer_walk_returns_every_customer_once(query: dict[str, Any]) -> None:
    store = SquareStore(seed=3)
    for index in range(57):
        store.create_customer(
            customer_body(index % 7, given_name=f"N{index % 5}"),
            at=T0 + timedelta(seconds=index % 13),
        )
    seen = _walk(store.search_customers, {"limit": 10, "query": query}, "customers")
    assert len(seen) == 57
    assert {c["id"] for c in seen} == set(store.customers)


def test_customer_walk_is_stable_under_inserts() -> None:
    store = SquareStore(seed=3)
    for index in range(10):
        store.create_customer({"given_name": f"B{index}"})
    first = store.search_customers({"limit": 5})
    store.create_customer({"given_name": "A-before"})
    store.create_customer({"given_name": "Z-after"})
    rest = _walk(store.search_customers, {"limit": 5, "cursor": first["cursor"]}, "customers")
    names = [c["given_name"] for c in first["customers"] + rest]
    assert names == [f"B{i}" for i in range(10)] + ["Z-after"]


def test_customer_search_limits_and_cursor() -> None:
    store = Seeded().store
    assert _error(lambda: store.search_customers({"limit": 0})).code == "VALUE_TOO_LOW"
    assert _error(lambda: store.search_customers({"limit": 101})).code == "VALUE_TOO_HIGH"
    assert _error(lambda: store.search_customers({"cursor": "garbage"})).code == "INVALID_CURSOR"
    cursor = store.search_customers({"limit": 1})["cursor"]
    other_sort = {"limit": 1, "cursor": cursor, "query": {"sort": {"field": "CREATED_AT"}}}
    assert _error(lambda: store.search_customers(other_sort)).code == "INVALID_CURSOR"


def test_bulk_retrieve_customers() -> None:
    seeded = Seeded(customers=2)
    known = seeded.customers[0]["id"]
    result = seeded.store.bulk_retrieve_customers({"customer_ids": [known, "MISSING"]})
    assert result["responses"][known] == {"customer": seeded.customers[0]}
    (error,) = result["responses"]["MISSING"]["errors"]
    assert (error["category"], error["code"]) == ("INVALID_REQUEST_ERROR", "NOT_FOUND")
    too_many = {"customer_ids": [f"id{i}" for i in range(101)]}
    assert _error(lambda: seeded.store.bulk_retrieve_customers(too_many)).code == (
        "ARRAY_LENGTH_TOO_LONG"
    )
    assert _error(lambda: seeded.store.bulk_retrieve_customers({})).code == (
        "MISSING_REQUIRED_PARAMETER"
    )


# -- catalog ---------------------------------------------------------------------------------


def test_catalog_upsert_maps_client_ids() -> None:
    store = SquareStore()
    response = store.upsert_catalog_object(
        item_body("k", "Tea", [("Mug", "TEA-M", 150)], description="Hot Leaf Juice"), at=T0
    )
    item = response["catalog_object"]
    (variation,) = item["item_data"]["variations"]
    assert response["id_mappings"] == [
        {"client_object_id": "#Tea", "object_id": item["id"]},
        {"client_object_id": "#Tea-Mug", "object_id": variation["id"]},
    ]
    assert item["version"] == variation["version"] == int(T0.timestamp() * 1000)
    assert item["updated_at"] == "2024-03-01T12:00:00.250Z"
    assert item["item_data"]["description"] == "Hot Leaf Juice"
    data = variation["item_variation_data"]
    assert (data["item_id"], data["sku"], data["ordinal"]) == (item["id"], "TEA-M", 0)
    assert data["price_money"] == {"amount": 150, "currency": "USD"}
    assert store.variations_by_sku("TEA-M") == [variation]
    assert store.upsert_catalog_object(item_body("k", "Other", [])) is response


def test_catalog_update_replaces_variations() -> None:
    store = SquareStore()
    item = store.upsert_catalog_object(item_body("k1", "Tea", [("Mug", "OLD", 150)]))[
        "catalog_object"
    ]
    old_variation = item["item_data"]["variations"][0]["id"]
    body = item_body("k2", "Tea", [("Pot", "NEW", 400)])
    body["object"]["id"] = item["id"]
    updated = store.upsert_catalog_object(body)
    assert updated["catalog_object"]["id"] == item["id"]
    assert store.variations_by_sku("OLD") == [] and len(store.variations_by_sku("NEW")) == 1
    assert old_variation not in store.catalog
    missing = item_body("k3", "Tea", [])
    missing["object"]["id"] = "NOPE"
    assert _error(lambda: store.upsert_catalog_object(missing)).code == "NOT_FOUND"


def test_catalog_upsert_validation() -> None:
    store = SquareStore()
    body = item_body("k", "Tea", [("Mug", "S", 1)])
    del body["object"]["item_data"]["variations"][0]["item_variation_data"]["price_money"]
    error = _error(lambda: store.upsert_catalog_object(body))
    assert error.field == "object.item_data.variations[0].item_variation_data.price_money"
    assert _error(lambda: store.upsert_catalog_object({"object": {}})).field == "idempotency_key"
    category = {"idempotency_key": "c", "object": {"type": "CATEGORY", "id": "#c"}}
    assert _error(lambda: store.upsert_catalog_object(category)).field == "object.type"


def test_catalog_batch_retrieve() -> None:
    seeded = Seeded()
    store = seeded.store
    only_items = store.batch_retrieve_catalog_objects(
        {"object_ids": [seeded.item["id"], "UNKNOWN"], "include_related_objects": True}
    )
    assert only_items == {"objects": [seeded.item]}
    variation = store.batch_retrieve_catalog_objects(
        {"object_ids": [seeded.large], "include_related_objects": True}
    )
    assert variation["objects"][0]["item_variation_data"]["sku"] == "COF-L"
    assert variation["related_objects"] == [seeded.item]
    assert store.batch_retrieve_catalog_objects({"object_ids": ["UNKNOWN"]}) == {}


# -- inventory -------------------------------------------------------------------------------


def _count(seeded: Seeded, variation: str, quantity: str, key: str, **extra: Any) -> Any:
    return seeded.store.batch_change_inventory(
        {
            "idempotency_key": key,
            "changes": [
                {
                    "type": "PHYSICAL_COUNT",
                    "physical_count": {
                        "catalog_object_id": variation,
                        "location_id": seeded.location["id"],
                        "quantity": quantity,
                        "state": "IN_STOCK",
                        "occurred_at": "2024-03-01T11:00:00Z",
                        **extra,
                    },
                }
            ],
        },
        at=T0,
    )


def _adjust(seeded: Seeded, quantity: str, from_state: str, to_state: str, key: str) -> Any:
    return seeded.store.batch_change_inventory(
        {
            "idempotency_key": key,
            "changes": [
                {
                    "type": "ADJUSTMENT",
                    "adjustment": {
                        "catalog_object_id": seeded.regular,
                        "location_id": seeded.location["id"],
                        "quantity": quantity,
                        "from_state": from_state,
                        "to_state": to_state,
                        "occurred_at": "2024-03-01T11:30:00Z",
                    },
                }
            ],
        },
        at=T0 + timedelta(minutes=5),
    )


def test_physical_counts_and_adjustments() -> None:
    seeded = Seeded()
    response = _count(seeded, seeded.regular, "12", "c1", reference_id="ext-1")
    (change,) = response["changes"]
    assert change["type"] == "PHYSICAL_COUNT"
    assert change["physical_count"]["reference_id"] == "ext-1"
    assert change["physical_count"]["catalog_object_type"] == "ITEM_VARIATION"
    assert response["counts"] == [
        {
            "catalog_object_id": seeded.regular,
            "catalog_object_type": "ITEM_VARIATION",
            "state": "IN_STOCK",
            "location_id": seeded.location["id"],
            "quantity": "12",
            "calculated_at": "2024-03-01T12:00:00.250Z",
        }
    ]
    sold = _adjust(seeded, "2.5", "IN_STOCK", "SOLD", "a1")
    assert [c["quantity"] for c in sold["counts"]] == ["9.5"]
    wasted = _adjust(seeded, "1", "IN_STOCK", "WASTE", "a2")
    assert {c["state"]: c["quantity"] for c in wasted["counts"]} == {
        "IN_STOCK": "8.5",
        "WASTE": "1",
    }
    received = _adjust(seeded, "10", "NONE", "IN_STOCK", "a3")
    assert {c["state"]: c["quantity"] for c in received["counts"]}["IN_STOCK"] == "18.5"
    assert _adjust(seeded, "10", "NONE", "IN_STOCK", "a3") is received
    unchanged = _count(seeded, seeded.regular, "18.5", "c2")
    assert "changes" not in unchanged


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"type": "PHYSICAL_COUNT", "physical_count": {"catalog_object_id": "NOPE"}},
            "changes[0].physical_count.location_id",
        ),
        ({"type": "TRANSFER"}, "changes[0].type"),
        ({"type": "ADJUSTMENT"}, "changes[0].adjustment"),
    ],
)
def test_inventory_change_errors(change: dict[str, Any], field: str) -> None:
    seeded = Seeded()
    error = _error(
        lambda: seeded.store.batch_change_inventory({"idempotency_key": "x", "changes": [change]})
    )
    assert error.field == field


def test_inventory_change_unknown_references() -> None:
    seeded = Seeded()
    change = {
        "catalog_object_id": seeded.item["id"],
        "location_id": seeded.location["id"],
        "quantity": "1",
        "state": "IN_STOCK",
        "occurred_at": "2024-03-01T11:00:00Z",
    }
    body = {
        "idempotency_key": "x",
        "changes": [{"type": "PHYSICAL_COUNT", "physical_count": change}],
    }
    error = _error(lambda: seeded.store.batch_change_inventory(body))
    assert (error.code, error.field) == ("NOT_FOUND", "changes[0].physical_count.catalog_object_id")
    too_many = {"idempotency_key": "y", "changes": [{}] * 101}
    assert _error(lambda: seeded.store.batch_change_inventory(too_many)).code == (
        "ARRAY_LENGTH_TOO_LONG"
    )


def test_counts_walk_and_filters() -> None:
    seeded = Seeded()
    store = seeded.store
    variations = []
    for index in range(7):
        item = store.upsert_catalog_object(
            item_body(f"i{index}", f"I{index}", [("V", f"S{index}", 100)])
        )
        variations.append(item["catalog_object"]["item_data"]["variations"][0]["id"])
    for index, variation in enumerate(variations):
        _count(seeded, variation, str(index + 1), f"c{index}")
        store.batch_change_inventory(
            {
                "idempotency_key": f"o{index}",
                "changes": [
                    {
                        "type": "PHYSICAL_COUNT",
                        "physical_count": {
                            "catalog_object_id": variation,
                            "location_id": seeded.other_location["id"],
                            "quantity": "5",
                            "state": "IN_STOCK",
                            "occurred_at": "2024-03-01T11:00:00Z",
                        },
                    }
                ],
            },
            at=T0 + timedelta(days=1),
        )
    walked = _walk(store.batch_retrieve_inventory_counts, {"limit": 3}, "counts")
    assert len(walked) == 14
    assert len({(c["catalog_object_id"], c["location_id"]) for c in walked}) == 14
    here = _walk(
        store.batch_retrieve_inventory_counts,
        {"limit": 2, "location_ids": [seeded.location["id"]]},
        "counts",
    )
    assert sorted(c["quantity"] for c in here) == [str(i) for i in range(1, 8)]
    later = store.batch_retrieve_inventory_counts({"updated_after": "2024-03-01T13:00:00Z"})
    assert {c["location_id"] for c in later["counts"]} == {seeded.other_location["id"]}
    one = store.batch_retrieve_inventory_counts(
        {"catalog_object_ids": [variations[2]], "states": ["IN_STOCK"]}
    )
    assert len(one["counts"]) == 2
    assert store.batch_retrieve_inventory_counts({"states": ["WASTE"]}) == {}
    assert _error(lambda: store.batch_retrieve_inventory_counts({"states": ["LOST"]})).code == (
        "INVALID_ENUM_VALUE"
    )
    assert _error(lambda: store.batch_retrieve_inventory_counts({"cursor": "x"})).code == (
        "INVALID_CURSOR"
    )


# -- orders ----------------------------------------------------------------------------------


def test_sale_order_amounts() -> None:
    seeded = Seeded()
    order = seeded.sale(0, customer_id=seeded.customers[0]["id"], reference_id="my-order-001")
    assert 27 <= len(order["id"]) <= 29
    assert order["state"] == "OPEN" and "closed_at" not in order and order["version"] == 1
    assert order["created_at"] == order["updated_at"] == "2024-03-01T12:00:00.250Z"
    coffee, wrap = order["line_items"]
    assert (coffee["name"], coffee["variation_name"], coffee["quantity"]) == (
        "Coffee",
        "Regular",
        "2",
    )
    assert coffee["total_money"] == {"amount": 500, "currency": "USD"}
    assert wrap["total_money"]["amount"] == 199 and coffee["uid"] != wrap["uid"]
    assert order["total_money"]["amount"] == 699
    assert order["net_amounts"]["total_money"]["amount"] == 699
    assert order["total_tax_money"]["amount"] == 0
    assert "returns" not in order and "return_amounts" not in order


def test_completed_at_creation_sets_closed_at() -> None:
    seeded = Seeded()
    order = seeded.sale(0, state="COMPLETED")
    assert order["closed_at"] == order["created_at"]


def test_order_idempotency() -> None:
    seeded = Seeded()
    order = seeded.sale(0)
    assert seeded.sale(0) is order
    changed = {"idempotency_key": "sale-0", "order": {"location_id": seeded.other_location["id"]}}
    error = _error(lambda: seeded.store.create_order(changed))
    assert (error.code, error.field) == ("IDEMPOTENCY_KEY_REUSED", "idempotency_key")
    assert len(seeded.store.orders) == 1


def test_return_order_nets_against_the_sale() -> None:
    seeded = Seeded()
    sale = seeded.sale(0, state="COMPLETED")
    coffee = sale["line_items"][0]
    returned = seeded.store.create_order(
        {
            "idempotency_key": "return-1",
            "order": {
                "location_id": seeded.location["id"],
                "state": "COMPLETED",
                "returns": [
                    {
                        "source_order_id": sale["id"],
                        "return_line_items": [
                            {"source_line_item_uid": coffee["uid"], "quantity": "1"}
                        ],
                    }
                ],
            },
        },
        at=T0 + timedelta(days=1),
    )
    assert "line_items" not in returned
    (order_return,) = returned["returns"]
    assert order_return["source_order_id"] == sale["id"]
    assert order_return["return_line_items"][0]["total_money"]["amount"] == 250
    assert returned["return_amounts"]["total_money"]["amount"] == 250
    assert returned["total_money"]["amount"] == 0
    assert returned["net_amounts"]["total_money"]["amount"] == -250
    again = {
        "idempotency_key": "return-2",
        "order": {
            "location_id": seeded.location["id"],
            "returns": [
                {
                    "source_order_id": sale["id"],
                    "return_line_items": [{"source_line_item_uid": coffee["uid"], "quantity": "2"}],
                }
            ],
        },
    }
    assert _error(lambda: seeded.store.create_order(again)).code == "INVALID_VALUE"
    assert len(seeded.store.orders) == 2


def test_exchange_has_sales_and_returns() -> None:
    seeded = Seeded()
    sale = seeded.sale(0, state="COMPLETED")
    exchange = seeded.store.create_order(
        {
            "order": {
                "location_id": seeded.location["id"],
                "line_items": [{"catalog_object_id": seeded.large, "quantity": "1"}],
                "returns": [
                    {
                        "source_order_id": sale["id"],
                        "return_line_items": [
                            {"source_line_item_uid": sale["line_items"][0]["uid"], "quantity": "1"}
                        ],
                    }
                ],
            }
        }
    )
    assert exchange["total_money"]["amount"] == 350
    assert exchange["net_amounts"]["total_money"]["amount"] == 100


def test_pickup_order() -> None:
    seeded = Seeded()
    order = seeded.sale(
        0,
        fulfillments=[
            {
                "type": "PICKUP",
                "state": "PREPARED",
                "pickup_details": {
                    "recipient": {
                        "display_name": "Amelia Earhart",
                        "customer_id": seeded.customers[0]["id"],
                    },
                    "pickup_at": "2024-03-01T18:00:00Z",
                },
            }
        ],
    )
    (fulfillment,) = order["fulfillments"]
    assert fulfillment["type"] == "PICKUP" and fulfillment["state"] == "PREPARED"
    details = fulfillment["pickup_details"]
    assert details["recipient"]["display_name"] == "Amelia Earhart"
    assert details["pickup_at"] == "2024-03-01T18:00:00.000Z"
    assert details["ready_at"] == order["created_at"]


@pytest.mark.parametrize(
    ("order", "code", "field"),
    [
        ({}, "MISSING_REQUIRED_PARAMETER", "order.location_id"),
        ({"location_id": "NOPE"}, "NOT_FOUND", "order.location_id"),
        ({"state": "PAID"}, "INVALID_ENUM_VALUE", "order.state"),
        ({"reference_id": "x" * 41}, "VALUE_TOO_LONG", "order.reference_id"),
        (
            {
                "line_items": [
                    {
                        "name": "x",
                        "quantity": "1",
                        "base_price_money": {"amount": 1, "currency": "EUR"},
                    }
                ]
            },
            "INVALID_VALUE",
            "order.line_items[0].base_price_money.currency",
        ),
    ],
)
def test_order_validation(order: dict[str, Any], code: str, field: str) -> None:
    seeded = Seeded()
    body = {"order": {"location_id": seeded.location["id"], **order}}
    if not order:
        body = {"order": {}}
    error = _error(lambda: seeded.store.create_order(body))
    assert (error.code, error.field) == (code, field)
    assert seeded.store.orders == {}


def _orders_fixture() -> Seeded:
    seeded = Seeded(customers=3)
    for index in range(40):
        customer = seeded.customers[index % 3]["id"]
        state = ("COMPLETED", "OPEN", "CANCELED", "COMPLETED")[index % 4]
        location = seeded.location if index % 5 else seeded.other_location
        seeded.store.create_order(
            {
                "order": {
                    "location_id": location["id"],
                    "customer_id": customer,
                    "state": state,
                    "line_items": [{"catalog_object_id": seeded.regular, "quantity": "1"}],
                }
            },
            at=T0 + timedelta(hours=(index * 7) % 40),
        )
    return seeded


def test_search_orders_default_is_newest_first() -> None:
    seeded = _orders_fixture()
    everywhere = [seeded.location["id"], seeded.other_location["id"]]
    found = seeded.store.search_orders({"location_ids": everywhere})
    stamps = [o["created_at"] for o in found["orders"]]
    assert len(stamps) == 40 and stamps == sorted(stamps, reverse=True)
    assert "cursor" not in found


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"sort": {"sort_field": "CREATED_AT", "sort_order": "ASC"}},
        {
            "filter": {"state_filter": {"states": ["COMPLETED", "CANCELED"]}},
            "sort": {"sort_field": "CLOSED_AT"},
        },
        {"filter": {"customer_filter": {"customer_ids": ["C0", "C2"]}}},
        {
            "filter": {
                "date_time_filter": {
                    "created_at": {
                        "start_at": "2024-03-01T20:00:00Z",
                        "end_at": "2024-03-02T10:00:00Z",
                    }
                }
            }
        },
    ],
)
def test_search_orders_walk(query: dict[str, Any]) -> None:
    seeded = _orders_fixture()
    store = seeded.store
    names = {f"C{i}": c["id"] for i, c in enumerate(seeded.customers)}
    text = orjson.dumps(query).decode()
    for alias, real in names.items():
        text = text.replace(alias, real)
    query = orjson.loads(text)
    body = {"location_ids": [seeded.location["id"]], "limit": 4, "query": query}
    walked = _walk(store.search_orders, body, "orders")
    everything = store.search_orders({**body, "limit": 1000}).get("orders", [])
    assert [o["id"] for o in walked] == [o["id"] for o in everything]
    assert len({o["id"] for o in walked}) == len(walked) > 0
    expected = [o for o in store.orders.values() if o["location_id"] == seeded.location["id"]]
    filters = query.get("filter", {})
    if "state_filter" in filters:
        expected = [o for o in expected if o["state"] in filters["state_filter"]["states"]]
    if "customer_filter" in filters:
        ids = filters["customer_filter"]["customer_ids"]
        expected = [o for o in expected if o["customer_id"] in ids]
    if "date_time_filter" in filters:
        expected = [
            o
            for o in expected
            if "2024-03-01T20:00:00.000Z" <= o["created_at"] <= "2024-03-02T10:00:00.000Z"
        ]
    assert {o["id"] for o in walked} == {o["id"] for o in expected}


def test_search_orders_entries_and_filters() -> None:
    seeded = _orders_fixture()
    store = seeded.store
    entries = store.search_orders(
        {"location_ids": [seeded.other_location["id"]], "return_entries": True, "limit": 3}
    )
    assert len(entries["order_entries"]) == 3 and "orders" not in entries
    entry = entries["order_entries"][0]
    assert set(entry) == {"order_id", "location_id", "version"}
    assert entry["location_id"] == seeded.other_location["id"]
    open_only = store.search_orders(
        {
            "location_ids": [seeded.location["id"]],
            "query": {"filter": {"state_filter": {"states": ["OPEN"]}}},
        }
    )
    assert {o["state"] for o in open_only["orders"]} == {"OPEN"}


HERE = ["<the seeded location>"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "MISSING_REQUIRED_PARAMETER", "location_ids"),
        ({"location_ids": []}, "ARRAY_EMPTY", "location_ids"),
        ({"location_ids": ["L"] * 11}, "ARRAY_LENGTH_TOO_LONG", "location_ids"),
        ({"location_ids": ["NOPE"]}, "NOT_FOUND", "location_ids[0]"),
        ({"location_ids": HERE, "limit": 1001}, "VALUE_TOO_HIGH", "limit"),
        ({"location_ids": HERE, "limit": 0}, "VALUE_TOO_LOW", "limit"),
        ({"location_ids": HERE, "cursor": "zzz"}, "INVALID_CURSOR", "cursor"),
        (
            {"location_ids": HERE, "query": {"sort": {"sort_field": "CLOSED_AT"}}},
            "BAD_REQUEST",
            "query.filter.state_filter",
        ),
        (
            {
                "location_ids": HERE,
                "query": {
                    "filter": {
                        "date_time_filter": {"closed_at": {"start_at": "2024-01-01T00:00:00Z"}}
                    }
                },
            },
            "BAD_REQUEST",
            "query.sort.sort_field",
        ),
        (
            {"location_ids": HERE, "query": {"filter": {"state_filter": {"states": ["PAID"]}}}},
            "INVALID_ENUM_VALUE",
            "query.filter.state_filter.states[0]",
        ),
        (
            {
                "location_ids": HERE,
                "query": {"filter": {"customer_filter": {"customer_ids": ["c"] * 11}}},
            },
            "ARRAY_LENGTH_TOO_LONG",
            "query.filter.customer_filter.customer_ids",
        ),
        (
            {"location_ids": HERE, "query": {"sort": {"sort_order": "ASC"}}},
            "MISSING_REQUIRED_PARAMETER",
            "query.sort.sort_field",
        ),
        (
            {"location_ids": HERE, "query": {"filter": {"tip_filter": {}}}},
            "BAD_REQUEST",
            "query.filter.tip_filter",
        ),
    ],
)
def test_search_orders_errors(body: dict[str, Any], code: str, field: str) -> None:
    seeded = Seeded()
    if body.get("location_ids") is HERE:
        body = {**body, "location_ids": [seeded.location["id"]]}
    error = _error(lambda: seeded.store.search_orders(body))
    assert (error.status, error.code, error.field) == (
        404 if code == "NOT_FOUND" else 400,
        code,
        field,
    )


def test_batch_retrieve_orders_ignores_unknown_ids() -> None:
    seeded = _orders_fixture()
    known = list(seeded.store.orders)[:3]
    found = seeded.store.batch_retrieve_orders({"order_ids": [known[2], "UNKNOWN", known[0]]})
    assert [o["id"] for o in found["orders"]] == [known[2], known[0]]
    assert seeded.store.batch_retrieve_orders({"order_ids": ["UNKNOWN"]}) == {}
    too_many = {"order_ids": ["x"] * 101}
    assert _error(lambda: seeded.store.batch_retrieve_orders(too_many)).code == (
        "ARRAY_LENGTH_TOO_LONG"
    )
    assert seeded.store.get_order(known[1]) is seeded.store.orders[known[1]]
    assert _error(lambda: seeded.store.get_order("NOPE")).status == 404


def test_orders_created_after_a_search_are_indexed() -> None:
    seeded = Seeded()
    first = seeded.sale(0)
    body = {
        "location_ids": [seeded.location["id"]],
        "query": {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}},
    }
    assert [o["id"] for o in seeded.store.search_orders(body)["orders"]] == [first["id"]]
    earlier = seeded.store.create_order(
        {"order": {"location_id": seeded.location["id"]}}, at=T0 - timedelta(days=1)
    )
    later = seeded.sale(5)
    assert [o["id"] for o in seeded.store.search_orders(body)["orders"]] == [
        earlier["id"],
        first["id"],
        later["id"],
    ]
