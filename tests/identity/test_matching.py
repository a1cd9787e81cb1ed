from __future__ import annotations

from identity.golden import assign_golden_ids, mint
from identity.matching import (
    Matcher,
    MatchRules,
    Override,
    RecordIdentity,
    split_full_name,
)
from identity.normalize import name_tokens


def rec(
    source: str,
    rid: str,
    first: str = "",
    last: str = "",
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
    refs: tuple[tuple[str, str], ...] = (),
) -> RecordIdentity:
    return RecordIdentity(source, rid, source, frozenset(emails), frozenset(phones),
                          name_tokens(first), name_tokens(last), frozenset(refs))


def people(records: list[RecordIdentity], *overrides: Override,
           rules: MatchRules | None = None) -> list[set[str]]:
    result = Matcher(rules).cluster(records, overrides)
    return sorted(({f"{s}:{i}" for s, i in c} for c in result.clusters), key=sorted)


def test_household_sharing_a_phone_stays_two_people() -> None:
    records = [
        rec("shopify", "1", "Maria", "Garcia", emails=("maria@x.com",), phones=("+12125550100",)),
        rec("square", "A", "Carlos", "Garcia", phones=("+12125550100",)),
        rec("loyalty", "LC-1", "Carlos", "Garcia", phones=("+12125550100",)),
    ]
    assert people(records) == [{"loyalty:LC-1", "square:A"}, {"shopify:1"}]


def test_phone_links_when_names_agree_despite_noise() -> None:
    records = [
        rec("shopify", "1", "William", "Smith", phones=("+12125550100",)),
        rec("square", "A", "Bill", "SMITH", phones=("+12125550100",)),
        rec("loyalty", "LC-1", "Willaim", "Smith", phones=("+12125550100",)),
        rec("zendesk", "9", *[" ".join(t) for t in split_full_name("Smith William")],
            phones=("+12125550100",)),
    ]
    result = Matcher().cluster(records)
    assert len(result.clusters) == 1
    assert set(result.matched_by.values()) == {"phone+name"}


def test_email_links_and_conflicting_names_do_not() -> None:
    records = [
        rec("shopify", "1", "Ana", "Lima", emails=("ana@gmail.com",)),
        rec("square", "A", "Ana", "Lima", emails=("ana@gmail.com",)),
        rec("zendesk", "7", "", "", emails=("ana@gmail.com",)),
        rec("loyalty", "LC-2", "Pedro", "Lima", emails=("ana@gmail.com",)),
    ]
    assert people(records) == [{"loyalty:LC-2"}, {"shopify:1", "square:A", "zendesk:7"}]


def test_references_link_without_any_shared_identifier() -> None:
    records = [
        rec("shopify", "1", "Ana", "Lima", refs=(("loyalty", "LC-9"),)),
        rec("loyalty", "LC-9", "A.", "L."),
        rec("zendesk", "3", "Someone", "Else", refs=(("shopify", "1"),)),
    ]
    result = Matcher().cluster(records)
    assert len(result.clusters) == 1
    assert result.matched_by[("zendesk", "3")] == "reference"


def test_crowded_and_junk_identifiers_are_blocked() -> None:
    crowd = [rec("square", str(n), first, "Doe", emails=("shared@shop.example",))
             for n, first in enumerate(("Al", "Bo", "Cy", "Di", "Ed", "Flo", "Gus"))]
    junk = [rec("loyalty", "L1", "Ann", "Lee", emails=("test@test.com",)),
            rec("loyalty", "L2", "Ann", "Lee", emails=("test@test.com",))]
    result = Matcher().cluster(crowd + junk)
    assert len(result.clusters) == 9
    assert result.blocked["email"] == {"shared@shop.example", "test@test.com"}
    relaxed = Matcher(MatchRules(max_people_per_identifier=10, junk_emails=frozenset()))
    relaxed_result = relaxed.cluster(crowd + junk)
    assert len(relaxed_result.clusters) == 8  # the junk pair merges; the crowd's names differ
    assert relaxed_result.blocked == {"email": set(), "phone": set()}


