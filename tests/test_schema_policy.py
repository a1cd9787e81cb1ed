"""Every field of the schema has an access rule, visible in the SDL and in GraphiQL's docs; a
field without one is denied; masks show what a store associate may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from graphql import GraphQLInterfaceType, GraphQLNonNull, GraphQLObjectType

from resolvers.principal import Principal, Role
from schema import build_schema, sdl
from schema.authorization import GuardedExecutionContext, Policy, policy_of
from schema.masking import mask_email, mask_phone, mask_postal_code
from schema.policy import DEFAULT_GRANTS, SCOPES, RequiresScopes, satisfied, scopes

pytestmark = pytest.mark.anyio
ROOT_AND_PII = ("Query", "Mutation", "Customer")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return policy_of(build_schema()._schema)


def test_every_field_has_a_rule(policy: Policy) -> None:
    assert policy.unruled() == [], "declare who may read these fields (schema.policy)"
    schema = build_schema()._schema
    expected = {f"{n}.{f}" for n, t in schema.type_map.items() if not n.startswith("__")
                and isinstance(t, GraphQLObjectType | GraphQLInterfaceType) for f in t.fields}
    assert {p.coordinate for p in policy.fields.values()} == expected


def test_root_and_customer_fields_declare_their_own_rule() -> None:
    """No field of the root or of a customer inherits a rule: each says who may read it."""
    schema = build_schema()._schema
    missing = []
    for type_name in ROOT_AND_PII:
        for name, field in schema.type_map[type_name].fields.items():  # type: ignore[attr-defined]
            definition = field.extensions["strawberry-definition"]
            inherited_from_node = type_name == "Customer" and name == "id"
            if not any(isinstance(d, RequiresScopes) for d in definition.directives) and \
                    not inherited_from_node:
                missing.append(f"{type_name}.{name}")
    assert missing == []


def test_a_field_that_can_be_refused_alone_is_nullable(policy: Policy) -> None:
    """A refused field is null and the rest of the answer stands: a non-null one would null
    its parent."""
    schema = build_schema()._schema
    wrong = []
    for (type_name, name), field_policy in policy.fields.items():
        parent_rule = policy.type_rules.get(type_name)
        own = field_policy.rule
        refusable = own not in ([[]], parent_rule) or (
            field_policy.returns not in (None, [[]], own, parent_rule))
        field = schema.type_map[type_name].fields[name]  # type: ignore[attr-defined]
        if type_name.endswith("Edge") and name == "node":
            continue  # a refused node nulls its edge, a list item: the connection stands
        if refusable and isinstance(field.type, GraphQLNonNull):
            wrong.append(field_policy.coordinate)
    assert wrong == []


def test_scopes_in_rules_and_grants_are_known(policy: Policy) -> None:
    named = {s for p in policy.fields.values() for group in (p.rule or []) for s in group}
    named |= {s for rule in policy.type_rules.values() for group in rule for s in group}
    named |= {s for p in policy.fields.values() for a in p.arguments for g in a.scopes
              for s in g}
    assert named <= set(SCOPES)
    # tickets:internal is read by @publicOnly, metrics:read by GET /metrics
    assert named == set(SCOPES) - {"tickets:internal", "metrics:read"}
    for role in Role:
        assert DEFAULT_GRANTS[role.value] <= set(SCOPES)


def test_rules_are_in_the_sdl_and_in_graphiql_docs() -> None:
    text = sdl()
    assert 'type Customer implements Node @requiresScopes(scopes: [["customers:lookup"]]) ' \
           '@owned' in text
    assert '@requiresScopes(scopes: [["contact:read"], ["contact:masked"]]) ' \
           '@mask(style: EMAIL' in text
    assert 'search: String = null @requiresScopesIfAbsent(scopes: [["customers:list"]])' in text
    result = build_schema().execute_sync(
        '{ __type(name: "Customer") { fields { name description } } }')
    described = {f["name"]: f["description"] for f in result.data["__type"]["fields"]}
    assert described["email"].endswith("Access: `contact:read` or `contact:masked`.")
    assert described["orders"].endswith("Access: `orders:read`.")


def test_role_grants_follow_the_issue(policy: Policy) -> None:
    verdicts = {role: policy.verdicts(DEFAULT_GRANTS[role.value]) for role in Role}
    assert not verdicts[Role.CUSTOMER][("Query", "customers")]
    assert not verdicts[Role.STORE_ASSOCIATE][("Query", "customers")]
    assert verdicts[Role.AGENT][("Query", "customers")]
    assert not verdicts[Role.STORE_ASSOCIATE][("Customer", "sourceRecords")]
    assert all(verdicts[Role.BACKOFFICE].values())
    assert not any(verdicts[Role.SERVICE].values() or [False]) or \
        not verdicts[Role.SERVICE][("Query", "customer")]
    assert satisfied([[]], frozenset())
    assert not satisfied([["a", "b"]], frozenset({"a"}))
    assert satisfied([["a", "b"], ["c"]], frozenset({"c"}))


WRITERS = {"customer", "store_associate", "agent", "backoffice"}
MUTATION_ROLES = {
    "createTicket": WRITERS, "addTicketComment": WRITERS,
    "setTicketStatus": {"agent", "backoffice"},
    "adjustPoints": {"agent", "backoffice"}, "redeemPoints": WRITERS,
    "placePickupOrder": WRITERS, "handOffCart": WRITERS,
    "markReadyForPickup": {"store_associate", "backoffice"},
    "completePickup": {"store_associate", "backoffice"},
    "returnInStore": {"store_associate", "backoffice"},
    "linkCustomers": {"backoffice"}, "splitCustomer": {"backoffice"},
}


def test_each_mutation_declares_the_roles_that_may_call_it(policy: Policy) -> None:
    schema = build_schema()._schema
    assert set(schema.type_map["Mutation"].fields) == set(MUTATION_ROLES)  # type: ignore[attr-defined]
    for role in Role:
        verdicts = policy.verdicts(DEFAULT_GRANTS[role.value])
        allowed = {name for name in MUTATION_ROLES if verdicts[("Mutation", name)]}
        assert allowed == {n for n, roles in MUTATION_ROLES.items() if role.value in roles}, \
            role


@strawberry.type
class Open:
    visible: str = strawberry.field(directives=[scopes()])
    undecided: str = "nobody decided"


@strawberry.type
class OpenQuery:
    @strawberry.field(directives=[scopes()])
    def item(self) -> Open:
        return Open(visible="yes")


@dataclass
class Holder:
    principal: Principal | None
    acting_for: str | None = None
    guard: Any = None


async def test_a_field_without_a_rule_is_denied_even_to_everyone() -> None:
    schema = strawberry.Schema(query=OpenQuery, execution_context_class=GuardedExecutionContext)
    context = Holder(Principal("ops", Role.BACKOFFICE, frozenset(SCOPES)))
    result = await schema.execute("{ item { visible undecided } }", context_value=context)
    assert result.errors and result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert result.errors[0].path == ["item", "undecided"]
    assert result.data is None  # undecided is non-null: its parent goes with it
    result = await schema.execute("{ item { visible } }", context_value=context)
    assert result.data == {"item": {"visible": "yes"}} and not result.errors


async def test_no_principal_reads_nothing() -> None:
    schema = strawberry.Schema(query=OpenQuery, execution_context_class=GuardedExecutionContext)
    denied = await schema.execute("{ item { visible } }", context_value=Holder(None))
    assert denied.data == {"item": {"visible": "yes"}}  # rule [[]]: nothing needed
    result = await build_schema().execute('{ product(sku: "X") { sku } }',
                                          context_value=Holder(None))
    assert result.errors and result.errors[0].extensions == {"code": "FORBIDDEN"}


@pytest.mark.parametrize(("value", "masked"), [
    ("jane.doe@gmail.com", "j***@gmail.com"),
    ("x@y.es", "x***@y.es"),
    ("not an email", "***"),
])
def test_mask_email(value: str, masked: str) -> None:
    assert mask_email(value) == masked


@pytest.mark.parametrize(("value", "masked"), [
    ("+34612345678", "+34 6** ** ** 78"),
    ("+14155550123", "+1 4**-***-**23"),
    ("+390612345678", "+39 0* **** **78"),
    ("12", "**"),
])
def test_mask_phone_keeps_country_first_digit_and_last_two(value: str, masked: str) -> None:
    assert mask_phone(value) == masked
    assert sum(c.isdigit() for c in mask_phone(value)) <= max(5, len(value) // 2)


def test_mask_postal_code() -> None:
    assert mask_postal_code("08001") == "08***"
    assert mask_postal_code(None) is None
