"""The cost of a document, from the schema's @cost and @listSize (IBM cost directive
semantics), and the other figures the limits read."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from gateway.limits.complexity import CostModel, Measure, measure
from schema import build_schema


@pytest.fixture(scope="module")
def model() -> CostModel:
    return CostModel(build_schema()._schema)


def figures(model: CostModel, query: str, variables: dict[str, Any] | None = None,
            name: str | None = None) -> Measure:
    found = measure(model, parse(query), name, variables or {}, 20)
    assert found is not None
    return found


def test_leaves_are_free_objects_cost_one_and_weights_add(model: CostModel) -> None:
    assert figures(model, '{ product(sku: "x") { sku title } }').cost == 1
    # Product.inventory: @cost(5), @listSize(assumedSize: 50); each level 1 + its location 1
    assert figures(model, '{ product(sku: "x") { inventory { available location { name } } } }'
                   ).cost == 1 + 50 * (5 + 1)


def test_a_connection_is_sized_by_first_from_a_literal_or_a_variable(model: CostModel) -> None:
    def orders(first: str, variables: dict[str, Any] | None = None) -> int:
        query = ('query($n: Int) { customer(id: "c") { orders(first: FIRST) { edges { node { '
                 'number } } } } }').replace("FIRST", first)
        return figures(model, query, variables).cost

    # customer 1 + orders @cost(10) + edges × (edge 1 + node 1)
    assert orders("5") == 1 + 10 + 5 * 2
    assert orders("$n", {"n": 40}) == 1 + 10 + 40 * 2
    assert orders("$n", {}) == 1 + 10 + 20 * 2  # no value: the assumed size


def test_nested_lists_multiply(model: CostModel) -> None:
    small = figures(model, '{ customers(first: 2) { edges { node { orders(first: 2) { edges { '
                           'node { lines { sku } } } } } } } }')
    large = figures(model, '{ customers(first: 20) { edges { node { orders(first: 20) { edges { '
                           'node { lines { sku } } } } } } } }')
    assert large.cost > 50 * small.cost


def test_fragments_are_expanded_and_abstract_branches_cost_the_most_expensive(
        model: CostModel) -> None:
    plain = figures(model, '{ node(id: "x") { id } }')
    branches = figures(model, '''{ node(id: "x") { id
        ... on Product { inventory { available } }
        ... on Customer { displayName { value } } } }''')
    assert branches.cost == plain.cost + 50 * 5  # the product branch, not both
    spread = figures(model, 'query { product(sku: "x") { ...P } } '
                            'fragment P on Product { inventory { available } }')
    assert spread.cost == 1 + 50 * 5 and spread.depth == 3


def test_depth_aliases_roots_and_directives(model: CostModel) -> None:
    found = figures(model, '''query Q($s: Boolean!) {
        a: product(sku: "x") { sku @include(if: $s) variants { price { amount } } }
        b: product(sku: "y") @skip(if: $s) { sku }
        __typename }''')
    assert (found.depth, found.aliases, found.root_fields, found.directives) == (4, 2, 2, 2)


def test_only_the_selected_operation_counts(model: CostModel) -> None:
    document = ('query Cheap { product(sku: "x") { sku } } '
                'query Dear { customers(first: 100) { edges { node { id } } } }')
    assert figures(model, document, name="Cheap").cost == 1
    assert figures(model, document, name="Dear").cost > 100
    assert measure(model, parse(document), None, {}, 20) is None  # which one? validation says


def test_introspection_is_not_counted(model: CostModel) -> None:
    found = figures(model, '{ __schema { types { name fields { name type { ofType { ofType { '
                           'name } } } } } } }')
    assert found.cost == 0 and found.depth == 1
