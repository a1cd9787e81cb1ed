"""The Square adapter's writes (``StoreOrderWriter``) against the emulated Square silo: pickup
orders that hold their units at the store, their moves and cancellation, unlinked returns,
repeats after a lost answer, a concurrent update, and typed refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import httpx
import pytest

from adapters.errors import RecordNotFound, UpstreamRejected, UpstreamUnavailable
from adapters.models import (
    FulfillmentType,
    LineRequest,
    Money,
    NewStoreOrder,
    NewStoreReturn,
    ReturnLineRequest,
    SourceRef,
)
from adapters.protocols import StoreOrderWriter
from adapters.square import SquareAdapter, SquareConfig
from silos.control import SandboxControl
from silos.generator import Sandbox, generate
from silos.square import SquareSiloConfig, create_app

pytestmark = pytest.mark.anyio
URL = "http://square.test"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@pytest.fixture
def sandbox() -> Sandbox:
    return generate(customers=40, seed=77)


@pytest.fixture
def app(sandbox: Sandbox) -> SandboxControl:
    return create_app(sandbox.square, SquareSiloConfig())


@pytest.fixture
async def http(app: SandboxControl) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=URL) as client:
        yield client


async def no_sleep(seconds: float) -> None:
    return None


def adapter(http: httpx.AsyncClient) -> SquareAdapter:
    config = SquareConfig(url=URL, access_token=SquareSiloConfig().access_token,
                          return_reference_source="shopify")
    return SquareAdapter(config, http, source="pos", sleep=no_sleep)


def stocked(sandbox: Sandbox, units: int = 3) -> tuple[str, str, str]:
    """A (location id, SKU, variation id) with at least ``units`` IN_STOCK."""
    store = sandbox.square
    for count in store._counts:
        if count["state"] == "IN_STOCK" and Decimal(count["quantity"]) >= units:
            variation = store.catalog[count["catalog_object_id"]]
            sku = variation["item_variation_data"].get("sku")
            if sku:
                return count["location_id"], sku, count["catalog_object_id"]
    raise AssertionError("no stocked variation")


def units(sandbox: Sandbox, variation: str, location: str, state: str) -> Decimal:
    return sum((Decimal(c["quantity"]) for c in sandbox.square._counts
                if (c["catalog_object_id"], c["location_id"], c["state"])
                == (variation, location, state)), Decimal(0))


def pickup(location: str, sku: str, quantity: int = 2, reference: str = "450789469"
           ) -> NewStoreOrder:
    return NewStoreOrder(location_id=location, lines=(LineRequest(sku, quantity),),
                         reference_id=reference, pickup=True, recipient_name="Jane Doe",
                         note="to collect at the counter")


def writes(sandbox: Sandbox) -> int:
    return len(sandbox.square.orders)


async def test_protocol(http: httpx.AsyncClient) -> None:
    assert isinstance(adapter(http), StoreOrderWriter)


async def test_pickup_holds_units_until_collected(http: httpx.AsyncClient,
                                                  sandbox: Sandbox) -> None:
    square = adapter(http)
    location, sku, variation = stocked(sandbox)
    before = units(sandbox, variation, location, "IN_STOCK")
    [level_before] = await square.inventory_by_skus([sku], [location])
    made = await square.create_store_order(pickup(location, sku), key="k-hold-1")
    assert made.status == "OPEN" and made.location_id == location
    assert [(f.type, f.status, f.location_id) for f in made.fulfillments] == [
        (FulfillmentType.PICKUP, "PENDING", location)]
    assert [(line.sku, line.quantity) for line in made.lines] == [(sku, Decimal(2))]
    assert units(sandbox, variation, location, "IN_STOCK") == before - 2
    assert units(sandbox, variation, location, "RESERVED_FOR_SALE") == 2
    [level_after] = await square.inventory_by_skus([sku], [location])
    assert sum(lv.available for lv in level_after) == sum(
        lv.available for lv in level_before) - 2
    raw = sandbox.square.orders[made.id]
    assert raw["reference_id"] == "450789469"
    assert raw["fulfillments"][0]["pickup_details"]["recipient"] == {"display_name": "Jane Doe"}

    ready = await square.update_store_order(made.id, key="k-ready", fulfillment_state="PREPARED")
    assert [f.status for f in ready.fulfillments] == ["READY"]
    done = await square.update_store_order(made.id, key="k-done", fulfillment_state="COMPLETED",
                                           state="COMPLETED")
    assert done.status == "COMPLETED" and [f.status for f in done.fulfillments] == ["COMPLETED"]
    assert units(sandbox, variation, location, "IN_STOCK") == before - 2
    assert units(sandbox, variation, location, "RESERVED_FOR_SALE") == 0
    version = sandbox.square.orders[made.id]["version"]
    again = await square.update_store_order(made.id, key="k-done-2",
                                            fulfillment_state="COMPLETED", state="COMPLETED")
    assert again.status == "COMPLETED"
    assert sandbox.square.orders[made.id]["version"] == version  # nothing sent
    [found] = await square.store_orders_by_reference(location, "450789469")
    assert found.id == made.id


async def test_cancel_releases_the_units(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    square = adapter(http)
    location, sku, variation = stocked(sandbox)
    before = units(sandbox, variation, location, "IN_STOCK")
    made = await square.create_store_order(pickup(location, sku, 3), key="k-cancel")
    cancelled = await square.update_store_order(made.id, key="k-undo", state="CANCELED",
                                                fulfillment_state="CANCELED")
    assert cancelled.status == "CANCELLED"
    assert [f.status for f in cancelled.fulfillments] == ["CANCELLED"]
    assert units(sandbox, variation, location, "IN_STOCK") == before
    assert units(sandbox, variation, location, "RESERVED_FOR_SALE") == 0
    assert await square.store_orders_by_reference(location, "450789469") == []
    with pytest.raises(UpstreamRejected):  # a cancelled order cannot complete
        await square.update_store_order(made.id, key="k-late", state="COMPLETED")


async def test_same_key_answers_the_same_order(http: httpx.AsyncClient,
                                               sandbox: Sandbox) -> None:
    square = adapter(http)
    location, sku, variation = stocked(sandbox, 4)
    before = units(sandbox, variation, location, "IN_STOCK")
    first = await square.create_store_order(pickup(location, sku), key="k-same")
    count = writes(sandbox)
    second = await square.create_store_order(pickup(location, sku), key="k-same")
    assert second.id == first.id and writes(sandbox) == count
    assert units(sandbox, variation, location, "IN_STOCK") == before - 2
    with pytest.raises(UpstreamRejected, match="IDEMPOTENCY_KEY_REUSED"):
        await square.create_store_order(pickup(location, sku, 1), key="k-same")
    assert writes(sandbox) == count


async def test_lost_answer_is_repeated_with_the_same_key(app: SandboxControl,
                                                         sandbox: Sandbox) -> None:
    inner = httpx.ASGITransport(app=app)
    lost = {"POST /v2/orders": 1}

    async def handler(request: httpx.Request) -> httpx.Response:
        response = await inner.handle_async_request(request)
        name = f"{request.method} {request.url.path}"
        if lost.get(name):
            lost[name] -= 1
            await response.aread()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=URL) as http:
        square = adapter(http)
        location, sku, variation = stocked(sandbox)
        before = units(sandbox, variation, location, "IN_STOCK")
        count = writes(sandbox)
        made = await square.create_store_order(pickup(location, sku), key="k-lost")
    assert writes(sandbox) == count + 1
    assert sandbox.square.orders[made.id]["reference_id"] == "450789469"
    assert units(sandbox, variation, location, "IN_STOCK") == before - 2


async def test_update_rereads_after_a_version_mismatch(app: SandboxControl,
                                                       sandbox: Sandbox) -> None:
    location, sku, _ = stocked(sandbox)
    raced = {"done": False}
    inner = httpx.ASGITransport(app=app)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and not raced["done"]:
            raced["done"] = True  # a clerk moves the order first
            order_id = request.url.path.rsplit("/", 1)[1]
            current = sandbox.square.orders[order_id]
            sandbox.square.update_order(order_id, {"order": {
                "version": current["version"], "metadata": {"clerk": "yes"}}})
        return await inner.handle_async_request(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=URL) as http:
        square = adapter(http)
        made = await square.create_store_order(pickup(location, sku), key="k-race")
        moved = await square.update_store_order(made.id, key="k-race-ready",
                                                fulfillment_state="PREPARED")
    assert raced["done"]
    assert [f.status for f in moved.fulfillments] == ["READY"]
    assert sandbox.square.orders[made.id]["metadata"] == {"clerk": "yes"}
    assert sandbox.square.orders[made.id]["version"] == 3


async def test_store_return_names_the_web_order(http: httpx.AsyncClient,
                                                sandbox: Sandbox) -> None:
    square = adapter(http)
    location, sku, _ = stocked(sandbox)
    ret = NewStoreReturn(location_id=location, reference_id="450789469", lines=(
        ReturnLineRequest(sku, 1, Money(Decimal("19.99"), "USD"), "Tee"),
        ReturnLineRequest("NOT-IN-SQUARE", 2, Money(Decimal("5.00"), "USD"), "Socks")))
    made = await square.create_store_return(ret, key="k-return")
    assert made.status == "RETURN"
    assert made.return_of == SourceRef("shopify", "450789469")
    assert [(line.sku, line.title, line.quantity) for line in made.lines][1:] == [
        (None, "Socks", Decimal(2))]
    assert (made.lines[0].sku, made.lines[0].quantity) == (sku, Decimal(1))
    raw = sandbox.square.orders[made.id]
    assert raw["return_amounts"]["total_money"] == {"amount": 2999, "currency": "USD"}
    again = await square.create_store_return(ret, key="k-return")
    assert again.id == made.id
    undone = await square.update_store_order(made.id, key="k-return-undo", state="CANCELED")
    assert undone.status == "CANCELLED"


async def test_unknown_sku_writes_nothing(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    square = adapter(http)
    location, _, _ = stocked(sandbox)
    count = writes(sandbox)
    with pytest.raises(RecordNotFound):
        await square.create_store_order(pickup(location, "NO-SUCH-SKU"), key="k-unknown")
    with pytest.raises(RecordNotFound):
        await square.update_store_order("NOSUCHORDER123456", key="k-x", state="COMPLETED")
    assert writes(sandbox) == count


@pytest.mark.parametrize(("status", "error"), [(500, UpstreamUnavailable),
                                               (400, UpstreamRejected)])
async def test_refusals_and_outages_are_typed(app: SandboxControl, sandbox: Sandbox,
                                              status: int, error: type[Exception]) -> None:
    inner = httpx.ASGITransport(app=app)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v2/orders":
            return httpx.Response(status, json={"errors": [
                {"category": "INVALID_REQUEST_ERROR", "code": "BAD_REQUEST",
                 "detail": "Jane Doe's order was refused"}]})
        return await inner.handle_async_request(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=URL) as http:
        location, sku, _ = stocked(sandbox)
        with pytest.raises(error) as raised:
            await adapter(http).create_store_order(pickup(location, sku), key="k-fault")
    assert "Jane" not in str(raised.value)

