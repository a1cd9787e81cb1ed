"""The emulated Shopify Admin GraphQL API (a subset): ``POST /admin/api/{version}/graphql.json``.

Schema: ``QueryRoot.orders`` and ``QueryRoot.customers`` connections (``first``/``last``,
``after``/``before``, ``query`` in Shopify's search syntax, ``sortKey``, ``reverse``) over
``Order`` (``id`` = ``gid://shopify/Order/<id>``, ``legacyResourceId``, ``name``, ``createdAt``,
``processedAt``, ``updatedAt``, ``cancelledAt``, ``closedAt``, ``closed``, ``customer``) and
``Customer`` (``id``, ``legacyResourceId``, ``firstName``, ``lastName``, ``displayName``,
``createdAt``, ``updatedAt``, ``numberOfOrders``, ``tags``), with ``edges { cursor node }``,
``nodes`` and ``pageInfo``; ``Order.tags`` and ``Order.fulfillmentOrders`` (``FulfillmentOrder``:
``id``, ``status``, ``createdAt``, ``updatedAt``, ``deliveryMethod { methodType }``,
``assignedLocation { name location { legacyResourceId } }``). One mutation,
``fulfillmentOrderLineItemsPreparedForPickup`` (refusals as ``userErrors`` with Shopify's codes;
a mutation costs 10 points). No ``node(id:)``; everything else Shopify has is left out.
Answers come from the store's indexes: ``customer_id:1 OR customer_id:2 …`` costs the
matching orders, not the shop's.

Search (``query``), see :mod:`.search`: orders support ``customer_id``, ``id``, ``name`` (the
exact order name, ``name:#1001``), ``tag`` (an exact tag, case-insensitive: ``tag:'c360-x'``) and
``created_at``/``updated_at``/``processed_at`` (with ``:<``, ``:>``, ``:<=``, ``:>=``; a value
without offset is in the shop's time zone) and bare words matching the order name or e-mail;
customers support ``id``, ``email``, ``phone``, ``first_name``, ``last_name``, ``created_at``,
``updated_at`` and bare words. A term on another field is ignored (Shopify documents that an
invalid field is ignored, not refused).

Behaviour chosen to match the real API (unverified details marked):

* Every answer is HTTP 200 with ``{"data", "errors"?, "extensions": {"cost": …}}`` — including
  GraphQL syntax and validation errors (then ``errors`` only: the texts are graphql-core's, not
  Shopify's graphql-ruby wording) and ``THROTTLED``; a bad token is REST's 401
  ``{"errors": "[API] Invalid API key …"}``. A body that is not JSON is 400 (unverified shape).
* Cost (calculated before execution, ``requestedQueryCost``): an object field costs 1, a scalar
  or enum 0, a connection ``2 + (first or last) × (1 + the node's own fields)`` (``pageInfo``,
  ``edges`` and ``cursor`` free); ``actualQueryCost`` counts the nodes returned. Above 1000 the
  query is refused before execution (``MAX_COST_EXCEEDED``, no ``data``).
* A connection needs ``first`` or ``last`` (``you must provide one of first or last``), each at
  most 250 (``first cannot exceed 250 …``); both refused before execution, no ``data``.
* The cost bucket (``maximumAvailable``/``restoreRate`` from the config, ``currentlyAvailable``
  after this query, refunded ``requested - actual``) is reported on every executed query and,
  when ``rate_limit`` is on, a query whose requested cost exceeds what is available gets
  ``{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", …}}],
  "extensions": {"cost": {…, "actualQueryCost": null}}}`` with HTTP 200, as Shopify does.
* Cursors are opaque (base64 JSON of the last id and sort value, like Shopify's); a garbled one
  is an execution error (``Invalid cursor``, unverified wording).
* Orders default to ``sortKey: PROCESSED_AT`` and customers to ``ID``, ascending unless
  ``reverse: true``; ties break on the id.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    validate,
)
from graphql import parse as parse_document
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from silos.responses import json_response

from . import search
from .config import ShopifySiloConfig
from .records import parse_time
from .search import Filter, Term
from .store import ShopifyStore

MAX_PAGE = 250
MAX_QUERY_COST = 1000
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"
BULK_DOCS = "https://shopify.dev/api/usage/bulk-operations/queries"
FIRST_OR_LAST = "you must provide one of first or last"

SDL = """
scalar DateTime
scalar UnsignedInt64

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Customer {
  id: ID!
  legacyResourceId: UnsignedInt64!
  firstName: String
  lastName: String
  displayName: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  numberOfOrders: UnsignedInt64!
  tags: [String!]!
}

