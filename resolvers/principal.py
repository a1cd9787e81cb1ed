"""Who is asking: the principal an authenticated request carries into the graph.

Authentication (``gateway.auth``) builds it from a JWT or an API key; authorization (the
rules declared on the schema, ``schema.policy``) reads only its scopes, the customer it acts
for and the store it works in — never its role name, so a rule means the same for every role.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    """A mobile app or web shop acting for one customer: only that customer, everywhere."""
    STORE_ASSOCIATE = "store_associate"
    """A store clerk: looks customers up (no listing), contact data masked, own store's stock."""
    AGENT = "agent"
    """A call-center agent: one customer at a time in full, one small page of search."""
    BACKOFFICE = "backoffice"
    """Everything readable."""
    SERVICE = "service"
    """A backend service: exactly the scopes its key or token carries."""


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    """The token's subject, or ``apikey:<name>``."""
    role: Role
    scopes: frozenset[str]
    """Effective scopes: the role's grants, or a service's own scopes."""
    customer: str | None = None
    """The customer a ``customer`` principal acts for, as its claim names it: a golden id or
    a ``kind:id`` source record (resolved through the registry per request)."""
    store: str | None = None
    """The store code of a store associate."""
    method: str = "jwt"
    """How it authenticated: ``jwt`` or ``apikey``."""
    expires_at: float | None = None
