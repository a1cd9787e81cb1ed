"""What a mutation does before its saga starts, and how its saga's end becomes an answer.

Each ``prepare_*`` turns a caller's arguments into a journey's input (:mod:`sagas.journeys`):
it checks the caller may act on those records (a customer acts only for themself, a store
clerk only in their store), reads what the steps need (the customer's id in each silo, the
store's location in each, the order's lines and prices) and refuses bad input before anything
is written. :func:`run_saga` applies the idempotency key, starts or joins the saga and waits
for its end within the mutation budget.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from graphql import GraphQLError
from strawberry.types import Info

from adapters import models
from adapters.models import FulfillmentType
from adapters.protocols import (
    CartSource,
    CustomerSource,
    OrderSource,
    PointsWriter,
    StoreOrderWriter,
    TicketSource,
    TicketWriter,
    WebOrderWriter,
)
from resolvers import commerce, stores
from resolvers.context import Context
from resolvers.ids import from_global
from resolvers.people import linked_records, profiles
from resolvers.principal import Role
from sagas.engine import input_hash
from sagas.store import SagaState, SagaStatus

Ctx = Info[Context, Any]
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:@/+=-]{8,200}$")
MAX_LINES = 50
ACTIVE_MEMBERSHIP = "ACTIVE"
MAX_QUANTITY = 1000
TICKET_STATUSES = ("open", "pending", "hold", "solved")


def bad_input(message: str, code: str = "BAD_USER_INPUT") -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def forbidden(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


# -- running a saga ---------------------------------------------------------------------------
async def run_saga(info: Ctx, journey: str, client_input: dict[str, Any], key: str | None,
                   prepare: Callable[[], Awaitable[dict[str, Any]]]) -> SagaState:
    """Start the saga (or join the one this key started) and wait for its end; a completed
    saga's state, else a GraphQL error naming what failed and what was undone."""
    ctx = info.context
    key = key or ctx.idempotency_key
    if not key:
        raise bad_input("a mutation needs an idempotency key (the Idempotency-Key header or "
                        "the idempotencyKey argument)", "IDEMPOTENCY_KEY_REQUIRED")
    if not KEY_PATTERN.match(key):
        raise bad_input("an idempotency key is 8 to 200 letters, digits or ._:@/+=-")
    principal = ctx.principal
    if principal is None:
        raise forbidden("nobody to act for")
    engine = ctx.runtime.sagas
    scope = f"{principal.role.value}:{principal.subject}"
    digest = input_hash(journey, client_input)
    state = await engine.existing(scope, key, digest)
    if state is None:
        resolved = await prepare()
        saga_id = await engine.start(journey, client_hash=digest, input=resolved,
                                     key_scope=scope, key=key, subject=principal.subject,
                                     role=principal.role.value)
    else:
        saga_id = state.saga_id
        await engine.nudge(state)
    state = await engine.wait(saga_id, ctx.remaining())
    if state.status is SagaStatus.COMPLETED:
        return state
    raise saga_error(journey, state)


def saga_error(journey: str, state: SagaState) -> GraphQLError:
    """The typed error of a saga that did not complete."""
    failed = next((s for s in state.steps if s.name == state.failed_step), None)
    extensions: dict[str, Any] = {
        "sagaId": state.saga_id, "sagaStatus": state.status.value,
        "failedStep": state.failed_step, "failedSource": failed.source if failed else None,
        "undone": state.undone}
    if state.status is SagaStatus.COMPENSATED:
        code = state.error_code or "SAGA_COMPENSATED"
        undone = ", ".join(state.undone) or "nothing had been written"
        message = (f"{journey} failed at {state.failed_step} ({extensions['failedSource']}: "
                   f"{code}); undone: {undone}")
    elif state.status is SagaStatus.FAILED:
        code = "SAGA_FAILED"
        message = (f"{journey} failed at {state.failed_step} and could not be fully undone; "
                   f"it is listed by `c360 sagas --failed`")
        extensions["cause"] = state.error_code
    else:
        code = "SAGA_IN_PROGRESS"
        message = (f"{journey} is still in progress (a silo's answer is awaited); repeat "
                   f"the call with the same idempotency key for its result")
        extensions["cause"] = state.error_code
    return GraphQLError(message, extensions={"code": code, **extensions})


