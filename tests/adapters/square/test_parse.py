"""The pure Square parsers over Square's own example payloads (read in place)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from adapters.errors import UpstreamBadResponse
from adapters.http import parsing
from adapters.models import Address, FulfillmentType, GeoPoint, LocationKind, Money
from adapters.square import parse
from tests.adapters.square.payloads import CASES, CTX

pytestmark = pytest.mark.vendor_payloads
Payload = Callable[[str], Any]


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def test_retrieve_customer(payload: Payload) -> None:
    customer = parse.customer(payload("square/retrieve_customer_response.json")["customer"], CTX)
    assert (customer.source, customer.kind, customer.id) == (
        "square", "square", "JDKYHBWT1D4F8MFH63DBMEN8Y4")
    assert (customer.first_name, customer.last_name) == ("Amelia", "Earhart")
    assert customer.emails == ("Amelia.Earhart@example.com",)
    assert customer.phones == ("+1-212-555-4240",)
    assert customer.addresses == (Address(
        line1="500 Electric Ave", line2="Suite 600", city="New York", region="NY",
        postal_code="10003", country_code="US"),)
    assert customer.country_code == "US"
    assert customer.references == (("loyalty", "YOUR_REFERENCE_ID"),)
    assert customer.created_at == datetime(2016, 3, 23, 20, 21, 54, 859000, tzinfo=UTC)
    without = parse.customer(
        payload("square/retrieve_customer_response.json")["customer"],
        parse.Context(source="pos"),
    )
    assert without.references == () and without.source == "pos"


def test_search_and_list_customers(payload: Payload) -> None:
    found, cursor = parse.customers_page(payload("square/search_customers_response.json"), CTX)
    assert cursor == "9dpS093Uy12AzeE"
    assert [(c.id, c.emails, c.phones) for c in found] == [
        ("JDKYHBWT1D4F8MFH63DBMEN8Y4", ("james.bond@example.com",), ("+1-212-555-4250",)),
        ("A9641GZW2H7Z56YYSD41Q12HDW", ("amelia.earhart@example.com",), ("+1-212-555-9238",)),
    ]
    assert [c.references for c in found] == [
        (("loyalty", "YOUR_REFERENCE_ID_2"),), (("loyalty", "YOUR_REFERENCE_ID_1"),)]
    assert found[0].updated_at == datetime(2020, 4, 20, 10, 2, 43, 83000, tzinfo=UTC)
    listed, cursor = parse.customers_page(payload("square/list_customers_response.json"), CTX)
    assert cursor is None
    (amelia,) = listed
    assert amelia.updated_at == datetime(2016, 3, 23, 20, 21, 55, tzinfo=UTC)
    assert amelia.addresses[0].line2 == "Suite 600"


def test_bulk_retrieve_customers_maps_per_id_not_found_to_none(payload: Payload) -> None:
    found = parse.bulk_customers(payload("square/bulk_retrieve_customers_response.json"), CTX)
    assert found["2GYD7WNXF7BJZW1PMGNXZ3Y8M8"] is None
    amelia = found["8DDA5NZVBZFGAX0V3HPF81HHE0"]
    marie = found["N18CPRVXR5214XPBBA6BZQWF3C"]
    assert amelia is not None and marie is not None
    assert amelia.emails == ("New.Amelia.Earhart@example.com",)
    assert (marie.first_name, marie.last_name, marie.emails, marie.phones) == (
        "Marie", "Curie", (), ())
    assert marie.addresses == () and marie.country_code is None
    assert amelia.created_at == datetime(2024, 1, 19, 0, 27, 54, 590000, tzinfo=UTC)


def test_retrieve_order_with_discounts(payload: Payload) -> None:
    (order,) = parse.orders([payload("square/retrieve_order_response.json")["order"]], CTX)
    assert (order.id, order.number, order.status) == (
        "CAISENgvlJ6jLWAzERDzjyHVybY", "CAISENgvlJ6jLWAzERDzjyHVybY", "OPEN")
    assert order.channel == "STORE" and order.location_id == "D7AVYMEAPJ3A3"
    assert order.total == usd("5.50")
    assert order.placed_at == datetime(2020, 5, 18, 16, 30, 49, 614000, tzinfo=UTC)
    assert [(ln.title, ln.quantity, ln.unit_price, ln.total, ln.sku) for ln in order.lines] == [
        ("Item 1", Decimal(1), usd("5.00"), usd("2.50"), None),
        ("Item 2", Decimal(2), usd("3.00"), usd("3.00"), None),
    ]
    assert order.returns == () and order.return_of is None and order.customer_id is None


def test_create_order_resolves_line_skus(payload: Payload) -> None:
    data = payload("square/create_order_response.json")["order"]
    assert parse.catalog_object_ids([data]) == {"BEMYCSMIJL46OCDV4KYIKXIB"}
    ctx = parse.Context(source="square", skus={"BEMYCSMIJL46OCDV4KYIKXIB": "STEAK-NY-L"})
    (order,) = parse.orders([data], ctx)
    assert order.total == usd("61.76")
    first, second = order.lines
    assert (first.sku, first.variant_id, first.total) == (None, None, usd("16.48"))
    assert (second.sku, second.variant_id) == ("STEAK-NY-L", "BEMYCSMIJL46OCDV4KYIKXIB")
    assert (second.title, second.quantity, second.unit_price, second.total) == (
        "New York Steak", Decimal(2), usd("22.00"), usd("45.28"))
    assert sum((ln.total.amount for ln in order.lines), Decimal(0)) == order.total.amount


def test_paid_order_is_completed(payload: Payload) -> None:
    (order,) = parse.orders([payload("square/pay_order_response.json")["order"]], CTX)
    assert order.status == "COMPLETED" and order.total == usd("20.00")
    assert [ln.total for ln in order.lines] == [usd("5.00"), usd("15.00")]
    assert order.updated_at == datetime(2019, 8, 6, 2, 47, 37, 140000, tzinfo=UTC)


def test_payment_link_order_has_a_digital_fulfillment(payload: Payload) -> None:
    (order,) = parse.orders(
        payload("square/create_payment_link_response.json")["related_resources"]["orders"], CTX)
    assert order.status == "OPEN"  # a DRAFT order is not closed yet
    assert order.total == usd("125.00")
    (fulfillment,) = order.fulfillments
    assert (fulfillment.type, fulfillment.status) == (FulfillmentType.DIGITAL, "PENDING")
    assert fulfillment.location_id == order.location_id


def test_abridged_batch_retrieve_orders_example_is_a_bad_response(payload: Payload) -> None:
    raw, cursor = parse.orders_page(payload("square/batch_retrieve_orders_response.json"))
    assert [o["id"] for o in raw] == ["CAISEM82RcpmcFBM0TfOyiHV3es"] and cursor is None
    with pytest.raises(UpstreamBadResponse) as caught, parsing("square", "orders"):
        parse.orders(raw, CTX)
    assert caught.value.source == "square" and "KeyError" in str(caught.value)


def test_locations(payload: Payload) -> None:
    grant, midtown = parse.locations(payload("square/list_locations_response.json"), CTX)
    assert (grant.id, grant.name, grant.location_kind, grant.active) == (
        "18YC4JDH91E1H", "Grant Park", LocationKind.STORE, True)
    assert grant.address == Address(
        line1="123 Main St", city="San Francisco", region="CA", postal_code="94114",
        country_code="US", phone="+1 650-354-7217")
    assert grant.geo is None
    assert midtown.geo == GeoPoint(33.7889, -84.3841)
    assert midtown.address.country_code == "US"  # from the location's own ``country``
    assert midtown.address.city == "Atlanta" and midtown.address.phone is None


def test_inventory_counts(payload: Payload) -> None:
    counts, cursor = parse.inventory_counts(
        payload("square/batch_retrieve_inventory_counts_response.json"))
    assert cursor is None
    assert counts == [parse.Count(
        "W62UWFY35CWMYGVWK6TWJDNI", "59TNP9SA8VGDA", Decimal(79),
        datetime(2016, 11, 16, 22, 28, 1, 223000, tzinfo=UTC))]
    (level,) = parse.levels("TEA-MUG", counts * 2, CTX)
    assert (level.sku, level.location_id, level.available) == (
        "TEA-MUG", "59TNP9SA8VGDA", Decimal(158))


def test_catalog_objects_without_skus(payload: Payload) -> None:
    data = payload("square/batch_retrieve_catalog_objects_response.json")
    assert parse.catalog_skus(data) == {
        "2TZFAOHWGG7PAK2QEXWYPZSP": None,
        "LBTYIHNHU52WOIHWT7SNRIYH": None,
        "PKYIC7HGGKW5CYVSCVDEIMHY": None,
    }
    variants, cursor = parse.variants_page(data, CTX)
    assert variants == [] and cursor is None  # a variant is found by its SKU: none here


def test_catalog_variation_with_a_sku_uses_its_related_item(payload: Payload) -> None:
    data = payload("square/batch_retrieve_catalog_objects_response.json")
    coffee = data["objects"][1]
    large = coffee["item_data"]["variations"][1]
    large_with_sku = {**large, "item_variation_data": {
        **large["item_variation_data"], "sku": "COF-L"}}
    (variant,), _ = parse.variants_page(
        {"objects": [large_with_sku], "related_objects": [coffee]}, CTX)
    assert (variant.id, variant.sku, variant.title) == ("PKYIC7HGGKW5CYVSCVDEIMHY", "COF-L",
                                                        "Large")
    assert (variant.product_id, variant.product_title) == ("AA27W3M2GGTF3H6AVPNB77CK", "Coffee")
    assert variant.price == usd("3.50")


@pytest.mark.parametrize(("path", "parser"), CASES, ids=[c[0] for c in CASES])
def test_every_case_parses_to_something(
    path: str, parser: Callable[[Any], object], payload: Payload
) -> None:
    parsed = parser(payload(path))
    assert parsed
