"""What the vendor adapters share: their source name and kind, bounded concurrency, and for the
HTTP vendors (Shopify, Square, Zendesk) the common keys of their ``[sources.<name>]`` table and
the :class:`~adapters.http.VendorHTTP` built from them.

Everything vendor-specific (headers, pagination, limits, parsing) stays in the vendor packages.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import ClassVar, Generic, Protocol, TypedDict, TypeVar

import httpx

from adapters.breaker import Breaker
from adapters.config import Table
from adapters.errors import ConfigError
from adapters.http import RetryPolicy, Sleep, VendorHTTP, parsing


class Bounded(Protocol):
    """A source config with a bound on concurrent requests (or statements)."""

    @property
    def max_concurrency(self) -> int: ...


class HTTPSourceConfig(Bounded, Protocol):
    """The settings every HTTP source config has (see :func:`read_http_settings`)."""

    @property
    def url(self) -> str: ...

    @property
    def timeout_s(self) -> float: ...

    @property
    def retries(self) -> int: ...


C = TypeVar("C", bound=Bounded)
H = TypeVar("H", bound=HTTPSourceConfig)


class SourceAdapter(Generic[C]):
    """``source`` and ``kind`` (the :class:`~adapters.protocols.Source` protocol), the config,
    and ``_slots``: a semaphore admitting ``config.max_concurrency`` requests at a time."""

    KIND: ClassVar[str]
    """The vendor kind, set by each adapter class."""

    def __init__(self, config: C, source: str) -> None:
        self.config = config
        self._source = source
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self.breaker: Breaker | None = None

    def use_breaker(self, breaker: Breaker | None) -> None:
        """Guard every call of this source with ``breaker`` (:mod:`adapters.breaker`)."""
        self.breaker = breaker

    @property
    def source(self) -> str:
        """The configured source name."""
        return self._source

    @property
    def kind(self) -> str:
        """The vendor kind (:attr:`KIND`)."""
        return self.KIND

    def _parsing(self, what: str) -> AbstractContextManager[None]:
        """``with self._parsing("orders"):`` — see :func:`adapters.http.parsing`."""
        return parsing(self._source, what)


class HTTPAdapter(SourceAdapter[H]):
    """A :class:`SourceAdapter` calling its vendor through ``_http``: the vendor's ``headers``
    (JSON is always asked for), timeout and retries from the config, the caller's transport."""

    def __init__(
        self,
        config: H,
        client: httpx.AsyncClient,
        source: str,
        *,
        headers: Mapping[str, str],
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, source)
        self._http = VendorHTTP(
            source,
            client,
            base_url=config.url,
            headers={**headers, "Accept": "application/json"},
            timeout=config.timeout_s,
            retry=RetryPolicy(attempts=config.retries + 1),
            sleep=sleep,
            rng=rng,
        )

    def use_breaker(self, breaker: Breaker | None) -> None:
        super().use_breaker(breaker)
        self._http.breaker = breaker


class HTTPSettings(TypedDict):
    """The common fields of an HTTP source config, as keyword arguments of its dataclass."""

    url: str
    timeout_s: float
    retries: int
    max_concurrency: int


def read_http_settings(table: Table, kind: str, *, fractional_ms: bool = False) -> HTTPSettings:
    """Check ``kind`` (default: ``kind``) and read ``url`` (trailing ``/`` dropped),
    ``timeout_ms`` (default 1500; an integer unless ``fractional_ms``), ``retries`` (default 2)
    and ``max_concurrency`` (default 8). Errors name the dotted key."""
    table.choice("kind", (kind,), kind)
    url = str(table.url("url")).rstrip("/")
    if fractional_ms:
        timeout_ms = float(table.number("timeout_ms", 1500.0, minimum=1))
    else:
        timeout_ms = int(table.integer("timeout_ms", 1500, minimum=1))
    return HTTPSettings(
        url=url,
        timeout_s=timeout_ms / 1000,
        retries=int(table.integer("retries", 2, minimum=0)),
        max_concurrency=int(table.integer("max_concurrency", 8, minimum=1)),
    )


def read_references(
    table: Table, problem: Callable[[str], str | None] = lambda name: None
) -> dict[str, str]:
    """The ``references`` sub-table (a vendor attribute -> the source its values are ids in);
    ``problem(name)`` is the error for a key the vendor cannot have, None when it is fine."""
    references = table.table("references")
    found: dict[str, str] = {}
    for name in list(references.data):
        source = str(references.string(name))
        error = problem(name)
        if error is not None:
            raise ConfigError(references.key(name), error)
        found[name] = source
    references.finish()
    return found
