"""SearchCatalogObjects (``POST /v2/catalog/search``) in the Square silo."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from silos.square import SquareError, SquareStore, create_app
from tests.shapes import shape_differences
from tests.silos.square.helpers import CONFIG, T0, client, item_body

VARIATIONS = ["ITEM_VARIATION"]


def _error(call: Any) -> SquareError:
    with pytest.raises(SquareError) as caught:
        call()
    return caught.value


def _store() -> tuple[SquareStore, dict[str, Any], dict[str, Any]]:
    store = SquareStore(seed=5)
    coffee = store.upsert_catalog_object(
        item_body("c", "Coffee", [("Regular", "COF-R", 250), ("Large", "COF-L", 350)]), at=T0
    )["catalog_object"]
    tea = store.upsert_catalog_object(
        item_body("t", "Tea", [("Mug", "TEA-M", 150)], description="Hot Leaf Juice"),
        at=T0 + timedelta(hours=1),
    )["catalog_object"]
    return store, coffee, tea


def _variation(item: dict[str, Any], sku: str) -> dict[str, Any]:
    return next(
        v for v in item["item_data"]["variations"] if v["item_variation_data"]["sku"] == sku
    )


def _sku_set(*skus: str, **extra: Any) -> dict[str, Any]:
    return {
        "object_types": VARIATIONS,
        "query": {"set_query": {"attribute_name": "sku", "attribute_values": list(skus)}},
        **extra,
    }


def _walk(store: SquareStore, body: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        page = store.search_catalog_objects({**body, **({"cursor": cursor} if cursor else {})})
        pages += 1
        seen.extend(page.get("objects", []))
        cursor = page.get("cursor")
        if cursor is None:
            return seen, pages


def test_set_query_on_sku_is_case_insensitive_and_returns_parents() -> None:
    store, coffee, tea = _store()
    response = store.search_catalog_objects(
        _sku_set("cof-l", "TEA-M", "NOPE", include_related_objects=True)
    )
    found = {o["item_variation_data"]["sku"]: o for o in response["objects"]}
    assert found == {"COF-L": _variation(coffee, "COF-L"), "TEA-M": _variation(tea, "TEA-M")}
    assert [o["id"] for o in response["objects"]] == sorted(o["id"] for o in found.values())
    assert sorted(o["id"] for o in response["related_objects"]) == sorted(
        [coffee["id"], tea["id"]]
    )
    assert response["latest_time"] == tea["updated_at"] == "2024-03-01T13:00:00.250Z"
    assert "cursor" not in response
    without = store.search_catalog_objects(_sku_set("COF-L"))
    assert "related_objects" not in without and len(without["objects"]) == 1
    assert store.search_catalog_objects(_sku_set("NOPE")) == {"latest_time": tea["updated_at"]}


def test_exact_query_and_default_object_types() -> None:
    store, coffee, tea = _store()
    exact = {"query": {"exact_query": {"attribute_name": "sku", "attribute_value": "tea-m"}}}
    assert store.search_catalog_objects({**exact, "object_types": VARIATIONS})["objects"] == [
        _variation(tea, "TEA-M")
    ]
    assert "objects" not in store.search_catalog_objects(exact)  # ITEMs carry no sku
    by_name = {"query": {"exact_query": {"attribute_name": "name", "attribute_value": "TEA"}}}
    assert store.search_catalog_objects(by_name)["objects"] == [tea]
    large = {
        "object_types": VARIATIONS,
        "query": {"exact_query": {"attribute_name": "name", "attribute_value": "large"}},
    }
    assert store.search_catalog_objects(large)["objects"] == [_variation(coffee, "COF-L")]
    everything = store.search_catalog_objects({})["objects"]
    assert sorted(o["id"] for o in everything) == sorted([coffee["id"], tea["id"]])
    both = store.search_catalog_objects({"object_types": ["ITEM", "ITEM_VARIATION"]})
    assert len(both["objects"]) == 5


def test_cursor_walks_every_match_once_and_limit_is_advisory() -> None:
    store, _, _ = _store()
    seen, pages = _walk(store, _sku_set("COF-R", "COF-L", "TEA-M", limit=1))
    assert pages == 3 and len({o["id"] for o in seen}) == 3
    all_types = {"object_types": ["ITEM", "ITEM_VARIATION"]}
    seen, pages = _walk(store, {**all_types, "limit": 2})
    assert pages == 3 and len({o["id"] for o in seen}) == 5
    for ignored in (0, -3, 5000):
        seen, pages = _walk(store, {**all_types, "limit": ignored})
        assert pages == 1 and len(seen) == 5


def test_begin_time_is_exclusive() -> None:
    store, coffee, tea = _store()
    after = store.search_catalog_objects({"begin_time": coffee["updated_at"]})
    assert after["objects"] == [tea]
    before = store.search_catalog_objects({"begin_time": "2024-03-01T11:00:00Z"})
    assert len(before["objects"]) == 2


def test_upsert_reindexes_skus() -> None:
    store, coffee, _ = _store()
    body = item_body("c2", "Coffee", [("Decaf", "COF-D", 275)])
    body["object"]["id"] = coffee["id"]
    store.upsert_catalog_object(body, at=T0 + timedelta(days=1))
    assert "objects" not in store.search_catalog_objects(_sku_set("COF-R", "COF-L"))
    (decaf,) = store.search_catalog_objects(_sku_set("cof-d"))["objects"]
    assert decaf["item_variation_data"]["name"] == "Decaf"
    assert store.variations_by_sku("COF-D") == [decaf] and store.variations_by_sku("cof-d") == []
    assert store.search_catalog_objects({})["latest_time"] == "2024-03-02T12:00:00.250Z"


def test_empty_catalog_has_no_latest_time() -> None:
    assert SquareStore().search_catalog_objects(_sku_set("X")) == {}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"object_types": ["ITEMS"]}, "INVALID_ENUM_VALUE", "object_types[0]"),
        (_sku_set(*[f"S{i}" for i in range(251)]), "ARRAY_LENGTH_TOO_LONG",
         "query.set_query.attribute_values"),
        ({"query": {"set_query": {"attribute_name": "sku"}}}, "MISSING_REQUIRED_PARAMETER",
         "query.set_query.attribute_values"),
        ({"query": {"set_query": {"attribute_name": "color", "attribute_values": ["red"]}}},
         "INVALID_VALUE", "query.set_query.attribute_name"),
        ({"query": {"set_query": {"attribute_name": "sku", "attribute_values": ["A"]},
                    "exact_query": {"attribute_name": "sku", "attribute_value": "A"}}},
         "BAD_REQUEST", "query.set_query"),
        ({"query": {"exact_query": {"attribute_name": "sku"}}}, "MISSING_REQUIRED_PARAMETER",
         "query.exact_query.attribute_value"),
        ({"query": {"prefix_query": {"attribute_name": "name", "attribute_prefix": "t"}}},
         "BAD_REQUEST", "query.prefix_query"),
        ({"query": {"nonsense": {}}}, "BAD_REQUEST", "query.nonsense"),
        ({"limit": "10"}, "EXPECTED_INTEGER", "limit"),
        ({"begin_time": "yesterday"}, "INVALID_TIME", "begin_time"),
        ({"cursor": "not-a-cursor"}, "INVALID_CURSOR", "cursor"),
    ],
)
def test_validation(body: dict[str, Any], code: str, field: str) -> None:
    store, _, _ = _store()
    error = _error(lambda: store.search_catalog_objects(body))
    assert (error.status, error.code, error.field) == (400, code, field)


def test_250_values_are_accepted() -> None:
    store, _, _ = _store()
    values = ["COF-R", *[f"S{i}" for i in range(249)]]
    assert len(store.search_catalog_objects(_sku_set(*values))["objects"]) == 1


@pytest.mark.anyio
async def test_over_http_counts_as_its_own_endpoint() -> None:
    store, coffee, _ = _store()
    app = create_app(store, CONFIG)
    async with client(app) as http:
        response = await http.post("/v2/catalog/search", json=_sku_set("COF-R"))
        assert response.status_code == 200
        assert response.json()["objects"] == [_variation(coffee, "COF-R")]
        bad = await http.post("/v2/catalog/search", json={"object_types": "ITEM"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "EXPECTED_ARRAY"
        stats = (await http.get("/_sandbox/stats")).json()
    assert stats["endpoints"] == {"POST /v2/catalog/search": 2}


@pytest.mark.anyio
@pytest.mark.vendor_payloads
async def test_objects_have_the_vendor_shape(payload: Any) -> None:
    vendor = payload("square/batch_retrieve_catalog_objects_response.json")
    store, _, _ = _store()
    async with client(create_app(store, CONFIG)) as http:
        items = (await http.post("/v2/catalog/search", json={})).json()
        variations = (
            await http.post("/v2/catalog/search", json=_sku_set("COF-R", "COF-L"))
        ).json()
    no_taxonomy = "categories and taxes are not emulated"
    found, _ = shape_differences(
        items["objects"],
        vendor["objects"],
        {
            "$[].item_data.categories": no_taxonomy,
            "$[].item_data.tax_ids": no_taxonomy,
            "$[].item_data.description": "given for one test item only",
        },
        {"$[].item_data.variations[].item_variation_data.sku": "this example has no sku"},
        merge_elements=True,
    )
    assert found == []
    found, _ = shape_differences(
        variations["objects"],
        vendor["objects"][1]["item_data"]["variations"],
        added={"$[].item_variation_data.sku": "this example has no sku"},
        merge_elements=True,
    )
    assert found == []
    assert isinstance(items["latest_time"], str) and items["latest_time"].endswith("Z")
