"""Identity resolution end to end: the real adapters over the emulated silos, scored against
the generator's ground truth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.runtime import Runtime, open_runtime
from identity.evaluate import pairwise_score, truth_from_ground_truth
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config, prepare

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return prepare(SandboxOptions(customers=1500, seed=42,
                                  data_dir=tmp_path_factory.mktemp("sandbox")))


@pytest.fixture
async def runtime(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[Runtime]:
    data = gateway_config(sandbox)
    data["identity"]["database_url"] = f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite'}"
    async with open_runtime(parse_config(data, env={}),
                            transports=sandbox.transports()) as rt:
        yield rt


async def test_resolution_is_precise_and_complete(sandbox: RunningSandbox,
                                                  runtime: Runtime) -> None:
    report = await runtime.identity.index()
    assert report.failed == {}
    truth = truth_from_ground_truth(sandbox.data.ground_truth)
    assert sum(report.records.values()) == len(truth)
    score = pairwise_score(truth, await runtime.registry.assignments())
    assert score.precision >= 0.995, score
    assert score.recall >= 0.97, score


async def test_households_sharing_a_phone_stay_apart(sandbox: RunningSandbox,
                                                     runtime: Runtime) -> None:
    await runtime.identity.index()
    assigned = await runtime.registry.assignments()
    truth = truth_from_ground_truth(sandbox.data.ground_truth)
    people_by_phone: dict[str, set[str]] = defaultdict(set)
    golden_by_phone: dict[str, set[str]] = defaultdict(set)
    for cid, customer in sandbox.data.square.customers.items():
        phone = runtime.normalizer.phone(customer.get("phone_number"))
        if phone:
            people_by_phone[phone].add(truth[("square", cid)])
            golden_by_phone[phone].add(assigned[("square", cid)])
    shared = [p for p, people in people_by_phone.items() if len(people) > 1]
    assert len(shared) >= 3
    for phone in shared:
        assert len(golden_by_phone[phone]) == len(people_by_phone[phone]), phone


async def test_reindexing_keeps_ids_and_a_split_survives(runtime: Runtime) -> None:
    await runtime.identity.index()
    before = await runtime.registry.assignments()
    second = await runtime.identity.index()
    assert second.changed == 0
    assert await runtime.registry.assignments() == before
    by_person: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for record, person in before.items():
        by_person[person].append(record)
    person, records = next((p, r) for p, r in sorted(by_person.items()) if len(r) >= 3)
    victim = sorted(records)[-1]
    await runtime.registry.split(victim, actor="qa@c360", reason="test")
    await runtime.identity.index()
    after = await runtime.registry.assignments()
    assert after[victim] != person
    assert all(after[r] == person for r in records if r != victim)


async def test_a_registry_miss_searches_the_silos_live(sandbox: RunningSandbox,
                                                      runtime: Runtime) -> None:
    customer = next(iter(sandbox.data.shopify.customers.values()))
    email = customer["email"]
    assert await runtime.registry.lookup("email", runtime.normalizer.email(email) or "") == []
    found = await runtime.identity.find_by_email(f"  {email.upper()} ")
    assert len(found) == 1
    records = (await runtime.registry.records_of(found))[0]
    assert ("shopify", str(customer["id"])) in {(r.source, r.id) for r in records}
    assert await runtime.identity.find_by_email("nobody-at-all@example.org") == []