type CustomerEdge {
  cursor: String!
  node: Customer!
}

type CustomerConnection {
  edges: [CustomerEdge!]!
  nodes: [Customer!]!
  pageInfo: PageInfo!
}

enum CustomerSortKeys {
  CREATED_AT
  ID
  UPDATED_AT
}

type Order {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  createdAt: DateTime!
  processedAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  closedAt: DateTime
  closed: Boolean!
  customer: Customer
  tags: [String!]!
  fulfillmentOrders(
    first: Int
    last: Int
    after: String
    before: String
  ): FulfillmentOrderConnection!
}

enum FulfillmentOrderStatus {
  CANCELLED
  CLOSED
  INCOMPLETE
  IN_PROGRESS
  ON_HOLD
  OPEN
  SCHEDULED
}

enum DeliveryMethodType {
  LOCAL
  NONE
  PICKUP_POINT
  PICK_UP
  RETAIL
  SHIPPING
}

type DeliveryMethod {
  id: ID!
  methodType: DeliveryMethodType!
}

type Location {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
}

type FulfillmentOrderAssignedLocation {
  name: String!
  location: Location
}

type FulfillmentOrder {
  id: ID!
  status: FulfillmentOrderStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  deliveryMethod: DeliveryMethod
  assignedLocation: FulfillmentOrderAssignedLocation!
}

type FulfillmentOrderEdge {
  cursor: String!
  node: FulfillmentOrder!
}

type FulfillmentOrderConnection {
  edges: [FulfillmentOrderEdge!]!
  nodes: [FulfillmentOrder!]!
  pageInfo: PageInfo!
}

type OrderEdge {
  cursor: String!
  node: Order!
}

type OrderConnection {
  edges: [OrderEdge!]!
  nodes: [Order!]!
  pageInfo: PageInfo!
}

enum OrderSortKeys {
  CREATED_AT
  ID
  ORDER_NUMBER
  PROCESSED_AT
  UPDATED_AT
}

type QueryRoot {
  orders(
    first: Int
    last: Int
    after: String
    before: String
    query: String
    sortKey: OrderSortKeys = PROCESSED_AT
    reverse: Boolean = false
  ): OrderConnection!
  customers(
    first: Int
    last: Int
    after: String
    before: String
    query: String
    sortKey: CustomerSortKeys = ID
    reverse: Boolean = false
  ): CustomerConnection!
}

enum FulfillmentOrderLineItemsPreparedForPickupUserErrorCode {
  FULFILLMENT_ORDER_INVALID
  NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER
  UNABLE_TO_PREPARE_QUANTITY
}

type FulfillmentOrderLineItemsPreparedForPickupUserError {
  code: FulfillmentOrderLineItemsPreparedForPickupUserErrorCode
  field: [String!]
  message: String!
}

type FulfillmentOrderLineItemsPreparedForPickupPayload {
  userErrors: [FulfillmentOrderLineItemsPreparedForPickupUserError!]!
}

input PreparedFulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
}

input FulfillmentOrderLineItemsPreparedForPickupInput {
  lineItemsByFulfillmentOrder: [PreparedFulfillmentOrderLineItemsInput!]!
}

type Mutation {
  fulfillmentOrderLineItemsPreparedForPickup(
    input: FulfillmentOrderLineItemsPreparedForPickupInput!
  ): FulfillmentOrderLineItemsPreparedForPickupPayload
}

