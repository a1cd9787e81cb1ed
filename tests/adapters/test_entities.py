"""The entity cache over its stores (in process, on Redis): fresh hits, stale-if-error,
eviction by writes; on Redis, no key or personal value in clear."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from adapters.codec import decode, encode
from adapters.entities import CachePolicy, EntityCache, EntityStore, MemoryEntityStore
from adapters.errors import UpstreamRejected, UpstreamUnavailable
from adapters.models import (
    Address,
    Channel,
    Customer,
    Fulfillment,
    FulfillmentType,
    Money,
    Order,
    OrderLine,
    SourceRef,
    Ticket,
)

pytestmark = pytest.mark.anyio
KEY = b"k" * 32
EMAIL = "ana.garcia@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def order(order_id: str, customer: str = "c1", status: str = "open") -> Order:
    money = Money(Decimal("19.90"), "EUR")
    return Order(
        source="shopify", kind="shopify", id=order_id, number=f"#{order_id}",
        channel=Channel.WEB, customer_id=customer,
        placed_at=datetime(2026, 11, 2, 10, 30, tzinfo=UTC), updated_at=None, status=status,
        total=money, lines=(OrderLine("SKU-1", "Camiseta", Decimal("2"), money, money),),
        fulfillments=(Fulfillment(FulfillmentType.PICKUP, "ready", location_id="7"),),
        return_of=SourceRef("square", "R1"))


def customer(customer_id: str) -> Customer:
    return Customer(source="shopify", kind="shopify", id=customer_id, first_name="Ana",
                    last_name="García", emails=(EMAIL,), phones=("+34600000000",),
                    addresses=(Address(city="Barcelona", country_code="ES"),))


class Source:
    """A batch read that counts its calls and can be made to fail."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []
        self.failing: Exception | None = None

    async def __call__(self, keys: Sequence[str]) -> list[Any]:
        self.calls.append(list(keys))
        if self.failing is not None:
            raise self.failing
        return [self.answers.get(k) for k in keys]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[tuple[EntityStore, Clock]]:
    clock = Clock()
    if request.param == "memory":
        yield MemoryEntityStore(clock=clock), clock
        return
    from redis.asyncio import Redis

    from gateway.cache import RedisEntityStore

    client = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisEntityStore(client, encryption_key=KEY), clock
    await client.aclose()


def cache(store: EntityStore, clock: Clock, **policy: float) -> EntityCache:
    return EntityCache(store, CachePolicy(**policy), clock=clock)


async def test_a_fresh_value_is_served_without_calling_the_source(
        store: tuple[EntityStore, Clock]) -> None:
    found, clock = store
    source = Source({"1": order("1"), "2": order("2")})
    counted: list[tuple[str, int]] = []
    entities = cache(found, clock, ttl_s=30)
    entities.listener = lambda s, m, result, n: counted.append((result, n))
    load = entities.batch("shopify", "orders_by_ids", source, lambda *a: None)
    assert await load(["1", "2"]) == [order("1"), order("2")]
    assert await load(["1", "2", "3"]) == [order("1"), order("2"), None]
    assert source.calls == [["1", "2"], ["3"]]
    clock.now += 31
    await load(["1"])
    assert source.calls[-1] == ["1"]
    assert counted == [("miss", 2), ("hit", 2), ("miss", 1), ("miss", 1)]


async def test_when_the_source_fails_a_stored_value_is_served_stale(
        store: tuple[EntityStore, Clock]) -> None:
    found, clock = store
    source = Source({"c1": [order("1")], "c2": [order("2", "c2")]})
    stale: list[tuple[Any, str, float]] = []
    entities = cache(found, clock, ttl_s=0, stale_if_error_s=3600)
    load = entities.batch("shopify", "orders_by_customer_ids", source,
                          lambda value, src, age: stale.append((value, src, age)))
    await load(["c1"])
    clock.now += 600
    source.failing = UpstreamUnavailable("shopify", "GET /orders answered HTTP 503")
    [served, failed] = await load(["c1", "c2"])
    assert served == [order("1")]
    assert stale == [(served, "shopify", 600.0)]
    assert failed is source.failing, "a key with nothing stored fails as the source did"
    clock.now += 3001  # older than stale_if_error_s
    with pytest.raises(UpstreamUnavailable):
        await load(["c1"])


