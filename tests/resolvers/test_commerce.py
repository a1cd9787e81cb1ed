"""Which read answers ``Customer.orders``: order summaries when its selection reads only
fields a summary answers exactly as the whole order, the whole orders otherwise (through
fragments and aliases too); the Order type never answers a summary's missing details; and
the benchmark's page of customers answers the same either way."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse

from adapters.models import Channel, Money, Order, OrderLine
from adapters.shopify import requests as calls
from bench.harness import S2_QUERY as S2
from gateway.app import create_app
from gateway.config import parse_config
from resolvers import commerce
from schema import build_schema
from schema import types as graph
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config
from tests.gateway.conftest import indexed_sandbox
from tests.tokens import bearer

SUMMARY = calls.ORDER_SUMMARY_FIELDS
WHOLE = calls.ORDER_FIELDS


# ------------------------------------------------------------------ the selection (pure)


def orders_fields(document: str) -> tuple[list[FieldNode], dict[str, FragmentDefinitionNode]]:
    """The ``orders`` field nodes of a document (the first ``orders`` response key found, as
    graphql-core would group them) and its fragments."""
    parsed = parse(document)
    fragments = {d.name.value: d for d in parsed.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    found: list[FieldNode] = []

    def walk(selections: Any) -> Iterator[FieldNode]:
        for selection in selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == "orders":
                    yield selection
                elif selection.selection_set is not None:
                    yield from walk(selection.selection_set.selections)
            elif selection.selection_set is not None:
                yield from walk(selection.selection_set.selections)

    for definition in parsed.definitions:
        if isinstance(definition, OperationDefinitionNode):
            found.extend(walk(definition.selection_set.selections))
    assert found
    return found, fragments


def summary(document: str) -> bool:
    return commerce.summary_selection(*orders_fields(document))




@pytest.mark.parametrize("document", [
    S2,
    "{ customer(id: \"x\") { orders { totalCount pageInfo { hasNextPage endCursor } "
    "edges { cursor node { __typename id orderId source } } } } }",
    "{ customer(id: \"x\") { orders(channel: WEB) { edges { node { ...Head } } } } } "
    "fragment Head on Order { number placedAt n: number total { amount } }",
    "{ customer(id: \"x\") { orders { ...Page } } } "
    "fragment Page on OrderConnection { edges { ... on OrderEdge { node { ... on Node { id } "
    "... on Order { status } } } } }",
    # a customer or the tickets of an order are read by other loaders (another `orders`
    # below decides for itself)
    "{ customer(id: \"x\") { orders { edges { node { id customer { id "
    "orders { edges { node { lines { sku } } } } } tickets { subject } } } } } }",
    "{ customer(id: \"x\") { orders { edges { node { id } } } orders { totalCount } } }",
])
def test_summary_fields_only_read_summaries(document: str) -> None:
    assert summary(document)


@pytest.mark.parametrize("document", [
    "{ customer(id: \"x\") { orders { edges { node { id lines { sku } } } } } }",
    "{ customer(id: \"x\") { orders { edges { node { id items: lines { sku } } } } } }",
    "{ customer(id: \"x\") { orders { edges { node { fulfillment { status } } } } } }",
    "{ customer(id: \"x\") { orders { edges { node { store { name } } } } } }",
    "{ customer(id: \"x\") { orders { edges { node { returns { id } } } } } }",
    "{ customer(id: \"x\") { orders { edges { node { ...Head } } } } } "
    "fragment Head on Order { number ...Deep } fragment Deep on Order { lines { sku } }",
    "{ customer(id: \"x\") { orders { edges { node { id ... on Order { returns { id } } } } } } }",
    "{ customer(id: \"x\") { orders { ...Page } } } "
    "fragment Page on OrderConnection { edges { node { fulfillment { status } } } }",
    # @skip/@include are not evaluated: a field that might be selected counts
    "{ customer(id: \"x\") { orders { edges { node { id lines @skip(if: true) { sku } } } } } }",
    # one of two `orders` nodes grouped under the same key wants more
    "{ customer(id: \"x\") { orders { edges { node { id } } } "
    "orders { edges { node { lines { sku } } } } } }",
    # a fragment the document does not define (cannot be sure)
    "{ customer(id: \"x\") { orders { edges { node { ...Missing } } } } }",
])
def test_any_other_field_reads_whole_orders(document: str) -> None:
    assert not summary(document)


def test_every_order_field_is_classified() -> None:
    """A field added to ``Order`` is read from the whole order until it is added to
    ``SUMMARY_FIELDS`` (after checking a summary answers it exactly as the whole order)."""
    order = build_schema()._schema.type_map["Order"]
    names = set(order.fields) | {"__typename"}
    assert commerce.SUMMARY_FIELDS <= names
    assert names - commerce.SUMMARY_FIELDS == {"lines", "fulfillment", "store", "returns"}


def _order() -> Order:
    usd = Money(Decimal("5.00"), "USD")
    return Order(source="shopify", kind="shopify", id="1", number="#1001", channel=Channel.WEB,
                 customer_id="7", placed_at=datetime(2026, 1, 1, tzinfo=UTC),
                 updated_at=None, status="OPEN", total=usd,
                 lines=(OrderLine("SKU-1", "Tee", Decimal(1), usd, usd),))


def test_a_summary_never_answers_for_lines() -> None:
    whole = graph.Order.of(_order())
    assert [line.sku for line in whole.lines()] == ["SKU-1"]
    assert whole.whole() is whole.model
    head = graph.Order.of(_order().summary())
    assert (head.number, head.status, head.total.amount) == ("#1001", "OPEN", Decimal("5.00"))
    with pytest.raises(RuntimeError, match="summary"):
        head.lines()
    with pytest.raises(RuntimeError, match="summary"):
        head.whole()


# ------------------------------------------------------------------------ the graph


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=80, seed=42,
                                          data_dir=tmp_path_factory.mktemp("commerce")))


class Recorder(httpx.AsyncBaseTransport):
    """The ``fields`` of each ``orders.json`` request (and the bytes answered)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.fields: list[str | None] = []
        self.bytes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/orders.json"):
            body = await response.aread()
            self.fields.append(request.url.params.get("fields"))
            self.bytes += len(body)
            return httpx.Response(response.status_code, headers=response.headers,
                                  content=body, request=request)
        return response


