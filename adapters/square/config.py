"""Typed configuration of one Square API v2 source (``[sources.<name>]``, kind ``square``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from adapters.base import read_http_settings, read_references
from adapters.config import Table
from adapters.errors import ConfigError

KIND = "square"
DEFAULT_API_VERSION = "2025-10-16"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class SquareConfig:
    """Where the seller account is and how to talk to it.

    ``references`` maps a customer field to a source name: ``{"reference_id": "loyalty"}`` means a
    customer's ``reference_id`` is a record id (a loyalty card number) of source ``loyalty``.
    ``return_reference_source`` names the source whose order ids return orders carry in their
    ``reference_id`` (in-store returns of web orders); None when the seller does not do that.
    """

    url: str
    access_token: str = field(repr=False)
    api_version: str = DEFAULT_API_VERSION
    timeout_s: float = 1.5
    retries: int = 2
    references: Mapping[str, str] = field(default_factory=dict)
    return_reference_source: str | None = None
    max_concurrency: int = 8
    catalog_ttl_s: float = 300.0
    """How long a SKU's catalog variations are kept (0: ask Square every time). Stock counts
    are never cached."""

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Read ``url``, ``access_token``, ``api_version`` (sent as ``Square-Version``),
        ``timeout_ms``, ``retries``, ``references``, ``return_reference_source``,
        ``max_concurrency`` and ``catalog_ttl_s``; refuse any other key."""
        settings = read_http_settings(table, KIND)
        access_token = table.string("access_token")
        api_version = table.string("api_version", DEFAULT_API_VERSION)
        if not _API_VERSION.match(api_version):
            raise ConfigError(table.key("api_version"), "must be YYYY-MM-DD")
        references = read_references(table, _reference_problem)
        return_reference_source = table.string("return_reference_source", None)
        if return_reference_source is not None and not return_reference_source.strip():
            raise ConfigError(table.key("return_reference_source"), "must not be empty")
        catalog_ttl_s = table.number("catalog_ttl_s", 300.0, minimum=0)
        table.finish()
        return cls(
            **settings,
            access_token=access_token,
            api_version=api_version,
            references=references,
            return_reference_source=return_reference_source,
            catalog_ttl_s=catalog_ttl_s,
        )


def _reference_problem(name: str) -> str | None:
    if not _FIELD.match(name):
        return "must name a customer field, e.g. reference_id"
    return None
