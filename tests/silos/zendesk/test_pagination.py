"""Cursor and offset pagination helpers: exact keyset walks, Zendesk's limits and links."""

from __future__ import annotations

import base64

import orjson
import pytest

from silos.zendesk.errors import (
    InvalidAttributeError,
    InvalidPaginationDepthError,
    InvalidPaginationParameterError,
)
from silos.zendesk.pagination import (
    CursorRequest,
    OffsetRequest,
    Ordering,
    SortKey,
    cursor_page,
    decode_cursor,
    encode_cursor,
    offset_page,
    page_url,
    parse_cursor_request,
    parse_offset_request,
    wants_cursor,
)

BY_ID = Ordering("id", (int,))
BY_ID_DESC = Ordering("-id", (int,), descending=True)
BY_TIME = Ordering("created_at", (str, int))
RECORDS = [{"id": n} for n in (2, 3, 5, 7, 11, 13, 17)]


def key(record: dict[str, int]) -> SortKey:
    return (record["id"],)


def walk(ordering: Ordering, size: int, backwards_from_end: bool = False) -> list[int]:
    """Follow after-cursors to the end, then (optionally) before-cursors back to the start."""
    seen: list[int] = []
    page = cursor_page(RECORDS, key, ordering, CursorRequest(size))
    seen.extend(r["id"] for r in page.records)
    while page.has_more:
        assert page.after_cursor is not None
        after = decode_cursor(page.after_cursor, ordering, "page[after]")
        page = cursor_page(RECORDS, key, ordering, CursorRequest(size, after=after))
        seen.extend(r["id"] for r in page.records)
    if not backwards_from_end:
        return seen
    back: list[int] = [r["id"] for r in page.records]
    while True:
        assert page.before_cursor is not None
        before = decode_cursor(page.before_cursor, ordering, "page[before]")
        page = cursor_page(RECORDS, key, ordering, CursorRequest(size, before=before))
        back = [r["id"] for r in page.records] + back
        if not page.has_more:
            return back


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_cursor_walks_return_every_record_once_in_order(size: int) -> None:
    ids = [r["id"] for r in RECORDS]
    assert walk(BY_ID, size) == ids
    assert walk(BY_ID_DESC, size) == ids[::-1]
    assert walk(BY_ID, size, backwards_from_end=True) == ids
    assert walk(BY_ID_DESC, size, backwards_from_end=True) == ids[::-1]


def test_cursor_walk_is_exact_when_records_are_added_meanwhile() -> None:
    records = [{"id": n} for n in (1, 2, 3, 4)]
    first = cursor_page(records, key, BY_ID, CursorRequest(2))
    records.insert(0, {"id": 0})
    records.append({"id": 9})
    assert first.after_cursor is not None
    after = decode_cursor(first.after_cursor, BY_ID, "page[after]")
    second = cursor_page(records, key, BY_ID, CursorRequest(2, after=after))
    assert [r["id"] for r in second.records] == [3, 4]
    assert second.has_more


def test_empty_page_has_no_cursors() -> None:
    empty: list[dict[str, int]] = []
    page = cursor_page(empty, key, BY_ID, CursorRequest(5))
    assert (page.records, page.has_more, page.after_cursor, page.before_cursor) == (
        [],
        False,
        None,
        None,
    )


def test_cursor_round_trip_and_opacity() -> None:
    token = encode_cursor(BY_TIME, ("2024-01-01T00:00:00Z", 42))
    assert decode_cursor(token, BY_TIME, "page[after]") == ("2024-01-01T00:00:00Z", 42)
    assert orjson.loads(base64.b64decode(token))["o"] == "created_at"


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1]").decode(),
        encode_cursor(BY_ID, (3,)),
        base64.b64encode(orjson.dumps({"o": "created_at", "v": ["x"]})).decode(),
        base64.b64encode(orjson.dumps({"o": "created_at", "v": [1, 2]})).decode(),
        base64.b64encode(orjson.dumps({"o": "created_at", "v": ["x", True]})).decode(),
        base64.b64encode(orjson.dumps({"o": "created_at", "v": "x"})).decode(),
    ],
)
def test_forged_or_foreign_cursors_are_refused(token: str) -> None:
    with pytest.raises(InvalidPaginationParameterError) as caught:
        decode_cursor(token, BY_TIME, "page[after]")
    assert caught.value.body() == {
        "errors": [{"code": "InvalidPaginationParameter", "title": "page[after] is not valid"}]
    }