# -- what the preparations read -------------------------------------------------------------
def _capable(info: Ctx, protocol: type) -> list[str]:
    return sorted(info.context.runtime.capable(protocol))


async def golden_of_input(info: Ctx, customer: str) -> str:
    """The golden id a ``customer`` argument names; a customer principal may name only
    themself."""
    golden: str | None = await info.context.loaders.registry_loader("resolve").load(
        str(customer))
    if golden is None:
        raise bad_input("no such customer", "NOT_FOUND")
    principal = info.context.principal
    if principal is not None and principal.role is Role.CUSTOMER and \
            golden != info.context.acting_for:
        raise bad_input("no such customer", "NOT_FOUND")
    return golden


async def records_in(info: Ctx, golden: str, sources: list[str]) -> dict[str, str]:
    """The person's record id in each of ``sources`` that has one (the first, if several)."""
    found: dict[str, str] = {}
    for record in await linked_records(info, golden):
        if record.source in sources and record.source not in found:
            found[record.source] = record.id
    return found


@dataclass(frozen=True)
class StoreTarget:
    code: str
    locations: dict[str, str]


def store_target(info: Ctx, store: str) -> StoreTarget:
    """A ``store`` argument (``store:<code>`` or the code) and its location in each silo; a
    store clerk may name only their own store."""
    code = store.removeprefix("store:")
    config = next((s for s in info.context.runtime.config.stores if s.code == code), None)
    if config is None:
        raise bad_input("no such store", "NOT_FOUND")
    principal = info.context.principal
    if principal is not None and principal.role is Role.STORE_ASSOCIATE and \
            principal.store != code:
        raise forbidden("a store associate acts only in their own store")
    return StoreTarget(code, dict(config.locations))


def located(target: StoreTarget, candidates: list[str], what: str) -> tuple[str, str]:
    """The first source among ``candidates`` that knows the store, and its location id."""
    for source in candidates:
        if source in target.locations:
            return source, target.locations[source]
    raise bad_input(f"the store has no {what} configured", "NOT_CONFIGURED")


def check_lines(lines: list[tuple[str, int]]) -> list[dict[str, Any]]:
    if not lines or len(lines) > MAX_LINES:
        raise bad_input(f"give 1 to {MAX_LINES} lines")
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        sku = sku.strip()
        if not sku or len(sku) > 64:
            raise bad_input("a line needs a SKU")
        if quantity < 1 or quantity > MAX_QUANTITY:
            raise bad_input(f"a line's quantity is 1 to {MAX_QUANTITY}")
        merged[sku] = merged.get(sku, 0) + quantity
    return [{"sku": sku, "quantity": q} for sku, q in merged.items()]


async def load_order(info: Ctx, order: str) -> models.Order:
    parsed = from_global(str(order))
    if parsed is None or parsed[0] != "Order":
        raise bad_input("not an order id")
    _, source, order_id = parsed
    if source not in info.context.runtime.capable(OrderSource):
        raise bad_input("no such order", "NOT_FOUND")
    model: models.Order | None = await info.context.loaders.loader(
        source, "orders_by_ids").load(order_id)
    if model is None or not await _may_act_on(info, await commerce.owner_of(info, model)):
        raise bad_input("no such order", "NOT_FOUND")
    return model


async def _may_act_on(info: Ctx, owner: str | None) -> bool:
    principal = info.context.principal
    if principal is None or principal.role is not Role.CUSTOMER:
        return True
    return owner is not None and owner == info.context.acting_for


async def loyalty_card(info: Ctx, golden: str, *, earning: bool = False
                       ) -> tuple[str, str] | None:
    """(loyalty source, card number) of the person's membership, if any. With ``earning``
    (a purchase or a return moves its points on its own), only an ACTIVE membership: a
    suspended or closed one earns nothing, and the purchase goes ahead without it."""
    sources = _capable(info, PointsWriter)
    found = await records_in(info, golden, sources)
    for source in sources:
        if source not in found:
            continue
        if earning:
            account: models.LoyaltyAccount | None = await info.context.loaders.loader(
                source, "accounts_by_cards").load(found[source])
            if account is None or account.status != ACTIVE_MEMBERSHIP:
                continue
        return source, found[source]
    return None


