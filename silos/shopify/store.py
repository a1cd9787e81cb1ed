"""In-memory Shopify shop: records in the Admin REST API's JSON shape, plus indexes.

Every ``create_*`` method takes the body the real API accepts (``{"customer": {...}}``,
``{"order": {...}}`` ...) and a keyword-only ``at`` (creation time, default now), and returns the
record exactly as ``GET`` answers it. The HTTP handlers and the data generator both go through these
methods. Records share immutable sub-objects (money sets, empty lists, the customer summary embedded
in orders): treat returned records as read-only.

Ids come from per-kind counters advanced by a seeded RNG, so a given seed and call sequence always
produce the same shop.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from . import carts
from . import fulfillment_orders as fo
from .errors import ShopifyNotFoundError, ShopifyValidationError, missing_root
from .records import (
    MoneySets,
    Record,
    country_name,
    customer_address,
    format_time,
    gid,
    money,
    order_address,
    tag_string,
    to_cents,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_RE = re.compile(r"[^a-z0-9]+")
FINANCIAL_STATUSES = frozenset(
    {"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided"}
)
RESTOCK_TYPES = frozenset({"no_restock", "cancel", "return", "legacy_restock"})
RESTOCKING = frozenset({"cancel", "return", "legacy_restock"})
CANCEL_REASONS = frozenset({"customer", "declined", "fraud", "inventory", "other", "staff"})
INVENTORY_BEHAVIOURS = frozenset(
    {"bypass", "decrement_ignoring_policy", "decrement_obeying_policy"})
MAX_TAG_LENGTH = 40
"""Shopify limits each order tag to 40 characters (documented for orders)."""
FULFILLMENT_ORDER_BASE = 1_046_000_000_000
"""First fulfillment order id; they are numbered without the seeded RNG, so materialising them
on first use never shifts the ids of other records."""
# Shopify's own sales-channel app ids for the common source names.
CHANNEL_APP_IDS = {"web": 580111, "pos": 129785, "shopify_draft_order": 1354745}

_EMPTY: list[Any] = []
_NO_CLIENT = {
    "accept_language": None,
    "browser_height": None,
    "browser_ip": None,
    "browser_width": None,
    "session_hash": None,
    "user_agent": None,
}
_EMPTY_OBJECT: dict[str, Any] = {}

# First id of each kind; every new id adds a seeded random step (ids grow with creation order).
ID_BASES = {
    "customer": 7_100_000_000_000,
    "address": 8_300_000_000_000,
    "order": 5_600_000_000_000,
    "checkout": 30_100_000_000_000,
    "draft_order": 1_060_000_000_000,
    "draft_line_item": 1_066_000_000_000,
    "line_item": 14_200_000_000_000,
    "shipping_line": 4_300_000_000_000,
    "fulfillment": 4_900_000_000_000,
    "refund": 900_000_000_000,
    "refund_line_item": 500_000_000_000,
    "transaction": 6_700_000_000_000,
    "order_adjustment": 250_000_000_000,
    "product": 8_900_000_000_000,
    "variant": 44_300_000_000_000,
    "option": 10_200_000_000_000,
    "inventory_item": 46_100_000_000_000,
    "location": 61_000_000_000,
}


def _root(body: object, key: str) -> Record:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise missing_root(key)
    data: Record = body[key]
    return data


def _int(value: object, field: str) -> int:
    if isinstance(value, bool):
        raise ShopifyValidationError({field: ["is invalid"]})
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError) as exc:
        raise ShopifyValidationError({field: ["is invalid"]}) from exc


def _share(total: int, part: int, whole: int) -> int:
    """``total * part / whole`` rounded half up, in integer cents."""
    if whole == 0:
        return 0
    return (2 * total * part + whole) // (2 * whole)


def _rate_cents(base: int, rate_ppm: int) -> int:
    """``base`` cents times a rate given in millionths, rounded half up."""
    return (2 * base * rate_ppm + 1_000_000) // 2_000_000


class ShopifyStore:
    """The emulated shop's data: customers, orders, products, locations, inventory levels,
    abandoned checkouts and draft orders.

    Indexes kept current by every write: ids (ascending, by kind), customers by lower-cased e-mail
    and by E.164 phone, a name/e-mail token index for search, orders by customer, variants by id,
    SKU and inventory item, inventory levels by (item, location).
    """

    def __init__(
        self,
        seed: int = 0,
        currency: str = "USD",
        *,
        timezone: str = "America/New_York",
        shop_domain: str = "c360-sandbox.myshopify.com",
    ) -> None:
        self.rng = random.Random(seed)
        self.currency = currency
        self.tz = ZoneInfo(timezone)
        self.shop_domain = shop_domain
        self.money_set = MoneySets(currency)
        self._zero = self.money_set(0)
        self._next_ids = dict(ID_BASES)
        self.shop_id = 48_000_000_000 + self.rng.randrange(1_000_000_000)
        self._business_entity = base64.b64encode(str(self.shop_id).encode()).decode().rstrip("=")

        self.customers: dict[int, Record] = {}
        self.customer_ids: list[int] = []
        self.customer_created_at: dict[int, float] = {}
        self.customer_updated_at: dict[int, float] = {}
        self._customer_summaries: dict[int, Record] = {}
        self._by_email: dict[str, int] = {}
        self._by_phone: dict[str, int] = {}
        self._search_tokens: dict[str, list[int]] = {}
        self._spent: dict[int, int] = {}
        self._last_order_at: dict[int, float] = {}

        self.orders: dict[int, Record] = {}
        self.order_ids: list[int] = []
        self.order_created_at: dict[int, float] = {}
        self.order_updated_at: dict[int, float] = {}
        self.order_processed_at: dict[int, float] = {}
        self.orders_by_customer: dict[int, list[int]] = {}
        self._order_number = 0
        self._sale_transaction: dict[int, tuple[int, str]] = {}
        self._orders_by_tag: dict[str, list[int]] = {}
        self._claims: dict[int, tuple[int, int, int]] = {}
        """Line item id -> (inventory item, location, units) the order claimed at creation."""
        self.fulfillment_orders: dict[int, Record] = {}
        """Fulfillment order id -> its state (see :mod:`.fulfillment_orders`)."""
        self._fulfillment_orders_of: dict[int, list[int]] = {}
        self._next_fulfillment_id = FULFILLMENT_ORDER_BASE

        self.checkouts: dict[int, Record] = {}
        self.checkout_ids: list[int] = []
        self.checkout_created_at: dict[int, float] = {}
        self.checkout_updated_at: dict[int, float] = {}
        self._checkout_customer: dict[int, int] = {}
        self.draft_orders: dict[int, Record] = {}
        self.draft_order_ids: list[int] = []
        self.draft_order_updated_at: dict[int, float] = {}
        self._draft_customer: dict[int, int] = {}
        self._draft_number = 0

        self.products: dict[int, Record] = {}
        self.product_ids: list[int] = []
        self.product_created_at: dict[int, float] = {}
        self.product_updated_at: dict[int, float] = {}
        self.variants: dict[int, Record] = {}
        self._variants_by_sku: dict[str, int] = {}
        self._variants_by_item: dict[int, int] = {}
        self._line_templates: dict[int, Record] = {}
        self._variant_cents: dict[int, int] = {}
        self._tax_line_lists: dict[tuple[tuple[str, float, int], ...], list[Record]] = {}
        self._gateway_lists: dict[str, list[str]] = {}
        self._handles: set[str] = set()

        self.locations: dict[int, Record] = {}
        self._inventory: dict[tuple[int, int], Record] = {}
        self._inventory_seq: dict[tuple[int, int], int] = {}
        self._inventory_by_item: dict[int, list[tuple[int, int]]] = {}
        self._inventory_by_location: dict[int, list[tuple[int, int]]] = {}
        self._item_totals: dict[int, int] = {}

    # ----------------------------------------------------------------- helpers

    def _new_id(self, kind: str) -> int:
        value = self._next_ids[kind] + 1 + self.rng.getrandbits(6)
        self._next_ids[kind] = value
        return value

    def _token(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def _confirmation_number(self) -> str:
        """Nine upper-case letters/digits, like Shopify's order confirmation numbers."""
        return base64.b32encode(self.rng.getrandbits(45).to_bytes(6, "big")).decode()[:9]

    def _moment(self, at: datetime | None) -> tuple[str, float]:
        moment = datetime.now(UTC) if at is None else at
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return format_time(moment, self.tz), moment.timestamp()

    def _region(self, data: Record) -> str:
        for address in data.get("addresses") or ():
            if isinstance(address, dict) and address.get("country_code"):
                return str(address["country_code"]).upper()
        return "US"

    @staticmethod
    def e164(phone: str, region: str = "US") -> str | None:
        """``phone`` in E.164 (``+16136120707``), or ``None`` when it is not a valid number."""
        try:
            number = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    # ---------------------------------------------------------------- locations

    def create_location(self, body: Record, *, at: datetime | None = None) -> Record:
        """Seed a location (REST has no POST for locations); returns the REST location."""
        data = _root(body, "location")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ShopifyValidationError({"name": ["can't be blank"]})
        stamp, _ = self._moment(at)
        location_id = self._new_id("location")
        code = data.get("country_code")
        code = code.upper() if isinstance(code, str) and code else None
        record: Record = {
            "id": location_id,
            "name": name,
            "address1": data.get("address1"),
            "address2": data.get("address2"),
            "city": data.get("city"),
            "zip": data.get("zip"),
            "province": data.get("province"),
            "country": code,
            "phone": data.get("phone"),
            "created_at": stamp,
            "updated_at": stamp,
            "country_code": code,
            "country_name": country_name(code),
            "province_code": data.get("province_code"),
            "legacy": bool(data.get("legacy", False)),
            "active": bool(data.get("active", True)),
            "admin_graphql_api_id": gid("Location", location_id),
            "localized_country_name": country_name(code),
            "localized_province_name": data.get("province"),
        }
        self.locations[location_id] = record
        return record

    def location_list(self) -> list[Record]:
        """All locations, by name (as ``GET locations.json`` lists them)."""
        return sorted(
            self.locations.values(), key=lambda loc: (str(loc["name"]).lower(), loc["id"])
        )

    # ----------------------------------------------------------------- products

    def _handle(self, wanted: str) -> str:
        base = SLUG_RE.sub("-", wanted.lower()).strip("-") or "product"
        handle, n = base, 0
        while handle in self._handles:
            n += 1
            handle = f"{base}-{n}"
        self._handles.add(handle)
        return handle

    def create_product(self, body: Record, *, at: datetime | None = None) -> Record:
        """``POST products.json`` body -> product with variants, options and inventory item ids."""
        data = _root(body, "product")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ShopifyValidationError({"title": ["can't be blank"]})
        variant_bodies = data.get("variants") or [{}]
        if not isinstance(variant_bodies, list) or not all(
            isinstance(v, dict) for v in variant_bodies
        ):
            raise ShopifyValidationError({"variants": ["is invalid"]})
        prices: list[int] = []
        for priced in variant_bodies:
            try:
                prices.append(to_cents(priced.get("price", "0.00")))
            except ValueError as exc:
                raise ShopifyValidationError({"variants.price": ["is invalid"]}) from exc
        stamp, moment = self._moment(at)
        product_id = self._new_id("product")
        vendor = data.get("vendor")
        status = data.get("status", "active")
        option_names = [
            str(option.get("name"))
            for option in data.get("options") or ()
            if isinstance(option, dict) and option.get("name")
        ][:3] or ["Title"]
        variants: list[Record] = []
        option_values: list[list[str]] = [[] for _ in option_names]
        default_only = len(variant_bodies) == 1 and not variant_bodies[0].get("option1")
        for position, (vbody, cents) in enumerate(zip(variant_bodies, prices, strict=True), 1):
            options: list[str | None] = [vbody.get(f"option{i}") for i in range(1, 4)]
            if default_only:
                options[0] = "Default Title"
            elif options[0] is None:
                options[0] = vbody.get("title") or f"Variant {position}"
            for index, values in enumerate(option_values):
                value = options[index]
                if value is not None and value not in values:
                    values.append(str(value))
            variant_title = vbody.get("title") or " / ".join(str(o) for o in options if o)
            variant_id = self._new_id("variant")
            item_id = self._new_id("inventory_item")
            grams = int(vbody.get("grams", 0) or 0)
            price = money(cents)
            compare = vbody.get("compare_at_price")
            sku = vbody.get("sku")
            variant: Record = {
                "id": variant_id,
                "product_id": product_id,
                "title": variant_title,
                "price": price,
                "position": position,
                "inventory_policy": vbody.get("inventory_policy", "deny"),
                "compare_at_price": compare,
                "option1": options[0],
                "option2": options[1],
                "option3": options[2],
                "created_at": stamp,
                "updated_at": stamp,
                "taxable": bool(vbody.get("taxable", True)),
                "barcode": vbody.get("barcode"),
                "fulfillment_service": "manual",
                "grams": grams,
                "inventory_management": "shopify",
                "requires_shipping": bool(vbody.get("requires_shipping", True)),
                "sku": sku,
                "weight": round(grams / 1000, 3),
                "weight_unit": "kg",
                "inventory_item_id": item_id,
                "inventory_quantity": 0,
                "old_inventory_quantity": 0,
                "presentment_prices": [
                    {
                        "price": {"amount": price, "currency_code": self.currency},
                        "compare_at_price": (
                            {"amount": compare, "currency_code": self.currency}
                            if compare is not None
                            else None
                        ),
                    }
                ],
                "admin_graphql_api_id": gid("ProductVariant", variant_id),
                "image_id": None,
            }
            variants.append(variant)
            self.variants[variant_id] = variant
            self._variants_by_item[item_id] = variant_id
            if isinstance(sku, str) and sku:
                self._variants_by_sku.setdefault(sku, variant_id)
            self._variant_cents[variant_id] = cents
            self._line_templates[variant_id] = {
                "id": 0,
                "admin_graphql_api_id": "",
                "attributed_staffs": _EMPTY,
                "current_quantity": 0,
                "fulfillable_quantity": 0,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "gift_card": False,
                "grams": grams,
                "name": title if default_only else f"{title} - {variant_title}",
                "price": price,
                "price_set": self.money_set(cents),
                "product_exists": True,
                "product_id": product_id,
                "properties": _EMPTY,
                "quantity": 0,
                "requires_shipping": variant["requires_shipping"],
                "sku": sku,
                "taxable": variant["taxable"],
                "title": title,
                "total_discount": "0.00",
                "total_discount_set": self._zero,
                "variant_id": variant_id,
                "variant_inventory_management": "shopify",
                "variant_title": None if default_only else variant_title,
                "vendor": vendor,
                "tax_lines": _EMPTY,
                "duties": _EMPTY,
                "discount_allocations": _EMPTY,
            }
        product: Record = {
            "id": product_id,
            "title": title,
            "body_html": data.get("body_html"),
            "vendor": vendor,
            "product_type": data.get("product_type", ""),
            "created_at": stamp,
            "handle": self._handle(str(data.get("handle") or title)),
            "updated_at": stamp,
            "published_at": stamp if status == "active" else None,
            "template_suffix": None,
            "published_scope": "web",
            "tags": tag_string(data.get("tags")),
            "status": status,
            "admin_graphql_api_id": gid("Product", product_id),
            "variants": variants,
            "options": [
                {
                    "id": self._new_id("option"),
                    "product_id": product_id,
                    "name": name,
                    "position": index + 1,
                    "values": option_values[index],
                }
                for index, name in enumerate(option_names)
            ],
            "images": [],
            "image": None,
        }
        self.products[product_id] = product
        self.product_ids.append(product_id)
        self.product_created_at[product_id] = moment
        self.product_updated_at[product_id] = moment
        return product

    def variant(self, variant_id: int) -> Record | None:
        return self.variants.get(variant_id)

    def variant_by_sku(self, sku: str) -> Record | None:
        """The (first) variant carrying ``sku``."""
        variant_id = self._variants_by_sku.get(sku)
        return None if variant_id is None else self.variants[variant_id]

    def variant_by_inventory_item(self, inventory_item_id: int) -> Record | None:
        variant_id = self._variants_by_item.get(inventory_item_id)
        return None if variant_id is None else self.variants[variant_id]

    # ---------------------------------------------------------------- inventory

    def set_inventory_level(self, body: Record, *, at: datetime | None = None) -> Record:
        """Mirror of ``POST inventory_levels/set.json``: set ``available`` at a location."""
        if not isinstance(body, dict):
            raise missing_root("inventory_item_id")
        location_id = _int(body.get("location_id"), "location_id")
        item_id = _int(body.get("inventory_item_id"), "inventory_item_id")
        available = _int(body.get("available"), "available")
        if location_id not in self.locations:
            raise ShopifyValidationError({"location_id": ["is invalid"]})
        variant_id = self._variants_by_item.get(item_id)
        if variant_id is None:
            raise ShopifyValidationError({"inventory_item_id": ["is invalid"]})
        stamp, _ = self._moment(at)
        key = (item_id, location_id)
        level = self._inventory.get(key)
        if level is None:
            level = {
                "inventory_item_id": item_id,
                "location_id": location_id,
                "available": available,
                "updated_at": stamp,
                "admin_graphql_api_id": gid("InventoryLevel", location_id)
                + f"?inventory_item_id={item_id}",
            }
            self._inventory[key] = level
            self._inventory_seq[key] = len(self._inventory_seq)
            self._inventory_by_item.setdefault(item_id, []).append(key)
            self._inventory_by_location.setdefault(location_id, []).append(key)
            delta = available
        else:
            delta = available - int(level["available"])
            level["available"] = available
            level["updated_at"] = stamp
        self._adjust_item_total(item_id, delta)
        return level

    def connect_inventory_level(self, body: Record, *, at: datetime | None = None
                                ) -> tuple[Record, bool]:
        """Mirror of ``POST inventory_levels/connect.json``: the item stocked at the location
        (``available`` 0); (the level, whether it is new). An item already stocked there is
        answered with its level (unverified: Shopify may answer 422)."""
        if not isinstance(body, dict):
            raise missing_root("inventory_item_id")
        location_id = _int(body.get("location_id"), "location_id")
        item_id = _int(body.get("inventory_item_id"), "inventory_item_id")
        existing = self._inventory.get((item_id, location_id))
        if existing is not None:
            return existing, False
        level = self.set_inventory_level(
            {"location_id": location_id, "inventory_item_id": item_id, "available": 0}, at=at)
        return level, True

    def _adjust_item_total(self, item_id: int, delta: int) -> None:
        total = self._item_totals.get(item_id, 0) + delta
        self._item_totals[item_id] = total
        variant = self.variants[self._variants_by_item[item_id]]
        variant["inventory_quantity"] = total
        variant["old_inventory_quantity"] = total

    def inventory_levels(
        self, item_ids: Iterable[int] | None, location_ids: Iterable[int] | None
    ) -> tuple[list[int], dict[int, Record]]:
        """Levels of the given items and/or locations: (ascending seq numbers, seq -> level)."""
        locations = None if location_ids is None else set(location_ids)
        keys: list[tuple[int, int]] = []
        if item_ids is not None:
            for item_id in dict.fromkeys(item_ids):
                for key in self._inventory_by_item.get(item_id, ()):
                    if locations is None or key[1] in locations:
                        keys.append(key)
        elif locations is not None:
            for location_id in locations:
                keys.extend(self._inventory_by_location.get(location_id, ()))
        by_seq = {self._inventory_seq[key]: self._inventory[key] for key in keys}
        return sorted(by_seq), by_seq

    def inventory_level(self, inventory_item_id: int, location_id: int) -> Record | None:
        return self._inventory.get((inventory_item_id, location_id))

    # ---------------------------------------------------------------- customers

    def create_customer(self, body: Record, *, at: datetime | None = None) -> Record:
        """``POST customers.json`` body -> customer; e-mail and phone are unique, phone in E.164.

        Raises :class:`ShopifyValidationError` (``email``/``phone``: ``is invalid`` or ``has
        already been taken``) like Shopify's 422.
        """
        data = _root(body, "customer")
        errors: dict[str, list[str]] = {}
        email = data.get("email")
        if email is not None:
            email = str(email).strip() or None
        if email is not None:
            if not EMAIL_RE.match(email):
                errors["email"] = ["is invalid"]
            elif email.lower() in self._by_email:
                errors["email"] = ["has already been taken"]
        phone = data.get("phone")
        e164: str | None = None
        if phone is not None and str(phone).strip():
            e164 = self.e164(str(phone), self._region(data))
            if e164 is None:
                errors["phone"] = ["is invalid"]
            elif e164 in self._by_phone:
                errors["phone"] = ["has already been taken"]
        address_bodies = data.get("addresses") or []
        if not isinstance(address_bodies, list) or not all(
            isinstance(a, dict) for a in address_bodies
        ):
            errors["addresses"] = ["is invalid"]
        try:
            tags = tag_string(data.get("tags"))
        except ValueError:
            errors["tags"] = ["is invalid"]
        if errors:
            raise ShopifyValidationError(errors)

        stamp, moment = self._moment(at)
        customer_id = self._new_id("customer")
        default_index = next((i for i, a in enumerate(address_bodies) if a.get("default")), 0)
        addresses = [
            customer_address(
                a,
                address_id=self._new_id("address"),
                customer_id=customer_id,
                default=i == default_index,
            )
            for i, a in enumerate(address_bodies)
        ]
        email_consent = data.get("email_marketing_consent")
        if isinstance(email_consent, dict):
            email_consent = {
                "state": email_consent.get("state", "not_subscribed"),
                "opt_in_level": email_consent.get("opt_in_level", "single_opt_in"),
                "consent_updated_at": email_consent.get("consent_updated_at")
                or (stamp if email_consent.get("state") == "subscribed" else None),
            }
        elif data.get("accepts_marketing") is True:
            email_consent = {
                "state": "subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": stamp,
            }
        else:
            email_consent = {
                "state": "not_subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": None,
            }
        sms_consent: Record | None = None
        if e164 is not None:
            given = data.get("sms_marketing_consent")
            given = given if isinstance(given, dict) else {}
            sms_consent = {
                "state": given.get("state", "not_subscribed"),
                "opt_in_level": given.get("opt_in_level", "single_opt_in"),
                "consent_updated_at": given.get("consent_updated_at"),
                "consent_collected_from": given.get("consent_collected_from", "OTHER"),
            }
        customer: Record = {
            "id": customer_id,
            "email": email,
            "created_at": stamp,
            "updated_at": stamp,
            "first_name": data.get("first_name"),
            "last_name": data.get("last_name"),
            "orders_count": 0,
            "state": "disabled",
            "total_spent": "0.00",
            "last_order_id": None,
            "note": data.get("note"),
            "verified_email": bool(data.get("verified_email", True)),
            "multipass_identifier": data.get("multipass_identifier"),
            "tax_exempt": bool(data.get("tax_exempt", False)),
            "tags": tags,
            "last_order_name": None,
            "currency": self.currency,
            "phone": e164,
            "addresses": addresses,
            "tax_exemptions": [],
            "email_marketing_consent": email_consent,
            "sms_marketing_consent": sms_consent,
            "admin_graphql_api_id": gid("Customer", customer_id),
        }
        summary: Record = {
            key: customer[key]
            for key in (
                "id",
                "email",
                "created_at",
                "updated_at",
                "first_name",
                "last_name",
                "state",
                "note",
                "verified_email",
                "multipass_identifier",
                "tax_exempt",
                "phone",
                "email_marketing_consent",
                "sms_marketing_consent",
                "tags",
                "currency",
                "tax_exemptions",
                "admin_graphql_api_id",
            )
        }
        if addresses:
            default_address = addresses[default_index]
            customer["default_address"] = default_address
            summary["default_address"] = default_address

        self.customers[customer_id] = customer
        self.customer_ids.append(customer_id)
        self.customer_created_at[customer_id] = moment
        self.customer_updated_at[customer_id] = moment
        self._customer_summaries[customer_id] = summary
        if email is not None:
            self._by_email[email.lower()] = customer_id
        if e164 is not None:
            self._by_phone[e164] = customer_id
        self._index_tokens(customer_id, customer)
        return customer

    def _index_tokens(self, customer_id: int, customer: Record) -> None:
        tokens: set[str] = set()
        for key in ("first_name", "last_name"):
            value = customer.get(key)
            if isinstance(value, str):
                tokens.update(value.lower().split())
        email = customer.get("email")
        if isinstance(email, str):
            lowered = email.lower()
            tokens.add(lowered)
            tokens.add(lowered.split("@", 1)[0])
        for token in tokens:
            self._search_tokens.setdefault(token, []).append(customer_id)

    def customer(self, customer_id: int) -> Record | None:
        return self.customers.get(customer_id)

    def customer_by_email(self, email: str) -> Record | None:
        customer_id = self._by_email.get(email.strip().lower())
        return None if customer_id is None else self.customers[customer_id]

    def customer_by_phone(self, phone: str, region: str = "US") -> Record | None:
        e164 = self.e164(phone, region)
        customer_id = None if e164 is None else self._by_phone.get(e164)
        return None if customer_id is None else self.customers[customer_id]

    def search_customer_ids(self, terms: list[tuple[str | None, str]]) -> list[int]:
        """Ids (ascending) of customers matching every ``(field, value)`` term.

        Fields: ``email`` (exact, case-insensitive), ``phone`` (same number in any format),
        ``first_name``/``last_name``/``None`` (a whole word of the name, the e-mail address or its
        local part, case-insensitive).
        """
        result: list[int] | None = None
        for field, value in terms:
            value = value.strip()
            if field == "email":
                found = self._by_email.get(value.lower())
                ids = [] if found is None else [found]
            elif field == "phone":
                e164 = self.e164(value)
                found = None if e164 is None else self._by_phone.get(e164)
                ids = [] if found is None else [found]
            elif field == "id":
                try:
                    ids = [int(value)] if int(value) in self.customers else []
                except ValueError:
                    ids = []
            elif field in (None, "first_name", "last_name"):
                ids = self._search_tokens.get(value.lower(), [])
                if field is not None:
                    ids = [
                        i
                        for i in ids
                        if str(self.customers[i].get(field) or "")
                        .lower()
                        .split()
                        .count(value.lower())
                    ]
            else:
                ids = []
            if result is None:
                result = list(ids)
            else:
                keep = set(ids)
                result = [i for i in result if i in keep]
            if not result:
                return []
        return sorted(result or [])

    def _touch_customer(self, customer_id: int, stamp: str, moment: float) -> None:
        if moment >= self.customer_updated_at[customer_id]:
            self.customer_updated_at[customer_id] = moment
            self.customers[customer_id]["updated_at"] = stamp
            self._customer_summaries[customer_id]["updated_at"] = stamp

    # ------------------------------------------------------------------- orders

    def _order(self, order_id: int) -> Record:
        order = self.orders.get(order_id)
        if order is None:
            raise ShopifyNotFoundError(order_id)
        return order

    def order(self, order_id: int) -> Record | None:
        return self.orders.get(order_id)

    def _order_customer(self, data: Record, at: datetime | None) -> Record | None:
        given = data.get("customer")
        if given is None and data.get("customer_id") is not None:
            given = {"id": data["customer_id"]}
        if given is None:
            return None
        if not isinstance(given, dict):
            raise ShopifyValidationError({"customer": ["is invalid"]})
        if given.get("id") is not None:
            customer = self.customers.get(_int(given["id"], "customer"))
            if customer is None:
                raise ShopifyValidationError({"customer": ["is invalid"]})
            return customer
        email = given.get("email") or data.get("email")
        if isinstance(email, str) and email.strip():
            existing = self.customer_by_email(email)
            if existing is not None:
                return existing
        return self.create_customer({"customer": {**given, "email": email}}, at=at)

    def _line_item(self, body: Record) -> tuple[Record, int, int]:
        """(line item, unit price cents, quantity) for one ``order.line_items[]`` entry."""
        quantity = body.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            quantity = _int(quantity, "line_items.quantity")
        if quantity < 1:
            raise ShopifyValidationError({"line_items.quantity": ["must be greater than 0"]})
        variant_id = body.get("variant_id")
        if variant_id is not None:
            if not isinstance(variant_id, int):
                variant_id = _int(variant_id, "line_items.variant_id")
            template = self._line_templates.get(variant_id)
            if template is None:
                raise ShopifyValidationError({"line_items.variant_id": ["is invalid"]})
            line = template.copy()
            cents = self._variant_cents[variant_id]
        else:
            title = body.get("title")
            if not isinstance(title, str) or not title:
                raise ShopifyValidationError({"line_items.title": ["can't be blank"]})
            line = {
                "id": 0,
                "admin_graphql_api_id": "",
                "attributed_staffs": _EMPTY,
                "current_quantity": 0,
                "fulfillable_quantity": 0,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "gift_card": bool(body.get("gift_card", False)),
                "grams": int(body.get("grams", 0) or 0),
                "name": title,
                "price": "0.00",
                "price_set": self._zero,
                "product_exists": False,
                "product_id": None,
                "properties": _EMPTY,
                "quantity": 0,
                "requires_shipping": bool(body.get("requires_shipping", True)),
                "sku": body.get("sku"),
                "taxable": bool(body.get("taxable", True)),
                "title": title,
                "total_discount": "0.00",
                "total_discount_set": self._zero,
                "variant_id": None,
                "variant_inventory_management": None,
                "variant_title": None,
                "vendor": body.get("vendor"),
                "tax_lines": _EMPTY,
                "duties": _EMPTY,
                "discount_allocations": _EMPTY,
            }
            cents = 0
        if body.get("price") is not None:
            try:
                cents = to_cents(body["price"])
            except ValueError as exc:
                raise ShopifyValidationError({"line_items.price": ["is invalid"]}) from exc
            line["price"] = self.money_set.text(cents)
            line["price_set"] = self.money_set(cents)
        line_id = self._new_id("line_item")
        line["id"] = line_id
        line["admin_graphql_api_id"] = gid("LineItem", line_id)
        line["current_quantity"] = quantity
        line["fulfillable_quantity"] = quantity
        line["quantity"] = quantity
        properties = body.get("properties")
        if isinstance(properties, list) and properties:
            line["properties"] = properties
        return line, cents, quantity

    def _line_tax_lines(self, key: tuple[tuple[str, float, int], ...]) -> list[Record]:
        """A line's ``tax_lines``; equal ones are shared between lines (read-only)."""
        found = self._tax_line_lists.get(key)
        if found is None:
            found = [
                {
                    "channel_liable": None,
                    "price": self.money_set.text(amount),
                    "price_set": self.money_set(amount),
                    "rate": rate,
                    "title": title,
                }
                for title, rate, amount in key
            ]
            self._tax_line_lists[key] = found
        return found

    def _shipping_line(self, body: Record) -> tuple[Record, int]:
        try:
            cents = to_cents(body.get("price", "0.00"))
        except ValueError as exc:
            raise ShopifyValidationError({"shipping_lines.price": ["is invalid"]}) from exc
        title = body.get("title")
        if not isinstance(title, str) or not title:
            raise ShopifyValidationError({"shipping_lines.title": ["can't be blank"]})
        price, price_set = self.money_set.text(cents), self.money_set(cents)
        line: Record = {
            "id": self._new_id("shipping_line"),
            "carrier_identifier": body.get("carrier_identifier"),
            "code": body.get("code") or title,
            "discounted_price": price,
            "discounted_price_set": price_set,
            "is_removed": False,
            "phone": body.get("phone"),
            "price": price,
            "price_set": price_set,
            "requested_fulfillment_service_id": None,
            "source": body.get("source") or "shopify",
            "title": title,
            "tax_lines": _EMPTY,
            "discount_allocations": _EMPTY,
        }
        return line, cents

    def create_order(self, body: Record, *, at: datetime | None = None) -> Record:
        """``POST orders.json`` body -> order; prices, titles and SKUs come from the variants.

        Supported body keys: ``customer`` (``{"id"}``, or an e-mail to find or create the
        customer), ``email``, ``phone``, ``line_items`` (``variant_id``/``quantity``, optional
        ``price``; or a custom ``title``/``price``), ``financial_status`` (default ``paid``),
        ``fulfillment_status`` (``fulfilled`` fulfils everything at ``location_id`` or the first
        location), ``processed_at``, ``shipping_address``, ``billing_address``,
        ``shipping_lines``, ``discount_codes`` (first one; ``fixed_amount``/``percentage``,
        allocated across lines), ``tax_lines`` (``title``/``rate``, applied to taxable lines),
        ``tags``, ``note``, ``note_attributes``, ``source_name`` (default ``web``),
        ``location_id``, ``gateway``, ``buyer_accepts_marketing``.
        """
        data = _root(body, "order")
        line_bodies = data.get("line_items")
        if not isinstance(line_bodies, list) or not line_bodies:
            raise ShopifyValidationError({"line_items": ["must have at least one line item"]})
        if not all(isinstance(item, dict) for item in line_bodies):
            raise ShopifyValidationError({"line_items": ["is invalid"]})
        financial_status = data.get("financial_status", "paid")
        if financial_status not in FINANCIAL_STATUSES:
            raise ShopifyValidationError({"financial_status": ["is invalid"]})
        tags = self._order_tags(data.get("tags"))
        behaviour = data.get("inventory_behaviour", "bypass")
        if behaviour not in INVENTORY_BEHAVIOURS:
            raise ShopifyValidationError({"inventory_behaviour": ["is invalid"]})
        lines = [self._line_item(item) for item in line_bodies]
        shipping = [
            self._shipping_line(item)
            for item in data.get("shipping_lines") or ()
            if isinstance(item, dict)
        ]
        location_id = data.get("location_id")
        if location_id is not None:
            location_id = _int(location_id, "location_id")
            if location_id not in self.locations:
                raise ShopifyValidationError({"location_id": ["is invalid"]})
        claims: list[tuple[int, int, int, int]] = []
        if behaviour != "bypass":
            at_location, _ = self._assignment([line for line, _ in shipping], location_id)
            claims = self._inventory_claims(
                lines, at_location, obey=behaviour == "decrement_obeying_policy")
        customer = self._order_customer(data, at)
        stamp, moment = self._moment(at)
        money_set = self.money_set

        line_totals = [cents * quantity for _, cents, quantity in lines]
        items_total = sum(line_totals)

        discount = 0
        discount_codes: list[Record] = []
        discount_applications: list[Record] = []
        codes = data.get("discount_codes")
        if isinstance(codes, list) and codes and isinstance(codes[0], dict):
            code = codes[0]
            kind = code.get("type", "fixed_amount")
            try:
                value = Decimal(str(code.get("amount", "0")))
            except ArithmeticError as exc:
                raise ShopifyValidationError({"discount_codes": ["is invalid"]}) from exc
            if kind == "percentage":
                discount = _rate_cents(items_total, int(value * 10_000))
            elif kind == "fixed_amount":
                discount = to_cents(value)
            else:
                raise ShopifyValidationError({"discount_codes.type": ["is invalid"]})
            discount = max(0, min(discount, items_total))
            discount_codes = [
                {"code": code.get("code", ""), "amount": money_set.text(discount), "type": kind}
            ]
            discount_applications = [
                {
                    "target_type": "line_item",
                    "type": "discount_code",
                    "value": str(float(value)),
                    "value_type": kind,
                    "allocation_method": "across",
                    "target_selection": "all",
                    "code": code.get("code", ""),
                }
            ]
        allocations = [0] * len(lines)
        if discount:
            allocations = [discount * total // items_total for total in line_totals]
            for index in range(discount - sum(allocations)):
                allocations[index % len(lines)] += 1

        order_tax_lines: list[Record] = []
        line_taxes = [0] * len(lines)
        rates: list[tuple[str, float]] = []
        for tax in data.get("tax_lines") or ():
            if isinstance(tax, dict) and tax.get("rate") is not None:
                try:
                    rates.append((str(tax.get("title", "Tax")), float(tax["rate"])))
                except (TypeError, ValueError) as exc:
                    raise ShopifyValidationError({"tax_lines.rate": ["is invalid"]}) from exc
        total_tax = 0
        line_tax_keys: list[list[tuple[str, float, int]]] = [[] for _ in lines]
        text = money_set.text
        for title, rate in rates:
            rate_ppm = round(rate * 1_000_000)
            tax_sum = 0
            for index, (line, _, _) in enumerate(lines):
                if not line["taxable"]:
                    continue
                amount = _rate_cents(line_totals[index] - allocations[index], rate_ppm)
                tax_sum += amount
                line_taxes[index] += amount
                line_tax_keys[index].append((title, rate, amount))
            order_tax_lines.append(
                {
                    "price": text(tax_sum),
                    "rate": rate,
                    "title": title,
                    "price_set": money_set(tax_sum),
                    "channel_liable": None,
                }
            )
            total_tax += tax_sum

        line_items: list[Record] = []
        total_weight = 0
        for index, (line, _, quantity) in enumerate(lines):
            if allocations[index]:
                line["discount_allocations"] = [
                    {
                        "amount": text(allocations[index]),
                        "amount_set": money_set(allocations[index]),
                        "discount_application_index": 0,
                    }
                ]
            if line_tax_keys[index]:
                line["tax_lines"] = self._line_tax_lines(tuple(line_tax_keys[index]))
            total_weight += int(line["grams"]) * quantity
            line_items.append(line)

        shipping_total = sum(cents for _, cents in shipping)
        subtotal = items_total - discount
        total = subtotal + shipping_total + total_tax
        order_id = self._new_id("order")
        self._order_number += 1
        number = self._order_number
        name = f"#{1000 + number}"
        source_name = str(data.get("source_name") or "web")
        web = source_name == "web"
        token = self._token()
        email = data.get("email")
        if email is None and customer is not None:
            email = customer["email"]
        gateway = data.get("gateway")
        transactions = data.get("transactions")
        if gateway is None and isinstance(transactions, list) and transactions:
            first = transactions[0]
            gateway = first.get("gateway") if isinstance(first, dict) else None
        if gateway is None:
            gateway = (
                "manual"
                if financial_status == "pending"
                else ("shopify_payments" if web else "cash")
            )
        gateway = str(gateway)
        outstanding = total if financial_status in ("pending", "authorized") else 0
        processed = data.get("processed_at")
        if isinstance(processed, str) and processed:
            processed_stamp = processed
            try:
                processed_moment = datetime.fromisoformat(processed.replace("Z", "+00:00"))
                if processed_moment.tzinfo is None:
                    processed_moment = processed_moment.replace(tzinfo=self.tz)
                processed_stamp = format_time(processed_moment, self.tz)
                processed_ts = processed_moment.timestamp()
            except ValueError as exc:
                raise ShopifyValidationError({"processed_at": ["is invalid"]}) from exc
        else:
            processed_stamp, processed_ts = stamp, moment
        buyer_accepts = data.get("buyer_accepts_marketing")
        if buyer_accepts is None:
            buyer_accepts = bool(
                customer is not None
                and customer["email_marketing_consent"]["state"] == "subscribed"
            )
        billing_body = data.get("billing_address")
        shipping_body = data.get("shipping_address")
        shipping_address = order_address(shipping_body)
        billing = (
            shipping_address if billing_body == shipping_body else order_address(billing_body)
        )
        pair = money_set.pair
        items_text, items_set = pair(items_total)
        subtotal_text, subtotal_set = pair(subtotal)
        tax_text, tax_set = pair(total_tax)
        discount_text, discount_set = pair(discount)
        total_text, total_set = pair(total)
        order: Record = {
            "id": order_id,
            "admin_graphql_api_id": gid("Order", order_id),
            "app_id": CHANNEL_APP_IDS.get(source_name),
            "browser_ip": None,
            "buyer_accepts_marketing": bool(buyer_accepts),
            "cancel_reason": None,
            "cancelled_at": None,
            "cart_token": self._token() if web else None,
            "checkout_id": self._new_id("checkout") if web else None,
            "checkout_token": self._token() if web else None,
            "client_details": _NO_CLIENT,
            "closed_at": None,
            "confirmation_number": self._confirmation_number(),
            "confirmed": True,
            "contact_email": email,
            "created_at": stamp,
            "currency": self.currency,
            "current_subtotal_price": subtotal_text,
            "current_subtotal_price_set": subtotal_set,
            "current_total_additional_fees_set": None,
            "current_total_discounts": discount_text,
            "current_total_discounts_set": discount_set,
            "current_total_duties_set": None,
            "current_total_price": total_text,
            "current_total_price_set": total_set,
            "current_total_tax": tax_text,
            "current_total_tax_set": tax_set,
            "customer_locale": "en" if web else None,
            "device_id": None,
            "discount_codes": discount_codes,
            "duties_included": False,
            "email": email or "",
            "estimated_taxes": False,
            "financial_status": financial_status,
            "fulfillment_status": None,
            "landing_site": data.get("landing_site"),
            "landing_site_ref": None,
            "location_id": location_id,
            "merchant_business_entity_id": self._business_entity,
            "merchant_of_record_app_id": None,
            "name": name,
            "note": data.get("note"),
            "note_attributes": data.get("note_attributes") or _EMPTY,
            "number": number,
            "order_number": 1000 + number,
            "order_status_url": (
                f"https://{self.shop_domain}/{self.shop_id}/orders/{token}/authenticate"
                f"?key={self._token()}"
            ),
            "original_total_additional_fees_set": None,
            "original_total_duties_set": None,
            "payment_gateway_names": self._gateway_lists.setdefault(gateway, [gateway]),
            "phone": data.get("phone"),
            "po_number": data.get("po_number"),
            "presentment_currency": self.currency,
            "processed_at": processed_stamp,
            "reference": None,
            "referring_site": data.get("referring_site"),
            "source_identifier": None,
            "source_name": source_name,
            "source_url": None,
            "subtotal_price": subtotal_text,
            "subtotal_price_set": subtotal_set,
            "tags": tags,
            "tax_exempt": False,
            "tax_lines": order_tax_lines,
            "taxes_included": False,
            "test": bool(data.get("test", False)),
            "token": token,
            "total_cash_rounding_payment_adjustment_set": self._zero,
            "total_cash_rounding_refund_adjustment_set": self._zero,
            "total_discounts": discount_text,
            "total_discounts_set": discount_set,
            "total_line_items_price": items_text,
            "total_line_items_price_set": items_set,
            "total_outstanding": text(outstanding),
            "total_price": total_text,
            "total_price_set": total_set,
            "total_shipping_price_set": money_set(shipping_total),
            "total_tax": tax_text,
            "total_tax_set": tax_set,
            "total_tip_received": "0.00",
            "total_weight": total_weight,
            "updated_at": stamp,
            "user_id": None,
            "billing_address": billing,
            "customer": None if customer is None else self._customer_summaries[customer["id"]],
            "discount_applications": discount_applications,
            "fulfillments": _EMPTY,
            "line_items": line_items,
            "payment_terms": None,
            "refunds": _EMPTY,
            "shipping_address": shipping_address,
            "shipping_lines": [line for line, _ in shipping],
        }
        # Shopify leaves these keys out (rather than null) when the order has none.
        if billing is None:
            del order["billing_address"]
        if customer is None:
            del order["customer"]
        if shipping_address is None:
            del order["shipping_address"]

        self.orders[order_id] = order
        self.order_ids.append(order_id)
        self.order_created_at[order_id] = moment
        self.order_updated_at[order_id] = moment
        self.order_processed_at[order_id] = processed_ts
        self._sale_transaction[order_id] = (self._new_id("transaction"), gateway)
        for tag in {tag.strip().lower() for tag in tags.split(",") if tag.strip()}:
            self._orders_by_tag.setdefault(tag, []).append(order_id)
        for index, item_id, claim_at, units in claims:
            self._adjust_level(item_id, claim_at, -units, stamp)
            self._claims[line_items[index]["id"]] = (item_id, claim_at, units)
        if customer is not None:
            self._record_order_for_customer(customer, order, total, stamp, moment)
        if data.get("fulfillment_status") == "fulfilled":
            fulfil_at = location_id or next(iter(self.locations), None)
            if fulfil_at is None:
                raise ShopifyValidationError({"location_id": ["can't be blank"]})
            self.create_fulfillment(order_id, {"fulfillment": {"location_id": fulfil_at}}, at=at)
        return order

    @staticmethod
    def _order_tags(value: object) -> str:
        """``tags`` normalised; a tag over :data:`MAX_TAG_LENGTH` characters is refused
        (the 422 wording is unverified)."""
        try:
            tags = tag_string(value)
        except ValueError as exc:
            raise ShopifyValidationError({"tags": ["is invalid"]}) from exc
        if any(len(tag.strip()) > MAX_TAG_LENGTH for tag in tags.split(",")):
            raise ShopifyValidationError(
                {"tags": [f"is too long (maximum is {MAX_TAG_LENGTH} characters)"]})
        return tags

    def order_ids_tagged(self, tag: str) -> list[int]:
        """Ids of the orders carrying ``tag`` (case-insensitive, as Shopify's tags are)."""
        return self._orders_by_tag.get(tag.strip().lower(), _EMPTY)

    def _location_named(self, name: object) -> int | None:
        for location_id, location in self.locations.items():
            if location["name"] == name:
                return location_id
        return None

    def _assignment(self, shipping_lines: list[Record], location_id: int | None
                    ) -> tuple[int | None, str]:
        """(location, delivery method type) of an order's fulfillment order: the location a
        native local-pickup shipping line names (``pick_up``), else ``location_id`` or the
        shop's first location (``shipping``)."""
        for line in shipping_lines:
            if line.get("source") not in (None, "shopify"):
                continue
            for key in ("title", "code"):
                found = self._location_named(line.get(key))
                if found is not None:
                    return found, fo.PICK_UP
        if location_id is not None:
            return location_id, fo.SHIPPING
        return (min(self.locations) if self.locations else None), fo.SHIPPING

    def _inventory_claims(self, lines: list[tuple[Record, int, int]], location_id: int | None,
                          *, obey: bool) -> list[tuple[int, int, int, int]]:
        """(line index, inventory item, location, units) an order claims at creation
        (``inventory_behaviour`` ``decrement_*``); obeying the policy, more units than
        available are refused (422, unverified wording)."""
        if location_id is None:
            return []
        claims: list[tuple[int, int, int, int]] = []
        wanted: dict[int, int] = {}
        for index, (line, _, quantity) in enumerate(lines):
            variant = self.variants.get(line["variant_id"]) if line["variant_id"] else None
            if variant is None:
                continue
            item_id = int(variant["inventory_item_id"])
            wanted[item_id] = wanted.get(item_id, 0) + quantity
            claims.append((index, item_id, location_id, quantity))
        if obey:
            for item_id, units in wanted.items():
                level = self._inventory.get((item_id, location_id))
                if level is None or int(level["available"]) < units:
                    raise ShopifyValidationError(
                        {"line_items": ["Unable to reserve inventory"]})
        return claims

    def _adjust_level(self, item_id: int, location_id: int, delta: int, stamp: str) -> None:
        """Move ``available`` of a stocked level by ``delta`` (no level: nothing to move)."""
        level = self._inventory.get((item_id, location_id))
        if level is None or delta == 0:
            return
        level["available"] = int(level["available"]) + delta
        level["updated_at"] = stamp
        self._adjust_item_total(item_id, delta)

    def _record_order_for_customer(
        self, customer: Record, order: Record, total: int, stamp: str, moment: float
    ) -> None:
        customer_id = int(customer["id"])
        self.orders_by_customer.setdefault(customer_id, []).append(int(order["id"]))
        customer["orders_count"] += 1
        spent = self._spent.get(customer_id, 0) + total
        self._spent[customer_id] = spent
        customer["total_spent"] = money(spent)
        if moment >= self._last_order_at.get(customer_id, float("-inf")):
            self._last_order_at[customer_id] = moment
            customer["last_order_id"] = order["id"]
            customer["last_order_name"] = order["name"]
        self._touch_customer(customer_id, stamp, moment)

    def _touch_order(self, order: Record, stamp: str, moment: float) -> None:
        order_id = int(order["id"])
        if moment >= self.order_updated_at[order_id]:
            self.order_updated_at[order_id] = moment
            order["updated_at"] = stamp

    def order_ids_for_customer(self, customer_id: int) -> list[int]:
        """Ids (ascending) of the customer's orders."""
        return self.orders_by_customer.get(customer_id, _EMPTY)

    def create_fulfillment(
        self, order_id: int, body: Record, *, at: datetime | None = None
    ) -> Record:
        """Mirror of the legacy ``POST orders/{id}/fulfillments.json``.

        ``fulfillment.location_id`` is required; ``line_items`` (``[{"id", "quantity"?}]``)
        defaults to everything still fulfillable. Updates the lines' and the order's
        ``fulfillment_status`` (``partial`` / ``fulfilled``).
        """
        order = self._order(order_id)
        data = _root(body, "fulfillment")
        if data.get("location_id") is None:
            raise ShopifyValidationError({"location_id": ["can't be blank"]})
        location_id = _int(data["location_id"], "location_id")
        if location_id not in self.locations:
            raise ShopifyValidationError({"location_id": ["is invalid"]})
        by_id = {line["id"]: line for line in order["line_items"]}
        wanted: list[tuple[Record, int]] = []
        requested = data.get("line_items")
        if isinstance(requested, list) and requested:
            for item in requested:
                if not isinstance(item, dict):
                    raise ShopifyValidationError({"line_items": ["is invalid"]})
                line = by_id.get(_int(item.get("id"), "line_items.id"))
                if line is None:
                    raise ShopifyValidationError({"line_items.id": ["is invalid"]})
                quantity = item.get("quantity")
                count = (
                    line["fulfillable_quantity"]
                    if quantity is None
                    else _int(quantity, "line_items.quantity")
                )
                if count < 1 or count > line["fulfillable_quantity"]:
                    raise ShopifyValidationError(
                        {"line_items.quantity": ["must be less than or equal to fulfillable"]}
                    )
                wanted.append((line, count))
        else:
            wanted = [
                (line, line["fulfillable_quantity"])
                for line in order["line_items"]
                if line["fulfillable_quantity"] > 0
            ]
        if not wanted:
            raise ShopifyValidationError({"base": ["Line items are already fulfilled"]})
        stamp, moment = self._moment(at)
        fulfilled: list[Record] = []
        for line, count in wanted:
            line["fulfillable_quantity"] -= count
            line["fulfillment_status"] = (
                "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
            )
            if count == line["quantity"]:
                fulfilled.append(line)
            else:
                copy = line.copy()
                copy["quantity"] = count
                fulfilled.append(copy)
        fulfillment_id = self._new_id("fulfillment")
        tracking_number = data.get("tracking_number")
        tracking_numbers = data.get("tracking_numbers") or (
            [tracking_number] if tracking_number else []
        )
        tracking_url = data.get("tracking_url")
        tracking_urls = data.get("tracking_urls") or ([tracking_url] if tracking_url else [])
        fulfillment: Record = {
            "id": fulfillment_id,
            "admin_graphql_api_id": gid("Fulfillment", fulfillment_id),
            "created_at": stamp,
            "location_id": location_id,
            "name": f"{order['name']}.{len(order['fulfillments']) + 1}",
            "order_id": order["id"],
            "origin_address": _EMPTY_OBJECT,
            "receipt": _EMPTY_OBJECT,
            "service": "manual",
            "shipment_status": data.get("shipment_status"),
            "status": "success",
            "tracking_company": data.get("tracking_company"),
            "tracking_number": tracking_number
            or (tracking_numbers[0] if tracking_numbers else None),
            "tracking_numbers": tracking_numbers,
            "tracking_url": tracking_url or (tracking_urls[0] if tracking_urls else None),
            "tracking_urls": tracking_urls,
            "updated_at": stamp,
            "line_items": fulfilled,
        }
        order["fulfillments"] = [*order["fulfillments"], fulfillment]
        self._update_fulfillment_status(order)
        self._touch_order(order, stamp, moment)
        return fulfillment

    @staticmethod
    def _update_fulfillment_status(order: Record) -> None:
        lines = order["line_items"]
        pending = sum(min(line["fulfillable_quantity"], line["current_quantity"]) for line in lines)
        done = any(line["fulfillment_status"] for line in lines)
        if done and pending == 0:
            order["fulfillment_status"] = "fulfilled"
        elif done:
            order["fulfillment_status"] = "partial"
        else:
            order["fulfillment_status"] = None

    def close_order(self, order_id: int, *, at: datetime | None = None) -> Record:
        """Mirror of ``POST orders/{id}/close.json`` (sets ``closed_at``)."""
        order = self._order(order_id)
        stamp, moment = self._moment(at)
        if order["closed_at"] is None:
            order["closed_at"] = stamp
            self._touch_order(order, stamp, moment)
        return order

    def open_order(self, order_id: int, *, at: datetime | None = None) -> Record:
        """Mirror of ``POST orders/{id}/open.json`` (clears ``closed_at``)."""
        order = self._order(order_id)
        stamp, moment = self._moment(at)
        if order["closed_at"] is not None:
            order["closed_at"] = None
            self._touch_order(order, stamp, moment)
        return order

    def cancel_order(
        self, order_id: int, *, at: datetime | None = None, reason: str = "other",
        restock: bool = False,
    ) -> Record:
        """Mirror of ``POST orders/{id}/cancel.json`` without a refund.

        Sets ``cancelled_at``/``cancel_reason`` (``customer``, ``declined``, ``fraud``,
        ``inventory``, ``other``, ``staff``); an unpaid (``pending``/``authorized``) order
        becomes ``voided``. Money already captured stays until a refund is created. With
        ``restock`` the units the order claimed at creation and has not fulfilled go back to
        the location they were taken from (an order created with the default ``bypass``
        claimed none). Its fulfillment orders close. An order already cancelled is 422.
        """
        order = self._order(order_id)
        if reason not in CANCEL_REASONS:
            raise ShopifyValidationError({"reason": ["is not included in the list"]})
        if order["cancelled_at"] is not None:
            raise ShopifyValidationError({"base": ["Order has already been cancelled"]})
        stamp, moment = self._moment(at)
        if restock:
            for line in order["line_items"]:
                claim = self._claims.pop(line["id"], None)
                if claim is not None:
                    item_id, location_id, units = claim
                    back = min(units, fo.fulfillable(order, line))
                    self._adjust_level(item_id, location_id, back, stamp)
        self._touch_fulfillment_orders(order_id, stamp)
        order["cancelled_at"] = stamp
        order["cancel_reason"] = reason
        if order["financial_status"] in ("pending", "authorized"):
            order["financial_status"] = "voided"
            order["total_outstanding"] = "0.00"
        self._touch_order(order, stamp, moment)
        return order

    def create_refund(self, order_id: int, body: Record, *, at: datetime | None = None) -> Record:
        """Mirror of ``POST orders/{id}/refunds.json``.

        ``refund_line_items`` (``line_item_id``, ``quantity``, ``restock_type``, ``location_id``)
        reduce the lines' ``current_quantity``; a restocking refund at a location with a level
        puts the units back into ``available``. ``shipping`` (``{"full_refund": true}`` or
        ``{"amount"}``) refunds shipping. Sandbox convenience: without ``transactions`` the
        refunded lines' value (+ tax, + shipping) is paid back in one ``refund`` transaction (the
        real API would then refund no money). Sets ``financial_status`` to ``refunded`` /
        ``partially_refunded`` and lowers the customer's ``total_spent``.
        """
        order = self._order(order_id)
        data = _root(body, "refund")
        plan, shipping_refund, shipping_left = self._refund_plan(order, data)
        total_cents = to_cents(order["total_price"])
        refunded_before = self._refunded(order)
        stamp, moment = self._moment(at)
        refund_id = self._new_id("refund")
        money_set = self.money_set
        refund_lines: list[Record] = []
        lines_value = 0
        for line, quantity, restock_type, location_id in plan:
            subtotal, tax = self._refund_line_amounts(line, quantity)
            lines_value += subtotal + tax
            line["current_quantity"] -= quantity
            line["fulfillable_quantity"] = min(
                line["fulfillable_quantity"], line["current_quantity"]
            )
            if restock_type in RESTOCKING and location_id is not None and line["variant_id"]:
                item_id = self.variants[line["variant_id"]]["inventory_item_id"]
                self._adjust_level(item_id, location_id, quantity, stamp)
            refund_lines.append(
                {
                    "id": self._new_id("refund_line_item"),
                    "line_item_id": line["id"],
                    "location_id": location_id,
                    "quantity": quantity,
                    "restock_type": restock_type,
                    "subtotal": subtotal / 100,
                    "subtotal_set": money_set(subtotal),
                    "total_tax": tax / 100,
                    "total_tax_set": money_set(tax),
                    "line_item": line,
                }
            )

        sale_id, gateway = self._sale_transaction[order_id]
        transactions: list[Record] = []
        given = data.get("transactions")
        if given is not None and not isinstance(given, list):
            raise ShopifyValidationError({"transactions": ["is invalid"]})
        if given is not None:
            amounts = []
            for txn in given:
                if not isinstance(txn, dict):
                    raise ShopifyValidationError({"transactions": ["is invalid"]})
                try:
                    amounts.append(
                        (to_cents(txn.get("amount", "0")), txn.get("gateway") or gateway, txn)
                    )
                except ValueError as exc:
                    raise ShopifyValidationError({"transactions.amount": ["is invalid"]}) from exc
        else:
            amounts = (
                [(lines_value + shipping_refund, gateway, {})]
                if (lines_value + shipping_refund)
                else []
            )
        refund_total = sum(amount for amount, _, _ in amounts)
        limit = total_cents if given is None else self._paid(order)
        if refund_total + refunded_before > limit:
            raise ShopifyValidationError(
                {"transactions.amount": ["must be less than or equal to the refundable amount"]}
            )
        payments = sum(len(r["transactions"]) for r in order["refunds"]) + 1
        for index, (amount, txn_gateway, txn) in enumerate(amounts):
            transaction_id = self._new_id("transaction")
            transactions.append(
                {
                    "id": transaction_id,
                    "admin_graphql_api_id": gid("OrderTransaction", transaction_id),
                    "amount": money(amount),
                    "authorization": None,
                    "created_at": stamp,
                    "currency": self.currency,
                    "device_id": None,
                    "error_code": None,
                    "gateway": txn_gateway,
                    "kind": "refund",
                    "location_id": None,
                    "message": None,
                    "order_id": order["id"],
                    "parent_id": txn.get("parent_id", sale_id),
                    "payment_id": f"{order['name']}.{payments + index}",
                    "processed_at": stamp,
                    "receipt": _EMPTY_OBJECT,
                    "source_name": "web",
                    "status": "success",
                    "test": order["test"],
                    "user_id": None,
                }
            )
        adjustments: list[Record] = []
        if shipping_refund:
            adjustments.append(
                {
                    "id": self._new_id("order_adjustment"),
                    "order_id": order["id"],
                    "refund_id": refund_id,
                    "amount": money(-shipping_refund),
                    "tax_amount": "0.00",
                    "kind": "shipping_refund",
                    "reason": "Shipping refund",
                    "amount_set": money_set(-shipping_refund),
                    "tax_amount_set": self._zero,
                }
            )
        refund: Record = {
            "id": refund_id,
            "admin_graphql_api_id": gid("Refund", refund_id),
            "created_at": stamp,
            "note": data.get("note"),
            "order_id": order["id"],
            "processed_at": stamp,
            "restock": any(restock in RESTOCKING for _, _, restock, _ in plan),
            "total_additional_fees_set": self._zero,
            "total_duties_set": self._zero,
            "user_id": None,
            "order_adjustments": adjustments,
            "transactions": transactions,
            "refund_line_items": refund_lines,
            "duties": _EMPTY,
            "additional_fees": _EMPTY,
        }
        order["refunds"] = [*order["refunds"], refund]
        if plan:
            self._touch_fulfillment_orders(order_id, stamp)
        if refund_total:
            refunded = refunded_before + refund_total
            order["financial_status"] = (
                "refunded" if refunded >= total_cents else "partially_refunded"
            )
        self._recompute_current(order, shipping_left - shipping_refund)
        self._update_fulfillment_status(order)
        self._touch_order(order, stamp, moment)
        summary = order.get("customer")
        if refund_total and summary is not None:
            customer_id = int(summary["id"])
            spent = self._spent.get(customer_id, 0) - refund_total
            self._spent[customer_id] = spent
            self.customers[customer_id]["total_spent"] = money(spent)
            self._touch_customer(customer_id, stamp, moment)
        return refund

    def _refund_plan(
        self, order: Record, data: Record
    ) -> tuple[list[tuple[Record, int, str, int | None]], int, int]:
        """(lines to refund: line, quantity, restock type, location), the shipping to refund
        and the shipping still refundable, checked like Shopify's 422s."""
        lines_by_id = {line["id"]: line for line in order["line_items"]}
        requested = data.get("refund_line_items") or []
        if not isinstance(requested, list):
            raise ShopifyValidationError({"refund_line_items": ["is invalid"]})
        plan: list[tuple[Record, int, str, int | None]] = []
        taken: dict[int, int] = {}
        for item in requested:
            if not isinstance(item, dict):
                raise ShopifyValidationError({"refund_line_items": ["is invalid"]})
            line = lines_by_id.get(_int(item.get("line_item_id"), "refund_line_items.line_item_id"))
            if line is None:
                raise ShopifyValidationError({"refund_line_items.line_item_id": ["is invalid"]})
            quantity = _int(item.get("quantity", 1), "refund_line_items.quantity")
            already = taken.get(line["id"], 0)
            if quantity < 1 or quantity + already > line["current_quantity"]:
                raise ShopifyValidationError(
                    {"refund_line_items.quantity": ["cannot refund more items than were purchased"]}
                )
            taken[line["id"]] = already + quantity
            restock_type = str(item.get("restock_type", "no_restock"))
            if restock_type not in RESTOCK_TYPES:
                raise ShopifyValidationError({"refund_line_items.restock_type": ["is invalid"]})
            location = item.get("location_id")
            location_id = None if location is None else _int(location, "location_id")
            if location_id is not None and location_id not in self.locations:
                raise ShopifyValidationError({"refund_line_items.location_id": ["is invalid"]})
            plan.append((line, quantity, restock_type, location_id))

        shipping_cents = to_cents(order["total_shipping_price_set"]["shop_money"]["amount"])
        refunded_shipping = sum(
            -to_cents(adjustment["amount"])
            for refund in order["refunds"]
            for adjustment in refund["order_adjustments"]
            if adjustment["kind"] == "shipping_refund"
        )
        shipping_left = shipping_cents - refunded_shipping
        shipping_body = data.get("shipping")
        shipping_refund = 0
        if isinstance(shipping_body, dict):
            if shipping_body.get("full_refund"):
                shipping_refund = shipping_left
            elif shipping_body.get("amount") is not None:
                try:
                    shipping_refund = to_cents(shipping_body["amount"])
                except ValueError as exc:
                    raise ShopifyValidationError({"shipping.amount": ["is invalid"]}) from exc
            if shipping_refund < 0 or shipping_refund > shipping_left:
                raise ShopifyValidationError({"shipping.amount": ["is invalid"]})
        return plan, shipping_refund, shipping_left

    @staticmethod
    def _refund_line_amounts(line: Record, quantity: int) -> tuple[int, int]:
        """(subtotal, tax) in cents of ``quantity`` units of ``line``: its price less its share
        of the line's discounts, and its share of the line's taxes."""
        ordered = int(line["quantity"])
        allocated = sum(to_cents(a["amount"]) for a in line["discount_allocations"])
        taxed = sum(to_cents(t["price"]) for t in line["tax_lines"])
        subtotal = to_cents(line["price"]) * quantity - _share(allocated, quantity, ordered)
        return subtotal, _share(taxed, quantity, ordered)

    @staticmethod
    def _refunded(order: Record) -> int:
        return sum(
            to_cents(txn["amount"])
            for refund in order["refunds"]
            for txn in refund["transactions"]
            if txn["kind"] == "refund" and txn["status"] == "success"
        )

    @staticmethod
    def _paid(order: Record) -> int:
        """Cents the customer paid (captured): the total once ``paid`` or (partially)
        refunded, nothing while ``pending``, ``authorized`` or ``voided``."""
        if order["financial_status"] in ("paid", "partially_refunded", "refunded"):
            return to_cents(order["total_price"])
        return 0

    def calculate_refund(self, order_id: int, body: Record) -> Record:
        """Mirror of ``POST orders/{id}/refunds/calculate.json``: what a refund of these lines
        (and shipping) would pay back, as ``suggested_refund`` transactions against the sale
        (none when nothing was captured). Writes nothing."""
        order = self._order(order_id)
        data = _root(body, "refund")
        plan, shipping_refund, shipping_left = self._refund_plan(order, data)
        text = self.money_set.text
        lines: list[Record] = []
        value = 0
        for line, quantity, restock_type, location_id in plan:
            subtotal, tax = self._refund_line_amounts(line, quantity)
            value += subtotal + tax
            price = to_cents(line["price"])
            lines.append({
                "quantity": quantity,
                "line_item_id": line["id"],
                "location_id": location_id,
                "restock_type": restock_type,
                "price": text(price),
                "subtotal": text(subtotal),
                "total_tax": text(tax),
                "discounted_price": text(price),
                "discounted_total_price": text(price * quantity),
                "total_cart_discount_amount": text(price * quantity - subtotal),
            })
        refundable = max(0, self._paid(order) - self._refunded(order))
        suggested = min(value + shipping_refund, refundable)
        sale_id, gateway = self._sale_transaction[order_id]
        transactions = [{
            "order_id": order["id"],
            "kind": "suggested_refund",
            "gateway": gateway,
            "parent_id": sale_id,
            "amount": text(suggested),
            "currency": self.currency,
            "maximum_refundable": text(refundable),
        }] if refundable else []
        return {
            "duties": [],
            "total_duties_set": self._zero,
            "return": None,
            "shipping": {"amount": text(shipping_refund), "tax": "0.00",
                         "maximum_refundable": text(shipping_left)},
            "additional_fees": [],
            "total_additional_fees_set": self._zero,
            "refund_shipping_lines": [],
            "refund_line_items": lines,
            "transactions": transactions,
            "currency": self.currency,
        }

    def _recompute_current(self, order: Record, shipping_left: int) -> None:
        subtotal = discounts = tax = 0
        for line in order["line_items"]:
            ordered, current = int(line["quantity"]), int(line["current_quantity"])
            allocated = sum(to_cents(a["amount"]) for a in line["discount_allocations"])
            taxed = sum(to_cents(t["price"]) for t in line["tax_lines"])
            line_discount = _share(allocated, current, ordered)
            subtotal += to_cents(line["price"]) * current - line_discount
            discounts += line_discount
            tax += _share(taxed, current, ordered)
        total = subtotal + tax + shipping_left
        money_set = self.money_set
        order["current_subtotal_price"] = money(subtotal)
        order["current_subtotal_price_set"] = money_set(subtotal)
        order["current_total_discounts"] = money(discounts)
        order["current_total_discounts_set"] = money_set(discounts)
        order["current_total_tax"] = money(tax)
        order["current_total_tax_set"] = money_set(tax)
        order["current_total_price"] = money(total)
        order["current_total_price_set"] = money_set(total)

    def refunds(self, order_id: int) -> list[Record]:
        return list(self._order(order_id)["refunds"])

    def refund_view(self, refund: Record) -> Record:
        """A refund as its own endpoints answer it: the order's embedded refund plus
        ``refund_shipping_lines`` and ``return``, and its transactions with
        ``amount_rounding``, ``manual_payment_gateway`` and ``total_unsettled_set`` (keys the
        refunds embedded in an order leave out)."""
        unsettled = {"amount": "0.00", "currency": self.currency}
        transactions = [
            {**txn, "amount_rounding": None, "manual_payment_gateway": False,
             "total_unsettled_set": {"presentment_money": unsettled, "shop_money": unsettled}}
            for txn in refund["transactions"]]
        return {**refund, "transactions": transactions, "refund_shipping_lines": [],
                "return": None}

    # ------------------------------------------------------------ fulfillment orders

    def fulfillment_order_ids(self, order_id: int) -> list[int]:
        """The order's fulfillment orders (one per order), created on first use as they would
        have been with the order (see :mod:`.fulfillment_orders`)."""
        found = self._fulfillment_orders_of.get(order_id)
        if found is not None:
            return found
        order = self._order(order_id)
        location_id, method = self._assignment(order["shipping_lines"], order["location_id"])
        if location_id is None:
            self._fulfillment_orders_of[order_id] = []
            return []
        fo_id = self._next_fulfillment()
        lines = {line["id"]: self._next_fulfillment() for line in order["line_items"]}
        self.fulfillment_orders[fo_id] = {
            "id": fo_id,
            "order_id": order_id,
            "assigned_location_id": location_id,
            "method_type": method,
            "delivery_method_id": self._next_fulfillment(),
            "created_at": order["created_at"],
            "updated_at": order["created_at"],
            "prepared": False,
            "lines": lines,
        }
        self._fulfillment_orders_of[order_id] = [fo_id]
        return self._fulfillment_orders_of[order_id]

    def _next_fulfillment(self) -> int:
        self._next_fulfillment_id += 1
        return self._next_fulfillment_id

    def _touch_fulfillment_orders(self, order_id: int, stamp: str) -> None:
        for fo_id in self._fulfillment_orders_of.get(order_id, ()):
            self.fulfillment_orders[fo_id]["updated_at"] = stamp

    def fulfillment_order(self, fo_id: int) -> Record | None:
        """A fulfillment order as REST answers it (None when unknown)."""
        state = self.fulfillment_orders.get(fo_id)
        if state is None:
            return None
        order = self.orders[state["order_id"]]
        location = self.locations[state["assigned_location_id"]]
        return fo.view(state, order, location, self.shop_id, self.variants)

    def fulfillment_order_status(self, fo_id: int) -> str:
        state = self.fulfillment_orders[fo_id]
        return fo.status(state, self.orders[state["order_id"]])

    def order_fulfillment_orders(self, order_id: int) -> list[Record]:
        """Mirror of ``GET orders/{id}/fulfillment_orders.json``."""
        return [view for fo_id in self.fulfillment_order_ids(order_id)
                if (view := self.fulfillment_order(fo_id)) is not None]

    def prepare_for_pickup(self, fo_ids: list[int], *, at: datetime | None = None
                           ) -> list[tuple[int, str, str]]:
        """Mirror of ``fulfillmentOrderLineItemsPreparedForPickup``: every fulfillment order
        given moves to ``in_progress``, or none does. The answer is the user errors (index in
        the input, code, message): an unknown id or a fulfillment order that is not a pickup
        (``FULFILLMENT_ORDER_INVALID``), a closed one (``NO_LINE_ITEMS_TO_PREPARE_FOR_
        FULFILLMENT_ORDER``). One already prepared is left as it is (unverified)."""
        errors: list[tuple[int, str, str]] = []
        for index, fo_id in enumerate(fo_ids):
            state = self.fulfillment_orders.get(fo_id)
            if state is None or state["method_type"] != fo.PICK_UP:
                errors.append((index, "FULFILLMENT_ORDER_INVALID",
                               "Invalid fulfillment order ID provided."))
            elif self.fulfillment_order_status(fo_id) == "closed":
                errors.append((index, "NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER",
                               "The fulfillment order does not have any line items that can "
                               "be prepared."))
        if errors:
            return errors
        stamp, moment = self._moment(at)
        for fo_id in fo_ids:
            state = self.fulfillment_orders[fo_id]
            if not state["prepared"]:
                state["prepared"] = True
                state["updated_at"] = stamp
                self._touch_order(self.orders[state["order_id"]], stamp, moment)
        return []

    def fulfil_fulfillment_orders(self, body: Record, *, at: datetime | None = None) -> Record:
        """Mirror of ``POST fulfillments.json`` (the fulfillment order API): a fulfillment of
        ``line_items_by_fulfillment_order`` (every line still to fulfil, or the
        ``fulfillment_order_line_items`` given), at the fulfillment orders' location, with
        ``tracking_info`` (``number``, ``url``, ``company``). The fulfillment orders must be of
        one order and not closed (422); an unknown one is 404 (unverified)."""
        data = _root(body, "fulfillment")
        groups = data.get("line_items_by_fulfillment_order")
        if not isinstance(groups, list) or not groups or not all(
                isinstance(group, dict) for group in groups):
            raise ShopifyValidationError(
                {"line_items_by_fulfillment_order": ["must have at least one element"]})
        states: list[tuple[Record, Record]] = []
        for group in groups:
            fo_id = _int(group.get("fulfillment_order_id"), "fulfillment_order_id")
            state = self.fulfillment_orders.get(fo_id)
            if state is None:
                raise ShopifyNotFoundError(fo_id)
            states.append((state, group))
        order_ids = {state["order_id"] for state, _ in states}
        if len(order_ids) != 1:
            raise ShopifyValidationError(
                {"base": ["Fulfillment orders must belong to the same order"]})
        order_id = order_ids.pop()
        order = self.orders[order_id]
        by_line = {line["id"]: line for line in order["line_items"]}
        wanted: list[Record] = []
        for state, group in states:
            if fo.status(state, order) == "closed":
                raise ShopifyValidationError(
                    {"base": ["Fulfillment order is closed and cannot be fulfilled"]})
            fo_lines = {fo_line: line_id for line_id, fo_line in state["lines"].items()}
            given = group.get("fulfillment_order_line_items")
            if isinstance(given, list) and given:
                for item in given:
                    if not isinstance(item, dict):
                        raise ShopifyValidationError(
                            {"fulfillment_order_line_items": ["is invalid"]})
                    line_id = fo_lines.get(_int(item.get("id"), "fulfillment_order_line_items"))
                    if line_id is None:
                        raise ShopifyValidationError(
                            {"fulfillment_order_line_items.id": ["is invalid"]})
                    wanted.append({"id": line_id, "quantity": item.get("quantity")})
            else:
                wanted.extend({"id": line_id, "quantity": fo.fulfillable(order, by_line[line_id])}
                              for line_id in state["lines"]
                              if fo.fulfillable(order, by_line[line_id]) > 0)
        info = data.get("tracking_info")
        tracking: Record = info if isinstance(info, dict) else {}
        fulfillment = self.create_fulfillment(order_id, {"fulfillment": {
            "location_id": states[0][0]["assigned_location_id"],
            "line_items": wanted,
            "tracking_number": tracking.get("number"),
            "tracking_url": tracking.get("url"),
            "tracking_company": tracking.get("company"),
        }}, at=at)
        self._touch_fulfillment_orders(order_id, str(fulfillment["created_at"]))
        return fulfillment

    # ------------------------------------------------- checkouts and draft orders

    def _cart_lines(self, data: Record, *, custom_ships: bool) -> list[tuple[Record, int, int]]:
        """(line template, unit price cents, quantity) per ``line_items[]`` entry of a checkout
        or draft order body: a ``variant_id`` (price, title and SKU from the catalog, ``price``
        may override) or a custom line (``title``, ``price``, optional ``sku``)."""
        bodies = data.get("line_items")
        if not isinstance(bodies, list) or not bodies:
            raise ShopifyValidationError({"line_items": ["must have at least one line item"]})
        lines: list[tuple[Record, int, int]] = []
        for body in bodies:
            if not isinstance(body, dict):
                raise ShopifyValidationError({"line_items": ["is invalid"]})
            quantity = _int(body.get("quantity", 1), "line_items.quantity")
            if quantity < 1:
                raise ShopifyValidationError({"line_items.quantity": ["must be greater than 0"]})
            if body.get("variant_id") is not None:
                variant_id = _int(body["variant_id"], "line_items.variant_id")
                template = self._line_templates.get(variant_id)
                if template is None:
                    raise ShopifyValidationError({"line_items.variant_id": ["is invalid"]})
                cents = self._variant_cents[variant_id]
            else:
                title = body.get("title")
                if not isinstance(title, str) or not title:
                    raise ShopifyValidationError({"line_items.title": ["can't be blank"]})
                template = {
                    "fulfillment_service": "manual",
                    "gift_card": bool(body.get("gift_card", False)),
                    "grams": _int(body.get("grams", 0) or 0, "line_items.grams"),
                    "name": title,
                    "product_id": None,
                    "requires_shipping": bool(body.get("requires_shipping", custom_ships)),
                    "sku": body.get("sku"),
                    "taxable": bool(body.get("taxable", True)),
                    "title": title,
                    "variant_id": None,
                    "variant_title": None,
                    "vendor": body.get("vendor"),
                }
                cents = 0
            if body.get("price") is not None:
                try:
                    cents = to_cents(body["price"])
                except ValueError as exc:
                    raise ShopifyValidationError({"line_items.price": ["is invalid"]}) from exc
            lines.append((template, cents, quantity))
        return lines

    def _cart_customer(self, data: Record) -> Record | None:
        given = data.get("customer")
        if given is None:
            return None
        if not isinstance(given, dict) or given.get("id") is None:
            raise ShopifyValidationError({"customer": ["is invalid"]})
        customer = self.customers.get(_int(given["id"], "customer"))
        if customer is None:
            raise ShopifyValidationError({"customer": ["is invalid"]})
        return customer

    def create_checkout(self, body: Record, *, at: datetime | None = None) -> Record:
        """An abandoned checkout, as a storefront leaves one (REST has no create endpoint: this
        is what a shopper who entered contact details and left produces); ``created_at`` and
        ``updated_at`` are ``at``.

        Body: ``{"checkout": {...}}`` with ``customer`` (``{"id"}``, optional), ``email``
        (when null or empty, the customer's), ``phone``, ``line_items``
        (``variant_id``/``quantity``, optional ``price``; or a custom ``title``/``price``),
        ``source_name`` (default ``web``), ``shipping_lines`` (``title``/``price``),
        ``shipping_address``, ``billing_address``, ``note``, ``note_attributes``,
        ``buyer_accepts_marketing``.
        The recovery link is ``abandoned_checkout_url``, on the shop's domain.
        """
        data = _root(body, "checkout")
        lines = self._cart_lines(data, custom_ships=True)
        customer = self._cart_customer(data)
        shipping: list[tuple[Record, int]] = []
        for item in data.get("shipping_lines") or ():
            if not isinstance(item, dict):
                raise ShopifyValidationError({"shipping_lines": ["is invalid"]})
            title = item.get("title")
            if not isinstance(title, str) or not title:
                raise ShopifyValidationError({"shipping_lines.title": ["can't be blank"]})
            try:
                cents = to_cents(item.get("price", "0.00"))
            except ValueError as exc:
                raise ShopifyValidationError({"shipping_lines.price": ["is invalid"]}) from exc
            line = carts.checkout_shipping_line(
                line_id=f"{self.rng.getrandbits(64):016x}", title=title,
                price=self.money_set.text(cents), code=item.get("code"),
                source=item.get("source"))
            shipping.append((line, cents))
        stamp, moment = self._moment(at)
        text = self.money_set.text
        line_items = [
            carts.checkout_line(template, key=f"{self.rng.getrandbits(64):016x}",
                                price=text(cents), line_price=text(cents * quantity),
                                quantity=quantity, properties=None)
            for template, cents, quantity in lines
        ]
        items = sum(cents * quantity for _, cents, quantity in lines)
        shipping_total = sum(cents for _, cents in shipping)
        checkout_id = self._new_id("checkout")
        token = self._token()
        email = data.get("email") or (None if customer is None else customer["email"])
        shipping_address = order_address(data.get("shipping_address"))
        billing_body = data.get("billing_address")
        billing = (shipping_address if billing_body == data.get("shipping_address")
                   else order_address(billing_body))
        checkout: Record = {
            "id": checkout_id,
            "token": token,
            "cart_token": self._token(),
            "email": email,
            "gateway": None,
            "buyer_accepts_marketing": bool(data.get("buyer_accepts_marketing", False)),
            "created_at": stamp,
            "updated_at": stamp,
            "landing_site": data.get("landing_site"),
            "note": data.get("note"),
            "note_attributes": data.get("note_attributes") or [],
            "referring_site": data.get("referring_site"),
            "shipping_lines": [line for line, _ in shipping],
            "taxes_included": False,
            "total_weight": sum(int(t["grams"]) * q for t, _, q in lines),
            "currency": self.currency,
            "completed_at": None,
            "closed_at": None,
            "user_id": None,
            "location_id": None,
            "source_identifier": None,
            "source_url": None,
            "device_id": None,
            "phone": data.get("phone"),
            "customer_locale": "en",
            "line_items": line_items,
            "name": f"#{checkout_id}",
            "source": None,
            "abandoned_checkout_url": (
                f"https://{self.shop_domain}/{self.shop_id}/checkouts/{token}/recover"
            ),
            "discount_codes": [],
            "tax_lines": [],
            "source_name": str(data.get("source_name") or "web"),
            "presentment_currency": self.currency,
            "buyer_accepts_sms_marketing": False,
            "sms_marketing_phone": None,
            "total_discounts": "0.00",
            "total_line_items_price": text(items),
            "total_price": text(items + shipping_total),
            "total_tax": "0.00",
            "subtotal_price": text(items),
            "total_duties": None,
            "reservation_token": self._token(),
            "billing_address": billing,
            "shipping_address": shipping_address,
        }
        self.checkouts[checkout_id] = checkout
        self.checkout_ids.append(checkout_id)
        self.checkout_created_at[checkout_id] = moment
        self.checkout_updated_at[checkout_id] = moment
        if customer is not None:
            self._checkout_customer[checkout_id] = int(customer["id"])
        return self._checkout_view(checkout_id)

    def _checkout_view(self, checkout_id: int) -> Record:
        checkout = self.checkouts[checkout_id]
        customer_id = self._checkout_customer.get(checkout_id)
        if customer_id is None:
            return checkout
        return {**checkout, "customer": carts.customer_summary(self.customers[customer_id])}

    def checkout(self, checkout_id: int) -> Record | None:
        """The checkout as ``checkouts.json`` lists it (with its customer as it is now)."""
        if checkout_id not in self.checkouts:
            return None
        return self._checkout_view(checkout_id)

    def checkout_views(self, ids: Iterable[int]) -> list[Record]:
        """The checkouts of ``ids`` (all known) as listed."""
        return [self._checkout_view(i) for i in ids]

    def _touch_checkout(self, checkout_id: int, stamp: str, moment: float) -> None:
        if moment >= self.checkout_updated_at[checkout_id]:
            self.checkout_updated_at[checkout_id] = moment
            self.checkouts[checkout_id]["updated_at"] = stamp

    def complete_checkout(self, checkout_id: int, *, at: datetime | None = None) -> Record:
        """The shopper came back and paid: an order is created from the checkout (through
        :meth:`create_order`, carrying its ``checkout_id``/``checkout_token``/``cart_token``)
        and the checkout gets ``completed_at``. It stays listed (a recovered checkout)."""
        checkout = self.checkouts.get(checkout_id)
        if checkout is None:
            raise ShopifyNotFoundError(checkout_id)
        if checkout["completed_at"] is not None:
            raise ShopifyValidationError({"base": ["Checkout has already been completed"]})
        order_body: Record = {
            "email": checkout["email"],
            "phone": checkout["phone"],
            "line_items": [
                {"variant_id": line["variant_id"], "quantity": line["quantity"],
                 "price": line["price"]} if line["variant_id"] is not None else
                {"title": line["title"], "price": line["price"], "quantity": line["quantity"],
                 "sku": line["sku"], "requires_shipping": line["requires_shipping"]}
                for line in checkout["line_items"]
            ],
            "shipping_lines": [{"title": s["title"], "price": s["price"], "code": s["code"],
                                "source": s["source"]} for s in checkout["shipping_lines"]],
            "source_name": checkout["source_name"],
            "note": checkout["note"],
            "note_attributes": checkout["note_attributes"],
            "shipping_address": checkout["shipping_address"],
            "billing_address": checkout["billing_address"],
            "buyer_accepts_marketing": checkout["buyer_accepts_marketing"],
        }
        customer_id = self._checkout_customer.get(checkout_id)
        if customer_id is not None:
            order_body["customer"] = {"id": customer_id}
        order = self.create_order({"order": order_body}, at=at)
        if order["checkout_id"] is not None:
            order["checkout_id"] = checkout_id
            order["checkout_token"] = checkout["token"]
            order["cart_token"] = checkout["cart_token"]
        stamp, moment = self._moment(at)
        checkout["completed_at"] = stamp
        self._touch_checkout(checkout_id, stamp, moment)
        return self._checkout_view(checkout_id)

    def close_checkout(self, checkout_id: int, *, at: datetime | None = None) -> Record:
        """The merchant archived the checkout: it gets ``closed_at`` and moves from
        ``status=open`` to ``status=closed``."""
        checkout = self.checkouts.get(checkout_id)
        if checkout is None:
            raise ShopifyNotFoundError(checkout_id)
        stamp, moment = self._moment(at)
        if checkout["closed_at"] is None:
            checkout["closed_at"] = stamp
            self._touch_checkout(checkout_id, stamp, moment)
        return self._checkout_view(checkout_id)

    def create_draft_order(self, body: Record, *, at: datetime | None = None) -> Record:
        """``POST draft_orders.json`` body -> draft order (``status`` open, ``name`` ``#D1``…).

        Body keys: ``customer`` (``{"id"}``, optional), ``email`` (when null or empty, the
        customer's), ``line_items`` (``variant_id``/``quantity``, optional ``price``; or a
        custom ``title``/``price``/``sku``), ``applied_discount`` (``value_type``
        ``fixed_amount``/``percentage``, ``value``, ``title``, ``description``),
        ``shipping_line`` (``title``/``price``), ``use_customer_default_address``,
        ``shipping_address``, ``billing_address``, ``note``, ``note_attributes``, ``tags``.
        No taxes are computed (``tax_lines`` is empty).
        """
        data = _root(body, "draft_order")
        lines = self._cart_lines(data, custom_ships=False)
        customer = self._cart_customer(data)
        tags = self._order_tags(data.get("tags"))
        items = sum(cents * quantity for _, cents, quantity in lines)
        discount, applied = 0, None
        discount_body = data.get("applied_discount")
        if isinstance(discount_body, dict):
            kind = discount_body.get("value_type", "fixed_amount")
            try:
                value = Decimal(str(discount_body.get("value", discount_body.get("amount", 0))))
            except ArithmeticError as exc:
                raise ShopifyValidationError({"applied_discount": ["is invalid"]}) from exc
            if kind == "percentage":
                discount = _rate_cents(items, int(value * 10_000))
            elif kind == "fixed_amount":
                discount = to_cents(value)
            else:
                raise ShopifyValidationError({"applied_discount.value_type": ["is invalid"]})
            discount = max(0, min(discount, items))
            applied = {
                "description": discount_body.get("description"),
                "value": str(float(value)),
                "title": discount_body.get("title"),
                "amount": self.money_set.text(discount),
                "value_type": kind,
            }
        shipping_cents, shipping_line = 0, None
        shipping_body = data.get("shipping_line")
        if isinstance(shipping_body, dict):
            try:
                shipping_cents = to_cents(shipping_body.get("price", "0.00"))
            except ValueError as exc:
                raise ShopifyValidationError({"shipping_line.price": ["is invalid"]}) from exc
            shipping_line = {"title": shipping_body.get("title"), "custom": True,
                             "handle": None, "price": self.money_set.text(shipping_cents)}
        shipping_body_address = data.get("shipping_address")
        billing_body = data.get("billing_address")
        if data.get("use_customer_default_address") and customer is not None:
            default = customer.get("default_address")
            shipping_body_address = shipping_body_address or default
            billing_body = billing_body or default
        shipping_address = order_address(shipping_body_address)
        billing = (shipping_address if billing_body == shipping_body_address
                   else order_address(billing_body))
        stamp, moment = self._moment(at)
        draft_id = self._new_id("draft_order")
        self._draft_number += 1
        text = self.money_set.text
        line_items = [
            carts.draft_line(template, line_id=self._new_id("draft_line_item"),
                             price=text(cents), quantity=quantity,
                             custom=template["variant_id"] is None, properties=None)
            for template, cents, quantity in lines
        ]
        email = data.get("email") or (None if customer is None else customer["email"])
        draft: Record = {
            "id": draft_id,
            "note": data.get("note"),
            "email": email,
            "taxes_included": False,
            "currency": self.currency,
            "invoice_sent_at": None,
            "created_at": stamp,
            "updated_at": stamp,
            "tax_exempt": False if customer is None else bool(customer["tax_exempt"]),
            "completed_at": None,
            "name": f"#D{self._draft_number}",
            "allow_discount_codes_in_checkout?": False,
            "b2b?": False,
            "status": "open",
            "line_items": line_items,
            "api_client_id": CHANNEL_APP_IDS["shopify_draft_order"],
            "shipping_address": shipping_address,
            "billing_address": billing,
            "invoice_url": f"https://{self.shop_domain}/{self.shop_id}/invoices/{self._token()}",
            "created_on_api_version": None,
            "applied_discount": applied,
            "order_id": None,
            "shipping_line": shipping_line,
            "tax_lines": [],
            "tags": tags,
            "note_attributes": data.get("note_attributes") or [],
            **carts.draft_money(self.money_set, items=items, discount=discount,
                                shipping=shipping_cents, tax=0),
            "payment_terms": None,
            "presentment_currency": self.currency,
            "admin_graphql_api_id": gid("DraftOrder", draft_id),
        }
        self.draft_orders[draft_id] = draft
        self.draft_order_ids.append(draft_id)
        self.draft_order_updated_at[draft_id] = moment
        if customer is not None:
            self._draft_customer[draft_id] = int(customer["id"])
        return self._draft_view(draft_id)

    def _draft_view(self, draft_id: int, *, summary: bool = False) -> Record:
        draft = self.draft_orders[draft_id]
        customer_id = self._draft_customer.get(draft_id)
        if customer_id is None:
            return draft
        customer = self.customers[customer_id]
        embedded = carts.customer_summary(customer) if summary else carts.draft_customer(customer)
        return {**draft, "customer": embedded}

    def draft_order(self, draft_id: int) -> Record | None:
        """The draft order as ``GET draft_orders/{id}.json`` answers it."""
        if draft_id not in self.draft_orders:
            return None
        return self._draft_view(draft_id)

    def draft_order_views(self, ids: Iterable[int]) -> list[Record]:
        """The draft orders of ``ids`` (all known) as listed."""
        return [self._draft_view(i) for i in ids]

    def _open_draft(self, draft_id: int) -> Record:
        draft = self.draft_orders.get(draft_id)
        if draft is None:
            raise ShopifyNotFoundError(draft_id)
        if draft["status"] == "completed":
            raise ShopifyValidationError({"base": ["This order has already been completed"]})
        return draft

    def _touch_draft(self, draft: Record, stamp: str, moment: float) -> None:
        draft_id = int(draft["id"])
        if moment >= self.draft_order_updated_at[draft_id]:
            self.draft_order_updated_at[draft_id] = moment
            draft["updated_at"] = stamp

    def update_draft_order(self, draft_id: int, body: Record, *,
                           at: datetime | None = None) -> Record:
        """Mirror of ``PUT draft_orders/{id}.json`` for ``tags`` (replaced), ``note``,
        ``note_attributes`` (replaced) and ``shipping_line`` (``title``/``price``; null
        removes it). A completed draft is 422."""
        draft = self._open_draft(draft_id)
        data = _root(body, "draft_order")
        changes: Record = {}
        if "tags" in data:
            changes["tags"] = self._order_tags(data["tags"])
        if "note" in data:
            changes["note"] = data["note"]
        if "note_attributes" in data:
            attributes = data["note_attributes"] or []
            if not isinstance(attributes, list) or not all(
                    isinstance(item, dict) for item in attributes):
                raise ShopifyValidationError({"note_attributes": ["is invalid"]})
            changes["note_attributes"] = [
                {"name": str(item.get("name")), "value": item.get("value")}
                for item in attributes]
        shipping_cents: int | None = None
        if "shipping_line" in data:
            line = data["shipping_line"]
            if line is None:
                changes["shipping_line"], shipping_cents = None, 0
            elif isinstance(line, dict) and isinstance(line.get("title"), str) and line["title"]:
                try:
                    shipping_cents = to_cents(line.get("price", "0.00"))
                except ValueError as exc:
                    raise ShopifyValidationError(
                        {"shipping_line.price": ["is invalid"]}) from exc
                changes["shipping_line"] = {"title": line["title"], "custom": True,
                                            "handle": None,
                                            "price": self.money_set.text(shipping_cents)}
            else:
                raise ShopifyValidationError({"shipping_line": ["is invalid"]})
        draft.update(changes)
        if shipping_cents is not None:
            items = to_cents(draft["total_line_items_price_set"]["shop_money"]["amount"])
            discount = to_cents(draft["applied_discount"]["amount"]) \
                if draft["applied_discount"] else 0
            draft.update(carts.draft_money(self.money_set, items=items, discount=discount,
                                           shipping=shipping_cents, tax=0))
        stamp, moment = self._moment(at)
        self._touch_draft(draft, stamp, moment)
        return self._draft_view(draft_id)

    def send_draft_order_invoice(self, draft_id: int, *, at: datetime | None = None) -> Record:
        """Mirror of ``POST draft_orders/{id}/send_invoice.json``: ``status`` becomes
        ``invoice_sent``, ``invoice_sent_at`` is set. Returns the draft order."""
        draft = self._open_draft(draft_id)
        stamp, moment = self._moment(at)
        draft["status"] = "invoice_sent"
        draft["invoice_sent_at"] = stamp
        self._touch_draft(draft, stamp, moment)
        return self._draft_view(draft_id)

    def complete_draft_order(
        self, draft_id: int, *, at: datetime | None = None, payment_pending: bool = False
    ) -> Record:
        """Mirror of ``PUT draft_orders/{id}/complete.json``: the order is created through
        :meth:`create_order` (``source_name`` ``shopify_draft_order``, ``paid``, or ``pending``
        with ``payment_pending``); the draft gets ``order_id``, ``status`` completed and
        ``completed_at``. A completed draft cannot be completed again (422). The answer embeds
        the customer summary (as the real endpoint does), not the whole customer."""
        draft = self._open_draft(draft_id)
        order_body: Record = {
            "email": draft["email"],
            "line_items": [
                {"variant_id": line["variant_id"], "quantity": line["quantity"],
                 "price": line["price"]} if line["variant_id"] is not None else
                {"title": line["title"], "price": line["price"], "quantity": line["quantity"],
                 "sku": line["sku"], "requires_shipping": line["requires_shipping"],
                 "taxable": line["taxable"]}
                for line in draft["line_items"]
            ],
            "financial_status": "pending" if payment_pending else "paid",
            "source_name": "shopify_draft_order",
            "note": draft["note"],
            "note_attributes": draft["note_attributes"],
            "tags": draft["tags"],
            "shipping_address": draft["shipping_address"],
            "billing_address": draft["billing_address"],
        }
        customer_id = self._draft_customer.get(draft_id)
        if customer_id is not None:
            order_body["customer"] = {"id": customer_id}
        if draft["shipping_line"] is not None:
            order_body["shipping_lines"] = [{"title": draft["shipping_line"]["title"] or
                                             "Shipping",
                                             "price": draft["shipping_line"]["price"]}]
        applied = draft["applied_discount"]
        if applied is not None and to_cents(applied["amount"]):
            order_body["discount_codes"] = [{"code": applied["title"] or "Custom",
                                             "amount": applied["amount"],
                                             "type": "fixed_amount"}]
        order = self.create_order({"order": order_body}, at=at)
        stamp, moment = self._moment(at)
        draft["order_id"] = order["id"]
        draft["status"] = "completed"
        draft["completed_at"] = stamp
        self._touch_draft(draft, stamp, moment)
        return self._draft_view(draft_id, summary=True)
