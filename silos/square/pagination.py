"""Opaque cursors and keyset pages over sorted key lists.

A cursor is the base64url JSON of ``[kind, *sort key of the last record returned]``: walks are
stable under concurrent inserts (no offsets), and every record is returned exactly once.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from silos.square.errors import invalid_cursor

Key = tuple[Any, ...]


def encode_cursor(kind: str, key: Key) -> str:
    raw = orjson.dumps([kind, *key])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, kind: str, types: tuple[type, ...]) -> Key:
    """The key stored in ``cursor``; 400 ``INVALID_CURSOR`` unless it is ``kind`` with ``types``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise invalid_cursor() from None
    if (
        not isinstance(parts, list)
        or len(parts) != len(types) + 1
        or parts[0] != kind
        or not all(
            isinstance(part, expected) and not isinstance(part, bool)
            for part, expected in zip(parts[1:], types, strict=True)
        )
    ):
        raise invalid_cursor()
    return tuple(parts[1:])


def keyset_page(
    keys: Sequence[Key],
    after: Key | None,
    *,
    descending: bool,
    limit: int,
    accept: Callable[[Key], bool] | None = None,
    low: int = 0,
    high: int | None = None,
) -> tuple[list[Key], bool]:
    """Up to ``limit`` keys of ``keys[low:high]`` (sorted ascending) strictly past ``after``.

    Walks ascending or descending, keeping keys ``accept`` allows; returns the page and whether
    more accepted keys follow.
    """
    if high is None:
        high = len(keys)
    page: list[Key] = []
    if descending:
        start = high - 1 if after is None else min(high, bisect_left(keys, after, low, high)) - 1
        indexes = range(start, low - 1, -1)
    else:
        start = low if after is None else max(low, bisect_right(keys, after, low, high))
        indexes = range(start, high)
    for index in indexes:
        key = keys[index]
        if accept is None or accept(key):
            if len(page) == limit:
                return page, True
            page.append(key)
    return page, False