Ask = Callable[..., Any]
"""``await ask(query, **variables)`` -> (data, the Shopify requests' recorder)."""


@pytest.fixture
def ask(sandbox: RunningSandbox) -> Ask:
    """A fresh gateway (fresh loaders) per question, as the backoffice role, its Shopify
    transport recorded."""
    config = parse_config(copy.deepcopy(gateway_config(sandbox)), env={})
    headers = bearer(gateway_config(sandbox), "backoffice")

    async def run(query: str, **variables: Any) -> tuple[dict[str, Any], Recorder]:
        recorder = Recorder(httpx.ASGITransport(app=sandbox.apps["shopify"]))
        app = create_app(config, transports={**sandbox.transports(), "shopify": recorder})
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway",
                headers=headers) as client:
            response = await client.post("/graphql",
                                         json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"], recorder

    return run


def _without(value: Any, names: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_without(v, names) for v in value]
    return value


def _with_lines(query: str) -> str:
    return query.replace("total { amount currency } }", "total { amount currency } "
                         "lines { sku } }")


@pytest.mark.anyio
async def test_the_benchmark_page_reads_summaries_and_answers_the_same(
        ask: Ask) -> None:
    data, slim = await ask(S2)
    assert slim.fields and set(slim.fields) == {SUMMARY}
    lined, whole = await ask(_with_lines(S2))
    assert whole.fields and set(whole.fields) == {WHOLE}
    assert _without(lined, {"lines"}) == data
    orders = [o for edge in data["customers"]["edges"]
              for o in edge["node"]["orders"]["edges"]]
    assert len(orders) > 20
    assert any(edge["node"]["lines"] for c in lined["customers"]["edges"]
               for edge in c["node"]["orders"]["edges"])
    assert slim.bytes * 5 < whole.bytes


PERSON = """query($shop: ID!) { customer(sourceRef: {kind: "shopify", id: $shop}) { id
  orders(first: 100) { totalCount edges { cursor node { ...Head } } } } }
fragment Head on Order { id orderId source channel number placedAt status
  total { amount currency } customer { id } }"""


@pytest.mark.anyio
async def test_one_person_through_a_fragment(ask: Ask, sandbox: RunningSandbox) -> None:
    """One customer (one REST read, no search) with web and store orders: summaries from
    Shopify, whole orders from Square, the same answer as the whole read's."""
    shop, store = sandbox.data.shopify, sandbox.data.square
    buyers = {str(o["customer_id"]) for o in store.orders.values() if o.get("customer_id")}
    person = next(p for p in sandbox.data.ground_truth
                  if (ids := {r["kind"]: r["id"] for r in p["records"]}).get("square") in buyers
                  and shop.order_ids_for_customer(int(ids.get("shopify") or 0)))
    shop_id = next(r["id"] for r in person["records"] if r["kind"] == "shopify")
    data, slim = await ask(PERSON, shop=shop_id)
    assert slim.fields == [SUMMARY]
    details = PERSON.replace("customer { id } }", "customer { id } lines { sku } "
                             "fulfillment { status } }")
    lined, whole = await ask(details, shop=shop_id)
    assert whole.fields == [WHOLE]
    assert _without(lined, {"lines", "fulfillment"}) == data
    nodes = [edge["node"] for edge in data["customer"]["orders"]["edges"]]
    assert {n["source"] for n in nodes} == {"shopify", "square"}
    assert {n["customer"]["id"] for n in nodes} == {data["customer"]["id"]}


@pytest.mark.anyio
async def test_a_field_needing_the_whole_order_in_a_fragment_reads_it(
        ask: Ask) -> None:
    query = re.sub(r"orders\(first: 10\) \{ edges \{ node \{",
                   "orders(first: 10) { edges { node { ...Store ", S2) + \
        " fragment Store on Order { store { name } }"
    _, recorder = await ask(query)
    assert recorder.fields and set(recorder.fields) == {WHOLE}
