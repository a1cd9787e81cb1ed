"""Typed configuration of one Shopify Admin REST source (``[sources.<name>]``, kind ``shopify``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from adapters.base import read_http_settings, read_references
from adapters.config import Table
from adapters.errors import ConfigError

KIND = "shopify"
MAX_PAGE_SIZE = 250
TAG_REFERENCE = "tag:"
_API_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")


@dataclass(frozen=True)
class ShopifyConfig:
    """Where the shop is and how to talk to it.

    ``references`` maps ``"tag:<prefix>"`` to a source name: a customer tag ``<prefix><id>``
    references record ``<id>`` of that source (``{"tag:loyalty:": "loyalty"}``).
    ``store_location_ids`` are the shop's locations that are physical stores; the gateway fills it
    from its ``[[stores]]`` mapping (it is not read from the source's table).
    Open carts are read from the abandoned checkouts updated in the last ``cart_lookback_days``
    and every open draft order, indexed by customer and kept ``carts_ttl_s`` seconds.
    """

    url: str
    access_token: str = field(repr=False)
    api_version: str = "2026-07"
    timeout_s: float = 1.5
    retries: int = 2
    page_size: int = MAX_PAGE_SIZE
    references: Mapping[str, str] = field(default_factory=dict)
    store_location_ids: frozenset[str] = frozenset()
    catalog_ttl_s: float = 300.0
    max_concurrency: int = 8
    cart_lookback_days: int = 30
    carts_ttl_s: float = 30.0

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Read ``url``, ``access_token``, ``api_version``, ``timeout_ms``, ``retries``,
        ``page_size``, ``references``, ``catalog_ttl_s``, ``max_concurrency``,
        ``cart_lookback_days`` and ``carts_ttl_s``; refuse any other key."""
        settings = read_http_settings(table, KIND)
        access_token = table.string("access_token")
        api_version = table.string("api_version", "2026-07")
        if not _API_VERSION.match(api_version):
            raise ConfigError(table.key("api_version"), "must be YYYY-MM or unstable")
        page_size = table.integer("page_size", MAX_PAGE_SIZE, minimum=1)
        if page_size > MAX_PAGE_SIZE:
            raise ConfigError(table.key("page_size"), f"must be at most {MAX_PAGE_SIZE}")
        references = read_references(table, _reference_problem)
        catalog_ttl_s = table.number("catalog_ttl_s", 300.0, minimum=0)
        cart_lookback_days = table.integer("cart_lookback_days", 30, minimum=1)
        carts_ttl_s = table.number("carts_ttl_s", 30.0, minimum=0)
        table.finish()
        return cls(
            **settings,
            access_token=access_token,
            api_version=api_version,
            page_size=page_size,
            references=references,
            catalog_ttl_s=catalog_ttl_s,
            cart_lookback_days=cart_lookback_days,
            carts_ttl_s=carts_ttl_s,
        )


def _reference_problem(name: str) -> str | None:
    if not name.startswith(TAG_REFERENCE) or len(name) == len(TAG_REFERENCE):
        return 'must be "tag:<prefix>" (the only Shopify kind)'
    return None
