from __future__ import annotations

import random

import phonenumbers
import pytest

from silos.generator.noise import email_variant, name_variant, phone_variant, strip_accents


@pytest.mark.parametrize("e164", ["+14155550123", "+12125551234", "+447911123456"])
def test_every_phone_variant_is_the_same_number(e164: str) -> None:
    assert_variants_read_back(e164, "US" if e164.startswith("+1") else "GB", seed=7)


def assert_variants_read_back(e164: str, region: str, *, seed: int) -> None:
    """200 typed variants of ``e164`` all read back as it in ``region``, and they vary."""
    rng = random.Random(seed)
    seen = set()
    for _ in range(200):
        typed = phone_variant(e164, rng)
        seen.add(typed)
        parsed = phonenumbers.parse(typed, region)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164
    assert len(seen) >= 4, "variants must actually vary"


def test_email_variants_are_the_same_mailbox_but_differ_in_writing() -> None:
    rng = random.Random(3)
    variants = {email_variant("jane.doe@gmail.com", rng) for _ in range(400)}
    assert len(variants) > 8
    for text in variants:
        local, domain = text.strip().lower().split("@")
        assert domain in ("gmail.com", "googlemail.com")
        assert local.split("+")[0].replace(".", "") == "janedoe"
    assert any(v != v.strip() for v in variants)
    assert any("+" in v for v in variants)
    assert any(v.strip().lower() != v.strip() for v in variants)


def test_non_gmail_dots_are_kept() -> None:
    rng = random.Random(5)
    for _ in range(200):
        local = email_variant("jane.doe@yahoo.com", rng).strip().lower().split("@")[0]
        assert local == "jane.doe"


def test_name_variants() -> None:
    rng = random.Random(11)
    variants = {name_variant("José", "Gutiérrez", rng) for _ in range(500)}
    assert ("Jose", "Gutierrez") in variants
    assert ("Pepe", "Gutiérrez") in variants
    assert ("JOSÉ", "GUTIÉRREZ") in variants
    assert strip_accents("Zoë Lefèvre") == "Zoe Lefevre"
