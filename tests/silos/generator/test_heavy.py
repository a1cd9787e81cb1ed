"""Heavy customers: years of history in all four silos, as many timeline events as asked."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.cli import build_parser
from silos.generator import AS_OF, Sandbox, generate
from silos.sandbox import SandboxOptions, prepare

EVENTS = 5000


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return generate(customers=50, seed=9, heavy_customers=2, heavy_events=EVENTS)


def events_in_silos(sandbox: Sandbox, key: str) -> Counter[str]:
    """The person's timeline events per system, counted from the silos' own records: orders
    placed, fulfilled and refunded; POS sales and returns; tickets opened, their public replies
    and status changes; ledger rows."""
    [row] = [p for p in sandbox.ground_truth if p["person"] == key]
    ids = {r["kind"]: r["id"] for r in row["records"]}
    found: Counter[str] = Counter()
    for order_id in sandbox.shopify.order_ids_for_customer(int(ids["shopify"])):
        order = sandbox.shopify.orders[order_id]
        found["shopify"] += 1 + len(order["fulfillments"]) + len(order["refunds"])
    found["square"] = sum(o.get("customer_id") == ids["square"]
                          for o in sandbox.square.orders.values())
    for ticket in sandbox.zendesk.requested_tickets(int(ids["zendesk"])):
        comments = sandbox.zendesk.ticket_comments(ticket["id"])
        found["zendesk"] += 1 + sum(c["public"] for c in comments[1:]) + sum(
            e["type"] == "Change" and e["field_name"] == "status" and bool(e["previous_value"])
            for audit in sandbox.zendesk.ticket_audits(ticket["id"]) for e in audit["events"])
    [member] = [m for m in sandbox.loyalty_members if m["card_number"] == ids["loyalty"]]
    found["loyalty"] = sum(e["member_id"] == member["member_id"]
                           for e in sandbox.loyalty_points)
    return found


def test_heavy_customers_have_about_the_events_asked_for(sandbox: Sandbox) -> None:
    assert len(sandbox.heavy) == len(set(sandbox.heavy)) == sandbox.counts["heavy_customers"] == 2
    rows = {p["person"]: p for p in sandbox.ground_truth}
    for key in sandbox.heavy:
        row = rows[key]
        assert {r["kind"] for r in row["records"]} == {"shopify", "square", "zendesk", "loyalty"}
        assert events_in_silos(sandbox, key) == row["events"]
        assert abs(sum(row["events"].values()) - EVENTS) < EVENTS * 0.02
        assert min(row["events"].values()) > EVENTS * 0.1
    assert "events" not in rows[sandbox.ground_truth[0]["person"]]


def test_heavy_history_spans_five_years_of_every_kind(sandbox: Sandbox) -> None:
    rows = {p["person"]: {r["kind"]: r["id"] for r in p["records"]}
            for p in sandbox.ground_truth}
    ids = rows[sandbox.heavy[0]]
    orders = [sandbox.shopify.orders[i]
              for i in sandbox.shopify.order_ids_for_customer(int(ids["shopify"]))]
    placed = sorted(datetime.fromisoformat(o["created_at"]) for o in orders)
    assert AS_OF - placed[0] > timedelta(days=4 * 365) and AS_OF - placed[-1] < timedelta(days=60)
    assert any(o["refunds"] for o in orders)
    stores = {s.name for s in sandbox.stores}
    assert any(o["shipping_lines"][0]["title"] in stores and o["fulfillments"] for o in orders)
    pos = [o for o in sandbox.square.orders.values() if o.get("customer_id") == ids["square"]]
    assert any("returns" in o for o in pos) and any("line_items" in o for o in pos)
    tickets = sandbox.zendesk.requested_tickets(int(ids["zendesk"]))
    assert {t["status"] for t in tickets} >= {"solved", "open"}
    [member] = [m for m in sandbox.loyalty_members if m["card_number"] == ids["loyalty"]]
    reasons = Counter(e["reason"] for e in sandbox.loyalty_points
                      if e["member_id"] == member["member_id"])
    assert reasons.keys() == {"PURCHASE", "RETURN", "REDEMPTION"}
    assert member["tier"] == "PLATINUM"


def test_heavy_customers_are_deterministic_and_leave_the_rest_alone(sandbox: Sandbox) -> None:
    again = generate(customers=50, seed=9, heavy_customers=2, heavy_events=EVENTS)
    assert again.ground_truth == sandbox.ground_truth and again.heavy == sandbox.heavy
    without = generate(customers=50, seed=9)
    assert without.heavy == [] and without.counts["heavy_customers"] == 0
    assert sandbox.ground_truth[:len(without.ground_truth)] == without.ground_truth
    assert sandbox.journeys == without.journeys
    assert list(sandbox.shopify.checkouts) == list(without.shopify.checkouts)


def test_sandbox_command_option(tmp_path: Path) -> None:
    assert build_parser().parse_args(["sandbox", "--heavy", "2"]).heavy == 2
    assert build_parser().parse_args(["sandbox"]).heavy == 0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--heavy", "-1"])
    running = prepare(SandboxOptions(customers=30, seed=2, data_dir=tmp_path,
                                     heavy_customers=1))
    truth = json.loads(running.ground_truth_path.read_text())
    [heavy] = [p for p in truth if "events" in p]
    assert [heavy["person"]] == running.data.heavy
    assert sum(heavy["events"].values()) > 4000


def test_rejects_negative_heavy_customers() -> None:
    with pytest.raises(ValueError):
        generate(customers=10, heavy_customers=-1)