def test_parse_cursor_request() -> None:
    assert wants_cursor({"page[size]": "2"}) and wants_cursor({"page[after]": "x"})
    assert not wants_cursor({"page": "2", "per_page": "5"})
    assert parse_cursor_request({"page[size]": "5"}, BY_ID, 100) == CursorRequest(5)
    assert parse_cursor_request({"page[after]": encode_cursor(BY_ID, (4,))}, BY_ID, 100) == (
        CursorRequest(100, after=(4,))
    )
    token = encode_cursor(BY_ID, (9,))
    assert parse_cursor_request({"page[size]": "1", "page[before]": token}, BY_ID, 100) == (
        CursorRequest(1, before=(9,))
    )
    for bad in ("0", "101", "ten", "-1"):
        with pytest.raises(InvalidPaginationParameterError, match=r"page\[size\]"):
            parse_cursor_request({"page[size]": bad}, BY_ID, 100)


def test_offset_requests_cap_per_page_and_refuse_deep_pages() -> None:
    action = "api/v2/users/search/index"
    assert parse_offset_request({}, action, 100, 10_000) == OffsetRequest(1, 100)
    assert parse_offset_request({"page": "3", "per_page": "500"}, action, 100, 10_000) == (
        OffsetRequest(3, 100)
    )
    assert parse_offset_request({"page": "0", "per_page": "0"}, action, 100, 10_000) == (
        OffsetRequest(1, 1)
    )
    assert parse_offset_request({"page": "100"}, action, 100, 10_000) == OffsetRequest(100, 100)
    with pytest.raises(InvalidPaginationDepthError):
        parse_offset_request({"page": "101"}, action, 100, 10_000)
    with pytest.raises(InvalidPaginationDepthError):
        parse_offset_request({"page": "1001", "per_page": "10"}, action, 100, 10_000)
    with pytest.raises(InvalidAttributeError) as caught:
        parse_offset_request({"page": "two"}, action, 100, 10_000)
    assert caught.value.body()["error"]["title"] == "Invalid attribute"
    assert action in caught.value.body()["error"]["message"]
    with pytest.raises(InvalidAttributeError):
        parse_offset_request({"page[size]": "2"}, action, 100, 10_000)
    with pytest.raises(InvalidAttributeError):
        parse_offset_request({"per_page": "many"}, action, 100, 10_000)


def test_offset_pages() -> None:
    ids = [r["id"] for r in RECORDS]
    pages = [offset_page(RECORDS, OffsetRequest(n, 3)) for n in (1, 2, 3, 4)]
    assert [[r["id"] for r in page] for page, _, _ in pages] == [ids[:3], ids[3:6], ids[6:], []]
    assert [(has_next, has_prev) for _, has_next, has_prev in pages] == [
        (True, False),
        (True, True),
        (False, True),
        (False, True),
    ]
    desc, _, _ = offset_page(RECORDS, OffsetRequest(1, 3), descending=True)
    assert [r["id"] for r in desc] == [17, 13, 11]


def test_page_url_encodes_like_zendesk() -> None:
    url = page_url(
        "https://x.zendesk.com/api/v2/tickets.json",
        [("page[size]", "1"), ("page[after]", "old")],
        frozenset(("page[after]", "page[before]")),
        [("page[after]", "eyJv+/==")],
    )
    assert url == (
        "https://x.zendesk.com/api/v2/tickets.json?page%5Bafter%5D=eyJv%2B%2F%3D%3D&page%5Bsize%5D=1"
    )
