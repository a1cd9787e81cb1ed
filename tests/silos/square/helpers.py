"""Builders of Square request bodies and an HTTP client for the Square silo tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.types import ASGIApp

from silos.square import SquareSiloConfig, SquareStore

TOKEN = "EAAAtest-token"
CONFIG = SquareSiloConfig(access_token=TOKEN)
AUTH = {"Authorization": f"Bearer {TOKEN}", "Square-Version": "2025-01-23"}
BASE_URL = "https://connect.squareupsandbox.com"
T0 = datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def client(app: ASGIApp, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        headers=AUTH if headers is None else headers,
    )


def location_body(name: str = "Grant Park", **extra: Any) -> dict[str, Any]:
    return {
        "location": {
            "name": name,
            "address": {
                "address_line_1": "123 Main St",
                "locality": "San Francisco",
                "administrative_district_level_1": "CA",
                "postal_code": "94114",
                "country": "US",
            },
            "coordinates": {"latitude": 37.7749, "longitude": -122.4194},
            "timezone": "America/Los_Angeles",
            "phone_number": "+1 650-354-7217",
            "business_name": "Jet Fuel Coffee",
            **extra,
        }
    }


def item_body(
    key: str, name: str, variations: list[tuple[str, str, int]], **item_data: Any
) -> dict[str, Any]:
    """An ITEM upsert with ``(variation name, sku, price)`` variations."""
    return {
        "idempotency_key": key,
        "object": {
            "type": "ITEM",
            "id": f"#{name}",
            "item_data": {
                "name": name,
                **item_data,
                "variations": [
                    {
                        "type": "ITEM_VARIATION",
                        "id": f"#{name}-{variation}",
                        "item_variation_data": {
                            "name": variation,
                            "sku": sku,
                            "pricing_type": "FIXED_PRICING",
                            "price_money": {"amount": price, "currency": "USD"},
                        },
                    }
                    for variation, sku, price in variations
                ],
            },
        },
    }


def customer_body(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "given_name": f"Given{index:03d}",
        "family_name": f"Family{index:03d}",
        "email_address": f"person{index}@example.com",
        "phone_number": f"+1-212-555-{index:04d}",
        "reference_id": f"REF-{index}",
        "address": {
            "address_line_1": "500 Electric Ave",
            "address_line_2": "Suite 600",
            "locality": "New York",
            "administrative_district_level_1": "NY",
            "postal_code": "10003",
            "country": "US",
        },
        "note": "a customer",
        **extra,
    }


class Seeded:
    """A store with two locations, a two-variation item and a few customers."""

    def __init__(self, customers: int = 3) -> None:
        self.store = SquareStore(seed=11)
        self.location = self.store.create_location(location_body(), at=T0)
        self.other_location = self.store.create_location(
            location_body("Midtown", description="Midtown Atlanta store", mcc="7299"), at=T0
        )
        item = self.store.upsert_catalog_object(
            item_body("item-1", "Coffee", [("Regular", "COF-R", 250), ("Large", "COF-L", 350)]),
            at=T0,
        )["catalog_object"]
        self.item = item
        self.regular, self.large = (v["id"] for v in item["item_data"]["variations"])
        self.customers = [
            self.store.create_customer(customer_body(i), at=T0 + timedelta(minutes=i))
            for i in range(customers)
        ]

    def sale(self, index: int, **order: Any) -> dict[str, Any]:
        body = {
            "idempotency_key": f"sale-{index}",
            "order": {
                "location_id": self.location["id"],
                "line_items": [
                    {"catalog_object_id": self.regular, "quantity": "2"},
                    {
                        "name": "Gift wrap",
                        "quantity": "1",
                        "base_price_money": {"amount": 199, "currency": "USD"},
                    },
                ],
                **order,
            },
        }
        return self.store.create_order(body, at=T0 + timedelta(hours=index))
