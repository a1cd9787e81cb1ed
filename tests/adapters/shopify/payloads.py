"""Every Shopify vendor payload the adapter reads, with the function parsing it whole.

The coordinator's contract suite parametrizes over ``CASES`` (payload path, parser).
Inventory levels name inventory items, not SKUs: their SKUs come from the catalog payload of the
same documentation data set (``shopify/product.json``, whose items also stock the legacy levels),
as the adapter's SKU index provides them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.models import InventoryLevel
from adapters.shopify import parse
from tests.conftest import vendor_payload


def skus_by_item(product_payload: str = "shopify/product.json") -> dict[str, str]:
    """Inventory item id -> SKU from a product payload (what the adapter's SKU index holds)."""
    variants = parse.parse_product(vendor_payload(product_payload)["product"])
    return {v.inventory_item_id: v.sku for v in variants if v.inventory_item_id is not None}


def inventory_levels(payload: Any) -> list[InventoryLevel]:
    return parse.parse_inventory_levels(payload, sku_by_item=skus_by_item())


CASES: list[tuple[str, Callable[[Any], object]]] = [
    ("shopify/customer.json", lambda p: parse.parse_customer(p["customer"])),
    ("shopify/customers_list.json", parse.parse_customers),
    ("shopify/customers_search.json", parse.parse_customers),
    ("shopify/order.json", lambda p: parse.parse_order(p["order"])),
    ("shopify/orders_list.json", parse.parse_orders),
    ("shopify/product.json", lambda p: parse.parse_product(p["product"])),
    ("shopify/products_list.json", parse.parse_products),
    ("shopify/locations_list.json", parse.parse_locations),
    ("shopify/location.json", lambda p: parse.parse_location(p["location"])),
    ("shopify/inventory_levels_list.json", inventory_levels),
    ("shopify/location_inventory_levels.json", inventory_levels),
    ("shopify/checkouts_list.json", parse.parse_checkouts),
    ("shopify/draft_orders_list.json", parse.parse_draft_orders),
    ("shopify/draft_order_create.json", lambda p: parse.parse_draft_order(p["draft_order"])),
    ("shopify/draft_order_complete.json", lambda p: parse.parse_draft_order(p["draft_order"])),
    ("shopify/legacy/customer.json", lambda p: parse.parse_customer(p["customer"])),
    ("shopify/legacy/customers_list.json", parse.parse_customers),
    ("shopify/legacy/customers_search.json", parse.parse_customers),
    ("shopify/legacy/order.json", lambda p: parse.parse_order(p["order"])),
    ("shopify/legacy/orders_list.json", parse.parse_orders),
    ("shopify/legacy/product.json", lambda p: parse.parse_product(p["product"])),
    ("shopify/legacy/locations_list.json", parse.parse_locations),
    ("shopify/legacy/inventory_levels_list.json", inventory_levels),
]
