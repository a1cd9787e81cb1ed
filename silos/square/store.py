"""The Square silo's in-memory data: records in Square's JSON shape plus the indexes serving them.

Every write method takes the body Square's own endpoint accepts (``create_customer`` the body of
``POST /v2/customers``, ...) and a keyword-only ``at`` (the record's creation time, ``None`` =
now); the HTTP handlers call the same methods. Read methods take the body of the matching search
or batch endpoint and return the response body. Invalid input raises :class:`SquareError`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from silos.square import catalog as catalog_search
from silos.square import customers as rules
from silos.square.body import (
    get_bool,
    get_enum,
    get_int,
    get_list,
    get_money,
    get_obj,
    get_str,
    get_str_list,
    objects,
    path_of,
    req_obj,
    req_str,
)
from silos.square.errors import bad_request, missing, not_found
from silos.square.formats import (
    IdFactory,
    MoneyCache,
    format_quantity,
    parse_quantity,
    parse_time,
    rfc3339_ms,
    rfc3339_seconds,
    rfc3339_trimmed,
    utc,
)
from silos.square.orders import (
    CLOSED_STATES,
    FULFILLMENT_STATES,
    FULFILLMENT_TYPES,
    ORDER_STATES,
    amounts,
    build_fulfillments,
    build_line_items,
    build_returns,
)
from silos.square.pagination import Key, decode_cursor, encode_cursor, keyset_page

Record = dict[str, Any]
CountKey = tuple[str, str, str]

INVENTORY_STATES = frozenset(
    {
        "CUSTOM",
        "IN_STOCK",
        "SOLD",
        "RETURNED_BY_CUSTOMER",
        "RESERVED_FOR_SALE",
        "SOLD_ONLINE",
        "ORDERED_FROM_VENDOR",
        "RECEIVED_FROM_VENDOR",
        "IN_TRANSIT_TO",
        "NONE",
        "WASTE",
        "UNLINKED_RETURN",
        "COMPOSED",
        "DECOMPOSED",
        "SUPPORTED_BY_NEWER_VERSION",
        "IN_TRANSIT",
    }
)
UNTRACKED_STATES = frozenset({"NONE", "SOLD", "UNLINKED_RETURN"})
TRACKED_STATES = INVENTORY_STATES - UNTRACKED_STATES
READ_ONLY_STATES = INVENTORY_STATES - {"IN_STOCK", "SOLD", "NONE", "WASTE", "UNLINKED_RETURN"}
"""States only Square itself moves quantities to or from (the Inventory API refuses them)."""
_HELD_FULFILLMENT_STATES = frozenset({"PROPOSED", "RESERVED", "PREPARED"})
_TERMINAL_FULFILLMENT_STATES = frozenset({"COMPLETED", "CANCELED", "FAILED"})
_FULFILLMENT_ORDER = ("PROPOSED", "RESERVED", "PREPARED", "COMPLETED")
_UPDATABLE_ORDER_FIELDS = frozenset(
    {"version", "state", "fulfillments", "reference_id", "metadata", "ticket_name"}
)
_CUSTOMER_SORT_FIELDS = frozenset({"DEFAULT", "CREATED_AT"})
_SORT_ORDERS = frozenset({"ASC", "DESC"})
_ORDER_SORT_FIELDS = {
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
    "CLOSED_AT": "closed_at",
}
_CREATION_SOURCES = frozenset(
    {
        "OTHER",
        "APPOINTMENTS",
        "COUPON",
        "DELETION_RECOVERY",
        "DIRECTORY",
        "EGIFTING",
        "EMAIL_COLLECTION",
        "FEEDBACK",
        "IMPORT",
        "INVOICES",
        "LOYALTY",
        "MARKETING",
        "MERGE",
        "ONLINE_STORE",
        "INSTANT_PROFILE",
        "TERMINAL",
        "THIRD_PARTY",
        "THIRD_PARTY_IMPORT",
        "UNMERGE_RECOVERY",
    }
)
_TEXT_FILTERS = ("email_address", "phone_number", "reference_id")
_CUSTOMER_FILTERS = frozenset({*_TEXT_FILTERS, "created_at", "updated_at", "creation_source"})
_ORDER_FILTERS = frozenset(
    {"state_filter", "date_time_filter", "customer_filter", "fulfillment_filter", "source_filter"}
)
_HIGHEST = "\U0010ffff"


def _append(index: dict[str, list[str]], key: str, value: str) -> None:
    bucket = index.get(key)
    if bucket is None:
        index[key] = [value]
    else:
        bucket.append(value)


def _time_bounds(data: dict[str, Any], key: str, prefix: str) -> tuple[str, str] | None:
    """A ``TimeRange`` filter as inclusive bounds in the fixed-width ``rfc3339_ms`` form."""
    time_range = get_obj(data, key, prefix)
    if time_range is None:
        return None
    field = path_of(prefix, key)
    start = get_str(time_range, "start_at", field)
    end = get_str(time_range, "end_at", field)
    low = rfc3339_ms(parse_time(start, f"{field}.start_at")) if start is not None else ""
    high = rfc3339_ms(parse_time(end, f"{field}.end_at")) if end is not None else _HIGHEST
    if low > high:
        raise bad_request("INVALID_TIME_RANGE", "`start_at` must not be after `end_at`", field)
    return low, high


def _holds_stock(order: Record) -> bool:
    return any(
        f["type"] == "PICKUP" and f["state"] in _HELD_FULFILLMENT_STATES
        for f in order.get("fulfillments", ())
    )


def _moved(fulfillment: Record, state: str, stamp: str) -> Record:
    moved = {**fulfillment, "state": state}
    details = moved.get("pickup_details")
    if details is not None:
        details = dict(details)
        stamps = {"RESERVED": ("accepted_at",), "PREPARED": ("accepted_at", "ready_at"),
                  "COMPLETED": ("accepted_at", "ready_at", "picked_up_at"),
                  "CANCELED": ("canceled_at",), "FAILED": ("rejected_at",)}
        for field in stamps.get(state, ()):
            details.setdefault(field, stamp)
        moved["pickup_details"] = details
    return moved


def _writable_state(state: str, field: str) -> None:
    if state in READ_ONLY_STATES:
        raise bad_request(
            "INVALID_VALUE",
            f"The Inventory API cannot move quantities to or from the `{state}` state.",
            field,
        )


Replay = TypeVar("Replay", bound=tuple[Any, ...])


def _replayed(seen: dict[str, Replay], key: str, fingerprint: int) -> Replay | None:
    """What a reused ``idempotency_key`` answered first (its entry starts with the request's
    fingerprint); 400 ``IDEMPOTENCY_KEY_REUSED`` when the request differs."""
    replay = seen.get(key)
    if replay is not None and replay[0] != fingerprint:
        raise bad_request(
            "IDEMPOTENCY_KEY_REUSED",
            "The idempotency key was already used for a different request.",
            "idempotency_key",
        )
    return replay


def _fingerprint(body: dict[str, Any]) -> int:
    return hash(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))


class SquareStore:
    """One Square seller account: locations, customers, catalog, inventory and orders."""

    def __init__(self, seed: int = 0, currency: str = "USD") -> None:
        self.currency = currency
        self._cash = MoneyCache(currency)
        self._ids = IdFactory(seed)
        self.merchant_id = self._ids.location()
        self.locations: dict[str, Record] = {}
        self.customers: dict[str, Record] = {}
        self._customer_created: dict[str, str] = {}
        self._customers_by_email: dict[str, list[str]] = {}
        self._customers_by_phone: dict[str, list[str]] = {}
        self._customers_by_reference: dict[str, list[str]] = {}
        self._customer_keys: dict[str, list[Key]] = {}
        self._customer_idempotency: dict[str, str] = {}
        self.catalog: dict[str, Record] = {}
        self._variations_by_sku: dict[str, list[str]] = {}
        """Variation ids by lower-cased SKU (Square matches SKUs case-insensitively)."""
        self._catalog_keys: list[Key] | None = None
        self._catalog_latest = ""
        self._catalog_idempotency: dict[str, Record] = {}
        self._counts: list[Record] = []
        self._count_quantity: list[Decimal] = []
        self._count_seq: dict[CountKey, int] = {}
        self._count_seqs_by_object: dict[str, list[int]] = {}
        self._inventory_idempotency: dict[str, Record] = {}
        self.orders: dict[str, Record] = {}
        self._orders_by_customer: dict[str, list[str]] = {}
        self._order_keys: dict[str, list[Key]] = {}
        self._order_idempotency: dict[str, tuple[int, str]] = {}
        self._update_idempotency: dict[str, tuple[int, str, Record]] = {}
        self._held: dict[str, list[tuple[str, str, Decimal]]] = {}
        """Order id -> the units its open pickup holds RESERVED_FOR_SALE (object, location,
        quantity)."""
        self._returned: dict[tuple[str, str], Decimal] = {}

    # -- locations ---------------------------------------------------------------------------

    def create_location(self, body: dict[str, Any], *, at: datetime | None = None) -> Record:
        """``POST /v2/locations``: ``{"location": {"name", "address", "coordinates", ...}}``."""
        data = req_obj(body, "location")
        name = req_str(data, "name", "location", max_length=255)
        address = get_obj(data, "address", "location")
        coordinates = get_obj(data, "coordinates", "location")
        if coordinates is not None:
            for axis in ("latitude", "longitude"):
                value = coordinates.get(axis)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise bad_request(
                        "EXPECTED_FLOAT",
                        f"Expected a number for `location.coordinates.{axis}`",
                        f"location.coordinates.{axis}",
                    )
        location_id = self._ids.location()
        while location_id in self.locations:
            location_id = self._ids.location()
        location: Record = {"id": location_id, "name": name}
        if address is not None:
            location["address"] = dict(address)
        location["timezone"] = get_str(data, "timezone", "location") or "UTC"
        location["capabilities"] = ["CREDIT_CARD_PROCESSING"]
        location["status"] = "ACTIVE"
        location["created_at"] = rfc3339_seconds(utc(at))
        location["merchant_id"] = self.merchant_id
        location["country"] = (address or {}).get("country") or "US"
        location["language_code"] = get_str(data, "language_code", "location") or "en-US"
        location["currency"] = self.currency
        for key in (
            "phone_number",
            "business_name",
            "description",
            "mcc",
            "business_email",
            "website_url",
        ):
            value = get_str(data, key, "location")
            if value:
                location[key] = value
        location["type"] = get_enum(
            data, "type", frozenset({"PHYSICAL", "MOBILE"}), "location", default="PHYSICAL"
        )
        if coordinates is not None:
            location["coordinates"] = {
                "latitude": coordinates["latitude"],
                "longitude": coordinates["longitude"],
            }
        self.locations[location_id] = location
        return location

    def list_locations(self) -> dict[str, Any]:
        """``GET /v2/locations``."""
        return {"locations": list(self.locations.values())} if self.locations else {}

    def get_location(self, location_id: str) -> Record:
        location = self.locations.get(location_id)
        if location is None:
            raise not_found(f"Location with ID `{location_id}` not found.")
        return location

    # -- customers ---------------------------------------------------------------------------

    def create_customer(self, body: dict[str, Any], *, at: datetime | None = None) -> Record:
        """``POST /v2/customers``; the same ``idempotency_key`` returns the same customer."""
        key = get_str(body, "idempotency_key", max_length=192)
        if key:
            existing = self._customer_idempotency.get(key)
            if existing is not None:
                return self.customers[existing]
        given = get_str(body, "given_name", max_length=300)
        family = get_str(body, "family_name", max_length=300)
        nickname = get_str(body, "nickname", max_length=100)
        company = get_str(body, "company_name", max_length=500)
        email = get_str(body, "email_address", max_length=254)
        address = get_obj(body, "address")
        phone = get_str(body, "phone_number")
        birthday = get_str(body, "birthday")
        reference = get_str(body, "reference_id", max_length=100)
        note = get_str(body, "note")
        rules.require_identity(body)
        if email:
            rules.check_email(email)
        if phone:
            rules.check_phone(phone)
        if birthday:
            birthday = rules.check_birthday(birthday)
        customer_id = self._ids.customer()
        while customer_id in self.customers:
            customer_id = self._ids.customer()
        when = utc(at)
        stamp = rfc3339_trimmed(when)
        customer: Record = {"id": customer_id, "created_at": stamp, "updated_at": stamp}
        if given:
            customer["given_name"] = given
        if family:
            customer["family_name"] = family
        if nickname:
            customer["nickname"] = nickname
        if company:
            customer["company_name"] = company
        if email:
            customer["email_address"] = email
            _append(self._customers_by_email, email.lower(), customer_id)
        if address:
            customer["address"] = dict(address)
        if phone:
            customer["phone_number"] = phone
            _append(self._customers_by_phone, rules.e164(phone), customer_id)
        if birthday:
            customer["birthday"] = birthday
        if reference:
            customer["reference_id"] = reference
            _append(self._customers_by_reference, reference.lower(), customer_id)
        if note:
            customer["note"] = note
        customer["preferences"] = {"email_unsubscribed": False}
        customer["creation_source"] = "THIRD_PARTY"
        customer["version"] = 0
        self.customers[customer_id] = customer
        self._customer_created[customer_id] = rfc3339_ms(when)
        for field, keys in self._customer_keys.items():
            self._insert_key(keys, self._customer_key(field, customer_id))
        if key:
            self._customer_idempotency[key] = customer_id
        return customer

    def get_customer(self, customer_id: str) -> Record:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise not_found(f"Customer with ID `{customer_id}` not found.")
        return customer

    def bulk_retrieve_customers(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/customers/bulk-retrieve``: per-id results, unknown ids as per-id errors."""
        ids = get_str_list(body, "customer_ids", required=True, max_items=100)
        assert ids is not None
        responses: dict[str, Any] = {}
        for customer_id in ids:
            customer = self.customers.get(customer_id)
            if customer is None:
                error = not_found(f"Customer with ID `{customer_id}` not found.")
                responses[customer_id] = {"errors": [error.error()]}
            else:
                responses[customer_id] = {"customer": customer}
        return {"responses": responses}

    def list_customers(
        self,
        *,
        cursor: str | None = None,
        limit: int = 100,
        sort_field: str = "DEFAULT",
        sort_order: str = "ASC",
        count: bool = False,
    ) -> dict[str, Any]:
        """``GET /v2/customers`` (query parameters already parsed by the handler)."""
        body: dict[str, Any] = {
            "limit": limit,
            "query": {"sort": {"field": sort_field, "order": sort_order}},
            "count": count,
        }
        if cursor is not None:
            body["cursor"] = cursor
        return self.search_customers(body)

    def search_customers(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/customers/search``: exact/fuzzy text filters, time ranges, sort, cursor."""
        limit = get_int(body, "limit", default=100, minimum=1, maximum=100)
        cursor = get_str(body, "cursor")
        want_count = get_bool(body, "count", default=False)
        query = get_obj(body, "query") or {}
        filters = get_obj(query, "filter", "query") or {}
        sort = get_obj(query, "sort", "query") or {}
        field = get_enum(sort, "field", _CUSTOMER_SORT_FIELDS, "query.sort", default="DEFAULT")
        order = get_enum(sort, "order", _SORT_ORDERS, "query.sort", default="ASC")
        assert field is not None and order is not None
        unsupported = sorted(set(filters) - _CUSTOMER_FILTERS)
        if unsupported:
            raise bad_request(
                "BAD_REQUEST",
                f"The emulator does not support the `{unsupported[0]}` customer filter.",
                f"query.filter.{unsupported[0]}",
            )
        candidates, predicates = self._customer_filters(filters)
        kind = f"customers:{field}:{order}"
        types = (str, str, str) if field == "DEFAULT" else (str, str)
        after = decode_cursor(cursor, kind, types) if cursor is not None else None

        def accept(key: Key) -> bool:
            customer = self.customers[key[-1]]
            return all(predicate(customer) for predicate in predicates)

        if candidates is None:
            keys = self._customer_sorted(field)
        else:
            keys = sorted(self._customer_key(field, cid) for cid in candidates)
        page, more = keyset_page(
            keys, after, descending=order == "DESC", limit=limit, accept=accept
        )
        response: dict[str, Any] = {}
        if page:
            response["customers"] = [self.customers[key[-1]] for key in page]
        if more:
            response["cursor"] = encode_cursor(kind, page[-1])
        if want_count:
            response["count"] = sum(1 for key in keys if accept(key))
        return response

    def _customer_filters(
        self, filters: dict[str, Any]
    ) -> tuple[set[str] | None, list[Callable[[Record], bool]]]:
        candidates: set[str] | None = None
        predicates: list[Callable[[Record], bool]] = []
        for name in _TEXT_FILTERS:
            text = get_obj(filters, name, "query.filter")
            if text is None:
                continue
            field = f"query.filter.{name}"
            exact = get_str(text, "exact", field)
            fuzzy = get_str(text, "fuzzy", field)
            if exact is not None and fuzzy is not None:
                raise bad_request(
                    "BAD_REQUEST", "A text filter can be exact or fuzzy, but not both.", field
                )
            if exact is not None:
                found = set(self._exact_customers(name, exact))
                candidates = found if candidates is None else candidates & found
            elif fuzzy is not None:
                predicates.append(self._fuzzy_predicate(name, fuzzy))
        for name in ("created_at", "updated_at"):
            bounds = _time_bounds(filters, name, "query.filter")
            if bounds is not None:
                predicates.append(self._created_between(*bounds))
        source_filter = get_obj(filters, "creation_source", "query.filter")
        if source_filter is not None:
            prefix = "query.filter.creation_source"
            values = set(get_str_list(source_filter, "values", prefix) or ())
            unknown = values - _CREATION_SOURCES
            if unknown:
                raise bad_request(
                    "INVALID_ENUM_VALUE", f"`{min(unknown)}` is not a creation source", prefix
                )
            rule = get_enum(
                source_filter,
                "rule",
                frozenset({"INCLUDE", "EXCLUDE"}),
                prefix,
                default="INCLUDE",
            )
            include = rule == "INCLUDE"
            predicates.append(lambda c: (c["creation_source"] in values) is include)
        return candidates, predicates

    def _created_between(self, low: str, high: str) -> Callable[[Record], bool]:
        created = self._customer_created
        return lambda c: low <= created[c["id"]] <= high

    def _exact_customers(self, name: str, value: str) -> list[str]:
        if name == "email_address":
            return self._customers_by_email.get(value.lower(), [])
        if name == "reference_id":
            return self._customers_by_reference.get(value.lower(), [])
        if not value.lstrip().startswith("+"):
            return []
        return self._customers_by_phone.get(rules.e164(value), [])

    @staticmethod
    def _fuzzy_predicate(name: str, query: str) -> Callable[[Record], bool]:
        if name == "phone_number":
            digit_tokens = [rules.phone_digits(token) for token in query.split()]
            wanted = [token for token in digit_tokens if token]
            return lambda c: (
                bool(wanted)
                and all(
                    token in rules.phone_digits(c.get("phone_number") or "") for token in wanted
                )
            )
        query_tokens = rules.tokens(query)
        return lambda c: bool(query_tokens) and rules.fuzzy_match(c.get(name), query_tokens)

    def _customer_key(self, field: str, customer_id: str) -> Key:
        if field == "CREATED_AT":
            return (self._customer_created[customer_id], customer_id)
        customer = self.customers[customer_id]
        return (
            (customer.get("given_name") or "").lower(),
            (customer.get("family_name") or "").lower(),
            customer_id,
        )

    def _customer_sorted(self, field: str) -> list[Key]:
        keys = self._customer_keys.get(field)
        if keys is None:
            keys = sorted(self._customer_key(field, cid) for cid in self.customers)
            self._customer_keys[field] = keys
        return keys

    @staticmethod
    def _insert_key(keys: list[Key], key: Key) -> None:
        if not keys or keys[-1] <= key:
            keys.append(key)
        else:
            insort(keys, key)

    # -- catalog -----------------------------------------------------------------------------

    def upsert_catalog_object(
        self, body: dict[str, Any], *, at: datetime | None = None
    ) -> dict[str, Any]:
        """``POST /v2/catalog/object`` for an ITEM with its ITEM_VARIATIONs.

        ``#``-prefixed ids are client ids mapped to new Square ids (``id_mappings``); a real id
        updates that item. Returns the response body (``catalog_object``, ``id_mappings``).
        """
        key = req_str(body, "idempotency_key", max_length=128)
        replay = self._catalog_idempotency.get(key)
        if replay is not None:
            return replay
        data = req_obj(body, "object")
        kind = req_str(data, "type", "object")
        if kind != "ITEM":
            raise bad_request(
                "INVALID_VALUE",
                "The emulator upserts ITEM objects (with their variations) only.",
                "object.type",
            )
        client_id = req_str(data, "id", "object")
        item_data = req_obj(data, "item_data", "object")
        name = req_str(item_data, "name", "object.item_data", max_length=512)
        raw_variations = get_list(item_data, "variations", "object.item_data") or []
        previous: Record | None = None
        if not client_id.startswith("#"):
            previous = self.catalog.get(client_id)
            if previous is None or previous["type"] != "ITEM":
                raise not_found(f"Catalog object with ID `{client_id}` not found.", "object.id")
        old_variations = (
            {v["id"] for v in previous["item_data"].get("variations", ())} if previous else set()
        )
        when = utc(at)
        stamp = rfc3339_ms(when)
        version = int(when.timestamp() * 1000)
        item_id = previous["id"] if previous is not None else self._new_catalog_id()
        mappings: list[dict[str, str]] = []
        if previous is None:
            mappings.append({"client_object_id": client_id, "object_id": item_id})
        variations: list[Record] = []
        for ordinal, (path, raw) in enumerate(
            objects(raw_variations, "object.item_data.variations")
        ):
            if raw.get("type", "ITEM_VARIATION") != "ITEM_VARIATION":
                raise bad_request(
                    "INVALID_VALUE", "Item variations must be ITEM_VARIATION", f"{path}.type"
                )
            variation_client_id = req_str(raw, "id", path)
            if variation_client_id.startswith("#"):
                variation_id = self._new_catalog_id()
                mappings.append(
                    {"client_object_id": variation_client_id, "object_id": variation_id}
                )
            elif variation_client_id in old_variations:
                variation_id = variation_client_id
            else:
                raise not_found(
                    f"Catalog object with ID `{variation_client_id}` not found.", f"{path}.id"
                )
            variations.append(
                self._variation(raw, path, variation_id, item_id, ordinal, stamp, version)
            )
        item = {
            "type": "ITEM",
            "id": item_id,
            "updated_at": stamp,
            "version": version,
            "is_deleted": False,
            "present_at_all_locations": True,
            "item_data": {**item_data, "name": name, "variations": variations},
        }
        if previous is not None:
            for old in previous["item_data"].get("variations", ()):
                self.catalog.pop(old["id"], None)
                sku = old["item_variation_data"].get("sku")
                if sku:
                    self._variations_by_sku[sku.lower()].remove(old["id"])
        self.catalog[item_id] = item
        for variation in variations:
            self.catalog[variation["id"]] = variation
            sku = variation["item_variation_data"].get("sku")
            if sku:
                _append(self._variations_by_sku, sku.lower(), variation["id"])
        self._catalog_keys = None
        self._catalog_latest = max(self._catalog_latest, stamp)
        response: dict[str, Any] = {"catalog_object": item}
        if mappings:
            response["id_mappings"] = mappings
        self._catalog_idempotency[key] = response
        return response

    def _new_catalog_id(self) -> str:
        object_id = self._ids.catalog()
        while object_id in self.catalog:
            object_id = self._ids.catalog()
        return object_id

    def _variation(
        self,
        raw: Record,
        path: str,
        variation_id: str,
        item_id: str,
        ordinal: int,
        stamp: str,
        version: int,
    ) -> Record:
        prefix = f"{path}.item_variation_data"
        data = req_obj(raw, "item_variation_data", path)
        get_str(data, "name", prefix, max_length=255)
        get_str(data, "sku", prefix, max_length=255)
        pricing = get_enum(
            data,
            "pricing_type",
            frozenset({"FIXED_PRICING", "VARIABLE_PRICING"}),
            prefix,
            default="FIXED_PRICING",
        )
        price = get_money(data, "price_money", prefix, self.currency)
        if pricing == "FIXED_PRICING" and price is None:
            raise missing(f"{prefix}.price_money")
        out = {
            **data,
            "item_id": item_id,
            "ordinal": get_int(data, "ordinal", prefix, default=ordinal),
            "pricing_type": pricing,
        }
        if price is not None:
            out["price_money"] = self._cash[price]
        return {
            "type": "ITEM_VARIATION",
            "id": variation_id,
            "updated_at": stamp,
            "version": version,
            "is_deleted": False,
            "present_at_all_locations": True,
            "item_variation_data": out,
        }

    def variations_by_sku(self, sku: str) -> list[Record]:
        """The ITEM_VARIATION objects carrying ``sku`` (Square does not enforce unique SKUs)."""
        return [
            variation
            for vid in self._variations_by_sku.get(sku.lower(), ())
            if (variation := self.catalog[vid])["item_variation_data"].get("sku") == sku
        ]

    def search_catalog_objects(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/catalog/search``: ``object_types``, ``exact_query`` / ``set_query``,
        ``begin_time``, ``include_related_objects``, ``cursor`` / ``limit`` (advisory).

        Objects come in catalog-id order; ``latest_time`` is when the catalog last changed.
        """
        search = catalog_search.parse_search(body)
        after = (
            decode_cursor(search.cursor, "catalog", (str,)) if search.cursor is not None else None
        )
        if search.attribute == "sku" and search.values is not None:
            keys = sorted(
                (vid,)
                for value in search.values
                for vid in self._variations_by_sku.get(value, ())
            )
        else:
            if self._catalog_keys is None:
                self._catalog_keys = sorted((object_id,) for object_id in self.catalog)
            keys = self._catalog_keys
        catalog = self.catalog
        page, more = keyset_page(
            keys,
            after,
            descending=False,
            limit=search.limit,
            accept=lambda key: search.accepts(catalog[key[0]]),
        )
        response: dict[str, Any] = {}
        objects_found = [catalog[key[0]] for key in page]
        if objects_found:
            response["objects"] = objects_found
            if search.include_related:
                related = catalog_search.related_objects(objects_found, catalog.get)
                if related:
                    response["related_objects"] = related
        if more:
            response["cursor"] = encode_cursor("catalog", page[-1])
        if self._catalog_latest:
            response["latest_time"] = self._catalog_latest
        return response

    def batch_retrieve_catalog_objects(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/catalog/batch-retrieve``; unknown ids are left out, as Square does."""
        ids = get_str_list(body, "object_ids", required=True, max_items=1000)
        assert ids is not None
        include_related = get_bool(body, "include_related_objects", default=False)
        found: dict[str, Record] = {}
        for object_id in ids:
            obj = self.catalog.get(object_id)
            if obj is not None:
                found[object_id] = obj
        response: dict[str, Any] = {}
        if found:
            response["objects"] = list(found.values())
        if include_related:
            related: dict[str, Record] = {}
            for obj in found.values():
                if obj["type"] == "ITEM_VARIATION":
                    parent_id = obj["item_variation_data"]["item_id"]
                    if parent_id not in found:
                        related[parent_id] = self.catalog[parent_id]
            if related:
                response["related_objects"] = list(related.values())
        return response

    # -- inventory ---------------------------------------------------------------------------

    def batch_change_inventory(
        self, body: dict[str, Any], *, at: datetime | None = None
    ) -> dict[str, Any]:
        """``POST /v2/inventory/changes/batch-create`` with PHYSICAL_COUNT and ADJUSTMENT changes.

        Changes apply in request order (not re-sorted by ``occurred_at``). Returns the response
        body: the created ``changes`` and the current ``counts`` of the objects touched.
        """
        key = req_str(body, "idempotency_key", max_length=128)
        replay = self._inventory_idempotency.get(key)
        if replay is not None:
            return replay
        raw_changes = get_list(body, "changes", max_items=100) or []
        ignore_unchanged = get_bool(body, "ignore_unchanged_counts", default=True)
        stamp = rfc3339_ms(utc(at))
        planned = [
            self._plan_change(path, change) for path, change in objects(raw_changes, "changes")
        ]
        changes: list[Record] = []
        touched: dict[tuple[str, str], None] = {}
        for kind, detail, quantity in planned:
            object_id = detail["catalog_object_id"]
            location_id = detail["location_id"]
            touched[(object_id, location_id)] = None
            if kind == "PHYSICAL_COUNT":
                seq = self._count_seq.get((object_id, location_id, detail["state"]))
                if ignore_unchanged and seq is not None and self._count_quantity[seq] == quantity:
                    continue
                self._set_count(object_id, location_id, detail["state"], quantity, stamp)
                field = "physical_count"
            else:
                if detail["from_state"] in TRACKED_STATES:
                    self._add_count(object_id, location_id, detail["from_state"], -quantity, stamp)
                if detail["to_state"] in TRACKED_STATES:
                    self._add_count(object_id, location_id, detail["to_state"], quantity, stamp)
                field = "adjustment"
            detail["id"] = self._ids.catalog()
            detail["created_at"] = stamp
            changes.append({"type": kind, field: detail})
        counts = [
            dict(self._counts[seq])
            for object_id, location_id in touched
            for seq in self._count_seqs_by_object.get(object_id, ())
            if self._counts[seq]["location_id"] == location_id
        ]
        response: dict[str, Any] = {}
        if counts:
            response["counts"] = counts
        if changes:
            response["changes"] = changes
        self._inventory_idempotency[key] = response
        return response

    def _plan_change(self, path: str, change: Record) -> tuple[str, Record, Decimal]:
        kind = get_enum(change, "type", frozenset({"PHYSICAL_COUNT", "ADJUSTMENT"}), path)
        if kind is None:
            raise missing(f"{path}.type")
        name = "physical_count" if kind == "PHYSICAL_COUNT" else "adjustment"
        prefix = f"{path}.{name}"
        data = req_obj(change, name, path)
        object_id = req_str(data, "catalog_object_id", prefix)
        location_id = req_str(data, "location_id", prefix)
        target = self.catalog.get(object_id)
        if target is None or target["type"] != "ITEM_VARIATION":
            raise not_found(
                f"Item variation with catalog object ID `{object_id}` not found.",
                f"{prefix}.catalog_object_id",
            )
        if location_id not in self.locations:
            raise not_found(f"Location with ID `{location_id}` not found.", f"{prefix}.location_id")
        quantity = parse_quantity(
            req_str(data, "quantity", prefix),
            f"{prefix}.quantity",
            allow_zero=kind == "PHYSICAL_COUNT",
        )
        occurred_at = rfc3339_ms(
            parse_time(req_str(data, "occurred_at", prefix), f"{prefix}.occurred_at")
        )
        detail: Record = {**data, "catalog_object_type": "ITEM_VARIATION"}
        if kind == "PHYSICAL_COUNT":
            state = get_enum(data, "state", TRACKED_STATES, prefix)
            if state is None:
                raise missing(f"{prefix}.state")
            _writable_state(state, f"{prefix}.state")
        else:
            for side in ("from_state", "to_state"):
                value = get_enum(data, side, INVENTORY_STATES, prefix)
                if value is None:
                    raise missing(f"{prefix}.{side}")
                _writable_state(value, f"{prefix}.{side}")
        detail["quantity"] = format_quantity(quantity)
        detail["occurred_at"] = occurred_at
        return kind, detail, quantity

    def _count_for(self, object_id: str, location_id: str, state: str, stamp: str) -> int:
        key = (object_id, location_id, state)
        seq = self._count_seq.get(key)
        if seq is None:
            seq = len(self._counts)
            self._counts.append(
                {
                    "catalog_object_id": object_id,
                    "catalog_object_type": "ITEM_VARIATION",
                    "state": state,
                    "location_id": location_id,
                    "quantity": "0",
                    "calculated_at": stamp,
                }
            )
            self._count_quantity.append(Decimal(0))
            self._count_seq[key] = seq
            self._count_seqs_by_object.setdefault(object_id, []).append(seq)
        return seq

    def _set_count(
        self, object_id: str, location_id: str, state: str, quantity: Decimal, stamp: str
    ) -> None:
        seq = self._count_for(object_id, location_id, state, stamp)
        self._count_quantity[seq] = quantity
        count = self._counts[seq]
        count["quantity"] = format_quantity(quantity)
        count["calculated_at"] = stamp

    def _add_count(
        self, object_id: str, location_id: str, state: str, delta: Decimal, stamp: str
    ) -> None:
        seq = self._count_for(object_id, location_id, state, stamp)
        self._set_count(object_id, location_id, state, self._count_quantity[seq] + delta, stamp)

    def batch_retrieve_inventory_counts(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/inventory/counts/batch-retrieve``: filtered counts in a stable order."""
        object_ids = get_str_list(body, "catalog_object_ids", max_items=1000)
        location_ids = get_str_list(body, "location_ids", max_items=1000)
        states = get_str_list(body, "states")
        if states is not None:
            for index, state in enumerate(states):
                if state not in INVENTORY_STATES:
                    raise bad_request(
                        "INVALID_ENUM_VALUE",
                        f"`{state}` is not a valid inventory state",
                        f"states[{index}]",
                    )
        updated_after_raw = get_str(body, "updated_after")
        updated_after = (
            rfc3339_ms(parse_time(updated_after_raw, "updated_after"))
            if updated_after_raw is not None
            else ""
        )
        limit = get_int(body, "limit", default=1000, minimum=1, maximum=1000)
        cursor = get_str(body, "cursor")
        after = decode_cursor(cursor, "counts", (int,)) if cursor is not None else None
        if object_ids is None:
            seqs: Iterable[int] = range(len(self._counts))
        else:
            seqs = sorted(
                seq
                for object_id in dict.fromkeys(object_ids)
                for seq in self._count_seqs_by_object.get(object_id, ())
            )
        location_set = set(location_ids) if location_ids is not None else None
        state_set = set(states) if states is not None else None
        counts = self._counts

        def accept(key: Key) -> bool:
            count = counts[key[0]]
            return (
                (location_set is None or count["location_id"] in location_set)
                and (state_set is None or count["state"] in state_set)
                and count["calculated_at"] > updated_after
            )

        keys = [(seq,) for seq in seqs]
        page, more = keyset_page(keys, after, descending=False, limit=limit, accept=accept)
        response: dict[str, Any] = {}
        if page:
            response["counts"] = [counts[key[0]] for key in page]
        if more:
            response["cursor"] = encode_cursor("counts", page[-1])
        return response

    # -- orders ------------------------------------------------------------------------------

    def create_order(self, body: dict[str, Any], *, at: datetime | None = None) -> Record:
        """``POST /v2/orders``: sales (``line_items``), returns, a fulfillment; returns the order.

        Sandbox convenience: ``order.state`` may be ``COMPLETED`` or ``CANCELED`` at creation
        (real orders complete when paid); ``closed_at`` is then the creation time. Reusing an
        ``idempotency_key`` returns the first order, or 400 ``IDEMPOTENCY_KEY_REUSED`` if the
        body differs.
        """
        key = get_str(body, "idempotency_key", max_length=192)
        fingerprint = _fingerprint(body) if key else 0
        if key and (replay := _replayed(self._order_idempotency, key, fingerprint)):
            return self.orders[replay[1]]
        data = req_obj(body, "order")
        location_id = req_str(data, "location_id", "order")
        if location_id not in self.locations:
            raise not_found(f"Location with ID `{location_id}` not found.", "order.location_id")
        reference_id = get_str(data, "reference_id", "order", max_length=40)
        customer_id = get_str(data, "customer_id", "order", max_length=191)
        state = get_enum(data, "state", ORDER_STATES, "order", default="OPEN")
        assert state is not None
        source = get_obj(data, "source", "order")
        ticket_name = get_str(data, "ticket_name", "order", max_length=30)
        metadata = get_obj(data, "metadata", "order")
        cash = self._cash
        uid = self._ids.uid
        lines, sales_total = build_line_items(
            get_list(data, "line_items", "order") or [], self.catalog, cash, uid
        )
        raw_returns = get_list(data, "returns", "order")
        returns = (
            build_returns(raw_returns, self.orders, self._returned, self.catalog, cash, uid)
            if raw_returns
            else None
        )
        when = utc(at)
        stamp = rfc3339_ms(when)
        fulfillments = build_fulfillments(get_list(data, "fulfillments", "order") or [], stamp, uid)
        order_id = self._ids.order()
        while order_id in self.orders:
            order_id = self._ids.order()
        order: Record = {"id": order_id, "location_id": location_id}
        if reference_id:
            order["reference_id"] = reference_id
        if source is not None:
            order["source"] = dict(source)
        if customer_id:
            order["customer_id"] = customer_id
        if lines:
            order["line_items"] = lines
        if fulfillments:
            order["fulfillments"] = fulfillments
        return_total = 0
        if returns is not None:
            order["returns"] = returns.returns
            return_total = returns.total
            order["return_amounts"] = amounts(return_total, cash)
        order["net_amounts"] = amounts(sales_total - return_total, cash)
        if metadata is not None:
            order["metadata"] = dict(metadata)
        if ticket_name:
            order["ticket_name"] = ticket_name
        order["created_at"] = stamp
        order["updated_at"] = stamp
        if state in CLOSED_STATES:
            order["closed_at"] = stamp
        order["state"] = state
        order["version"] = 1
        zero = cash[0]
        order["total_money"] = cash[sales_total]
        order["total_tax_money"] = zero
        order["total_discount_money"] = zero
        order["total_tip_money"] = zero
        order["total_service_charge_money"] = zero
        self.orders[order_id] = order
        if customer_id:
            _append(self._orders_by_customer, customer_id, order_id)
        if returns is not None:
            for taken_key, quantity in returns.taken.items():
                self._returned[taken_key] = self._returned.get(taken_key, Decimal(0)) + quantity
        for field, keys in self._order_keys.items():
            value = order.get(field)
            if value is not None:
                self._insert_key(keys, (value, order_id))
        if key:
            self._order_idempotency[key] = (fingerprint, order_id)
        if state == "OPEN" and _holds_stock(order):
            self._hold(order, stamp)
        return order

    # -- order updates and the stock an open pickup holds -----------------------------------

    def update_order(
        self, order_id: str, body: dict[str, Any], *, at: datetime | None = None
    ) -> Record:
        """``PUT /v2/orders/{order_id}``: a sparse order moving the order and its
        fulfillments on.

        ``order.version`` must be the order's current version (else 400 ``VERSION_MISMATCH``);
        the emulator updates ``state``, fulfillment states (matched by ``uid``),
        ``reference_id``, ``metadata`` and ``ticket_name`` and refuses other fields. Order
        states move OPEN → COMPLETED | CANCELED (a closed order cannot change), and an order
        completes only when its fulfillments are COMPLETED, CANCELED or FAILED. Fulfillments
        move forward PROPOSED → RESERVED → PREPARED → COMPLETED, or to CANCELED | FAILED.

        Stock: an OPEN order with a PICKUP fulfillment not yet collected holds its catalog
        units RESERVED_FOR_SALE at its location (from creation); completing the order sells
        them (SOLD), cancelling it (or its pickup) puts them back IN_STOCK. A repeated
        ``idempotency_key`` answers the first update (400 ``IDEMPOTENCY_KEY_REUSED`` if the
        body differs).
        """
        key = get_str(body, "idempotency_key", max_length=192)
        fingerprint = _fingerprint({**body, "order_id": order_id})
        if key and (replay := _replayed(self._update_idempotency, key, fingerprint)):
            return replay[2]
        order = self.get_order(order_id)
        data = req_obj(body, "order")
        unsupported = sorted(set(data) - _UPDATABLE_ORDER_FIELDS)
        if unsupported or body.get("fields_to_clear"):
            field = f"order.{unsupported[0]}" if unsupported else "fields_to_clear"
            raise bad_request(
                "BAD_REQUEST", "The sandbox updates only state, fulfillments, reference_id, "
                "metadata and ticket_name.", field)
        if data.get("version") is None:
            raise missing("order.version")
        version = get_int(data, "version", "order", default=0)
        if version != order["version"]:
            raise bad_request(
                "VERSION_MISMATCH",
                f"The order version `{version}` does not match the server version "
                f"`{order['version']}`.",
                "order.version",
            )
        if order["state"] in CLOSED_STATES:
            raise bad_request(
                "BAD_REQUEST", f"An order in the `{order['state']}` state cannot be updated.",
                "order.state")
        state = get_enum(data, "state", ORDER_STATES, "order")
        changes = self._fulfillment_changes(order, get_list(data, "fulfillments", "order") or [])
        future = {f["uid"]: changes.get(f["uid"], f["state"])
                  for f in order.get("fulfillments", ())}
        if state == "COMPLETED" and any(
            s not in _TERMINAL_FULFILLMENT_STATES for s in future.values()
        ):
            raise bad_request(
                "BAD_REQUEST", "An order can only be completed when its fulfillments are "
                "COMPLETED, CANCELED or FAILED.", "order.state")
        if state == "DRAFT" and order["state"] != "DRAFT":
            raise bad_request("BAD_REQUEST", f"An order cannot move to `{state}`.",
                              "order.state")
        stamp = rfc3339_ms(utc(at))
        updated = dict(order)
        for field in ("reference_id", "ticket_name"):
            value = get_str(data, field, "order", max_length=40 if field == "reference_id"
                            else 30)
            if value is not None:
                updated[field] = value
        metadata = get_obj(data, "metadata", "order")
        if metadata is not None:
            updated["metadata"] = {**(order.get("metadata") or {}), **metadata}
        if changes:
            updated["fulfillments"] = [
                _moved(f, changes[f["uid"]], stamp) if f["uid"] in changes else f
                for f in order.get("fulfillments", ())
            ]
        if state is not None and state != order["state"]:
            updated["state"] = state
            if state in CLOSED_STATES:
                updated["closed_at"] = stamp
        updated["updated_at"] = stamp
        updated["version"] = order["version"] + 1
        self._replace_order(order, updated)
        if updated["state"] == "COMPLETED":
            self._sell(updated, stamp)
        elif updated["state"] == "CANCELED" or not _holds_stock(updated):
            self._release(order_id, stamp)
        if key:
            self._update_idempotency[key] = (fingerprint, order_id, updated)
        return updated

    def _fulfillment_changes(self, order: Record, raw: list[Any]) -> dict[str, str]:
        current = {f["uid"]: f for f in order.get("fulfillments", ())}
        changes: dict[str, str] = {}
        for path, item in objects(raw, "order.fulfillments"):
            uid = get_str(item, "uid", path)
            if uid is None or uid not in current:
                raise bad_request(
                    "BAD_REQUEST", "The sandbox cannot add fulfillments to an order.",
                    f"{path}.uid")
            target = get_enum(item, "state", FULFILLMENT_STATES, path)
            if target is None:
                continue
            now = current[uid]["state"]
            if target == now:
                continue
            backwards = (target in _FULFILLMENT_ORDER and now in _FULFILLMENT_ORDER
                         and _FULFILLMENT_ORDER.index(target) < _FULFILLMENT_ORDER.index(now))
            if now in _TERMINAL_FULFILLMENT_STATES or backwards:
                raise bad_request(
                    "BAD_REQUEST",
                    f"A fulfillment cannot move from `{now}` to `{target}`.",
                    f"{path}.state",
                )
            changes[uid] = target
        return changes

    def _replace_order(self, old: Record, new: Record) -> None:
        order_id = old["id"]
        for field, keys in self._order_keys.items():
            before, after = old.get(field), new.get(field)
            if before == after:
                continue
            if before is not None:
                at = bisect_left(keys, (before, order_id))
                if at < len(keys) and keys[at] == (before, order_id):
                    del keys[at]
            if after is not None:
                self._insert_key(keys, (after, order_id))
        self.orders[order_id] = new

    def _catalog_units(self, order: Record) -> list[tuple[str, str, Decimal]]:
        return [
            (line["catalog_object_id"], order["location_id"],
             parse_quantity(line["quantity"], "quantity"))
            for line in order.get("line_items", ())
            if line.get("catalog_object_id") in self.catalog
        ]

    def _hold(self, order: Record, stamp: str) -> None:
        held = self._catalog_units(order)
        for object_id, location_id, quantity in held:
            self._add_count(object_id, location_id, "IN_STOCK", -quantity, stamp)
            self._add_count(object_id, location_id, "RESERVED_FOR_SALE", quantity, stamp)
        self._held[order["id"]] = held

    def _release(self, order_id: str, stamp: str) -> None:
        for object_id, location_id, quantity in self._held.pop(order_id, ()):
            self._add_count(object_id, location_id, "RESERVED_FOR_SALE", -quantity, stamp)
            self._add_count(object_id, location_id, "IN_STOCK", quantity, stamp)

    def _sell(self, order: Record, stamp: str) -> None:
        held = self._held.pop(order["id"], None)
        if held is not None:
            for object_id, location_id, quantity in held:
                self._add_count(object_id, location_id, "RESERVED_FOR_SALE", -quantity, stamp)
            return
        for object_id, location_id, quantity in self._catalog_units(order):
            self._add_count(object_id, location_id, "IN_STOCK", -quantity, stamp)

    def get_order(self, order_id: str) -> Record:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found(f"Order with ID `{order_id}` not found.")
        return order

    def batch_retrieve_orders(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/orders/batch-retrieve``; unknown ids are ignored, as Square does."""
        ids = get_str_list(body, "order_ids", required=True, max_items=100)
        assert ids is not None
        location_id = get_str(body, "location_id")
        found: list[Record] = []
        for order_id in dict.fromkeys(ids):
            order = self.orders.get(order_id)
            if order is not None and (location_id is None or order["location_id"] == location_id):
                found.append(order)
        return {"orders": found} if found else {}

    def search_orders(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/orders/search``: location, customer, state, time and fulfillment filters."""
        location_ids = get_str_list(body, "location_ids", required=True, max_items=10)
        assert location_ids is not None
        for index, location_id in enumerate(location_ids):
            if location_id not in self.locations:
                raise not_found(
                    f"Location with ID `{location_id}` not found.", f"location_ids[{index}]"
                )
        limit = get_int(body, "limit", default=500, minimum=1, maximum=1000)
        return_entries = get_bool(body, "return_entries", default=False)
        cursor = get_str(body, "cursor")
        query = get_obj(body, "query") or {}
        filters = get_obj(query, "filter", "query") or {}
        sort = get_obj(query, "sort", "query")
        unsupported = sorted(set(filters) - _ORDER_FILTERS)
        if unsupported:
            raise bad_request(
                "BAD_REQUEST",
                f"Unknown order filter `{unsupported[0]}`.",
                f"query.filter.{unsupported[0]}",
            )
        sort_field = "CREATED_AT"
        sort_order = "DESC"
        if sort is not None:
            chosen = get_enum(sort, "sort_field", frozenset(_ORDER_SORT_FIELDS), "query.sort")
            if chosen is None:
                raise missing("query.sort.sort_field")
            sort_field = chosen
            sort_order = (
                get_enum(sort, "sort_order", _SORT_ORDERS, "query.sort", default="DESC") or "DESC"
            )
        field = _ORDER_SORT_FIELDS[sort_field]
        predicates: list[Callable[[Record], bool]] = []
        locations = set(location_ids)
        if not locations.issuperset(self.locations):
            predicates.append(lambda o: o["location_id"] in locations)
        states = self._order_state_filter(filters, predicates)
        if sort_field == "CLOSED_AT" and (states is None or not states <= CLOSED_STATES):
            raise bad_request(
                "BAD_REQUEST",
                "Sorting by CLOSED_AT requires a state_filter with closed states only.",
                "query.filter.state_filter",
            )
        bounds = self._order_time_filter(filters, field)
        customer_ids = self._order_other_filters(filters, predicates)
        kind = f"orders:{sort_field}:{sort_order}"
        after = decode_cursor(cursor, kind, (str, str)) if cursor is not None else None
        if customer_ids is None:
            keys = self._order_sorted(field)
        else:
            keys = sorted(
                (order[field], order_id)
                for customer_id in customer_ids
                for order_id in self._orders_by_customer.get(customer_id, ())
                if (order := self.orders[order_id]).get(field) is not None
            )
        low, high = 0, len(keys)
        if bounds is not None:
            low = bisect_left(keys, (bounds[0],))
            high = bisect_right(keys, (bounds[1], _HIGHEST))
        orders = self.orders

        def accept(key: Key) -> bool:
            order = orders[key[1]]
            return all(predicate(order) for predicate in predicates)

        page, more = keyset_page(
            keys,
            after,
            descending=sort_order == "DESC",
            limit=limit,
            accept=accept if predicates else None,
            low=low,
            high=high,
        )
        response: dict[str, Any] = {}
        if page:
            if return_entries:
                response["order_entries"] = [
                    {
                        "order_id": key[1],
                        "version": orders[key[1]]["version"],
                        "location_id": orders[key[1]]["location_id"],
                    }
                    for key in page
                ]
            else:
                response["orders"] = [orders[key[1]] for key in page]
        if more:
            response["cursor"] = encode_cursor(kind, page[-1])
        return response

    @staticmethod
    def _order_state_filter(
        filters: dict[str, Any], predicates: list[Callable[[Record], bool]]
    ) -> set[str] | None:
        state_filter = get_obj(filters, "state_filter", "query.filter")
        if state_filter is None:
            return None
        prefix = "query.filter.state_filter"
        values = get_str_list(state_filter, "states", prefix, required=True)
        assert values is not None
        for index, state in enumerate(values):
            if state not in ORDER_STATES:
                raise bad_request(
                    "INVALID_ENUM_VALUE",
                    f"`{state}` is not a valid order state",
                    f"{prefix}.states[{index}]",
                )
        states = set(values)
        predicates.append(lambda o: o["state"] in states)
        return states

    @staticmethod
    def _order_time_filter(filters: dict[str, Any], field: str) -> tuple[str, str] | None:
        time_filter = get_obj(filters, "date_time_filter", "query.filter")
        if time_filter is None:
            return None
        prefix = "query.filter.date_time_filter"
        used = [name for name in ("created_at", "updated_at", "closed_at") if time_filter.get(name)]
        if len(used) > 1:
            raise bad_request(
                "BAD_REQUEST", "Only one time range can be filtered at a time.", prefix
            )
        if not used:
            return None
        if used[0] != field:
            raise bad_request(
                "BAD_REQUEST",
                f"The query.sort.sort_field must match the {used[0]} time range filter.",
                "query.sort.sort_field",
            )
        return _time_bounds(time_filter, used[0], prefix)

    @staticmethod
    def _order_other_filters(
        filters: dict[str, Any], predicates: list[Callable[[Record], bool]]
    ) -> list[str] | None:
        customer_ids: list[str] | None = None
        customer_filter = get_obj(filters, "customer_filter", "query.filter")
        if customer_filter is not None:
            customer_ids = get_str_list(
                customer_filter,
                "customer_ids",
                "query.filter.customer_filter",
                required=True,
                max_items=10,
            )
            assert customer_ids is not None
            customer_ids = list(dict.fromkeys(customer_ids))
        fulfillment_filter = get_obj(filters, "fulfillment_filter", "query.filter")
        if fulfillment_filter is not None:
            prefix = "query.filter.fulfillment_filter"
            types = set(get_str_list(fulfillment_filter, "fulfillment_types", prefix) or ())
            fstates = set(get_str_list(fulfillment_filter, "fulfillment_states", prefix) or ())
            if not types <= FULFILLMENT_TYPES or not fstates <= FULFILLMENT_STATES:
                raise bad_request(
                    "INVALID_ENUM_VALUE", "Unknown fulfillment type or state.", prefix
                )

            def fulfilled(order: Record) -> bool:
                return any(
                    (not types or f["type"] in types) and (not fstates or f["state"] in fstates)
                    for f in order.get("fulfillments", ())
                )

            predicates.append(fulfilled)
        source_filter = get_obj(filters, "source_filter", "query.filter")
        if source_filter is not None:
            names = set(
                get_str_list(source_filter, "source_names", "query.filter.source_filter") or ()
            )
            if names:
                predicates.append(lambda o: (o.get("source") or {}).get("name") in names)
        return customer_ids

    def _order_sorted(self, field: str) -> list[Key]:
        keys = self._order_keys.get(field)
        if keys is None:
            keys = sorted(
                (value, order_id)
                for order_id, order in self.orders.items()
                if (value := order.get(field)) is not None
            )
            self._order_keys[field] = keys
        return keys
