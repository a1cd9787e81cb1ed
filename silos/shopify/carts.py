"""Pure builders for the pieces of abandoned checkouts and draft orders.

An abandoned checkout (``checkouts.json``) and a draft order (``draft_orders.json``) carry their
own line item and shipping line shapes, unlike an order's: a checkout line has a ``key`` and a
``line_price``, a draft line a ``custom`` flag and an ``applied_discount``; a checkout shipping
line has a string ``id``, a draft order one ``shipping_line`` without id. The store fills these
from the catalog (see :meth:`ShopifyStore.create_checkout`,
:meth:`ShopifyStore.create_draft_order`).

The customer embedded in a checkout is a summary (no totals, consents or tags), as in the answer
to ``PUT draft_orders/{id}/complete.json``; the one embedded in a listed or fetched draft order is
the whole customer without its ``addresses``. Both are built when read, so they show the
customer as it is now.
"""

from __future__ import annotations

from typing import Any

from .records import MoneySets, Record, gid

SUMMARY_KEYS = (
    "id",
    "email",
    "created_at",
    "updated_at",
    "first_name",
    "last_name",
    "state",
    "note",
    "verified_email",
    "multipass_identifier",
    "tax_exempt",
    "currency",
    "phone",
    "tax_exemptions",
    "admin_graphql_api_id",
    "default_address",
)
DRAFT_STATUSES = frozenset({"open", "invoice_sent", "completed"})
CHECKOUT_STATUSES = frozenset({"open", "closed"})


def customer_summary(customer: Record) -> Record:
    """The customer summary a checkout (and the answer to completing a draft order) embeds."""
    return {key: customer[key] for key in SUMMARY_KEYS if key in customer}


def draft_customer(customer: Record) -> Record:
    """The customer a draft order embeds: every field but ``addresses``."""
    return {key: value for key, value in customer.items() if key != "addresses"}


def checkout_line(template: Record, *, key: str, price: str, line_price: str,
                  quantity: int, properties: Any) -> Record:
    """A checkout's ``line_items[]`` entry from a variant's order-line template (or a custom
    line's: ``variant_id``/``product_id`` None)."""
    return {
        "applied_discounts": [],
        "discount_allocations": [],
        "key": key,
        "destination_location_id": None,
        "fulfillment_service": template["fulfillment_service"],
        "gift_card": template["gift_card"],
        "grams": template["grams"],
        "origin_location_id": None,
        "presentment_title": template["title"],
        "presentment_variant_title": template["variant_title"],
        "product_id": template["product_id"],
        "properties": properties,
        "quantity": quantity,
        "requires_shipping": template["requires_shipping"],
        "sku": template["sku"],
        "tax_lines": [],
        "taxable": template["taxable"],
        "title": template["title"],
        "variant_id": template["variant_id"],
        "variant_title": template["variant_title"],
        "variant_price": None,
        "vendor": template["vendor"],
        "user_id": None,
        "unit_price_measurement": None,
        "rank": None,
        "compare_at_price": None,
        "line_price": line_price,
        "price": price,
    }


def checkout_shipping_line(*, line_id: str, title: str, price: str, code: str | None,
                           source: str | None) -> Record:
    """A checkout's ``shipping_lines[]`` entry (its ``id`` is a string)."""
    return {
        "code": code or title,
        "price": price,
        "original_shop_price": None,
        "original_rate_price": None,
        "original_shop_markup": None,
        "source": source or "shopify",
        "title": title,
        "presentment_title": None,
        "phone": None,
        "tax_lines": None,
        "custom_tax_lines": None,
        "markup": None,
        "delivery_category": None,
        "carrier_identifier": None,
        "carrier_service_id": None,
        "api_client_id": None,
        "requested_fulfillment_service_id": None,
        "applied_discounts": [],
        "delivery_option_group_type": None,
        "delivery_expectation_range": None,
        "delivery_expectation_type": None,
        "estimated_delivery_time_range": None,
        "id": line_id,
        "validation_context": None,
    }


def draft_line(template: Record, *, line_id: int, price: str, quantity: int,
               custom: bool, properties: Any) -> Record:
    """A draft order's ``line_items[]`` entry from a variant's order-line template (or a custom
    line's)."""
    return {
        "id": line_id,
        "variant_id": template["variant_id"],
        "product_id": template["product_id"],
        "title": template["title"],
        "variant_title": template["variant_title"],
        "sku": template["sku"],
        "vendor": template["vendor"],
        "quantity": quantity,
        "requires_shipping": template["requires_shipping"],
        "taxable": template["taxable"],
        "gift_card": template["gift_card"],
        "fulfillment_service": template["fulfillment_service"],
        "grams": template["grams"],
        "tax_lines": [],
        "applied_discount": None,
        "name": template["name"],
        "properties": properties if isinstance(properties, list) else [],
        "custom": custom,
        "price": price,
        "admin_graphql_api_id": gid("DraftOrderLineItem", line_id),
    }


def draft_money(money_set: MoneySets, *, items: int, discount: int, shipping: int, tax: int
                ) -> Record:
    """A draft order's amounts (strings and ``*_set`` objects), in cents in, for ``items``
    (line items total), ``discount`` (its ``applied_discount``), ``shipping`` and ``tax``."""
    subtotal = items - discount
    total = subtotal + shipping + tax
    return {
        "total_price": money_set.text(total),
        "subtotal_price": money_set.text(subtotal),
        "total_tax": money_set.text(tax),
        "total_line_items_price_set": money_set(items),
        "total_price_set": money_set(total),
        "subtotal_price_set": money_set(subtotal),
        "total_tax_set": money_set(tax),
        "total_discounts_set": money_set(discount),
        "total_shipping_price_set": money_set(shipping),
        "total_additional_fees_set": None,
        "total_duties_set": None,
        "amount_due_now_set": money_set(total),
        "amount_due_later_set": money_set(0),
    }
