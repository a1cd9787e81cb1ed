"""Reading a Zendesk source's configuration from its TOML table."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.config import Table
from adapters.errors import ConfigError
from adapters.zendesk import ZendeskConfig

TABLE: dict[str, Any] = {
    "kind": "zendesk",
    "url": "http://127.0.0.1:8103/",
    "email": "agent@c360-sandbox.example",
    "api_token": "sandbox-zendesk-token",
    "timeout_ms": 1500,
    "order_number_field_id": 360001234567,
    "references": {"external_id": "shopify"},
}


def read(data: dict[str, Any], env: dict[str, str] | None = None) -> ZendeskConfig:
    return ZendeskConfig.from_table(Table(data, "sources.zendesk", env or {}))


def test_the_sandbox_table() -> None:
    config = read(TABLE)
    assert config == ZendeskConfig(
        url="http://127.0.0.1:8103",
        email="agent@c360-sandbox.example",
        api_token="sandbox-zendesk-token",
        timeout_s=1.5,
        retries=2,
        order_number_field_id=360001234567,
        references={"external_id": "shopify"},
        max_concurrency=8,
    )
    assert "sandbox-zendesk-token" not in repr(config)


def test_defaults_and_environment_overrides() -> None:
    minimal = {"kind": "zendesk", "url": "https://acme.zendesk.com", "email": "ops@acme.example"}
    config = read(minimal, {"C360_SOURCES_ZENDESK_API_TOKEN": "from-env",
                            "C360_SOURCES_ZENDESK_RETRIES": "4",
                            "C360_SOURCES_ZENDESK_MAX_CONCURRENCY": "3"})
    assert config.api_token == "from-env"
    assert (config.retries, config.max_concurrency, config.timeout_s) == (4, 3, 1.5)
    assert config.order_number_field_id is None and dict(config.references) == {}
    assert config.search_batch_min == 3


def test_the_search_threshold_is_configurable() -> None:
    assert read({**TABLE, "search_batch_min": 1}).search_batch_min == 1
    from_env = read(TABLE, {"C360_SOURCES_ZENDESK_SEARCH_BATCH_MIN": "10"})
    assert from_env.search_batch_min == 10


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"timeout": 5}, "sources.zendesk.timeout"),
        ({"url": "acme.zendesk.com"}, "sources.zendesk.url"),
        ({"kind": "freshdesk"}, "sources.zendesk.kind"),
        ({"retries": -1}, "sources.zendesk.retries"),
        ({"max_concurrency": 0}, "sources.zendesk.max_concurrency"),
        ({"order_number_field_id": "#1"}, "sources.zendesk.order_number_field_id"),
        ({"references": {"external_id": 7}}, "sources.zendesk.references.external_id"),
        ({"api_token": None}, "sources.zendesk.api_token"),
        ({"search_batch_min": 0}, "sources.zendesk.search_batch_min"),
        ({"search_batch_min": "few"}, "sources.zendesk.search_batch_min"),
    ],
)
def test_bad_values_name_their_key(change: dict[str, Any], key: str) -> None:
    data = {k: v for k, v in {**TABLE, **change}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        read(data)
    assert caught.value.key == key
