"""Square's value formats: RFC 3339 UTC timestamps, money, decimal-string quantities, ids."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from silos.square.errors import bad_request

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ONE = Decimal(1)


def utc(at: datetime | None) -> datetime:
    """``at`` as an aware UTC datetime; ``None`` means now, a naive value is taken as UTC."""
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is UTC:
        return at
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def _seconds(dt: datetime) -> str:
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )


def rfc3339_ms(dt: datetime) -> str:
    """``2020-01-17T20:47:53.293Z``: orders, catalog, inventory (fixed width, sorts as text).

    ``dt`` must be an aware UTC datetime (as :func:`utc` returns it).
    """
    return dt.isoformat(timespec="milliseconds")[:-6] + "Z"


def rfc3339_trimmed(dt: datetime) -> str:
    """``2024-01-19T00:27:54.59Z`` / ``2016-03-23T20:21:55Z``: customers (zeros trimmed)."""
    text = dt.isoformat(timespec="milliseconds")[:-6]
    if text.endswith(".000"):
        return text[:-4] + "Z"
    return text.rstrip("0") + "Z"


def rfc3339_seconds(dt: datetime) -> str:
    """``2016-09-19T17:33:12Z``: locations."""
    return f"{_seconds(dt)}Z"


def parse_time(value: Any, field: str) -> datetime:
    """Parse an RFC 3339 timestamp from a request (400 ``INVALID_TIME`` when malformed)."""
    if not isinstance(value, str) or "T" not in value:
        raise bad_request("INVALID_TIME", f"`{field}` must be an RFC 3339 timestamp", field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(
            "INVALID_TIME", f"`{field}` must be an RFC 3339 timestamp", field
        ) from None
    if parsed.tzinfo is None:
        raise bad_request("INVALID_TIME", f"`{field}` must include a UTC offset", field)
    return parsed.astimezone(UTC)


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


class MoneyCache(dict[int, dict[str, Any]]):
    """``cache[amount]`` is a shared ``{"amount", "currency"}`` object for one currency.

    Records treat money objects as immutable, so equal amounts share one dict: far fewer
    allocations (and objects for the garbage collector) across hundreds of thousands of orders.
    """

    def __init__(self, currency: str) -> None:
        super().__init__()
        self.currency = currency

    def __missing__(self, amount: int) -> dict[str, Any]:
        value = {"amount": amount, "currency": self.currency}
        if len(self) < 100_000:
            self[amount] = value
        return value


def parse_quantity(value: Any, field: str, *, allow_zero: bool = False) -> Decimal:
    """A decimal-string quantity such as ``"3"`` or ``"1.5"`` (at most 5 decimals)."""
    if value.__class__ is str and value.isdigit() and value[0] != "0" and len(value) < 12:
        return Decimal(int(value))
    if not isinstance(value, str):
        raise bad_request("EXPECTED_STRING", f"Expected a string value for `{field}`", field)
    try:
        quantity = Decimal(value)
    except InvalidOperation:
        raise bad_request("INVALID_VALUE", f"`{field}` is not a decimal number", field) from None
    exponent = quantity.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -5 or len(value) > 26:
        raise bad_request("INVALID_VALUE", f"`{field}` is not a valid quantity", field)
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise bad_request("VALUE_TOO_LOW", f"`{field}` must be greater than 0", field)
    return quantity


def format_quantity(quantity: Decimal) -> str:
    """``Decimal("3.000")`` -> ``"3"``; ``Decimal("1.50")`` -> ``"1.5"``."""
    if quantity.as_integer_ratio()[1] == 1:
        return str(int(quantity))
    return format(quantity.normalize(), "f")


def times_quantity(amount: int, quantity: Decimal) -> int:
    """``amount × quantity`` rounded half up to minor units (the quantity is usually integral)."""
    numerator, denominator = quantity.as_integer_ratio()
    if denominator == 1:
        return amount * numerator
    return int((amount * quantity).quantize(_ONE, rounding=ROUND_HALF_UP))


def _table(alphabet: str) -> bytes:
    """A ``bytes.translate`` table mapping every byte value onto ``alphabet``."""
    return bytes(ord(alphabet[value % len(alphabet)]) for value in range(256))


_CROCKFORD_TABLE = _table(_CROCKFORD)
_BASE32_TABLE = _table(_BASE32)
_BASE62_TABLE = _table(_BASE62)


class IdFactory:
    """Square-style ids drawn from one seeded RNG (deterministic per seed and call order)."""

    def __init__(self, seed: int) -> None:
        self._randbytes = random.Random(seed).randbytes

    def _draw(self, table: bytes, length: int) -> str:
        return self._randbytes(length).translate(table).decode("ascii")

    def customer(self) -> str:
        """26 characters, e.g. ``JDKYHBWT1D4F8MFH63DBMEN8Y4``."""
        return self._draw(_CROCKFORD_TABLE, 26)

    def location(self) -> str:
        """13 characters, e.g. ``18YC4JDH91E1H`` (also merchant ids)."""
        return self._draw(_CROCKFORD_TABLE, 13)

    def order(self) -> str:
        """27 to 29 base62 characters, e.g. ``CAISENgvlJ6jLWAzERDzjyHVybY``."""
        body = self._draw(_BASE62_TABLE, 29)
        return body[: 27 + ord(body[-1]) % 3]

    def catalog(self) -> str:
        """24 characters, e.g. ``W62UWFY35CWMYGVWK6TWJDNI`` (also inventory change ids)."""
        return self._draw(_BASE32_TABLE, 24)

    def uid(self) -> str:
        """22 base62 characters, e.g. ``8uSwfzvUImn3IRrvciqlXC`` (line items, fulfillments)."""
        return self._draw(_BASE62_TABLE, 22)
