"""A small, fully populated shop for the tests (through the store's public create methods)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from silos.shopify import ShopifyStore, pickup_shipping_line

T0 = datetime(2025, 7, 2, 16, 25, 58, tzinfo=UTC)
TOKEN = "shpat_sandbox_token"
HEADERS = {"X-Shopify-Access-Token": TOKEN}
API = "/admin/api/2026-07"


@dataclass
class Shop:
    store: ShopifyStore
    warehouse: dict[str, Any]
    brooklyn: dict[str, Any]
    product: dict[str, Any]
    customers: list[dict[str, Any]]
    orders: list[dict[str, Any]]


def location_body(name: str, city: str, phone: str | None = None) -> dict[str, Any]:
    return {
        "location": {
            "name": name,
            "address1": "50 Rideau Street",
            "address2": "",
            "city": city,
            "zip": "11201",
            "province": "New York",
            "province_code": "NY",
            "country_code": "US",
            "phone": phone,
            "active": True,
        }
    }


def customer_body(n: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Bob",
        "last_name": f"Norman{n}",
        "email": f"bob.norman{n}@mail.example.com",
        "phone": f"(613) 612-{n:04d}",
        "tags": "Léon, Noël",
        "note": None,
        "verified_email": True,
        "addresses": [
            {
                "address1": "Chestnut Street 92",
                "city": "Ottawa",
                "province": "Ontario",
                "province_code": "ON",
                "zip": "K1N 9J7",
                "country": "Canada",
                "country_code": "CA",
                "phone": "555-625-1199",
                "first_name": "Bob",
                "last_name": f"Norman{n}",
            }
        ],
    }
    body.update(extra)
    return {"customer": body}


ADDRESS = {
    "first_name": "Bob",
    "last_name": "Norman",
    "address1": "Chestnut Street 92",
    "phone": "+1(502)-459-2181",
    "city": "Louisville",
    "zip": "40202",
    "province": "Kentucky",
    "country_code": "US",
    "province_code": "KY",
}


def build_shop(customers: int = 3, orders_per_customer: int = 2, seed: int = 0) -> Shop:
    store = ShopifyStore(seed=seed)
    warehouse = store.create_location(location_body("Newark Warehouse", "Newark"), at=T0)
    brooklyn = store.create_location(
        location_body("Brooklyn Store", "Brooklyn", "+17185550100"), at=T0
    )
    product = store.create_product(
        {
            "product": {
                "title": "IPod Nano - 8gb",
                "vendor": "Apple",
                "product_type": "Cult Products",
                "tags": "Emotive, Flash Memory, MP3, Music",
                "body_html": "<p>It's the small iPod.</p>",
                "variants": [
                    {
                        "title": "green",
                        "sku": "IPOD2008GREEN",
                        "price": "199.00",
                        "option1": "green",
                        "grams": 200,
                    },
                    {
                        "title": "red",
                        "sku": "IPOD2008RED",
                        "price": "199.00",
                        "option1": "red",
                        "grams": 200,
                    },
                    {
                        "title": "black",
                        "sku": "IPOD2008BLACK",
                        "price": "199.00",
                        "option1": "black",
                        "grams": 200,
                    },
                ],
            }
        },
        at=T0,
    )
    for variant in product["variants"]:
        for location, available in ((warehouse, 30), (brooklyn, 3)):
            store.set_inventory_level(
                {
                    "location_id": location["id"],
                    "inventory_item_id": variant["inventory_item_id"],
                    "available": available,
                },
                at=T0,
            )
    made_customers = []
    made_orders = []
    moment = T0
    for n in range(customers):
        moment += timedelta(minutes=1)
        customer = store.create_customer(customer_body(n), at=moment)
        made_customers.append(customer)
        for k in range(orders_per_customer):
            moment += timedelta(minutes=1)
            pickup = k % 2 == 1
            shipping = (
                pickup_shipping_line(brooklyn)
                if pickup
                else {"title": "Standard Shipping", "code": "STANDARD", "price": "5.00"}
            )
            order = store.create_order(
                {
                    "order": {
                        "customer": {"id": customer["id"]},
                        "line_items": [
                            {"variant_id": product["variants"][k % 3]["id"], "quantity": 1}
                        ],
                        "financial_status": "paid",
                        "shipping_address": ADDRESS,
                        "billing_address": ADDRESS,
                        "shipping_lines": [shipping],
                        "source_name": "web",
                    }
                },
                at=moment,
            )
            made_orders.append(order)
    return Shop(store, warehouse, brooklyn, product, made_customers, made_orders)


def rich_order(shop: Shop) -> dict[str, Any]:
    """An order using every nested kind: discount, taxes, fulfillment, refund, shipping."""
    store = shop.store
    customer = shop.customers[0]
    variants = shop.product["variants"]
    order = store.create_order(
        {
            "order": {
                "customer": {"id": customer["id"]},
                "email": customer["email"],
                "phone": "+557734881234",
                "line_items": [
                    {
                        "variant_id": variants[0]["id"],
                        "quantity": 1,
                        "properties": [{"name": "Custom Engraving Front", "value": "Hi"}],
                    },
                    {"variant_id": variants[1]["id"], "quantity": 1},
                    {"variant_id": variants[2]["id"], "quantity": 1},
                ],
                "discount_codes": [{"code": "TENOFF", "amount": "10.00", "type": "fixed_amount"}],
                "tax_lines": [{"title": "State Tax", "rate": 0.06}],
                "shipping_lines": [{"title": "Free Shipping", "price": "0.00"}],
                "shipping_address": ADDRESS,
                "billing_address": ADDRESS,
                "note_attributes": [{"name": "colour", "value": "green"}],
                "tags": "",
            }
        },
        at=T0 + timedelta(days=1),
    )
    line_ids = [line["id"] for line in order["line_items"]]
    store.create_fulfillment(
        order["id"],
        {
            "fulfillment": {
                "location_id": shop.warehouse["id"],
                "tracking_company": "USPS",
                "tracking_number": "1Z1234512345123456",
                "tracking_url": "https://tools.usps.com/go/TrackConfirmAction?tLabels=1Z1",
                "line_items": [{"id": line_ids[0]}],
            }
        },
        at=T0 + timedelta(days=2),
    )
    store.create_refund(
        order["id"],
        {
            "refund": {
                "note": "it broke during shipping",
                "refund_line_items": [
                    {
                        "line_item_id": line_ids[0],
                        "quantity": 1,
                        "restock_type": "return",
                        "location_id": shop.warehouse["id"],
                    },
                    {"line_item_id": line_ids[2], "quantity": 1, "restock_type": "no_restock"},
                ],
            }
        },
        at=T0 + timedelta(days=3),
    )
    return order


INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class FakeClock:
    """A monotonic clock the test moves by hand (the silo's leaky buckets read it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
