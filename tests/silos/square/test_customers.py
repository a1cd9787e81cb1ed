from __future__ import annotations

import pytest

from silos.square import customers
from silos.square.errors import SquareError


@pytest.mark.parametrize(
    ("phone", "standard"),
    [
        ("+1-212-555-4240", "+12125554240"),
        ("+1 (206) 222-3456", "+12062223456"),
        ("+001 (206) 222-3456", "+12062223456"),
        ("(206) 222-3456", "+12062223456"),
        ("+44 7700 900123", "+447700900123"),
    ],
)
def test_e164(phone: str, standard: str) -> None:
    assert customers.e164(phone) == standard


@pytest.mark.parametrize("phone", ["+1-212-555-4240", "2125554240", "+44 7700 900123"])
def test_valid_phones(phone: str) -> None:
    customers.check_phone(phone)


@pytest.mark.parametrize("phone", ["12345", "+1 212 555 4240 %", "call me", "1" * 17])
def test_invalid_phones(phone: str) -> None:
    with pytest.raises(SquareError) as caught:
        customers.check_phone(phone)
    assert caught.value.code == "INVALID_PHONE_NUMBER"


@pytest.mark.parametrize("email", ["no-at.example.com", "a@b", "@example.com", "a b@example.com"])
def test_invalid_emails(email: str) -> None:
    with pytest.raises(SquareError) as caught:
        customers.check_email(email)
    assert caught.value.code == "INVALID_EMAIL_ADDRESS"


def test_birthday_forms() -> None:
    assert customers.check_birthday("1897-07-24") == "1897-07-24"
    assert customers.check_birthday("07-24") == "0000-07-24"
    with pytest.raises(SquareError):
        customers.check_birthday("24/07/1897")


def test_identity_required() -> None:
    customers.require_identity({"company_name": "ACME"})
    with pytest.raises(SquareError) as caught:
        customers.require_identity({"note": "nothing else"})
    assert caught.value.code == "BAD_REQUEST"


def test_fuzzy_matching_is_token_wise() -> None:
    query = customers.tokens("Steven gmail")
    assert customers.fuzzy_match("steven.johnson@gmail.com", query)
    assert customers.fuzzy_match("mygmail@stevensbakery.com", query)
    assert not customers.fuzzy_match("steven@example.com", query)
    assert not customers.fuzzy_match(None, query)