# -- tickets --------------------------------------------------------------------------------
async def prepare_ticket(info: Ctx, customer: str, subject: str, body: str, channel: str,
                         order: str | None) -> dict[str, Any]:
    golden = await golden_of_input(info, customer)
    helpdesks = _capable(info, TicketWriter)
    if not helpdesks:
        raise bad_input("no helpdesk is configured", "NOT_CONFIGURED")
    if not subject.strip() or len(subject) > 250 or not body.strip() or len(body) > 20_000:
        raise bad_input("a ticket needs a subject (≤ 250 characters) and a body")
    helpdesk = helpdesks[0]
    records = await linked_records(info, golden)
    requester = next((r.id for r in records if r.source == helpdesk), None)
    reference = None
    if order is not None:
        reference = (await load_order(info, order)).number
    result: dict[str, Any] = {"helpdesk": helpdesk, "golden_id": golden,
                              "subject": subject.strip(), "body": body, "channel": channel,
                              "order_reference": reference, "requester_id": requester}
    if requester is None:
        found = await profiles(info, golden)
        first = found[0] if found else None
        if first is None:
            raise bad_input("the customer's records could not be read", "SOURCE_UNAVAILABLE")
        name = " ".join(p for p in (first.first_name, first.last_name) if p) or "Customer"
        result["requester"] = {
            "name": name, "email": next((c.emails[0] for c in found if c.emails), None),
            "phone": next((c.phones[0] for c in found if c.phones), None)}
        result["anchor"] = [records[0].source, records[0].id] if records else None
    return result


async def load_ticket(info: Ctx, ticket: str) -> tuple[str, models.Ticket]:
    parsed = from_global(str(ticket))
    if parsed is None or parsed[0] != "Ticket":
        raise bad_input("not a ticket id")
    _, source, ticket_id = parsed
    if source not in info.context.runtime.capable(TicketSource) or \
            source not in info.context.runtime.capable(TicketWriter):
        raise bad_input("no such ticket", "NOT_FOUND")
    model: models.Ticket | None = await info.context.loaders.loader(
        source, "tickets_by_ids").load(ticket_id)
    if model is None:
        raise bad_input("no such ticket", "NOT_FOUND")
    owner = await info.context.loaders.registry_loader("golden_of").load(
        (source, model.requester_id))
    if not await _may_act_on(info, owner):
        raise bad_input("no such ticket", "NOT_FOUND")
    return source, model


async def prepare_comment(info: Ctx, ticket: str, body: str, public: bool) -> dict[str, Any]:
    source, model = await load_ticket(info, ticket)
    if not body.strip() or len(body) > 20_000:
        raise bad_input("a comment needs a body")
    principal = info.context.principal
    if principal is not None and principal.role is Role.CUSTOMER:
        public = True
    return {"helpdesk": source, "ticket_id": model.id, "body": body, "public": public}


async def prepare_status(info: Ctx, ticket: str, status: str) -> dict[str, Any]:
    source, model = await load_ticket(info, ticket)
    if model.status == "closed":
        raise bad_input("a closed ticket cannot change", "SOURCE_REJECTED")
    return {"helpdesk": source, "ticket_id": model.id, "status": status}


# -- points ---------------------------------------------------------------------------------
async def prepare_points(info: Ctx, customer: str, points: int, note: str | None,
                         order: str | None, *, redeem: bool) -> dict[str, Any]:
    golden = await golden_of_input(info, customer)
    if redeem and points < 1:
        raise bad_input("redeem at least 1 point")
    if not redeem and points == 0:
        raise bad_input("an adjustment moves at least 1 point")
    if abs(points) > 1_000_000:
        raise bad_input("at most 1,000,000 points at a time")
    card = await loyalty_card(info, golden)
    if card is None:
        raise bad_input("the customer has no loyalty membership", "NOT_FOUND")
    order_ref = None
    if order is not None:
        model = await load_order(info, order)
        order_ref = f"{model.kind}:{model.id}"
    principal = info.context.principal
    channel = "STORE" if principal is not None and principal.role is Role.STORE_ASSOCIATE \
        else "WEB" if principal is not None and principal.role is Role.CUSTOMER else "PHONE"
    return {"loyalty": card[0], "card": card[1], "points": points, "note": note,
            "order_ref": order_ref, "channel": channel, "golden_id": golden}


