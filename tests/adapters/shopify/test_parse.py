"""The pure Shopify parse functions over the real vendor payloads (../shared/vendor-payloads)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from adapters.models import (
    Address,
    Channel,
    Fulfillment,
    FulfillmentType,
    LocationKind,
    Money,
    ReturnLine,
)
from adapters.shopify import parse
from silos.shopify import pickup_shipping_line

from .payloads import CASES, skus_by_item

pytestmark = pytest.mark.vendor_payloads

Payload = Callable[[str], Any]
EST = timezone(timedelta(hours=-5))
EDT = timezone(timedelta(hours=-4))


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


# ------------------------------------------------------------------------------- customers


def test_customer(payload: Payload) -> None:
    customer = parse.parse_customer(payload("shopify/customer.json")["customer"], source="web")
    assert (customer.source, customer.kind, customer.id) == ("web", "shopify", "207119551")
    assert (customer.first_name, customer.last_name) == ("Bob", "Norman")
    assert customer.emails == ("bob.norman@mail.example.com",)
    assert customer.phones == ("+16136120707", "555-625-1199")
    assert customer.addresses == (
        Address(
            line1="Chestnut Street 92",
            line2=None,
            city="Louisville",
            region="KY",
            postal_code="40202",
            country_code="US",
            phone="555-625-1199",
        ),
    )
    assert customer.country_code == "US"
    assert customer.created_at == datetime(2025, 7, 2, 11, 25, 58, tzinfo=EST)
    assert customer.created_at.astimezone(UTC) == datetime(2025, 7, 2, 16, 25, 58, tzinfo=UTC)
    assert customer.updated_at == customer.created_at
    assert customer.references == ()


def test_customer_tag_references(payload: Payload) -> None:
    record = payload("shopify/customer.json")["customer"]
    assert record["tags"] == "Léon, Noël"
    customer = parse.parse_customer(record, references={"tag:Lé": "crm", "tag:Noë": "legacy"})
    assert customer.references == (("crm", "on"), ("legacy", "l"))
    assert parse.parse_customer(record, references={"tag:loyalty:": "loyalty"}).references == ()


def test_tag_references_rules() -> None:
    rules = {"tag:loyalty:": "loyalty", "tag:zd-": "zendesk"}
    tags = "vip, loyalty:LC-0001234567, loyalty:, zd-42, loyalty:LC-0001234567"
    assert parse.tag_references(tags, rules) == (
        ("loyalty", "LC-0001234567"),
        ("zendesk", "42"),
    )
    assert parse.tag_references("", rules) == ()
    assert parse.tag_references("loyalty:LC-1", {}) == ()


def test_customers_list_and_search(payload: Payload) -> None:
    listed = parse.parse_customers(payload("shopify/customers_list.json"))
    assert [(c.id, c.emails) for c in listed] == [
        ("1073339462", ("steve.lastnameson@example.com",)),
        ("207119551", ("bob.norman@mail.example.com",)),
    ]
    searched = parse.parse_customers(payload("shopify/customers_search.json"))
    assert [(c.id, c.emails) for c in searched] == [
        ("207119551", ("bob.norman@mail.example.com",))
    ]


def test_legacy_customer_without_phone(payload: Payload) -> None:
    customer = parse.parse_customer(payload("shopify/legacy/customer.json")["customer"])
    assert customer.id == "207119551"
    assert customer.emails == ("bob.norman@hostmail.com",)
    assert customer.phones == ("555-625-1199",)
    assert customer.created_at == datetime(2015, 5, 27, 18, 11, 24, tzinfo=EDT)
    legacy_list = parse.parse_customers(payload("shopify/legacy/customers_list.json"))
    assert [(c.id, c.country_code) for c in legacy_list] == [("207119551", "US")]


# ---------------------------------------------------------------------------------- orders


def test_order_header_and_money(payload: Payload) -> None:
    order = parse.parse_order(payload("shopify/order.json")["order"], source="web")
    assert (order.source, order.kind, order.id, order.number) == (
        "web", "shopify", "450789469", "#1001")
    assert order.channel is Channel.WEB
    assert order.customer_id == "207119551"
    assert order.placed_at == datetime(2008, 1, 10, 11, 0, tzinfo=EST)
    assert order.updated_at == datetime(2008, 1, 10, 11, 0, tzinfo=EST)
    assert order.status == "OPEN"
    assert order.financial_status == "partially_refunded"
    assert order.total == usd("598.94")
    assert order.location_id is None


def test_order_lines(payload: Payload) -> None:
    order = parse.parse_order(payload("shopify/order.json")["order"])
    assert [(line.sku, line.variant_id) for line in order.lines] == [
        ("IPOD2008GREEN", "39072856"),
        ("IPOD2008RED", "49148385"),
        ("IPOD2008BLACK", "457924702"),
    ]
    green = order.lines[0]
    assert green.title == "IPod Nano - 8gb - green"
    assert green.quantity == Decimal(1)
    assert green.unit_price == usd("199.00")
    # 199.00 less its 3.34 share of the TENOFF discount, exactly.
    assert green.total == usd("195.66")
    assert [line.total for line in order.lines[1:]] == [usd("195.67"), usd("195.67")]
    assert sum((line.total.amount for line in order.lines), Decimal(0)) == Decimal("587.00")


def test_order_shipping_fulfillment(payload: Payload) -> None:
    order = parse.parse_order(payload("shopify/order.json")["order"])
    assert order.fulfillments == (
        Fulfillment(
            type=FulfillmentType.SHIPPING,
            status="FAILED",
            location_id="655441491",
            updated_at=datetime(2025, 7, 2, 11, 29, 59, tzinfo=EST),
            tracking_number="1Z1234512345123456",
        ),
    )


def test_order_refund_is_a_return_at_its_location(payload: Payload) -> None:
    order = parse.parse_order(payload("shopify/order.json")["order"])
    (returned,) = order.returns
    assert (returned.source, returned.kind, returned.id) == ("shopify", "shopify", "509562969")
    assert returned.returned_at == datetime(2025, 7, 2, 11, 29, 59, tzinfo=EST)
    assert returned.location_id == "487838322"
    assert returned.lines == (
        ReturnLine("IPOD2008BLACK", "IPod Nano - 8gb - black", Decimal(1), usd("199.64")),
        ReturnLine("IPOD2008GREEN", "IPod Nano - 8gb - green", Decimal(1), usd("199.65")),
    )
    # The money actually paid back: the refund's successful refund transaction.
    assert returned.amount == usd("209.00")


def test_native_local_pickup(payload: Payload) -> None:
    record = copy.deepcopy(payload("shopify/order.json")["order"])
    store = payload("shopify/location.json")["location"]
    record["shipping_lines"] = [pickup_shipping_line(store)]
    names = {store["name"]: str(store["id"])}

    collected = parse.parse_order(record, pickup_locations=names)
    assert collected.fulfillments == (
        Fulfillment(
            FulfillmentType.PICKUP,
            "FAILED",
            "487838322",
            datetime(2025, 7, 2, 11, 29, 59, tzinfo=EST),
        ),
    )
    record["fulfillments"][0]["status"] = "success"
    assert parse.parse_order(record, pickup_locations=names).fulfillments[0].status == "COMPLETED"

    record["fulfillments"] = []
    waiting = parse.parse_order(record, pickup_locations=names)
    assert waiting.fulfillments == (Fulfillment(FulfillmentType.PICKUP, "PENDING", "487838322"),)
    record["cancelled_at"] = "2008-01-11T09:00:00-05:00"
    cancelled = parse.parse_order(record, pickup_locations=names)
    assert cancelled.status == "CANCELLED"
    assert cancelled.fulfillments[0].status == "CANCELLED"

    # Without the location names (or for an ordinary rate) there is no pickup.
    assert parse.parse_order(record).fulfillments == ()
    plain = parse.parse_order(payload("shopify/order.json")["order"], pickup_locations=names)
    assert plain.fulfillments[0].type is FulfillmentType.SHIPPING


def test_order_status_mapping(payload: Payload) -> None:
    record = copy.deepcopy(payload("shopify/order.json")["order"])
    assert parse.parse_order(record).status == "OPEN"
    record["fulfillment_status"] = "partial"
    assert parse.parse_order(record).status == "OPEN"
    record["fulfillment_status"] = "fulfilled"
    assert parse.parse_order(record).status == "COMPLETED"
    record["fulfillment_status"] = None
    record["closed_at"] = "2008-02-10T11:00:00-05:00"
    assert parse.parse_order(record).status == "COMPLETED"
    record["cancelled_at"] = "2008-01-12T11:00:00-05:00"
    assert parse.parse_order(record).status == "CANCELLED"
    record["source_name"] = "pos"
    record["location_id"] = 487838322
    pos = parse.parse_order(record)
    assert (pos.channel, pos.location_id) == (Channel.STORE, "487838322")


def test_orders_list(payload: Payload) -> None:
    (order,) = parse.parse_orders(payload("shopify/orders_list.json"))
    assert (order.id, order.number, order.total) == ("450789469", "#1001", usd("598.94"))
    assert [line.sku for line in order.lines] == [
        "IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert [r.amount for r in order.returns] == [usd("209.00")]


def test_legacy_order_without_money_sets_or_refunds(payload: Payload) -> None:
    order = parse.parse_order(payload("shopify/legacy/order.json")["order"])
    assert (order.id, order.number, order.status) == ("450789469", "#1001", "OPEN")
    assert order.financial_status == "authorized"
    assert order.total == usd("409.94")
    assert order.returns == ()
    assert [(line.sku, line.unit_price) for line in order.lines] == [
        ("IPOD2008GREEN", usd("199.00")),
        ("IPOD2008RED", usd("199.00")),
        ("IPOD2008BLACK", usd("199.00")),
    ]
    (shipment,) = order.fulfillments
    assert (shipment.type, shipment.status, shipment.tracking_number, shipment.location_id) == (
        FulfillmentType.SHIPPING, "FAILED", "1Z2345", None)
    (listed,) = parse.parse_orders(payload("shopify/legacy/orders_list.json"))
    assert listed.id == "450789469"


# -------------------------------------------------------------------- catalog and inventory


def test_product_variants(payload: Payload) -> None:
    variants = parse.parse_product(payload("shopify/product.json")["product"], source="web")
    assert [(v.id, v.sku, v.title, v.inventory_item_id) for v in variants] == [
        ("808950810", "IPOD2008PINK", "Pink", "808950810"),
        ("49148385", "IPOD2008RED", "Red", "49148385"),
        ("39072856", "IPOD2008GREEN", "Green", "39072856"),
        ("457924702", "IPOD2008BLACK", "Black", "457924702"),
    ]
    pink = variants[0]
    assert (pink.source, pink.kind, pink.product_id, pink.product_title) == (
        "web", "shopify", "632910392", "IPod Nano - 8GB")
    assert pink.price == usd("199.00")


def test_products_list(payload: Payload) -> None:
    variants = parse.parse_products(payload("shopify/products_list.json"))
    assert [v.sku for v in variants] == [
        "IPOD2008PINK", "IPOD2008RED", "IPOD2008GREEN", "IPOD2008BLACK", "IPOD2009BLACK"]
    touch = variants[-1]
    assert (touch.product_id, touch.product_title, touch.price) == (
        "921728736", "IPod Touch 8GB", usd("199.00"))


def test_legacy_product_price_needs_the_shop_currency(payload: Payload) -> None:
    product = payload("shopify/legacy/product.json")["product"]
    assert [v.price for v in parse.parse_product(product)] == [None] * 4
    priced = parse.parse_product(product, currency="USD")
    assert [(v.sku, v.price) for v in priced][0] == ("IPOD2008PINK", usd("199.00"))
    assert priced[0].inventory_item_id is None


def test_inventory_levels_by_sku(payload: Payload) -> None:
    sku_by_item = skus_by_item()
    levels = parse.parse_inventory_levels(
        payload("shopify/inventory_levels_list.json"), sku_by_item=sku_by_item, source="web")
    assert [(lv.sku, lv.location_id, lv.available) for lv in levels] == [
        ("IPOD2008PINK", "487838322", Decimal(9)),
        ("IPOD2008GREEN", "487838322", Decimal(27)),
        ("IPOD2008PINK", "655441491", Decimal(1)),
        ("IPOD2008GREEN", "655441491", Decimal(3)),
    ]
    assert {(lv.source, lv.kind) for lv in levels} == {("web", "shopify")}
    assert levels[0].updated_at == datetime(2025, 7, 2, 11, 29, 59, tzinfo=EST)
    only_green = {k: v for k, v in sku_by_item.items() if v == "IPOD2008GREEN"}
    kept = parse.parse_inventory_levels(
        payload("shopify/location_inventory_levels.json"), sku_by_item=only_green)
    assert [(lv.sku, lv.available) for lv in kept] == [("IPOD2008GREEN", Decimal(27))]


# ------------------------------------------------------------------------------- locations


def test_locations_store_or_warehouse(payload: Payload) -> None:
    locations = parse.parse_locations(
        payload("shopify/locations_list.json"), source="web",
        store_location_ids=frozenset({"655441491"}))
    assert [(loc.id, loc.name, loc.location_kind) for loc in locations] == [
        ("655441491", "50 Rideau Street", LocationKind.STORE),
        ("24826418", "Apple Api Shipwire", LocationKind.WAREHOUSE),
        ("844681632", "Apple Cupertino", LocationKind.WAREHOUSE),
        ("611870435", "Apple Shipwire", LocationKind.WAREHOUSE),
        ("487838322", "Fifth Avenue AppleStore", LocationKind.WAREHOUSE),
    ]
    rideau = locations[0]
    assert rideau.address == Address(
        line1="50 Rideau Street", city="Ottawa", region="ON", postal_code="K1N 9J7",
        country_code="CA")
    assert rideau.geo is None
    assert rideau.active is True
    assert parse.location_names(locations)["Fifth Avenue AppleStore"] == "487838322"


def test_single_and_legacy_locations(payload: Payload) -> None:
    location = parse.parse_location(payload("shopify/location.json")["location"])
    assert (location.id, location.name, location.address.country_code) == (
        "487838322", "Fifth Avenue AppleStore", "US")
    legacy = parse.parse_locations(payload("shopify/legacy/locations_list.json"))
    assert [(loc.id, loc.address.country_code) for loc in legacy] == [
        ("487838322", "US"), ("1034478814", "DE")]


# ------------------------------------------------------------------------------- contract


@pytest.mark.parametrize(("path", "parser"), CASES, ids=[path for path, _ in CASES])
def test_every_case_parses_to_models(
    payload: Payload, path: str, parser: Callable[[Any], object]
) -> None:
    result = parser(payload(path))
    records = result if isinstance(result, list) else [result]
    assert records
    assert all(getattr(record, "kind", "shopify") == "shopify" for record in records)


def _only(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key in fields}


def test_the_requested_fields_are_all_the_parsers_read(payload: Payload) -> None:
    customers = [payload("shopify/customer.json")["customer"],
                 *payload("shopify/customers_list.json")["customers"],
                 *payload("shopify/customers_search.json")["customers"]]
    moved = copy.deepcopy(customers[0])  # a second address besides the default one
    moved["addresses"].append({**moved["default_address"], "id": 1, "city": "Ottawa",
                               "default": False})
    only_default = {k: v for k, v in customers[0].items() if k != "addresses"}
    customers += [moved, only_default]
    refs = {"tag:loyalty:": "loyalty", "tag:": "other"}
    for record in customers:
        assert parse.parse_customer(_only(record, parse.CUSTOMER_FIELDS), references=refs) == \
            parse.parse_customer(record, references=refs)
    store = payload("shopify/location.json")["location"]
    pickup = copy.deepcopy(payload("shopify/order.json")["order"])
    pickup["shipping_lines"] = [pickup_shipping_line(store)]
    names = {store["name"]: str(store["id"])}
    orders = [payload("shopify/order.json")["order"], pickup,
              *payload("shopify/orders_list.json")["orders"]]
    for record in orders:
        assert parse.parse_order(_only(record, parse.ORDER_FIELDS), pickup_locations=names) == \
            parse.parse_order(record, pickup_locations=names)
