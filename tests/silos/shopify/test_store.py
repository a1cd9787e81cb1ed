from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from silos.shopify import ShopifyStore, ShopifyValidationError, pickup_shipping_line
from silos.shopify.errors import BadRequest, ShopifyNotFoundError
from tests.shapes import as_json, assert_all_met, assert_same_shape, covered, shape_differences

from .factory import ADDRESS, T0, Shop, build_shop, customer_body, location_body, rich_order

Payload = Callable[[str], Any]

# Vendor fields the emulator deliberately lacks, one reason each.
ORDER_OMITTED = dict.fromkeys(
    ("$.fulfillments[].receipt.testcase", "$.fulfillments[].receipt.authorization"),
    "gateway-specific receipt of the carrier/fulfillment service; the sandbox has none",
)
# Fields the 2026-07 API no longer returns that the older fixtures still carry.
LEGACY_REMOVED = {
    **dict.fromkeys(
        (
            "$.accepts_marketing",
            "$.customer.accepts_marketing",
            "$.customer.accepts_marketing_updated_at",
            "$.customer.marketing_opt_in_level",
        ),
        "replaced by email_marketing_consent (2022-04)",
    ),
    **dict.fromkeys(
        (
            "$.customer.orders_count",
            "$.customer.total_spent",
            "$.customer.last_order_id",
            "$.customer.last_order_name",
        ),
        "the order's embedded customer summary dropped the totals",
    ),
    "$.gateway": "replaced by payment_gateway_names",
    **dict.fromkeys(
        ("$.payment_details", "$.processing_method", "$.source", "$.total_price_usd"),
        "no longer returned by the 2026-07 API",
    ),
    "$.deleted_at": "locations: no longer serialised",
    **ORDER_OMITTED,
}


@pytest.fixture
def shop() -> Shop:
    return build_shop()


# ------------------------------------------------------------------ contract: 2026-07 payloads


@pytest.mark.vendor_payloads
def test_customer_matches_the_vendor_shape(shop: Shop, payload: Payload) -> None:
    ours = as_json(shop.customers[0])
    for name, key in (
        ("shopify/customer.json", "customer"),
        ("shopify/customers_list.json", "customers"),
        ("shopify/customers_search.json", "customers"),
    ):
        theirs = payload(name)[key]
        for vendor in theirs if isinstance(theirs, list) else [theirs]:
            assert_same_shape(ours, vendor)
            assert covered(ours, vendor) == []


@pytest.mark.vendor_payloads
def test_order_with_every_nested_kind_matches_the_vendor_shape(
    shop: Shop, payload: Payload
) -> None:
    ours = as_json(rich_order(shop))
    assert ours["fulfillments"] and ours["refunds"] and ours["discount_applications"]
    met: set[str] = set()
    for vendor in (
        payload("shopify/order.json")["order"],
        *payload("shopify/orders_list.json")["orders"],
    ):
        differences, found = shape_differences(ours, vendor, ORDER_OMITTED)
        assert differences == []
        assert covered(ours, vendor) == []
        met |= found
    assert_all_met(met, ORDER_OMITTED)


@pytest.mark.vendor_payloads
def test_pickup_order_matches_the_vendor_shape(shop: Shop, payload: Payload) -> None:
    pickup = shop.orders[1]
    assert pickup["shipping_lines"][0]["code"] == shop.brooklyn["name"]
    vendor = payload("shopify/order.json")["order"]
    assert shape_differences(as_json(pickup), vendor, ORDER_OMITTED)[0] == []


# Products carry no images in the sandbox (no image hosting): ``images`` is [] and ``image`` null.
PRODUCT_UNCOVERED = {"$.images[]"}


@pytest.mark.vendor_payloads
def test_product_and_variants_match_the_vendor_shape(shop: Shop, payload: Payload) -> None:
    ours = as_json(shop.product)
    for vendor in (
        payload("shopify/product.json")["product"],
        *payload("shopify/products_list.json")["products"],
    ):
        assert_same_shape(ours, vendor)
        assert set(covered(ours, vendor)) <= PRODUCT_UNCOVERED


