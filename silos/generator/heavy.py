"""Heavy customers: people in all four systems with about five years of history, thousands of
timeline events each (web orders shipped, collected and refunded, store sales and returns,
tickets with replies and status changes, the points of all of it)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from silos.generator.catalog import Sku
from silos.generator.truth import SYSTEMS, JourneyEvent
from silos.generator.writer import Writer

if TYPE_CHECKING:
    from silos.generator.project import _Projector

YEARS = 5
ACTIVITIES = (("web", 28), ("pickup", 6), ("store", 50), ("ticket", 16))
PICKUPS_SINCE = timedelta(days=800)
"""Every store has been open (a Shopify pickup location) this long before ``as_of``."""
REDEEM_AT = 1000
"""A heavy customer redeems 500 points whenever a purchase brings the balance to this."""
SUBJECTS = ("Where is my order {ref}?", "Wrong size received in order {ref}",
            "Item missing from {ref}", "Question about {ref}")


class _Activity:
    __slots__ = ("kind", "lines", "undone", "replied", "solved", "at")

    def __init__(self, kind: str, lines: list[tuple[Sku, int]], undone: bool, replied: bool,
                 solved: bool) -> None:
        self.kind, self.lines, self.undone = kind, lines, undone
        self.replied, self.solved = replied, solved
        self.at = datetime.min

    @property
    def points(self) -> int:
        """Points earned less points reversed (prices carry no tax or shipping here)."""
        if self.kind == "ticket":
            return 0
        earned = int(sum(sku.price * quantity for sku, quantity in self.lines))
        if not self.undone:
            return earned
        sku, quantity = self.lines[0]
        return earned - int(sku.price * quantity)

    @property
    def events(self) -> int:
        if self.kind == "ticket":
            return 3 + self.replied + 2 * self.solved
        return 3 + 2 * self.undone if self.kind in ("web", "pickup") else 2 + 2 * self.undone


def _plan(w: Writer, target: int) -> list[_Activity]:
    """Activities whose events, with the redemptions their points will bring, add up to about
    ``target``, at sorted random moments over the last ``YEARS`` years, the last two weeks left
    for follow-ups."""
    rng = w.rng
    kinds = [kind for kind, weight in ACTIVITIES for _ in range(weight)]
    plan: list[_Activity] = []
    planned = net = 0
    while planned + max(0, net - REDEEM_AT + 500) // 500 < target:
        kind = rng.choice(kinds)
        activity = _Activity(kind, w.lines(), rng.random() < (0.08 if kind == "web" else 0.06),
                             rng.random() < 0.4, rng.random() < 0.9)
        plan.append(activity)
        planned += activity.events
        net += activity.points
    span = (YEARS * 365 - 14) * 86400
    start = w.as_of - timedelta(days=YEARS * 365)
    for activity, offset in zip(plan, sorted(rng.randrange(span) for _ in plan), strict=True):
        activity.at = start + timedelta(seconds=offset)
    return plan


def add_heavy_customer(w: Writer, target: int) -> tuple[str, dict[str, int]]:
    """One heavy customer with about ``target`` timeline events; returns their person key and
    the expected number of events per system."""
    rng = w.rng
    plan = _plan(w, target)
    person = w.person(("shopify", "square", "zendesk", "loyalty"),
                      plan[0].at - timedelta(days=rng.randrange(20, 60)))
    log: list[JourneyEvent] = []
    ledger: list[tuple[datetime, int, str, str, str]] = []
    refs: list[str] = []
    for activity in plan:
        at = activity.at
        if activity.kind in ("web", "pickup"):
            pickup = w.home_store(person) if activity.kind == "pickup" and \
                w.as_of - at < PICKUPS_SINCE else None
            order = w.web_order(person, at, activity.lines, log, pickup=pickup)
            w.fulfil(order, at + timedelta(hours=rng.randrange(3, 60)), log, pickup=pickup)
            ref = f"shopify:{order['id']}"
            ledger.append((at, int(Decimal(order["total_price"])), "PURCHASE", "WEB", ref))
            if activity.undone:
                back = at + timedelta(days=rng.randrange(5, 13))
                _, value = w.refund_first_line(order, back, log)
                ledger.append((back, -int(value), "RETURN", "WEB", ref))
            refs.append(order["name"])
        elif activity.kind == "store":
            sale = w.store_sale(person, at, w.home_store(person), activity.lines, log)
            ref = f"square:{sale['id']}"
            ledger.append((at, int(Decimal(sale["total_money"]["amount"]) / 100), "PURCHASE",
                           "STORE", ref))
            if activity.undone:
                back = at + timedelta(days=rng.randrange(1, 13))
                _, value = w.store_return(person, sale, back, log)
                ledger.append((back, -int(value), "RETURN", "STORE", ref))
            refs.append(sale["id"])
        else:
            about = refs[-1] if refs and rng.random() < 0.7 else None
            subject = rng.choice(SUBJECTS).format(ref=about) if about else rng.choice((
                "Loyalty points missing", "Update my address", "Gift card balance"))
            ticket = w.ticket(person, at, subject, rng.choice(("email", "web", "voice", "chat")),
                              log, order_ref=about, tags=("order",) if about else ())
            answered = at + timedelta(hours=rng.randrange(1, 30))
            w.reply(ticket, answered, "Thanks for reaching out, we are looking into it.", log,
                    status="open")
            if activity.replied:
                answered += timedelta(hours=rng.randrange(1, 48))
                w.reply(ticket, answered, "Thank you, any news?", log, customer=True)
            if activity.solved:
                w.reply(ticket, answered + timedelta(days=rng.randrange(1, 6)),
                        "This is now resolved.", log, status="solved")
    balance = 0
    for at, points, reason, channel, ref in sorted(ledger, key=lambda entry: entry[0]):
        w.points(person, at, points, reason, channel, ref, log)
        balance += points
        if reason == "PURCHASE" and balance >= REDEEM_AT:
            w.points(person, at + timedelta(minutes=1), -500, "REDEMPTION", channel, ref, log)
            balance -= 500
    per_system = Counter(event.system for event in log)
    return person.key, {system: per_system[system] for system in SYSTEMS}


def add_heavy_customers(world: _Projector, count: int, events: int) -> list[str]:
    """``count`` heavy customers of about ``events`` timeline events each."""
    w = Writer(world, "heavy")
    keys = []
    for _ in range(count):
        key, expected = add_heavy_customer(w, events)
        world.expected_events[key] = expected
        keys.append(key)
    world.counts["heavy_customers"] = count
    return keys
