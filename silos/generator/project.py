"""Project the population into the four systems, the way real retail data looks."""

from __future__ import annotations

import gc
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from silos.generator.catalog import STORES, WAREHOUSES, Sku, build_catalog
from silos.generator.heavy import add_heavy_customers
from silos.generator.journeys import add_abandoned_carts, add_journeys
from silos.generator.locales import (
    LOCALES,
    build_locale_population,
    record_full_name,
    record_name,
)
from silos.generator.noise import email_variant, name_variant, phone_variant
from silos.generator.people import Person, build_population
from silos.generator.truth import Journey
from silos.shopify import ShopifyStore
from silos.shopify.records import pickup_shipping_line
from silos.square import SquareStore
from silos.zendesk import ZendeskStore

AS_OF = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ORDER_NUMBER_FIELD_ID = 360001234567
JUNK_EMAILS = ("test@test.com", "", "none@none.com", "noemail@example.com")
JUNK_PHONES = ("0000000000", "", "1111111111", "000-000-0000")

TICKET_SUBJECTS_ORDER = (
    "Where is my order {ref}?",
    "Wrong size received in order {ref}",
    "Return for order {ref}",
    "Pickup for {ref} not ready",
    "Refund not received for {ref}",
    "Item missing from {ref}",
)
TICKET_SUBJECTS_OTHER = (
    "Loyalty points missing",
    "Question about sizing",
    "Update my address",
    "Store opening hours",
    "Gift card balance",
)
VIA = (("email", 40), ("web", 25), ("voice", 20), ("chat", 15))
STATUSES = (("new", 10), ("open", 20), ("pending", 10), ("solved", 40), ("closed", 20))


@dataclass(frozen=True, slots=True)
class StoreLink:
    """One physical store as both systems know it; the gateway config carries this mapping."""

    code: str
    name: str
    shopify_location_id: int
    square_location_id: str
    latitude: float
    longitude: float


@dataclass
class Sandbox:
    """Everything the generator made: the three stores, loyalty rows and the ground truth.

    ``ground_truth`` has one row per person (``person``, ``records``; a heavy customer's row
    also has ``events``, the number of timeline events expected per system); ``journeys`` the
    cross-channel stories (see :mod:`silos.generator.journeys`); ``heavy`` the person keys of
    the heavy customers.
    """

    seed: int
    as_of: datetime
    shopify: ShopifyStore
    square: SquareStore
    zendesk: ZendeskStore
    loyalty_members: list[dict[str, Any]]
    loyalty_points: list[dict[str, Any]]
    ground_truth: list[dict[str, Any]]
    stores: list[StoreLink]
    warehouse_location_ids: list[int]
    order_number_field_id: int = ORDER_NUMBER_FIELD_ID
    counts: dict[str, int] = field(default_factory=dict)
    journeys: list[Journey] = field(default_factory=list)
    heavy: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Sale:
    """An order as the loyalty ledger and the helpdesk see it."""

    kind: str
    id: str
    ref: str
    at: datetime
    total: Decimal
    channel: str
    returned_at: datetime | None = None
    returned: Decimal = Decimal(0)


