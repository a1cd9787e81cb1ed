"""Writes people and their records after the base population, logging the timeline events
each write causes.

A writer draws from its own random stream (``"<seed>:<stream>"``) and only ever adds records,
so the base population's records, ids and values are the same with or without it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from silos.generator.catalog import Sku
from silos.generator.people import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    Person,
    _address,
    _email,
    _pick_domain,
    _us_phone,
)
from silos.generator.truth import JourneyEvent
from silos.shopify.records import pickup_shipping_line

if TYPE_CHECKING:
    from silos.generator.project import StoreLink, _Projector

Record = dict[str, Any]

VIA_CHANNEL = {"email": "EMAIL", "web": "WEB", "voice": "PHONE", "chat": "CHAT"}
SUPPORT_REPLY_CHANNEL = "EMAIL"
POINTS_KIND = {"PURCHASE": "POINTS_EARNED", "REDEMPTION": "POINTS_REDEEMED",
               "RETURN": "POINTS_REVERSED", "ADJUSTMENT": "POINTS_ADJUSTED",
               "EXPIRY": "POINTS_EXPIRED"}


def tier(lifetime: int) -> str:
    return ("PLATINUM" if lifetime >= 5000 else "GOLD" if lifetime >= 2000
            else "SILVER" if lifetime >= 500 else "BRONZE")


class Writer:
    """Adds people and records for one stream of additions (``journeys``, ``carts``,
    ``heavy``); every write appends the events it causes to the ``log`` it is given."""

    def __init__(self, world: _Projector, stream: str) -> None:
        self.world = world
        self.stream = stream
        self.rng = random.Random(f"{world.seed}:{stream}")
        self.as_of = world.as_of.replace(microsecond=0)
        self.taken: set[str] = set()
        self.phones: set[str] = set()
        for person in world.people:
            for email in (person.email, person.alt_email):
                if email:
                    self.taken.update((email, email.replace(".", "").split("@")[0]))
            if person.phone:
                self.phones.add(person.phone)
        self.written = 0
        self.lifetime: dict[int, int] = {}

    # -- people ----------------------------------------------------------------------------
    def person(self, systems: tuple[str, ...], since: datetime) -> Person:
        """A new person with one e-mail and one phone of their own, written the same way in
        each of ``systems`` (clean records: the journeys are about events, not matching)."""
        rng, world = self.rng, self.world
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = _email(first, last, _pick_domain(EMAIL_DOMAINS, rng), rng, self.taken)
        phone = _us_phone(rng)
        while phone in self.phones:
            phone = _us_phone(rng)
        self.phones.add(phone)
        addr = _address(rng, "US")
        person = Person(key=f"P{len(world.people) + 1:07d}", first=first, last=last,
                        email=email, phone=phone, address=addr, systems=systems)
        world.people.append(person)
        if "shopify" in systems:
            customer = world.shopify.create_customer({"customer": {
                "first_name": first, "last_name": last, "email": email, "phone": phone,
                "verified_email": True, "tags": "",
                "addresses": [{"address1": addr.address1, "city": addr.city,
                               "province": addr.province, "province_code": addr.province_code,
                               "zip": addr.zip, "country_code": addr.country_code,
                               "first_name": first, "last_name": last, "phone": phone}]}},
                at=since)
            world.shopify_phones.add(phone)
            person.records["shopify"] = str(customer["id"])
        if "square" in systems:
            created = world.square.create_customer({
                "given_name": first, "family_name": last, "email_address": email,
                "phone_number": phone,
                "address": {"address_line_1": addr.address1, "locality": addr.city,
                            "administrative_district_level_1": addr.province_code,
                            "postal_code": addr.zip, "country": addr.country_code}},
                at=since + timedelta(hours=rng.randrange(1, 48)))
            person.records["square"] = created["id"]
        if "zendesk" in systems:
            user = world.zendesk.create_user({"user": {
                "name": f"{first} {last}", "role": "end-user", "email": email, "phone": phone}},
                at=since + timedelta(hours=rng.randrange(1, 48)))
            person.records["zendesk"] = str(user["id"])
        if "loyalty" in systems:
            card = f"LC-{rng.randrange(10**10):010d}"
            while card in world.cards:
                card = f"LC-{rng.randrange(10**10):010d}"
            world.cards.add(card)
            member = {"member_id": len(world.members) + 1, "card_number": card, "email": email,
                      "phone": phone, "first_name": first, "last_name": last, "tier": "BRONZE",
                      "status": "ACTIVE", "enrolled_at": since.replace(tzinfo=None)}
            world.members.append(member)
            world.member_of[person.key] = member
            person.records["loyalty"] = card
        return person

    def home_store(self, person: Person) -> StoreLink:
        near = self.world.stores_by_city.get(person.address.city)
        return near[0] if near and self.rng.random() < 0.8 else self.rng.choice(self.world.links)

    def lines(self) -> list[tuple[Sku, int]]:
        rng = self.rng
        return [(rng.choice(self.world.catalog), 1 if rng.random() < 0.85 else 2)
                for _ in range(rng.choice((1, 1, 2, 2, 3)))]

    def variant_lines(self, lines: list[tuple[Sku, int]]) -> list[Record]:
        return [{"variant_id": self.world.variant_by_sku[sku.sku]["id"], "quantity": quantity}
                for sku, quantity in lines]

    def key(self, what: str) -> str:
        """An idempotency key no other writer and no base record uses."""
        self.written += 1
        return f"{self.stream}-{what}-{self.written}"

    # -- Shopify ---------------------------------------------------------------------------
    def web_order(self, person: Person, at: datetime, lines: list[tuple[Sku, int]],
                  log: list[JourneyEvent], *, pickup: StoreLink | None = None) -> Record:
        world = self.world
        addr = person.address
        address = {"first_name": person.first, "last_name": person.last,
                   "address1": addr.address1, "city": addr.city, "province": addr.province,
                   "province_code": addr.province_code, "zip": addr.zip,
                   "country_code": addr.country_code}
        shipping = pickup_shipping_line(world.shopify_store_locations[pickup.code]) \
            if pickup is not None else {"title": "Standard Shipping", "code": "STANDARD",
                                        "price": "0.00", "source": "shopify"}
        order = world.shopify.create_order({"order": {
            "customer": {"id": int(person.records["shopify"])},
            "line_items": self.variant_lines(lines), "financial_status": "paid",
            "processed_at": at.isoformat(), "source_name": "web", "billing_address": address,
            "shipping_address": address, "shipping_lines": [shipping]}}, at=at)
        world.counts["shopify_orders"] += 1
        if pickup is not None:
            world.counts["pickups"] += 1
        log.append(JourneyEvent("ORDER_PLACED", "WEB", "shopify", at, f"order:{order['id']}"))
        return order

    def fulfil(self, order: Record, at: datetime, log: list[JourneyEvent], *,
               pickup: StoreLink | None = None) -> Record:
        """Ship from a warehouse, or hand a pickup over at its store (collected)."""
        body: Record = {"location_id": pickup.shopify_location_id} if pickup is not None else {
            "location_id": self.rng.choice(self.world.warehouse_ids),
            "tracking_company": "UPS", "tracking_number": f"1Z{self.rng.randrange(10**15):015d}"}
        fulfillment = self.world.shopify.create_fulfillment(order["id"], {"fulfillment": body},
                                                            at=at)
        log.append(JourneyEvent("PICKUP_COLLECTED" if pickup else "SHIPPED",
                                "STORE" if pickup else "WEB", "shopify", at,
                                f"order:{order['id']}"))
        return fulfillment

    def refund_first_line(self, order: Record, at: datetime, log: list[JourneyEvent], *,
                          store: StoreLink | None = None) -> tuple[Record, Decimal]:
        """Refund the first line, restocked at ``store`` (a return in store; stores keep no
        Shopify stock) or not restocked (sent back by mail; warehouse stock stays as the base
        population left it); returns the refund and the refunded value."""
        line = order["line_items"][0]
        item: Record = {"line_item_id": line["id"], "quantity": line["quantity"],
                        "restock_type": "no_restock"}
        if store is not None:
            item.update(restock_type="return", location_id=store.shopify_location_id)
        note = f"Returned in store: {store.name}" if store is not None else "Returned by mail"
        refund = self.world.shopify.create_refund(order["id"], {"refund": {
            "note": note, "refund_line_items": [item]}}, at=at)
        log.append(JourneyEvent("REFUNDED", "STORE" if store else "WEB", "shopify", at,
                                f"order:{order['id']}"))
        return refund, Decimal(line["price"]) * line["quantity"]

    def checkout(self, person: Person, at: datetime, lines: list[tuple[Sku, int]],
                 log: list[JourneyEvent]) -> Record:
        """A checkout the person left online (Shopify abandoned checkout)."""
        checkout = self.world.shopify.create_checkout({"checkout": {
            "customer": {"id": int(person.records["shopify"])}, "email": person.email or "",
            "line_items": self.variant_lines(lines), "source_name": "web"}}, at=at)
        log.append(JourneyEvent("CART_ABANDONED", "WEB", "shopify", at,
                                f"checkout:{checkout['id']}"))
        return checkout

    # -- Square ----------------------------------------------------------------------------
    def store_sale(self, person: Person, at: datetime, store: StoreLink,
                   lines: list[tuple[Sku, int]], log: list[JourneyEvent]) -> Record:
        world = self.world
        sale = world.square.create_order({"idempotency_key": self.key("sale"), "order": {
            "location_id": store.square_location_id, "state": "COMPLETED",
            "customer_id": person.records["square"],
            "line_items": [{"catalog_object_id": world.variation_by_sku[sku.sku],
                            "quantity": str(quantity)} for sku, quantity in lines]}}, at=at)
        world.counts["square_orders"] += 1
        log.append(JourneyEvent("ORDER_PLACED", "STORE", "square", at, f"order:{sale['id']}"))
        return sale

    def store_return(self, person: Person, sale: Record, at: datetime,
                     log: list[JourneyEvent]) -> tuple[Record, Decimal]:
        """Return the first line of a store sale where it was bought."""
        first = sale["line_items"][0]
        returned = self.world.square.create_order({"idempotency_key": self.key("sret"), "order": {
            "location_id": sale["location_id"], "customer_id": person.records["square"],
            "state": "COMPLETED", "returns": [{"source_order_id": sale["id"],
                                               "return_line_items": [{
                                                   "source_line_item_uid": first["uid"],
                                                   "quantity": first["quantity"]}]}]}}, at=at)
        log.append(JourneyEvent("RETURNED", "STORE", "square", at, f"order:{returned['id']}"))
        return returned, Decimal(first["total_money"]["amount"]) / 100

    def store_return_of_web_order(self, person: Person, order: Record,
                                  lines: list[tuple[Sku, int]], store: StoreLink, at: datetime,
                                  log: list[JourneyEvent]) -> tuple[Record, Record, Decimal]:
        """A web order's first line brought back to ``store``: the POS return order (its
        ``reference_id`` the Shopify order id) and the Shopify refund restocking there."""
        world = self.world
        line, sku = order["line_items"][0], lines[0][0]
        returned = world.square.create_order({"idempotency_key": self.key("ret"), "order": {
            "location_id": store.square_location_id, "reference_id": str(order["id"]),
            "customer_id": person.records["square"], "state": "COMPLETED",
            "returns": [{"return_line_items": [{
                "name": line["title"], "quantity": str(line["quantity"]),
                "catalog_object_id": world.variation_by_sku[sku.sku],
                "base_price_money": {"amount": int(sku.price * 100), "currency": "USD"}}]}]}},
            at=at)
        log.append(JourneyEvent("RETURNED", "STORE", "square", at, f"order:{returned['id']}"))
        refund, value = self.refund_first_line(order, at, log, store=store)
        world.counts["store_returns_of_web_orders"] += 1
        return returned, refund, value

    # -- Zendesk ---------------------------------------------------------------------------
    def ticket(self, person: Person, at: datetime, subject: str, via: str,
               log: list[JourneyEvent], *, order_ref: str | None = None,
               tags: tuple[str, ...] = ()) -> Record:
        fields = [] if order_ref is None else [
            {"id": self.world.zendesk.order_number_field_id, "value": order_ref}]
        ticket = self.world.zendesk.create_ticket({"ticket": {
            "requester_id": int(person.records["zendesk"]), "subject": subject,
            "comment": {"body": f"Hello, {subject.lower()} Thanks."}, "status": "new",
            "priority": "normal", "type": "question" if order_ref is None else "incident",
            "custom_fields": fields, "via": {"channel": via}, "tags": list(tags)}}, at=at)
        self.world.counts["tickets"] += 1
        log.append(JourneyEvent("TICKET_OPENED", VIA_CHANNEL[via], "zendesk", at,
                                f"ticket:{ticket['id']}"))
        return ticket

    def reply(self, ticket: Record, at: datetime, body: str, log: list[JourneyEvent], *,
              status: str | None = None, customer: bool = False) -> None:
        """A public comment, by support (or by the requester), changing the status if given."""
        channel = VIA_CHANNEL[ticket["via"]["channel"]]
        before = ticket["status"]
        comment: Record = {"body": body, "public": True}
        if customer:
            comment["author_id"] = ticket["requester_id"]
        change: Record = {"comment": comment}
        if status is not None:
            change["status"] = status
        self.world.zendesk.update_ticket(ticket["id"], {"ticket": change}, at=at)
        ref = f"ticket:{ticket['id']}"
        log.append(JourneyEvent("TICKET_COMMENTED", channel if customer
                                else SUPPORT_REPLY_CHANNEL, "zendesk", at, ref))
        if ticket["status"] != before:
            log.append(JourneyEvent("TICKET_STATUS_CHANGED", channel, "zendesk", at, ref))

    # -- loyalty ---------------------------------------------------------------------------
    def points(self, person: Person, at: datetime, points: int, reason: str, channel: str,
               order_ref: str | None, log: list[JourneyEvent]) -> int:
        """One ledger row (after the member's earlier ones); returns its ``entry_id``."""
        world = self.world
        member = world.member_of[person.key]
        entry_id = len(world.points) + 1
        world.points.append({"entry_id": entry_id, "member_id": member["member_id"],
                             "occurred_at": at.astimezone(UTC).replace(tzinfo=None),
                             "points": points, "reason": reason, "channel": channel,
                             "order_ref": order_ref})
        lifetime = self.lifetime.get(member["member_id"], 0) + max(points, 0)
        self.lifetime[member["member_id"]] = lifetime
        member["tier"] = tier(lifetime)
        log.append(JourneyEvent(POINTS_KIND[reason], channel, "loyalty", at, f"entry:{entry_id}"))
        return entry_id