async def test_a_refused_read_is_never_answered_from_the_cache(
        store: tuple[EntityStore, Clock]) -> None:
    found, clock = store
    source = Source({"1": order("1")})
    load = cache(found, clock).batch("shopify", "orders_by_ids", source, lambda *a: None)
    await load(["1"])
    source.failing = UpstreamRejected("shopify", "refused")
    with pytest.raises(UpstreamRejected):
        await load(["1"])


async def test_a_write_evicts_the_record_and_its_customers_lists(
        store: tuple[EntityStore, Clock]) -> None:
    found, clock = store
    entities = cache(found, clock, ttl_s=300)
    by_id = Source({"1": order("1"), "9": order("9", "c9")})
    lists = Source({"c1": [order("1")], "c9": [order("9", "c9")]})
    tickets = Source({"t1": Ticket(source="zendesk", kind="zendesk", id="t1", subject="s",
                                   status="open", priority=None, channel="web",
                                   requester_id="r1", created_at=datetime(2026, 1, 1,
                                                                          tzinfo=UTC),
                                   updated_at=None)})
    load_id = entities.batch("shopify", "orders_by_ids", by_id, lambda *a: None)
    load_list = entities.batch("shopify", "orders_by_customer_ids", lists, lambda *a: None)
    load_ticket = entities.batch("zendesk", "tickets_by_ids", tickets, lambda *a: None)
    for _ in range(2):
        await load_id(["1", "9"])
        await load_list(["c1", "c9"])
        await load_ticket(["t1"])
    assert len(by_id.calls) == len(lists.calls) == len(tickets.calls) == 1

    class Writer:
        source = "shopify"

        async def cancel_order(self, order_id: str, *, reason: str, restock: bool) -> Order:
            return order(order_id, status="cancelled")

    writer = Writer()
    entities.install_eviction(writer)
    await writer.cancel_order("1", reason="customer", restock=True)
    await load_id(["1", "9"])
    await load_list(["c1", "c9"])
    await load_ticket(["t1"])
    assert by_id.calls[-1] == ["1"] and lists.calls[-1] == ["c1"], "only what it changed"
    assert len(tickets.calls) == 1


@pytest.mark.redis
async def test_on_redis_keys_are_hashed_and_personal_values_sealed(redis_url: str) -> None:
    from redis.asyncio import Redis

    from gateway.cache import RedisEntityStore

    client = Redis.from_url(redis_url)
    sealed = RedisEntityStore(client, encryption_key=KEY)
    await sealed.put_many("shopify", "customers_by_ids", [(EMAIL, customer("42"))],
                          1_700_000_000.0, 60)
    keys = await client.keys("*")
    assert len(keys) == 1 and b"shopify:customers_by_ids:" in keys[0]
    assert EMAIL.encode() not in keys[0]
    raw = await client.get(keys[0])
    assert b"Garc" not in raw and b"example.com" not in raw and b"+34" not in raw
    assert await sealed.get_many("shopify", "customers_by_ids", [EMAIL]) == [
        (1_700_000_000.0, customer("42"))]
    other_key = RedisEntityStore(client, encryption_key=base64.b64decode(
        base64.b64encode(b"x" * 32)))
    assert await other_key.get_many("shopify", "customers_by_ids", [EMAIL]) == [None]

    plain = RedisEntityStore(client)  # no key: personal reads are not stored at all
    await client.flushdb()
    await plain.put_many("shopify", "customers_by_ids", [("42", customer("42"))],
                         1_700_000_000.0, 60)
    assert await client.keys("*") == []
    variant_free = await plain.get_many("shopify", "customers_by_ids", ["42"])
    assert variant_free == [None]
    await client.aclose()


@pytest.mark.redis
async def test_a_dead_redis_is_an_empty_cache() -> None:
    from redis.asyncio import Redis

    from gateway.cache import RedisEntityStore

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    store = RedisEntityStore(dead, encryption_key=KEY)
    source = Source({"1": order("1")})
    load = EntityCache(store, CachePolicy(ttl_s=60)).batch("shopify", "orders_by_ids",
                                                           source, lambda *a: None)
    assert await load(["1"]) == [order("1")]
    assert await load(["1"]) == [order("1")]
    assert len(source.calls) == 2
    await dead.aclose()


def test_models_round_trip_exactly() -> None:
    assert decode(Order | None, encode(order("1"))) == order("1")
    assert decode(list[Order], encode([order("1"), order("2")])) == [order("1"), order("2")]
    assert decode(Customer | None, encode(None)) is None
    assert decode(Customer | None, encode(customer("7"))) == customer("7")
    with pytest.raises((TypeError, KeyError, ValueError)):
        decode(Order | None, encode({"id": "1"}))
