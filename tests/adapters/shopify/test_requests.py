"""The pure request builders: batching limits, URI budget, search terms, pagination links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

from adapters.shopify import requests as calls
from adapters.shopify.requests import Call


def test_ids_split_at_count() -> None:
    ids = [str(7_100_000_000_000 + n) for n in range(600)]
    chunks = calls.split_ids(ids, 250)
    assert [len(chunk) for chunk in chunks] == [250, 250, 100]
    assert [i for chunk in chunks for i in chunk] == ids


def test_ids_split_at_uri_budget() -> None:
    ids = [str(10**18 + n) for n in range(250)]
    chunks = calls.split_ids(ids, 250, max_chars=1000)
    for chunk in chunks:
        assert len(urlencode({"ids": ",".join(chunk)})) - len("ids=") <= 1000
    assert [i for chunk in chunks for i in chunk] == ids
    assert len(chunks) > 1


def test_every_batch_request_fits_the_silo_uri_limit() -> None:
    ids = [str(9_223_372_036_854_775_000 + n) for n in range(250)]
    for call in calls.customers_by_ids("2026-07", ids, 250):
        target = len(call.path) + 1 + len(urlencode(call.params))
        assert target < 8192


def test_only_decimal_ids_are_sent() -> None:
    assert calls.unique_ids(["12", "12", "x", "", "-3", "007", " 5", "9" * 20, "450789469"]) == [
        "12", "450789469"]


def test_inventory_calls_are_item_chunks_times_location_chunks() -> None:
    items = [str(n) for n in range(1, 121)]
    where = [str(n) for n in range(1000, 1060)]
    built = calls.inventory_levels("2026-07", items, where, 250)
    assert len(built) == 3 * 2
    assert all(len(c.params["inventory_item_ids"].split(",")) <= 50 for c in built)
    assert all(len(c.params["location_ids"].split(",")) <= 50 for c in built)
    assert "location_ids" not in calls.inventory_levels("2026-07", items[:3], None, 250)[0].params


def test_search_terms_quote_when_needed() -> None:
    assert calls.search_term("email", " bob@example.com ") == "email:bob@example.com"
    assert calls.search_term("phone", "(613) 612-0707") == 'phone:"(613) 612-0707"'
    assert calls.search_term("email", 'a"b c') == 'email:"a\\"b c"'


def test_crawl_and_order_params() -> None:
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))
    crawl = calls.customers_crawl("2026-07", since, 100)
    assert crawl == Call("/admin/api/2026-07/customers.json",
                         {"limit": "100", "updated_at_min": "2026-01-02T03:04:05-05:00",
                          "fields": calls.CUSTOMER_FIELDS})
    naive = calls.customers_crawl("2026-07", datetime(2026, 1, 2), 250)
    assert naive.params["updated_at_min"] == datetime(2026, 1, 2, tzinfo=UTC).isoformat()
    (by_ids,) = calls.orders_by_ids("2026-07", ["42", "43"], 250)
    assert by_ids == Call("/admin/api/2026-07/orders.json",
                          {"ids": "42,43", "status": "any", "limit": "250",
                           "fields": calls.ORDER_FIELDS})


def test_customer_and_order_reads_ask_only_for_the_fields_parsed() -> None:
    customer_reads = [*calls.customers_by_ids("2026-07", ["1"], 250),
                      calls.customer_search("2026-07", "email", "a@b.c", 250),
                      calls.customers_crawl("2026-07", None, 250)]
    order_reads = [*calls.orders_by_ids("2026-07", ["1"], 250),
                   calls.orders_of_customer("2026-07", "1", 250)]
    assert {c.params["fields"] for c in customer_reads} == {calls.CUSTOMER_FIELDS}
    assert {c.params["fields"] for c in order_reads} == {calls.ORDER_FIELDS}
    assert "customer" in calls.ORDER_FIELDS.split(",") and "email" in \
        calls.CUSTOMER_FIELDS.split(",")


def test_follow_stays_on_the_shop() -> None:
    base = "http://127.0.0.1:8101"
    link = f"{base}/admin/api/2026-07/orders.json?limit=250&page_info=abc"
    assert calls.follow(base, link) == Call(
        "/admin/api/2026-07/orders.json", {"limit": "250", "page_info": "abc"})
    assert calls.follow(base, "http://127.0.0.1:9999/admin/api/2026-07/orders.json") is None
    assert calls.follow(base, "https://127.0.0.1:8101/admin/api/2026-07/orders.json") is None
    proxied = "https://proxy.example/shopify"
    assert calls.follow(proxied, f"{proxied}/admin/x.json?page_info=1") == Call(
        "/admin/x.json", {"page_info": "1"})
    assert calls.follow(proxied, "https://proxy.example/other/admin/x.json") is None
