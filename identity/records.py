"""From a silo's customer record to the identifiers the registry keeps."""

from __future__ import annotations

from adapters.models import Customer
from identity.matching import RecordIdentity
from identity.normalize import Normalizer, name_tokens


def record_identity(customer: Customer, normalizer: Normalizer) -> RecordIdentity:
    """Normalized emails and phones (each phone read in the record's own country where it has
    one), cross-references, and name tokens — nothing else leaves the silo."""
    emails = {e for e in (normalizer.email(raw) for raw in customer.emails) if e}
    region = customer.country_code
    if region is None:
        region = next((a.country_code for a in customer.addresses if a.country_code), None)
    phones = {p for p in (normalizer.phone(raw, region) for raw in customer.phones) if p}
    return RecordIdentity(
        source=customer.source,
        id=customer.id,
        kind=customer.kind,
        emails=frozenset(emails),
        phones=frozenset(phones),
        first=name_tokens(customer.first_name),
        last=name_tokens(customer.last_name),
        references=frozenset((s, i) for s, i in customer.references if i),
    )
