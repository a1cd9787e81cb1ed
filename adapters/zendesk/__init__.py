"""The Zendesk Support adapter: end users as customers, and their tickets, comments and audits.

``ZendeskAdapter(ZendeskConfig(...), client, source="zendesk")`` implements
:class:`~adapters.protocols.CustomerSource`, :class:`~adapters.protocols.TicketSource` and
:class:`~adapters.protocols.TicketWriter`.
"""

from __future__ import annotations

from adapters.zendesk.adapter import ZendeskAdapter
from adapters.zendesk.config import ZendeskConfig

__all__ = ["ZendeskAdapter", "ZendeskConfig"]