# -- pickup ---------------------------------------------------------------------------------
async def prepare_pickup(info: Ctx, customer: str, lines: list[tuple[str, int]],
                         store: str) -> dict[str, Any]:
    golden = await golden_of_input(info, customer)
    wanted = check_lines(lines)
    target = store_target(info, store)
    web, web_location = located(target, _capable(info, WebOrderWriter), "online shop location")
    pos, pos_location = located(target, _capable(info, StoreOrderWriter), "point of sale")
    ids = await records_in(info, golden, [web, pos])
    if web not in ids:
        raise bad_input("the customer has no online shop account", "NOT_FOUND")
    card = await loyalty_card(info, golden, earning=True)
    return {"web": web, "web_kind": info.context.runtime.adapters[web].kind,
            "web_customer_id": ids[web], "web_location_id": web_location, "pos": pos,
            "pos_location_id": pos_location, "pos_customer_id": ids.get(pos),
            "recipient_name": await recipient_name(info, golden), "lines": wanted,
            "store": target.code, "loyalty": card[0] if card else None,
            "card": card[1] if card else None, "golden_id": golden}


async def recipient_name(info: Ctx, golden: str) -> str | None:
    """Who collects at the counter: the customer's name as their first profile has it."""
    found = await profiles(info, golden)
    first = found[0] if found else None
    return " ".join(p for p in ((first.first_name, first.last_name) if first else ())
                    if p) or None


def _pickup_of(model: models.Order) -> models.Fulfillment | None:
    return next((f for f in model.fulfillments if f.type is FulfillmentType.PICKUP), None)


async def prepare_pickup_step(info: Ctx, order: str) -> dict[str, Any]:
    """markReadyForPickup / completePickup: the order's pickup store and its lines."""
    model = await load_order(info, order)
    pickup = _pickup_of(model)
    if pickup is None or pickup.location_id is None:
        raise bad_input("the order is not a store pickup", "NOT_A_PICKUP")
    if model.status == "CANCELLED":
        raise bad_input("the order is cancelled", "SOURCE_REJECTED")
    index = await stores.location_index(info)
    place = stores.place_for(index, model.source, pickup.location_id)
    if place is None or place.code is None:
        raise bad_input("the pickup location is not a configured store", "NOT_CONFIGURED")
    target = store_target(info, place.code)
    if model.source not in info.context.runtime.capable(WebOrderWriter):
        raise bad_input("the order's system takes no writes", "NOT_CONFIGURED")
    pos, pos_location = located(target, _capable(info, StoreOrderWriter), "point of sale")
    writer: StoreOrderWriter = info.context.runtime.adapters[pos]  # type: ignore[assignment]
    held = await writer.store_orders_by_reference(pos_location, model.id)
    return {"web": model.source, "web_kind": model.kind, "order_id": model.id, "pos": pos,
            "pos_location_id": pos_location, "pos_order_id": held[0].id if held else None,
            "store": target.code}


