"""The journeys that write: each mutation's steps, in order, with how each is found again and
undone (see :mod:`sagas.engine`).

A journey's input is everything it needs, resolved before it starts (source names, the silo
ids of the customer, the store's location in each silo, SKUs and quantities), so that a resume
after a crash plans the very same steps without reading anything first.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from adapters.errors import ConfigError, InsufficientStock
from adapters.models import (
    LineRequest,
    Money,
    NewComment,
    NewLedgerEntry,
    NewRefund,
    NewRequester,
    NewStoreOrder,
    NewStoreReturn,
    NewTicket,
    NewWebOrder,
    Order,
    ReturnLineRequest,
    SourceRef,
)
from adapters.protocols import (
    CustomerSource,
    InventorySource,
    PointsWriter,
    StoreOrderWriter,
    TicketWriter,
    WebOrderWriter,
)
from identity.registry import Registry
from identity.service import IdentityService
from sagas.engine import Journey, Run, Step

REGISTRY = "registry"
"""The "source" of a step that writes to the identity registry."""


def _lines(run: Run, field: str = "lines") -> tuple[LineRequest, ...]:
    return tuple(LineRequest(str(line["sku"]), int(line["quantity"]))
                 for line in run.input[field])


def order_output(order: Order) -> dict[str, Any]:
    return {"source": order.source, "id": order.id, "number": order.number,
            "total": str(order.total.amount), "currency": order.total.currency}


def points_for(output: Mapping[str, Any]) -> int:
    """Points a purchase earns: one per whole unit of its total (the programme's rule)."""
    return int(Decimal(str(output["total"])))


class Journeys:
    """Every journey, over the adapters and the registry of one process."""

    def __init__(self, adapters: Mapping[str, object], registry: Registry,
                 identity: IdentityService) -> None:
        self.adapters = adapters
        self.registry = registry
        self.identity = identity

    def of(self, source: str, protocol: Any) -> Any:
        """The adapter of ``source``, which must implement ``protocol``."""
        adapter = self.adapters.get(source)
        if not isinstance(adapter, protocol):
            raise ConfigError(f"sources.{source}",
                              f"cannot {protocol.__name__} (not configured for it)")
        return adapter

    def all(self) -> dict[str, Journey]:
        journeys: list[Journey] = [
            CreateTicket(self), UpdateTicket("add_ticket_comment", "add_comment", self),
            UpdateTicket("set_ticket_status", "set_status", self),
            PostPoints("adjust_points", self), PostPoints("redeem_points", self),
            PlacePickupOrder(self), MarkReadyForPickup(self), CompletePickup(self),
            ReturnInStore(self), HandOffCart(self), LinkCustomers(self), SplitCustomer(self)]
        return {j.name: j for j in journeys}

    # -- steps shared by several journeys ---------------------------------------------------
    def create_web_order(self, source: str, field: str = "lines") -> Step:
        writer: WebOrderWriter = self.of(source, WebOrderWriter)

        async def apply(run: Run) -> Any:
            order = await writer.create_order(NewWebOrder(
                customer_id=str(run.input["web_customer_id"]), lines=_lines(run, field),
                saga_tag=run.tag, pickup_location_id=run.input.get("web_location_id"),
                email=run.input.get("email")))
            return order_output(order)

        async def read_back(run: Run) -> Any:
            found = await writer.orders_by_tag(run.tag)
            return order_output(found[0]) if found else None

        async def undo(run: Run, output: Any) -> None:
            await writer.cancel_order(str(output["id"]), reason="other", restock=True)

        return Step("create_order", source, apply, read_back, undo)

    def complete_draft(self, source: str) -> Step:
        writer: WebOrderWriter = self.of(source, WebOrderWriter)

        async def apply(run: Run) -> Any:
            order = await writer.complete_draft_order(
                str(run.input["cart_id"]), saga_tag=run.tag,
                pickup_location_id=run.input.get("web_location_id"))
            return order_output(order)

        async def undo(run: Run, output: Any) -> None:
            await writer.cancel_order(str(output["id"]), reason="other", restock=True)

        return Step("create_order", source, apply, None, undo)

    def hold_at_store(self, source: str, order_step: str | None, *,
                      note: str = "to collect at the counter") -> Step:
        """A pickup order at the store's point of sale, after checking the store has the
        units: the point of sale holds them for it (out of the stock on sale) until it is
        collected or cancelled. Its ``reference_id`` names the web order of ``order_step``
        (else the input's ``reference_id``); cancelling it releases the units."""
        writer: StoreOrderWriter = self.of(source, StoreOrderWriter)
        reader: InventorySource = self.of(source, InventorySource)

        def new_order(run: Run) -> NewStoreOrder:
            reference = run.input.get("reference_id")
            if order_step is not None:
                reference = str(run.outputs[order_step]["id"])
            return NewStoreOrder(
                location_id=str(run.input["pos_location_id"]), lines=_lines(run),
                customer_id=run.input.get("pos_customer_id"), reference_id=reference,
                pickup=True, recipient_name=run.input.get("recipient_name"), note=note)

        async def create(run: Run) -> Any:
            made = await writer.create_store_order(new_order(run),
                                                   key=run.key("hold_at_store"))
            return order_output(made)

        async def apply(run: Run) -> Any:
            wanted = _lines(run)
            levels = await reader.inventory_by_skus([line.sku for line in wanted],
                                                    [str(run.input["pos_location_id"])])
            for number, (line, found) in enumerate(zip(wanted, levels, strict=True), 1):
                if sum((lv.available for lv in found), Decimal(0)) < line.quantity:
                    raise InsufficientStock(source, f"not enough units of line {number} at "
                                                    "the store")
            return await create(run)

        async def undo(run: Run, output: Any) -> None:
            await writer.update_store_order(str(output["id"]), state="CANCELED",
                                            fulfillment_state="CANCELED",
                                            key=run.key("hold_at_store", "-undo"))

        # after an unknown outcome, the same idempotency key answers the order if it was made
        return Step("hold_at_store", source, apply, create, undo)

    def pickup_steps(self, web_order: Step, input: dict[str, Any]) -> list[Step]:
        """A web order for pickup (``web_order``, output ``create_order``), the units held at
        the store for it, and the points it earns when the customer is a member."""
        steps = [web_order, self.hold_at_store(str(input["pos"]), "create_order")]
        if input.get("card"):
            steps.append(self.points("accrue_points", str(input["loyalty"]),
                                     points=lambda run: points_for(run.outputs["create_order"]),
                                     reason="PURCHASE", channel="WEB",
                                     order_step="create_order"))
        return steps

    def points(self, name: str, source: str, *, points: Any, reason: str,
               channel: str | None, order_step: str | None = None,
               allow_negative: bool = False) -> Step:
        """A ledger entry; ``points`` is a number or a function of the run."""
        writer: PointsWriter = self.of(source, PointsWriter)

        def amount(run: Run) -> int:
            return int(points(run) if callable(points) else points)

        def ref(run: Run) -> SourceRef | None:
            if order_step is None:
                raw = run.input.get("order_ref")
                if not raw:
                    return None
                kind, _, rid = str(raw).partition(":")
                return SourceRef(kind, rid)
            made = run.outputs[order_step]
            return SourceRef(str(run.input.get("web_kind", "shopify")), str(made["id"]))

        async def apply(run: Run) -> Any:
            entry = await writer.post_points(NewLedgerEntry(
                card=str(run.input["card"]), points=amount(run), reason=reason,
                channel=channel, order_ref=ref(run),
                allow_negative_balance=allow_negative), key=run.key(name))
            return {"entry_id": entry.id, "points": entry.points, "card": run.input["card"]}

        async def undo(run: Run, output: Any) -> None:
            await writer.post_points(NewLedgerEntry(
                card=str(run.input["card"]), points=-int(output["points"]),
                reason="ADJUSTMENT", channel=channel, order_ref=ref(run),
                allow_negative_balance=True), key=run.key(name, "-undo"))

        return Step(name, source, apply, None, undo)


# -- tickets --------------------------------------------------------------------------------
class CreateTicket:
    name = "create_ticket"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        source = str(input["helpdesk"])
        writer: TicketWriter = self.j.of(source, TicketWriter)
        steps: list[Step] = []
        if not input.get("requester_id"):
            async def ensure(run: Run) -> Any:
                person = run.input["requester"]
                user_id = await writer.ensure_requester(NewRequester(
                    name=str(person["name"]), email=person.get("email"),
                    phone=person.get("phone"), external_id=str(run.input["golden_id"])))
                return {"requester_id": user_id}

            async def link(run: Run) -> Any:
                user_id = str(run.outputs["ensure_requester"]["requester_id"])
                reader: CustomerSource = self.j.of(source, CustomerSource)
                found = [c for c in await reader.customers_by_ids([user_id]) if c]
                await self.j.identity.link_customers(found)
                anchor = input.get("anchor")
                if anchor:
                    await self.j.registry.link(
                        (source, user_id), (str(anchor[0]), str(anchor[1])),
                        actor="c360:create_ticket", reason="helpdesk user created for the "
                                                           "customer")
                return {"linked": user_id}

            steps += [Step("ensure_requester", source, ensure),
                      Step("link_requester", REGISTRY, link)]

        async def create(run: Run) -> Any:
            requester = run.input.get("requester_id") or run.outputs["ensure_requester"][
                "requester_id"]
            ticket = await writer.create_ticket(NewTicket(
                requester_id=str(requester), subject=str(run.input["subject"]),
                body=str(run.input["body"]), channel=str(run.input["channel"]),
                order_reference=run.input.get("order_reference")),
                key=run.key("create_ticket"))
            return {"source": source, "id": ticket.id}

        async def find(run: Run) -> Any:
            found = await writer.ticket_by_key(run.key("create_ticket"))
            return None if found is None else {"source": source, "id": found.id}

        return [*steps, Step("create_ticket", source, create, find)]

    def result(self, run: Run) -> Any:
        return {"ticket": run.outputs["create_ticket"]}


class UpdateTicket:
    """One write to an existing ticket (``add_ticket_comment``: the comment; ``set_ticket_status``:
    the status), as one step named after the writer's method."""

    def __init__(self, name: str, step: str, journeys: Journeys) -> None:
        self.name = name
        self.step = step
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        source = str(input["helpdesk"])
        writer: TicketWriter = self.j.of(source, TicketWriter)

        async def update(run: Run) -> Any:
            ticket_id, key = str(run.input["ticket_id"]), run.key(self.step)
            if self.step == "add_comment":
                ticket = await writer.add_comment(ticket_id, NewComment(
                    body=str(run.input["body"]), public=bool(run.input["public"]),
                    author_id=run.input.get("author_id")), key=key)
            else:
                ticket = await writer.set_status(ticket_id, str(run.input["status"]), key=key)
            return {"source": source, "id": ticket.id}

        return [Step(self.step, source, update)]

    def result(self, run: Run) -> Any:
        return {"ticket": run.outputs[self.step]}


# -- points ---------------------------------------------------------------------------------
class PostPoints:
    """``adjust_points`` (any sign, reason ADJUSTMENT) and ``redeem_points`` (a spend that
    never takes the balance below zero)."""

    def __init__(self, name: str, journeys: Journeys) -> None:
        self.name = name
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        redeem = self.name == "redeem_points"
        return [self.j.points("post_points", str(input["loyalty"]),
                              points=-int(input["points"]) if redeem else int(input["points"]),
                              reason="REDEMPTION" if redeem else "ADJUSTMENT",
                              channel=input.get("channel"))]

    def result(self, run: Run) -> Any:
        return {"entry": run.outputs["post_points"]}


# -- buy online, pick up in store -----------------------------------------------------------
class PlacePickupOrder:
    name = "place_pickup_order"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        return self.j.pickup_steps(self.j.create_web_order(str(input["web"])), input)

    def result(self, run: Run) -> Any:
        return {"order": run.outputs["create_order"],
                "store_order": run.outputs["hold_at_store"],
                "points": (run.outputs.get("accrue_points") or {}).get("points", 0)}


def _at_store(journeys: Journeys, input: dict[str, Any], name: str, **moves: str) -> list[Step]:
    """The step moving the store's pickup order of a web order (when it has one) on."""
    if not input.get("pos_order_id"):
        return []
    source = str(input["pos"])
    writer: StoreOrderWriter = journeys.of(source, StoreOrderWriter)

    async def move(run: Run) -> Any:
        return order_output(await writer.update_store_order(
            str(run.input["pos_order_id"]), key=run.key(name), **moves))

    return [Step(name, source, move)]


class MarkReadyForPickup:
    name = "mark_ready_for_pickup"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        source = str(input["web"])
        writer: WebOrderWriter = self.j.of(source, WebOrderWriter)

        async def ready(run: Run) -> Any:
            return order_output(await writer.mark_ready_for_pickup(str(run.input["order_id"])))

        return [*_at_store(self.j, input, "prepare_at_store", fulfillment_state="PREPARED"),
                Step("mark_ready", source, ready)]

    def result(self, run: Run) -> Any:
        return {"order": run.outputs["mark_ready"],
                "store_order": run.outputs.get("prepare_at_store")}


class CompletePickup:
    """The store's pickup order collected (its held units sold), then the web order fulfilled.
    Neither can be undone once the customer has the goods: a failure leaves the saga FAILED
    with the step named, and both steps are safe to run again."""

    name = "complete_pickup"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        web = str(input["web"])
        writer: WebOrderWriter = self.j.of(web, WebOrderWriter)

        async def collect(run: Run) -> Any:
            return order_output(await writer.complete_pickup(str(run.input["order_id"])))

        return [*_at_store(self.j, input, "collect_at_store", fulfillment_state="COMPLETED",
                           state="COMPLETED"),
                Step("fulfil_order", web, collect)]

    def result(self, run: Run) -> Any:
        return {"order": run.outputs["fulfil_order"],
                "store_order": run.outputs.get("collect_at_store")}


# -- return in store ------------------------------------------------------------------------
class ReturnInStore:
    """A web order's lines brought back to a store: the store's return (POS), the points
    those lines earned reversed, then the refund restocking at the store (last: a refund
    cannot be undone)."""

    name = "return_in_store"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        web = str(input["web"])
        pos = str(input["pos"])
        refunds: WebOrderWriter = self.j.of(web, WebOrderWriter)
        returns: StoreOrderWriter = self.j.of(pos, StoreOrderWriter)

        def return_lines(run: Run) -> tuple[ReturnLineRequest, ...]:
            return tuple(ReturnLineRequest(
                str(line["sku"]), int(line["quantity"]),
                Money(Decimal(str(line["unit_price"])), str(line["currency"])),
                line.get("title")) for line in run.input["lines"])

        async def store_return(run: Run) -> Any:
            made = await returns.create_store_return(NewStoreReturn(
                location_id=str(run.input["pos_location_id"]), lines=return_lines(run),
                reference_id=str(run.input["reference_id"]),
                customer_id=run.input.get("pos_customer_id")), key=run.key("store_return"))
            return order_output(made)

        async def cancel_return(run: Run, output: Any) -> None:
            await returns.update_store_order(str(output["id"]), state="CANCELED",
                                             key=run.key("store_return", "-undo"))

        async def refund(run: Run) -> Any:
            made = await refunds.create_refund(NewRefund(
                order_id=str(run.input["order_id"]), lines=_lines(run),
                key=run.key("refund"), restock_location_id=run.input.get("web_location_id"),
                note="returned in store"))
            return {"source": made.source, "id": made.id}

        async def find_refund(run: Run) -> Any:
            found = await refunds.refunds_by_key(str(run.input["order_id"]),
                                                 run.key("refund"))
            return {"source": found[0].source, "id": found[0].id} if found else None

        steps = [Step("store_return", pos, store_return, None, cancel_return)]
        if input.get("card") and int(input.get("points", 0)):
            steps.append(self.j.points("reverse_points", str(input["loyalty"]),
                                       points=-int(input["points"]), reason="RETURN",
                                       channel="STORE", allow_negative=True))
        steps.append(Step("refund", web, refund, find_refund))
        return steps

    def result(self, run: Run) -> Any:
        return {"order": {"source": run.input["web"], "id": run.input["order_id"]},
                "store_return": run.outputs["store_return"], "refund": run.outputs["refund"],
                "points": (run.outputs.get("reverse_points") or {}).get("points", 0)}


# -- cart handoff ---------------------------------------------------------------------------
class HandOffCart:
    """An online cart turned into a pickup order (its draft order completed, or an order
    made from its lines) or into a sale prepared at the store's counter (a POS order with a
    PICKUP fulfillment and its units reserved)."""

    name = "hand_off_cart"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        pos = str(input["pos"])
        if input["mode"] != "PICKUP":
            return [self.j.hold_at_store(pos, None,
                                         note="prepared from the customer's online cart")]
        web = str(input["web"])
        first = (self.j.complete_draft(web) if input["cart_kind"] == "DRAFT_ORDER"
                 else self.j.create_web_order(web))
        return self.j.pickup_steps(first, input)

    def result(self, run: Run) -> Any:
        made = run.outputs.get("create_order") or run.outputs["hold_at_store"]
        return {"order": made, "store_order": run.outputs["hold_at_store"],
                "points": (run.outputs.get("accrue_points") or {}).get("points", 0)}


# -- identity stewardship -------------------------------------------------------------------
class LinkCustomers:
    name = "link_customers"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        async def link(run: Run) -> Any:
            a, b = run.input["a"], run.input["b"]
            await self.j.registry.link((str(a[0]), str(a[1])), (str(b[0]), str(b[1])),
                                       actor=str(run.input["actor"]),
                                       reason=str(run.input["reason"]))
            golden = await self.j.registry.golden_of([(str(a[0]), str(a[1]))])
            return {"customer": golden[0]}

        return [Step("link", REGISTRY, link)]

    def result(self, run: Run) -> Any:
        return run.outputs["link"]


class SplitCustomer:
    name = "split_customer"

    def __init__(self, journeys: Journeys) -> None:
        self.j = journeys

    def plan(self, input: dict[str, Any]) -> list[Step]:
        async def split(run: Run) -> Any:
            record = run.input["record"]
            key = (str(record[0]), str(record[1]))
            await self.j.registry.split(key, actor=str(run.input["actor"]),
                                        reason=str(run.input["reason"]))
            golden = await self.j.registry.golden_of([key])
            return {"customer": golden[0]}

        return [Step("split", REGISTRY, split)]

    def result(self, run: Run) -> Any:
        return run.outputs["split"]
