"""The IDOR matrix: every role × every entry point that reaches a customer × another
customer's identifiers, over the real authentication path (signed tokens). A customer token
reads only its own customer — everything else is answered exactly as if it did not exist —
and each staff role reads what its rules allow: masked, refused (``FORBIDDEN``), or in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from silos.sandbox import RunningSandbox
from silos.zendesk import ZendeskSiloConfig
from tests.gateway.test_graph import people_with

pytestmark = pytest.mark.anyio

PROFILE = """query($id: ID!) { customer(id: $id) { id email { value } phone { value }
  loyalty { cardNumber }
  orders(first: 50) { edges { node { id channel number } } }
  tickets(first: 5) { edges { node { id } } }
} }"""


@dataclass
class Person:
    records: dict[str, str]
    golden: str
    email: str
    phone: str
    card: str
    web_order: str
    store_order: str
    web_number: str = ""


async def _ask(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _person(client: httpx.AsyncClient, records: dict[str, str]) -> Person | None:
    found = await _ask(client, 'query($v: ID!) { customer(sourceRef: {kind: "shopify", '
                               'id: $v}) { id } }', v=records["shopify"])
    golden = found["data"]["customer"]["id"]
    profile = (await _ask(client, PROFILE, id=golden))["data"]["customer"]
    channels = {o["node"]["channel"]: o["node"]["id"] for o in profile["orders"]["edges"]}
    numbers = {o["node"]["channel"]: o["node"]["number"] for o in profile["orders"]["edges"]}
    if not (profile["email"] and profile["phone"] and profile["loyalty"] and
            {"WEB", "STORE"} <= set(channels)):
        return None
    for kind in ("email", "phone"):  # identifiers of this person alone (no household)
        alone = await _ask(client, f"query($v: String!) {{ customer({kind}: $v) {{ id }} }}",
                           v=profile[kind]["value"])
        if alone.get("errors") or alone["data"]["customer"]["id"] != golden:
            return None
    return Person(records, golden, profile["email"]["value"], profile["phone"]["value"],
                  profile["loyalty"]["cardNumber"], channels["WEB"], channels["STORE"],
                  numbers["WEB"])


@pytest.fixture
async def people(graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
                 ) -> tuple[Person, Person]:
    """Two people with a record in every silo, web and store orders, an email, a phone and a
    loyalty card: the attacker and the victim."""
    found: list[Person] = []
    async with gateway(role="backoffice") as client:
        for records in people_with(graph_sandbox, "shopify", "square", "zendesk", "loyalty"):
            person = await _person(client, records)
            if person is not None and all(person.phone != p.phone for p in found):
                found.append(person)
            if len(found) == 2:
                return found[0], found[1]
    raise AssertionError("the sandbox has no two such people")


def entry_points(p: Person) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each way into a customer's data, with that person's identifiers."""
    person = ("{ id displayName { value } email { value } "
              "orders(first: 5) { edges { node { id } } } }")
    order = "{ id number total { amount } customer { id } tickets { id } returns { id } }"
    return {
        "customer(id)": (f"query($v: ID!) {{ x: customer(id: $v) {person} }}", {"v": p.golden}),
        "customer(email)": (f"query($v: String!) {{ x: customer(email: $v) {person} }}",
                            {"v": p.email}),
        "customer(phone)": (f"query($v: String!) {{ x: customer(phone: $v) {person} }}",
                            {"v": p.phone}),
        "customer(loyaltyCard)": (f"query($v: String!) {{ x: customer(loyaltyCard: $v) "
                                  f"{person} }}", {"v": p.card}),
        **{f"customer(sourceRef {kind})": (
            f'query($v: ID!) {{ x: customer(sourceRef: {{kind: "{kind}", id: $v}}) {person} }}',
            {"v": p.records[kind]}) for kind in ("shopify", "square", "zendesk", "loyalty")},
        "customers(search)": ("query($v: String!) { x: customers(search: $v, first: 5) { "
                              "edges { node { id email { value } } } } }", {"v": p.email}),
        "order(id) web": (f"query($v: ID!) {{ x: order(id: $v) {order} }}", {"v": p.web_order}),
        "order(id) store": (f"query($v: ID!) {{ x: order(id: $v) {order} }}",
                            {"v": p.store_order}),
        "node(customer)": (f"query($v: ID!) {{ x: node(id: $v) {{ id ... on Customer "
                           f"{person} }} }}", {"v": p.golden}),
        "node(order) web": (f"query($v: ID!) {{ x: node(id: $v) {{ id ... on Order {order} }} }}",
                            {"v": p.web_order}),
        "node(order) store": (f"query($v: ID!) {{ x: node(id: $v) {{ id ... on Order {order} "
                              f"}} }}", {"v": p.store_order}),
        "order.customer": ("query($v: ID!) { x: order(id: $v) { customer { id email { value } "
                           "loyalty { pointsBalance } } } }", {"v": p.web_order}),
        "customer(id).timeline": (
            "query($v: ID!) { x: customer(id: $v) { id timeline(first: 5) { edges { node { "
            "summary subject { __typename ... on Order { id } } } } } openRequests { reference } "
            "carts { id } } }", {"v": p.golden}),
        "request(order name)": ("query($v: String!) { x: request(reference: $v) { reference "
                                "subject { ... on Order { id number } } } }",
                                {"v": p.web_number}),
        "request(loyalty card)": ("query($v: String!) { x: request(reference: $v) { reference "
                                  "status } }", {"v": p.card}),
        "node(order).customer.orders": (
            "query($v: ID!) { x: node(id: $v) { ... on Order { customer { orders(first: 5) { "
            "edges { node { id } } } } } } }", {"v": p.store_order}),
    }


