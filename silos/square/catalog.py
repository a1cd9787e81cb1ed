"""SearchCatalogObjects (``POST /v2/catalog/search``): request parsing and attribute matching.

Square matches ``exact_query`` and ``set_query`` values case-insensitively against the
*searchable* attributes of each object type (``sku`` and ``name`` on item variations; ``name``,
``description`` and ``abbreviation`` on items). ``set_query`` takes at most 250 values and cannot
be combined with another query; without ``object_types`` only top-level types are searched (an
ITEM_VARIATION is nested in its ITEM, so it must be asked for). ``limit`` is advisory: a value
that is not positive or above 1,000 is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from silos.square.body import (
    get_bool,
    get_obj,
    get_str,
    get_str_list,
    req_str,
)
from silos.square.errors import bad_request, missing
from silos.square.formats import parse_time, rfc3339_ms

Record = dict[str, Any]

OBJECT_TYPES = frozenset(
    {
        "ITEM",
        "IMAGE",
        "CATEGORY",
        "ITEM_VARIATION",
        "TAX",
        "DISCOUNT",
        "MODIFIER_LIST",
        "MODIFIER",
        "PRICING_RULE",
        "PRODUCT_SET",
        "TIME_PERIOD",
        "MEASUREMENT_UNIT",
        "SUBSCRIPTION_PLAN_VARIATION",
        "ITEM_OPTION",
        "ITEM_OPTION_VAL",
        "CUSTOM_ATTRIBUTE_DEFINITION",
        "QUICK_AMOUNTS_SETTINGS",
        "SUBSCRIPTION_PLAN",
        "AVAILABILITY_PERIOD",
    }
)
# Nested types (variations, modifiers, option values) are only searched when asked for.
DEFAULT_OBJECT_TYPES = OBJECT_TYPES - {
    "ITEM_VARIATION",
    "MODIFIER",
    "ITEM_OPTION_VAL",
    "SUBSCRIPTION_PLAN_VARIATION",
    "IMAGE",
    "AVAILABILITY_PERIOD",
}
SEARCHABLE_ATTRIBUTES = frozenset(
    {"name", "description", "abbreviation", "upc", "sku", "caption", "display_name"}
)
MAX_SET_VALUES = 250
MAX_LIMIT = 1000
DEFAULT_LIMIT = 1000
_UNSUPPORTED_QUERIES = (
    "prefix_query",
    "range_query",
    "sorted_attribute_query",
    "text_query",
    "items_for_tax_query",
    "items_for_modifier_list_query",
    "items_for_item_options_query",
    "item_variations_for_item_option_values_query",
)
_DATA_KEY = {"ITEM": "item_data", "ITEM_VARIATION": "item_variation_data"}
_ATTRIBUTES = {
    "ITEM": frozenset({"name", "description", "abbreviation"}),
    "ITEM_VARIATION": frozenset({"name", "sku", "upc"}),
}


@dataclass(frozen=True)
class CatalogSearch:
    """A parsed SearchCatalogObjects request."""

    object_types: frozenset[str]
    attribute: str | None
    values: frozenset[str] | None
    """Lower-cased wanted values of ``attribute`` (None: no attribute query)."""
    begin_time: str | None
    include_related: bool
    limit: int
    cursor: str | None

    def accepts(self, obj: Record) -> bool:
        """Whether ``obj`` is of a wanted type, changed after ``begin_time`` and matches."""
        if obj["type"] not in self.object_types or obj.get("is_deleted"):
            return False
        if self.begin_time is not None and obj["updated_at"] <= self.begin_time:
            return False
        if self.attribute is None or self.values is None:
            return True
        value = attribute_value(obj, self.attribute)
        return value is not None and value.lower() in self.values


def attribute_value(obj: Record, attribute: str) -> str | None:
    """The searchable ``attribute`` of a catalog object, or None where the type lacks it."""
    if attribute not in _ATTRIBUTES.get(obj["type"], ()):
        return None
    value = obj[_DATA_KEY[obj["type"]]].get(attribute)
    return value if isinstance(value, str) else None


def _attribute_name(query: Record, prefix: str) -> str:
    name = req_str(query, "attribute_name", prefix)
    if name not in SEARCHABLE_ATTRIBUTES:
        raise bad_request(
            "INVALID_VALUE",
            f"`{name}` is not a searchable attribute.",
            f"{prefix}.attribute_name",
        )
    return name


def parse_search(body: dict[str, Any]) -> CatalogSearch:
    """Validate a SearchCatalogObjects body (400s in Square's shape)."""
    types = get_str_list(body, "object_types")
    if types is not None:
        for index, kind in enumerate(types):
            if kind not in OBJECT_TYPES:
                raise bad_request(
                    "INVALID_ENUM_VALUE",
                    f"`{kind}` is not a valid catalog object type",
                    f"object_types[{index}]",
                )
    get_bool(body, "include_deleted_objects", default=False)
    include_related = get_bool(body, "include_related_objects", default=False)
    begin_raw = get_str(body, "begin_time")
    begin_time = rfc3339_ms(parse_time(begin_raw, "begin_time")) if begin_raw else None
    limit_raw = body.get("limit")
    if limit_raw is not None and (isinstance(limit_raw, bool) or not isinstance(limit_raw, int)):
        raise bad_request("EXPECTED_INTEGER", "Expected an integer value for `limit`", "limit")
    limit = DEFAULT_LIMIT
    if isinstance(limit_raw, int) and 0 < limit_raw <= MAX_LIMIT:
        limit = limit_raw
    query = get_obj(body, "query") or {}
    for name in sorted(query):
        if name in _UNSUPPORTED_QUERIES and query[name] is not None:
            raise bad_request(
                "BAD_REQUEST", f"The emulator does not support `{name}`.", f"query.{name}"
            )
        if name not in _UNSUPPORTED_QUERIES and name not in ("exact_query", "set_query"):
            raise bad_request("BAD_REQUEST", f"Unknown query type `{name}`.", f"query.{name}")
    exact = get_obj(query, "exact_query", "query")
    set_query = get_obj(query, "set_query", "query")
    attribute: str | None = None
    values: frozenset[str] | None = None
    if set_query is not None:
        if exact is not None:
            raise bad_request(
                "BAD_REQUEST",
                "A set_query cannot be combined with other query types.",
                "query.set_query",
            )
        attribute = _attribute_name(set_query, "query.set_query")
        wanted = get_str_list(
            set_query,
            "attribute_values",
            "query.set_query",
            required=True,
            max_items=MAX_SET_VALUES,
        )
        assert wanted is not None
        values = frozenset(value.lower() for value in wanted)
    elif exact is not None:
        attribute = _attribute_name(exact, "query.exact_query")
        value = exact.get("attribute_value")
        if value is None:
            raise missing("query.exact_query.attribute_value")
        if not isinstance(value, str):
            raise bad_request(
                "EXPECTED_STRING",
                "Expected a string value for `query.exact_query.attribute_value`",
                "query.exact_query.attribute_value",
            )
        values = frozenset({value.lower()})
    return CatalogSearch(
        object_types=frozenset(types) if types else DEFAULT_OBJECT_TYPES,
        attribute=attribute,
        values=values,
        begin_time=begin_time,
        include_related=include_related,
        limit=limit,
        cursor=get_str(body, "cursor"),
    )


def related_objects(
    page: list[Record], lookup: Callable[[str], Record | None]
) -> list[Record]:
    """The parent ITEMs of the variations in ``page`` that the page does not hold itself."""
    present = {obj["id"] for obj in page}
    related: dict[str, Record] = {}
    for obj in page:
        if obj["type"] == "ITEM_VARIATION":
            parent_id = obj["item_variation_data"]["item_id"]
            parent = lookup(parent_id)
            if parent is not None and parent_id not in present:
                related.setdefault(parent_id, parent)
    return list(related.values())
