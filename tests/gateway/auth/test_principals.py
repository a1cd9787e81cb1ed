"""Claims and API keys → principals: a role grants its scopes (as configured), a token's own
scopes only narrow them, a service has exactly its known scopes; a customer names its customer,
a store associate its store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.auth.principals import claim, from_api_key, from_claims
from gateway.auth.settings import ApiKeyEntry, AuthConfig, ClaimNames
from gateway.auth.tokens import InvalidCredential
from resolvers.principal import Role
from schema.policy import DEFAULT_GRANTS, SCOPES

NAMES = ClaimNames()
CONFIG = AuthConfig()


def test_a_role_grants_its_scopes_and_a_token_only_narrows_them() -> None:
    agent = from_claims({"sub": "a", "role": "agent"}, NAMES, CONFIG)
    assert agent.scopes == DEFAULT_GRANTS["agent"] and agent.method == "jwt"
    narrowed = from_claims({"sub": "a", "role": "agent",
                            "scope": "orders:read customers:list nonsense"}, NAMES, CONFIG)
    assert narrowed.scopes == {"orders:read"}  # customers:list is not the agent's to take
    listed = from_claims({"sub": "a", "role": "agent", "scope": ["orders:read"]}, NAMES, CONFIG)
    assert listed.scopes == {"orders:read"}
    configured = AuthConfig(grants={**DEFAULT_GRANTS, "agent": frozenset({"catalog:read"})})
    assert from_claims({"sub": "a", "role": "agent"}, NAMES, configured).scopes == {
        "catalog:read"}


def test_a_service_has_exactly_its_known_scopes() -> None:
    service = from_claims({"sub": "svc", "role": "service",
                           "scope": "catalog:read stock:read admin"}, NAMES, CONFIG)
    assert service.scopes == {"catalog:read", "stock:read"}
    assert from_claims({"sub": "svc", "role": "service"}, NAMES, CONFIG).scopes == frozenset()


def test_customer_and_store_claims_belong_to_their_roles() -> None:
    customer = from_claims({"sub": "c", "role": "customer", "customer_id": "shopify:9",
                            "store": "S1"}, NAMES, CONFIG)
    assert (customer.customer, customer.store) == ("shopify:9", None)
    clerk = from_claims({"sub": "c", "role": "store_associate", "store": "S1",
                         "customer_id": "shopify:9"}, NAMES, CONFIG)
    assert (clerk.customer, clerk.store) == (None, "S1")
    staff = from_claims({"sub": "c", "role": "backoffice", "customer_id": "shopify:9"},
                        NAMES, CONFIG)
    assert (staff.customer, staff.store) == (None, None)


@pytest.mark.parametrize("claims", [
    {"role": "agent"},
    {"sub": "", "role": "agent"},
    {"sub": {"id": 1}, "role": "agent"},
    {"sub": "a"},
    {"sub": "a", "role": "root"},
    {"sub": "a", "role": ["agent", "backoffice"]},
    {"sub": "a", "role": "agent", "scope": 7},
    {"sub": "a", "role": "customer"},
    {"sub": "a", "role": "customer", "customer_id": "  "},
    {"sub": "a", "role": "store_associate"},
])
def test_claims_that_make_no_principal_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidCredential):
        from_claims(claims, NAMES, CONFIG)


def test_claim_names_are_names_first_then_paths() -> None:
    claims = {"https://c360.example/role": "agent", "realm": {"access": {"role": "service"}},
              "a.b": "as named", "a": {"b": "nested"}}
    assert claim(claims, "https://c360.example/role") == "agent"
    assert claim(claims, "realm.access.role") == "service"
    assert claim(claims, "a.b") == "as named"
    assert claim(claims, "realm.missing.role") is None
    assert from_claims({"uid": "u", "realm": {"access": {"role": ["offline", "agent"]}}},
                       ClaimNames(subject="uid", role="realm.access.role"), CONFIG).role is \
        Role.AGENT


def test_an_api_key_is_a_principal_named_after_it() -> None:
    service = from_api_key(ApiKeyEntry("sync", "0" * 64, frozenset({"catalog:read"})), CONFIG)
    assert (service.subject, service.role, service.scopes, service.method) == (
        "apikey:sync", Role.SERVICE, {"catalog:read"}, "apikey")
    agent = from_api_key(ApiKeyEntry("desk", "1" * 64, frozenset(), Role.AGENT), CONFIG)
    assert agent.scopes == DEFAULT_GRANTS["agent"] and agent.scopes < frozenset(SCOPES)


@pytest.mark.anyio
async def test_a_token_narrowed_to_some_scopes_is_refused_the_others(
        gateway: Callable[..., Any]) -> None:
    query = '{ product(sku: "X") { sku } order(id: "T3JkZXI6eDp5") { id } }'
    async with gateway(role="agent", scopes=["catalog:read"]) as client:
        body = (await client.post("/graphql", json={"query": query})).json()
    assert body["data"]["product"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["order"], "FORBIDDEN")]