@pytest.mark.vendor_payloads
def test_location_and_inventory_level_match_the_vendor_shape(shop: Shop, payload: Payload) -> None:
    ours = as_json(shop.brooklyn)
    for vendor in payload("shopify/locations_list.json")["locations"]:
        assert_same_shape(ours, vendor)
    item = shop.product["variants"][0]["inventory_item_id"]
    level = as_json(shop.store.inventory_level(item, shop.warehouse["id"]))
    for name in ("shopify/inventory_levels_list.json", "shopify/location_inventory_levels.json"):
        for vendor in payload(name)["inventory_levels"]:
            assert_same_shape(level, vendor)


@pytest.mark.vendor_payloads
@pytest.mark.parametrize(
    ("name", "key", "kind"),
    [
        ("shopify/legacy/customer.json", "customer", "customer"),
        ("shopify/legacy/customers_list.json", "customers", "customer"),
        ("shopify/legacy/customers_search.json", "customers", "customer"),
        ("shopify/legacy/order.json", "order", "order"),
        ("shopify/legacy/orders_list.json", "orders", "order"),
        ("shopify/legacy/product.json", "product", "product"),
        ("shopify/legacy/locations_list.json", "locations", "location"),
        ("shopify/legacy/inventory_levels_list.json", "inventory_levels", "level"),
    ],
)
def test_older_fixtures_are_a_compatible_subset(
    shop: Shop, payload: Payload, name: str, key: str, kind: str
) -> None:
    ours: dict[str, Any] = {
        "customer": shop.customers[0],
        "order": rich_order(shop) if kind == "order" else {},
        "product": shop.product,
        "location": shop.brooklyn,
        "level": shop.store.inventory_level(
            shop.product["variants"][0]["inventory_item_id"], shop.warehouse["id"]
        ),
    }
    theirs = payload(name)[key]
    for vendor in theirs if isinstance(theirs, list) else [theirs]:
        diffs, _ = shape_differences(
            as_json(ours[kind]), vendor, LEGACY_REMOVED, allow_extra=True
        )
        assert diffs == []


# --------------------------------------------------------------------------------- customers


def test_customer_phone_is_stored_in_e164_using_the_default_address_country() -> None:
    store = ShopifyStore()
    customer = store.create_customer(customer_body(707), at=T0)
    assert customer["phone"] == "+16136120707"
    assert customer["created_at"] == "2025-07-02T12:25:58-04:00"
    assert customer["default_address"] is customer["addresses"][0]
    assert customer["default_address"]["phone"] == "555-625-1199"
    assert customer["default_address"]["country_name"] == "Canada"
    assert customer["tags"] == "Léon, Noël"
    assert customer["sms_marketing_consent"]["consent_collected_from"] == "OTHER"
    assert customer["admin_graphql_api_id"] == f"gid://shopify/Customer/{customer['id']}"
    german = store.create_customer(
        {
            "customer": {
                "email": "hans@example.de",
                "phone": "030 901820",
                "addresses": [{"city": "Berlin", "country_code": "de"}],
            }
        }
    )
    assert german["phone"] == "+4930901820"
    assert german["default_address"]["country"] == "Germany"


def test_customer_without_address_or_phone_omits_them() -> None:
    customer = ShopifyStore().create_customer({"customer": {"email": "a@example.com"}})
    assert "default_address" not in customer
    assert customer["addresses"] == [] and customer["phone"] is None
    assert customer["sms_marketing_consent"] is None
    assert customer["email_marketing_consent"]["state"] == "not_subscribed"


