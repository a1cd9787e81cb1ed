"""Names as Spanish, Catalan, Italian, Portuguese and French customers write them: each
pattern agrees (the phone + name rule) and does not conflict (the email rule); each
false-merge trap stays apart. The English default is unchanged."""

from __future__ import annotations

import pytest

from adapters.errors import ConfigError
from gateway.config import parse_config
from identity.matching import Matcher, MatchRules, NameMatcher, RecordIdentity
from identity.names import load, surname_keys
from identity.normalize import name_tokens

LATIN = NameMatcher(locales=("es", "ca", "it", "pt", "fr"))
SPANISH = NameMatcher(locales=("es", "ca"))
ENGLISH = NameMatcher()


def person(first: str, last: str = "", source: str = "s", rid: str = "1",
           phone: str = "+34612345678", email: str | None = None) -> RecordIdentity:
    return RecordIdentity(source, rid, source, frozenset({email} if email else ()),
                          frozenset({phone}), name_tokens(first), name_tokens(last))


SAME_PERSON = [
    # two surnames: both kept, only the first, in one field or the other
    (("María", "Núñez Ibáñez"), ("María", "Núñez")),
    (("María Núñez", "Ibáñez"), ("Maria", "Nunez Ibanez")),
    (("Carlos Ramos Gil", ""), ("Carlos", "Ramos")),
    (("RAMOS GIL CARLOS", ""), ("Carlos", "Ramos Gil")),
    # particles joined, split, capitalised or not, dropped
    (("Marco", "De Luca"), ("marco", "deluca")),
    (("Marco", "De Luca"), ("Marco", "Luca")),
    (("Paola", "D'Angelo"), ("Paola", "D Angelo")),
    (("Paola", "D'Angelo"), ("Paola", "Dangelo")),
    (("João", "da Silva"), ("Joao", "Silva")),
    (("Ana", "de la Fuente García"), ("Ana", "Fuente")),
    (("Laia", "Puig i Ferrer"), ("Laia", "Puig Ferrer")),
    # compound given names shortened, joined, abbreviated; familiar compound forms
    (("María José", "Núñez"), ("María", "Núñez")),
    (("Juan Carlos", "Ortega"), ("Juan", "Ortega")),
    (("Anna Maria", "Rossi"), ("Anna", "Rossi")),
    (("Gian Luca", "Rossi"), ("Gianluca", "Rossi")),
    (("Mª José", "Núñez"), ("María José", "Núñez")),
    (("María Teresa", "Vidal"), ("Maite", "Vidal")),
    (("José María", "Aznar"), ("Chema", "Aznar")),
    (("Francisco Javier", "Soto"), ("Javier", "Soto")),
    # hypocorisms
    (("José", "García"), ("Pepe", "García")),
    (("Francisco", "López"), ("Paco", "López")),
    (("Francisco", "López"), ("Curro", "López")),
    (("Ignacio", "Ruiz"), ("Nacho", "Ruiz")),
    (("Josep", "Puig"), ("Pep", "Puig")),
    (("Joaquim", "Vila"), ("Quim", "Vila")),
    (("Giuseppe", "Russo"), ("Beppe", "Russo")),
    (("Giuseppe", "Russo"), ("Peppe", "Russo")),
    (("Francesco", "Greco"), ("Cesco", "Greco")),
    (("João", "Sousa"), ("Joãozinho", "Sousa")),
    (("Josefa", "Moreno"), ("Pepa", "Moreno")),
    # accents, ñ, ç and l·l lost or kept; given and family names swapped
    (("Iñaki", "Muñoz"), ("Inaki", "Munoz")),
    (("Marcel·la", "Llull"), ("Marcella", "Llull")),
    (("François", "Garçon"), ("Francois", "Garcon")),
    (("Rossi", "Mario"), ("Mario", "Rossi")),
    # Portuguese: the family name kept alone is the last of two
    (("Ana", "Sousa Ferreira"), ("Ana", "Ferreira")),
]

