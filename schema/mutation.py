"""The root mutation: journeys that write to the systems that own the data.

Every mutation is a saga (:mod:`sagas`): it takes an idempotency key (the ``Idempotency-Key``
header or the ``idempotencyKey`` argument) — the same key and input answer the first call's
result and write nothing again; the same key with another input is refused
(``IDEMPOTENCY_KEY_REUSED``). A saga that fails part-way undoes what it did and the error
names the failed step, its silo and its code (``extensions.failedStep``, ``failedSource``,
``undone``). Who may call each mutation is its ``@requiresScopes`` rule (the roles' grants
are in ``schema.policy``); a customer acts only for themself, a store associate only in
their store.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import strawberry

from resolvers import writes
from sagas.store import SagaState
from schema.policy import scopes
from schema.types import Ctx, Customer, Order, Ticket

Key = Annotated[str | None, strawberry.argument(
    description="Idempotency key (8–200 characters) when the `Idempotency-Key` header does "
                "not carry one.")]
CustomerId = Annotated[strawberry.ID, strawberry.argument(description="`Customer.id`.")]
StoreId = Annotated[strawberry.ID, strawberry.argument(
    description="`Location.id` of a store (`store:<code>`).")]
OrderId = Annotated[strawberry.ID, strawberry.argument(description="`Order.id`.")]
TicketId = Annotated[strawberry.ID, strawberry.argument(description="`Ticket.id`.")]


Subject = Annotated[str, strawberry.argument(description="Subject line (≤ 250 characters).")]
Body = Annotated[str, strawberry.argument(description="The text.")]
Points = Annotated[int, strawberry.argument(description="Points (a redemption: how many to "
                                                        "spend).")]
Reason = Annotated[str, strawberry.argument(description="Why (kept in the audit record).")]


@strawberry.enum(description="How a saga ended (or that it is still going).")
class SagaStatus(enum.Enum):
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"


@strawberry.type(description="One write of a saga.", directives=[scopes()])
class SagaStep:
    name: str = strawberry.field(description="The step, e.g. `create_order`.")
    source: str = strawberry.field(description="The system it writes to.")
    status: str = strawberry.field(description="PENDING | RUNNING | DONE | FAILED | "
                                               "COMPENSATED | NOT_COMPENSATED.")
    error_code: str | None = strawberry.field(description="Why it failed, if it did.")


@strawberry.type(description="The writes a mutation made, in order (`c360 sagas` lists them "
                             "too).", directives=[scopes()])
class Saga:
    id: strawberry.ID = strawberry.field(description="The saga id.")
    status: SagaStatus = strawberry.field(description="How it ended.")
    steps: list[SagaStep] = strawberry.field(description="Its steps, in order.")

    @staticmethod
    def of(state: SagaState) -> Saga:
        return Saga(id=strawberry.ID(state.saga_id), status=SagaStatus(state.status.value),
                    steps=[SagaStep(name=s.name, source=s.source, status=s.status.value,
                                    error_code=s.error_code) for s in state.steps])


@strawberry.enum(description="Where the customer asked.")
class TicketChannel(enum.Enum):
    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    STORE = "store"
    CHAT = "chat"


@strawberry.enum(description="A ticket's status that a person may set.")
class TicketStatus(enum.Enum):
    OPEN = "open"
    PENDING = "pending"
    HOLD = "hold"
    SOLVED = "solved"


@strawberry.enum(description="What a handed-off cart becomes.")
class HandOffMode(enum.Enum):
    PICKUP = "PICKUP"
    """An online order collected at the store (the cart's lines reserved there)."""
    STORE_SALE = "STORE_SALE"
    """A sale prepared at the store's counter (a POS order), paid there."""


@strawberry.input(description="A line to order or return: a SKU and a number of units.")
class LineInput:
    sku: str = strawberry.field(description="Stock keeping unit.")
    quantity: int = strawberry.field(description="Units (1–1000).")


@strawberry.input(description="A record in one silo: its vendor kind and its id there.")
class RecordInput:
    kind: str = strawberry.field(description="shopify | square | zendesk | loyalty.")
    id: strawberry.ID = strawberry.field(description="The id in that system.")


Lines = Annotated[list[LineInput], strawberry.argument(description="SKUs and quantities.")]
Record = Annotated[RecordInput, strawberry.argument(description="A customer record.")]


async def _order(info: Ctx, output: Any) -> Order | None:
    if not output:
        return None
    loader = info.context.loaders.loader(str(output["source"]), "orders_by_ids")
    loader.clear(str(output["id"]))  # read after the write, not what the request cached
    model = await loader.load(str(output["id"]))
    return None if model is None else Order.of(model)


@strawberry.type(description="A ticket written to the helpdesk.", directives=[scopes()])
class TicketPayload:
    saga: Saga = strawberry.field(description="What was written.")
    ticket_ref: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="The ticket, read back from the helpdesk.",
                      directives=[scopes("tickets:read")])
    async def ticket(self, info: Ctx) -> Ticket | None:
        loader = info.context.loaders.loader(str(self.ticket_ref["source"]), "tickets_by_ids")
        loader.clear(str(self.ticket_ref["id"]))  # read after the write, not the cached one
        model = await loader.load(str(self.ticket_ref["id"]))
        return None if model is None else Ticket.of(model)