def _pick(table: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    roll = rng.randrange(sum(w for _, w in table))
    for value, weight in table:
        if roll < weight:
            return value
        roll -= weight
    return table[-1][0]


def _ts(moment: datetime) -> str:
    return moment.isoformat()


class _Projector:
    def __init__(self, customers: int, seed: int, as_of: datetime, locale: str = "us") -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.as_of = as_of
        self.locale = locale
        self.catalog = build_catalog(self.rng)
        self.people = (build_population(customers, self.rng) if locale == "us"
                       else build_locale_population(customers, self.rng, locale))
        self.shopify = ShopifyStore(seed=seed)
        self.square = SquareStore(seed=seed)
        self.zendesk = ZendeskStore(seed=seed, order_number_field_id=ORDER_NUMBER_FIELD_ID)
        self.variant_by_sku: dict[str, dict[str, Any]] = {}
        self.variation_by_sku: dict[str, str] = {}
        self.links: list[StoreLink] = []
        self.shopify_store_locations: dict[str, dict[str, Any]] = {}
        self.warehouse_ids: list[int] = []
        self.members: list[dict[str, Any]] = []
        self.member_of: dict[str, dict[str, Any]] = {}
        self.stores_by_city: dict[str, list[StoreLink]] = {}
        self.points: list[dict[str, Any]] = []
        self.shopify_phones: set[str] = set()
        self.cards: set[str] = set()
        self.counts: dict[str, int] = {"shopify_orders": 0, "square_orders": 0, "tickets": 0,
                                       "store_returns_of_web_orders": 0, "pickups": 0}
        self.expected_events: dict[str, dict[str, int]] = {}

    # -- the retailer's locations, catalog and stock -------------------------------------
    def seed_locations(self) -> None:
        for wh in WAREHOUSES:
            loc = self.shopify.create_location({"location": {
                "name": wh.name, "address1": wh.address1, "address2": "", "city": wh.city,
                "zip": wh.zip, "province": wh.province, "province_code": wh.province_code,
                "country_code": "US", "phone": "", "active": True}}, at=self.as_of - timedelta(
                    days=1500))
            self.warehouse_ids.append(loc["id"])
        for store in STORES:
            opened = self.as_of - timedelta(days=self.rng.randrange(900, 1400))
            loc = self.shopify.create_location({"location": {
                "name": store.name, "address1": store.address1, "address2": "",
                "city": store.city, "zip": store.zip, "province": store.province,
                "province_code": store.province_code, "country_code": "US",
                "phone": store.phone, "active": True}}, at=opened)
            sq = self.square.create_location({"location": {
                "name": store.name, "business_name": "c360 Outfitters",
                "address": {"address_line_1": store.address1, "locality": store.city,
                            "administrative_district_level_1": store.province_code,
                            "postal_code": store.zip, "country": "US"},
                "coordinates": {"latitude": store.latitude, "longitude": store.longitude},
                "timezone": store.timezone, "phone_number": store.phone}}, at=opened)
            self.shopify_store_locations[store.code] = loc
            link = StoreLink(store.code, store.name, loc["id"], sq["id"], store.latitude,
                             store.longitude)
            self.links.append(link)
            self.stores_by_city.setdefault(store.city, []).append(link)

    def seed_catalog(self) -> None:
        created = self.as_of - timedelta(days=1000)
        by_product: dict[str, list[Sku]] = {}
        for sku in self.catalog:
            by_product.setdefault(sku.product, []).append(sku)
        for index, (title, skus) in enumerate(by_product.items()):
            product = self.shopify.create_product({"product": {
                "title": title, "vendor": "c360 Outfitters", "product_type": skus[0].category,
                "tags": skus[0].category.lower(),
                "variants": [{"title": s.variant, "option1": s.variant, "sku": s.sku,
                              "price": str(s.price)} for s in skus]}}, at=created)
            for variant in product["variants"]:
                self.variant_by_sku[variant["sku"]] = variant
            response = self.square.upsert_catalog_object({
                "idempotency_key": f"catalog-{index}",
                "object": {"type": "ITEM", "id": f"#item{index}", "item_data": {
                    "name": title,
                    "variations": [{"type": "ITEM_VARIATION", "id": f"#var{index}-{n}",
                                    "item_variation_data": {
                                        "name": s.variant, "sku": s.sku,
                                        "pricing_type": "FIXED_PRICING",
                                        "price_money": {"amount": int(s.price * 100),
                                                        "currency": "USD"}}}
                                   for n, s in enumerate(skus)]}}}, at=created)
            for variation in response["catalog_object"]["item_data"]["variations"]:
                self.variation_by_sku[variation["item_variation_data"]["sku"]] = variation["id"]

    def seed_inventory(self) -> None:
        rng = self.rng
        for sku in self.catalog:
            item_id = self.variant_by_sku[sku.sku]["inventory_item_id"]
            for wh in self.warehouse_ids:
                self.shopify.set_inventory_level(
                    {"location_id": wh, "inventory_item_id": item_id,
                     "available": rng.choice((0, rng.randrange(1, 40), rng.randrange(40, 600)))},
                    at=self.as_of - timedelta(hours=rng.randrange(1, 72)))
        changes = []
        for link in self.links:
            for sku in self.catalog:
                quantity = 0 if rng.random() < 0.25 else rng.randrange(1, 30)
                changes.append({"type": "PHYSICAL_COUNT", "physical_count": {
                    "catalog_object_id": self.variation_by_sku[sku.sku],
                    "location_id": link.square_location_id, "quantity": str(quantity),
                    "state": "IN_STOCK",
                    "occurred_at": _ts(self.as_of - timedelta(hours=rng.randrange(1, 48)))}})
        for start in range(0, len(changes), 100):
            self.square.batch_change_inventory(
                {"idempotency_key": f"stock-{start}", "changes": changes[start:start + 100]},
                at=self.as_of - timedelta(hours=1))

    # -- customers -----------------------------------------------------------------------
    def card_number(self) -> str:
        while True:
            card = f"LC-{self.rng.randrange(10**10):010d}"
            if card not in self.cards:
                self.cards.add(card)
                return card

    def project_person(self, person: Person) -> None:
        rng = self.rng
        since = self.as_of - timedelta(days=rng.randrange(40, 1200), minutes=rng.randrange(1440))
        card = self.card_number() if "loyalty" in person.systems else None
        addr = person.address
        if "shopify" in person.systems:
            self.shopify_customer(person, card, since)
        if "square" in person.systems:
            first, last = self.name(person, "square")
            if rng.random() < 0.05:
                first, last = last, first
            email, phone = self.contacts(person, email_share=0.8, phone_share=0.9, alt=True,
                                         junk=True)
            email = email.strip() if email else None
            if phone and "/" in phone:  # an Italian 347/1234567: Square takes no slash
                phone = phone.replace("/", " ")
            body: dict[str, Any] = {"given_name": first, "family_name": last,
                                    "address": {"address_line_1": addr.address1,
                                                "locality": addr.city,
                                                "administrative_district_level_1":
                                                    addr.province_code,
                                                "postal_code": addr.zip,
                                                "country": addr.country_code}}
            if email:
                body["email_address"] = email
            if phone:
                body["phone_number"] = phone
            if card and rng.random() < 0.3:
                body["reference_id"] = card
            customer = self.square.create_customer(
                body, at=since + timedelta(days=rng.randrange(0, 30)))
            person.records["square"] = customer["id"]
        if "zendesk" in person.systems:
            if person.culture == "us":
                first, last = name_variant(person.first, person.last, rng)
                name = f"{first} {last}" if rng.random() > 0.06 else first
            else:
                name = record_full_name(person, rng)
            user: dict[str, Any] = {"name": name, "role": "end-user"}
            email, phone = self.contacts(person, email_share=0.95, phone_share=0.45, alt=True,
                                         junk=False)
            if email:
                user["email"] = email
            if phone:
                user["phone"] = phone
            if "shopify" in person.records and rng.random() < 0.3:
                user["external_id"] = person.records["shopify"]
            created = self.zendesk.create_user({"user": user}, at=min(
                since + timedelta(days=rng.randrange(0, 200)), self.as_of))
            person.records["zendesk"] = str(created["id"])
        if card is not None:
            first, last = self.name(person, "loyalty")
            email, phone = self.contacts(person, email_share=0.88, phone_share=0.93, alt=False,
                                         junk=True, empty_junk=True)
            member = {
                "member_id": len(self.members) + 1, "card_number": card, "email": email,
                "phone": phone,
                "first_name": first, "last_name": last, "tier": "BRONZE",
                "status": _pick((("ACTIVE", 95), ("SUSPENDED", 3), ("CLOSED", 2)), rng),
                "enrolled_at": min(since + timedelta(days=rng.randrange(0, 60)),
                                   self.as_of).replace(tzinfo=None),
            }
            self.members.append(member)
            self.member_of[person.key] = member
            person.records["loyalty"] = card

    def name(self, person: Person, system: str) -> tuple[str, str]:
        """(first, last) as ``system`` holds the person (see :mod:`silos.generator.locales`
        for the Spanish, Catalan, Italian… ways)."""
        if person.culture == "us":
            return name_variant(person.first, person.last, self.rng)
        return record_name(person, system, self.rng)

    def contacts(self, person: Person, *, email_share: float, phone_share: float, alt: bool,
                 junk: bool, empty_junk: bool = False) -> tuple[str | None, str | None]:
        """The email and phone one system holds for a person, as typed there. A profile is made
        to reach the customer, so it nearly always keeps one real way to do so; a cashier's
        placeholder (``0000000000``, ``test@test.com``) sometimes fills a missing field."""
        rng = self.rng

        def pick_email() -> str | None:
            if not person.email:
                return None
            use_alt = alt and person.alt_email is not None and rng.random() < 0.5
            return email_variant(person.alt_email if use_alt and person.alt_email
                                 else person.email, rng)

        email = pick_email() if rng.random() < email_share else None
        phone = phone_variant(person.phone, rng) if person.phone and rng.random() < phone_share \
            else None
        if email is None and phone is None and rng.random() < 0.99:
            if person.phone:
                phone = phone_variant(person.phone, rng)
            else:
                email = pick_email()
        if junk and rng.random() < 0.05:
            if email is None:
                email = rng.choice(JUNK_EMAILS) if empty_junk else rng.choice(JUNK_EMAILS) or None
            elif phone is None:
                phone = rng.choice(JUNK_PHONES) if empty_junk else rng.choice(JUNK_PHONES) or None
        return email, phone

    def shopify_customer(self, person: Person, card: str | None, since: datetime) -> None:
        rng = self.rng
        first, last = self.name(person, "shopify")
        addr = person.address
        email_source = person.alt_email if person.alt_email and rng.random() < 0.3 \
            else person.email
        customer: dict[str, Any] = {
            "first_name": first, "last_name": last, "verified_email": True,
            "addresses": [{"address1": addr.address1, "city": addr.city,
                           "province": addr.province, "province_code": addr.province_code,
                           "zip": addr.zip, "country_code": addr.country_code,
                           "first_name": first, "last_name": last,
                           "phone": phone_variant(person.phone, rng) if person.phone else ""}],
        }
        if email_source:
            customer["email"] = email_variant(email_source, rng).strip()
        if person.phone and person.phone not in self.shopify_phones and (
                rng.random() < 0.5 or not email_source):
            customer["phone"] = phone_variant(person.phone, rng)
            self.shopify_phones.add(person.phone)
        if "email" not in customer and "phone" not in customer:
            customer["email"] = f"{person.key.lower()}@guest.c360-sandbox.example"
        tags = []
        if card and rng.random() < 0.25:
            tags.append(f"loyalty:{card}")
        if rng.random() < 0.2:
            tags.append(rng.choice(("vip", "newsletter", "wholesale", "returning")))
        customer["tags"] = ", ".join(tags)
        created = self.shopify.create_customer({"customer": customer}, at=since)
        person.records["shopify"] = str(created["id"])

    # -- orders --------------------------------------------------------------------------
    def lines(self) -> list[tuple[Sku, int]]:
        rng = self.rng
        return [(rng.choice(self.catalog), 1 if rng.random() < 0.85 else 2)
                for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]

    def order_time(self, after: datetime) -> datetime:
        span = int((self.as_of - after).total_seconds())
        return after + timedelta(seconds=self.rng.randrange(max(span, 60)))

    def home_store(self, person: Person) -> StoreLink:
        near = self.stores_by_city.get(person.address.city)
        return near[0] if near and self.rng.random() < 0.8 else self.rng.choice(self.links)

    def orders(self, person: Person) -> list[_Sale]:
        rng = self.rng
        sales: list[_Sale] = []
        start = self.as_of - timedelta(days=730)
        if "shopify" in person.records:
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 7))):
                sales.append(self.web_order(person, self.order_time(start)))
        if "square" in person.records:
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4, 6))):
                sales.append(self.store_sale(person, self.order_time(start)))
        return sales

    def web_order(self, person: Person, at: datetime) -> _Sale:
        rng = self.rng
        customer_id = int(person.records["shopify"])
        addr = person.address
        address = {"first_name": person.first, "last_name": person.last,
                   "address1": addr.address1, "city": addr.city, "province": addr.province,
                   "province_code": addr.province_code, "zip": addr.zip,
                   "country_code": addr.country_code}
        pickup: StoreLink | None = self.home_store(person) if rng.random() < 0.14 else None
        if pickup is not None:
            shipping = pickup_shipping_line(self.shopify_store_locations[pickup.code])
        else:
            standard = rng.random() < 0.8
            shipping = {"title": "Standard Shipping" if standard else "Express Shipping",
                        "code": "STANDARD" if standard else "EXPRESS",
                        "price": "0.00" if standard else "14.95", "source": "shopify"}
        lines = self.lines()
        order = self.shopify.create_order({"order": {
            "customer": {"id": customer_id},
            "line_items": [{"variant_id": self.variant_by_sku[s.sku]["id"], "quantity": q}
                           for s, q in lines],
            "financial_status": "paid", "processed_at": _ts(at), "source_name": "web",
            "billing_address": address, "shipping_address": address,
            "shipping_lines": [shipping]}}, at=at)
        self.counts["shopify_orders"] += 1
        order_id = order["id"]
        age = self.as_of - at
        fulfilled = False
        if pickup is not None:
            self.counts["pickups"] += 1
            if age > timedelta(days=2) or rng.random() < 0.5:
                self.shopify.create_fulfillment(order_id, {"fulfillment": {
                    "location_id": pickup.shopify_location_id}},
                    at=at + timedelta(hours=rng.randrange(3, 72)))
                fulfilled = True
        elif age > timedelta(days=3) or rng.random() < 0.4:
            self.shopify.create_fulfillment(order_id, {"fulfillment": {
                "location_id": rng.choice(self.warehouse_ids),
                "tracking_company": "UPS",
                "tracking_number": f"1Z{rng.randrange(10**15):015d}"}},
                at=at + timedelta(hours=rng.randrange(6, 60)))
            fulfilled = True
        sale = _Sale("shopify", str(order_id), order["name"], at, Decimal(order["total_price"]),
                     "WEB")
        if fulfilled and age > timedelta(days=12) and rng.random() < 0.05:
            self.store_return_of_web_order(person, order, lines, sale)
        if fulfilled and age > timedelta(days=30):
            self.shopify.close_order(order_id, at=at + timedelta(days=30))
        return sale

    def store_return_of_web_order(self, person: Person, order: dict[str, Any],
                                  lines: list[tuple[Sku, int]], sale: _Sale) -> None:
        rng = self.rng
        store = self.home_store(person)
        when = sale.at + timedelta(days=rng.randrange(3, 25), hours=rng.randrange(10))
        line = order["line_items"][0]
        sku = lines[0][0]
        body: dict[str, Any] = {"location_id": store.square_location_id,
                                "reference_id": str(order["id"]), "state": "COMPLETED",
                                "returns": [{"return_line_items": [{
                                    "name": line["title"], "quantity": str(line["quantity"]),
                                    "catalog_object_id": self.variation_by_sku[sku.sku],
                                    "base_price_money": {"amount": int(sku.price * 100),
                                                         "currency": "USD"}}]}]}
        if "square" in person.records:
            body["customer_id"] = person.records["square"]
        self.square.create_order({"idempotency_key": f"ret-{order['id']}", "order": body},
                                 at=when)
        self.shopify.create_refund(order["id"], {"refund": {
            "note": f"Returned in store: {store.name}",
            "refund_line_items": [{"line_item_id": line["id"], "quantity": line["quantity"],
                                   "restock_type": "return",
                                   "location_id": store.shopify_location_id}]}}, at=when)
        sale.returned_at = when
        sale.returned = Decimal(line["price"]) * line["quantity"]
        self.counts["store_returns_of_web_orders"] += 1

    def store_sale(self, person: Person | None, at: datetime) -> _Sale:
        rng = self.rng
        store = self.home_store(person) if person else rng.choice(self.links)
        order: dict[str, Any] = {
            "location_id": store.square_location_id, "state": "COMPLETED",
            "line_items": [{"catalog_object_id": self.variation_by_sku[s.sku], "quantity": str(q)}
                           for s, q in self.lines()]}
        if person is not None:
            order["customer_id"] = person.records["square"]
            if rng.random() < 0.03:
                order["fulfillments"] = [{"type": "PICKUP", "state": "COMPLETED",
                                          "pickup_details": {
                                              "recipient": {"display_name":
                                                            f"{person.first} {person.last}"},
                                              "pickup_at": _ts(at + timedelta(hours=4)),
                                              "schedule_type": "SCHEDULED"}}]
        created = self.square.create_order(
            {"idempotency_key": f"sale-{self.counts['square_orders']}", "order": order}, at=at)
        self.counts["square_orders"] += 1
        sale = _Sale("square", created["id"], created["id"], at,
                     Decimal(created["total_money"]["amount"]) / 100, "STORE")
        if person is not None and self.as_of - at > timedelta(days=5) and rng.random() < 0.03:
            first = created["line_items"][0]
            when = at + timedelta(days=rng.randrange(1, 20))
            self.square.create_order({"idempotency_key": f"sret-{created['id']}", "order": {
                "location_id": store.square_location_id, "customer_id": order["customer_id"],
                "state": "COMPLETED",
                "returns": [{"source_order_id": created["id"], "return_line_items": [{
                    "source_line_item_uid": first["uid"], "quantity": first["quantity"]}]}]}},
                at=when)
            sale.returned_at = when
            sale.returned = Decimal(first["total_money"]["amount"]) / 100
        return sale

    # -- helpdesk and loyalty ------------------------------------------------------------
    def tickets(self, person: Person, sales: list[_Sale]) -> None:
        rng = self.rng
        requester = int(person.records["zendesk"])
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
            sale = rng.choice(sales) if sales and rng.random() < 0.6 else None
            if sale is not None:
                at = min(sale.at + timedelta(days=rng.randrange(1, 20)), self.as_of)
                subject = rng.choice(TICKET_SUBJECTS_ORDER).format(ref=sale.ref)
                fields = [{"id": ORDER_NUMBER_FIELD_ID, "value": sale.ref}]
            else:
                at = self.as_of - timedelta(days=rng.randrange(1, 700))
                subject = rng.choice(TICKET_SUBJECTS_OTHER)
                fields = []
            status = _pick(STATUSES, rng)
            ticket = self.zendesk.create_ticket({"ticket": {
                "requester_id": requester, "subject": subject,
                "comment": {"body": f"Hello, {subject.lower()} Thanks."},
                "status": "new", "priority": rng.choice(("low", "normal", "normal", "high")),
                "type": "question" if sale is None else "incident",
                "custom_fields": fields, "via": {"channel": _pick(VIA, rng)},
                "tags": [] if sale is None else ["order"]}}, at=at)
            self.counts["tickets"] += 1
            if status != "new":
                self.zendesk.update_ticket(ticket["id"], {"ticket": {
                    "status": "open" if status in ("solved", "closed") else status,
                    "comment": {"body": "Thanks for reaching out, we are looking into it.",
                                "public": True}}}, at=at + timedelta(hours=rng.randrange(1, 30)))
            if status in ("solved", "closed"):
                self.zendesk.update_ticket(ticket["id"], {"ticket": {
                    "status": status, "comment": {"body": "This is now resolved.",
                                                  "public": True}}},
                    at=at + timedelta(days=rng.randrange(1, 6)))

    def ledger(self, person: Person, sales: list[_Sale]) -> None:
        rng = self.rng
        member = self.member_of[person.key]
        entries: list[tuple[datetime, int, str, str | None, str | None]] = []
        enrolled = member["enrolled_at"].replace(tzinfo=UTC)
        for sale in sales:
            if sale.at < enrolled:
                continue
            points = int(sale.total)
            entries.append((sale.at, points, "PURCHASE", sale.channel, f"{sale.kind}:{sale.id}"))
            if sale.returned_at is not None:
                entries.append((sale.returned_at, -int(sale.returned), "RETURN", "STORE",
                                f"{sale.kind}:{sale.id}"))
        if rng.random() < 0.2:
            entries.append((enrolled + timedelta(days=rng.randrange(1, 90)),
                            rng.choice((50, 100, 250)), "ADJUSTMENT", "PHONE", None))
        entries.sort(key=lambda e: e[0])
        balance = lifetime = 0
        for at, points, reason, channel, ref in entries:
            balance += points
            lifetime += max(points, 0)
            self.points.append({"entry_id": len(self.points) + 1,
                                "member_id": member["member_id"], "occurred_at":
                                at.replace(tzinfo=None), "points": points, "reason": reason,
                                "channel": channel, "order_ref": ref})
            if reason == "PURCHASE" and balance >= 500 and rng.random() < 0.3:
                balance -= 500
                self.points.append({"entry_id": len(self.points) + 1,
                                    "member_id": member["member_id"],
                                    "occurred_at": (at + timedelta(minutes=1)).replace(
                                        tzinfo=None),
                                    "points": -500, "reason": "REDEMPTION", "channel": channel,
                                    "order_ref": ref})
        member["tier"] = ("PLATINUM" if lifetime >= 5000 else "GOLD" if lifetime >= 2000
                          else "SILVER" if lifetime >= 500 else "BRONZE")

    def populate(self) -> None:
        """The base population (what existing tests and benchmarks rely on, byte for byte)."""
        self.seed_locations()
        self.seed_catalog()
        self.seed_inventory()
        for person in self.people:
            self.project_person(person)
            sales = self.orders(person)
            if "loyalty" in person.records:
                self.ledger(person, sales)
            if "zendesk" in person.records:
                self.tickets(person, sales)
        for _ in range(len(self.people) // 10):
            self.store_sale(None, self.order_time(self.as_of - timedelta(days=730)))

    def run(self, heavy_customers: int, heavy_events: int) -> Sandbox:
        self.populate()
        people = len(self.people)
        journeys = add_journeys(self, people)
        add_abandoned_carts(self, people)
        heavy = add_heavy_customers(self, heavy_customers, heavy_events)
        return self.sandbox(journeys, heavy)

    def sandbox(self, journeys: list[Journey], heavy: list[str]) -> Sandbox:
        truth: list[dict[str, Any]] = []
        for p in self.people:
            row: dict[str, Any] = {"person": p.key, "records": [
                {"kind": kind, "id": rid} for kind, rid in p.records.items()]}
            if p.key in self.expected_events:
                row["events"] = self.expected_events[p.key]
            truth.append(row)
        self.counts.update(people=len(self.people), loyalty_members=len(self.members),
                           ledger_entries=len(self.points))
        return Sandbox(seed=self.seed, as_of=self.as_of, shopify=self.shopify,
                       square=self.square, zendesk=self.zendesk,
                       loyalty_members=self.members, loyalty_points=self.points,
                       ground_truth=truth, stores=self.links,
                       warehouse_location_ids=self.warehouse_ids, counts=self.counts,
                       journeys=journeys, heavy=heavy)


def generate(customers: int = 500, seed: int = 42, as_of: datetime = AS_OF, *,
             heavy_customers: int = 0, heavy_events: int = 5000, locale: str = "us") -> Sandbox:
    """Build one deterministic population and project it into the four systems.

    ``locale`` is the population: ``us`` (the original, byte for byte), ``es`` (Spanish and
    Catalan people in Spain), ``it`` (Italians in Italy) or ``mixed`` (US, Spanish, Catalan,
    Italian, Portuguese and French people, each in their own country); see
    :mod:`silos.generator.locales`.

    Then, each from its own random stream (the base population is the same without them):
    the cross-channel journeys, abandoned carts and draft orders for some of the population,
    and ``heavy_customers`` people with about ``heavy_events`` timeline events each.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if heavy_customers < 0 or heavy_events < 1:
        raise ValueError("heavy_customers must be at least 0 and heavy_events at least 1")
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}, not {locale!r}")
    # Millions of long-lived dicts: the cyclic GC would rescan them all, for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _Projector(customers, seed, as_of, locale).run(heavy_customers, heavy_events)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

