"""Zendesk's two pagination styles, as pure functions over already-sorted record lists.

*Cursor* pagination is chosen by ``page[size]`` (at most 100): the answer carries
``meta: {has_more, after_cursor, before_cursor}`` and ``links: {next, prev}``, and the caller walks
with ``page[after]`` / ``page[before]``. Cursors are opaque base64 tokens naming the sort order and
the sort key of the edge record, so a walk stays exact while records are added (keyset paging).

*Offset* pagination (``page``, ``per_page`` at most 100) answers ``next_page`` / ``previous_page`` /
``count`` and is refused past the first 10,000 records.

The *cursor-based incremental exports* have a third, unrelated cursor: an opaque token naming a
position in the ``(updated_at, id)`` stream (Zendesk's look like base64 of ``1576613539.0||467|``),
passed back as ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

import orjson

from silos.zendesk.errors import (
    InvalidAttributeError,
    InvalidPaginationDepthError,
    InvalidPaginationParameterError,
    InvalidValueError,
)

T = TypeVar("T")
SortKey = tuple[int | str, ...]

_EXPORT_CURSOR = re.compile(r"^(-?\d+)\.0\|\|(-?\d+)\|$")

PAGE_SIZE = "page[size]"
PAGE_AFTER = "page[after]"
PAGE_BEFORE = "page[before]"
CURSOR_PARAMS = frozenset((PAGE_SIZE, PAGE_AFTER, PAGE_BEFORE))


@dataclass(frozen=True)
class Ordering:
    """One sort order a cursor endpoint offers: its name (``sort`` value) and key types."""

    name: str
    key_types: tuple[type, ...]
    descending: bool = False


@dataclass(frozen=True)
class CursorRequest:
    size: int
    after: SortKey | None = None
    before: SortKey | None = None


@dataclass(frozen=True)
class OffsetRequest:
    page: int
    per_page: int


@dataclass(frozen=True)
class CursorPage(Generic[T]):
    records: list[T]
    has_more: bool
    after_cursor: str | None
    before_cursor: str | None


def wants_cursor(params: Mapping[str, str]) -> bool:
    return any(name in params for name in CURSOR_PARAMS)


def encode_cursor(ordering: Ordering, key: SortKey) -> str:
    return base64.b64encode(orjson.dumps({"o": ordering.name, "v": list(key)})).decode("ascii")


def decode_cursor(token: str, ordering: Ordering, parameter: str) -> SortKey:
    """The sort key inside ``token``; a token of another order or a forged one is refused."""
    try:
        data = orjson.loads(base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidPaginationParameterError(parameter) from None
    if not isinstance(data, dict) or data.get("o") != ordering.name:
        raise InvalidPaginationParameterError(parameter)
    values = data.get("v")
    if not isinstance(values, list) or len(values) != len(ordering.key_types):
        raise InvalidPaginationParameterError(parameter)
    for value, kind in zip(values, ordering.key_types, strict=True):
        if isinstance(value, bool) or not isinstance(value, kind):
            raise InvalidPaginationParameterError(parameter)
    return tuple(values)


def parse_cursor_request(
    params: Mapping[str, str], ordering: Ordering, max_size: int
) -> CursorRequest:
    raw_size = params.get(PAGE_SIZE, str(max_size))
    try:
        size = int(raw_size)
    except ValueError:
        raise InvalidPaginationParameterError(PAGE_SIZE) from None
    if not 1 <= size <= max_size:
        raise InvalidPaginationParameterError(PAGE_SIZE)
    after = params.get(PAGE_AFTER)
    if after is not None:
        return CursorRequest(size, after=decode_cursor(after, ordering, PAGE_AFTER))
    before = params.get(PAGE_BEFORE)
    if before is not None:
        return CursorRequest(size, before=decode_cursor(before, ordering, PAGE_BEFORE))
    return CursorRequest(size)


def cursor_page(
    records: Sequence[T],
    key: Callable[[T], SortKey],
    ordering: Ordering,
    request: CursorRequest,
) -> CursorPage[T]:
    """One page of ``records`` (sorted ascending by ``key``) in ``ordering``'s direction."""
    n = len(records)
    size = request.size
    if ordering.descending:
        if request.after is not None:
            end = bisect_left(records, request.after, key=key)
            start = max(0, end - size)
            more = start > 0
        elif request.before is not None:
            start = bisect_right(records, request.before, key=key)
            end = min(n, start + size)
            more = end < n
        else:
            end = n
            start = max(0, n - size)
            more = start > 0
        page: list[T] = list(records[start:end])
        page.reverse()
    else:
        if request.after is not None:
            start = bisect_right(records, request.after, key=key)
            end = min(n, start + size)
            more = end < n
        elif request.before is not None:
            end = bisect_left(records, request.before, key=key)
            start = max(0, end - size)
            more = start > 0
        else:
            start, end = 0, min(n, size)
            more = end < n
        page = list(records[start:end])
    if not page:
        return CursorPage([], more, None, None)
    return CursorPage(
        page,
        more,
        encode_cursor(ordering, key(page[-1])),
        encode_cursor(ordering, key(page[0])),
    )


def parse_offset_request(
    params: Mapping[str, str],
    action: str,
    max_per_page: int,
    max_records: int,
) -> OffsetRequest:
    """``page`` / ``per_page`` (``per_page`` capped at the maximum, as Zendesk does)."""
    if any(name.startswith("page[") for name in params):
        raise InvalidAttributeError("page", action)
    try:
        page = int(params.get("page", "1"))
    except ValueError:
        raise InvalidAttributeError("page", action) from None
    try:
        per_page = int(params.get("per_page", str(max_per_page)))
    except ValueError:
        raise InvalidAttributeError("per_page", action) from None
    page = max(page, 1)
    per_page = min(max(per_page, 1), max_per_page)
    if page * per_page > max_records:
        raise InvalidPaginationDepthError()
    return OffsetRequest(page, per_page)


def offset_page(
    records: Sequence[T], request: OffsetRequest, descending: bool = False
) -> tuple[list[T], bool, bool]:
    """(page records, has a next page, has a previous page)."""
    n = len(records)
    start = (request.page - 1) * request.per_page
    end = min(n, start + request.per_page)
    if start >= n:
        return [], False, request.page > 1
    if descending:
        page = list(records[n - end : n - start])
        page.reverse()
    else:
        page = list(records[start:end])
    return page, end < n, request.page > 1


def page_url(
    base: str,
    params: Iterable[tuple[str, str]],
    drop: frozenset[str],
    add: Iterable[tuple[str, str]],
) -> str:
    """``base`` with the request's query, minus ``drop``, plus ``add`` (Zendesk's link style)."""
    kept = [(name, value) for name, value in params if name not in drop]
    kept.extend(add)
    kept.sort()
    return f"{base}?{urlencode(kept)}"


def encode_export_cursor(position: tuple[int, int]) -> str:
    """The incremental export's cursor for the stream position ``(epoch seconds, id)``."""
    epoch, record_id = position
    return base64.b64encode(f"{epoch}.0||{record_id}|".encode("ascii")).decode("ascii")


def decode_export_cursor(token: str) -> tuple[int, int]:
    """The stream position inside an incremental export ``cursor``; a forged one is refused."""
    try:
        text = base64.b64decode(token, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidValueError("cursor is invalid") from None
    match = _EXPORT_CURSOR.match(text)
    if match is None:
        raise InvalidValueError("cursor is invalid")
    return int(match.group(1)), int(match.group(2))