def test_email_and_phone_are_unique() -> None:
    store = ShopifyStore()
    store.create_customer(customer_body(1))
    with pytest.raises(ShopifyValidationError) as taken:
        store.create_customer(
            {"customer": {"email": "BOB.NORMAN1@mail.example.com", "phone": "+1 613 612 0001"}}
        )
    assert taken.value.errors == {
        "email": ["has already been taken"],
        "phone": ["has already been taken"],
    }
    with pytest.raises(ShopifyValidationError) as invalid:
        store.create_customer({"customer": {"email": "not-an-email", "phone": "12"}})
    assert invalid.value.errors == {"email": ["is invalid"], "phone": ["is invalid"]}
    assert len(store.customers) == 1


def test_missing_root_is_the_required_parameter_error() -> None:
    with pytest.raises(BadRequest) as error:
        ShopifyStore().create_customer({"email": "a@example.com"})
    assert error.value.errors == {"customer": "Required parameter missing or invalid"}


def test_marketing_consent_from_the_body() -> None:
    customer = ShopifyStore().create_customer(
        {
            "customer": {
                "email": "a@example.com",
                "email_marketing_consent": {"state": "subscribed"},
            }
        },
        at=T0,
    )
    assert customer["email_marketing_consent"] == {
        "state": "subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2025-07-02T12:25:58-04:00",
    }


def test_search_by_email_phone_and_name(shop: Shop) -> None:
    store = shop.store
    first = shop.customers[0]
    assert store.search_customer_ids([("email", "BOB.NORMAN0@mail.example.com")]) == [first["id"]]
    assert store.search_customer_ids([("phone", "613-612-0000")]) == [first["id"]]
    assert store.search_customer_ids([(None, "norman1")]) == [shop.customers[1]["id"]]
    assert store.search_customer_ids([(None, "bob")]) == sorted(c["id"] for c in shop.customers)
    assert store.search_customer_ids([(None, "bob"), ("last_name", "norman2")]) == [
        shop.customers[2]["id"]
    ]
    assert store.search_customer_ids([("email", "nobody@example.com")]) == []


# ------------------------------------------------------------------------------------ orders


def test_order_prices_come_from_variants_and_totals_add_up(shop: Shop) -> None:
    order = rich_order(shop)
    fresh = shop.store.order(order["id"])
    assert fresh is order
    assert order["total_line_items_price"] == "597.00"
    assert order["total_discounts"] == "10.00"
    assert [a["discount_allocations"][0]["amount"] for a in order["line_items"]] == [
        "3.34",
        "3.33",
        "3.33",
    ]
    assert order["subtotal_price"] == "587.00"
    assert [line["tax_lines"][0]["price"] for line in order["line_items"]] == [
        "11.74",
        "11.74",
        "11.74",
    ]
    assert order["total_tax"] == "35.22"
    assert order["total_price"] == "622.22"
    assert order["line_items"][0]["name"] == "IPod Nano - 8gb - green"
    assert order["line_items"][0]["sku"] == "IPOD2008GREEN"
    assert order["total_weight"] == 600


def test_orders_are_numbered_and_update_the_customer(shop: Shop) -> None:
    names = [order["name"] for order in shop.orders]
    assert names == [f"#{1001 + i}" for i in range(len(names))]
    customer = shop.customers[0]
    mine = [o for o in shop.orders if o["customer"]["id"] == customer["id"]]
    assert customer["orders_count"] == len(mine) == 2
    assert customer["total_spent"] == "403.00"
    assert customer["last_order_id"] == mine[-1]["id"]
    assert customer["last_order_name"] == mine[-1]["name"]
    assert customer["updated_at"] == mine[-1]["created_at"]
    assert mine[-1]["customer"]["updated_at"] == customer["updated_at"]
    assert shop.store.order_ids_for_customer(customer["id"]) == [o["id"] for o in mine]


