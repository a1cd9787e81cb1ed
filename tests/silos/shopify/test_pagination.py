from __future__ import annotations

import base64

import orjson
import pytest

from silos.shopify.errors import BadRequest
from silos.shopify.pagination import (
    Cursor,
    Page,
    decode_cursor,
    encode_cursor,
    link_header,
    page_of,
)

IDS = list(range(10, 110, 10))  # 10, 20, ..., 100


def test_cursor_round_trip_and_opacity() -> None:
    cursor = Cursor("orders", "next", 1234, False, {"status": "any"})
    text = encode_cursor(cursor)
    assert "=" not in text and "/" not in text and "+" not in text
    assert decode_cursor(text, "orders") == cursor


@pytest.mark.parametrize(
    "page_info",
    [
        "",
        "abc",
        "!!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(orjson.dumps([1, 2])).decode(),
        base64.urlsafe_b64encode(
            orjson.dumps({"direction": "up", "last_id": 1, "resource": "orders", "order": "id asc"})
        ).decode(),
        base64.urlsafe_b64encode(
            orjson.dumps(
                {"direction": "next", "last_id": "1", "resource": "orders", "order": "id asc"}
            )
        ).decode(),
        base64.urlsafe_b64encode(
            orjson.dumps(
                {
                    "direction": "next",
                    "last_id": 1,
                    "resource": "orders",
                    "order": "id asc",
                    "filters": {"status": 1},
                }
            )
        ).decode(),
        encode_cursor(Cursor("customers", "next", 1, True)),
    ],
)
def test_garbled_or_foreign_cursors_are_invalid(page_info: str) -> None:
    with pytest.raises(BadRequest) as error:
        decode_cursor(page_info, "orders")
    assert error.value.errors == {"page_info": "Invalid value."}


def test_first_page_descending_and_ascending() -> None:
    assert page_of(IDS, ascending=False, limit=3) == Page([100, 90, 80], True, False)
    assert page_of(IDS, ascending=True, limit=3) == Page([10, 20, 30], True, False)
    assert page_of(IDS, ascending=True, limit=10) == Page(IDS, False, False)
    assert page_of([], ascending=False, limit=3) == Page([], False, False)


@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 4, 10])
def test_walking_next_then_previous_visits_every_id_once(ascending: bool, limit: int) -> None:
    def match(record_id: int) -> bool:
        return record_id != 50

    wanted = [i for i in (IDS if ascending else IDS[::-1]) if match(i)]
    pages = [page_of(IDS, ascending=ascending, limit=limit, match=match)]
    while pages[-1].has_next:
        cursor = Cursor("x", "next", pages[-1].ids[-1], ascending)
        pages.append(page_of(IDS, ascending=ascending, limit=limit, cursor=cursor, match=match))
    assert [i for page in pages for i in page.ids] == wanted
    back = [pages[-1]]
    while back[-1].has_previous:
        cursor = Cursor("x", "prev", back[-1].ids[0], ascending)
        back.append(page_of(IDS, ascending=ascending, limit=limit, cursor=cursor, match=match))
    back.reverse()
    assert [page.ids for page in back] == [page.ids for page in pages]
    assert back[0].has_previous is False


def test_link_header() -> None:
    page = Page([30, 20], True, True)
    header = link_header(
        "https://shop.example/admin/api/2026-07/orders.json",
        page,
        resource="orders",
        ascending=False,
        filters={"status": "any"},
        keep={"limit": "2"},
    )
    assert header is not None
    previous, following = header.split(", ")
    assert previous.endswith('; rel="previous"') and following.endswith('; rel="next"')
    assert previous.startswith("<https://shop.example/admin/api/2026-07/orders.json?limit=2&")
    info = following.split("page_info=")[1].split(">")[0]
    assert decode_cursor(info, "orders") == Cursor("orders", "next", 20, False, {"status": "any"})
    lone = link_header(
        "u", Page([1], False, False), resource="o", ascending=True, filters={}, keep={}
    )
    assert lone is None
    assert (
        link_header("u", Page([], True, True), resource="o", ascending=True, filters={}, keep={})
        is None
    )
