"""Search-term parsing and the normalisations behind the user indexes."""

from __future__ import annotations

from silos.zendesk.query import (
    Term,
    looks_like_phone,
    normalize_email,
    normalize_external_id,
    parse_query,
    phone_keys,
    words,
)


def test_parse_query_splits_fields_phrases_and_bare_terms() -> None:
    assert parse_query('email:a@b.co name:"Ann Lee" "New York" +1 555 role:end-user x:y') == [
        Term("email", "a@b.co"),
        Term("name", "Ann Lee"),
        Term(None, "New York"),
        Term(None, "+1"),
        Term(None, "555"),
        Term("role", "end-user"),
        Term(None, "x:y"),
    ]
    assert parse_query(" +1 (415) 555-0101 ") == [Term(None, "+1 (415) 555-0101")]
    assert parse_query("type:user alice") == [Term(None, "alice")]
    assert parse_query("   ") == []
    assert parse_query('name:""') == []


def test_phone_keys_keep_the_national_number_of_a_long_number() -> None:
    assert phone_keys("+1 (415) 555-0101") == ["14155550101", "4155550101"]
    assert phone_keys("415.555.0101") == ["4155550101"]
    assert phone_keys("n/a") == []


def test_looks_like_phone_needs_phone_characters_and_seven_digits() -> None:
    assert looks_like_phone("+1 (415) 555-0101")
    assert looks_like_phone("5550101")
    assert not looks_like_phone("555-01")
    assert not looks_like_phone("order 5550101")


def test_normalisations_and_words() -> None:
    assert normalize_email("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    assert normalize_external_id(" GID://Shopify/1 ") == "gid://shopify/1"
    assert words("José O'Neil-Smith") == ["josé", "o", "neil", "smith"]