def test_an_order_for_an_unknown_customer_or_variant_is_refused(shop: Shop) -> None:
    store = shop.store
    with pytest.raises(ShopifyValidationError) as customer:
        store.create_order(
            {
                "order": {
                    "customer": {"id": 1},
                    "line_items": [{"variant_id": shop.product["variants"][0]["id"]}],
                }
            }
        )
    assert customer.value.errors == {"customer": ["is invalid"]}
    with pytest.raises(ShopifyValidationError) as variant:
        store.create_order({"order": {"line_items": [{"variant_id": 1}]}})
    assert variant.value.errors == {"line_items.variant_id": ["is invalid"]}
    with pytest.raises(ShopifyValidationError):
        store.create_order({"order": {"line_items": []}})


def test_an_order_with_a_new_email_creates_the_customer(shop: Shop) -> None:
    order = shop.store.create_order(
        {
            "order": {
                "customer": {"email": "new@example.com", "first_name": "New"},
                "line_items": [{"title": "Gift wrap", "price": "2.50", "quantity": 2}],
            }
        }
    )
    created = shop.store.customer_by_email("NEW@example.com")
    assert created is not None and order["customer"]["id"] == created["id"]
    assert order["total_price"] == "5.00" and order["line_items"][0]["product_id"] is None


def test_pickup_shipping_line_names_the_store_location(shop: Shop) -> None:
    line = pickup_shipping_line(shop.brooklyn)
    assert line == {
        "title": "Brooklyn Store",
        "code": "Brooklyn Store",
        "source": "shopify",
        "price": "0.00",
        "carrier_identifier": line["carrier_identifier"],
        "phone": None,
    }
    assert len(line["carrier_identifier"]) == 32
    assert pickup_shipping_line(shop.warehouse)["carrier_identifier"] != line["carrier_identifier"]
    order = shop.orders[1]
    stored = order["shipping_lines"][0]
    assert (stored["title"], stored["code"], stored["source"], stored["price"]) == (
        "Brooklyn Store",
        "Brooklyn Store",
        "shopify",
        "0.00",
    )
    fulfillment = shop.store.create_fulfillment(
        order["id"], {"fulfillment": {"location_id": shop.brooklyn["id"]}}, at=T0 + timedelta(1)
    )
    assert fulfillment["location_id"] == shop.brooklyn["id"]
    assert fulfillment["status"] == "success" and fulfillment["name"] == f"{order['name']}.1"
    assert order["fulfillment_status"] == "fulfilled"


def test_fulfillment_status_goes_partial_then_fulfilled(shop: Shop) -> None:
    store = shop.store
    variant = shop.product["variants"][0]
    order = store.create_order(
        {"order": {"line_items": [{"variant_id": variant["id"], "quantity": 3}]}}, at=T0
    )
    line = order["line_items"][0]
    store.create_fulfillment(
        order["id"],
        {
            "fulfillment": {
                "location_id": shop.warehouse["id"],
                "line_items": [{"id": line["id"], "quantity": 1}],
            }
        },
        at=T0 + timedelta(hours=1),
    )
    assert (order["fulfillment_status"], line["fulfillable_quantity"]) == ("partial", 2)
    assert order["fulfillments"][0]["line_items"][0]["quantity"] == 1
    store.create_fulfillment(
        order["id"], {"fulfillment": {"location_id": shop.warehouse["id"]}}, at=T0 + timedelta(2)
    )
    assert (order["fulfillment_status"], line["fulfillment_status"]) == ("fulfilled", "fulfilled")
    assert order["updated_at"] == "2025-07-04T12:25:58-04:00"
    with pytest.raises(ShopifyValidationError) as again:
        store.create_fulfillment(
            order["id"], {"fulfillment": {"location_id": shop.warehouse["id"]}}
        )
    assert again.value.errors == {"base": ["Line items are already fulfilled"]}
    with pytest.raises(ShopifyNotFoundError):
        store.create_fulfillment(1, {"fulfillment": {"location_id": shop.warehouse["id"]}})


