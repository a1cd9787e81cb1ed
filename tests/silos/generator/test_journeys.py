"""The cross-channel journeys and abandoned carts written after the base population: their
records link up in the silos, their ground-truth events are what the silos hold, and the base
population is the same with or without them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from silos.generator import AS_OF, Journey, Sandbox, generate
from silos.generator.journeys import JOURNEYS
from silos.generator.project import _Projector
from silos.generator.truth import EVENT_CHANNELS, EVENT_KINDS, SYSTEMS, JourneyEvent

N = 400
POINTS = {"POINTS_EARNED": "PURCHASE", "POINTS_REDEEMED": "REDEMPTION",
          "POINTS_REVERSED": "RETURN", "POINTS_ADJUSTED": "ADJUSTMENT"}


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return generate(customers=N, seed=11)


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def person_records(sandbox: Sandbox, key: str) -> dict[str, str]:
    [row] = [p for p in sandbox.ground_truth if p["person"] == key]
    return {r["kind"]: r["id"] for r in row["records"]}


def ledger(sandbox: Sandbox, card: str) -> list[dict[str, Any]]:
    [member] = [m for m in sandbox.loyalty_members if m["card_number"] == card]
    return [e for e in sandbox.loyalty_points if e["member_id"] == member["member_id"]]


def entry(sandbox: Sandbox, entry_id: str) -> dict[str, Any]:
    found = sandbox.loyalty_points[int(entry_id) - 1]
    assert found["entry_id"] == int(entry_id)
    return found


def public_replies(sandbox: Sandbox, ticket_id: int) -> list[dict[str, Any]]:
    """The public comments after the request itself."""
    return [c for c in sandbox.zendesk.ticket_comments(ticket_id)[1:] if c["public"]]


def status_changes(sandbox: Sandbox, ticket_id: int) -> list[tuple[str, str, str]]:
    """(at, from, to) of every status change the ticket's audits record."""
    return [(audit["created_at"], event["previous_value"], event["value"])
            for audit in sandbox.zendesk.ticket_audits(ticket_id) for event in audit["events"]
            if event["type"] == "Change" and event["field_name"] == "status"]


def by_name(sandbox: Sandbox, name: str) -> list[Journey]:
    return [j for j in sandbox.journeys if j.name == name]


