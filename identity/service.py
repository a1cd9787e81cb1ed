"""Finding people: the registry first, the silos live on a miss (then linked for next time)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.errors import UpstreamError
from adapters.models import Customer
from adapters.protocols import CustomerSource
from identity.crawl import crawl_method, crawl_problem
from identity.normalize import Normalizer
from identity.records import record_identity
from identity.registry import Registry

log = logging.getLogger("c360.identity")

_Search = Callable[[CustomerSource], Awaitable[list[list[Customer]]]]
Lookup = Callable[[str, str], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What ``c360 index`` did: per source the records read and removed and how they were
    read (``methods``, e.g. ``incremental export`` or ``users list (export forbidden: agent
    token)``), and per failed source why (naming the permission a refused one needs)."""

    records: dict[str, int]
    removed: dict[str, int]
    people: int
    changed: int
    failed: dict[str, str]
    methods: dict[str, str] = field(default_factory=dict)


class IdentityService:
    """Who is who, for the resolvers and ``c360 index``."""

    def __init__(self, registry: Registry, sources: Sequence[CustomerSource],
                 normalizer: Normalizer) -> None:
        self.registry = registry
        self.sources = list(sources)
        self.normalizer = normalizer

    async def index(self, since: datetime | None = None) -> IndexReport:
        """Crawl every source's customer identifiers (all, or updated since ``since``) and
        re-link. A source that fails is reported and keeps what it had in the registry."""
        started = datetime.now(UTC)

        async def crawl(source: CustomerSource) -> tuple[int, int]:
            seen: list[str] = []
            async for page in source.crawl_customers(since):
                await self.registry.upsert(
                    [record_identity(c, self.normalizer) for c in page])
                seen.extend(c.id for c in page)
            removed = 0 if since is not None else await self.registry.remove_missing(
                source.source, seen)
            await self.registry.set_cursor(source.source, started)
            return len(seen), removed

        results = await asyncio.gather(*(crawl(s) for s in self.sources),
                                       return_exceptions=True)
        records: dict[str, int] = {}
        removed: dict[str, int] = {}
        failed: dict[str, str] = {}
        methods: dict[str, str] = {}
        for source, result in zip(self.sources, results, strict=True):
            if isinstance(result, UpstreamError):
                failed[source.source] = crawl_problem(source, result)
                log.warning("index: %s failed: %s", source.source, failed[source.source])
            elif isinstance(result, BaseException):
                raise result
            else:
                records[source.source], removed[source.source] = result
                methods[source.source] = crawl_method(source, since)
        report = await self.registry.recluster()
        return IndexReport(records, removed, report.people, report.changed, failed, methods)

    async def link_customers(self, customers: Sequence[Customer]) -> None:
        """Store records found live and link them with their neighbourhood."""
        if not customers:
            return
        identities = [record_identity(c, self.normalizer) for c in customers]
        await self.registry.upsert(identities)
        await self.registry.recluster(scope={i.key for i in identities})

    async def find_by_email(self, raw: str, lookup: Lookup | None = None) -> list[str]:
        """People with this email: the registry (through ``lookup``, e.g. a request's batching
        loader), else a live search of every silo whose finds are linked for next time."""
        email = self.normalizer.email(raw)
        if email is None:
            return []
        lookup = lookup or self.registry.lookup
        found = await lookup("email", email)
        if found:
            return found
        await self._live(lambda s: s.customers_by_emails([raw]))
        return await self.registry.lookup("email", email)

    async def find_by_phone(self, raw: str, region: str | None = None,
                            lookup: Lookup | None = None) -> list[str]:
        """:meth:`find_by_email` for a phone number in any format."""
        phone = self.normalizer.phone(raw, region)
        if phone is None:
            return []
        lookup = lookup or self.registry.lookup
        found = await lookup("phone", phone)
        if found:
            return found
        await self._live(lambda s: s.customers_by_phones([phone]))
        return await self.registry.lookup("phone", phone)

    async def _live(self, search: _Search) -> None:
        await self.link_customers(await self._search(search))

    async def _search(self, search: _Search) -> list[Customer]:
        """``search`` every source concurrently; what the ones that answered found (a source
        that fails is logged and skipped)."""
        results = await asyncio.gather(*(search(s) for s in self.sources),
                                       return_exceptions=True)
        found: list[Customer] = []
        for source, result in zip(self.sources, results, strict=True):
            if isinstance(result, UpstreamError):
                log.warning("live lookup: %s failed: %s", source.source, type(result).__name__)
            elif isinstance(result, BaseException):
                raise result
            else:
                found.extend(c for matches in result for c in matches)
        return found

    async def link_new(self, emails: Sequence[str], phones: Sequence[str], *,
                       held: Collection[tuple[str, str, str]] = ()) -> int:
        """Search every source live by these normalized emails and E.164 phones and link the
        records the registry does not hold yet (known records wait for the crawl); returns
        how many were linked. ``held``: (key type, value, source) the registry already holds
        — a source that keeps a key type unique (:func:`unique_keys`) is not searched for
        those, as it cannot hold a second record with them; a source left nothing to search
        is not called."""
        held_set = set(held)

        def wanted(source: CustomerSource, kind: str, values: Sequence[str]) -> list[str]:
            if kind not in unique_keys(source):
                return list(values)
            return [v for v in values if (kind, v, source.source) not in held_set]

        async def both(source: CustomerSource) -> list[list[Customer]]:
            mine_emails = wanted(source, "email", emails)
            mine_phones = wanted(source, "phone", phones)
            by_email, by_phone = await asyncio.gather(
                source.customers_by_emails(mine_emails) if mine_emails else _nothing(),
                source.customers_by_phones(mine_phones) if mine_phones else _nothing())
            return [*by_email, *by_phone]

        if not emails and not phones:
            return 0
        found = {(c.source, c.id): c for c in await self._search(both)}
        known = await self.registry.golden_of(list(found))
        new = [c for c, golden in zip(found.values(), known, strict=True) if golden is None]
        await self.link_customers(new)
        return len(new)


async def _nothing() -> list[list[Customer]]:
    return []


def unique_keys(source: CustomerSource) -> frozenset[str]:
    """The key types (``email``, ``phone``) the vendor lets at most one of its customer records
    hold (its ``UNIQUE_KEYS``; none by default): Shopify refuses a second customer with a
    taken email or phone, Zendesk a second user with a taken email."""
    keys: frozenset[str] = getattr(source, "UNIQUE_KEYS", frozenset())
    return keys