@strawberry.type(description="Points moved in the loyalty ledger.", directives=[scopes()])
class PointsPayload:
    saga: Saga = strawberry.field(description="What was written.")
    points: int = strawberry.field(description="The points moved (negative: spent).")
    golden: strawberry.Private[str]

    @strawberry.field(description="The member, read back (`loyalty { pointsBalance }`).",
                      directives=[scopes("customers:lookup")])
    def customer(self) -> Customer | None:
        return Customer(id=strawberry.ID(self.golden))


@strawberry.type(description="An order written through the gateway.", directives=[scopes()])
class OrderPayload:
    saga: Saga = strawberry.field(description="What was written.")
    points_earned: int = strawberry.field(description="Loyalty points the order earned.")
    order_ref: strawberry.Private[dict[str, Any]]
    store_ref: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field(description="The order, read back from the system that holds it.",
                      directives=[scopes("orders:read")])
    async def order(self, info: Ctx) -> Order | None:
        return await _order(info, self.order_ref)

    @strawberry.field(description="The pickup order at the store's point of sale that holds "
                                  "the units for the customer (null when there is none).",
                      directives=[scopes("orders:read")])
    async def store_order(self, info: Ctx) -> Order | None:
        return await _order(info, self.store_ref)


@strawberry.type(description="A web order's lines returned in a store.", directives=[scopes()])
class ReturnPayload:
    saga: Saga = strawberry.field(description="What was written.")
    refund_id: strawberry.ID = strawberry.field(description="The web shop's refund id.")
    points_reversed: int = strawberry.field(description="Points taken back (negative).")
    refs: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="The web order, read back (its `returns` show the return).",
                      directives=[scopes("orders:read")])
    async def order(self, info: Ctx) -> Order | None:
        return await _order(info, self.refs["order"])

    @strawberry.field(description="The store's return order (point of sale).",
                      directives=[scopes("orders:read")])
    async def store_return(self, info: Ctx) -> Order | None:
        return await _order(info, self.refs["store_return"])


@strawberry.type(description="A change to who is who.", directives=[scopes()])
class CustomerPayload:
    saga: Saga = strawberry.field(description="What was written.")
    golden: strawberry.Private[str | None]

    @strawberry.field(description="The person the record now belongs to.",
                      directives=[scopes("customers:lookup")])
    def customer(self) -> Customer | None:
        return None if self.golden is None else Customer(id=strawberry.ID(self.golden))


def _lines(lines: list[LineInput]) -> list[tuple[str, int]]:
    return [(line.sku, line.quantity) for line in lines]


def _client(**values: Any) -> dict[str, Any]:
    """The caller's input, as the idempotency key's fingerprint sees it."""
    return {k: ([{"sku": x.sku, "quantity": x.quantity} if isinstance(x, LineInput) else x
                 for x in v] if isinstance(v, list) else
                {"kind": v.kind, "id": str(v.id)} if isinstance(v, RecordInput) else
                v.value if isinstance(v, enum.Enum) else v)
            for k, v in values.items()}


@strawberry.type(description="Writes to the systems that own the data — each one a saga "
                             "(idempotent, compensated, recovered after a crash).")
