"""The real Square payloads the adapter reads, each with the function parsing it whole.

``batch_retrieve_orders_response.json`` is left out: that spec example is abridged (no
``created_at``, no ``state``), which the adapter rejects as a bad response (see test_parse).
``search_orders_response.json`` is the ``return_entries`` form, which the adapter never asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.square import parse

CTX = parse.Context(
    source="square", references={"reference_id": "loyalty"}, return_reference_source="shopify"
)

CASES: list[tuple[str, Callable[[Any], object]]] = [
    ("square/retrieve_customer_response.json", lambda p: parse.customer(p["customer"], CTX)),
    ("square/search_customers_response.json", lambda p: parse.customers_page(p, CTX)[0]),
    ("square/list_customers_response.json", lambda p: parse.customers_page(p, CTX)[0]),
    ("square/bulk_retrieve_customers_response.json",
     lambda p: list(parse.bulk_customers(p, CTX).values())),
    ("square/retrieve_order_response.json", lambda p: parse.orders([p["order"]], CTX)),
    ("square/create_order_response.json", lambda p: parse.orders([p["order"]], CTX)),
    ("square/pay_order_response.json", lambda p: parse.orders([p["order"]], CTX)),
    ("square/create_payment_link_response.json",
     lambda p: parse.orders(p["related_resources"]["orders"], CTX)),
    ("square/list_locations_response.json", lambda p: parse.locations(p, CTX)),
    ("square/batch_retrieve_inventory_counts_response.json",
     lambda p: parse.inventory_counts(p)[0]),
    ("square/batch_retrieve_catalog_objects_response.json", parse.catalog_skus),
]
