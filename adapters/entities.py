"""The entity cache in front of the adapters' batch reads, with stale-if-error.

A request's DataLoaders (:mod:`resolvers.loaders`) ask :meth:`EntityCache.batch` to wrap the
batch methods in :data:`CACHEABLE`. For each key of a batch:

- a value stored less than the source's ``ttl_s`` ago is served without calling the source
  (a *hit*; ``ttl_s = 0``, the default, always calls the source);
- otherwise the source is called for the keys left (a *miss*), and what it answers is stored
  (with ``ttl_s = 0`` the store is read only when the source fails: nothing added to the path
  of a call that succeeds but that write);
- when that call fails (timeout, 5xx, refused connection, an open breaker, a garbage answer, the
  request's budget about to run out), a value stored less than ``stale_if_error_s`` ago is
  served instead (a *stale* serve), and the request's stale sink is told its source and age:
  the answer says so in ``extensions.stale``. The keys with no such value fail as before.

A write through the gateway evicts what it changed (:meth:`EntityCache.install_eviction`): the
order, ticket or ledger it wrote, and the lists of its customer. Where the store is shared
(Redis), that is every worker's cache.

Values live in an :class:`EntityStore`: :class:`MemoryEntityStore` in process by default;
:class:`gateway.cache.RedisEntityStore` on Redis, with hashed keys and encrypted values.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Protocol

from adapters.errors import UpstreamError, UpstreamRejected, UpstreamTimeout
from adapters.http import CALL_DEADLINE
from adapters.models import (
    Customer,
    LedgerEntry,
    Order,
    OrderReturn,
    OrderSummary,
    Ticket,
    TicketComment,
    Variant,
)

log = logging.getLogger("c360.cache")

CACHEABLE: dict[str, Any] = {
    "customers_by_ids": Customer | None,
    "orders_by_customer_ids": list[Order],
    "order_summaries_by_customer_ids": list[OrderSummary],
    "orders_by_ids": Order | None,
    "tickets_by_requester_ids": list[Ticket],
    "tickets_by_ids": Ticket | None,
    "comments_by_ticket_ids": list[TicketComment],
    "variants_by_skus": Variant | None,
    "ledger_by_member_ids": list[LedgerEntry],
}
"""The batch reads the cache fronts, and the type of one key's value. Inventory, carts and the
loyalty accounts (balances) are always read live; locations are kept by their adapters."""

PERSONAL = frozenset(CACHEABLE) - {"variants_by_skus"}
"""The reads whose values carry personal data (the ``sensitive`` default)."""

STALE_MARGIN_S = 0.05
"""The source's call is cut this long before the request's budget runs out, so stale values
can still be served in time."""

Entry = tuple[float, Any]
"""(stored at, epoch seconds; the value)."""

StaleSink = Callable[[Any, str, float], None]
"""Told (value, source, age in seconds) for each value served stale."""

Listener = Callable[[str, str, str, int], None]
"""Told (source, method, ``hit``/``miss``/``stale``, keys) for each batch (metrics)."""


class EntityStore(Protocol):
    """Where cached values live (extension point). Failures are the store's to absorb: a store
    that cannot be reached answers nothing found and stores nothing."""

    async def get_many(self, source: str, method: str, keys: Sequence[str]
                       ) -> list[Entry | None]: ...

    async def put_many(self, source: str, method: str, items: Sequence[tuple[str, Any]],
                       stored_at: float, keep_s: float) -> None: ...

    async def evict(self, items: Sequence[tuple[str, str, str]]) -> None:
        """Drop (source, method, key) entries."""


class MemoryEntityStore:
    """This process's entries, least recently used dropped past ``max_entries``. Lists are
    copied out: a caller that changes what it got does not change the cache."""

    def __init__(self, max_entries: int = 20_000, clock: Callable[[], float] = time.time
                 ) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[tuple[str, str, str], tuple[float, float, Any]] = \
            OrderedDict()

    async def get_many(self, source: str, method: str, keys: Sequence[str]
                       ) -> list[Entry | None]:
        now = self.clock()
        found: list[Entry | None] = []
        items = self._items
        for key in keys:
            item = items.get((source, method, key))
            if item is None:
                found.append(None)
            elif item[0] < now:
                del items[(source, method, key)]
                found.append(None)
            else:
                items.move_to_end((source, method, key))
                value = item[2]
                found.append((item[1], copy.copy(value) if isinstance(value, list) else value))
        return found

    async def put_many(self, source: str, method: str, items: Sequence[tuple[str, Any]],
                       stored_at: float, keep_s: float) -> None:
        expires = stored_at + keep_s
        for key, value in items:
            self._items[(source, method, key)] = (
                expires, stored_at, copy.copy(value) if isinstance(value, list) else value)
            self._items.move_to_end((source, method, key))
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    async def evict(self, items: Sequence[tuple[str, str, str]]) -> None:
        for item in items:
            self._items.pop(item, None)


@dataclass(frozen=True)
class CachePolicy:
    ttl_s: float = 0.0
    """Served without calling the source for this long (0: always call it)."""
    stale_if_error_s: float = 86_400.0
    """Served, marked stale, when the source fails, up to this old (0: never)."""


@dataclass
class EntityCache:
    """Wraps batch reads (module doc); one per process, shared by its requests."""

    store: EntityStore
    default: CachePolicy = field(default_factory=CachePolicy)
    sources: Mapping[str, CachePolicy] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    listener: Listener | None = None

    def policy(self, source: str) -> CachePolicy:
        return self.sources.get(source, self.default)

    def fronts(self, source: str, method: str) -> bool:
        policy = self.policy(source)
        return method in CACHEABLE and (policy.ttl_s > 0 or policy.stale_if_error_s > 0)

    def batch(self, source: str, method: str,
              fn: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]], sink: StaleSink
              ) -> Callable[[Sequence[Any]], Awaitable[list[Any]]]:
        """``fn`` (a batch method of ``source``) behind the cache; per key, a value or the
        error the source failed with (DataLoader raises it for that key alone)."""
        policy = self.policy(source)
        store, clock, listener = self.store, self.clock, self.listener
        keep_s = max(policy.ttl_s, policy.stale_if_error_s)

        async def load(keys: Sequence[Any]) -> list[Any]:
            names = [str(k) for k in keys]
            values: list[Any] = [None] * len(keys)
            missing = list(range(len(keys)))
            entries: list[Entry | None] | None = None
            if policy.ttl_s > 0:  # else the store is read only if the source fails
                entries = await store.get_many(source, method, names)
                now = clock()
                missing = []
                for i, entry in enumerate(entries):
                    if entry is not None and now - entry[0] < policy.ttl_s:
                        values[i] = entry[1]
                    else:
                        missing.append(i)
                if listener is not None and len(missing) < len(keys):
                    listener(source, method, "hit", len(keys) - len(missing))
                if not missing:
                    return values
            if listener is not None:
                listener(source, method, "miss", len(missing))
            try:
                call = fn([keys[i] for i in missing])
                fetched = await (_before_deadline(source, call) if policy.stale_if_error_s > 0
                                 else call)
            except UpstreamError as exc:
                if isinstance(exc, UpstreamRejected) or policy.stale_if_error_s <= 0:
                    raise
                fallback = [entries[i] for i in missing] if entries is not None else \
                    await store.get_many(source, method, [names[i] for i in missing])
                now = clock()
                served = 0
                for i, entry in zip(missing, fallback, strict=True):
                    if entry is not None and now - entry[0] <= policy.stale_if_error_s:
                        values[i] = entry[1]
                        served += 1
                        if entry[1] is not None:
                            sink(entry[1], source, max(now - entry[0], 0.0))
                    else:
                        values[i] = exc
                if not served:
                    raise
                if listener is not None:
                    listener(source, method, "stale", served)
                return values
            stored = []
            for i, value in zip(missing, fetched, strict=True):
                values[i] = value
                if value is not None:
                    stored.append((names[i], value))
            if stored:
                await store.put_many(source, method, stored, clock(), keep_s)
            return values

        return load

    async def evict(self, items: Sequence[tuple[str, str, str]]) -> None:
        try:
            await self.store.evict(items)
        except Exception as exc:  # noqa: BLE001 - the write succeeded; the TTL bounds the rest
            log.warning("cache: eviction failed (%s)", type(exc).__name__)

    async def written(self, source: str, method: str, args: Sequence[Any], result: Any
                      ) -> None:
        """Evict what a write (``method`` of ``source`` with ``args``) changed."""
        items: list[tuple[str, str, str]] = []
        if isinstance(result, Order):
            items += _order(source, result.id, result.customer_id)
            if result.return_of is not None:
                items.append((result.return_of.source, "orders_by_ids", result.return_of.id))
        elif isinstance(result, OrderReturn) and args:
            order_id = getattr(args[0], "order_id", None)
            if isinstance(order_id, str):
                [entry] = await self.store.get_many(source, "orders_by_ids", [order_id])
                customer = entry[1].customer_id if entry is not None and isinstance(
                    entry[1], Order) else None
                items += _order(source, order_id, customer)
        elif isinstance(result, Ticket):
            items += [(source, "tickets_by_ids", result.id),
                      (source, "comments_by_ticket_ids", result.id),
                      (source, "tickets_by_requester_ids", result.requester_id)]
        elif isinstance(result, LedgerEntry):
            items.append((source, "ledger_by_member_ids", str(result.member_id)))
        if items:
            await self.evict(items)

    def install_eviction(self, adapter: Any) -> None:
        """Make ``adapter``'s writes (:data:`WRITES`) evict what they changed: each is
        replaced, on this instance, by one that evicts after the write returns."""
        source = adapter.source
        for method in WRITES:
            original = getattr(adapter, method, None)
            if original is not None:
                setattr(adapter, method, self._evicting(source, method, original))

    def _evicting(self, source: str, method: str, write: Callable[..., Awaitable[Any]]
                  ) -> Callable[..., Awaitable[Any]]:
        @wraps(write)
        async def evicting(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await write(*args, **kwargs)
            except BaseException:
                if args and isinstance(args[0], str) and method in _BY_ID:
                    await self.evict([(source, _BY_ID[method], args[0])])
                raise
            await self.written(source, method, args, result)
            return result

        return evicting


WRITES = ("create_order", "cancel_order", "mark_ready_for_pickup", "complete_pickup",
          "create_refund", "complete_draft_order", "create_store_order", "update_store_order",
          "create_store_return", "create_ticket", "add_comment", "set_status", "post_points")
"""The write methods (:mod:`adapters.protocols`) whose results name what they changed."""

_BY_ID = {"cancel_order": "orders_by_ids", "mark_ready_for_pickup": "orders_by_ids",
          "complete_pickup": "orders_by_ids", "update_store_order": "orders_by_ids",
          "add_comment": "tickets_by_ids", "set_status": "tickets_by_ids"}
"""Writes whose first argument is the record's id: evicted even when the write's outcome is
unknown (it failed after it was sent)."""


def _order(source: str, order_id: str, customer_id: str | None
           ) -> list[tuple[str, str, str]]:
    items = [(source, "orders_by_ids", order_id)]
    if customer_id is not None:
        items += [(source, "orders_by_customer_ids", customer_id),
                  (source, "order_summaries_by_customer_ids", customer_id)]
    return items


async def _before_deadline(source: str, call: Awaitable[Sequence[Any]]) -> Sequence[Any]:
    deadline = CALL_DEADLINE.get()
    if deadline is None:
        return await call
    try:
        async with asyncio.timeout_at(deadline - STALE_MARGIN_S):
            return await call
    except TimeoutError as exc:
        raise UpstreamTimeout(source, "request time budget about to run out") from exc
