"""The Admin GraphQL pieces of the Shopify adapter: the order-id search it builds and the
answers it reads (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.shopify import parse
from adapters.shopify import requests as calls
from silos.shopify import ShopifySiloConfig, ShopifyStore
from silos.shopify.graphql import MAX_QUERY_COST, AdminGraphQL
from silos.shopify.search import Or, Term
from silos.shopify.search import parse as parse_search

CUSTOMERS = [str(7_100_000_000_000 + n) for n in range(230)]


def test_one_search_per_100_customers() -> None:
    built = calls.order_refs_of_customers("2026-07", CUSTOMERS, 250)
    assert [len(call.variables["query"].split(" OR ")) for call in built] == [100, 100, 30]
    assert {call.path for call in built} == {"/admin/api/2026-07/graphql.json"}
    first = built[0]
    assert first.variables["query"].startswith(
        f"customer_id:{CUSTOMERS[0]} OR customer_id:{CUSTOMERS[1]} OR ")
    assert first.variables["first"] == 250
    assert first.body() == {"query": calls.ORDER_REFS,
                            "variables": {"first": 250, "query": first.variables["query"],
                                          "after": None}}
    assert first.body("abc")["variables"]["after"] == "abc"
    assert calls.order_refs_of_customers("2026-07", [], 250) == []


def test_the_search_string_stays_small_even_for_the_largest_ids() -> None:
    largest = [str(9_223_372_036_854_775_807 - n) for n in range(calls.MAX_SEARCH_CUSTOMERS)]
    (call,) = calls.order_refs_of_customers("2026-07", largest, 250)
    assert len(call.variables["query"]) < 3500


def test_the_search_and_its_cost_are_what_the_emulated_shop_accepts() -> None:
    (call,) = calls.order_refs_of_customers("2026-07", CUSTOMERS[:3], 250)
    assert parse_search(call.variables["query"]) == Or(
        tuple(Term("customer_id", ":", c) for c in CUSTOMERS[:3]))
    shop = AdminGraphQL(ShopifyStore(), ShopifySiloConfig())
    prepared = shop.prepare(calls.ORDER_REFS, call.variables | {"after": None}, None)
    assert not isinstance(prepared, dict), prepared
    assert prepared.requested == 2 + 250 * 2 <= MAX_QUERY_COST


def refs_page(nodes: list[Any], has_next: bool, cursor: str | None) -> dict[str, Any]:
    return {"data": {"orders": {"nodes": nodes,
                                "pageInfo": {"hasNextPage": has_next, "endCursor": cursor}}}}


def test_order_refs() -> None:
    page = refs_page([
        {"legacyResourceId": "450789469", "customer": {"legacyResourceId": "207119551"}},
        {"legacyResourceId": "450789470", "customer": None},
    ], True, "eyJsYXN0X2lkIjoxfQ==")
    assert parse.parse_order_refs(page) == (
        [("450789469", "207119551"), ("450789470", None)], "eyJsYXN0X2lkIjoxfQ==")
    assert parse.parse_order_refs(refs_page([], False, None)) == ([], None)


@pytest.mark.parametrize(
    "payload",
    [
        {"data": None},
        {"data": {"orders": {"nodes": "x", "pageInfo": {"hasNextPage": False}}}},
        refs_page([{"customer": None}], False, None),
        refs_page([{"legacyResourceId": "1", "customer": "7"}], False, None),
        refs_page([], True, None),
        refs_page([], True, ""),
    ],
    ids=["no-data", "nodes-not-a-list", "no-id", "customer-not-an-object", "next-without-cursor",
         "empty-cursor"],
)
def test_order_refs_of_another_shape_are_refused(payload: Any) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        parse.parse_order_refs(payload)


def test_error_codes() -> None:
    assert parse.graphql_error_codes({"data": {}}) is None
    assert parse.graphql_error_codes({"errors": []}) is None
    assert parse.graphql_error_codes({"errors": "Not Found"}) == [""]
    assert parse.graphql_error_codes({"errors": [
        {"message": "Throttled", "extensions": {"code": "THROTTLED"}},
        {"message": "Syntax Error", "locations": [{"line": 1, "column": 2}]},
        "odd",
    ]}) == ["THROTTLED", "", ""]


def throttled(requested: Any, available: Any, rate: Any) -> dict[str, Any]:
    return {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                    "throttleStatus": {"maximumAvailable": 2000.0,
                                                       "currentlyAvailable": available,
                                                       "restoreRate": rate}}}}


def test_throttle_wait_is_the_missing_points_over_the_restore_rate() -> None:
    assert parse.throttle_wait(throttled(502, 302, 100.0)) == 2.0
    assert parse.throttle_wait(throttled(502, 900, 100.0)) == 0.0
    odd: Any
    for odd in (throttled(None, 0, 100.0), throttled(502, "0", 100.0), throttled(502, 0, 0),
                throttled(True, 0, 50.0), {"errors": []}, None, {"extensions": {"cost": 5}}):
        assert parse.throttle_wait(odd) is None
