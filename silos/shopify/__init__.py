"""Emulated Shopify Admin API silo: REST (customers, orders, products, locations, inventory,
abandoned checkouts, draft orders) and a minimal Admin GraphQL endpoint (``graphql.json``:
orders and customers connections).

``create_app(store, config)`` serves ``/admin/api/{version}/...`` over a :class:`ShopifyStore`
(records in the vendor's JSON shape, filled through its ``create_*`` methods), wrapped in the
sandbox control API (``/_sandbox/...``).
"""

from __future__ import annotations

from .app import create_app
from .config import ShopifySiloConfig
from .errors import ShopifyNotFoundError, ShopifyValidationError
from .records import pickup_shipping_line
from .store import ShopifyStore

__all__ = [
    "ShopifyNotFoundError",
    "ShopifySiloConfig",
    "ShopifyStore",
    "ShopifyValidationError",
    "create_app",
    "pickup_shipping_line",
]
