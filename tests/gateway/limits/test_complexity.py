"""The cost of a document, from the schema's @cost and @listSize (IBM cost directive
semantics), and the other figures the limits read."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from graphql import build_ast_schema, parse

from gateway.limits.complexity import WALK_DEPTH, CostModel, Measure, measure
from schema import build_schema
from schema.policy import Cost, ListSize


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


def test_a_field_selected_twice_or_a_fragment_spread_twice_counts_once(
        model: CostModel) -> None:
    # executed once: inventory merged (5 + its location 1 per level), P collected once
    found = figures(model, '{ product(sku: "x") { inventory { available } ...P ...P } } '
                           'fragment P on Product { inventory { location { name } } }')
    assert found.cost == 1 + 50 * (5 + 1)


def test_variable_and_argument_defaults_size_a_connection(model: CostModel) -> None:
    query = ('query($n: Int = 7) { customer(id: "c") { orders(first: $n) { edges { node { '
             'number } } } } }')
    assert figures(model, query).cost == 1 + 10 + 7 * 2
    assert figures(model, query, {"n": 3}).cost == 1 + 10 + 3 * 2
    # null: the argument's own default (customers: first = 10), not the assumed size
    assert figures(model, 'query($n: Int) { customers(first: $n) { edges { node { id } } } }',
                   {"n": None}).cost == 1 + 10 * 2


# -- on a schema of our own, to reach what the c360 schema does not have ------------------------
def sdl_model(sdl: str, directives: dict[str, list[Any]]) -> CostModel:
    """A schema from SDL, with policy directives on fields (``Type.field``) or arguments
    (``Type.field(arg)``) as strawberry would attach them."""
    schema = build_ast_schema(parse(sdl))
    for where, found in directives.items():
        type_name, _, rest = where.partition(".")
        field_name, _, argument = rest.partition("(")
        target: Any = schema.type_map[type_name].fields[field_name]  # type: ignore[union-attr]
        if argument:
            target = target.args[argument.rstrip(")")]
        target.extensions = {**(target.extensions or {}),
                             "strawberry-definition": SimpleNamespace(directives=found)}
    return CostModel(schema)


TREE = "type Query { t: T } type T { a: T b: T x: Int }"


def test_nested_fragments_are_measured_once_not_expanded_exponentially() -> None:
    tree = sdl_model(TREE, {})
    levels = 60
    fragments = " ".join(f"fragment F{i} on T {{ a {{ ...F{i + 1} }} b {{ ...F{i + 1} }} }}"
                         for i in range(levels))
    found = figures(tree, f"{{ t {{ ...F0 }} }} {fragments} fragment F{levels} on T {{ x }}")
    # 2 + 4 + … + 2^60 objects under t: executing it would be exponential, measuring it is not
    assert found.cost == 2 ** (levels + 1) - 1
    assert found.depth == levels + 2


def test_fragment_cycles_and_long_chains_end() -> None:
    tree = sdl_model(TREE, {})
    cycle = figures(tree, "{ t { ...A } } fragment A on T { a { ...A } x }")
    assert cycle.cost >= 2  # validation refuses the cycle; the measure only has to end
    chain = " ".join(f"fragment F{i} on T {{ ...F{i + 1} }}" for i in range(3000))
    assert figures(tree, f"{{ t {{ ...F0 }} }} {chain} fragment F3000 on T {{ a {{ x }} }}"
                   ).cost == 2
    deep = " ".join(f"fragment F{i} on T {{ a {{ ...F{i + 1} }} }}" for i in range(400))
    found = figures(tree, f"{{ t {{ ...F0 }} }} {deep} fragment F400 on T {{ x }}")
    assert found.depth == WALK_DEPTH + 1


def test_abstract_types_cost_their_most_expensive_possible_type() -> None:
    shapes = sdl_model("""
        type Query { i: I a: A u: U }
        interface I { x: T }
        type A implements I { x: T y: T }
        type B implements I { x: T z: [T] }
        union U = A | B
        type T { v: Int }""", {})
    # on I: A costs x + y, B costs x + z (a list of the default size 20)
    assert figures(shapes, "{ i { x { v } ... on A { y { v } } ... on B { z { v } } } }"
                   ).cost == 1 + 1 + 20
    # on a concrete A, a fragment on its interface applies too: both count
    assert figures(shapes, "{ a { ... on I { x { v } } ... on A { y { v } } } }").cost == 3
    # nested conditions: B's branch only where both hold
    assert figures(shapes, "{ u { ... on I { ... on A { y { v } } x { v } } } }").cost == 3


def test_list_size_assumed_or_sliced_sized_fields_and_argument_costs() -> None:
    shop = sdl_model("""
        type Query { items(first: Int, last: Int, deep: Boolean): [Item]
                     page(first: Int = 5): Page  tags: [String] plain: [Item] }
        type Page { edges: [Item] total: Int }
        type Item { id: ID price: Int }""", {
        "Query.items": [ListSize(assumed_size=30, slicing_arguments=["first", "last"]),
                        Cost(weight="2")],
        "Query.items(deep)": [Cost(weight="40")],
        "Query.page": [ListSize(assumed_size=50, slicing_arguments=["first"],
                                sized_fields=["edges"])],
        "Page.total": [Cost(weight="7")],
        "Item.price": [Cost(weight="3")],
    })
    assert figures(shop, "{ items { id } }").cost == 30 * 2  # assumed size, weight 2 each
    assert figures(shop, "{ items(first: 4, last: 9) { price } }").cost == 9 * (2 + 3)
    assert figures(shop, "{ items(first: 2, deep: true) { id } }").cost == 2 * (2 + 40)
    # sized fields: the connection's size applies to edges, not to total
    assert figures(shop, "{ page { edges { price } total } }").cost == 1 + 5 * (1 + 3) + 7
    assert figures(shop, "{ page(first: 8) { edges { id } } }").cost == 1 + 8
    assert figures(shop, "{ tags plain { id } }").cost == 20  # no @listSize: the default
    assert measure(shop, parse("{ plain { id } }"), None, {}, 3).cost == 3  # type: ignore
