"""Masked contact data, for callers that may know a customer has an email, a phone or an
address but not read it in full (a store associate): ``j***@gmail.com``, ``+34 6** *** *78``,
``*** , Barcelona 08***``."""

from __future__ import annotations

import dataclasses
from typing import Any

import phonenumbers

from schema.policy import MaskStyle


def mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    """Country code, the first national digit and the last two stay; other digits are
    starred, in the number's international layout."""
    try:
        number = phonenumbers.parse(value, None)
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        prefix = f"+{number.country_code}"
    except phonenumbers.NumberParseException:
        shown, prefix = value, ""
    head, rest = shown[:len(prefix)], shown[len(prefix):]
    digits = [i for i, c in enumerate(rest) if c.isdigit()]
    keep = set(digits[:1]) | set(digits[-2:])
    if len(digits) <= 4:
        keep = set()
    return head + "".join(c if (not c.isdigit() or i in keep) else "*"
                          for i, c in enumerate(rest))


def mask_postal_code(value: str | None) -> str | None:
    if not value:
        return value
    return value[:2] + "*" * max(len(value) - 2, 1)


def mask_value(value: Any, style: MaskStyle) -> Any:
    """A schema value (a ``SourcedString`` or ``SourcedAddress``) with its content masked."""
    if value is None:
        return None
    if style is MaskStyle.ADDRESS:
        address = value.address
        return dataclasses.replace(value, address=dataclasses.replace(
            address, line1="***" if address.line1 else None, line2=None,
            postal_code=mask_postal_code(address.postal_code)))
    masked = mask_email(value.value) if style is MaskStyle.EMAIL else mask_phone(value.value)
    return dataclasses.replace(value, value=masked)
