"""Relay-style slicing of an ordered list: opaque offset cursors."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from graphql import GraphQLError

T = TypeVar("T")
MAX_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[tuple[str, T]]
    has_next: bool
    has_previous: bool
    total: int


def cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"o:{index}".encode()).decode().rstrip("=")


def offset(after: str | None) -> int:
    if after is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
        kind, _, number = raw.partition(":")
        if kind != "o":
            raise ValueError(after)
        return int(number) + 1
    except ValueError:
        raise GraphQLError("invalid cursor", extensions={"code": "BAD_USER_INPUT"}) from None


def paginate(items: Sequence[T], first: int | None, after: str | None) -> Page[T]:
    """The slice after ``after``, at most ``first`` (default and cap: 100) long."""
    if first is not None and first < 0:
        raise GraphQLError("first must not be negative", extensions={"code": "BAD_USER_INPUT"})
    size = MAX_PAGE if first is None else min(first, MAX_PAGE)
    start = offset(after)
    chosen = items[start:start + size]
    return Page([(cursor(start + i), item) for i, item in enumerate(chosen)],
                has_next=start + size < len(items), has_previous=start > 0, total=len(items))