def _outcome(body: dict[str, Any], own: Person, other: Person) -> str:
    """allowed | masked | absent | forbidden, from what came back."""
    codes = {e["extensions"]["code"] for e in body.get("errors", [])}
    value = body.get("data", {}).get("x") if body.get("data") else None
    text = repr(value)
    if "FORBIDDEN" in codes and (value is None or other.golden not in text):
        return "forbidden"
    assert not codes - {"FORBIDDEN"}, body
    if value is None or value == []:
        return "absent"
    if "***" in text:
        return "masked"
    return "allowed"


EXPECTED = {
    # role → entry point → outcome reading ANOTHER customer's identifiers
    "customer": {"customer(sourceRef": "forbidden", "customers(search)": "forbidden",
                 "": "absent"},
    "store_associate": {"customer(sourceRef": "forbidden", "customers(search)": "forbidden",
                        "customer(": "masked", "node(customer)": "masked",
                        "customer(id).timeline": "allowed",
                        "order.customer": "masked", "": "allowed"},
    "agent": {"": "allowed"},
    "backoffice": {"": "allowed"},
    "service": {"": "forbidden"},
}


def expected(role: str, entry: str) -> str:
    rules = EXPECTED[role]
    return next(rules[prefix] for prefix in sorted(rules, key=len, reverse=True)
                if entry.startswith(prefix))


async def test_idor_matrix(people: tuple[Person, Person], gateway: Callable[..., Any],
                           graph_sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str],
                           ) -> None:
    own, other = people
    attempts = denials = 0
    wrong = []
    roles = {
        "customer": {"customer": f"shopify:{own.records['shopify']}"},
        "store_associate": {"store": graph_sandbox.data.stores[0].code},
        "agent": {}, "backoffice": {}, "service": {"scopes": ("catalog:read",)},
    }
    for role, claims in roles.items():
        async with gateway(role=role, **claims) as client:
            for entry, (query, variables) in entry_points(other).items():
                body = await _ask(client, query, **variables)
                outcome = _outcome(body, own, other)
                attempts += 1
                denials += outcome in ("absent", "forbidden")
                if outcome != expected(role, entry):
                    wrong.append((role, entry, outcome, body))
                if role == "customer":
                    assert other.golden not in repr(body) and other.email not in repr(body)
    with capsys.disabled():
        print(f"\nIDOR matrix: {attempts} attempts, {denials} denied "
              f"({len(roles)} roles × {len(entry_points(other))} entry points)")
    assert wrong == []


async def test_a_customer_reads_itself_through_the_same_entry_points(
        people: tuple[Person, Person], gateway: Callable[..., Any]) -> None:
    """The positive control: with its own identifiers the same queries answer."""
    own, _ = people
    async with gateway(role="customer", customer=f"shopify:{own.records['shopify']}") as client:
        for entry, (query, variables) in entry_points(own).items():
            body = await _ask(client, query, **variables)
            if entry.startswith(("customer(sourceRef", "customers(")):
                assert _outcome(body, own, own) == "forbidden", entry
                continue
            assert "errors" not in body, (entry, body)
            assert body["data"]["x"] is not None, entry
        me = await _ask(client, "{ me { id email { value } } }")
        assert me["data"]["me"]["id"] == own.golden and own.email == me["data"]["me"]["email"][
            "value"]


async def test_another_customers_object_is_answered_as_if_it_did_not_exist(
        people: tuple[Person, Person], gateway: Callable[..., Any]) -> None:
    own, other = people
    missing = Person(other.records, "cus_00000000000000000000", "nobody@example.org",
                     "+12025550000", "LC-0000000000", "T3JkZXI6c2hvcGlmeTox",
                     "T3JkZXI6c3F1YXJlOm5vcGU")
    async with gateway(role="customer", customer=f"shopify:{own.records['shopify']}") as client:
        for entry in ("customer(id)", "customer(email)", "customer(phone)",
                      "customer(loyaltyCard)", "node(customer)"):
            query, variables = entry_points(other)[entry]
            absent_query, absent_variables = entry_points(missing)[entry]
            assert await _ask(client, query, **variables) == await _ask(
                client, absent_query, **absent_variables) == {"data": {"x": None}}


