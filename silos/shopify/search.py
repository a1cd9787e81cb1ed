"""Shopify's API search syntax (the ``query`` argument of the Admin GraphQL connections).

Grammar (https://shopify.dev/docs/api/usage/search-syntax)::

    query      = or_expr
    or_expr    = and_expr { "OR" and_expr }
    and_expr   = unary { [ "AND" ] unary }          (no connective: AND is implied)
    unary      = ( "NOT" | "-" ) unary | "(" or_expr ")" | term
    term       = [ field ":" [ comparator ] ] value  comparator: < > <= >=

Values are bare words or quoted (single or double quotes); ``\\`` escapes the special
characters ``: \\ ( )`` and quotes. Connectives and ``NOT`` are upper case only (a lower-case
``or`` is a word). Matching is per resource (:func:`evaluate` gets a ``resolve`` callback
turning one term into a :class:`Filter`); a term on a field the resource does not support is
ignored, as Shopify documents ("if an invalid field is specified, the query is ignored"), which
is why clients must not trust a filter they cannot see applied.

Parsing is lenient where Shopify's behaviour is not documented: a missing ``)`` closes at the
end, a stray ``)`` is skipped, an empty query matches everything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Literal

Op = Literal[":", "<", ">", "<=", ">="]


@dataclass(frozen=True)
class Term:
    """``field:<op>value``; ``field`` None for a bare word (a default-field search)."""

    field: str | None
    op: Op
    value: str


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Everything:
    """The empty query."""


Node = Term | Not | And | Or | Everything


@dataclass(frozen=True)
class _Token:
    kind: Literal["(", ")", "AND", "OR", "NOT", "term"]
    term: Term | None = None


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The content of the quoted string opening at ``start``, and the index after it."""
    quote = text[start]
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return "".join(out), index + 1
        out.append(char)
        index += 1
    return "".join(out), index


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char in "()":
            tokens.append(_Token(char))  # type: ignore[arg-type]
            index += 1
            continue
        negated = False
        if char == "-" and index + 1 < len(text) and not text[index + 1].isspace():
            negated = True
            index += 1
        field: str | None = None
        parts: list[str] = []
        quoted = False
        while index < len(text):
            char = text[index]
            if char.isspace() or char in "()":
                break
            if char == "\\" and index + 1 < len(text):
                parts.append(text[index + 1])
                index += 2
                continue
            if char in "\"'":
                value, index = _read_quoted(text, index)
                parts.append(value)
                quoted = True
                continue
            if char == ":" and field is None:
                field = "".join(parts).lower()
                parts = []
                index += 1
                continue
            parts.append(char)
            index += 1
        word = "".join(parts)
        if field is None and not quoted and not negated and word in ("AND", "OR", "NOT"):
            tokens.append(_Token(word))  # type: ignore[arg-type]
            continue
        op: Op = ":"
        if field is not None:
            for candidate in ("<=", ">=", "<", ">"):
                if word.startswith(candidate):
                    op = candidate
                    word = word[len(candidate) :]
                    break
        if negated:
            tokens.append(_Token("NOT"))
        tokens.append(_Token("term", Term(field, op, word)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            parts.append(self.and_expr())
        parts = [part for part in parts if not isinstance(part, Everything)]
        if not parts:
            return Everything()
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts: list[Node] = []
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.take()
                continue
            parts.append(self.unary())
        parts = [part for part in parts if not isinstance(part, Everything)]
        if not parts:
            return Everything()
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        token = self.take()
        if token.kind == "NOT":
            if self.peek() is None:
                return Everything()
            return Not(self.unary())
        if token.kind == "(":
            inner = self.or_expr()
            if (closing := self.peek()) is not None and closing.kind == ")":
                self.take()
            return inner
        assert token.term is not None
        return token.term


def parse(text: str | None) -> Node:
    """The syntax tree of a search query (:class:`Everything` for None or blank)."""
    if text is None or not text.strip():
        return Everything()
    parser = _Parser(_tokens(text))
    parts: list[Node] = []
    while (token := parser.peek()) is not None:
        if token.kind == ")":
            parser.take()
            continue
        parts.append(parser.or_expr())
    parts = [part for part in parts if not isinstance(part, Everything)]
    if not parts:
        return Everything()
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def terms(node: Node) -> Iterable[Term]:
    """Every term of the tree, in order."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Not):
        yield from terms(node.inner)
    elif isinstance(node, And | Or):
        for part in node.parts:
            yield from terms(part)


@dataclass(frozen=True)
class Filter:
    """What one term (or subtree) selects: ``candidates`` when an index narrows it to a known
    set of ids (None: any id may match), and ``match`` deciding for one id."""

    candidates: frozenset[int] | None
    match: Callable[[int], bool]

    @staticmethod
    def of(ids: Iterable[int]) -> Filter:
        found = frozenset(ids)
        return Filter(found, found.__contains__)


ANY = Filter(None, lambda record_id: True)
NONE = Filter(frozenset(), lambda record_id: False)


def compile_filter(node: Node, resolve: Callable[[Term], Filter]) -> Filter:
    """Combine the terms' filters: AND intersects candidates, OR unites them (when every part
    has some), NOT only negates the predicate."""
    if isinstance(node, Everything):
        return ANY
    if isinstance(node, Term):
        return resolve(node)
    if isinstance(node, Not):
        inner = compile_filter(node.inner, resolve)
        return Filter(None, lambda record_id: not inner.match(record_id))
    parts = [compile_filter(part, resolve) for part in node.parts]
    if isinstance(node, And):
        known = [part.candidates for part in parts if part.candidates is not None]
        candidates = frozenset.intersection(*known) if known else None
        checks = [part.match for part in parts if part.candidates is None]
        if candidates is not None:
            narrowed = frozenset(i for i in candidates if all(check(i) for check in checks))
            return Filter(narrowed, narrowed.__contains__)
        return Filter(None, lambda record_id: all(check(record_id) for check in checks))
    if all(part.candidates is not None for part in parts):
        union = frozenset().union(*(part.candidates or () for part in parts))
        return Filter(union, union.__contains__)
    matches = [part.match for part in parts]
    return Filter(None, lambda record_id: any(match(record_id) for match in matches))


def evaluate(
    query: str | None, resolve: Callable[[Term], Filter], every_id: Collection[int]
) -> list[int]:
    """The ids (unordered) of ``every_id`` matching ``query``; cost proportional to the
    candidates when the query's terms are indexed (e.g. ``customer_id:1 OR customer_id:2``)."""
    found = compile_filter(parse(query), resolve)
    if found.candidates is not None:
        return list(found.candidates)
    return [record_id for record_id in every_id if found.match(record_id)]


def compare(op: Op, left: float, right: float) -> bool:
    if op == ":":
        return left == right
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left >= right
