"""Name locale packs (:mod:`identity.names`): every naming pattern of Spanish, Catalan, Italian,
Portuguese and French customers agrees (the phone + name rule) and does not conflict (the
email rule); every false-merge trap stays apart; the US default is unchanged; the data ships
with the package; ``identity.name_locales`` is parsed and checked."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from adapters.errors import ConfigError
from gateway.config import parse_config
from identity.matching import Matcher, MatchRules, NameMatcher, RecordIdentity
from identity.names import LOCALES, family_tokens, group_counts, load, surname_keys
from identity.normalize import name_tokens

LATIN = NameMatcher(locales=("es", "ca", "it", "pt", "fr"))
SPANISH = NameMatcher(locales=("es", "ca"))
ENGLISH = NameMatcher()


def person(first: str, last: str = "", rid: str = "1", phone: str = "+34612345678",
           email: str | None = None, source: str = "s") -> RecordIdentity:
    return RecordIdentity(source, rid, source, frozenset({email} if email else ()),
                          frozenset({phone}), name_tokens(first), name_tokens(last))


Name = tuple[str, str]

TWO_SURNAMES: list[tuple[Name, Name]] = [
    (("María", "Núñez Ibáñez"), ("María", "Núñez")),
    (("María José Núñez", "Ibáñez"), ("María José", "Núñez Ibáñez")),
    (("María", "Núñez"), ("María José", "Núñez Ibáñez")),
    (("Carlos", "Ramos Gil"), ("Carlos Ramos", "Gil")),
    (("Carlos Ramos Gil", ""), ("Carlos", "Ramos")),
    (("Carlos", "Ramos Gil"), ("Carlos", "RamosGil")),
    (("Laia", "Puig i Ferrer"), ("Laia", "Puig Ferrer")),
    (("Pilar", "Ramos y Gil"), ("Pilar", "Ramos")),
    (("Ana", "Sousa Ferreira"), ("Ana", "Ferreira")),  # Portuguese: the last is kept
    (("João", "Costa e Silva"), ("João", "Silva")),
]
PARTICLES: list[tuple[Name, Name]] = [
    (("Marco", "De Luca"), ("Marco", "de luca")),
    (("Marco", "De Luca"), ("Marco", "DeLuca")),
    (("Marco", "De Luca"), ("Marco", "Luca")),
    (("Paola", "D'Angelo"), ("Paola", "D Angelo")),
    (("Paola", "D'Angelo"), ("Paola", "Dangelo")),
    (("Paola", "D’Angelo"), ("Paola", "Angelo")),
    (("João", "Da Silva"), ("João", "Silva")),
    (("João", "dos Santos"), ("João", "Dossantos")),
    (("Ana", "de la Fuente García"), ("Ana", "Fuente")),
    (("Ana", "del Río"), ("Ana", "Delrío")),
    (("Ana", "del Río"), ("Ana", "Río")),
    (("Luca", "Di Stefano"), ("Luca", "DiStefano")),
    (("Pieter", "van der Berg"), ("Pieter", "Vanderberg")),
    (("Chiara", "Sant'Anna"), ("Chiara", "Sant Anna")),
    (("Giulia", "Della Valle"), ("Giulia", "Valle")),
]
COMPOUND_GIVEN: list[tuple[Name, Name]] = [
    (("María José", "Núñez"), ("María", "Núñez")),
    (("Juan Carlos", "Ortega"), ("Juan", "Ortega")),
    (("Anna Maria", "Rossi"), ("Anna", "Rossi")),
    (("José Luis", "Pérez"), ("José", "Pérez")),
    (("María José", "Núñez"), ("Mariajosé", "Núñez")),
    (("Mariajosé", "Núñez"), ("María", "Núñez")),
    (("Juan Carlos", "Ortega"), ("Juancarlos", "Ortega")),
    (("Juancarlos", "Ortega"), ("Juan", "Ortega")),
    (("Jean-Pierre", "Martin"), ("Jean Pierre", "Martin")),
    (("Jean-Pierre", "Martin"), ("Jeanpierre", "Martin")),
    (("Jean-Pierre", "Martin"), ("Jean", "Martin")),
    (("Gian Luca", "Rossi"), ("Gianluca", "Rossi")),
    (("Gian Marco", "Rossi"), ("Marco", "Rossi")),
    (("Francisco Javier", "Soto"), ("Javier", "Soto")),
    (("Mª José", "Núñez"), ("María José", "Núñez")),
    (("María Teresa", "Vidal"), ("Maite", "Vidal")),
    (("José María", "Aznar"), ("Chema", "Aznar")),
    (("Juan José", "Ruiz"), ("Juanjo", "Ruiz")),
    (("María del Carmen", "Sanz"), ("Maricarmen", "Sanz")),
    (("María de los Ángeles", "Sanz"), ("María Ángeles", "Sanz")),
    (("Giovanni Battista", "Conti"), ("Giambattista", "Conti")),
    (("Jean-Baptiste", "Morel"), ("JB", "Morel")),
]
HYPOCORISMS: list[tuple[Name, Name]] = [
    # es
    (("José", "García"), ("Pepe", "García")), (("José", "García"), ("Pepito", "García")),
    (("Francisco", "López"), ("Paco", "López")), (("Francisco", "López"), ("Pancho", "López")),
    (("Francisco", "López"), ("Curro", "López")), (("Francisco", "López"), ("Fran", "López")),
    (("Ignacio", "Ruiz"), ("Nacho", "Ruiz")), (("Manuel", "Gil"), ("Manolo", "Gil")),
    (("Manuel", "Gil"), ("Manu", "Gil")), (("Jesús", "Gil"), ("Chus", "Gil")),
    (("Jesús", "Gil"), ("Chucho", "Gil")), (("Dolores", "Vega"), ("Lola", "Vega")),
    (("Concepción", "Vega"), ("Concha", "Vega")), (("Concepción", "Vega"), ("Conchita", "Vega")),
    (("Guadalupe", "Vega"), ("Lupe", "Vega")), (("Mercedes", "Vega"), ("Merche", "Vega")),
    (("Enrique", "Mora"), ("Quique", "Mora")), (("Alejandro", "Mora"), ("Álex", "Mora")),
    (("Guillermo", "Mora"), ("Guille", "Mora")), (("Rosario", "Mora"), ("Charo", "Mora")),
    # ca
    (("Josep", "Puig"), ("Pep", "Puig")), (("Josep", "Puig"), ("Pepe", "Puig")),
    (("Joaquim", "Vila"), ("Quim", "Vila")), (("Francesc", "Vila"), ("Cesc", "Vila")),
    (("Montserrat", "Vila"), ("Montse", "Vila")), (("Meritxell", "Vila"), ("Txell", "Vila")),
    (("Bartomeu", "Vila"), ("Tomeu", "Vila")),
    # it
    (("Giuseppe", "Russo"), ("Beppe", "Russo")), (("Giuseppe", "Russo"), ("Peppe", "Russo")),
    (("Giuseppe", "Russo"), ("Pino", "Russo")), (("Francesco", "Greco"), ("Cesco", "Greco")),
    (("Francesco", "Greco"), ("Checco", "Greco")), (("Giovanni", "Greco"), ("Gianni", "Greco")),
    (("Giovanni", "Greco"), ("Vanni", "Greco")), (("Salvatore", "Greco"), ("Totò", "Greco")),
    (("Salvatore", "Greco"), ("Salvo", "Greco")), (("Vincenzo", "Greco"), ("Enzo", "Greco")),
    (("Antonio", "Greco"), ("Toni", "Greco")), (("Antonio", "Greco"), ("Totò", "Greco")),
    (("Alessandro", "Greco"), ("Ale", "Greco")), (("Roberto", "Greco"), ("Berto", "Greco")),
    (("Domenico", "Greco"), ("Mimmo", "Greco")), (("Luigi", "Greco"), ("Gino", "Greco")),
    # pt
    (("João", "Sousa"), ("Joãozinho", "Sousa")), (("João", "Sousa"), ("Jão", "Sousa")),
    (("Francisco", "Sousa"), ("Chico", "Sousa")), (("António", "Sousa"), ("Tó", "Sousa")),
    (("Manuel", "Sousa"), ("Manel", "Sousa")), (("Manuel", "Sousa"), ("Nelo", "Sousa")),
    (("Maria", "Sousa"), ("Mariazinha", "Sousa")), (("José", "Sousa"), ("Zé", "Sousa")),
    # fr
    (("Frédéric", "Morel"), ("Fred", "Morel")), (("Isabelle", "Morel"), ("Zaza", "Morel")),
    (("Françoise", "Morel"), ("Fanfan", "Morel")), (("Sébastien", "Morel"), ("Seb", "Morel")),
]
LETTERS_AND_ORDER: list[tuple[Name, Name]] = [
    (("Iñaki", "Muñoz"), ("Inaki", "Munoz")),
    (("François", "Garçon"), ("Francois", "Garcon")),
    (("Marcel·la", "Llull"), ("Marcella", "Llull")),
    (("Gal·la", "Puig"), ("Galla", "Puig")), (("Gal·la", "Puig"), ("Gal.la", "Puig")),
    (("Gal·la", "Puig"), ("Gal-la", "Puig")), (("Núria", "Gal·la"), ("Núria", "Gal-la")),
    (("Jordi", "Solà"), ("Jordi", "Sola")), (("Mercè", "Ròdenas"), ("Merce", "Rodenas")),
    (("Rossi", "Mario"), ("Mario", "Rossi")),
    (("Núñez Ibáñez", "María"), ("María", "Núñez Ibáñez")),
    (("RAMOS GIL CARLOS", ""), ("Carlos", "Ramos Gil")),
    (("M. Pilar Echeverría García", ""), ("María Pilar", "Echeverría")),
]
SAME_PERSON = [
    pytest.param(one, other, id=f"{pattern}:{one[0]} {one[1]}~{other[0]} {other[1]}")
    for pattern, table in (("two-surnames", TWO_SURNAMES), ("particles", PARTICLES),
                           ("compound", COMPOUND_GIVEN), ("hypocorism", HYPOCORISMS),
                           ("letters-order", LETTERS_AND_ORDER))
    for one, other in table
]

# (one, other, conflict: a shared email must not link them either)
TRAPS: list[tuple[Name, Name, bool]] = [
    # a household: phone, address and surnames shared, not a given name
    (("María", "Núñez Ibáñez"), ("José", "Núñez Ibáñez"), True),
    (("Carmen", "Ramos"), ("Pilar", "Ramos"), True),
    (("Pepe", "Núñez"), ("María", "Núñez"), True),
    # sisters with compound names sharing the first part
    (("María José", "Núñez"), ("María Teresa", "Núñez"), True),
    (("Juan Carlos", "Ortega"), ("Juan José", "Ortega"), True),
    (("Maite", "Núñez"), ("María José", "Núñez"), False),
    (("Mariajosé", "Núñez"), ("María Teresa", "Núñez"), False),
    # father and son, one given name, another second surname
    (("Juan", "Núñez Ibáñez"), ("Juan", "Núñez García"), True),
    (("João", "Costa Ferreira"), ("João", "Sousa Ferreira"), True),
    # one letter apart is another name (Antonio/Antonia, Mario/Maria): no agreement
    (("Antonio", "Serra"), ("Antonia", "Serra"), False),
    (("Francisco", "Serra"), ("Francisca", "Serra"), False),
    (("Pepe", "Serra"), ("Pepa", "Serra"), False),
    (("Mario", "D'Amico"), ("Maria Rosa", "D'Amico"), False),
    (("Mario", "D'Amico"), ("D'Amico", "Maria"), False),
    # a familiar form that is a name of its own (mother Eulàlia, daughter Laia)
    (("Eulàlia", "del Pino"), ("Laia", "del Pino"), False),
    (("Francesco", "Russo"), ("Franco", "Russo"), False),
    # a familiar form shared by two names does not join them
    (("Emanuele", "Conti"), ("Daniele", "Conti"), False),
    # particles: not every leading syllable is one
    (("Ana", "Domínguez"), ("Ana", "Mínguez"), False),
    (("Ana", "López"), ("Ana", "Pez"), False),
    (("Ana", "San Martín"), ("Ana", "Martín"), False),
    (("Ana", "De Sá"), ("Ana", "Sá"), False),
    (("Ana", "Dimas"), ("Ana", "Mas"), False),
]


@pytest.mark.parametrize(("one", "other"), SAME_PERSON)
def test_names_of_one_person_agree_and_do_not_conflict(one: Name, other: Name) -> None:
    a, b = person(*one), person(*other, rid="2")
    assert LATIN.agree(a, b), LATIN.why(a, b)
    assert LATIN.agree(b, a), LATIN.why(b, a)
    assert not LATIN.conflict(a, b), LATIN.why(a, b)
    assert not LATIN.distinct(a, b)
    assert " agree: " in LATIN.why(a, b)


@pytest.mark.parametrize(("one", "other", "conflicts"),
                         [pytest.param(*t, id=f"{t[0][0]} {t[0][1]}/{t[1][0]} {t[1][1]}")
                          for t in TRAPS])
def test_false_merge_traps_stay_apart(one: Name, other: Name, conflicts: bool) -> None:
    a, b = person(*one), person(*other, rid="2")
    assert not LATIN.agree(a, b), LATIN.why(a, b)
    assert not LATIN.agree(b, a), LATIN.why(b, a)
    if conflicts:
        assert LATIN.conflict(a, b), LATIN.why(a, b)
        assert LATIN.conflict(b, a)
    assert "do not agree" in LATIN.why(a, b)


def test_portuguese_order_only_with_the_portuguese_pack() -> None:
    a, b = person("Carmen", "Ramos Gil"), person("Carmen", "Gil", rid="2")
    assert not SPANISH.agree(a, b), "a Spanish mother Carmen Gil, daughter Carmen Ramos Gil"
    assert LATIN.agree(a, b)


def test_hypocorisms_apply_only_with_their_locale() -> None:
    a, b = person("Giuseppe", "Russo"), person("Beppe", "Russo", rid="2")
    assert not SPANISH.agree(a, b)
    assert NameMatcher(locales=("it",)).agree(a, b)
    # but a familiar form of another country is no clear difference for the email rule
    assert not SPANISH.conflict(person("Antonio", "Parisi"), person("Tonino", "Parisi", rid="2"))


def cluster(records: list[RecordIdentity], locales: tuple[str, ...] = ("es", "ca", "it")
            ) -> list[list[str]]:
    clusters = Matcher(MatchRules(name_locales=locales)).cluster(records).clusters
    return sorted(sorted(rid for _, rid in c) for c in clusters)


def test_a_household_phone_keeps_its_members_apart() -> None:
    records = [person("María José", "Núñez Ibáñez", "1"), person("Mariajo", "Núñez", "2"),
               person("María Teresa", "Núñez Ibáñez", "3"), person("Maite", "Núñez", "4"),
               person("María", "Núñez", "5"), person("José", "Núñez García", "6"),
               person("Pepe", "Núñez", "7"), person("Juan", "Núñez García", "8"),
               person("Juan", "Núñez Ibáñez", "9")]
    found = cluster(records)
    assert ["1", "2"] in [[r for r in c if r in ("1", "2")] for c in found]
    assert not any({"1", "3"} <= set(c) for c in found), found
    assert not any({"8", "9"} <= set(c) for c in found), found
    assert not any({"6", "9"} <= set(c) for c in found), found
    assert ["6", "7"] in found


def test_an_ambiguous_short_form_does_not_bridge_two_people() -> None:
    records = [person("Antonio", "Serra", "1"), person("Toni", "Serra", "2"),
               person("Antonia", "Serra", "3")]
    found = cluster(records)
    assert not any({"1", "3"} <= set(c) for c in found), found
    siblings = [person("María José", "Núñez", "1"), person("María", "Núñez", "2"),
                person("María Teresa", "Núñez", "3")]
    assert not any({"1", "3"} <= set(c) for c in cluster(siblings))


def test_a_compound_name_bridges_its_two_short_forms() -> None:
    records = [person("Francisco Javier", "Soto", "1"), person("Javier", "Soto", "2"),
               person("Francisco", "Soto", "3"), person("Paco", "Soto", "4")]
    assert cluster(records) == [["1", "2", "3", "4"]]


def test_the_us_default_is_unchanged() -> None:
    assert MatchRules().name_locales == ("en",)
    assert ENGLISH.pack is None and load(["en"]) is None
    assert not ENGLISH.agree(person("José", "García"), person("Pepe", "García", rid="2"))
    assert ENGLISH.agree(person("Katherine", "Smith"), person("Kate", "Smith", rid="2"))
    assert ENGLISH.agree(person("Smith", "Kate"), person("Kate", "Smith", rid="2"))
    assert not ENGLISH.agree(person("Mary", "Smith"), person("Mark", "Smith", rid="2"))
    assert ENGLISH.conflict(person("Mary", "Smith"), person("John", "Smith", rid="2"))
    assert not ENGLISH.distinct(person("Mary", "Smith"), person("Mark", "Smith", rid="2"))
    assert ENGLISH.household_distinct(person("María José", "Núñez"),
                                      person("María Teresa", "Núñez", rid="2")) is None
    # the English nicknames dataset applies with the packs too
    assert LATIN.agree(person("Katherine", "Smith"), person("Kate", "Smith", rid="2"))


@pytest.mark.parametrize(("one", "other", "expected"), [
    (("María José", "Núñez"), ("María", "Núñez Ibáñez"),
     "compound given name shortened to its first part; first surname matches"),
    (("José", "García"), ("Pepe", "García"), "familiar form (jose ~ pepe); same family name"),
    (("Marco", "De Luca"), ("Marco", "DeLuca"), "same given name (marco)"),
    (("Rossi", "Mario"), ("Mario", "Rossi"), "read as given and family names swapped"),
    (("Ana", "Sousa Ferreira"), ("Ana", "Ferreira"), "Portuguese order"),
    (("María", "Núñez"), ("José", "Núñez"), "do not agree, and conflict"),
    (("María", "Núñez"), ("José", "Núñez"), "given names differ (maria vs jose)"),
    (("María José", "Núñez"), ("María Teresa", "Núñez"),
     "compound given names differ in the second name (maria jose vs maria teresa)"),
    (("Juan", "Núñez Ibáñez"), ("Juan", "Núñez García"),
     "two surnames each, and they differ (nunez ibanez vs nunez garcia)"),
    (("Antonio", "Serra"), ("Antonia", "Serra"), "given names differ (antonio vs antonia)"),
])
def test_why_explains_a_pair(one: Name, other: Name, expected: str) -> None:
    assert expected in LATIN.why(person(*one), person(*other, rid="2"))


def test_why_without_packs() -> None:
    a, b = person("Katherine", "Smith"), person("Kate", "Smith", rid="2")
    assert "familiar form" in ENGLISH.why(a, b) and " agree: " in ENGLISH.why(a, b)
    assert "one substituted letter" in ENGLISH.why(person("Mary", "Smith"),
                                                    person("Mark", "Smith", rid="2"))
    assert "no given name" in ENGLISH.why(person("", "Smith"), b)


def test_name_tokens_fold_letters_and_punctuation() -> None:
    for text in ("Gal·la", "Gal.la", "Gal-la", "Gaŀla", "GAL·LA"):
        assert name_tokens(text) == ("galla",), text
    assert name_tokens("Marcel·lí") == name_tokens("Marcel-lí") == ("marcelli",)
    assert name_tokens("Paul-Louis") == ("paul", "louis")
    assert name_tokens("Jean-Pierre") == ("jean", "pierre")
    assert name_tokens("D'Angelo") == name_tokens("D’Angelo") == ("dangelo",)
    assert name_tokens("Sant'Anna") == ("santanna",)
    assert name_tokens("Núñez Çelik") == ("nunez", "celik")


def test_family_tokens_and_surname_keys() -> None:
    assert family_tokens(("de", "la", "fuente", "garcia")) == ("fuente", "garcia")
    assert family_tokens(("del", "rio")) == ("rio",)
    assert family_tokens(("de", "sa")) == ("desa",)
    assert family_tokens(("san", "martin")) == ("sanmartin",)
    assert family_tokens(("puig", "i", "ferrer")) == ("puig", "ferrer")
    assert "luca" in surname_keys("deluca") and "angelo" in surname_keys("dangelo")
    assert "rio" in surname_keys("delrio")
    for name, rest in (("dominguez", "minguez"), ("lopez", "pez"), ("sanchez", "chez"),
                       ("dimas", "mas"), ("davis", "vis")):
        assert rest not in surname_keys(name), name


@pytest.mark.parametrize(("code", "floor"), [("es", 60), ("it", 60), ("ca", 30), ("pt", 30),
                                             ("fr", 30)])
def test_each_locale_ships_real_lists(code: str, floor: int) -> None:
    assert group_counts(code)["hypocorisms"] >= floor


def test_the_data_ships_with_the_package() -> None:
    data = resources.files("identity.names").joinpath("data")
    for code in LOCALES[1:]:
        text = data.joinpath(f"{code}.toml").read_text(encoding="utf-8")
        assert tomllib.loads(text)["hypocorisms"]
    assert "Sources" in resources.files("identity.names").joinpath("README.md").read_text(
        encoding="utf-8")
    pyproject = tomllib.loads(
        (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["identity.names"]
    assert "data/*.toml" in shipped and "README.md" in shipped


def test_unknown_locales_are_refused() -> None:
    with pytest.raises(ValueError, match="xx"):
        load(["es", "xx"])
    with pytest.raises(ValueError, match="xx"):
        NameMatcher(locales=("xx",))
    assert load(["ES", "ca", "es"]) is load(["es", "ca"])


BASE = {"sources": {"shop": {"kind": "shopify", "url": "https://x.myshopify.com",
                             "access_token": "t"}}}


def test_name_locales_config() -> None:
    config = parse_config({**BASE, "identity": {"name_locales": ["es", "CA", "it"]}}, env={})
    assert config.identity.rules.name_locales == ("es", "ca", "it")
    assert parse_config(BASE, env={}).identity.rules.name_locales == ("en",)
    listed = parse_config({**BASE, "identity": {"name_locales": "es, it"}}, env={})
    assert listed.identity.rules.name_locales == ("es", "it")
    every = parse_config({**BASE, "identity": {"name_locales": list(LOCALES)}}, env={})
    assert every.identity.rules.name_locales == LOCALES


@pytest.mark.parametrize(("value", "message"), [
    (["es", "klingon"], r"identity\.name_locales.*unknown name locale\(s\) klingon.*known: en"),
    ([], r"identity\.name_locales.*\(none given\)"),
    ([1], r"identity\.name_locales"),
])
def test_bad_name_locales_are_config_errors(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, "identity": {"name_locales": value}}, env={})


def test_a_whole_name_in_the_given_field_is_no_wildcard() -> None:
    whole = person("Carlos Ramos Gil")
    assert LATIN.agree(whole, person("Carlos", "Ramos", rid="2"))
    assert not LATIN.agree(whole, person("Carlos", "Pérez", rid="2"))
    assert LATIN.agree(person("María José"), person("María", "Núñez", rid="2"))
