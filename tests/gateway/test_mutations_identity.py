"""Identity stewardship through the graph (``linkCustomers``, ``splitCustomer``) and the saga
guarantees every mutation shares: the idempotency key (header or argument), its reuse with
another input refused, the key required, the roles refused with nothing written, the
mutation audit record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.config import parse_config
from gateway.runtime import open_runtime
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config
from tests.gateway.conftest import indexed_sandbox
from tests.gateway.mutations import error_codes, mutate, new_key
from tests.gateway.test_graph import graphql, people_with

pytestmark = pytest.mark.anyio

LINK = """mutation($a: RecordInput!, $b: RecordInput!, $reason: String!, $key: String) {
  linkCustomers(a: $a, b: $b, reason: $reason, idempotencyKey: $key) {
    saga { id status steps { name source status } } customer { id } } }"""
SPLIT = """mutation($r: RecordInput!, $reason: String!) {
  splitCustomer(record: $r, reason: $reason) { saga { id status } customer { id } } }"""
WHO = """query($kind: String!, $id: ID!) { customer(sourceRef: {kind: $kind, id: $id}) {
  id sourceRecords { kind id } } }"""


@pytest.fixture(scope="module")
def steward_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return indexed_sandbox(SandboxOptions(customers=40, seed=77,
                                          data_dir=tmp_path_factory.mktemp("steward")))


@pytest.fixture
def gateway_sandbox(steward_sandbox: RunningSandbox) -> RunningSandbox:
    return steward_sandbox


async def overrides(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    config = parse_config(gateway_config(sandbox), env={})
    async with open_runtime(config, transports=sandbox.transports()) as runtime:
        return await runtime.registry.overrides()


async def test_link_then_split_moves_records_and_survives_reindexing(
        steward_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    first, second = people_with(steward_sandbox, "square")[:2]
    a = {"kind": "square", "id": first["square"]}
    b = {"kind": "square", "id": second["square"]}
    async with gateway() as client:
        before = await graphql(client, WHO, kind="square", id=second["square"])
        body = await mutate(client, LINK, new_key(), a=a, b=b, reason="same person, "
                            "confirmed on the phone")
        assert "errors" not in body, body
        linked = body["data"]["linkCustomers"]
        assert linked["saga"]["status"] == "COMPLETED"
        assert linked["saga"]["steps"] == [{"name": "link", "source": "registry",
                                            "status": "DONE"}]
        after = await graphql(client, WHO, kind="square", id=second["square"])
        assert after["data"]["customer"]["id"] == linked["customer"]["id"]
        kinds = {(r["kind"], r["id"]) for r in after["data"]["customer"]["sourceRecords"]}
        assert {("square", first["square"]), ("square", second["square"])} <= kinds
        assert after["data"]["customer"]["id"] != before["data"]["customer"]["id"] or \
            len(kinds) > len(before["data"]["customer"]["sourceRecords"])

    config = parse_config(gateway_config(steward_sandbox), env={})
    async with open_runtime(config, transports=steward_sandbox.transports()) as runtime:
        await runtime.identity.index()  # a full re-index keeps the steward's decision
    async with gateway() as client:
        again = await graphql(client, WHO, kind="square", id=first["square"])
        kinds = {(r["kind"], r["id"]) for r in again["data"]["customer"]["sourceRecords"]}
        assert ("square", second["square"]) in kinds
        body = await mutate(client, SPLIT, new_key(), r=b, reason="linked by mistake")
        assert body["data"]["splitCustomer"]["saga"]["status"] == "COMPLETED"
        split = await graphql(client, WHO, kind="square", id=second["square"])
        assert ("square", first["square"]) not in {
            (r["kind"], r["id"]) for r in split["data"]["customer"]["sourceRecords"]}
    recorded = await overrides(steward_sandbox)
    assert [o["action"] for o in recorded[-2:]] == ["link", "split"]
    assert all(o["actor"].startswith("backoffice-") for o in recorded[-2:])
    assert [o["reason"] for o in recorded[-2:]] == ["same person, confirmed on the phone",
                                                    "linked by mistake"]


async def test_the_same_key_answers_once_and_another_input_is_refused(
        steward_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    first, second, third = people_with(steward_sandbox, "shopify")[5:8]
    a = {"kind": "shopify", "id": first["shopify"]}
    b = {"kind": "shopify", "id": second["shopify"]}
    key = new_key()
    before = len(await overrides(steward_sandbox))
    async with gateway() as client:
        one = await mutate(client, LINK, key, a=a, b=b, reason="duplicate account")
        two = await mutate(client, LINK, None, a=a, b=b, reason="duplicate account", key=key)
        assert one["data"]["linkCustomers"]["saga"]["id"] == \
            two["data"]["linkCustomers"]["saga"]["id"]
        other = await mutate(client, LINK, key, a=a, b={"kind": "shopify",
                                                          "id": third["shopify"]},
                             reason="duplicate account")
        assert error_codes(other) == ["IDEMPOTENCY_KEY_REUSED"]
        missing = await mutate(client, LINK, None, a=a, b=b, reason="no key")
        assert error_codes(missing) == ["IDEMPOTENCY_KEY_REQUIRED"]
    assert len(await overrides(steward_sandbox)) == before + 1


@pytest.mark.parametrize("role", ["agent", "store_associate", "customer", "service"])
async def test_only_back_office_links_or_splits_and_a_refusal_writes_nothing(
        role: str, steward_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    first, second = people_with(steward_sandbox, "zendesk")[:2]
    a = {"kind": "zendesk", "id": first["zendesk"]}
    claims: dict[str, Any] = {"customer": f"zendesk:{first['zendesk']}"} \
        if role == "customer" else {"store": steward_sandbox.data.stores[0].code} \
        if role == "store_associate" else {}
    before = len(await overrides(steward_sandbox))
    async with gateway(role=role, **claims) as client:
        body = await mutate(client, LINK, new_key(), a=a,
                            b={"kind": "zendesk", "id": second["zendesk"]}, reason="x")
        assert body["data"] == {"linkCustomers": None}
        assert error_codes(body) == ["FORBIDDEN"]
        body = await mutate(client, SPLIT, new_key(), r=a, reason="x")
        assert error_codes(body) == ["FORBIDDEN"]
    assert len(await overrides(steward_sandbox)) == before


async def test_every_mutation_leaves_an_audit_record(
        steward_sandbox: RunningSandbox, gateway: Callable[..., Any]) -> None:
    person = people_with(steward_sandbox, "loyalty")[3]
    async with gateway() as client:
        body = await mutate(client, SPLIT, new_key(), r={"kind": "loyalty",
                                                         "id": person["loyalty"]},
                            reason="card found in another customer's wallet")
        saga_id = body["data"]["splitCustomer"]["saga"]["id"]
    config = parse_config(gateway_config(steward_sandbox), env={})
    async with open_runtime(config, transports=steward_sandbox.transports()) as runtime:
        records = await runtime.sagas.store.audit_records(saga_id)
    assert [(r["journey"], r["role"], r["sources"], r["status"]) for r in records] == [
        ("split_customer", "backoffice", "registry", "COMPLETED")]
    assert records[0]["subject"].startswith("backoffice-")


async def test_a_store_without_a_point_of_sale_answers_not_configured_and_writes_nothing(
        steward_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, Any]) -> None:
    """A journey whose store lacks a system it writes to is refused with a typed error
    before anything is written (the saga never starts)."""
    from tests.gateway.mutations import writes

    person = people_with(steward_sandbox, "shopify")[0]
    stores = [{"code": s.code, "name": s.name,
               "locations": {"shopify": str(s.shopify_location_id)}}
              for s in steward_sandbox.data.stores]
    async with gateway(config={"stores": stores}) as client:
        who = await graphql(client, WHO, kind="shopify", id=person["shopify"])
        customer = who["data"]["customer"]["id"]
        body = await mutate(client, """mutation($c: ID!, $s: ID!) { placePickupOrder(
            customer: $c, store: $s, lines: [{sku: "X", quantity: 1}]) { saga { id } } }""",
                            new_key(), c=customer, s=stores[0]["code"])
        assert error_codes(body) == ["NOT_CONFIGURED"], body
        assert "point of sale" in body["errors"][0]["message"]
    assert await writes(silos) == {kind: 0 for kind in silos}
