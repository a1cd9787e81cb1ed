"""The pure request builders: Zendesk's limits, query syntax and export parameters."""

from __future__ import annotations

import pytest

from adapters.zendesk import requests as calls


def test_show_many_is_limited_to_100_ids() -> None:
    ids = [str(i) for i in range(1, 251)]
    batches = calls.chunks(ids, calls.SHOW_MANY_LIMIT)
    assert [len(b) for b in batches] == [100, 100, 50]
    call = calls.show_many_users(batches[0])
    assert call.path == "/api/v2/users/show_many.json"
    assert call.params == {"ids": ",".join(batches[0]), "include": "identities"}
    assert calls.show_many_tickets(["7", "9"]).params == {"ids": "7,9"}
    with pytest.raises(ValueError):
        calls.show_many_users(ids[:101])
    with pytest.raises(ValueError):
        calls.show_many_tickets([])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("42", "42"), (" 0042 ", "42"), ("0", None), ("-3", None), ("4x", None), ("", None),
     ("٤٢", None)],
)
def test_ids_are_positive_integers(raw: str, expected: str | None) -> None:
    assert calls.numeric_id(raw) == expected


def test_search_queries_find_end_users_exactly() -> None:
    assert calls.email_query(" Jane@Example.org ") == "role:end-user email:Jane@Example.org"
    assert calls.email_query("not an@email.org") is None
    assert calls.email_query('x"@y.org') is None
    assert calls.email_query("no-at-sign") is None
    assert calls.phone_query("+1 (415) 555-0101") == "role:end-user phone:*4155550101"
    assert calls.phone_query("555-0101") == "role:end-user phone:*5550101"
    assert calls.phone_query("12-34") is None
    search = calls.search_users("role:end-user email:a@b.org", page=3)
    assert search.path == "/api/v2/users/search.json"
    assert search.params == {"query": "role:end-user email:a@b.org", "per_page": "100",
                             "page": "3"}
    assert "page" not in calls.search_users("q").params


def test_the_export_starts_at_a_time_then_follows_cursors() -> None:
    first = calls.incremental_users(start_time=1_700_000_000)
    assert first.path == "/api/v2/incremental/users/cursor.json"
    assert first.params == {"start_time": "1700000000", "per_page": "1000",
                            "include": "identities"}
    later = calls.incremental_users(cursor="MTU3||4|")
    assert later.params == {"cursor": "MTU3||4|", "per_page": "1000", "include": "identities"}
    with pytest.raises(ValueError):
        calls.incremental_users()


def test_the_export_never_starts_within_the_last_minute() -> None:
    now = 1_800_000_000.0
    assert calls.export_start_time(None, now) == 0
    assert calls.export_start_time(1_700_000_000.5, now) == 1_700_000_000
    assert calls.export_start_time(now - 10, now) == now - 61
    assert calls.export_start_time(now + 3600, now) == now - 61
    assert calls.export_start_time(-50, now) == 0


def test_cursor_pages_ask_for_100_and_follow_after() -> None:
    assert calls.requested_tickets("42").params == {"page[size]": "100"}
    assert calls.ticket_comments("7", "abc").params == {"page[size]": "100", "page[after]": "abc"}
    assert calls.ticket_audits("7").path == "/api/v2/tickets/7/audits.json"
    assert calls.requested_tickets("42").path == "/api/v2/users/42/tickets/requested.json"


def test_requesters_are_searched_50_to_a_query_with_the_keyword_repeated() -> None:
    ids = [str(360_000_000_000 + i) for i in range(120)]
    groups = calls.requester_chunks(ids)
    assert [len(g) for g in groups] == [50, 50, 20]
    assert [i for g in groups for i in g] == ids
    query = calls.requester_query(groups[0])
    assert query == "type:ticket " + " ".join(f"requester:{i}" for i in groups[0])
    assert len(query.split()) == 51 <= calls.SEARCH_MAX_WORDS
    assert len(query) <= calls.SEARCH_MAX_QUERY_CHARS
    assert calls.requester_chunks([]) == []
    with pytest.raises(ValueError):
        calls.requester_query([])


def test_the_query_length_bound_splits_groups_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calls, "SEARCH_MAX_QUERY_CHARS", 60)
    ids = [str(10**18 + i) for i in range(5)]
    groups = calls.requester_chunks(ids)
    assert [len(g) for g in groups] == [1, 1, 1, 1, 1]
    assert all(len(calls.requester_query(g)) <= 60 for g in groups[:-1])
    monkeypatch.setattr(calls, "SEARCH_MAX_QUERY_CHARS", 75)
    assert [len(g) for g in calls.requester_chunks(ids)] == [2, 2, 1]


def test_ticket_searches_read_oldest_first_100_a_page() -> None:
    first = calls.search_tickets("type:ticket requester:7")
    assert first.path == "/api/v2/search.json"
    assert first.params == {"query": "type:ticket requester:7", "sort_by": "created_at",
                            "sort_order": "asc", "per_page": "100"}
    assert calls.search_tickets("q", page=4).params["page"] == "4"
    assert [calls.search_pages(n) for n in (0, 1, 100, 101, 1000)] == [1, 1, 1, 2, 10]
