"""Reading a Shopify source from the gateway's TOML table."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.config import Table
from adapters.errors import ConfigError
from adapters.shopify import ShopifyConfig
from silos.generator import generate
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config


def source_table(**changes: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "kind": "shopify", "url": "http://127.0.0.1:8101", "api_version": "2026-07",
        "access_token": "shpat_sandbox_token", "timeout_ms": 1500,
        "references": {"tag:loyalty:": "loyalty"}}
    table.update(changes)
    return {key: value for key, value in table.items() if value is not None}


def read(data: dict[str, Any], env: dict[str, str] | None = None) -> ShopifyConfig:
    return ShopifyConfig.from_table(Table(data, "sources.shopify", env or {}))


def test_the_sandbox_table(tmp_path: Path) -> None:
    running = RunningSandbox(SandboxOptions(data_dir=tmp_path), generate(customers=5, seed=1),
                             {}, tmp_path / "c360.toml", tmp_path / "truth.json", "sqlite://")
    config = read(gateway_config(running)["sources"]["shopify"])
    assert config.url == running.url("shopify")
    assert (config.access_token, config.api_version) == ("shpat_sandbox_token", "2026-07")
    assert (config.timeout_s, config.retries, config.page_size) == (1.5, 2, 250)
    assert dict(config.references) == {"tag:loyalty:": "loyalty"}
    assert (config.catalog_ttl_s, config.max_concurrency) == (300.0, 8)
    # the sandbox's data is dated from its as_of: its carts reach a year back from then
    age = (datetime.now(UTC) - running.data.as_of).days
    assert (config.cart_lookback_days, config.carts_ttl_s) == (max(0, age) + 365, 30.0)
    assert config.store_location_ids == frozenset()
    assert "shpat_sandbox_token" not in repr(config)
    stores = dataclasses.replace(config, store_location_ids=frozenset({"61000000201"}))
    assert stores.store_location_ids == {"61000000201"}


def test_all_keys_and_env_override() -> None:
    config = read(
        source_table(url="https://shop.example/", retries=0, page_size=100,
                     catalog_ttl_s=0, max_concurrency=2, timeout_ms=250,
                     cart_lookback_days=7, carts_ttl_s=2.5),
        env={"C360_SOURCES_SHOPIFY_ACCESS_TOKEN": "shpat_from_env",
             "C360_SOURCES_SHOPIFY_API_VERSION": "unstable"})
    assert config.url == "https://shop.example"
    assert (config.access_token, config.api_version) == ("shpat_from_env", "unstable")
    assert (config.timeout_s, config.retries, config.page_size) == (0.25, 0, 100)
    assert (config.catalog_ttl_s, config.max_concurrency) == (0.0, 2)
    assert (config.cart_lookback_days, config.carts_ttl_s) == (7, 2.5)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"kind": "square"}, "sources.shopify.kind"),
        ({"url": "shop.example"}, "sources.shopify.url"),
        ({"access_token": None}, "sources.shopify.access_token"),
        ({"api_version": "v1"}, "sources.shopify.api_version"),
        ({"page_size": 251}, "sources.shopify.page_size"),
        ({"page_size": 0}, "sources.shopify.page_size"),
        ({"timeout_ms": "soon"}, "sources.shopify.timeout_ms"),
        ({"max_concurrency": 0}, "sources.shopify.max_concurrency"),
        ({"cart_lookback_days": 0}, "sources.shopify.cart_lookback_days"),
        ({"cart_lookback_days": 1.5}, "sources.shopify.cart_lookback_days"),
        ({"carts_ttl_s": -1}, "sources.shopify.carts_ttl_s"),
        ({"references": {"external_id": "zendesk"}}, "sources.shopify.references.external_id"),
        ({"references": {"tag:": "loyalty"}}, "sources.shopify.references.tag:"),
        ({"references": {"tag:x-": 3}}, "sources.shopify.references.tag:x-"),
        ({"references": "tag:loyalty:"}, "sources.shopify.references"),
        ({"timeout": 3}, "sources.shopify.timeout"),
    ],
)
def test_errors_name_the_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read(source_table(**changes))
    assert caught.value.key == key
