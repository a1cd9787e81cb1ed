from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from silos.square.errors import SquareError
from silos.square.formats import (
    IdFactory,
    MoneyCache,
    format_quantity,
    parse_quantity,
    parse_time,
    rfc3339_ms,
    rfc3339_seconds,
    rfc3339_trimmed,
    times_quantity,
    utc,
)

MOMENT = datetime(2020, 1, 27, 21, 31, 7, 590000, tzinfo=UTC)


def test_timestamp_formats() -> None:
    assert rfc3339_ms(MOMENT) == "2020-01-27T21:31:07.590Z"
    assert rfc3339_trimmed(MOMENT) == "2020-01-27T21:31:07.59Z"
    assert rfc3339_trimmed(MOMENT.replace(microsecond=0)) == "2020-01-27T21:31:07Z"
    assert rfc3339_seconds(MOMENT) == "2020-01-27T21:31:07Z"


def test_utc_normalises_offsets_and_naive_values() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert utc(datetime(2020, 1, 27, 16, 31, 7, tzinfo=eastern)) == MOMENT.replace(microsecond=0)
    assert utc(datetime(2020, 1, 27, 21, 31, 7)).tzinfo is UTC
    assert abs(utc(None) - datetime.now(UTC)) < timedelta(seconds=5)


def test_parse_time_accepts_offsets_and_rejects_garbage() -> None:
    assert parse_time("2020-01-27T16:31:07.59-05:00", "f") == MOMENT
    for bad in ("yesterday", "2020-01-27", "2020-01-27T21:31:07", 12):
        with pytest.raises(SquareError) as caught:
            parse_time(bad, "query.start_at")
        assert (caught.value.code, caught.value.field) == ("INVALID_TIME", "query.start_at")


@pytest.mark.parametrize(
    ("text", "normalised", "times_199"),
    [("1", "1", 199), ("12", "12", 2388), ("1.50", "1.5", 299), ("3.000", "3", 597)],
)
def test_quantities(text: str, normalised: str, times_199: int) -> None:
    quantity = parse_quantity(text, "q")
    assert format_quantity(quantity) == normalised
    assert times_quantity(199, quantity) == times_199


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("abc", "INVALID_VALUE"),
        ("0", "VALUE_TOO_LOW"),
        ("-1", "VALUE_TOO_LOW"),
        (3, "EXPECTED_STRING"),
        ("1.123456", "INVALID_VALUE"),
        ("NaN", "INVALID_VALUE"),
    ],
)
def test_bad_quantities(value: object, code: str) -> None:
    with pytest.raises(SquareError) as caught:
        parse_quantity(value, "order.line_items[0].quantity")
    assert caught.value.code == code
    assert caught.value.field == "order.line_items[0].quantity"


def test_zero_quantity_allowed_for_counts() -> None:
    assert parse_quantity("0", "q", allow_zero=True) == Decimal(0)


def test_ids_are_deterministic_and_square_shaped() -> None:
    first, second = IdFactory(5), IdFactory(5)
    ids = [first.customer(), first.order(), first.catalog(), first.location(), first.uid()]
    assert ids == [
        second.customer(),
        second.order(),
        second.catalog(),
        second.location(),
        second.uid(),
    ]
    customer, order, catalog, location, uid = ids
    assert len(customer) == 26 and customer.isalnum() and customer.isupper()
    assert 27 <= len(order) <= 29 and order.isalnum()
    assert len(catalog) == 24 and catalog.isalnum() and catalog.upper() == catalog
    assert len(location) == 13 and location.upper() == location
    assert len(uid) == 22 and uid.isalnum()
    assert IdFactory(6).customer() != IdFactory(5).customer()
    lengths = {len(IdFactory(seed).order()) for seed in range(60)}
    assert lengths == {27, 28, 29}


def test_money_cache_shares_objects_per_amount() -> None:
    cash = MoneyCache("USD")
    assert cash[150] == {"amount": 150, "currency": "USD"}
    assert cash[150] is cash[150]
    assert cash[0] is not cash[150]
