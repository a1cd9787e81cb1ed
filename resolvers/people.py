"""A person's profile, assembled live from their silo records by survivorship rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from strawberry.types import Info

from adapters.models import Address, Customer
from adapters.protocols import CustomerSource
from identity.normalize import Normalizer
from identity.registry import LinkedRecord
from resolvers.context import Context
from resolvers.sources import gather_sources

T = TypeVar("T")
FIELDS = ("name", "email", "phone", "address")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A value and where it came from."""

    value: T
    source: str
    record_id: str
    updated_at: datetime | None


class Survivorship:
    """Which record's value wins, per field: the configured source priority for that field
    (else the default priority), then the most recently updated record."""

    def __init__(self, default: Sequence[str], fields: Mapping[str, Sequence[str]]) -> None:
        self.default = list(default)
        self.fields = {k: list(v) for k, v in fields.items()}

    def order(self, field: str, values: list[Sourced[T]]) -> list[Sourced[T]]:
        priority = self.fields.get(field, self.default)

        def key(item: Sourced[T]) -> tuple[int, float]:
            rank = priority.index(item.source) if item.source in priority else len(priority)
            return rank, -(item.updated_at or _EPOCH).timestamp()

        return sorted(values, key=key)


async def linked_records(info: Info[Context, Any], golden_id: str) -> list[LinkedRecord]:
    records: list[LinkedRecord] = await info.context.loaders.registry_loader(
        "records_of").load(golden_id)
    return records


async def per_record(info: Info[Context, Any], golden_id: str, capability: type,
                     method: str) -> list[tuple[str, Any]]:
    """``method`` of each of the person's records whose source has ``capability``, through
    the request's loaders; (source, answer) for the sources that answered (failures are
    reported on the field)."""
    ctx = info.context
    capable = ctx.runtime.capable(capability)
    calls = [(r.source, ctx.loaders.loader(r.source, method).load(r.id))
             for r in await linked_records(info, golden_id) if r.source in capable]
    return await gather_sources(info, calls)


async def profiles(info: Info[Context, Any], golden_id: str) -> list[Customer]:
    """The person's customer records, read live from each silo (failures reported)."""
    found = await per_record(info, golden_id, CustomerSource, "customers_by_ids")
    return [customer for _, customer in found if customer is not None]


def _stamp(customer: Customer) -> datetime | None:
    return customer.updated_at or customer.created_at


def emails(found: list[Customer], normalizer: Normalizer,
           rules: Survivorship) -> list[Sourced[str]]:
    """Distinct mailboxes (by normalized form), best first; each shown as its record has it."""
    candidates = [Sourced(raw.strip(), c.source, c.id, _stamp(c)) for c in found
                  for raw in c.emails if normalizer.email(raw)]
    seen: set[str] = set()
    result = []
    for item in rules.order("email", candidates):
        key = normalizer.email(item.value) or ""
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def phones(found: list[Customer], normalizer: Normalizer,
           rules: Survivorship) -> list[Sourced[str]]:
    """Distinct phone numbers in E.164, best first."""
    candidates = []
    for c in found:
        region = c.country_code or next(
            (a.country_code for a in c.addresses if a.country_code), None)
        for raw in c.phones:
            e164 = normalizer.phone(raw, region)
            if e164:
                candidates.append(Sourced(e164, c.source, c.id, _stamp(c)))
    seen: set[str] = set()
    result = []
    for item in rules.order("phone", candidates):
        if item.value not in seen:
            seen.add(item.value)
            result.append(item)
    return result


def display_name(found: list[Customer], rules: Survivorship) -> Sourced[str] | None:
    candidates = []
    for c in found:
        name = " ".join(p.strip() for p in (c.first_name, c.last_name) if p and p.strip())
        if name:
            candidates.append(Sourced(name, c.source, c.id, _stamp(c)))
    ordered = rules.order("name", candidates)
    return ordered[0] if ordered else None


def addresses(found: list[Customer], rules: Survivorship) -> list[Sourced[Address]]:
    candidates = [Sourced(a, c.source, c.id, _stamp(c)) for c in found for a in c.addresses
                  if a.line1 or a.city]
    seen: set[tuple[str | None, ...]] = set()
    result = []
    for item in rules.order("address", candidates):
        a = item.value
        key = tuple((v or "").strip().lower() for v in (a.line1, a.city, a.postal_code,
                                                         a.country_code))
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result
