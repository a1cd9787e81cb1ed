"""Who may read what, declared where the schema is declared.

Every rule is a schema directive, so it shows in the SDL (``schema/schema.graphql``) and, as a
line of the description, in GraphiQL's docs:

- ``@requiresScopes(scopes: [[…]])`` on a field: the caller needs every scope of at least one
  inner list (Apollo's semantics; ``[[]]`` needs none beyond reaching the parent). On an object
  type it is both what a caller needs to receive such an object and the rule of each of its
  fields that declares none. ``Query`` and ``Customer`` declare one on every field.
- ``@requiresScopes`` on an argument: needed when the argument is given;
  ``@requiresScopesIfAbsent``: when it is not; ``@requiresScopesOver(limit)``: when its value
  is above the limit (a page size).
- ``@mask(style)`` on a field: a caller that lacks ``unlessScope`` but may read the field sees
  the value masked (``j***@gmail.com``, ``+34 6** *** *78``).
- ``@owned`` on an object type: a principal acting for one customer receives such objects
  only when they are that customer's; anyone else's are answered as if they did not exist.
- ``@storeScoped`` on an object type: a principal working in one store sees only items of
  that store in lists of it.
- ``@publicOnly(unlessScope)`` on an object type: items whose ``public`` is false are left out
  of lists for callers without the scope (a ticket's internal notes).
- ``@piiAccess(group)`` on a field: reading it reads that group of a customer's personal
  data, which the PII access audit records for staff and services.
- ``@cost(weight)`` and ``@listSize(…)``: the IBM GraphQL cost directive, as Apollo's demand
  control reads it, for the query cost limit.

A test walks the schema and fails for any field without a rule, so a new field is denied
until someone decides who may read it.
"""

from __future__ import annotations

import enum

import strawberry
from strawberry.schema_directive import Location

# -- the scope vocabulary ----------------------------------------------------------------------
SCOPES: dict[str, str] = {
    "customers:lookup": "find one customer by id, email, phone or a silo record",
    "customers:search": "search customers by email, phone or name: one small page",
    "customers:list": "list and page through every customer",
    "contact:read": "a customer's email addresses, phone numbers and addresses in full",
    "contact:masked": "a customer's contact data, masked",
    "records:read": "which silo records are a customer, and lookups by any silo record",
    "orders:read": "orders from every channel, their lines, fulfillments and returns",
    "tickets:read": "helpdesk tickets and their public comments",
    "tickets:internal": "a ticket's internal notes",
    "loyalty:read": "loyalty memberships and ledgers",
    "catalog:read": "products and variants",
    "stock:read": "inventory levels and stores with stock",
    "tickets:write": "open tickets and comment on them",
    "tickets:manage": "set a ticket's status",
    "loyalty:redeem": "spend a member's points",
    "loyalty:adjust": "add or take away points with a reason",
    "orders:write": "place pickup orders and hand online carts off to a store",
    "pickup:fulfil": "mark pickup orders ready and collected",
    "returns:write": "take web orders back in a store",
    "identity:steward": "link and split customer records",
    "metrics:read": "the gateway's Prometheus metrics (GET /metrics: no customer data)",
}

_READ_ONE = frozenset({"customers:lookup", "orders:read", "tickets:read", "loyalty:read",
                       "catalog:read", "stock:read"})

DEFAULT_GRANTS: dict[str, frozenset[str]] = {
    "customer": _READ_ONE | {"contact:read", "tickets:write", "loyalty:redeem",
                             "orders:write"},
    "store_associate": _READ_ONE | {"contact:masked", "tickets:write", "loyalty:redeem",
                                    "orders:write", "pickup:fulfil", "returns:write"},
    "agent": _READ_ONE | {"contact:read", "customers:search", "records:read",
                          "tickets:internal", "tickets:write", "tickets:manage",
                          "loyalty:redeem", "loyalty:adjust", "orders:write"},
    "backoffice": frozenset(SCOPES),
    "service": frozenset(),
}
"""The scopes each role grants (``auth.roles.<role>.scopes`` in the config overrides them); a
``service`` has exactly the scopes of its key or token.

Writes: a customer opens tickets, spends points and orders for themself; a store associate
also prepares and hands over pickups and takes returns, in their store; an agent also manages
tickets and adjusts points; only back office links and splits records."""

SEARCH_PAGE = 10
"""``customers(search:)`` without ``customers:list``: at most this many, one page."""


# -- directives --------------------------------------------------------------------------------
@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT, Location.INTERFACE,
               Location.ARGUMENT_DEFINITION],
    name="requiresScopes",
    description="The caller needs all the scopes of at least one inner list.")
class RequiresScopes:
    scopes: list[list[str]]


@strawberry.schema_directive(
    locations=[Location.ARGUMENT_DEFINITION], name="requiresScopesIfAbsent",
    description="The caller needs these scopes when it does not give the argument.")
class RequiresScopesIfAbsent:
    scopes: list[list[str]]


@strawberry.schema_directive(
    locations=[Location.ARGUMENT_DEFINITION], name="requiresScopesOver",
    description="The caller needs these scopes to give a value above `limit`.")
class RequiresScopesOver:
    scopes: list[list[str]]
    limit: int


@strawberry.enum(description="How a masked value is shown.")
class MaskStyle(enum.Enum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    ADDRESS = "ADDRESS"


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="mask",
                             description="Shown masked to callers without `unlessScope`.")
class Mask:
    style: MaskStyle
    unless_scope: str = "contact:read"


@strawberry.schema_directive(locations=[Location.OBJECT], name="owned",
                             description="A customer principal sees only its own.")
class Owned:
    pass


@strawberry.schema_directive(locations=[Location.OBJECT], name="storeScoped",
                             description="A store principal sees only its store's items.")
class StoreScoped:
    pass


@strawberry.schema_directive(locations=[Location.OBJECT], name="publicOnly",
                             description="Items not public are hidden without `unlessScope`.")
class PublicOnly:
    unless_scope: str


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], name="piiAccess",
                             description="Reading this reads a group of a customer's personal "
                                         "data (recorded by the PII access audit).")
class PiiAccess:
    group: str


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT, Location.ARGUMENT_DEFINITION,
               Location.SCALAR, Location.ENUM],
    name="cost", description="The weight of resolving this (IBM GraphQL cost directive).")
class Cost:
    weight: str


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], name="listSize",
    description="How many items a list field returns (IBM GraphQL cost directive).")
class ListSize:
    assumed_size: int | None = None
    slicing_arguments: list[str] | None = None
    sized_fields: list[str] | None = None
    require_one_slicing_argument: bool = True


def scopes(*alternatives: str | tuple[str, ...]) -> RequiresScopes:
    """``scopes("a", ("b", "c"))`` → ``@requiresScopes(scopes: [["a"], ["b", "c"]])``;
    ``scopes()`` → ``[[]]`` (nothing beyond reaching the parent)."""
    if not alternatives:
        return RequiresScopes(scopes=[[]])
    return RequiresScopes(scopes=[[a] if isinstance(a, str) else list(a)
                                  for a in alternatives])


def satisfied(rule: list[list[str]], granted: frozenset[str]) -> bool:
    return any(all(s in granted for s in group) for group in rule)


def describe(rule: list[list[str]]) -> str:
    """The rule as a line of a field's description (GraphiQL's docs show descriptions)."""
    if rule == [[]]:
        return "Access: as its parent."
    return "Access: " + " or ".join(" and ".join(f"`{s}`" for s in group) or "anyone"
                                    for group in rule) + "."
