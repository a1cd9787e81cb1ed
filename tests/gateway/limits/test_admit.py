"""QueryGate.admit called directly with hand-made principals: the order of the checks, what
is cached and what is not, validation with graphql-core's own switches, and APQ keeping only
documents that were admitted."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Config, parse_config
from gateway.limits.gate import Admitted, QueryGate, Refused
from resolvers.principal import Principal, Role
from schema import build_schema
from silos.sandbox import RunningSandbox, gateway_config

pytestmark = pytest.mark.anyio
SCHEMA = build_schema()._schema
CHEAP = '{ product(sku: "NOPE") { sku } }'


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def principal(role: Role) -> Principal:
    return Principal(subject=f"test-{role.value}", role=role, scopes=frozenset(),
                     customer="cus_x" if role is Role.CUSTOMER else None)


BACKOFFICE, AGENT, CUSTOMER = (principal(Role.BACKOFFICE), principal(Role.AGENT),
                               principal(Role.CUSTOMER))


@pytest.fixture
def make_gate(graph_sandbox: RunningSandbox) -> Any:
    def make(**tables: dict[str, Any]) -> QueryGate:
        data = copy.deepcopy(gateway_config(graph_sandbox))
        data.pop("limits", None)  # production defaults unless a test says otherwise
        data.update(tables)
        config: Config = parse_config(data, env={})
        return QueryGate(SCHEMA, config)
    return make


async def admit(gate: QueryGate, who: Principal | None, **params: Any) -> Admitted | Refused:
    return await gate.admit(params, who, None)


async def test_suggestions_are_left_out_by_graphql_core_itself(make_gate: Any) -> None:
    typos = ['{ prodct(sku: "x") { sku } }',
             '{ product(skuu: "x") { sku } }',
             '{ customer(id: "c") { orders(channel: WBE) { totalCount } } }',
             '{ node(id: "x") { ... on Prodct { sku } } }']
    quiet, chatty = make_gate(), make_gate(limits={"suggestions": True})
    for query in typos:
        refused = await admit(quiet, BACKOFFICE, query=query)
        assert isinstance(refused, Refused) and refused.code == "GRAPHQL_VALIDATION_FAILED"
        assert refused.status == 400
        assert "Did you mean" not in json.dumps(refused.errors())
        told = await admit(chatty, BACKOFFICE, query=query)
        assert isinstance(told, Refused) and "Did you mean" in told.message, query


async def test_introspection_is_a_validation_error_unless_turned_on(make_gate: Any) -> None:
    query = "{ __schema { queryType { name } } }"
    refused = await admit(make_gate(), BACKOFFICE, query=query)
    assert isinstance(refused, Refused) and refused.code == "GRAPHQL_VALIDATION_FAILED"
    assert await admit(make_gate(), CUSTOMER, query="{ __typename }") == \
        Admitted("{ __typename }")
    assert await admit(make_gate(limits={"introspection": True}), BACKOFFICE,
                       query=query) == Admitted(query)


async def test_limits_are_checked_before_validation(make_gate: Any) -> None:
    # an unknown field in every alias: the alias limit answers, validation never runs
    query = "{ " + " ".join(f"a{i}: nope" for i in range(40)) + " }"
    refused = await admit(make_gate(), AGENT, query=query)
    assert isinstance(refused, Refused) and refused.code == "QUERY_TOO_COMPLEX"
    assert [o["name"] for o in refused.extensions["limits"]] == ["aliases", "rootFields"]


async def test_a_document_nested_past_the_parser_limit_is_too_complex(make_gate: Any) -> None:
    query = "{ " + "product(sku: \"x\") { " * 250 + "sku" + " }" * 250 + " }"
    refused = await admit(make_gate(), BACKOFFICE, query=query)
    assert isinstance(refused, Refused) and refused.code == "QUERY_TOO_COMPLEX"
    assert refused.extensions["limits"] == [{"name": "depth", "value": ">200", "max": 15}]


async def test_no_principal_gets_the_tightest_limits(make_gate: Any) -> None:
    query = "{ " + " ".join(f'p{i}: product(sku: "{i}") {{ sku }}' for i in range(6)) + " }"
    gate = make_gate()
    assert await admit(gate, AGENT, query=query) == Admitted(query)
    refused = await admit(gate, None, query=query)
    assert isinstance(refused, Refused)
    assert refused.extensions["limits"] == [{"name": "rootFields", "value": 6, "max": 5}]


async def test_the_cost_follows_the_variables_of_each_request(make_gate: Any) -> None:
    # the measure is cached by document, but a list size read from a variable is not frozen
    query = ('query($n: Int) { customers(first: $n) { edges { node { orders(first: 20) { '
             'edges { node { number } } } } } } }')
    gate = make_gate()
    seen = []
    for variables in ({"n": 5}, {"n": 500}, {}, {"n": 5}, {"n": 500}, {"n": None}, {"n": "500"}):
        checked = await admit(gate, AGENT, query=query, variables=variables)
        seen.append(checked.extensions["limits"][0]["value"] if isinstance(checked, Refused)
                    else "ok")
    # customers 1 + 500 × (edge 1 + node 1 + orders 10 + 20 × 2); absent, null or not an
    # int: first's default (10)
    assert seen == ["ok", 1 + 500 * 52, "ok", "ok", 1 + 500 * 52, "ok", "ok"]
    # absent is the variable's default, null is not
    query = query.replace("$n: Int", "$n: Int = 500")
    assert isinstance(await admit(gate, AGENT, query=query, variables={"n": None}), Admitted)
    assert isinstance(await admit(gate, AGENT, query=query, variables={}), Refused)
    assert isinstance(await admit(gate, AGENT, query=query, variables={"n": None}), Admitted)


async def test_a_repeated_document_is_parsed_measured_and_validated_once(
        make_gate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway.limits.gate as module

    calls: dict[str, int] = {"parse": 0, "measure": 0, "validate": 0}

    def counting(name: str) -> Any:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return original(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(module, name, counting(name))
    gate = make_gate()
    for _ in range(5):
        assert await admit(gate, AGENT, query=CHEAP) == Admitted(CHEAP)
    assert calls == {"parse": 1, "measure": 1, "validate": 1}
    # a huge document is not kept: caching those would be a way to fill the memory
    huge = "{ " + " " * 40_000 + "__typename }"
    for _ in range(2):
        assert await admit(gate, AGENT, query=huge) == Admitted(huge)
    assert calls == {"parse": 3, "measure": 3, "validate": 3}


# -- persisted operations ----------------------------------------------------------------------
async def test_apq_keeps_only_documents_it_admitted(make_gate: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({_sha(CHEAP): CHEAP}))
    gate = make_gate(persisted={"manifest": str(manifest), "only_roles": ["customer"]})
    invalid = '{ product(sku: "x") { colour } }'
    bomb = "{ " + " ".join(f'a{i}: product(sku: "x") {{ sku }}' for i in range(40)) + " }"
    for who, query, code in ((AGENT, invalid, "GRAPHQL_VALIDATION_FAILED"),
                             (AGENT, bomb, "QUERY_TOO_COMPLEX"),
                             (CUSTOMER, "{ __typename }", "PERSISTED_OPERATION_REQUIRED")):
        ext = {"persistedQuery": {"version": 1, "sha256Hash": _sha(query)}}
        registered = await admit(gate, who, query=query, extensions=ext)
        assert isinstance(registered, Refused) and registered.code == code
        missing = await admit(gate, BACKOFFICE, extensions=ext)
        assert isinstance(missing, Refused) and missing.code == "PERSISTED_QUERY_NOT_FOUND"
        assert missing.status == 200 and missing.message == "PersistedQueryNotFound"


async def test_persisted_query_requests_that_cannot_be_served(make_gate: Any) -> None:
    gate = make_gate()
    for persisted in ({"version": 2, "sha256Hash": _sha(CHEAP)},
                      {"version": 1, "sha256Hash": "../../etc/passwd"},
                      {"version": 1}, "abc"):
        refused = await admit(gate, BACKOFFICE, extensions={"persistedQuery": persisted})
        assert isinstance(refused, Refused)
        assert (refused.status, refused.code) == (400, "BAD_REQUEST")
    off = make_gate(persisted={"apq": False})
    refused = await admit(off, BACKOFFICE, query=CHEAP, extensions={
        "persistedQuery": {"version": 1, "sha256Hash": _sha(CHEAP)}})
    assert isinstance(refused, Refused)
    assert (refused.status, refused.code, refused.message) == (
        200, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
    assert await admit(off, BACKOFFICE, query=CHEAP) == Admitted(CHEAP)


async def test_manifest_ids_that_are_not_hashes_are_looked_up_as_given(
        make_gate: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "relay.json"
    dear = ("{ customers(first: 100) { edges { node { orders(first: 100) { edges { node { "
            "number } } } } } } }")
    manifest.write_text(json.dumps({"Web~2.1~ProductCard": CHEAP,
                                    "sha256:" + _sha("{ __typename }").upper(): "{ __typename }",
                                    _sha(dear): dear}))
    gate = make_gate(persisted={"manifest": str(manifest), "only_roles": ["customer"]})
    for key in ("documentId", "doc_id", "id"):
        assert await admit(gate, CUSTOMER, **{key: "Web~2.1~ProductCard"}) == Admitted(CHEAP)
    missing = await admit(gate, CUSTOMER, documentId="web~2.1~productcard")
    assert isinstance(missing, Refused) and missing.code == "PERSISTED_QUERY_NOT_FOUND"
    assert await admit(gate, CUSTOMER, extensions={"persistedQuery": {
        "version": 1, "sha256Hash": _sha("{ __typename }")}}) == Admitted("{ __typename }")
    # a manifest operation is still held to the caller's limits
    refused = await admit(gate, CUSTOMER, documentId=_sha(dear))
    assert isinstance(refused, Refused) and refused.code == "QUERY_TOO_COMPLEX"
    assert await admit(gate, BACKOFFICE, documentId=_sha(dear)) == Admitted(dear)


async def test_get_runs_queries_only_whatever_the_document_says_and_before_validation(
        make_gate: Any, tmp_path: Path, graph_sandbox: RunningSandbox) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({_sha("mutation { x }"): "mutation { x }"}))
    gate = make_gate(persisted={"manifest": str(manifest)})
    config = parse_config(gateway_config(graph_sandbox), env={})
    unchecked = QueryGate(SCHEMA, config, checks=False)
    for checker, params in ((gate, {"query": "mutation { x }"}),
                            (gate, {"documentId": _sha("mutation { x }")}),
                            (gate, {"query": "query A { __typename } subscription B { x }",
                                    "operationName": "B"}),
                            (unchecked, {"query": "mutation { x }"})):
        refused = await checker.admit(params, BACKOFFICE, None, "GET")
        assert isinstance(refused, Refused), params
        assert (refused.status, dict(refused.headers)) == (405, {"Allow": "POST"})
        posted = await checker.admit(params, BACKOFFICE, None, "POST")
        assert not isinstance(posted, Refused) or posted.status == 400  # POST: validation's
    query = "query A { __typename } query B { product(sku: \"x\") { sku } }"
    assert await gate.admit({"query": query, "operationName": "B"}, BACKOFFICE, None,
                            "GET") == Admitted(query)