schema {
  query: QueryRoot
  mutation: Mutation
}
"""
MUTATION_COST = 10
"""What a mutation costs, requested and actual (Shopify: 10 points)."""

Body = dict[str, Any]
SortKey = tuple[float, int]
STRUCTURAL = frozenset({"pageInfo", "cursor", "__typename"})


# ------------------------------------------------------------------------------- the bucket


class CostBucket:
    """The app's GraphQL cost bucket: ``maximum`` points, restored ``restore_rate`` per second."""

    def __init__(self, maximum: float, restore_rate: float, clock: Callable[[], float]) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.clock = clock
        self._available = maximum
        self._last = clock()

    def available(self) -> float:
        now = self.clock()
        elapsed = now - self._last
        self._last = now
        if elapsed > 0:
            self._available = min(self.maximum, self._available + elapsed * self.restore_rate)
        return self._available

    def take(self, cost: int, *, enforce: bool) -> bool:
        """Reserve ``cost`` points; False (nothing taken) when enforcing and too few are left."""
        available = self.available()
        if cost > available and enforce:
            return False
        self._available = max(0.0, available - cost)
        return True

    def refund(self, points: int) -> None:
        self._available = min(self.maximum, self.available() + max(points, 0))

    def status(self) -> Body:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": math.floor(self.available()),
            "restoreRate": float(self.restore_rate),
        }


# -------------------------------------------------------------------------------- the cost


