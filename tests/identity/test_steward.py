"""Stewardship over the registry's real database: explanations with rules, masked evidence and
refused neighbours; the review queue; manual links and splits that survive re-indexing;
evaluation against a ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.evaluate import pairwise_score, truth_from_ground_truth
from identity.matching import RecordIdentity
from identity.normalize import Normalizer, name_tokens
from identity.registry import Registry
from identity.steward import Steward, StewardError, mask_email, mask_phone, read_truth

pytestmark = pytest.mark.anyio

PHONE = "+12125550100"


def rec(source: str, rid: str, first: str, last: str, emails: tuple[str, ...] = (),
        phones: tuple[str, ...] = (), refs: tuple[tuple[str, str], ...] = ()) -> RecordIdentity:
    return RecordIdentity(source, rid, source, frozenset(emails), frozenset(phones),
                          name_tokens(first), name_tokens(last), frozenset(refs))


RECORDS = [
    rec("shopify", "101", "Ana", "Lima", emails=("ana@gmail.com",), phones=(PHONE,)),
    rec("square", "SQ1", "Ana", "Lima", phones=(PHONE,)),
    rec("loyalty", "LC-1", "Ana", "Lima", refs=(("shopify", "101"),)),
    rec("zendesk", "7", "Carlos", "Lima", phones=(PHONE,)),
    rec("shopify", "201", "Maria", "Lopez", phones=("+12125550199",)),
    rec("zendesk", "9", "Marta", "Lopez", phones=("+12125550199",)),
    rec("shopify", "301", "Maria", "Smith", emails=("fam@gmail.com",)),
    rec("square", "SQ3", "John", "Smith", emails=("fam@gmail.com",)),
]


async def steward(engine: AsyncEngine) -> Steward:
    registry = Registry(engine)
    await registry.create()
    await registry.upsert(RECORDS)
    await registry.recluster()
    return Steward(registry, Normalizer())


def test_masks_keep_a_letter_and_the_domain_or_the_last_two_digits() -> None:
    assert mask_email("jane.doe@gmail.com") == "j***@gmail.com"
    assert mask_phone("+34612345678") == "+34 *******78"
    assert mask_phone("+12125550100") == "+1 ********00"


async def test_explain_by_email_shows_rules_masked_evidence_and_a_refused_neighbour(
        registry_engine: AsyncEngine) -> None:
    found = await (await steward(registry_engine)).explain(email="Ana@GMail.com")
    assert len(found) == 1
    person = found[0]
    rules = {(r.source, r.id): r.rule for r in person.records}
    assert rules == {("shopify", "101"): "reference", ("loyalty", "LC-1"): "reference",
                     ("square", "SQ1"): "phone+name"}
    square = next(r for r in person.records if r.source == "square")
    assert any(line.startswith("phone +1 ********00 + names agree") for line in square.evidence)
    loyalty = next(r for r in person.records if r.source == "loyalty")
    assert loyalty.evidence == ["reference: it names shopify:101"]
    assert [(n.source, n.id) for n in person.refused] == [("zendesk", "7")]
    assert person.refused[0].why_refused.startswith("shares phone +1 ********00 but names differ")
    text = repr(found)
    assert "ana@gmail.com" not in text and "2125550100" not in text


async def test_explain_by_phone_in_any_format_finds_every_person_carrying_it(
        registry_engine: AsyncEngine) -> None:
    found = await (await steward(registry_engine)).explain(phone="(212) 555-0100")
    assert sorted(len(e.records) for e in found) == [1, 3]
    carlos = next(e for e in found if len(e.records) == 1)
    assert carlos.records[0].rule == "self"
    assert {(n.source, n.id) for n in carlos.refused} == {("shopify", "101"), ("square", "SQ1")}


async def test_explain_a_shared_email_whose_names_conflict(registry_engine: AsyncEngine) -> None:
    found = await (await steward(registry_engine)).explain(record="shopify:301")
    [neighbour] = found[0].refused
    assert (neighbour.source, neighbour.id) == ("square", "SQ3")
    assert neighbour.why_refused.startswith("shares email f***@gmail.com but names conflict")


async def test_review_lists_refused_pairs_most_likely_first(registry_engine: AsyncEngine) -> None:
    candidates = await (await steward(registry_engine)).review()
    pairs = [(c.a, c.b) for c in candidates]
    assert pairs[0] == ("shopify:201", "zendesk:9")  # shared phone, Maria ~ Marta
    assert candidates[0].score > 0.8
    assert candidates[0].command == 'c360 identity link shopify:201 zendesk:9 --reason "..."'
    assert "+1 ********99" in candidates[0].evidence
    assert ("shopify:301", "square:SQ3") in pairs  # shared email, names conflict
    household = next(c for c in candidates if "zendesk:7" in (c.a, c.b))
    assert household.score < candidates[0].score
    assert len({frozenset((c.person_a, c.person_b)) for c in candidates}) == len(candidates)


async def test_link_and_split_are_explained_and_survive_reindexing(
        registry_engine: AsyncEngine) -> None:
    keeper = await steward(registry_engine)
    await keeper.link("shopify:201", "zendesk:9", actor="alice", reason="same customer, ticket")
    [maria] = await keeper.explain(record="zendesk:9")
    assert {r.rule for r in maria.records} == {"manual"}
    assert "manual by alice: same customer, ticket (with shopify:201)" in maria.records[1].evidence
    assert all(c.a != "shopify:201" for c in await keeper.review())

    await keeper.split("square:SQ1", actor="bob", reason="a different Ana")
    for _ in range(2):
        [alone] = await keeper.explain(record="square:SQ1")
        assert [(r.id, r.rule) for r in alone.records] == [("SQ1", "self")]
        assert alone.records[0].evidence == ["split by bob: a different Ana"]
        await keeper.registry.upsert(RECORDS)  # a re-index
        await keeper.registry.recluster()
    [ana] = await keeper.explain(record="shopify:101")
    sq1 = next(n for n in ana.refused if n.id == "SQ1")
    assert sq1.why_refused.endswith("was split by bob: a different Ana")


@pytest.mark.parametrize(("reference", "message"), [
    ("shopify-101", "not a record"),
    ("shopify:", "not a record"),
    ("shopify:999", "no record shopify:999"),
])
async def test_bad_references_are_named(registry_engine: AsyncEngine, reference: str,
                                        message: str) -> None:
    with pytest.raises(StewardError, match=message):
        await (await steward(registry_engine)).explain(record=reference)


async def test_unknown_identifiers_are_refused(registry_engine: AsyncEngine) -> None:
    keeper = await steward(registry_engine)
    with pytest.raises(StewardError, match=r"no record carries that email \(n\*\*\*@x.org\)"):
        await keeper.explain(email="nobody@x.org")
    with pytest.raises(StewardError, match="not a valid phone"):
        await keeper.explain(phone="12")
    with pytest.raises(StewardError, match="who made it and why"):
        await keeper.link("shopify:101", "zendesk:7", actor="alice", reason=" ")


async def test_eval_matches_the_pairwise_score(registry_engine: AsyncEngine,
                                               tmp_path: Path) -> None:
    truth = [{"person": "p1", "records": [{"kind": "shopify", "id": "101"},
                                          {"kind": "square", "id": "SQ1"},
                                          {"kind": "loyalty", "id": "LC-1"}]},
             {"person": "p2", "records": [{"kind": "shopify", "id": "201"},
                                          {"kind": "zendesk", "id": "9"}]},
             {"person": "p3", "records": [{"kind": "zendesk", "id": "404"}]}]
    path = tmp_path / "ground_truth.json"
    path.write_text(json.dumps(truth))
    keeper = await steward(registry_engine)
    result = await keeper.evaluate(path)
    expected = pairwise_score(truth_from_ground_truth(truth),
                              await keeper.registry.assignments())
    assert result.score == expected
    assert (result.score.precision, result.score.recall) == (1.0, 0.75)
    assert (result.truth_records, result.linked_records, result.missing_records) == (6, 5, 1)


def test_truth_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(StewardError, match="no truth file"):
        read_truth(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(StewardError, match="cannot be read"):
        read_truth(tmp_path / "bad.json")
    (tmp_path / "shape.json").write_text('{"person": 1}')
    with pytest.raises(StewardError, match="not a ground truth file"):
        read_truth(tmp_path / "shape.json")