def test_refund_restocks_and_updates_money(shop: Shop) -> None:
    store = shop.store
    warehouse_item = shop.product["variants"][0]["inventory_item_id"]
    order = rich_order(shop)
    refund = order["refunds"][0]
    assert [r["subtotal"] for r in refund["refund_line_items"]] == [195.66, 195.67]
    assert [r["total_tax"] for r in refund["refund_line_items"]] == [11.74, 11.74]
    assert refund["transactions"][0]["amount"] == "414.81"
    assert refund["transactions"][0]["kind"] == "refund"
    assert refund["restock"] is True
    assert order["financial_status"] == "partially_refunded"
    assert order["current_subtotal_price"] == "195.67"
    assert order["current_total_discounts"] == "3.33"
    assert order["current_total_tax"] == "11.74"
    assert order["current_total_price"] == "207.41"
    assert order["line_items"][0]["current_quantity"] == 0
    level = store.inventory_level(warehouse_item, shop.warehouse["id"])
    assert level is not None and level["available"] == 31
    assert shop.product["variants"][0]["inventory_quantity"] == 34
    customer = shop.customers[0]
    assert customer["total_spent"] == "610.41"  # 403.00 + 622.22 - 414.81
    with pytest.raises(ShopifyValidationError):
        store.create_refund(
            order["id"],
            {
                "refund": {
                    "refund_line_items": [
                        {"line_item_id": order["line_items"][0]["id"], "quantity": 1}
                    ]
                }
            },
        )
    rest = store.create_refund(
        order["id"],
        {
            "refund": {
                "refund_line_items": [{"line_item_id": order["line_items"][1]["id"], "quantity": 1}]
            }
        },
    )
    assert rest["transactions"][0]["amount"] == "207.41"
    assert order["financial_status"] == "refunded"
    assert order["current_total_price"] == "0.00"
    assert store.refunds(order["id"]) == [refund, rest]


def test_refund_with_explicit_transactions_and_shipping(shop: Shop) -> None:
    store = shop.store
    order = shop.orders[0]
    refund = store.create_refund(
        order["id"],
        {
            "refund": {
                "shipping": {"full_refund": True},
                "transactions": [{"amount": "5.00", "kind": "refund"}],
            }
        },
    )
    assert refund["order_adjustments"][0]["amount"] == "-5.00"
    assert refund["order_adjustments"][0]["kind"] == "shipping_refund"
    assert order["financial_status"] == "partially_refunded"
    assert order["current_total_price"] == "199.00"
    with pytest.raises(ShopifyValidationError):
        store.create_refund(order["id"], {"refund": {"transactions": [{"amount": "500.00"}]}})


def test_close_and_cancel(shop: Shop) -> None:
    store = shop.store
    order = shop.orders[0]
    store.close_order(order["id"], at=T0 + timedelta(days=30))
    assert order["closed_at"] == "2025-08-01T12:25:58-04:00"
    assert order["updated_at"] == order["closed_at"]
    pending = store.create_order(
        {
            "order": {
                "financial_status": "pending",
                "line_items": [{"variant_id": shop.product["variants"][0]["id"]}],
            }
        }
    )
    assert pending["total_outstanding"] == "199.00"
    store.cancel_order(pending["id"], reason="customer")
    assert (pending["cancel_reason"], pending["financial_status"]) == ("customer", "voided")
    assert pending["cancelled_at"] is not None
    with pytest.raises(ShopifyValidationError):
        store.cancel_order(pending["id"])
    with pytest.raises(ShopifyNotFoundError):
        store.close_order(1)


def test_fulfilled_at_creation_uses_the_given_location(shop: Shop) -> None:
    order = shop.store.create_order(
        {
            "order": {
                "fulfillment_status": "fulfilled",
                "location_id": shop.brooklyn["id"],
                "source_name": "pos",
                "line_items": [{"variant_id": shop.product["variants"][1]["id"]}],
            }
        }
    )
    assert order["fulfillment_status"] == "fulfilled"
    assert order["fulfillments"][0]["location_id"] == shop.brooklyn["id"]
    assert (order["source_name"], order["app_id"], order["cart_token"]) == ("pos", 129785, None)


