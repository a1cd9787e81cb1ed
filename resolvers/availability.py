"""Stock per channel: what can be sold online, what each store holds, where a pickup can be
promised today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from strawberry.types import Info

from adapters.models import InventoryLevel, LocationKind
from adapters.protocols import CartSource
from resolvers import stores
from resolvers.context import Context

SAFETY_STOCK = Decimal(1)
"""Units a store keeps back from pickup promises (the last unit on a shelf is often damaged,
miscounted or in a walk-in customer's hands)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoreAvailability:
    place: stores.Place
    available: Decimal
    pickup: bool
    """A pickup of the asked quantity can be promised today."""
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Availability:
    online: Decimal
    """Sellable online: the sum over warehouses."""
    in_stores: Decimal
    stores: list[StoreAvailability]


def store_count(levels: list[InventoryLevel]) -> InventoryLevel:
    """One store's stock when several systems report it: the most recent count (a store's
    shelves are counted by its POS; an older figure from another system is stale)."""
    return max(levels, key=lambda lv: (lv.updated_at or _EPOCH, -lv.available))


def pickup_sources(info: Info[Context, Any]) -> frozenset[str]:
    """The sources that sell online (they hold online carts): a store takes pickups when it is
    one of their locations."""
    return info.context.runtime.capable(CartSource)


def summarize(stock: list[tuple[stores.Place, InventoryLevel]], online_sellers: frozenset[str],
              quantity: int) -> Availability:
    warehouses = Decimal(0)
    per_store: dict[str, tuple[stores.Place, list[InventoryLevel]]] = {}
    for place, level in stock:
        if place.kind is LocationKind.STORE:
            per_store.setdefault(place.id, (place, []))[1].append(level)
        else:
            warehouses += max(level.available, Decimal(0))
    found = []
    for place, levels in per_store.values():
        level = store_count(levels)
        available = max(level.available, Decimal(0))
        sells_online = any(source in online_sellers for source, _ in place.refs)
        found.append(StoreAvailability(
            place, available, sells_online and available - SAFETY_STOCK >= quantity,
            level.updated_at))
    found.sort(key=lambda s: (not s.pickup, -s.available, s.place.name))
    return Availability(warehouses, sum((s.available for s in found), Decimal(0)), found)


async def of_sku(info: Info[Context, Any], sku: str, quantity: int = 1) -> Availability:
    return summarize(await stores.stock(info, sku), pickup_sources(info), quantity)
