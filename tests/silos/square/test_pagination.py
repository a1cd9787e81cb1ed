from __future__ import annotations

import pytest

from silos.square.errors import SquareError
from silos.square.pagination import Key, decode_cursor, encode_cursor, keyset_page

KEYS: list[Key] = [(f"2024-01-{day:02d}", f"id{day}") for day in range(1, 11)]


def test_cursor_round_trip() -> None:
    cursor = encode_cursor("orders:CREATED_AT:DESC", ("2024-01-01", "abc"))
    assert decode_cursor(cursor, "orders:CREATED_AT:DESC", (str, str)) == ("2024-01-01", "abc")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "",
        encode_cursor("other", ("a", "b")),
        encode_cursor("kind", ("a",)),
        encode_cursor("kind", ("a", 1)),
    ],
)
def test_bad_cursors(cursor: str) -> None:
    with pytest.raises(SquareError) as caught:
        decode_cursor(cursor, "kind", (str, str))
    assert (caught.value.status, caught.value.code) == (400, "INVALID_CURSOR")


@pytest.mark.parametrize("descending", [False, True])
def test_walk_returns_every_accepted_key_once(descending: bool) -> None:
    seen: list[Key] = []
    after = None
    while True:
        page, more = keyset_page(
            KEYS, after, descending=descending, limit=3, accept=lambda key: key[1] != "id4"
        )
        seen.extend(page)
        if not more:
            break
        after = page[-1]
    expected = [key for key in KEYS if key[1] != "id4"]
    assert seen == (expected[::-1] if descending else expected)


def test_bounds_restrict_the_walk() -> None:
    page, more = keyset_page(KEYS, None, descending=False, limit=10, low=2, high=5)
    assert page == KEYS[2:5] and not more
    page, more = keyset_page(KEYS, KEYS[3], descending=True, limit=10, low=2, high=5)
    assert page == [KEYS[2]] and not more


def test_exact_fit_reports_no_more() -> None:
    page, more = keyset_page(KEYS, None, descending=False, limit=10)
    assert len(page) == 10 and not more
