from __future__ import annotations

import pytest

from identity.normalize import EmailRules, Normalizer, name_key, name_tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Jane.Doe+shop@GoogleMail.com ", "janedoe@gmail.com"),
        ("J.A.N.E.DOE@gmail.com", "janedoe@gmail.com"),
        ("jane.doe+news@outlook.com", "jane.doe@outlook.com"),
        ("JANE.DOE@YAHOO.COM", "jane.doe@yahoo.com"),
        ("jane.doe+x@yahoo.com", "jane.doe+x@yahoo.com"),
        ("\tjane@Example.ORG", "jane@example.org"),
        ("", None),
        ("   ", None),
        ("n/a", None),
        ("test@test", None),
        ("two words@example.com", None),
        (None, None),
    ],
)
def test_email(raw: str | None, expected: str | None) -> None:
    assert Normalizer().email(raw) == expected


def test_email_rules_are_configurable_per_domain() -> None:
    rules = EmailRules(dot_insensitive=frozenset({"corp.example"}), plus_tag=frozenset(),
                       aliases=(("corp-mail.example", "corp.example"),))
    normalizer = Normalizer(rules)
    assert normalizer.email("j.doe+x@corp-mail.example") == "jdoe+x@corp.example"
    assert normalizer.email("j.doe+x@gmail.com") == "j.doe+x@gmail.com"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0123", None, "+14155550123"),
        ("415.600.9952", None, "+14156009952"),
        ("1-212-600-9952", None, "+12126009952"),
        ("+1 212 600 9952", "GB", "+12126009952"),
        ("07911 123456", "GB", "+447911123456"),
        ("07911 123456", None, None),  # not a valid US number: the region matters
        ("+44 7911 123456", None, "+447911123456"),
        ("0000000000", None, None),
        ("000-000-0000", None, None),
        ("1111111111", None, None),
        ("12345", None, None),
        ("call me", None, None),
        ("", None, None),
    ],
)
def test_phone(raw: str, region: str | None, expected: str | None) -> None:
    assert Normalizer().phone(raw, region) == expected


def test_default_region_is_configurable() -> None:
    assert Normalizer(default_region="GB").phone("07911 123456") == "+447911123456"


def test_names() -> None:
    assert name_tokens("  José  O'Brien-Smith ") == ("jose", "obrien", "smith")
    assert name_tokens("Søren Łaski") == ("soren", "laski")
    assert name_key("ZOË", "Ní Bhriain") == "zoe|ni bhriain"
    assert name_tokens(None) == ()


def test_a_record_without_a_country_is_read_in_the_retailers_other_regions() -> None:
    normalizer = Normalizer(default_region="US", regions=("US", "GB"))
    assert normalizer.phone("07911 123456") == "+447911123456"
    assert normalizer.phone("(415) 600-9952") == "+14156009952"
    # the record's own country is trusted: no guessing
    assert normalizer.phone("07911 123456", "US") is None
    assert Normalizer(default_region="US").phone("07911 123456") is None
