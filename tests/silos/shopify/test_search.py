"""Shopify's search syntax: parsing and the index-aware evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from silos.shopify import search
from silos.shopify.search import And, Everything, Filter, Not, Or, Term


def test_terms_connectives_and_implied_and() -> None:
    assert search.parse("customer_id:1 OR customer_id:2") == Or(
        (Term("customer_id", ":", "1"), Term("customer_id", ":", "2")))
    assert search.parse("status:open created_at:>2024-01-01") == And(
        (Term("status", ":", "open"), Term("created_at", ">", "2024-01-01")))
    assert search.parse("a AND b") == search.parse("a b")


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    a, b, c = (Term(None, ":", x) for x in "abc")
    assert search.parse("a OR b c") == Or((a, And((b, c))))
    assert search.parse("(a OR b) c") == And((Or((a, b)), c))


def test_comparators_quotes_escapes_and_negation() -> None:
    assert search.parse("created_at:<='2024-01-01T00:00:00Z'") == Term(
        "created_at", "<=", "2024-01-01T00:00:00Z")
    assert search.parse('title:"green hoodie"') == Term("title", ":", "green hoodie")
    assert search.parse(r"title:D\:Addario") == Term("title", ":", "D:Addario")
    assert search.parse("-status:closed") == Not(Term("status", ":", "closed"))
    assert search.parse("NOT status:closed") == Not(Term("status", ":", "closed"))
    assert search.parse("EMAIL:X@Y.COM") == Term("email", ":", "X@Y.COM")


def test_lower_case_connectives_are_words() -> None:
    assert search.parse("bob or alice") == And(
        (Term(None, ":", "bob"), Term(None, ":", "or"), Term(None, ":", "alice")))


@pytest.mark.parametrize("text", [None, "", "   ", "()", ")"])
def test_empty_queries_match_everything(text: str | None) -> None:
    assert search.parse(text) == Everything()
    assert sorted(search.evaluate(text, lambda term: search.NONE, [3, 1, 2])) == [1, 2, 3]


def test_unbalanced_parentheses_are_tolerated() -> None:
    assert search.parse("(a OR b") == Or((Term(None, ":", "a"), Term(None, ":", "b")))
    assert search.parse("a) b") == And((Term(None, ":", "a"), Term(None, ":", "b")))


INDEX = {"1": {10, 11}, "2": {20}, "3": set()}


def resolve(term: Term) -> Filter:
    if term.field == "customer_id":
        return Filter.of(INDEX.get(term.value, ()))
    if term.field == "id" and term.op == ">":
        bound = int(term.value)
        return Filter(None, lambda record_id: record_id > bound)
    return search.ANY


ALL = [10, 11, 20, 30]


def test_indexed_or_unites_candidates_without_scanning() -> None:
    found = search.compile_filter(search.parse("customer_id:1 OR customer_id:2"), resolve)
    assert found.candidates == frozenset({10, 11, 20})

    class Untouchable(list[int]):
        def __iter__(self) -> Iterator[int]:
            raise AssertionError("the ids were scanned")

    assert sorted(search.evaluate("customer_id:1 OR customer_id:2", resolve, Untouchable())) == [
        10, 11, 20]


def test_and_not_and_predicates() -> None:
    assert sorted(search.evaluate("customer_id:1 id:>10", resolve, ALL)) == [11]
    assert sorted(search.evaluate("id:>10 -customer_id:1", resolve, ALL)) == [20, 30]
    assert sorted(search.evaluate("customer_id:3 OR id:>25", resolve, ALL)) == [30]
    assert search.evaluate("customer_id:9", resolve, ALL) == []


def test_unknown_fields_are_ignored() -> None:
    assert sorted(search.evaluate("customer_id:2 colour:red", resolve, ALL)) == [20]
    assert sorted(search.evaluate("colour:red", resolve, ALL)) == ALL