# -- return in store ------------------------------------------------------------------------
async def prepare_return(info: Ctx, order: str, lines: list[tuple[str, int]],
                         store: str) -> dict[str, Any]:
    if not info.context.runtime.capable(WebOrderWriter):
        raise bad_input("no configured web shop takes refunds", "NOT_CONFIGURED")
    model = await load_order(info, order)
    if model.source not in info.context.runtime.capable(WebOrderWriter):
        raise bad_input("only a web order can be returned in store", "NOT_A_WEB_ORDER")
    if model.status == "CANCELLED":
        raise bad_input("the order is cancelled", "SOURCE_REJECTED")
    wanted = check_lines(lines)
    target = store_target(info, store)
    pos, pos_location = located(target, _capable(info, StoreOrderWriter), "point of sale")
    web_location = target.locations.get(model.source)
    returned: dict[str, Decimal] = {}
    for ret in model.returns:
        for line in ret.lines:
            if line.sku:
                returned[line.sku] = returned.get(line.sku, Decimal(0)) + line.quantity
    priced: list[dict[str, Any]] = []
    value = Decimal(0)
    for item in wanted:
        sold = [ol for ol in model.lines if ol.sku == item["sku"]]
        if not sold:
            raise bad_input(f"{item['sku']} is not on the order", "NOT_ON_ORDER")
        bought = sum((ol.quantity for ol in sold), Decimal(0))
        if item["quantity"] > bought - returned.get(item["sku"], Decimal(0)):
            raise bad_input(f"more units of {item['sku']} than the order has left to return",
                            "RETURN_EXCEEDS_ORDER")
        unit = sold[0].unit_price
        value += unit.amount * item["quantity"]
        priced.append({**item, "unit_price": str(unit.amount), "currency": unit.currency,
                       "title": sold[0].title})
    golden = await commerce.owner_of(info, model)
    card = await loyalty_card(info, golden, earning=True) if golden else None
    pos_ids = await records_in(info, golden, [pos]) if golden else {}
    return {"web": model.source, "web_kind": model.kind, "order_id": model.id,
            "order_ref": f"{model.kind}:{model.id}", "reference_id": model.id,
            "web_location_id": web_location, "pos": pos, "pos_location_id": pos_location,
            "pos_customer_id": pos_ids.get(pos), "lines": priced,
            "loyalty": card[0] if card else None, "card": card[1] if card else None,
            "points": int(value), "store": target.code}


# -- cart handoff ---------------------------------------------------------------------------
async def prepare_handoff(info: Ctx, customer: str | None, cart: str, store: str,
                          mode: str) -> dict[str, Any]:
    parsed = from_global(str(cart))
    if parsed is None or parsed[0] != "Cart":
        raise bad_input("not a cart id")
    _, source, cart_id = parsed
    if customer is None:
        if info.context.acting_for is None:
            raise bad_input("name the customer whose cart it is")
        customer = info.context.acting_for
    owner = await golden_of_input(info, customer)
    if source not in info.context.runtime.capable(CartSource):
        raise bad_input("no such open cart", "NOT_FOUND")
    ids = await records_in(info, owner, [source])
    found: models.Cart | None = None
    if source in ids:
        carts: list[models.Cart] = await info.context.loaders.loader(
            source, "carts_by_customer_ids").load(ids[source])
        found = next((c for c in carts if c.id == cart_id), None)
    if found is None:
        raise bad_input("no such open cart", "NOT_FOUND")
    wanted = check_lines([(line.sku or "", int(line.quantity)) for line in found.lines])
    target = store_target(info, store)
    pos, pos_location = located(target, _capable(info, StoreOrderWriter), "point of sale")
    ids = await records_in(info, owner, [source, pos])
    card = await loyalty_card(info, owner, earning=True)
    result: dict[str, Any] = {
        "mode": mode, "cart_kind": found.cart_kind.value, "cart_id": found.id,
        "pos": pos, "pos_location_id": pos_location, "lines": wanted, "store": target.code,
        "reference_id": f"cart:{found.id}", "loyalty": card[0] if card else None,
        "card": card[1] if card else None, "golden_id": owner}
    if mode == "PICKUP":
        if source not in info.context.runtime.capable(WebOrderWriter):
            raise bad_input("the cart's shop takes no orders", "NOT_CONFIGURED")
        result.update(web=source, web_kind=info.context.runtime.adapters[source].kind,
                      web_customer_id=ids.get(source) or found.customer_id,
                      web_location_id=target.locations.get(source), email=found.email)
    result.update(pos_customer_id=ids.get(pos),
                  recipient_name=await recipient_name(info, owner))
    return result


# -- stewardship ----------------------------------------------------------------------------
async def record_key(info: Ctx, kind: str, record_id: str) -> tuple[str, str]:
    sources = [n for n, a in info.context.runtime.adapters.items()
               if a.kind == kind and n in info.context.runtime.capable(CustomerSource)]
    if not sources:
        raise bad_input(f"no source of kind {kind!r} is configured")
    known = await info.context.runtime.registry.golden_of([(s, record_id) for s in sources])
    for source, golden in zip(sources, known, strict=True):
        if golden is not None:
            return source, record_id
    raise bad_input("no such record in the registry", "NOT_FOUND")