def test_each_kind_of_journey_is_a_person_of_its_own(sandbox: Sandbox) -> None:
    assert Counter(j.name for j in sandbox.journeys) == {name: N // 100 for name in JOURNEYS}
    assert len({j.person for j in sandbox.journeys}) == len(sandbox.journeys)
    base = {p["person"] for p in sandbox.ground_truth[:N]}
    assert not base & {j.person for j in sandbox.journeys}
    needs = {"cart_then_store": {"shopify", "square", "loyalty"},
             "pickup_return_elsewhere": set(SYSTEMS),
             "phone_ticket_store_receipt": {"square", "zendesk"},
             "open_pickup": {"shopify"}, "points_claim": {"square", "zendesk", "loyalty"}}
    for journey in sandbox.journeys:
        assert set(person_records(sandbox, journey.person)) == needs[journey.name]
        assert {e.system for e in journey.events} <= needs[journey.name]
        assert all(e.kind in EVENT_KINDS and e.channel in EVENT_CHANNELS
                   for e in journey.events)


def test_cart_then_store(sandbox: Sandbox) -> None:
    sku_of = {obj["id"]: obj["item_variation_data"]["sku"]
              for obj in sandbox.square.catalog.values() if obj["type"] == "ITEM_VARIATION"}
    for journey in by_name(sandbox, "cart_then_store"):
        mine = person_records(sandbox, journey.person)
        checkout = sandbox.shopify.checkout(int(journey.records["checkout"]))
        assert checkout is not None and checkout["completed_at"] is None
        assert str(checkout["customer"]["id"]) == mine["shopify"]
        sale = sandbox.square.get_order(journey.records["store_order"])
        assert sale["customer_id"] == mine["square"]
        assert sorted((li["sku"], li["quantity"]) for li in checkout["line_items"]) == sorted(
            (sku_of[li["catalog_object_id"]], int(li["quantity"])) for li in sale["line_items"])
        assert timedelta(days=1) <= when(sale["created_at"]) - when(checkout["created_at"]) \
            < timedelta(days=7)
        [earned] = ledger(sandbox, mine["loyalty"])
        assert (earned["reason"], earned["channel"], earned["order_ref"], earned["points"]) == (
            "PURCHASE", "STORE", f"square:{sale['id']}",
            int(Decimal(sale["total_money"]["amount"]) / 100))
        assert sandbox.shopify.order_ids_for_customer(int(mine["shopify"])) == []
        assert [r.state for r in journey.open_requests] == ["OPEN"]


def test_pickup_at_one_store_returned_at_another(sandbox: Sandbox) -> None:
    stores = {s.shopify_location_id: s for s in sandbox.stores}
    for journey in by_name(sandbox, "pickup_return_elsewhere"):
        mine = person_records(sandbox, journey.person)
        order = sandbox.shopify.order(int(journey.records["web_order"]))
        assert order is not None and str(order["customer"]["id"]) == mine["shopify"]
        pickup = stores[int(journey.records["pickup_location"])]
        assert order["shipping_lines"][0]["title"] == pickup.name
        [collected] = order["fulfillments"]
        assert collected["location_id"] == pickup.shopify_location_id
        returned = sandbox.square.get_order(journey.records["return_order"])
        assert returned["reference_id"] == str(order["id"])
        assert returned["customer_id"] == mine["square"]
        [back] = [s for s in sandbox.stores
                  if s.square_location_id == journey.records["return_location"]]
        assert returned["location_id"] == back.square_location_id and back != pickup
        [refund] = order["refunds"]
        assert str(refund["id"]) == journey.records["refund"]
        assert refund["refund_line_items"][0]["location_id"] == back.shopify_location_id
        assert Decimal(refund["transactions"][0]["amount"]) * 100 == Decimal(
            returned["return_amounts"]["total_money"]["amount"])
        ticket = sandbox.zendesk.get_ticket(int(journey.records["ticket"]))
        assert ticket is not None and ticket["requester_id"] == int(mine["zendesk"])
        assert ticket["status"] == "open" and "order" in ticket["tags"]
        assert [f["value"] for f in ticket["custom_fields"]
                if f["id"] == sandbox.order_number_field_id] == [order["name"]]
        [reply] = public_replies(sandbox, ticket["id"])
        assert reply["author_id"] != ticket["requester_id"]
        earned, reversed_ = ledger(sandbox, mine["loyalty"])
        ref = f"shopify:{order['id']}"
        assert (earned["reason"], earned["channel"], earned["order_ref"]) == (
            "PURCHASE", "WEB", ref)
        assert (reversed_["reason"], reversed_["channel"], reversed_["order_ref"]) == (
            "RETURN", "STORE", ref)
        assert reversed_["points"] == -int(Decimal(refund["transactions"][0]["amount"])) < 0
        assert [str(e["entry_id"]) for e in (earned, reversed_)] == [
            journey.records["points_earned"], journey.records["points_reversed"]]
        assert [(r.kind, r.state) for r in journey.open_requests] == [("ticket", "open")]


def test_phone_ticket_about_a_store_receipt(sandbox: Sandbox) -> None:
    for journey in by_name(sandbox, "phone_ticket_store_receipt"):
        mine = person_records(sandbox, journey.person)
        sale = sandbox.square.get_order(journey.records["store_order"])
        assert sale["customer_id"] == mine["square"] and sale["line_items"]
        ticket = sandbox.zendesk.get_ticket(int(journey.records["ticket"]))
        assert ticket is not None and ticket["requester_id"] == int(mine["zendesk"])
        assert ticket["via"]["channel"] == "voice" and ticket["status"] == "pending"
        assert [f["value"] for f in ticket["custom_fields"]
                if f["id"] == sandbox.order_number_field_id] == [sale["id"]]
        [reply] = public_replies(sandbox, ticket["id"])
        assert reply["author_id"] != ticket["requester_id"]
        assert when(ticket["created_at"]) > when(sale["created_at"])
        assert journey.open_requests[0].ref == f"ticket:{ticket['id']}"


def test_open_pickup_is_not_collected(sandbox: Sandbox) -> None:
    stores = {s.shopify_location_id: s for s in sandbox.stores}
    for journey in by_name(sandbox, "open_pickup"):
        order = sandbox.shopify.order(int(journey.records["web_order"]))
        assert order is not None
        assert order["shipping_lines"][0]["title"] == stores[
            int(journey.records["pickup_location"])].name
        assert order["fulfillments"] == [] and order["fulfillment_status"] is None
        assert order["closed_at"] is None and order["cancelled_at"] is None
        assert AS_OF - when(order["created_at"]) < timedelta(days=3)
        assert [(r.kind, r.ref, r.state) for r in journey.open_requests] == [
            ("pickup", f"order:{order['id']}", "PENDING"),
            ("cart", f"checkout:{journey.records['checkout']}", "OPEN")]


def test_points_claims_half_settled(sandbox: Sandbox) -> None:
    settled = 0
    for journey in by_name(sandbox, "points_claim"):
        mine = person_records(sandbox, journey.person)
        sale = sandbox.square.get_order(journey.records["store_order"])
        ticket = sandbox.zendesk.get_ticket(int(journey.records["ticket"]))
        assert ticket is not None and ticket["subject"] == "Loyalty points missing"
        assert "loyalty_claim" in ticket["tags"]
        assert [f["value"] for f in ticket["custom_fields"]
                if f["id"] == sandbox.order_number_field_id] == [sale["id"]]
        entries = ledger(sandbox, mine["loyalty"])
        assert all(e["reason"] != "PURCHASE" for e in entries)
        if "points_adjusted" in journey.records:
            settled += 1
            [adjusted] = entries
            assert (adjusted["reason"], adjusted["channel"], adjusted["order_ref"]) == (
                "ADJUSTMENT", "PHONE", f"square:{sale['id']}")
            assert ticket["status"] == "solved" and journey.open_requests == ()
            assert when(ticket["updated_at"]) > adjusted["occurred_at"].replace(
                tzinfo=AS_OF.tzinfo)
        else:
            assert entries == [] and ticket["status"] == "open"
            assert [(r.kind, r.state) for r in journey.open_requests] == [("ticket", "open")]
    assert settled == (N // 100 + 1) // 2


def store_times(sandbox: Sandbox, event: JourneyEvent) -> list[datetime]:
    """When the silo says the event's record had that event (candidates for ``event.at``)."""
    what, _, rid = event.ref.partition(":")
    if event.system == "loyalty":
        row = entry(sandbox, rid)
        assert row["reason"] == POINTS[event.kind] and row["channel"] == event.channel
        return [row["occurred_at"].replace(tzinfo=AS_OF.tzinfo)]
    if event.system == "square":
        pos = sandbox.square.get_order(rid)
        assert ("returns" in pos) == (event.kind == "RETURNED")
        return [when(pos["created_at"])]
    if event.system == "zendesk":
        ticket_id = int(rid)
        ticket = sandbox.zendesk.get_ticket(ticket_id)
        assert ticket is not None
        if event.kind == "TICKET_OPENED":
            return [when(ticket["created_at"])]
        if event.kind == "TICKET_COMMENTED":
            return [when(c["created_at"]) for c in public_replies(sandbox, ticket_id)]
        return [when(at) for at, _, _ in status_changes(sandbox, ticket_id)]
    if what == "checkout":
        checkout = sandbox.shopify.checkout(int(rid))
        assert checkout is not None and event.kind == "CART_ABANDONED"
        return [when(checkout["updated_at"])]
    order = sandbox.shopify.order(int(rid))
    assert order is not None and what == "order"
    if event.kind == "ORDER_PLACED":
        return [when(order["created_at"]), when(order["processed_at"])]
    if event.kind in ("PICKUP_COLLECTED", "SHIPPED"):
        return [when(f["created_at"]) for f in order["fulfillments"]]
    assert event.kind == "REFUNDED"
    return [when(r["created_at"]) for r in order["refunds"]]


def test_ground_truth_events_are_what_the_silos_hold(sandbox: Sandbox) -> None:
    for journey in sandbox.journeys:
        times = [e.at for e in journey.events]
        assert times == sorted(times) and times[-1] <= AS_OF, journey
        for event in journey.events:
            assert event.at.utcoffset() == timedelta(0)
            assert event.at in store_times(sandbox, event), event
        # every event the records hold is in the journey, and no record changed after it
        last: dict[tuple[str, str], datetime] = {}
        for event in journey.events:
            last[event.system, event.ref] = max(event.at, last.get((event.system, event.ref),
                                                                   event.at))
        for (system, ref), at in last.items():
            what, _, rid = ref.partition(":")
            expected = [e for e in journey.events if (e.system, e.ref) == (system, ref)]
            if system == "zendesk":
                ticket = sandbox.zendesk.get_ticket(int(rid))
                assert ticket is not None and when(ticket["updated_at"]) == at
                assert len(expected) == 1 + len(public_replies(sandbox, int(rid))) + len(
                    status_changes(sandbox, int(rid)))
            elif system == "shopify" and what == "order":
                order = sandbox.shopify.order(int(rid))
                assert order is not None and when(order["updated_at"]) == at
                assert len(expected) == 1 + len(order["fulfillments"]) + len(order["refunds"])
            elif system == "square":
                assert when(sandbox.square.get_order(rid)["updated_at"]) == at


def test_journeys_are_spread_over_time(sandbox: Sandbox) -> None:
    for name in JOURNEYS:
        starts = sorted(j.events[0].at for j in by_name(sandbox, name))
        assert len(set(starts)) == len(starts)
        if name != "open_pickup":
            assert starts[-1] - starts[0] > timedelta(days=30), name


def test_abandoned_carts_and_draft_orders_of_the_population(sandbox: Sandbox) -> None:
    journey_checkouts = {int(j.records["checkout"]) for name in ("cart_then_store", "open_pickup")
                         for j in by_name(sandbox, name)}
    base_customers = {int(r["id"]) for p in sandbox.ground_truth[:N] for r in p["records"]
                      if r["kind"] == "shopify"}
    left = [c for c in sandbox.shopify.checkouts.values() if c["id"] not in journey_checkouts]
    assert len(left) == sandbox.counts["abandoned_checkouts"]
    assert 0.06 < len(left) / len(base_customers) < 0.14
    owners = [sandbox.shopify.checkout(c["id"]) for c in left]
    assert all(o is not None and o["customer"]["id"] in base_customers for o in owners)
    assert all(timedelta(0) < AS_OF - when(c["updated_at"]) <= timedelta(days=30)
               and c["completed_at"] is None and c["line_items"] for c in left)
    drafts = list(sandbox.shopify.draft_orders.values())
    assert len(drafts) == sandbox.counts["draft_orders"] >= 2
    for draft in drafts:
        shown = sandbox.shopify.draft_order(draft["id"])
        assert shown is not None and shown["customer"]["id"] in base_customers
        assert draft["status"] == "open" and draft["line_items"]


def test_same_seed_same_journeys_other_seed_other_journeys() -> None:
    first, again, other = generate(120, seed=3), generate(120, seed=3), generate(120, seed=4)
    assert first.journeys == again.journeys
    assert first.ground_truth == again.ground_truth
    assert [j.events for j in first.journeys] != [j.events for j in other.journeys]


def test_the_base_population_is_the_same_without_the_additions() -> None:
    projector = _Projector(150, 7, AS_OF)
    projector.populate()
    base = projector.sandbox([], [])
    full = generate(150, seed=7, heavy_customers=1, heavy_events=300)
    assert full.ground_truth[:150] == base.ground_truth
    by_id: list[tuple[dict[Any, Any], dict[Any, Any]]] = [
        (base.shopify.customers, full.shopify.customers),
        (base.shopify.orders, full.shopify.orders),
        (base.shopify.products, full.shopify.products),
        (base.shopify.locations, full.shopify.locations),
        (base.square.customers, full.square.customers),
        (base.square.orders, full.square.orders),
        (base.square.catalog, full.square.catalog)]
    for records, everything in by_id:
        assert {k: everything[k] for k in records} == records
    assert base.shopify.checkouts == {} and base.shopify.draft_orders == {}
    for ticket_id in list(base.zendesk.ticket_ids()):
        assert full.zendesk.get_ticket(ticket_id) == base.zendesk.get_ticket(ticket_id)
        assert full.zendesk.ticket_audits(ticket_id) == base.zendesk.ticket_audits(ticket_id)
    for person in base.ground_truth:
        for record in person["records"]:
            if record["kind"] == "zendesk":
                assert full.zendesk.get_user(int(record["id"])) == base.zendesk.get_user(
                    int(record["id"]))
    assert full.loyalty_members[:len(base.loyalty_members)] == base.loyalty_members
    assert full.loyalty_points[:len(base.loyalty_points)] == base.loyalty_points

    # the counts differ by what was added, and only by that
    added_web = [o for i, o in full.shopify.orders.items() if i not in base.shopify.orders]
    added_pos = [o for i, o in full.square.orders.items() if i not in base.square.orders]
    store_names = {s.name for s in full.stores}
    added = {
        "shopify_orders": len(added_web),
        "pickups": sum(o["shipping_lines"][0]["title"] in store_names for o in added_web),
        "square_orders": sum("line_items" in o for o in added_pos),
        "store_returns_of_web_orders": sum("reference_id" in o for o in added_pos),
        "tickets": full.zendesk.ticket_count - base.zendesk.ticket_count,
        "people": len(full.ground_truth) - len(base.ground_truth),
        "loyalty_members": len(full.loyalty_members) - len(base.loyalty_members),
        "ledger_entries": len(full.loyalty_points) - len(base.loyalty_points),
    }
    assert all(added.values())
    assert {k: full.counts[k] - base.counts[k] for k in base.counts} == added
    assert set(full.counts) - set(base.counts) == {
        "journeys", "abandoned_checkouts", "draft_orders", "heavy_customers"}
