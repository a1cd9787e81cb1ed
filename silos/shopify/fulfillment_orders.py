"""Pure builders of fulfillment order records (``GET orders/{id}/fulfillment_orders.json``).

A fulfillment order groups the units of an order that one location fulfils. The emulated shop
gives every order one, created with the order (materialised on first use, see
:meth:`~.store.ShopifyStore.fulfillment_order_ids`), assigned to the pickup location for a
native local-pickup order (``delivery_method.method_type`` ``pick_up``), else to the order's
``location_id`` or the shop's first location (``shipping``).

Status (derived from the order, as Shopify moves it):

* ``closed`` once nothing is left to fulfil (everything fulfilled or refunded) or the order was
  cancelled (unverified: Shopify may answer ``cancelled`` there);
* ``in_progress`` once its line items were prepared for pickup
  (``fulfillmentOrderLineItemsPreparedForPickup``; the order's display fulfillment status is
  documented as IN_PROGRESS when every item was marked as in progress; unverified for pickup);
* ``open`` otherwise.
"""

from __future__ import annotations

from typing import Any

from .records import Record

PICK_UP = "pick_up"
SHIPPING = "shipping"
ACTIONS = {
    "open": ["create_fulfillment", "hold", "move"],
    "in_progress": ["create_fulfillment"],
    "closed": [],
}


def fulfillable(order: Record, line: Record) -> int:
    """Units of ``line`` still to fulfil (neither fulfilled nor refunded)."""
    return max(0, min(int(line["fulfillable_quantity"]), int(line["current_quantity"])))


def status(state: Record, order: Record) -> str:
    """``open`` | ``in_progress`` | ``closed`` (see the module docstring)."""
    if order["cancelled_at"] is not None:
        return "closed"
    if not any(fulfillable(order, line) for line in order["line_items"]):
        return "closed"
    return "in_progress" if state["prepared"] else "open"


def destination(order: Record) -> Record | None:
    """Where a shipped fulfillment order goes (none for a pickup)."""
    address = order.get("shipping_address")
    if not address:
        return None
    return {
        "id": state_id(order),
        "address1": address.get("address1"),
        "address2": address.get("address2"),
        "city": address.get("city"),
        "company": address.get("company"),
        "country": address.get("country"),
        "email": order.get("email") or None,
        "first_name": address.get("first_name"),
        "last_name": address.get("last_name"),
        "phone": address.get("phone"),
        "province": address.get("province"),
        "zip": address.get("zip"),
    }


def state_id(order: Record) -> int:
    """A stable id for an order's destination record (derived from the order id)."""
    return int(order["id"]) + 1


def assigned_location(location: Record) -> Record:
    return {
        "address1": location.get("address1"),
        "address2": location.get("address2"),
        "city": location.get("city"),
        "country_code": location.get("country_code"),
        "location_id": location["id"],
        "name": location["name"],
        "phone": location.get("phone"),
        "province": location.get("province"),
        "zip": location.get("zip"),
    }


def view(state: Record, order: Record, location: Record, shop_id: int,
         variants: dict[int, Record]) -> Record:
    """The fulfillment order as REST answers it."""
    fo_id = state["id"]
    lines: list[Record] = []
    for line in order["line_items"]:
        variant_id = line.get("variant_id")
        variant: dict[str, Any] | None = variants.get(variant_id) if variant_id else None
        lines.append({
            "id": state["lines"][line["id"]],
            "shop_id": shop_id,
            "fulfillment_order_id": fo_id,
            "quantity": int(line["current_quantity"]),
            "line_item_id": line["id"],
            "inventory_item_id": None if variant is None else variant["inventory_item_id"],
            "fulfillable_quantity": fulfillable(order, line),
            "variant_id": variant_id,
        })
    current = status(state, order)
    pickup = state["method_type"] == PICK_UP
    return {
        "id": fo_id,
        "created_at": state["created_at"],
        "updated_at": state["updated_at"],
        "shop_id": shop_id,
        "order_id": order["id"],
        "assigned_location_id": location["id"],
        "request_status": "unsubmitted",
        "status": current,
        "fulfill_at": None,
        "fulfill_by": None,
        "supported_actions": list(ACTIONS[current]),
        "destination": None if pickup else destination(order),
        "line_items": lines,
        "international_duties": None,
        "fulfillment_holds": [],
        "delivery_method": {
            "id": state["delivery_method_id"],
            "method_type": state["method_type"],
            "min_delivery_date_time": None,
            "max_delivery_date_time": None,
        },
        "assigned_location": assigned_location(location),
        "merchant_requests": [],
    }