async def test_associate_sees_only_its_own_stores_stock(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox) -> None:
    data = graph_sandbox.data
    sku = next(v["sku"] for p in data.shopify.products.values() for v in p["variants"])
    query = ('query($s: String!) { inventory(sku: $s) { location { code } available } '
             'product(sku: $s) { inventory { location { code } } } }')
    store = data.stores[0].code
    async with gateway(role="backoffice") as client:
        everywhere = (await _ask(client, query, s=sku))["data"]
    async with gateway(role="store_associate", store=store) as client:
        mine = (await _ask(client, query, s=sku))["data"]
    assert len({level["location"]["code"] for level in everywhere["inventory"]}) > 1
    assert mine["inventory"] and {level["location"]["code"] for level in mine["inventory"]} \
        == {store}
    assert {level["location"]["code"] for level in mine["product"]["inventory"]} == {store}


async def test_agent_search_is_one_small_page(gateway: Callable[..., Any],
                                              people: tuple[Person, Person]) -> None:
    own, _ = people
    async with gateway(role="agent") as client:
        page = await _ask(client, 'query($e: String!) { customers(search: $e) { '
                                  'edges { cursor node { id } } } }', e=own.email)
        assert page["data"]["customers"]["edges"][0]["node"]["id"] == own.golden
        for query in ('{ customers(search: "a", first: 50) { edges { node { id } } } }',
                      '{ customers(search: "a", after: "Zzpj") { edges { node { id } } } }',
                      '{ customers(first: 5) { edges { node { id } } } }'):
            body = await _ask(client, query)
            assert body["data"]["customers"] is None
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", query


async def test_internal_ticket_notes_are_hidden_from_customers(
        gateway: Callable[..., Any], graph_sandbox: RunningSandbox,
        silos: dict[str, httpx.AsyncClient]) -> None:
    data = graph_sandbox.data
    person = next(p for p in people_with(graph_sandbox, "shopify", "zendesk")
                  if any(t["status"] != "closed"
                         for t in data.zendesk.requested_tickets(int(p["zendesk"]))))
    ticket = next(t for t in data.zendesk.requested_tickets(int(person["zendesk"]))
                  if t["status"] != "closed")
    agent = ZendeskSiloConfig()
    note = await silos["zendesk"].put(  # an agent's internal note, through the vendor API
        f"/api/v2/tickets/{ticket['id']}.json",
        json={"ticket": {"comment": {"body": "refund approved by J. (internal)",
                                     "public": False}}},
        auth=(f"{agent.email}/token", agent.api_token))
    assert note.status_code == 200, note.text
    query = 'query($v: ID!) { customer(sourceRef: {kind: "zendesk", id: $v}) { id } }'
    async with gateway(role="backoffice") as client:
        golden = (await _ask(client, query, v=person["zendesk"]))["data"]["customer"]["id"]
    tickets = ('query($id: ID!) { customer(id: $id) { tickets(first: 10) { edges { node { '
               'comments { public body } } } } } }')
    seen = {}
    for role, claims in (("agent", {}), ("customer", {"customer": golden})):
        async with gateway(role=role, **claims) as client:
            body = await _ask(client, tickets, id=golden)
            seen[role] = [(c["public"], c["body"])
                          for e in body["data"]["customer"]["tickets"]["edges"]
                          for c in e["node"]["comments"]]
    assert (False, "refund approved by J. (internal)") in seen["agent"]
    assert seen["customer"] == [c for c in seen["agent"] if c[0]]


async def test_an_agent_reads_one_customer_at_a_time(
        gateway: Callable[..., Any], people: tuple[Person, Person]) -> None:
    """Beyond names (a search's candidates), one customer's personal data per request: bulk
    reading is for roles with `customers:list`."""
    one, two = people
    query = ('query($a: ID!, $b: ID!) { a: customer(id: $a) { displayName { value } '
             'email { value } } b: customer(id: $b) { displayName { value } email { value } } }')
    async with gateway(role="agent") as client:
        body = await _ask(client, query, a=one.golden, b=two.golden)
        assert body["data"]["a"]["email"]["value"] == one.email
        assert body["data"]["b"]["displayName"]["value"]  # names: yes
        assert body["data"]["b"]["email"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN" and error["path"] == ["b", "email"]
        names = await _ask(client, 'query($e: String!) { customers(search: $e) { edges { node { '
                                   'displayName { value } } } } }', e=one.email)
        assert "errors" not in names
    async with gateway(role="backoffice") as client:
        body = await _ask(client, query, a=one.golden, b=two.golden)
        assert "errors" not in body and body["data"]["b"]["email"]["value"] == two.email
