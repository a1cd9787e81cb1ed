"""The vendor kinds c360 knows: how to read each one's config and build its adapter.

Adding a vendor means adding its package under ``adapters/`` and one entry here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.config import Table
from adapters.errors import ConfigError
from adapters.loyalty import LoyaltyAdapter, LoyaltyConfig
from adapters.shopify import ShopifyAdapter, ShopifyConfig
from adapters.square import SquareAdapter, SquareConfig
from adapters.zendesk import ZendeskAdapter, ZendeskConfig

SourceConfig = ShopifyConfig | SquareConfig | ZendeskConfig | LoyaltyConfig
Adapter = ShopifyAdapter | SquareAdapter | ZendeskAdapter | LoyaltyAdapter

HTTP_KINDS: Mapping[str, type[ShopifyConfig] | type[SquareConfig] | type[ZendeskConfig]] = {
    "shopify": ShopifyConfig,
    "square": SquareConfig,
    "zendesk": ZendeskConfig,
}
SQL_KINDS: Mapping[str, type[LoyaltyConfig]] = {"loyalty": LoyaltyConfig}
KINDS = (*HTTP_KINDS, *SQL_KINDS)


def parse_source(name: str, table: Table) -> SourceConfig:
    """The typed config of source ``name``, by its ``kind`` key."""
    kind = str(table.data.get("kind"))
    if kind in HTTP_KINDS:
        return HTTP_KINDS[kind].from_table(table)
    if kind in SQL_KINDS:
        return SQL_KINDS[kind].from_table(table)
    raise ConfigError(table.key("kind"), f"must be one of {', '.join(KINDS)}")


def kind_of(config: SourceConfig) -> str:
    for kind, cls in (*HTTP_KINDS.items(), *SQL_KINDS.items()):
        if isinstance(config, cls):
            return kind
    raise TypeError(type(config).__name__)


def with_store_locations(config: SourceConfig, location_ids: frozenset[str]) -> SourceConfig:
    """Tell a Shopify source which of its locations are stores (from ``[[stores]]``)."""
    if isinstance(config, ShopifyConfig):
        return dataclasses.replace(config, store_location_ids=location_ids)
    return config


def build_adapter(name: str, config: SourceConfig, *, client: httpx.AsyncClient | None = None,
                  engine: AsyncEngine | None = None, **options: Any) -> Adapter:
    """The adapter of one source over the shared transport the caller owns."""
    if isinstance(config, LoyaltyConfig):
        if engine is None:
            raise ValueError(f"source {name}: a SQL source needs an engine")
        return LoyaltyAdapter(config, engine, source=name)
    if client is None:
        raise ValueError(f"source {name}: an HTTP source needs a client")
    if isinstance(config, ShopifyConfig):
        return ShopifyAdapter(config, client, source=name, **options)
    if isinstance(config, SquareConfig):
        return SquareAdapter(config, client, source=name, **options)
    return ZendeskAdapter(config, client, source=name, **options)
