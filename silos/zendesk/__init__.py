"""An emulated Zendesk Support API (users, identities, the incremental user export, tickets,
comments, audits).

:class:`ZendeskStore` holds the records in Zendesk's own JSON shape and is filled through
``create_user`` / ``create_ticket`` / ``update_ticket`` with Zendesk's request bodies;
:func:`create_app` serves it over HTTP with Zendesk's auth, pagination, errors and limits.
"""

from __future__ import annotations

from silos.zendesk.app import create_app
from silos.zendesk.config import ZendeskSiloConfig
from silos.zendesk.errors import ZendeskError, ZendeskNotFoundError, ZendeskValidationError
from silos.zendesk.store import ZendeskStore

__all__ = [
    "ZendeskError",
    "ZendeskNotFoundError",
    "ZendeskSiloConfig",
    "ZendeskStore",
    "ZendeskValidationError",
    "create_app",
]
