"""Configuration of one Zendesk Support source (``[sources.<name>]`` with ``kind = "zendesk"``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from adapters.base import read_http_settings, read_references
from adapters.config import Table


@dataclass(frozen=True, slots=True)
class ZendeskConfig:
    """Where the Zendesk account is and how to call it.

    ``order_number_field_id`` is the ticket custom field holding an order reference (a Shopify
    order name like ``#1042`` or a Square order id). ``references`` maps a user attribute
    (``external_id``, or ``user_fields.<key>``) to the source name its value is an id in.

    ``search_batch_min`` is the number of distinct requesters from which their tickets are read
    through the Search API (one request per 50 requesters, plus a page per 100 tickets) instead
    of one ``users/{id}/tickets/requested`` walk per requester. Search is eventually consistent:
    Zendesk indexes a new or changed ticket about a minute after the write, so a batch read can
    miss a ticket opened seconds ago (or one whose requester just changed). Below the threshold
    (by default one or two requesters: an agent looking at the caller on the line) reads are
    per requester and always current; above it, one query level costs one request per 50
    requesters rather than one per requester. ``1`` always searches; a very large value never
    does.
    """

    url: str
    email: str
    api_token: str = field(repr=False)
    timeout_s: float = 1.5
    retries: int = 2
    order_number_field_id: int | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    max_concurrency: int = 8
    search_batch_min: int = 3

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Read ``kind``, ``url``, ``email``, ``api_token``, ``timeout_ms``, ``retries``,
        ``order_number_field_id``, ``references``, ``max_concurrency`` and
        ``search_batch_min``; unknown keys fail."""
        config = cls(
            **read_http_settings(table, "zendesk", fractional_ms=True),
            email=str(table.string("email")),
            api_token=str(table.string("api_token")),
            order_number_field_id=table.integer("order_number_field_id", None, minimum=1),
            references=read_references(table),
            search_batch_min=table.integer("search_batch_min", 3, minimum=1),
        )
        table.finish()
        return config
