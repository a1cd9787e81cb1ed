"""One contract suite, parametrized over every adapter: each runs against its emulated silo
(``httpx.ASGITransport``, no sockets) or the sandbox loyalty database, and parses the real
vendor payloads."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.models import Customer, HistoryWindow, LocationKind
from adapters.protocols import (
    CartSource,
    CatalogSource,
    CustomerSource,
    InventorySource,
    LedgerHistorySource,
    LocationSource,
    LoyaltySource,
    OrderHistorySource,
    OrderSource,
    TicketHistorySource,
    TicketSource,
)
from gateway.runtime import Runtime
from silos.sandbox import RunningSandbox
from tests.adapters.conftest import SiloStats
from tests.adapters.loyalty.payloads import CASES as LOYALTY_CASES
from tests.adapters.shopify.payloads import CASES as SHOPIFY_CASES
from tests.adapters.square.payloads import CASES as SQUARE_CASES
from tests.adapters.zendesk.payloads import CASES as ZENDESK_CASES

pytestmark = pytest.mark.anyio

ALL = ["shopify", "square", "zendesk", "loyalty"]
HTTP_BATCH_LIMIT = {"shopify": 250, "square": 100, "zendesk": 100}


def ids_of(sandbox: RunningSandbox, kind: str) -> list[str]:
    return [r["id"] for p in sandbox.data.ground_truth for r in p["records"] if r["kind"] == kind]


def raw_emails(sandbox: RunningSandbox, kind: str) -> dict[str, str]:
    """{record id: an email exactly as that silo holds it}."""
    data = sandbox.data
    if kind == "shopify":
        found = {str(i): c["email"] for i, c in data.shopify.customers.items()}
    elif kind == "square":
        found = {i: c.get("email_address") for i, c in data.square.customers.items()}
    elif kind == "zendesk":
        found = {}
        for uid in ids_of(sandbox, "zendesk"):
            user = data.zendesk.get_user(int(uid))
            found[uid] = user["email"] if user else None
    else:
        found = {m["card_number"]: m["email"] for m in data.loyalty_members}
    junk = {"test@test.com", "none@none.com", "noemail@example.com"}
    return {i: e for i, e in found.items() if e and e.strip() and e.strip() not in junk}


@pytest.mark.parametrize("kind", ALL)
async def test_customers_by_ids_are_aligned(kind: str, contract_sandbox: RunningSandbox,
                                            contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, CustomerSource)
    known = ids_of(contract_sandbox, kind)[:6]
    keys = [known[0], "999999999", *known[1:], known[0]]
    result = await adapter.customers_by_ids(keys)
    assert len(result) == len(keys)
    assert result[1] is None
    for key, customer in zip(keys, result, strict=True):
        if key != "999999999":
            assert isinstance(customer, Customer)
            assert (customer.source, customer.kind, customer.id) == (kind, kind, key)
            assert customer.emails or customer.phones or customer.first_name


@pytest.mark.parametrize("kind", ["shopify", "square", "zendesk"])
async def test_large_id_batches_split_at_the_vendor_limit(
        kind: str, contract_sandbox: RunningSandbox, contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, CustomerSource)
    keys = ids_of(contract_sandbox, kind)[:230]
    stats = SiloStats(contract_sandbox, kind)
    await stats.reset()
    result = await adapter.customers_by_ids(keys)
    assert [c.id if c else None for c in result] == keys
    assert await stats.total() == math.ceil(len(keys) / HTTP_BATCH_LIMIT[kind])


@pytest.mark.parametrize("kind", ALL)
async def test_customers_are_found_by_their_email_as_typed(
        kind: str, contract_sandbox: RunningSandbox, contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, CustomerSource)
    sample = list(raw_emails(contract_sandbox, kind).items())[:5]
    results = await adapter.customers_by_emails([email for _, email in sample])
    for (record_id, _), found in zip(sample, results, strict=True):
        assert record_id in {c.id for c in found}


@pytest.mark.parametrize("kind", ALL)
async def test_the_crawl_returns_every_customer_exactly_once(
        kind: str, contract_sandbox: RunningSandbox, contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, CustomerSource)
    seen: list[str] = []
    async for page in adapter.crawl_customers(None):
        seen.extend(c.id for c in page)
    assert sorted(seen) == sorted(ids_of(contract_sandbox, kind))


def orders_in_silo(sandbox: RunningSandbox, kind: str) -> dict[str, list[dict[str, Any]]]:
    by_customer: dict[str, list[dict[str, Any]]] = {}
    orders = sandbox.data.shopify.orders.values() if kind == "shopify" else \
        sandbox.data.square.orders.values()
    for order in orders:
        customer = (order.get("customer") or {}).get("id") if kind == "shopify" else \
            order.get("customer_id")
        if customer is not None:
            by_customer.setdefault(str(customer), []).append(order)
    return by_customer


def order_total(kind: str, order: dict[str, Any]) -> Decimal:
    if kind == "shopify":
        return Decimal(order["total_price"])
    return Decimal(order["total_money"]["amount"]) / 100


@pytest.mark.parametrize("kind", ["shopify", "square"])
async def test_orders_by_customer_ids(kind: str, contract_sandbox: RunningSandbox,
                                      contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, OrderSource)
    silo = orders_in_silo(contract_sandbox, kind)
    customers = sorted(silo, key=lambda c: -len(silo[c]))[:8] + ["0"]
    result = await adapter.orders_by_customer_ids(customers)
    assert result[-1] == []
    for customer, orders in zip(customers[:-1], result, strict=False):
        expected = {str(o["id"]): order_total(kind, o) for o in silo[customer]}
        assert {o.id: o.total.amount for o in orders} == expected
        assert all(o.customer_id == customer and o.source == kind for o in orders)
        placed = [o.placed_at for o in orders]
        assert placed == sorted(placed, reverse=True)


@pytest.mark.parametrize("kind", ["shopify", "square"])
async def test_orders_by_ids(kind: str, contract_sandbox: RunningSandbox,
                             contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, OrderSource)
    silo = contract_sandbox.data.shopify.orders if kind == "shopify" else \
        contract_sandbox.data.square.orders
    keys = [str(k) for k in list(silo)[:5]] + ["12345"]
    result = await adapter.orders_by_ids(keys)
    assert result[-1] is None
    for key, order in zip(keys[:-1], result, strict=False):
        assert order is not None and order.id == key
        raw = silo[int(key)] if kind == "shopify" else silo[key]  # type: ignore[index]
        assert order.total.amount == order_total(kind, raw)
        assert order.total.currency == "USD"
        assert all(line.sku for line in order.lines)


def some_skus(sandbox: RunningSandbox) -> list[str]:
    return sorted({v["sku"] for p in sandbox.data.shopify.products.values()
                   for v in p["variants"]})[:12]


@pytest.mark.parametrize("kind", ["shopify", "square"])
async def test_variants_and_inventory_by_sku(kind: str, contract_sandbox: RunningSandbox,
                                             contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, CatalogSource) and isinstance(adapter, InventorySource)
    skus = [*some_skus(contract_sandbox), "NO-SUCH-SKU"]
    variants = await adapter.variants_by_skus(skus)
    assert variants[-1] is None
    assert [v.sku for v in variants[:-1] if v] == skus[:-1]
    assert all(v.price is not None and v.price.amount > 0 for v in variants[:-1] if v)
    levels = await adapter.inventory_by_skus(skus)
    assert levels[-1] == []
    assert all(level.sku == sku for sku, found in zip(skus, levels, strict=True)
               for level in found)
    assert sum(len(found) for found in levels) >= len(skus) - 1


@pytest.mark.parametrize("kind", ["shopify", "square"])
async def test_locations(kind: str, contract_sandbox: RunningSandbox,
                         contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, LocationSource)
    locations = await adapter.locations()
    kinds = [loc.location_kind for loc in locations]
    assert kinds.count(LocationKind.STORE) == len(contract_sandbox.data.stores)
    if kind == "shopify":
        assert kinds.count(LocationKind.WAREHOUSE) == len(
            contract_sandbox.data.warehouse_location_ids)
    else:
        assert all(loc.geo is not None for loc in locations)


async def test_tickets(contract_sandbox: RunningSandbox, contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters["zendesk"]
    assert isinstance(adapter, TicketSource)
    requesters = ids_of(contract_sandbox, "zendesk")[:10] + ["1"]
    result = await adapter.tickets_by_requester_ids(requesters)
    assert len(result) == len(requesters)
    tickets = [t for found in result for t in found]
    assert tickets
    for requester, found in zip(requesters, result, strict=True):
        expected = contract_sandbox.data.zendesk.requested_tickets(int(requester)) \
            if requester != "1" else []
        assert sorted(t.id for t in found) == sorted(str(t["id"]) for t in expected)
        assert all(t.requester_id == requester for t in found)
    by_id = await adapter.tickets_by_ids([tickets[0].id, "999999"])
    assert by_id[0] is not None and by_id[0].id == tickets[0].id and by_id[1] is None
    comments = await adapter.comments_by_ticket_ids([t.id for t in tickets[:3]])
    audits = await adapter.audits_by_ticket_ids([t.id for t in tickets[:3]])
    assert all(found for found in comments) and all(found for found in audits)


async def test_loyalty(contract_sandbox: RunningSandbox, contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters["loyalty"]
    assert isinstance(adapter, LoyaltySource)
    members = contract_sandbox.data.loyalty_members[:8]
    cards = [m["card_number"] for m in members] + ["LC-NOPE"]
    accounts = await adapter.accounts_by_cards(cards)
    assert accounts[-1] is None
    ledgers = await adapter.ledger_by_member_ids([m["member_id"] for m in members])
    for member, account, ledger in zip(members, accounts, ledgers, strict=False):
        rows = [p for p in contract_sandbox.data.loyalty_points
                if p["member_id"] == member["member_id"]]
        assert account is not None and account.id == member["card_number"]
        assert account.points_balance == sum(p["points"] for p in rows)
        assert [e.points for e in ledger] == [
            p["points"] for p in sorted(rows, key=lambda p: (p["occurred_at"], p["entry_id"]),
                                        reverse=True)]


async def test_open_carts(contract_sandbox: RunningSandbox, contract_runtime: Runtime) -> None:
    adapter = contract_runtime.adapters["shopify"]
    assert isinstance(adapter, CartSource)
    store = contract_sandbox.data.shopify
    since = (datetime.now(UTC) - timedelta(days=adapter.config.cart_lookback_days)).timestamp()
    expected: dict[str, set[str]] = {}
    for checkout in store.checkout_views(store.checkout_ids):
        if (checkout["completed_at"] is None and checkout["closed_at"] is None
                and "customer" in checkout
                and store.checkout_updated_at[checkout["id"]] >= since):
            expected.setdefault(str(checkout["customer"]["id"]), set()).add(
                f"CHECKOUT:{checkout['id']}")
    for draft in store.draft_order_views(store.draft_order_ids):
        if draft["status"] in ("open", "invoice_sent") and "customer" in draft:
            expected.setdefault(str(draft["customer"]["id"]), set()).add(
                f"DRAFT_ORDER:{draft['id']}")
    keys = [*ids_of(contract_sandbox, "shopify")[:50], *expected, "999999999"]
    result = await adapter.carts_by_customer_ids(keys)
    assert any(result)
    for key, carts in zip(keys, result, strict=True):
        assert {f"{c.cart_kind}:{c.id}" for c in carts} == expected.get(key, set())
        assert all(c.customer_id == key and c.status in ("OPEN", "INVOICE_SENT")
                   for c in carts)
        moments = [c.updated_at for c in carts]
        assert moments == sorted(moments, reverse=True)


PAYLOAD_CASES = [*SHOPIFY_CASES, *SQUARE_CASES, *ZENDESK_CASES, *LOYALTY_CASES]


HISTORY = {"shopify": ("order_history", "orders_by_customer_ids"),
           "square": ("order_history", "orders_by_customer_ids"),
           "zendesk": ("ticket_history", "tickets_by_requester_ids"),
           "loyalty": ("ledger_history", None)}


async def _full_history(adapter: Any, kind: str, owner: str) -> list[Any]:
    if kind == "loyalty":
        [account] = await adapter.accounts_by_cards([owner])
        [entries] = await adapter.ledger_by_member_ids([account.member_id])
        return list(entries)
    [records] = await getattr(adapter, HISTORY[kind][1])([owner])
    return list(records)


def _created(record: Any) -> datetime:
    return getattr(record, "placed_at", None) or getattr(record, "created_at", None) or \
        record.occurred_at


@pytest.mark.parametrize("kind", ALL)
async def test_history_windows_walk_the_whole_history_newest_first(
        kind: str, contract_sandbox: RunningSandbox, contract_runtime: Runtime) -> None:
    """Windows of 2 below each window's edge cover every record exactly once, newest first;
    a window reaching the first record says so; records changed after an edge come with it."""
    adapter = contract_runtime.adapters[kind]
    assert isinstance(adapter, (OrderHistorySource, TicketHistorySource, LedgerHistorySource))
    owners = ids_of(contract_sandbox, kind)
    histories = {o: await _full_history(adapter, kind, o) for o in owners[:60]}
    owner = max(histories, key=lambda o: len(histories[o]))
    full = histories[owner]
    assert len(full) >= 3
    method = getattr(adapter, HISTORY[kind][0])
    seen: list[Any] = []
    until = None
    for _ in range(len(full) + 1):
        [piece, other] = await method([HistoryWindow(owner, until, 2),
                                       HistoryWindow("999999999", until, 2)])
        assert other.records == () and other.complete_after is None
        assert all(until is None or _created(r) <= until for r in piece.records)
        window = [_created(r) for r in piece.records[:2]]
        assert window == sorted(window, reverse=True)
        seen += [r for r in piece.records if r.id not in {s.id for s in seen}]
        if piece.complete_after is None:
            break
        assert piece.complete_after == window[-1]
        until = piece.complete_after
    assert sorted(r.id for r in seen) == sorted(r.id for r in full)


@pytest.mark.vendor_payloads
@pytest.mark.parametrize(("path", "parse"), PAYLOAD_CASES, ids=[c[0] for c in PAYLOAD_CASES])
def test_real_vendor_payloads_parse(path: str, parse: Callable[[Any], object],
                                    payload: Callable[[str], Any]) -> None:
    parsed = parse(payload(path))
    items = parsed if isinstance(parsed, list | tuple) else [parsed]
    assert items, path
    for item in items:
        if item is None:
            continue
        assert getattr(item, "id", "x"), path
