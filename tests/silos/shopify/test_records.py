from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from silos.shopify.records import (
    MoneySets,
    country_name,
    customer_address,
    format_time,
    money,
    order_address,
    parse_time,
    pickup_carrier_identifier,
    pickup_shipping_line,
    tag_string,
    to_cents,
)

NEW_YORK = ZoneInfo("America/New_York")


def test_times_use_the_shop_offset() -> None:
    winter = datetime(2025, 1, 2, 16, 25, 58, 999_000, tzinfo=UTC)
    assert format_time(winter, NEW_YORK) == "2025-01-02T11:25:58-05:00"
    summer = datetime(2025, 7, 2, 16, 25, 58)
    assert format_time(summer, NEW_YORK) == "2025-07-02T12:25:58-04:00"
    assert parse_time("2025-07-02T12:25:58-04:00", NEW_YORK) == datetime(
        2025, 7, 2, 16, 25, 58, tzinfo=UTC
    )
    assert (
        parse_time("2025-07-02T16:25:58Z", NEW_YORK).timestamp()
        == summer.replace(tzinfo=UTC).timestamp()
    )
    assert parse_time("2025-07-02", NEW_YORK).utcoffset() is not None
    with pytest.raises(ValueError):
        parse_time("yesterday", NEW_YORK)


def test_money() -> None:
    assert [to_cents(v) for v in ("19.99", 19.99, 19, "0.5", " 3 ")] == [1999, 1999, 1900, 50, 300]
    assert [money(c) for c in (0, 5, 1999, -250)] == ["0.00", "0.05", "19.99", "-2.50"]
    for bad in ("abc", True, "NaN", None):
        with pytest.raises(ValueError):
            to_cents(bad)
    sets = MoneySets("CAD")
    assert sets(1999) == {
        "shop_money": {"amount": "19.99", "currency_code": "CAD"},
        "presentment_money": {"amount": "19.99", "currency_code": "CAD"},
    }
    assert sets(1999) is sets(1999) and sets.text(1999) == "19.99"


def test_country_names_and_addresses() -> None:
    assert (country_name("ca"), country_name("DE"), country_name(None)) == (
        "Canada",
        "Germany",
        None,
    )
    address = customer_address(
        {
            "first_name": "Mother",
            "last_name": "Lastnameson",
            "country_code": "ca",
            "phone": "555-1212",
        },
        address_id=1,
        customer_id=2,
        default=True,
    )
    assert address["name"] == "Mother Lastnameson"
    assert (address["country"], address["country_code"], address["phone"]) == (
        "Canada",
        "CA",
        "555-1212",
    )
    assert order_address(None) is None
    shipped = order_address({"first_name": "Bob", "country_code": "us"})
    assert (
        shipped is not None and shipped["name"] == "Bob" and shipped["country"] == "United States"
    )


def test_tags_are_normalised() -> None:
    assert tag_string(" b, a ,B,, c") == "a, b, c"
    assert tag_string(["vip", "Loyalty:123"]) == "Loyalty:123, vip"
    assert tag_string(None) == tag_string("") == ""
    with pytest.raises(ValueError):
        tag_string(5)


def test_pickup_shipping_line_is_stable_per_location() -> None:
    store = {"id": 655441491, "name": "50 Rideau Street"}
    line = pickup_shipping_line(store)
    assert (line["title"], line["code"], line["source"], line["price"]) == (
        "50 Rideau Street",
        "50 Rideau Street",
        "shopify",
        "0.00",
    )
    assert line["carrier_identifier"] == pickup_carrier_identifier(655441491)
    assert pickup_shipping_line(store) == line
    assert pickup_carrier_identifier(1) != pickup_carrier_identifier(2)