def test_overrides_split_and_link() -> None:
    records = [
        rec("shopify", "1", "Ana", "Lima", emails=("ana@gmail.com",)),
        rec("square", "A", "Ana", "Lima", emails=("ana@gmail.com",)),
        rec("zendesk", "5", "Bob", "Stone", emails=("bob@x.com",)),
    ]
    split = Override("split", ("square", "A"))
    assert people(records, split) == [{"shopify:1"}, {"square:A"}, {"zendesk:5"}]
    linked = Override("link", ("zendesk", "5"), ("shopify", "1"))
    assert people(records, split, linked) == [{"shopify:1", "zendesk:5"}, {"square:A"}]
    assert Matcher().cluster(records, [split, linked]).matched_by[("zendesk", "5")] == "manual"
    # a later link of a split record brings it back
    relink = Override("link", ("square", "A"), ("shopify", "1"))
    assert people(records, split, relink) == [{"shopify:1", "square:A"}, {"zendesk:5"}]


def test_clusters_do_not_depend_on_input_order() -> None:
    records = [
        rec("shopify", "1", "Ana", "Lima", emails=("ana@gmail.com",), phones=("+1",)),
        rec("square", "A", "Ana", "Lima", phones=("+1",)),
        rec("loyalty", "L", "Ana", "Lima", emails=("ana@gmail.com",)),
        rec("zendesk", "5", "Bob", "Stone", emails=("bob@x.com",)),
    ]
    assert Matcher().cluster(records).clusters == Matcher().cluster(records[::-1]).clusters


def test_golden_ids_are_kept_merged_and_minted() -> None:
    a, b, c, d = ("s", "1"), ("s", "2"), ("s", "3"), ("s", "4")
    previous = {a: "cus_A", b: "cus_A", c: "cus_C"}
    # d joins A's person; c merges into A's person: A survives, C becomes an alias of A
    ids, aliases = assign_golden_ids([[a, b, c, d]], previous)
    assert ids == ["cus_A"]
    assert aliases == {"cus_C": "cus_A"}
    # a person splits: the larger part keeps the id, the other gets a new one
    ids, aliases = assign_golden_ids([[a, b], [c], [d]], {a: "X", b: "X", c: "X"})
    assert ids == ["X", mint(c), mint(d)]
    assert aliases == {}
    # fresh registries agree
    assert assign_golden_ids([[b, a]], {})[0] == [mint(a)]
    # a minted id already used elsewhere gets a suffix
    assert assign_golden_ids([[a]], {}, taken={mint(a)})[0] == [mint(a) + "-2"]


def test_name_noise_does_not_block_a_shared_email() -> None:
    pairs = [(("José", "Smith"), ("Jsé", "Smith")), (("Mary", "Williams"), ("Mry", "Williams")),
             (("Cynthia", "Scott"), ("Scott", "Cynthia")), (("Cynthia", ""), ("Scott", "Cynthia")),
             (("Katherine", "Myers"), ("Katie", "Myers")), (("Mary", "Van der Berg"),
                                                          ("Mary Van der", "Berg"))]
    for (f1, l1), (f2, l2) in pairs:
        records = [rec("shopify", "1", f1, l1, emails=("x@y.com",)),
                   rec("square", "2", f2, l2, emails=("x@y.com",))]
        assert len(Matcher().cluster(records).clusters) == 1, (f1, l1, f2, l2)


def test_a_substituted_letter_is_another_person_on_a_shared_phone() -> None:
    records = [rec("shopify", "1", "Mary", "Smith", phones=("+12125550100",)),
               rec("square", "2", "Mark", "Smith", phones=("+12125550100",)),
               rec("loyalty", "3", "Mray", "Smith", phones=("+12125550100",))]
    assert people(records) == [{"loyalty:3", "shopify:1"}, {"square:2"}]
