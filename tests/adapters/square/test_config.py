"""``SquareConfig.from_table``: typed reads, defaults, env overrides and errors naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.config import Table
from adapters.errors import ConfigError
from adapters.square import SquareConfig

BASE = {"kind": "square", "url": "http://127.0.0.1:8102/", "access_token": "EAAAtoken"}


def read(data: dict[str, Any], env: dict[str, str] | None = None) -> SquareConfig:
    return SquareConfig.from_table(Table(data, "sources.square", env or {}))


def test_defaults() -> None:
    config = read(BASE)
    assert config == SquareConfig(url="http://127.0.0.1:8102", access_token="EAAAtoken")
    assert (config.api_version, config.timeout_s, config.retries, config.max_concurrency) == (
        "2025-10-16", 1.5, 2, 8)
    assert config.references == {} and config.return_reference_source is None
    assert "EAAAtoken" not in repr(config)


def test_every_key() -> None:
    config = read({
        **BASE, "api_version": "2024-01-18", "timeout_ms": 800, "retries": 0,
        "references": {"reference_id": "loyalty"}, "return_reference_source": "shopify",
        "max_concurrency": 3,
    })
    assert (config.api_version, config.timeout_s, config.retries) == ("2024-01-18", 0.8, 0)
    assert config.references == {"reference_id": "loyalty"}
    assert (config.return_reference_source, config.max_concurrency) == ("shopify", 3)


def test_env_overrides_the_token() -> None:
    config = read(BASE, {"C360_SOURCES_SQUARE_ACCESS_TOKEN": "from-env",
                         "C360_SOURCES_SQUARE_REFERENCES_REFERENCE_ID": "cards"})
    assert config.access_token == "from-env"
    assert config.references == {}  # only keys present in the table are read
    with_refs = read({**BASE, "references": {"reference_id": "loyalty"}},
                     {"C360_SOURCES_SQUARE_REFERENCES_REFERENCE_ID": "cards"})
    assert with_refs.references == {"reference_id": "cards"}


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"url": "ftp://nope"}, "sources.square.url"),
        ({"access_token": None}, "sources.square.access_token"),
        ({"api_version": "2025-10"}, "sources.square.api_version"),
        ({"timeout_ms": 0}, "sources.square.timeout_ms"),
        ({"retries": -1}, "sources.square.retries"),
        ({"max_concurrency": 0}, "sources.square.max_concurrency"),
        ({"references": {"reference_id": 7}}, "sources.square.references.reference_id"),
        ({"references": {"Bad Field": "loyalty"}}, "sources.square.references.Bad Field"),
        ({"return_reference_source": " "}, "sources.square.return_reference_source"),
        ({"kind": "shopify"}, "sources.square.kind"),
        ({"page_size": 100}, "sources.square.page_size"),
    ],
)
def test_errors_name_the_key(changes: dict[str, Any], key: str) -> None:
    data = {**BASE, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        read(data)
    assert caught.value.key == key
