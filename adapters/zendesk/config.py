"""Configuration of one Zendesk Support source (``[sources.<name>]`` with ``kind = "zendesk"``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from adapters.config import Table


@dataclass(frozen=True, slots=True)
class ZendeskConfig:
    """Where the Zendesk account is and how to call it.

    ``order_number_field_id`` is the ticket custom field holding an order reference (a Shopify
    order name like ``#1042`` or a Square order id). ``references`` maps a user attribute
    (``external_id``, or ``user_fields.<key>``) to the source name its value is an id in.
    """

    url: str
    email: str
    api_token: str = field(repr=False)
    timeout_s: float = 1.5
    retries: int = 2
    order_number_field_id: int | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    max_concurrency: int = 8

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Read ``kind``, ``url``, ``email``, ``api_token``, ``timeout_ms``, ``retries``,
        ``order_number_field_id``, ``references`` and ``max_concurrency``; unknown keys fail."""
        table.choice("kind", ("zendesk",), "zendesk")
        refs = table.table("references")
        references = {str(name): str(refs.string(str(name))) for name in refs.data}
        refs.finish()
        config = cls(
            url=str(table.url("url")).rstrip("/"),
            email=str(table.string("email")),
            api_token=str(table.string("api_token")),
            timeout_s=float(table.number("timeout_ms", 1500.0, minimum=1)) / 1000,
            retries=int(table.integer("retries", 2, minimum=0)),
            order_number_field_id=table.integer("order_number_field_id", None, minimum=1),
            references=references,
            max_concurrency=int(table.integer("max_concurrency", 8, minimum=1)),
        )
        table.finish()
        return config
