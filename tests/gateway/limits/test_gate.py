"""Limits and persisted operations over HTTP: a refused document gets QUERY_TOO_COMPLEX with
its figures and no silo sees a request; limits differ per role; manifest operations, APQ (in
process and on Redis), persisted-only clients; introspection and suggestions off unless
configured."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.errors import ConfigError
from gateway.config import parse_config
from silos.sandbox import RunningSandbox, gateway_config
from tests.gateway.auth.conftest import silo_calls

pytestmark = pytest.mark.anyio
CHEAP = '{ product(sku: "NOPE") { sku } }'


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _nested(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"customer {{ orders(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"
    return f'{{ order(id: "x") {{ {inner} }} }}'


BOMBS = {
    "depth": _nested(6),
    "aliases": "{ " + " ".join(f'a{i}: product(sku: "x") {{ sku }}' for i in range(120)) + " }",
    "rootFields": "{ " + " ".join(f'a{i}: __typename' for i in range(3)) + " ".join(
        f' p{i}: product(sku: "x") {{ sku }}' for i in range(120)) + " }",
    "cost": "{ customers(first: 100) { edges { node { orders(first: 100) { edges { node { "
            "lines { product { inventory { available } } } } } } } } } }",
    "directives": "query($t: Boolean!) { product(sku: \"x\") { sku " + " ".join(
        f"a{i}: title @include(if: $t)" for i in range(80)) + " } }",
    "tokens": "{ product(sku: \"x\") { " + "sku " * 30_000 + "} }",
}


@pytest.mark.parametrize("limit", sorted(BOMBS))
async def test_bombs_are_refused_before_any_silo_is_called(
        limit: str, gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    async with gateway(role="backoffice") as client:
        response = await client.post("/graphql", json={"query": BOMBS[limit],
                                                       "variables": {"t": True}},
                                     headers={"Accept": "application/graphql-response+json"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    over = {item["name"]: item for item in error["extensions"]["limits"]}
    assert limit in over and str(over[limit]["max"]) in error["message"]
    assert await silo_calls(silos) == 0


async def test_the_same_document_fits_one_role_and_not_another(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    query = "{ " + " ".join(f'p{i}: product(sku: "x{i}") {{ inventory {{ available location '
                            f'{{ name address {{ city }} }} }} }}' for i in range(8)) + " }"
    async with gateway(role="customer", customer="cus_nobody") as client:
        refused = (await client.post("/graphql", json={"query": query})).json()
    assert refused["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limits": [{"name": "rootFields", "value": 8, "max": 5},
                   {"name": "cost", "value": 8 * (1 + 50 * (5 + 1 + 1)), "max": 2000}]}
    assert await silo_calls(silos) == 0
    async with gateway(role="backoffice") as client:
        served = (await client.post("/graphql", json={"query": query})).json()
    assert "errors" not in served


async def test_limits_come_from_the_config(gateway: Callable[..., Any]) -> None:
    async with gateway(role="agent", config={"limits": {"roles": {"agent": {
            "max_depth": 2}}}}) as client:
        body = (await client.post("/graphql", json={
            "query": '{ product(sku: "x") { variants { price { amount } } } }'})).json()
    assert body["errors"][0]["extensions"]["limits"] == [
        {"name": "depth", "value": 4, "max": 2}]


def test_limit_config_errors_name_the_key(graph_sandbox: RunningSandbox) -> None:
    for limits, key in (({"roles": {"root": {}}}, "limits.roles.root"),
                        ({"roles": {"agent": {"max_cost": 0}}}, "limits.roles.agent.max_cost"),
                        ({"default": {"max_depht": 3}}, "limits.default.max_depht")):
        with pytest.raises(ConfigError) as raised:
            parse_config({**gateway_config(graph_sandbox), "limits": limits}, env={})
        assert raised.value.key == key


async def test_syntax_errors_are_typed(gateway: Callable[..., Any]) -> None:
    async with gateway() as client:
        body = (await client.post("/graphql", json={"query": "{ product(sku: "})).json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert error["message"].startswith("Syntax Error: Unexpected <EOF>")
    assert error["locations"] == [{"line": 1, "column": 16}]


async def test_invalid_documents_are_refused_with_every_error_before_any_silo_is_called(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    query = '{ product(sku: "x") { sku colour } customer(id: "c") { nickname } }'
    async with gateway() as client:
        response = await client.post("/graphql", json={"query": query}, headers={
            "Accept": "application/graphql-response+json"})
    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"message": "Cannot query field 'colour' on type 'Product'.",
         "locations": [{"line": 1, "column": 27}],
         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}},
        {"message": "Cannot query field 'nickname' on type 'Customer'.",
         "locations": [{"line": 1, "column": 56}],
         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}
    assert await silo_calls(silos) == 0


async def test_a_fragment_cycle_is_refused_not_walked_forever(
        gateway: Callable[..., Any], silos: dict[str, httpx.AsyncClient]) -> None:
    query = ('{ order(id: "x") { ...A } } fragment A on Order { customer { orders(first: 1) '
             '{ edges { node { ...A } } } } }')
    async with gateway() as client:
        body = (await client.post("/graphql", json={"query": query})).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Cannot spread fragment 'A' within itself" in body["errors"][0]["message"]
    assert await silo_calls(silos) == 0


# -- persisted operations ---------------------------------------------------------------------
def _manifest(tmp_path: Path, apollo: bool) -> tuple[Path, str]:
    path = tmp_path / "manifest.json"
    digest = _sha(CHEAP)
    if apollo:
        path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                                    "operations": [{"id": digest, "name": "Nope",
                                                    "type": "query", "body": CHEAP}]}))
    else:
        path.write_text(json.dumps({digest: CHEAP}))
    return path, digest


@pytest.mark.parametrize("apollo", [True, False])
async def test_manifest_operations_by_hash_and_by_document_id(
        apollo: bool, gateway: Callable[..., Any], tmp_path: Path) -> None:
    path, digest = _manifest(tmp_path, apollo)
    config = {"persisted": {"manifest": str(path), "only_roles": ["customer"]}}
    extension = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with gateway(role="customer", customer="cus_x", config=config) as client:
        by_hash = await client.post("/graphql", json={"extensions": extension})
        assert by_hash.json() == {"data": {"product": None}}
        by_id = await client.post("/graphql", json={"documentId": f"sha256:{digest}"})
        assert by_id.json() == {"data": {"product": None}}
        raw = await client.post("/graphql", json={"query": CHEAP})
        assert raw.status_code == 403
        assert raw.json()["errors"][0]["extensions"]["code"] == "PERSISTED_OPERATION_REQUIRED"
        registered = await client.post("/graphql", json={  # APQ is not the manifest
            "query": CHEAP + " ", "extensions": {"persistedQuery": {
                "version": 1, "sha256Hash": _sha(CHEAP + " ")}}})
        assert registered.status_code == 403
    async with gateway(role="agent", config=config) as client:
        assert (await client.post("/graphql", json={"query": CHEAP})).status_code == 200


def test_a_manifest_entry_that_is_not_its_hash_is_refused(
        graph_sandbox: RunningSandbox, tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({_sha("{ a }"): "{ b }"}))
    with pytest.raises(ConfigError, match="not the SHA-256"):
        parse_config({**gateway_config(graph_sandbox),
                      "persisted": {"manifest": str(path)}}, env={})


@pytest.mark.parametrize("store", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_automatic_persisted_queries(store: str, gateway: Callable[..., Any],
                                           request: pytest.FixtureRequest) -> None:
    config: dict[str, Any] = {}
    if store == "redis":
        config["redis_url"] = request.getfixturevalue("redis_url")
    digest = _sha(CHEAP)
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with gateway(config=config) as client:
        missing = await client.post("/graphql", json={"extensions": ext})
        assert missing.status_code == 200
        assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        wrong = await client.post("/graphql", json={"query": "{ __typename }", "extensions": ext})
        assert wrong.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
        stored = await client.post("/graphql", json={"query": CHEAP, "extensions": ext})
        assert stored.json() == {"data": {"product": None}}
        hit = await client.get("/graphql", params={"extensions": json.dumps(ext)})
        assert hit.json() == {"data": {"product": None}}
    if store == "redis":
        async with gateway(config=config) as client:  # another worker, the same store
            shared = await client.post("/graphql", json={"extensions": ext})
        assert shared.json() == {"data": {"product": None}}


# -- introspection and suggestions -------------------------------------------------------------
async def test_introspection_and_suggestions_are_off_unless_configured(
        gateway: Callable[..., Any]) -> None:
    production = {"limits": {"introspection": False, "suggestions": False}}
    async with gateway(config=production) as client:
        for query, field in (("{ __schema { types { name } } }", "__schema"),
                             ('{ __type(name: "Customer") { fields { name } } }', "__type")):
            refused = (await client.post("/graphql", json={"query": query})).json()
            assert "data" not in refused
            assert refused["errors"][0] == {
                "message": f"GraphQL introspection has been disabled, but the requested query "
                           f"contained the field '{field}'.",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
        typename = (await client.post("/graphql", json={"query": "{ __typename }"})).json()
        assert typename == {"data": {"__typename": "Query"}}
        typo = (await client.post("/graphql", json={"query": '{ prodct(sku: "x") { sku } }'}
                                  )).json()
        assert "Cannot query field 'prodct'" in typo["errors"][0]["message"]
        assert "Did you mean" not in json.dumps(typo)
        enum = (await client.post("/graphql", json={  # a variable's value: at execution
            "query": 'query($c: Channel) { customer(id: "x") { orders(channel: $c) { '
                     'totalCount } } }', "variables": {"c": "WBE"}})).json()
        assert "'WBE' does not exist in 'Channel' enum" in enum["errors"][0]["message"]
        assert "Did you mean" not in json.dumps(enum)
    async with gateway() as client:  # the sandbox's config turns both on (the demo)
        schema = (await client.post("/graphql", json={"query": "{ __schema { types { name } } }"}
                                    )).json()
        assert schema["data"]["__schema"]["types"]
        typo = (await client.post("/graphql", json={"query": '{ prodct(sku: "x") { sku } }'}
                                  )).json()
        assert "Did you mean 'product'?" in typo["errors"][0]["message"]
