"""The README's omnichannel queries, end to end: gateway over the emulated silos, in process,
with values asserted against the generated data."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from adapters.sql import create_engine
from gateway.config import parse_config
from identity.normalize import Normalizer
from silos.sandbox import RunningSandbox, gateway_config

pytestmark = pytest.mark.anyio


def phone_owners(sandbox: RunningSandbox) -> dict[str, set[str]]:
    """Normalized phone → the people (ground truth) whose records carry it, in any system."""
    data = sandbox.data
    owner = {(r["kind"], r["id"]): p["person"] for p in data.ground_truth for r in p["records"]}
    normalizer = Normalizer(default_region="US", regions=("US", "GB"))
    found: dict[str, set[str]] = {}

    def add(kind: str, rid: str, raw: str | None) -> None:
        phone = normalizer.phone(raw)
        if phone:
            found.setdefault(phone, set()).add(owner[(kind, rid)])

    for cid, c in data.shopify.customers.items():
        add("shopify", str(cid), c.get("phone"))
        for a in c["addresses"]:
            add("shopify", str(cid), a.get("phone"))
    for cid, c in data.square.customers.items():
        add("square", cid, c.get("phone_number"))
    for kind, rid in owner:
        if kind == "zendesk":
            user = data.zendesk.get_user(int(rid))
            add(kind, rid, user.get("phone") if user else None)
    for m in data.loyalty_members:
        add("loyalty", m["card_number"], m["phone"])
    return found


def people_with(sandbox: RunningSandbox, *kinds: str) -> list[dict[str, str]]:
    found = []
    for person in sandbox.data.ground_truth:
        records = {r["kind"]: r["id"] for r in person["records"]}
        if all(k in records for k in kinds):
            found.append(records)
    return found


async def graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


AGENT = """query($phone: String!) { customer(phone: $phone) {
  sourceRecords { kind id }
  orders(first: 100) { totalCount edges { node { orderId source channel number
    total { amount currency } store { name } } } }
  tickets(status: ["new", "open", "pending"], first: 100) { edges { node {
    ticketId subject status channel } } } } }"""


async def test_call_center_agent_sees_store_purchases_online_orders_and_open_tickets(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = graph_sandbox.data
    owners = phone_owners(graph_sandbox)
    normalizer = Normalizer(default_region="US", regions=("US", "GB"))
    person = next(p for p in people_with(graph_sandbox, "square", "shopify", "zendesk")
                  if len(owners.get(normalizer.phone(
                      data.square.customers[p["square"]].get("phone_number")) or "", ())) == 1
                  and any(o.get("customer_id") == p["square"] for o in data.square.orders.values())
                  and data.shopify.orders_by_customer.get(int(p["shopify"])))
    phone = data.square.customers[person["square"]]["phone_number"]
    async with gateway() as client:
        body = await graphql(client, AGENT, phone=phone)
    assert "errors" not in body
    customer = body["data"]["customer"]
    assert {(r["kind"], r["id"]) for r in customer["sourceRecords"]} >= {
        (k, v) for k, v in person.items()}
    orders = nodes(customer["orders"])
    store = {o["orderId"]: o for o in orders if o["channel"] == "STORE"}
    web = {o["orderId"]: o for o in orders if o["channel"] == "WEB"}
    expected_store = {oid for oid, o in data.square.orders.items()
                      if o.get("customer_id") == person["square"]}
    assert set(store) == expected_store
    for oid in expected_store:
        sale = data.square.orders[oid]
        assert Decimal(store[oid]["total"]["amount"]) == Decimal(
            sale["total_money"]["amount"]) / 100
        location = data.square.locations[sale["location_id"]]
        assert store[oid]["store"]["name"] == location["name"]
    expected_web = {str(i) for i in data.shopify.orders_by_customer[int(person["shopify"])]}
    assert set(web) == expected_web
    for oid in expected_web:
        assert web[oid]["number"] == data.shopify.orders[int(oid)]["name"]
    placed = [o["orderId"] for o in orders]
    assert len(placed) == customer["orders"]["totalCount"]
    open_tickets = {str(t["id"]) for t in data.zendesk.requested_tickets(int(person["zendesk"]))
                    if t["status"] in ("new", "open", "pending")}
    assert {t["ticketId"] for t in nodes(customer["tickets"])} == open_tickets


CLERK = """query($email: String!) { customer(email: $email) {
  loyalty { cardNumber tier pointsBalance }
  orders(channel: WEB, first: 100) { edges { node { orderId number status
    fulfillment { type status location { name kind code } } } } } } }"""


async def test_store_clerk_sees_the_online_order_its_pickup_and_the_loyalty_tier(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = graph_sandbox.data
    store_names = {s.name for s in data.stores}

    def pickups(shopify_id: str) -> list[dict[str, Any]]:
        return [data.shopify.orders[i]
                for i in data.shopify.orders_by_customer.get(int(shopify_id), [])
                if data.shopify.orders[i]["shipping_lines"][0]["title"] in store_names]

    person = next(p for p in people_with(graph_sandbox, "shopify", "loyalty")
                  if pickups(p["shopify"]) and data.shopify.customers[int(p["shopify"])]["email"])
    email = data.shopify.customers[int(person["shopify"])]["email"]
    async with gateway() as client:
        body = await graphql(client, CLERK, email=email.upper())
    assert "errors" not in body
    customer = body["data"]["customer"]
    member = next(m for m in data.loyalty_members if m["card_number"] == person["loyalty"])
    balance = sum(p["points"] for p in data.loyalty_points if p["member_id"] == member["member_id"])
    assert customer["loyalty"] == {"cardNumber": person["loyalty"], "tier": member["tier"],
                                   "pointsBalance": balance}
    orders = {o["orderId"]: o for o in nodes(customer["orders"])}
    for order in pickups(person["shopify"]):
        shown = orders[str(order["id"])]
        fulfillment = shown["fulfillment"]
        assert fulfillment["type"] == "PICKUP"
        assert fulfillment["location"]["name"] == order["shipping_lines"][0]["title"]
        assert fulfillment["location"]["kind"] == "STORE"
        assert fulfillment["status"] == ("COMPLETED" if order["fulfillments"] else "PENDING")


MOBILE = """query($sku: String!) { storesWithStock(sku: $sku, near: {lat: 40.7128, lng: -74.006},
  radiusKm: 25, minQuantity: 1) { location { name kind geo { lat lng } } available distanceKm } }"""


def haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
        math.radians(lng2 - lng1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


async def test_mobile_app_finds_nearby_stores_with_stock(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = graph_sandbox.data
    sku = sorted({v["sku"] for p in data.shopify.products.values() for v in p["variants"]})[7]
    [variation] = data.square.variations_by_sku(sku)
    counts = data.square.batch_retrieve_inventory_counts(
        {"catalog_object_ids": [variation["id"]]})["counts"]
    stock = {c["location_id"]: Decimal(c["quantity"]) for c in counts if c["state"] == "IN_STOCK"}
    expected = []
    for store in data.stores:
        distance = haversine(40.7128, -74.006, store.latitude, store.longitude)
        if distance <= 25 and stock.get(store.square_location_id, 0) >= 1:
            expected.append((store.name, stock[store.square_location_id], distance))
    expected.sort(key=lambda e: e[2])
    async with gateway() as client:
        body = await graphql(client, MOBILE, sku=sku)
    assert "errors" not in body
    found = body["data"]["storesWithStock"]
    assert [(s["location"]["name"], Decimal(s["available"])) for s in found] == [
        (name, available) for name, available, _ in expected]
    assert all(abs(s["distanceKm"] - e[2]) < 0.01 for s, e in zip(found, expected, strict=True))
    assert all(s["location"]["kind"] == "STORE" and s["location"]["geo"] for s in found)


HOUSEHOLD = """query($phone: String!) { customer(phone: $phone) { id }
  customers(search: $phone) { edges { node { id displayName { value } } } } }"""


async def test_a_household_phone_is_ambiguous_and_lists_each_person(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    phone, people = next((p, s) for p, s in sorted(phone_owners(graph_sandbox).items())
                         if len(s) > 1)
    async with gateway() as client:
        body = await graphql(client, HOUSEHOLD, phone=phone)
    assert body["data"]["customer"] is None
    assert body["errors"][0]["extensions"]["code"] == "AMBIGUOUS_IDENTIFIER"
    assert len(nodes(body["data"]["customers"])) == len(people)


RETURNED = """query($id: ID!) { order(id: $id) { orderId number channel
  customer { id } returns { source amount { amount } location { name kind } }
  tickets { ticketId orderReference } } }"""


async def test_a_web_order_returned_in_a_store_shows_the_return_and_its_store(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    from resolvers.ids import to_global

    data = graph_sandbox.data
    square_returns = {o["reference_id"]: o for o in data.square.orders.values()
                      if o.get("returns") and o.get("reference_id")}
    web = next(o for o in data.shopify.orders.values()
               if str(o["id"]) in square_returns and o.get("customer"))
    ret = square_returns[str(web["id"])]
    store = data.square.locations[ret["location_id"]]["name"]
    async with gateway() as client:
        body = await graphql(client, RETURNED, id=to_global("Order", "shopify", str(web["id"])))
    assert "errors" not in body
    order = body["data"]["order"]
    assert (order["orderId"], order["number"], order["channel"]) == (
        str(web["id"]), web["name"], "WEB")
    refund = [r for r in order["returns"] if r["source"] == "shopify"]
    assert refund and refund[0]["location"] == {"name": store, "kind": "STORE"}
    assert Decimal(refund[0]["amount"]["amount"]) == sum(
        Decimal(t["amount"]) for r in web["refunds"] for t in r["transactions"])
    if "customer_id" in ret:
        in_store = [r for r in order["returns"] if r["source"] == "square"]
        assert in_store and in_store[0]["location"]["name"] == store
    tickets = [t for t in order["tickets"]]
    assert all(t["orderReference"] == web["name"] for t in tickets)


async def test_survivorship_priority_is_configurable_and_values_carry_provenance(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    data = graph_sandbox.data
    person = next(p for p in people_with(graph_sandbox, "shopify", "zendesk")
                  if data.shopify.customers[int(p["shopify"])]["email"]
                  and (data.zendesk.get_user(int(p["zendesk"])) or {}).get("email"))
    query = """query($id: ID!) { customer(sourceRef: {kind: "zendesk", id: $id}) {
      email { value source recordId } emails { source } } }"""
    async with gateway() as client:
        default = (await graphql(client, query, id=person["zendesk"]))["data"]["customer"]
    assert default["email"]["source"] == "shopify"
    assert default["email"]["recordId"] == person["shopify"]
    assert default["email"]["value"] == data.shopify.customers[int(person["shopify"])]["email"]
    async with gateway(survivorship={"fields": {"email": ["zendesk", "shopify"]}}) as client:
        preferred = (await graphql(client, query, id=person["zendesk"]))["data"]["customer"]
    assert preferred["email"]["source"] == "zendesk"
    assert preferred["email"]["value"] == data.zendesk.get_user(
        int(person["zendesk"]))["email"].strip()


async def test_products_inventory_and_nodes(graph_sandbox: RunningSandbox,
                                            gateway: Callable[..., Any]) -> None:
    data = graph_sandbox.data
    variant = next(v for p in data.shopify.products.values() for v in p["variants"])
    query = """query($sku: String!) { product(sku: $sku) { id sku title
      variants { source price { amount currency } } }
      inventory(sku: $sku) { location { id name kind } available source } }"""
    async with gateway() as client:
        body = await graphql(client, query, sku=variant["sku"])
        product = body["data"]["product"]
        assert {v["source"] for v in product["variants"]} == {"shopify", "square"}
        assert all(Decimal(v["price"]["amount"]) == Decimal(variant["price"])
                   for v in product["variants"])
        levels = body["data"]["inventory"]
        warehouses = [lv for lv in levels if lv["location"]["kind"] == "WAREHOUSE"]
        assert {Decimal(lv["available"]) for lv in warehouses} == {
            Decimal(data.shopify.inventory_level(variant["inventory_item_id"], wh)["available"])
            for wh in data.warehouse_location_ids}
        stores = [lv for lv in levels if lv["location"]["kind"] == "STORE"]
        assert len(stores) == len(data.stores)
        node = await graphql(client, """query($a: ID!, $b: ID!) {
          a: node(id: $a) { id ... on Product { sku } }
          b: node(id: $b) { id ... on Location { name } } }""",
                             a=product["id"], b=stores[0]["location"]["id"])
    assert node["data"]["a"] == {"id": product["id"], "sku": variant["sku"]}
    assert node["data"]["b"]["name"] == stores[0]["location"]["name"]


async def test_a_page_of_customers_counts_everyone_only_when_asked(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox) -> None:
    engine = create_engine(parse_config(gateway_config(graph_sandbox), env={})
                           .identity.database_url)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lower())

    sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with gateway(engines={"identity": engine}) as client:
            page = await graphql(client, "{ customers(first: 3) { edges { node { id } } } }")
            assert len(page["data"]["customers"]["edges"]) == 3
            assert statements and not any("count(" in s for s in statements)
            counted = await graphql(client, "{ customers(first: 3) { totalCount } }")
            assert counted["data"]["customers"]["totalCount"] > 3
            assert any("count(" in s for s in statements)
    finally:
        await engine.dispose()
