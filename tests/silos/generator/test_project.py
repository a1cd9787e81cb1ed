"""The generated population: deterministic, consistent across silos, and noisy as real data."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest

from identity.normalize import Normalizer
from silos.generator import Sandbox, generate

N = 1500


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return generate(customers=N, seed=42)


def owner_index(sandbox: Sandbox) -> dict[tuple[str, str], str]:
    return {(r["kind"], r["id"]): p["person"] for p in sandbox.ground_truth for r in p["records"]}


def test_same_seed_same_data_other_seed_other_data() -> None:
    def fingerprint(data: Sandbox) -> str:
        return json.dumps([data.ground_truth, list(data.shopify.customers.values()),
                           list(data.square.orders.values()), data.loyalty_points,
                           [data.zendesk.get_ticket(t) for t in range(1, 30)]],
                          default=str, sort_keys=True)

    assert fingerprint(generate(150, seed=7)) == fingerprint(generate(150, seed=7))
    assert fingerprint(generate(150, seed=7)) != fingerprint(generate(150, seed=8))


def test_ground_truth_covers_every_customer_record_exactly_once(sandbox: Sandbox) -> None:
    records = [(r["kind"], r["id"]) for p in sandbox.ground_truth for r in p["records"]]
    assert len(records) == len(set(records))
    assert len(sandbox.ground_truth) == N + len(sandbox.journeys)
    by_kind = Counter(kind for kind, _ in records)
    assert by_kind["shopify"] == len(sandbox.shopify.customers)
    assert by_kind["square"] == len(sandbox.square.customers)
    assert by_kind["loyalty"] == len(sandbox.loyalty_members)
    end_users = [sandbox.zendesk.get_user(int(i)) for k, i in records if k == "zendesk"]
    assert all(u is not None and u["role"] == "end-user" for u in end_users)
    assert {m["card_number"] for m in sandbox.loyalty_members} == {
        i for k, i in records if k == "loyalty"}
    base = Counter(r["kind"] for p in sandbox.ground_truth[:N] for r in p["records"])
    for kind, share in (("shopify", 0.66), ("square", 0.55), ("zendesk", 0.32),
                        ("loyalty", 0.42)):
        assert abs(base[kind] / N - share) < 0.06, kind
    multi = sum(1 for p in sandbox.ground_truth[:N] if len(p["records"]) > 1)
    assert multi / N > 0.5


def identifiers(sandbox: Sandbox) -> dict[str, list[tuple[str, str | None, str | None]]]:
    """Per person: (kind, raw email, raw phone) of each record."""
    owner = owner_index(sandbox)
    found: dict[str, list[tuple[str, str | None, str | None]]] = defaultdict(list)
    for cid, c in sandbox.shopify.customers.items():
        found[owner[("shopify", str(cid))]].append(("shopify", c["email"], c["phone"]))
    for cid, c in sandbox.square.customers.items():
        found[owner[("square", cid)]].append(
            ("square", c.get("email_address"), c.get("phone_number")))
    for m in sandbox.loyalty_members:
        found[owner[("loyalty", m["card_number"])]].append(("loyalty", m["email"], m["phone"]))
    return found


def test_the_same_person_is_written_differently_across_systems(sandbox: Sandbox) -> None:
    normalizer = Normalizer()
    differing_emails = differing_phones = 0
    for records in identifiers(sandbox).values():
        emails = [e for _, e, _ in records if e and normalizer.email(e)]
        if len({normalizer.email(e) for e in emails}) == 1 and len(set(emails)) > 1:
            differing_emails += 1
        phones = [p for _, _, p in records if p and normalizer.phone(p)]
        if len({normalizer.phone(p) for p in phones}) == 1 and len(set(phones)) > 1:
            differing_phones += 1
    assert differing_emails > N * 0.05
    assert differing_phones > N * 0.05


def test_households_share_phones_and_junk_exists(sandbox: Sandbox) -> None:
    normalizer = Normalizer()
    people_by_phone: dict[str, set[str]] = defaultdict(set)
    raw_values = []
    for person, records in identifiers(sandbox).items():
        for _, email, phone in records:
            raw_values += [email, phone]
            if phone and normalizer.phone(phone):
                people_by_phone[normalizer.phone(phone) or ""].add(person)
    shared = [p for p in people_by_phone.values() if len(p) > 1]
    assert len(shared) > N * 0.01
    assert {"test@test.com", "0000000000"} & set(raw_values)
    assert "" in raw_values or None in raw_values


def test_cross_references_point_at_the_same_person(sandbox: Sandbox) -> None:
    owner = owner_index(sandbox)
    refs = 0
    for cid, c in sandbox.shopify.customers.items():
        for tag in filter(None, (t.strip() for t in c["tags"].split(","))):
            if tag.startswith("loyalty:"):
                assert owner[("loyalty", tag[8:])] == owner[("shopify", str(cid))]
                refs += 1
    for cid, c in sandbox.square.customers.items():
        if c.get("reference_id"):
            assert owner[("loyalty", c["reference_id"])] == owner[("square", cid)]
            refs += 1
    for kind, uid in owner:
        if kind == "zendesk":
            user = sandbox.zendesk.get_user(int(uid))
            assert user is not None
            if user["external_id"]:
                assert owner[("shopify", user["external_id"])] == owner[("zendesk", uid)]
                refs += 1
    total = sum(len(p["records"]) for p in sandbox.ground_truth)
    assert 0.03 * total < refs < 0.3 * total, "some records carry cross-references, most don't"


def test_orders_span_both_channels_over_one_catalog(sandbox: Sandbox) -> None:
    shopify_skus = {li["sku"] for o in sandbox.shopify.orders.values() for li in o["line_items"]}
    variations = {}
    for obj in sandbox.square.catalog.values():
        if obj["type"] == "ITEM_VARIATION":
            variations[obj["id"]] = obj["item_variation_data"]["sku"]
    square_skus = {variations[li["catalog_object_id"]] for o in sandbox.square.orders.values()
                   for li in o.get("line_items", [])}
    assert len(shopify_skus & square_skus) > 100
    assert all(o["source_name"] == "web" for o in sandbox.shopify.orders.values())


def test_pickups_and_store_returns_of_web_orders(sandbox: Sandbox) -> None:
    owner = owner_index(sandbox)
    stores = {s.shopify_location_id: s for s in sandbox.stores}
    by_square_location = {s.square_location_id: s for s in sandbox.stores}
    pickups = collected = 0
    for order in sandbox.shopify.orders.values():
        line = order["shipping_lines"][0]
        store = next((s for s in sandbox.stores if s.name == line["title"]), None)
        if store is None:
            continue
        pickups += 1
        assert line["code"] == store.name and line["price"] == "0.00"
        for fulfillment in order["fulfillments"]:
            assert fulfillment["location_id"] in stores
            collected += 1
    assert pickups > 50 and collected > pickups / 2
    returns = 0
    for order in sandbox.square.orders.values():
        if not order.get("returns") or order["returns"][0].get("source_order_id"):
            continue
        returns += 1
        web = sandbox.shopify.order(int(order["reference_id"]))
        assert web is not None
        assert web["financial_status"] in ("refunded", "partially_refunded")
        [refund] = web["refunds"]
        store = by_square_location[order["location_id"]]
        assert refund["refund_line_items"][0]["location_id"] == store.shopify_location_id
        assert Decimal(refund["transactions"][0]["amount"]) * 100 == Decimal(
            order["return_amounts"]["total_money"]["amount"])
        if "customer_id" in order:
            assert owner[("square", order["customer_id"])] == owner[
                ("shopify", str(web["customer"]["id"]))]
    assert returns > 20


def test_tickets_reference_their_requesters_orders(sandbox: Sandbox) -> None:
    owner = owner_index(sandbox)
    field_id = sandbox.order_number_field_id
    web_by_name = {o["name"]: o for o in sandbox.shopify.orders.values()}
    referencing = channels = 0
    via: Counter[str] = Counter()
    for kind, uid in list(owner):
        if kind != "zendesk":
            continue
        for ticket in sandbox.zendesk.requested_tickets(int(uid)):
            via[ticket["via"]["channel"]] += 1
            [value] = [f["value"] for f in ticket["custom_fields"] if f["id"] == field_id]
            if value is None:
                continue
            referencing += 1
            if value.startswith("#"):
                order: dict[str, Any] = web_by_name[value]
                assert owner[("shopify", str(order["customer"]["id"]))] == owner[(kind, uid)]
            else:
                sale = sandbox.square.get_order(value)
                assert owner[("square", sale["customer_id"])] == owner[(kind, uid)]
        channels = len(via)
    assert referencing > 100
    assert channels >= 4


def test_loyalty_ledgers_reference_real_orders_of_the_member(sandbox: Sandbox) -> None:
    owner = owner_index(sandbox)
    card_of = {m["member_id"]: m["card_number"] for m in sandbox.loyalty_members}
    reasons: Counter[str] = Counter()
    for entry in sandbox.loyalty_points:
        reasons[entry["reason"]] += 1
        if entry["reason"] != "PURCHASE":
            continue
        kind, _, order_id = entry["order_ref"].partition(":")
        person = owner[("loyalty", card_of[entry["member_id"]])]
        if kind == "shopify":
            order = sandbox.shopify.order(int(order_id))
            assert order is not None
            assert owner[("shopify", str(order["customer"]["id"]))] == person
            assert entry["channel"] == "WEB"
        else:
            order = sandbox.square.get_order(order_id)
            assert owner[("square", order["customer_id"])] == person
            assert entry["channel"] == "STORE"
        assert entry["points"] >= 0
    assert reasons["PURCHASE"] > 500 and reasons["RETURN"] > 0 and reasons["REDEMPTION"] > 0
    assert {m["tier"] for m in sandbox.loyalty_members} >= {"BRONZE", "SILVER", "GOLD"}


def test_inventory_per_warehouse_and_per_store(sandbox: Sandbox) -> None:
    item_ids = [v["inventory_item_id"] for p in sandbox.shopify.products.values()
                for v in p["variants"]]
    for warehouse in sandbox.warehouse_location_ids:
        levels = [sandbox.shopify.inventory_level(i, warehouse) for i in item_ids]
        assert all(level is not None for level in levels)
    assert len(sandbox.stores) == 10
    response = sandbox.square.batch_retrieve_inventory_counts(
        {"location_ids": [sandbox.stores[0].square_location_id]})
    assert len(response["counts"]) > 50
    locations = sandbox.square.list_locations()["locations"]
    assert all("latitude" in loc["coordinates"] for loc in locations)


def test_every_person_has_valid_identifiers() -> None:
    import phonenumbers

    from silos.generator.people import build_population

    people = build_population(3000, __import__("random").Random(3))
    for person in people:
        if person.phone:
            assert phonenumbers.is_valid_number(phonenumbers.parse(person.phone)), person.phone
    emails = [p.email for p in people if p.email]
    assert len(emails) == len(set(emails))
