"""Shopify Admin adapter: customers, orders (native local pickup, returns), catalog,
inventory and locations, over one shop's ``/admin/api/{version}/`` REST endpoints (and its Admin
GraphQL endpoint for the order ids of many customers at once)."""

from __future__ import annotations

from .adapter import SharedTtlValue, ShopifyAdapter
from .config import ShopifyConfig

__all__ = ["SharedTtlValue", "ShopifyAdapter", "ShopifyConfig"]