def _arg(node: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            return variables.get(value.name.value)
        if isinstance(value, NullValueNode):
            return None
        return None
    return None


@dataclass
class CostAnalysis:
    """Walks an operation's selections against the schema: requested cost, connection limits."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]

    def __post_init__(self) -> None:
        self.errors: list[GraphQLError] = []

    def fields(
        self, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()
    ) -> list[FieldNode]:
        """The fields of a selection set, fragments flattened."""
        found: list[FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    found.extend(self.fields(fragment.selection_set, seen | {name}))
        return found

    def cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLObjectType,
        path: tuple[str, ...] = (),
        data: Any = None,
        actual: bool = False,
    ) -> int:
        """The requested cost (``actual`` False) or the cost of ``data`` as returned."""
        total = 0
        for node in self.fields(selection_set):
            name = node.name.value
            if name.startswith("__") or name not in parent.fields:
                continue
            key = node.alias.value if node.alias else name
            named = get_named_type(parent.fields[name].type)
            if not isinstance(named, GraphQLObjectType):
                continue
            value = data.get(key) if actual and isinstance(data, Mapping) else None
            if actual and value is None:
                continue
            if named.name.endswith("Connection"):
                total += self.connection(node, named, (*path, key), value, actual)
            else:
                total += 1 + self.cost(node.selection_set, named, (*path, key), value, actual)
        return total

    def connection(
        self,
        node: FieldNode,
        connection: GraphQLObjectType,
        path: tuple[str, ...],
        data: Any,
        actual: bool,
    ) -> int:
        if not actual:
            self.check_size(node, path)
        size = max(
            (n for n in (_arg(node, "first", self.variables), _arg(node, "last", self.variables))
             if isinstance(n, int)),
            default=0,
        )
        total = 2
        for part in self.fields(node.selection_set):
            name = part.name.value
            key = part.alias.value if part.alias else name
            if name == "nodes":
                item_type = get_named_type(connection.fields["nodes"].type)
                items = data.get(key) if actual and isinstance(data, Mapping) else None
                total += self.items(part, item_type, path + (key,), items, size, actual)
            elif name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                assert isinstance(edge_type, GraphQLObjectType)
                item_type = get_named_type(edge_type.fields["node"].type)
                edges = data.get(key) if actual and isinstance(data, Mapping) else None
                for inner in self.fields(part.selection_set):
                    if inner.name.value != "node":
                        continue
                    inner_key = inner.alias.value if inner.alias else "node"
                    items = (
                        [edge.get(inner_key) for edge in edges if isinstance(edge, Mapping)]
                        if isinstance(edges, list) else None
                    )
                    total += self.items(inner, item_type, path + (key, inner_key), items, size,
                                        actual)
        return total

    def items(
        self,
        node: FieldNode,
        item_type: Any,
        path: tuple[str, ...],
        items: Any,
        size: int,
        actual: bool,
    ) -> int:
        assert isinstance(item_type, GraphQLObjectType)
        if not actual:
            return size * (1 + self.cost(node.selection_set, item_type, path))
        return sum(
            1 + self.cost(node.selection_set, item_type, path, item, True)
            for item in (items if isinstance(items, list) else ())
            if item is not None
        )

    def check_size(self, node: FieldNode, path: tuple[str, ...]) -> None:
        first = _arg(node, "first", self.variables)
        last = _arg(node, "last", self.variables)
        if first is None and last is None:
            self.errors.append(GraphQLError(FIRST_OR_LAST, node, path=list(path)))
        for name, value in (("first", first), ("last", last)):
            if isinstance(value, int) and value > MAX_PAGE:
                message = (
                    f"{name} cannot exceed {MAX_PAGE}. To query larger amounts of data with "
                    "fewer limits, bulk operations should be used instead.\n"
                    f"See {BULK_DOCS} for usage details.\n"
                )
                self.errors.append(GraphQLError(message, node, path=list(path)))
            elif isinstance(value, int) and value < 0:
                self.errors.append(
                    GraphQLError(f"{name} must be a non-negative integer", node, path=list(path)))


# ---------------------------------------------------------------------------- connections


def utc(timestamp: float) -> str:
    """``2025-07-02T16:25:58Z`` (Shopify's ``DateTime``: UTC, whole seconds)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_cursor(key: SortKey) -> str:
    value, record_id = key
    payload = {"last_id": record_id, "last_value": value}
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode("ascii")


def decode_cursor(cursor: str) -> SortKey:
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise GraphQLError("Invalid cursor") from exc
    if not isinstance(payload, dict):
        raise GraphQLError("Invalid cursor")
    record_id, value = payload.get("last_id"), payload.get("last_value")
    if (
        not isinstance(record_id, int)
        or isinstance(record_id, bool)
        or not isinstance(value, int | float)
        or isinstance(value, bool)
    ):
        raise GraphQLError("Invalid cursor")
    return (float(value), record_id)


def paginate(
    keys: list[SortKey], args: Mapping[str, Any], node: Callable[[int], Body]
) -> Body:
    """One Relay connection page over ``keys`` (ascending), honouring ``reverse``, the
    cursors, ``first`` then ``last``."""
    reverse = bool(args.get("reverse"))
    ordered = sorted(keys, reverse=reverse)

    def position(key: SortKey) -> tuple[float, int]:
        return (-key[0], -key[1]) if reverse else key

    start, end = 0, len(ordered)
    if args.get("after"):
        start = bisect_right(ordered, position(decode_cursor(args["after"])), key=position)
    if args.get("before"):
        end = max(start, bisect_left(ordered, position(decode_cursor(args["before"])),
                                     key=position))
    first, last = args.get("first"), args.get("last")
    if isinstance(first, int):
        end = min(end, start + first)
    if isinstance(last, int):
        start = max(start, end - last)
    page = ordered[start:end]
    nodes = [node(record_id) for _, record_id in page]
    cursors = [encode_cursor(key) for key in page]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": end < len(ordered),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def _number(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


class Resolvers:
    """``QueryRoot.orders`` / ``customers`` and the nodes, answered from the store."""

    def __init__(self, store: ShopifyStore) -> None:
        self.store = store

    # ------------------------------------------------------------------------- orders

    def order_term(self, term: Term) -> Filter:
        store = self.store
        field, value = term.field, term.value
        if field == "customer_id":
            customer_id = _number(value)
            if customer_id is None or term.op != ":":
                return search.NONE
            return Filter.of(store.orders_by_customer.get(customer_id, ()))
        if field == "id":
            return self.id_filter(term, store.orders)
        columns = {
            "created_at": store.order_created_at,
            "updated_at": store.order_updated_at,
            "processed_at": store.order_processed_at,
        }
        if field in columns:
            return self.time_filter(term, columns[field])
        if field == "tag":
            if term.op != ":":
                return search.NONE
            return Filter.of(store.order_ids_tagged(value))
        if field == "name":
            exact = value.strip().lower()
            named = store.orders

            def named_so(order_id: int) -> bool:
                return str(named[order_id]["name"]).lower() == exact

            return search.Filter(None, named_so)
        if field is None:
            wanted = value.strip().lower()
            orders = store.orders

            def matches(order_id: int) -> bool:
                order = orders[order_id]
                name = str(order["name"]).lower()
                return wanted in (name, name.lstrip("#"), str(order["email"] or "").lower())

            return search.Filter(None, matches)
        return search.ANY

    def id_filter(self, term: Term, records: Mapping[int, Any]) -> Filter:
        wanted = _number(term.value)
        if wanted is None:
            return search.NONE
        if term.op == ":":
            return Filter.of([wanted] if wanted in records else [])
        op = term.op
        return Filter(None, lambda record_id: search.compare(op, record_id, wanted))

    def time_filter(self, term: Term, column: Mapping[int, float]) -> Filter:
        try:
            bound = parse_time(term.value, self.store.tz).timestamp()
        except ValueError:
            return search.NONE
        op = term.op
        return Filter(None, lambda record_id: search.compare(op, column[record_id], bound))

    def order_node(self, order_id: int) -> Body:
        store = self.store
        order = store.orders[order_id]
        customer = order.get("customer")
        cancelled = order.get("cancelled_at")
        closed = order.get("closed_at")
        return {
            "id": f"gid://shopify/Order/{order_id}",
            "legacyResourceId": str(order_id),
            "name": order["name"],
            "createdAt": utc(store.order_created_at[order_id]),
            "processedAt": utc(store.order_processed_at[order_id]),
            "updatedAt": utc(store.order_updated_at[order_id]),
            "cancelledAt": None if cancelled is None else _stamp(cancelled, store),
            "closedAt": None if closed is None else _stamp(closed, store),
            "closed": closed is not None,
            "customer_id": None if not customer else int(customer["id"]),
            "tags": [tag.strip() for tag in str(order.get("tags") or "").split(",")
                     if tag.strip()],
        }

    def orders(self, root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Body:
        store = self.store
        ids = search.evaluate(args.get("query"), self.order_term, store.orders)
        sort_key = args.get("sortKey", "PROCESSED_AT")
        if sort_key == "ID":
            keys = [(float(i), i) for i in ids]
        elif sort_key == "ORDER_NUMBER":
            keys = [(float(store.orders[i]["order_number"]), i) for i in ids]
        else:
            column = {
                "CREATED_AT": store.order_created_at,
                "UPDATED_AT": store.order_updated_at,
                "PROCESSED_AT": store.order_processed_at,
            }[sort_key]
            keys = [(column[i], i) for i in ids]
        return paginate(keys, args, self.order_node)

    def order_customer(self, order: Body, info: GraphQLResolveInfo[Any]) -> Body | None:
        customer_id = order.get("customer_id")
        if customer_id is None or customer_id not in self.store.customers:
            return None
        return self.customer_node(customer_id)

    def order_fulfillment_orders(self, order: Body, info: GraphQLResolveInfo[Any],
                                 **args: Any) -> Body:
        ids = self.store.fulfillment_order_ids(int(order["legacyResourceId"]))
        return paginate([(float(i), i) for i in ids], args, self.fulfillment_order_node)

    def fulfillment_order_node(self, fo_id: int) -> Body:
        store = self.store
        state = store.fulfillment_orders[fo_id]
        location = store.locations[state["assigned_location_id"]]
        return {
            "id": f"gid://shopify/FulfillmentOrder/{fo_id}",
            "status": store.fulfillment_order_status(fo_id).upper(),
            "createdAt": _stamp(state["created_at"], store),
            "updatedAt": _stamp(state["updated_at"], store),
            "deliveryMethod": {
                "id": f"gid://shopify/DeliveryMethod/{state['delivery_method_id']}",
                "methodType": str(state["method_type"]).upper(),
            },
            "assignedLocation": {
                "name": location["name"],
                "location": {
                    "id": f"gid://shopify/Location/{location['id']}",
                    "legacyResourceId": str(location["id"]),
                    "name": location["name"],
                },
            },
        }

    def prepared_for_pickup(self, root: Any, info: GraphQLResolveInfo[Any],
                            input: dict[str, Any]) -> Body:
        """``fulfillmentOrderLineItemsPreparedForPickup``: all or nothing, refusals as
        ``userErrors`` (see :meth:`~.store.ShopifyStore.prepare_for_pickup`)."""
        wanted: list[int] = []
        for entry in input["lineItemsByFulfillmentOrder"]:
            gid_text = str(entry["fulfillmentOrderId"])
            prefix = "gid://shopify/FulfillmentOrder/"
            number = _number(gid_text[len(prefix):]) if gid_text.startswith(prefix) else None
            wanted.append(-1 if number is None else number)
        errors = self.store.prepare_for_pickup(wanted)
        return {"userErrors": [
            {"code": code, "message": message,
             "field": ["input", "lineItemsByFulfillmentOrder", str(index), "fulfillmentOrderId"]}
            for index, code, message in errors]}

    # ---------------------------------------------------------------------- customers

    def customer_term(self, term: Term) -> Filter:
        store = self.store
        field = term.field
        if field == "id":
            return self.id_filter(term, store.customers)
        if field in ("created_at", "updated_at"):
            column = (
                store.customer_created_at if field == "created_at" else store.customer_updated_at
            )
            return self.time_filter(term, column)
        if field in (None, "email", "phone", "first_name", "last_name"):
            return Filter.of(store.search_customer_ids([(field, term.value)]))
        return search.ANY

    def customer_node(self, customer_id: int) -> Body:
        store = self.store
        customer = store.customers[customer_id]
        first, last = customer.get("first_name"), customer.get("last_name")
        display = " ".join(part for part in (first, last) if part) or (
            customer.get("email") or customer.get("phone") or "")
        tags = [tag.strip() for tag in str(customer.get("tags") or "").split(",") if tag.strip()]
        return {
            "id": f"gid://shopify/Customer/{customer_id}",
            "legacyResourceId": str(customer_id),
            "firstName": first,
            "lastName": last,
            "displayName": display,
            "createdAt": utc(store.customer_created_at[customer_id]),
            "updatedAt": utc(store.customer_updated_at[customer_id]),
            "numberOfOrders": str(customer.get("orders_count", 0)),
            "tags": tags,
        }

    def customers(self, root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Body:
        store = self.store
        ids = search.evaluate(args.get("query"), self.customer_term, store.customers)
        sort_key = args.get("sortKey", "ID")
        if sort_key == "ID":
            keys = [(float(i), i) for i in ids]
        else:
            column = (
                store.customer_created_at if sort_key == "CREATED_AT"
                else store.customer_updated_at
            )
            keys = [(column[i], i) for i in ids]
        return paginate(keys, args, self.customer_node)


def _stamp(text: str, store: ShopifyStore) -> str:
    return utc(parse_time(text, store.tz).timestamp())


def build(store: ShopifyStore) -> GraphQLSchema:
    """The schema with its resolvers bound to ``store``."""
    schema = build_schema(SDL)
    resolvers = Resolvers(store)
    query = schema.query_type
    order = schema.get_type("Order")
    assert query is not None and isinstance(order, GraphQLObjectType)
    query.fields["orders"].resolve = resolvers.orders
    query.fields["customers"].resolve = resolvers.customers
    order.fields["customer"].resolve = resolvers.order_customer
    order.fields["fulfillmentOrders"].resolve = resolvers.order_fulfillment_orders
    mutation = schema.mutation_type
    assert mutation is not None
    mutation.fields["fulfillmentOrderLineItemsPreparedForPickup"].resolve = (
        resolvers.prepared_for_pickup)
    return schema


# ------------------------------------------------------------------------------- the endpoint


def errors_only(errors: Sequence[GraphQLError]) -> Body:
    return {"errors": [error.formatted for error in errors]}


def throttled(requested: int | None, status: Body) -> Body:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS},
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None,
                "throttleStatus": status,
            }
        },
    }


