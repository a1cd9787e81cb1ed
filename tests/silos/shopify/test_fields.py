"""``fields=`` as Shopify's Admin REST API documents it ("Retrieve only certain fields,
specified by a comma-separated list of field names"): the named top-level fields only, each
whole (nested objects and lists are not filtered), unknown names ignored, kept across pages.
The adapter's order summaries rely on it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.shopify import requests as calls
from tests.shapes import as_json

from .factory import API, Shop

pytestmark = pytest.mark.anyio
BASE = "https://c360-sandbox.myshopify.com"


def stored(shop: Shop) -> dict[int, dict[str, Any]]:
    return {order["id"]: as_json(order) for order in shop.orders}


async def test_fields_keep_the_named_top_level_fields_whole(
        client: httpx.AsyncClient, shop: Shop) -> None:
    ids = ",".join(str(order["id"]) for order in shop.orders)
    whole = stored(shop)
    for fields in (calls.ORDER_SUMMARY_FIELDS, calls.ORDER_FIELDS, "id,customer,line_items"):
        names = fields.split(",")
        got = await client.get(f"{API}/orders.json",
                               params={"ids": ids, "status": "any", "fields": fields})
        assert got.status_code == 200
        orders = got.json()["orders"]
        assert len(orders) == len(shop.orders)
        for order in orders:
            record = whole[order["id"]]
            # every named field the order has (null ones too), as stored: nested ones whole
            assert order == {name: record[name] for name in names if name in record}
    assert "line_items" not in calls.ORDER_SUMMARY_FIELDS.split(",")


async def test_unknown_names_and_spaces_are_ignored(client: httpx.AsyncClient, shop: Shop
                                                    ) -> None:
    order = shop.orders[0]
    got = await client.get(f"{API}/orders/{order['id']}.json",
                           params={"fields": " id , no_such_field,,name"})
    assert got.json() == {"order": {"id": order["id"], "name": order["name"]}}
    every = await client.get(f"{API}/orders/{order['id']}.json", params={"fields": ""})
    assert every.json() == {"order": as_json(order)}


async def test_fields_are_kept_on_every_page(client: httpx.AsyncClient, shop: Shop) -> None:
    url: str | None = f"{API}/orders.json?status=any&limit=5&fields=id,name"
    seen: list[int] = []
    while url:
        got = await client.get(url)
        assert got.status_code == 200
        assert all(set(order) == {"id", "name"} for order in got.json()["orders"])
        seen += [order["id"] for order in got.json()["orders"]]
        url = got.links.get("next", {}).get("url")
    assert sorted(seen) == sorted(order["id"] for order in shop.orders)
