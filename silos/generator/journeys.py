"""The cross-channel journeys the omnichannel views exist for, and the carts the wider
population left online, written after the base population with their own random streams.

Each journey is a new person (in just the systems the story needs) whose whole history is the
story, recorded as a :class:`~silos.generator.truth.Journey`:

* ``cart_then_store``: a cart left online, the same SKUs bought in a store days later, points
  earned in store; the checkout stays abandoned (an open cart).
* ``pickup_return_elsewhere``: a web order collected at store A, returned at store B (a POS
  return naming the web order, a Shopify refund restocking at B), points earned then reversed,
  a ticket about the refund still open.
* ``phone_ticket_store_receipt``: a store sale, then a phone ticket about its receipt, waiting
  on the customer (``pending``).
* ``open_pickup``: a web order for pickup not collected yet. Shopify's REST orders carry no
  "ready for pickup" state the adapter reads, so it is an unfulfilled pickup (``PENDING``).
* ``points_claim``: a store sale credited no points and a "Loyalty points missing" ticket;
  every other one is settled (an ``ADJUSTMENT`` by phone, the ticket solved), the rest still
  open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from silos.generator.truth import Journey, JourneyEvent, OpenRequest
from silos.generator.writer import Writer

if TYPE_CHECKING:
    from silos.generator.project import _Projector

JOURNEYS = ("cart_then_store", "pickup_return_elsewhere", "phone_ticket_store_receipt",
            "open_pickup", "points_claim")
ALL_SYSTEMS = ("shopify", "square", "zendesk", "loyalty")


class _Journeys:
    def __init__(self, world: _Projector, per_kind: int) -> None:
        self.w = Writer(world, "journeys")
        self.rng = self.w.rng
        self.per_kind = per_kind

    def when(self, index: int, oldest: timedelta, newest: timedelta) -> datetime:
        """The ``index``-th of ``per_kind`` moments spread over ``[as_of - oldest,
        as_of - newest]``, whole seconds."""
        span = int((oldest - newest).total_seconds())
        offset = int((index + self.rng.random()) * span / self.per_kind)
        return self.w.as_of - oldest + timedelta(seconds=offset)

    def since(self, first: datetime) -> datetime:
        return first - timedelta(days=self.rng.randrange(30, 700),
                                 seconds=self.rng.randrange(86400))

    def cart_then_store(self, index: int) -> Journey:
        w, rng = self.w, self.rng
        log: list[JourneyEvent] = []
        at = self.when(index, timedelta(days=180), timedelta(days=8))
        person = w.person(("shopify", "square", "loyalty"), self.since(at))
        lines = w.lines()
        checkout = w.checkout(person, at, lines, log)
        bought = at + timedelta(days=rng.randrange(1, 6), hours=rng.randrange(1, 10))
        sale = w.store_sale(person, bought, w.home_store(person), lines, log)
        entry = w.points(person, bought, int(Decimal(sale["total_money"]["amount"]) / 100),
                         "PURCHASE", "STORE", f"square:{sale['id']}", log)
        return Journey("cart_then_store", person.key, {
            "checkout": str(checkout["id"]), "store_order": sale["id"],
            "points_earned": str(entry)}, tuple(log),
            (OpenRequest("cart", "shopify", f"checkout:{checkout['id']}", "OPEN"),))

    def pickup_return_elsewhere(self, index: int) -> Journey:
        w, rng = self.w, self.rng
        log: list[JourneyEvent] = []
        at = self.when(index, timedelta(days=200), timedelta(days=30))
        person = w.person(ALL_SYSTEMS, self.since(at))
        pickup, back = rng.sample(w.world.links, 2)
        lines = w.lines()
        order = w.web_order(person, at, lines, log, pickup=pickup)
        earned = w.points(person, at, int(Decimal(order["total_price"])), "PURCHASE", "WEB",
                          f"shopify:{order['id']}", log)
        collected = at + timedelta(hours=rng.randrange(3, 48))
        w.fulfil(order, collected, log, pickup=pickup)
        returned_at = collected + timedelta(days=rng.randrange(4, 14), hours=rng.randrange(8))
        returned, refund, value = w.store_return_of_web_order(person, order, lines, back,
                                                              returned_at, log)
        reversed_ = w.points(person, returned_at, -int(value), "RETURN", "STORE",
                             f"shopify:{order['id']}", log)
        asked = returned_at + timedelta(days=rng.randrange(1, 4), hours=rng.randrange(8))
        ticket = w.ticket(person, asked, f"Refund not received for {order['name']}",
                          rng.choice(("email", "web")), log, order_ref=order["name"],
                          tags=("order",))
        w.reply(ticket, asked + timedelta(hours=rng.randrange(2, 20)),
                "Thanks for reaching out, we are checking the refund with the store.", log,
                status="open")
        return Journey("pickup_return_elsewhere", person.key, {
            "web_order": str(order["id"]), "pickup_location": str(pickup.shopify_location_id),
            "return_order": returned["id"], "return_location": back.square_location_id,
            "refund": str(refund["id"]), "ticket": str(ticket["id"]),
            "points_earned": str(earned), "points_reversed": str(reversed_)}, tuple(log),
            (OpenRequest("ticket", "zendesk", f"ticket:{ticket['id']}", "open"),))

    def phone_ticket_store_receipt(self, index: int) -> Journey:
        w, rng = self.w, self.rng
        log: list[JourneyEvent] = []
        at = self.when(index, timedelta(days=150), timedelta(days=20))
        person = w.person(("square", "zendesk"), self.since(at))
        store = w.home_store(person)
        sale = w.store_sale(person, at, store, w.lines(), log)
        called = at + timedelta(days=rng.randrange(2, 14), hours=rng.randrange(8))
        ticket = w.ticket(person, called, f"Question about my receipt from {store.name}",
                          "voice", log, order_ref=sale["id"], tags=("order",))
        w.reply(ticket, called + timedelta(hours=rng.randrange(1, 6)),
                "Could you send us a photo of the receipt? We will check it then.", log,
                status="pending")
        return Journey("phone_ticket_store_receipt", person.key, {
            "store_order": sale["id"], "ticket": str(ticket["id"])}, tuple(log),
            (OpenRequest("ticket", "zendesk", f"ticket:{ticket['id']}", "pending"),))

    def open_pickup(self, index: int) -> Journey:
        """A pickup ordered online, not yet collected, and a cart the customer filled and
        left since: what a clerk sees when they walk in."""
        w, rng, log = self.w, self.rng, list[JourneyEvent]()
        at = self.when(index, timedelta(hours=72), timedelta(hours=1))
        person = w.person(("shopify",), self.since(at))
        store = w.home_store(person)
        order = w.web_order(person, at, w.lines(), log, pickup=store)
        left = min(at + timedelta(minutes=rng.randrange(10, 600)), w.as_of)
        checkout = w.checkout(person, left, w.lines(), log)
        return Journey("open_pickup", person.key, {
            "web_order": str(order["id"]), "pickup_location": str(store.shopify_location_id),
            "checkout": str(checkout["id"])}, tuple(log), (
                OpenRequest("pickup", "shopify", f"order:{order['id']}", "PENDING"),
                OpenRequest("cart", "shopify", f"checkout:{checkout['id']}", "OPEN")))

    def points_claim(self, index: int) -> Journey:
        w, rng = self.w, self.rng
        log: list[JourneyEvent] = []
        at = self.when(index, timedelta(days=120), timedelta(days=15))
        person = w.person(("square", "zendesk", "loyalty"), self.since(at))
        sale = w.store_sale(person, at, w.home_store(person), w.lines(), log)
        asked = at + timedelta(days=rng.randrange(3, 10), hours=rng.randrange(8))
        ticket = w.ticket(person, asked, "Loyalty points missing",
                          rng.choice(("email", "web", "voice", "chat")), log,
                          order_ref=sale["id"], tags=("loyalty_claim",))
        answered = asked + timedelta(hours=rng.randrange(2, 24))
        w.reply(ticket, answered, "Thanks, we are looking into the points for this purchase.",
                log, status="open")
        records = {"store_order": sale["id"], "ticket": str(ticket["id"])}
        if index % 2:
            return Journey("points_claim", person.key, records, tuple(log),
                           (OpenRequest("ticket", "zendesk", f"ticket:{ticket['id']}",
                                        "open"),))
        credited = answered + timedelta(days=rng.randrange(1, 4), hours=rng.randrange(8))
        entry = w.points(person, credited, int(Decimal(sale["total_money"]["amount"]) / 100),
                         "ADJUSTMENT", "PHONE", f"square:{sale['id']}", log)
        w.reply(ticket, credited + timedelta(minutes=rng.randrange(5, 90)),
                "We added the missing points to your card.", log, status="solved")
        return Journey("points_claim", person.key, {**records, "points_adjusted": str(entry)},
                       tuple(log))


def add_journeys(world: _Projector, people: int) -> list[Journey]:
    """``max(3, people // 100)`` journeys of each kind, each a new person."""
    journeys = _Journeys(world, max(3, people // 100))
    build: dict[str, Callable[[int], Journey]] = {
        "cart_then_store": journeys.cart_then_store,
        "pickup_return_elsewhere": journeys.pickup_return_elsewhere,
        "phone_ticket_store_receipt": journeys.phone_ticket_store_receipt,
        "open_pickup": journeys.open_pickup,
        "points_claim": journeys.points_claim,
    }
    made = [build[name](index) for name in JOURNEYS for index in range(journeys.per_kind)]
    world.counts["journeys"] = len(made)
    return made


def add_abandoned_carts(world: _Projector, people: int) -> None:
    """About one in ten of the first ``people`` (the base population) with a Shopify account
    left a checkout online in the last 30 days; a few have an open draft order an agent
    prepared for them."""
    w = Writer(world, "carts")
    rng = w.rng
    shoppers = [p for p in world.people[:people] if "shopify" in p.records]
    checkouts = drafts = 0
    for person in shoppers:
        if rng.random() < 0.1:
            w.checkout(person, w.as_of - timedelta(seconds=rng.randrange(3600, 30 * 86400)),
                       w.lines(), [])
            checkouts += 1
    for person in rng.sample(shoppers, min(len(shoppers), max(2, len(shoppers) // 150))):
        at = w.as_of - timedelta(seconds=rng.randrange(3600, 20 * 86400))
        world.shopify.create_draft_order({"draft_order": {
            "customer": {"id": int(person.records["shopify"])},
            "line_items": w.variant_lines(w.lines()),
            "note": "Prepared by customer service"}}, at=at)
        drafts += 1
    world.counts["abandoned_checkouts"] = checkouts
    world.counts["draft_orders"] = drafts
