"""Shopify Admin REST adapter: customers, orders (native local pickup, returns), catalog,
inventory and locations, over one shop's ``/admin/api/{version}/`` endpoints."""

from __future__ import annotations

from .adapter import SharedTtlValue, ShopifyAdapter
from .config import ShopifyConfig

__all__ = ["SharedTtlValue", "ShopifyAdapter", "ShopifyConfig"]
