"""Shopify's cursor pagination (REST Admin API since 2019-10).

A list answers one page and, when there is more, a ``Link`` header::

    Link: <https://shop/admin/api/2026-07/customers.json?limit=2&page_info=eyJ...>; rel="previous",
          <https://shop/admin/api/2026-07/customers.json?limit=2&page_info=eyJ...>; rel="next"

``page_info`` is opaque to clients (here: base64url JSON naming the resource, direction, anchor id,
sort order and the first request's filters). A request carrying ``page_info`` may only add ``limit``
and ``fields``; the filters travel inside the cursor.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import orjson

from .errors import invalid_value

Direction = Literal["next", "prev"]


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (``next``) or before (``prev``) the ``anchor`` id."""

    resource: str
    direction: Direction
    anchor: int
    ascending: bool
    filters: dict[str, str] = field(default_factory=dict)


def encode_cursor(cursor: Cursor) -> str:
    payload: dict[str, Any] = {
        "direction": cursor.direction,
        "last_id": cursor.anchor,
        "resource": cursor.resource,
        "order": "id asc" if cursor.ascending else "id desc",
    }
    if cursor.filters:
        payload["filters"] = cursor.filters
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode("ascii")


def decode_cursor(page_info: str, resource: str) -> Cursor:
    """Read a ``page_info``; anything not minted here for ``resource`` is Shopify's 400."""
    try:
        raw = base64.urlsafe_b64decode(page_info + "=" * (-len(page_info) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise invalid_value("page_info") from exc
    if not isinstance(payload, dict) or payload.get("resource") != resource:
        raise invalid_value("page_info")
    direction, anchor = payload.get("direction"), payload.get("last_id")
    order = payload.get("order")
    filters = payload.get("filters", {})
    if (
        direction not in ("next", "prev")
        or not isinstance(anchor, int)
        or isinstance(anchor, bool)
        or order not in ("id asc", "id desc")
        or not isinstance(filters, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in filters.items())
    ):
        raise invalid_value("page_info")
    return Cursor(resource, direction, anchor, order == "id asc", filters)


@dataclass(frozen=True)
class Page:
    ids: list[int]
    has_next: bool
    has_previous: bool


def _collect(
    ids: Sequence[int], start: int, step: int, want: int, match: Callable[[int], bool] | None
) -> list[int]:
    stop = len(ids) if step > 0 else -1
    if match is None:
        if step > 0:
            return list(ids[start : start + want])
        low = max(start - want + 1, 0)
        return list(reversed(ids[low : start + 1]))
    found: list[int] = []
    for index in range(start, stop, step):
        record_id = ids[index]
        if match(record_id):
            found.append(record_id)
            if len(found) == want:
                break
    return found


def page_of(
    ids_asc: Sequence[int],
    *,
    ascending: bool,
    limit: int,
    cursor: Cursor | None = None,
    match: Callable[[int], bool] | None = None,
) -> Page:
    """One page of ``ids_asc`` (sorted ascending) in display order, keeping ids ``match`` accepts.

    Cost is proportional to the records walked past, never to the whole list (bisect to the anchor).
    """
    want = limit + 1
    if cursor is None:
        start, step = (0, 1) if ascending else (len(ids_asc) - 1, -1)
        found = _collect(ids_asc, start, step, want, match)
        return Page(found[:limit], len(found) > limit, False)
    anchor = cursor.anchor
    forward = (cursor.direction == "next") == ascending
    if forward:
        start, step = bisect_right(ids_asc, anchor), 1
    else:
        start, step = bisect_left(ids_asc, anchor) - 1, -1
    found = _collect(ids_asc, start, step, want, match)
    if cursor.direction == "next":
        return Page(found[:limit], len(found) > limit, True)
    page = found[:limit]
    page.reverse()
    return Page(page, True, len(found) > limit)


def link_header(
    url: str,
    page: Page,
    *,
    resource: str,
    ascending: bool,
    filters: dict[str, str],
    keep: dict[str, str],
) -> str | None:
    """The ``Link`` header for ``page`` (``None`` when it has no neighbours).

    ``url`` is the request's own scheme://host/path; ``keep`` holds ``limit``/``fields`` as sent.
    """
    if not page.ids:
        return None
    links: list[str] = []
    if page.has_previous:
        cursor = Cursor(resource, "prev", page.ids[0], ascending, filters)
        query = urlencode({**keep, "page_info": encode_cursor(cursor)})
        links.append(f'<{url}?{query}>; rel="previous"')
    if page.has_next:
        cursor = Cursor(resource, "next", page.ids[-1], ascending, filters)
        query = urlencode({**keep, "page_info": encode_cursor(cursor)})
        links.append(f'<{url}?{query}>; rel="next"')
    return ", ".join(links) or None