def test_processed_at_is_rendered_in_the_shop_time_zone(shop: Shop) -> None:
    order = shop.store.create_order(
        {
            "order": {
                "processed_at": "2024-01-15T10:00:00Z",
                "shipping_address": ADDRESS,
                "line_items": [{"variant_id": shop.product["variants"][0]["id"]}],
            }
        },
        at=T0,
    )
    assert order["processed_at"] == "2024-01-15T05:00:00-05:00"
    assert order["created_at"] == "2025-07-02T12:25:58-04:00"
    assert "billing_address" not in order and order["shipping_address"]["name"] == "Bob Norman"


# ------------------------------------------------------------------ products and inventory


def test_products_variants_and_inventory(shop: Shop) -> None:
    store = shop.store
    product = shop.product
    assert product["handle"] == "ipod-nano-8gb"
    assert product["options"][0]["values"] == ["green", "red", "black"]
    assert [v["position"] for v in product["variants"]] == [1, 2, 3]
    variant = product["variants"][1]
    by_sku = store.variant_by_sku("IPOD2008RED")
    by_item = store.variant_by_inventory_item(variant["inventory_item_id"])
    assert id(by_sku) == id(by_item) == id(variant)
    assert variant["inventory_quantity"] == 33
    level = store.set_inventory_level(
        {
            "location_id": shop.brooklyn["id"],
            "inventory_item_id": variant["inventory_item_id"],
            "available": 10,
        },
        at=T0 + timedelta(hours=1),
    )
    assert level["available"] == 10 and variant["inventory_quantity"] == 40
    assert level["admin_graphql_api_id"] == (
        f"gid://shopify/InventoryLevel/{shop.brooklyn['id']}"
        f"?inventory_item_id={variant['inventory_item_id']}"
    )
    twin = store.create_product({"product": {"title": "IPod Nano - 8gb"}})
    assert twin["handle"] == "ipod-nano-8gb-1"
    assert twin["variants"][0]["title"] == "Default Title"
    with pytest.raises(ShopifyValidationError):
        store.set_inventory_level(
            {"location_id": 1, "inventory_item_id": variant["inventory_item_id"], "available": 1}
        )


def test_inventory_levels_by_item_and_location(shop: Shop) -> None:
    store = shop.store
    items = [v["inventory_item_id"] for v in shop.product["variants"]]
    seqs, levels = store.inventory_levels(items[:2], None)
    assert [(levels[s]["inventory_item_id"], levels[s]["location_id"]) for s in seqs] == [
        (items[0], shop.warehouse["id"]),
        (items[0], shop.brooklyn["id"]),
        (items[1], shop.warehouse["id"]),
        (items[1], shop.brooklyn["id"]),
    ]
    seqs, levels = store.inventory_levels(None, [shop.brooklyn["id"]])
    assert [levels[s]["inventory_item_id"] for s in seqs] == items
    seqs, _ = store.inventory_levels(items[:1], [shop.warehouse["id"]])
    assert len(seqs) == 1


def test_locations_are_listed_by_name(shop: Shop) -> None:
    extra = shop.store.create_location(location_body("Albany Store", "Albany"))
    names = [loc["name"] for loc in shop.store.location_list()]
    assert names == ["Albany Store", "Brooklyn Store", "Newark Warehouse"]
    assert extra["country_name"] == "United States" and extra["legacy"] is False


# ------------------------------------------------------------------------------ determinism


def test_same_seed_same_shop() -> None:
    first, second = build_shop(seed=7), build_shop(seed=7)
    assert as_json(first.orders) == as_json(second.orders)
    assert as_json(first.customers) == as_json(second.customers)
    other = build_shop(seed=8)
    assert [o["id"] for o in other.orders] != [o["id"] for o in first.orders]


def test_ids_grow_in_creation_order(shop: Shop) -> None:
    ids = [order["id"] for order in shop.orders]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert shop.store.order_ids == ids
