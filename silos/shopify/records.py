"""Pure helpers building pieces of Shopify REST records: timestamps, money, gids, addresses.

Shopify money is a decimal string (``"19.99"``) beside a ``*_set`` object holding the amount in the
shop and presentment currencies; the emulated shop sells in one currency, so both are equal.
Timestamps are ISO 8601 in the shop's time zone with its offset (``2025-07-02T11:25:58-05:00``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from phonenumbers import geocoder

Record = dict[str, Any]


def format_time(moment: datetime, tz: ZoneInfo) -> str:
    """``2025-07-02T11:25:58-05:00``: the moment in the shop's time zone, whole seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).isoformat(timespec="seconds")


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    """Parse a filter timestamp; a value without offset is read in the shop's time zone."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def to_cents(value: object) -> int:
    """``"19.99"`` / ``19.99`` / ``19`` -> ``1999``; ``ValueError`` when not a money amount."""
    if isinstance(value, bool):
        raise ValueError("not a money amount")
    if isinstance(value, int):
        return value * 100
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a money amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a money amount: {value!r}")
    return int((amount * 100).to_integral_value())


def money(cents: int) -> str:
    """``1999`` -> ``"19.99"``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


class MoneySets:
    """Builds (and shares) ``{"shop_money": ..., "presentment_money": ...}`` objects.

    Records never mutate a money set in place (they replace it), so equal amounts share one object
    (and one amount string): this keeps a store of 300,000 orders small.
    """

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self._cache: dict[int, tuple[str, Record]] = {}

    def pair(self, cents: int) -> tuple[str, Record]:
        """(``"19.99"``, its money set), both shared."""
        found = self._cache.get(cents)
        if found is None:
            text = money(cents)
            amount = {"amount": text, "currency_code": self.currency}
            found = (text, {"shop_money": amount, "presentment_money": amount})
            self._cache[cents] = found
        return found

    def __call__(self, cents: int) -> Record:
        return self.pair(cents)[1]

    def text(self, cents: int) -> str:
        """The amount string (shared with the cached money set)."""
        return self.pair(cents)[0]


def gid(kind: str, record_id: int) -> str:
    """``gid://shopify/Customer/207119551``."""
    return f"gid://shopify/{kind}/{record_id}"


@cache
def country_name(country_code: str | None) -> str | None:
    """English country name for an ISO 3166 alpha-2 code (``"CA"`` -> ``"Canada"``)."""
    if not country_code:
        return None
    code = country_code.upper()
    return geocoder._region_display_name(code, "en") or code


def full_name(first: object, last: object) -> str:
    return " ".join(str(part) for part in (first, last) if part)


def customer_address(body: Record, *, address_id: int, customer_id: int, default: bool) -> Record:
    """A customer address (``customers[].addresses[]``) from the POST body's address."""
    code = body.get("country_code")
    code = code.upper() if isinstance(code, str) and code else None
    name = country_name(code)
    first, last = body.get("first_name"), body.get("last_name")
    return {
        "id": address_id,
        "customer_id": customer_id,
        "first_name": first,
        "last_name": last,
        "company": body.get("company"),
        "address1": body.get("address1"),
        "address2": body.get("address2"),
        "city": body.get("city"),
        "province": body.get("province"),
        "country": body.get("country") or name,
        "zip": body.get("zip"),
        "phone": body.get("phone"),
        "name": full_name(first, last),
        "province_code": body.get("province_code"),
        "country_code": code,
        "country_name": name,
        "default": default,
    }


def order_address(body: Record | None) -> Record | None:
    """An order's ``shipping_address`` / ``billing_address`` from the POST body's address."""
    if not body:
        return None
    code = body.get("country_code")
    code = code.upper() if isinstance(code, str) and code else None
    first, last = body.get("first_name"), body.get("last_name")
    return {
        "first_name": first,
        "address1": body.get("address1"),
        "phone": body.get("phone"),
        "city": body.get("city"),
        "zip": body.get("zip"),
        "province": body.get("province"),
        "country": body.get("country") or country_name(code),
        "last_name": last,
        "address2": body.get("address2"),
        "company": body.get("company"),
        "latitude": body.get("latitude"),
        "longitude": body.get("longitude"),
        "name": body.get("name") or full_name(first, last),
        "country_code": code,
        "province_code": body.get("province_code"),
    }


def pickup_carrier_identifier(location_id: int) -> str:
    """The opaque ``carrier_identifier`` of a location's local-pickup rate (stable per location)."""
    return hashlib.md5(f"local_pickup:{location_id}".encode(), usedforsecurity=False).hexdigest()


def pickup_shipping_line(location: Record) -> Record:
    """The shipping line of an order placed with Shopify's native local pickup at ``location``.

    Shopify's checkout records a pickup as an ordinary shipping line whose ``source`` is
    ``"shopify"``, whose ``code`` and ``title`` are the pickup location's name, priced ``0.00``
    (pickup is free unless the merchant set a fee), with an opaque, non-null ``carrier_identifier``
    for the pickup rate. REST has no pickup flag on the order; a consumer recognises pickup by the
    line naming a store location, and, once collected, by the fulfillment's ``location_id``.

    Returned in ``POST orders.json`` body form (pass it in ``order.shipping_lines``); the stored
    order carries the full REST shipping line (``id``, ``price_set``, ``discounted_price`` ...).
    """
    name = location["name"]
    return {
        "title": name,
        "code": name,
        "source": "shopify",
        "price": "0.00",
        "carrier_identifier": pickup_carrier_identifier(int(location["id"])),
        "phone": None,
    }


def tag_string(tags: object) -> str:
    """Shopify's normalised ``tags``: comma separated, trimmed, de-duplicated, sorted."""
    if not tags:
        return ""
    if isinstance(tags, str):
        parts = tags.split(",")
    elif isinstance(tags, list | tuple):
        parts = [str(tag) for tag in tags]
    else:
        raise ValueError("tags must be a string or a list of strings")
    seen: dict[str, str] = {}
    for part in parts:
        tag = part.strip()
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return ", ".join(sorted(seen.values(), key=str.lower))