class Mutation:
    @strawberry.mutation(description="Open a helpdesk ticket for the customer (their helpdesk "
                                     "user is created and linked if they have none).",
                         directives=[scopes("tickets:write")])
    async def create_ticket(self, info: Ctx, customer: CustomerId, subject: Subject, body: Body,
                            channel: Annotated[TicketChannel, strawberry.argument(
                                description="Where the customer asked.")], order: Annotated[
                                strawberry.ID | None, strawberry.argument(
                                    description="`Order.id` the ticket is about.")] = None,
                            idempotency_key: Key = None) -> TicketPayload | None:
        client = _client(customer=str(customer), subject=subject, body=body, channel=channel,
                         order=order)
        state = await writes.run_saga(info, "create_ticket", client, idempotency_key,
                                      lambda: writes.prepare_ticket(
                                          info, str(customer), subject, body, channel.value,
                                          None if order is None else str(order)))
        return TicketPayload(saga=Saga.of(state), ticket_ref=state.result["ticket"])

    @strawberry.mutation(description="Add a comment to a ticket (always public from a "
                                     "customer).", directives=[scopes("tickets:write")])
    async def add_ticket_comment(self, info: Ctx, ticket: TicketId, body: Body,
                                 public: Annotated[bool, strawberry.argument(
                                     description="Visible to the customer.")] = True,
                                 idempotency_key: Key = None,
                                 ) -> TicketPayload | None:
        client = _client(ticket=str(ticket), body=body, public=public)
        state = await writes.run_saga(info, "add_ticket_comment", client, idempotency_key,
                                      lambda: writes.prepare_comment(info, str(ticket), body,
                                                                     public))
        return TicketPayload(saga=Saga.of(state), ticket_ref=state.result["ticket"])

    @strawberry.mutation(description="Set a ticket's status.",
                         directives=[scopes("tickets:manage")])
    async def set_ticket_status(self, info: Ctx, ticket: TicketId, status: Annotated[
                                    TicketStatus, strawberry.argument(
                                        description="The new status.")],
                                idempotency_key: Key = None) -> TicketPayload | None:
        client = _client(ticket=str(ticket), status=status)
        state = await writes.run_saga(info, "set_ticket_status", client, idempotency_key,
                                      lambda: writes.prepare_status(info, str(ticket),
                                                                    status.value))
        return TicketPayload(saga=Saga.of(state), ticket_ref=state.result["ticket"])

    @strawberry.mutation(description="Add (or take away) points, with the reason.",
                         directives=[scopes("loyalty:adjust")])
    async def adjust_points(self, info: Ctx, customer: CustomerId, points: Points, reason: Reason,
                            order: Annotated[strawberry.ID | None, strawberry.argument(
                                description="`Order.id` it is about.")] = None,
                            idempotency_key: Key = None) -> PointsPayload | None:
        client = _client(customer=str(customer), points=points, reason=reason, order=order)
        state = await writes.run_saga(info, "adjust_points", client, idempotency_key,
                                      lambda: writes.prepare_points(
                                          info, str(customer), points, reason,
                                          None if order is None else str(order), redeem=False))
        return PointsPayload(saga=Saga.of(state), points=int(state.result["entry"]["points"]),
                             golden=str(state.input["golden_id"]))

    @strawberry.mutation(description="Spend points; refused (`INSUFFICIENT_POINTS`) beyond "
                                     "the balance.", directives=[scopes("loyalty:redeem")])
    async def redeem_points(self, info: Ctx, customer: CustomerId, points: Points,
                            idempotency_key: Key = None) -> PointsPayload | None:
        client = _client(customer=str(customer), points=points)
        state = await writes.run_saga(info, "redeem_points", client, idempotency_key,
                                      lambda: writes.prepare_points(
                                          info, str(customer), points, None, None,
                                          redeem=True))
        return PointsPayload(saga=Saga.of(state), points=int(state.result["entry"]["points"]),
                             golden=str(state.input["golden_id"]))

    @strawberry.mutation(description="Buy online, pick up in store: a web order collected at "
                                     "the store, its units reserved in the store's stock, the "
                                     "points accrued.", directives=[scopes("orders:write")])
    async def place_pickup_order(self, info: Ctx, customer: CustomerId,
                                 lines: Lines, store: StoreId,
                                 idempotency_key: Key = None) -> OrderPayload | None:
        client = _client(customer=str(customer), lines=lines, store=str(store))
        state = await writes.run_saga(info, "place_pickup_order", client, idempotency_key,
                                      lambda: writes.prepare_pickup(
                                          info, str(customer), _lines(lines), str(store)))
        return OrderPayload(saga=Saga.of(state), order_ref=state.result["order"],
                            store_ref=state.result.get("store_order"),
                            points_earned=int(state.result.get("points", 0)))

    @strawberry.mutation(description="A pickup order is ready at the store (the customer is "
                                     "told).", directives=[scopes("pickup:fulfil")])
    async def mark_ready_for_pickup(self, info: Ctx, order: OrderId,
                                    idempotency_key: Key = None) -> OrderPayload | None:
        client = _client(order=str(order))
        state = await writes.run_saga(info, "mark_ready_for_pickup", client, idempotency_key,
                                      lambda: writes.prepare_pickup_step(info, str(order)))
        return OrderPayload(saga=Saga.of(state), order_ref=state.result["order"],
                            store_ref=state.result.get("store_order"), points_earned=0)

    @strawberry.mutation(description="The customer collected a pickup order: the reserved "
                                     "units sold at the store, the web order fulfilled.",
                         directives=[scopes("pickup:fulfil")])
    async def complete_pickup(self, info: Ctx, order: OrderId,
                              idempotency_key: Key = None) -> OrderPayload | None:
        client = _client(order=str(order))
        state = await writes.run_saga(info, "complete_pickup", client, idempotency_key,
                                      lambda: writes.prepare_pickup_step(info, str(order)))
        return OrderPayload(saga=Saga.of(state), order_ref=state.result["order"],
                            store_ref=state.result.get("store_order"), points_earned=0)

    @strawberry.mutation(description="Lines of a web order returned in a store: the store's "
                                     "return, the web refund restocking at the store, the "
                                     "points those lines earned reversed.",
                         directives=[scopes("returns:write")])
    async def return_in_store(self, info: Ctx, order: OrderId, lines: Lines,
                              store: StoreId, idempotency_key: Key = None,
                              ) -> ReturnPayload | None:
        client = _client(order=str(order), lines=lines, store=str(store))
        state = await writes.run_saga(info, "return_in_store", client, idempotency_key,
                                      lambda: writes.prepare_return(
                                          info, str(order), _lines(lines), str(store)))
        return ReturnPayload(saga=Saga.of(state), refs=state.result,
                             refund_id=strawberry.ID(str(state.result["refund"]["id"])),
                             points_reversed=int(state.result.get("points", 0)))

    @strawberry.mutation(description="Turn the customer's online cart into a pickup order or "
                                     "a sale prepared at the store — nobody re-enters a line.",
                         directives=[scopes("orders:write")])
    async def hand_off_cart(self, info: Ctx, cart: Annotated[strawberry.ID, strawberry.argument(
                                description="`Cart.id`.")], store: StoreId, mode: Annotated[
                                HandOffMode, strawberry.argument(
                                    description="What the cart becomes.")],
                            customer: Annotated[strawberry.ID | None, strawberry.argument(
                                description="`Customer.id` whose cart it is (a customer "
                                            "principal: themself).")] = None,
                            idempotency_key: Key = None) -> OrderPayload | None:
        client = _client(cart=str(cart), store=str(store), mode=mode,
                         customer=None if customer is None else str(customer))
        state = await writes.run_saga(info, "hand_off_cart", client, idempotency_key,
                                      lambda: writes.prepare_handoff(
                                          info, None if customer is None else str(customer),
                                          str(cart), str(store), mode.value))
        return OrderPayload(saga=Saga.of(state), order_ref=state.result["order"],
                            store_ref=state.result.get("store_order"),
                            points_earned=int(state.result.get("points", 0)))

    @strawberry.mutation(description="Declare two records the same person (survives "
                                     "re-indexing).", directives=[scopes("identity:steward")])
    async def link_customers(self, info: Ctx, a: Record, b: Record, reason: Reason,
                             idempotency_key: Key = None) -> CustomerPayload | None:
        client = _client(a=a, b=b, reason=reason)

        async def prepare() -> dict[str, Any]:
            first = await writes.record_key(info, a.kind, str(a.id))
            second = await writes.record_key(info, b.kind, str(b.id))
            return {"a": list(first), "b": list(second), "reason": _reason(reason),
                    "actor": _actor(info)}

        state = await writes.run_saga(info, "link_customers", client, idempotency_key, prepare)
        return CustomerPayload(saga=Saga.of(state), golden=state.result.get("customer"))

    @strawberry.mutation(description="Take a record out of the person it was linked to "
                                     "(survives re-indexing).",
                         directives=[scopes("identity:steward")])
    async def split_customer(self, info: Ctx, record: Record, reason: Reason,
                             idempotency_key: Key = None) -> CustomerPayload | None:
        client = _client(record=record, reason=reason)

        async def prepare() -> dict[str, Any]:
            key = await writes.record_key(info, record.kind, str(record.id))
            return {"record": list(key), "reason": _reason(reason), "actor": _actor(info)}

        state = await writes.run_saga(info, "split_customer", client, idempotency_key, prepare)
        return CustomerPayload(saga=Saga.of(state), golden=state.result.get("customer"))


def _reason(reason: str) -> str:
    if not reason.strip() or len(reason) > 500:
        raise writes.bad_input("give a reason (≤ 500 characters)")
    return reason.strip()


def _actor(info: Ctx) -> str:
    principal = info.context.principal
    return principal.subject if principal is not None else "unknown"