def internal_error() -> Body:
    """Shopify's GraphQL internal error: HTTP 200, code ``INTERNAL_SERVER_ERROR`` (it is
    answered instead of a 500 in most circumstances)."""
    request_id = str(uuid.uuid4())
    return {
        "errors": [
            {
                "message": "Internal error. Looks like something went wrong on our end.\n"
                f"Request ID: {request_id} (include this in support requests).",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ]
    }


@dataclass(frozen=True)
class Prepared:
    """A request that parsed and validated: what to execute and what it costs."""

    document: DocumentNode
    variables: dict[str, Any]
    operation_name: str | None
    requested: int
    analysis: CostAnalysis
    operation: OperationDefinitionNode


CHECKED_DOCUMENTS = 256


class AdminGraphQL:
    """The ``graphql.json`` handler: parse, validate, cost, throttle, execute."""

    def __init__(self, store: ShopifyStore, config: ShopifySiloConfig) -> None:
        self.store = store
        self.config = config
        self.schema = build(store)
        self.bucket = CostBucket(
            config.graphql_bucket_size, config.graphql_restore_rate, config.clock)
        self._checked: dict[str, tuple[DocumentNode, list[GraphQLError]]] = {}
        """Parsed and validated documents by text (an adapter sends the same few queries)."""

    def checked(self, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
        """The parsed document and its validation errors; raises on a syntax error."""
        known = self._checked.get(query)
        if known is None:
            document = parse_document(query)
            known = (document, validate(self.schema, document))
            if len(self._checked) >= CHECKED_DOCUMENTS:
                self._checked.clear()
            self._checked[query] = known
        return known

    async def read(self, request: Request) -> tuple[str | None, Any, Any] | Response:
        """(query, variables, operationName) from a JSON or ``application/graphql`` body."""
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/graphql"):
            return raw.decode("utf-8", "replace"), None, None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return json_response({"errors": "Invalid JSON in request body"}, 400)
        if not isinstance(body, dict):
            return json_response({"errors": "Invalid JSON in request body"}, 400)
        return body.get("query"), body.get("variables"), body.get("operationName")

    def prepare(self, query: Any, variables: Any, operation_name: Any) -> Prepared | Body:
        """The prepared request, or the body refusing it (answered before execution)."""
        if not isinstance(query, str) or not query.strip():
            return {"errors": [{"message": "No query string was present"}]}
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            return {"errors": [{"message": "Variables must be a JSON object"}]}
        if operation_name is not None and not isinstance(operation_name, str):
            return {"errors": [{"message": "operationName must be a string"}]}
        try:
            document, problems = self.checked(query)
        except GraphQLError as error:
            return errors_only([error])
        if problems:
            return errors_only(problems)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f'Unknown operation named "{operation_name}".' if operation_name
                else "Must provide operation name if query contains multiple operations."
            )
            return {"errors": [{"message": message}]}
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return errors_only(coerced)
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        analysis = CostAnalysis(self.schema, fragments, coerced.coerced)
        root = self.schema.query_type
        assert root is not None
        if operation.operation == OperationType.MUTATION:
            requested = MUTATION_COST
        else:
            requested = analysis.cost(operation.selection_set, root)
        if analysis.errors:
            return errors_only(analysis.errors)
        if requested > MAX_QUERY_COST:
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({MAX_QUERY_COST}).\n\nSee {RATE_LIMIT_DOCS} for more information on how the\n"
                "cost of a query is calculated.\n\nTo query larger amounts of data with fewer "
                f"limits, bulk operations should be used instead.\nSee {BULK_DOCS} for usage "
                "details.\n"
            )
            extensions = {"code": "MAX_COST_EXCEEDED", "cost": requested,
                          "maxCost": MAX_QUERY_COST, "documentation": RATE_LIMIT_DOCS}
            return {"errors": [{"message": message, "extensions": extensions}]}
        return Prepared(document, variables, operation_name, requested, analysis, operation)

    async def handle(self, request: Request) -> Response:
        read = await self.read(request)
        if isinstance(read, Response):
            return read
        prepared = self.prepare(*read)
        if not isinstance(prepared, Prepared):
            return json_response(prepared)
        bucket = self.bucket
        if not bucket.take(prepared.requested, enforce=self.config.rate_limit):
            return json_response(throttled(prepared.requested, bucket.status()))
        result: ExecutionResult = execute_sync(
            self.schema,
            prepared.document,
            variable_values=prepared.variables,
            operation_name=prepared.operation_name,
        )
        root = self.schema.query_type
        assert root is not None
        if prepared.operation.operation == OperationType.MUTATION:
            actual = MUTATION_COST
        else:
            actual = prepared.analysis.cost(
                prepared.operation.selection_set, root, data=result.data, actual=True)
        bucket.refund(prepared.requested - actual)
        body: Body = {}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        body["data"] = result.data
        body["extensions"] = {
            "cost": {
                "requestedQueryCost": prepared.requested,
                "actualQueryCost": actual,
                "throttleStatus": bucket.status(),
            }
        }
        return json_response(body)

    async def throttled_fault(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The sandbox's rate-limit storm on this endpoint: ``THROTTLED`` with an empty bucket
        (the requested cost is the request's own when it can be computed)."""
        read = await self.read(Request(scope, receive))
        requested: int | None = None
        if not isinstance(read, Response):
            prepared = self.prepare(*read)
            if isinstance(prepared, Prepared):
                requested = prepared.requested
        status = {**self.bucket.status(), "currentlyAvailable": 0}
        await json_response(throttled(requested, status))(scope, receive, send)