DIFFERENT_PEOPLE = [
    # a household: same phone, surnames; other given names
    (("María", "Núñez Ibáñez"), ("José", "Núñez Ibáñez")),
    (("Carmen", "Ramos"), ("Pilar", "Ramos")),
    # sisters with compound names sharing the first part
    (("María José", "Núñez"), ("María Teresa", "Núñez")),
    (("Maite", "Núñez"), ("María José", "Núñez")),
    # same given name, another second surname: father and son, cousins
    (("Juan", "Núñez Ibáñez"), ("Juan", "Núñez García")),
    # a familiar form that is a name of its own (mother Eulàlia, daughter Laia)
    (("Eulàlia", "del Pino"), ("Laia", "del Pino")),
    # one letter apart is another name, not a slip (Antonio / Antonia, Mario / Maria)
    (("Antonio", "Serra"), ("Antonia", "Serra")),
    (("Mario", "D'Amico"), ("Maria Rosa", "D'Amico")),
    # a swapped reading takes no spelling slip in the family name (Mario / Maria D'Amico)
    (("Mario", "D'Amico"), ("D'Amico", "Maria")),
]


@pytest.mark.parametrize(("one", "other"), SAME_PERSON)
def test_names_of_one_person_agree_and_do_not_conflict(one: tuple[str, str],
                                                       other: tuple[str, str]) -> None:
    a, b = person(*one), person(*other, rid="2")
    assert LATIN.agree(a, b), LATIN.why(a, b)
    assert LATIN.agree(b, a)
    assert not LATIN.conflict(a, b)
    assert "agree" in LATIN.why(a, b)


@pytest.mark.parametrize(("one", "other"), DIFFERENT_PEOPLE)
def test_names_of_two_people_do_not_agree(one: tuple[str, str],
                                          other: tuple[str, str]) -> None:
    a, b = person(*one), person(*other, rid="2")
    assert not LATIN.agree(a, b), LATIN.why(a, b)
    assert not LATIN.agree(b, a)


def test_portuguese_order_only_with_the_portuguese_pack() -> None:
    a, b = person("Carmen", "Ramos Gil"), person("Carmen", "Gil", rid="2")
    assert not SPANISH.agree(a, b), "a Spanish mother Carmen Gil, daughter Carmen Ramos Gil"
    assert LATIN.agree(a, b)


def test_spouses_sharing_an_email_conflict() -> None:
    a = person("María", "Núñez", email="casa@gmail.com")
    b = person("José", "Ramos", rid="2", email="casa@gmail.com")
    assert LATIN.conflict(a, b)
    assert not LATIN.conflict(a, person("Mª", "Núñez", rid="3"))


def test_the_english_default_is_unchanged() -> None:
    assert ENGLISH.pack is None
    assert not ENGLISH.agree(person("José", "García"), person("Pepe", "García", rid="2"))
    assert ENGLISH.agree(person("Katherine", "Smith"), person("Kate", "Smith", rid="2"))
    assert not ENGLISH.agree(person("Mary", "Smith"), person("Mark", "Smith", rid="2"))


def test_a_household_phone_links_one_person_and_keeps_the_others_apart() -> None:
    records = [person("María José", "Núñez Ibáñez", "shopify", "1"),
               person("Mariajo", "Núñez", "square", "2"),
               person("María Teresa", "Núñez Ibáñez", "shopify", "3"),
               person("José", "Núñez García", "loyalty", "4"),
               person("Pepe", "Núñez", "zendesk", "5")]
    clusters = Matcher(MatchRules(name_locales=("es",))).cluster(records).clusters
    assert sorted(clusters) == sorted([[("shopify", "1"), ("square", "2")],
                                       [("shopify", "3")],
                                       [("loyalty", "4"), ("zendesk", "5")]])


def test_surname_keys_and_packs() -> None:
    assert "luca" in surname_keys("deluca") & surname_keys("luca")
    assert "angelo" in surname_keys("dangelo")
    assert surname_keys("gil") == {"gil"}
    assert load(["en"]) is None
    with pytest.raises(ValueError, match="xx"):
        load(["es", "xx"])


def test_name_locales_are_configured(tmp_path: object) -> None:
    base = {"sources": {"shop": {"kind": "shopify", "url": "https://x.myshopify.com",
                                 "access_token": "t"}}}
    config = parse_config({**base, "identity": {"name_locales": ["es", "CA"]}}, env={})
    assert config.identity.rules.name_locales == ("es", "ca")
    assert parse_config(base, env={}).identity.rules.name_locales == ("en",)
    with pytest.raises(ConfigError, match="klingon"):
        parse_config({**base, "identity": {"name_locales": ["es", "klingon"]}}, env={})
