"""Locations as the gateway shows them: a physical store is one location, whatever number of
silos know it (the ``[[stores]]`` mapping); warehouses and other places stay per source."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from strawberry.types import Info

from adapters.models import Address, GeoPoint, InventoryLevel, Location, LocationKind
from adapters.protocols import InventorySource, LocationSource
from resolvers.context import Context
from resolvers.ids import to_global
from resolvers.sources import gather_sources

LOCATIONS_TTL_S = 60.0


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    name: str
    kind: LocationKind
    address: Address | None
    geo: GeoPoint | None
    code: str | None
    refs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LocationIndex:
    places: tuple[Place, ...]
    by_ref: dict[tuple[str, str], Place]
    by_id: dict[str, Place]
    complete: bool


def build_index(stores: Any, found: dict[str, list[Location]], complete: bool) -> LocationIndex:
    by_ref: dict[tuple[str, str], Place] = {}
    places: list[Place] = []
    source_locations = {(s, loc.id): loc for s, locs in found.items() for loc in locs}
    for store in stores:
        refs = tuple(sorted(store.locations.items()))
        known = [source_locations[r] for r in refs if r in source_locations]
        with_geo = next((loc for loc in known if loc.geo), None)
        first = with_geo or (known[0] if known else None)
        place = Place(f"store:{store.code}", store.name, LocationKind.STORE,
                      first.address if first else None, with_geo.geo if with_geo else None,
                      store.code, refs)
        places.append(place)
        by_ref.update({r: place for r in refs})
    for (source, location_id), loc in sorted(source_locations.items()):
        if (source, location_id) in by_ref:
            continue
        place = Place(to_global("Location", source, location_id), loc.name, loc.location_kind,
                      loc.address, loc.geo, None, ((source, location_id),))
        places.append(place)
        by_ref[(source, location_id)] = place
    return LocationIndex(tuple(places), by_ref, {p.id: p for p in places}, complete)


async def location_index(info: Info[Context, Any]) -> LocationIndex:
    """Every location of every source, cached per process for a minute when complete."""
    runtime = info.context.runtime
    cached = runtime.memo.get("locations")
    if cached is not None and cached[0] > time.monotonic():
        index: LocationIndex = cached[1]
        return index
    adapters: list[tuple[str, LocationSource]] = [
        (n, runtime.adapters[n]) for n in sorted(runtime.capable(LocationSource))]  # type: ignore[misc]
    found = await gather_sources(info, [(n, a.locations()) for n, a in adapters])
    index = build_index(runtime.config.stores, dict(found), len(found) == len(adapters))
    if index.complete:
        runtime.memo["locations"] = (time.monotonic() + LOCATIONS_TTL_S, index)
    return index


def place_for(index: LocationIndex, source: str, location_id: str | None) -> Place | None:
    if location_id is None:
        return None
    return index.by_ref.get((source, location_id))


async def stock(info: Info[Context, Any], sku: str) -> list[tuple[Place, InventoryLevel]]:
    """Stock of one SKU at every location of every inventory source."""
    ctx = info.context
    calls = [(name, ctx.loaders.loader(name, "inventory_by_skus").load(sku))
             for name in sorted(ctx.runtime.capable(InventorySource))]
    found = await gather_sources(info, calls)
    index = await location_index(info)
    result = []
    for source, levels in found:
        for level in levels:
            place = place_for(index, source, level.location_id) or Place(
                to_global("Location", source, level.location_id), level.location_id,
                LocationKind.WAREHOUSE, None, None, None, ((source, level.location_id),))
            result.append((place, level))
    return result


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlng = lat2 - lat1, math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))
