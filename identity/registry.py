"""The registry store: SQLAlchemy async, SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.cache import LookupCache, NoCache
from adapters.sql import create_tables, read
from identity.golden import assign_golden_ids, mint
from identity.matching import Matcher, Override, RecordIdentity, RecordKey
from identity.normalize import name_tokens
from identity.schema import (
    identity_alias,
    identity_check,
    identity_crawl,
    identity_cursor,
    identity_key,
    identity_override,
    identity_record,
    metadata,
)

_CHUNK = 400
SCOPE_LIMIT = 2_000
"""A neighbourhood re-cluster stops growing past this many records (a full index fixes it)."""
FANOUT_LIMIT = 50
"""Identifiers shared by more records than this are not followed when growing a scope."""


@dataclass(frozen=True, slots=True)
class LinkedRecord:
    """One silo record of a person, and the rule that linked it."""

    source: str
    id: str
    kind: str
    matched_by: str


@dataclass(frozen=True, slots=True)
class ReclusterReport:
    records: int
    people: int
    changed: int
    aliases: int


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands them back naive)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


_IDENTIFIERS = (
    sa.select(identity_record.c.golden_id, identity_key.c.key_type, identity_key.c.value,
              identity_key.c.source)
    .select_from(identity_key.join(identity_record, sa.and_(
        identity_key.c.source == identity_record.c.source,
        identity_key.c.record_id == identity_record.c.record_id)))
    .where(identity_record.c.golden_id.in_(sa.bindparam("ids", expanding=True)),
           identity_key.c.key_type.in_(("email", "phone"))))
_FRESH = sa.select(identity_check.c.golden_id).where(
    identity_check.c.golden_id.in_(sa.bindparam("ids", expanding=True)),
    identity_check.c.checked_at >= sa.bindparam("stale_before"))


def _claim(insert: Any) -> Any:
    """Mark a person checked now unless someone did since ``stale_before``: of workers claiming
    together, one gets the row back."""
    stmt = insert(identity_check).values(golden_id=sa.bindparam("golden_id"),
                                         checked_at=sa.bindparam("checked_at"))
    return stmt.on_conflict_do_update(
        index_elements=["golden_id"], set_={"checked_at": stmt.excluded.checked_at},
        where=identity_check.c.checked_at < sa.bindparam("stale_before"),
    ).returning(identity_check.c.golden_id)


_CLAIM = {"postgresql": _claim(postgresql.insert), "sqlite": _claim(sqlite.insert)}
"""Built once (on every request's re-check, building them cost CPU and left reference cycles
in SQLAlchemy's constructs to the collector)."""


def _keys_of(record: RecordIdentity) -> list[dict[str, str]]:
    rows = [{"key_type": "email", "value": v} for v in sorted(record.emails)]
    rows += [{"key_type": "phone", "value": v} for v in sorted(record.phones)]
    rows += [{"key_type": "ref", "value": f"{s}:{i}"} for s, i in sorted(record.references)]
    for row in rows:
        row["source"], row["record_id"] = record.source, record.id
    return rows


_LOOKUP_MANY = (
    sa.select(identity_key.c.key_type, identity_key.c.value, identity_record.c.golden_id)
    .select_from(identity_key.join(identity_record, sa.and_(
        identity_key.c.source == identity_record.c.source,
        identity_key.c.record_id == identity_record.c.record_id)))
    .where(identity_record.c.golden_id.is_not(None),
           sa.tuple_(identity_key.c.key_type, identity_key.c.value).in_(
               sa.bindparam("keys", expanding=True)))
)
_GOLDEN_OF = sa.select(
    identity_record.c.source, identity_record.c.record_id, identity_record.c.golden_id).where(
    sa.tuple_(identity_record.c.source, identity_record.c.record_id).in_(
        sa.bindparam("keys", expanding=True)))
_RECORDS_OF = (
    sa.select(identity_record.c.golden_id, identity_record.c.source,
              identity_record.c.record_id, identity_record.c.kind, identity_record.c.matched_by)
    .where(identity_record.c.golden_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(identity_record.c.source, identity_record.c.record_id)
)
_LIVE = sa.select(identity_record.c.golden_id).distinct().where(
    identity_record.c.golden_id.in_(sa.bindparam("ids", expanding=True)))
_ALIASED = sa.select(identity_alias.c.alias, identity_alias.c.golden_id).where(
    identity_alias.c.alias.in_(sa.bindparam("ids", expanding=True)))
"""Hot reads, built once: each execution binds its keys (an expanding ``IN``)."""


def tune_sqlite(engine: AsyncEngine) -> None:
    """On a SQLite registry, write-ahead logging: readers (every request) and the writer (the
    crawl, re-checks, the audit log) no longer block each other, and a writer waits its turn
    for up to 5 s. A no-op on other databases."""
    if engine.dialect.name != "sqlite":
        return

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    sa.event.listen(engine.sync_engine, "connect", on_connect)


class Registry:
    """Golden id ↔ (source, record id) links, with the identifiers that made them."""

    def __init__(self, engine: AsyncEngine, matcher: Matcher | None = None,
                 cache: LookupCache[list[str]] | None = None,
                 records_cache: LookupCache[list[LinkedRecord]] | None = None) -> None:
        """``cache`` keeps identifier lookups, ``records_cache`` each person's records; both
        are cleared when this registry changes links (other processes' changes show after
        their TTL)."""
        self.engine = engine
        self.matcher = matcher or Matcher()
        self.cache: LookupCache[list[str]] = cache if cache is not None else NoCache()
        self.records_cache: LookupCache[list[LinkedRecord]] = (
            records_cache if records_cache is not None else NoCache())
        self._write = asyncio.Lock()

    def _forget(self) -> None:
        self.cache.clear()
        self.records_cache.clear()

    async def create(self) -> None:
        """Create the tables if missing; safe for gateway workers starting together (one at a
        time on PostgreSQL; on SQLite a worker that lost the race finds the tables made)."""
        await create_tables(self.engine, metadata, "identity_registry")

    def _insert(self) -> Any:
        dialect = self.engine.dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)

    # -- writing -------------------------------------------------------------------------
    async def upsert(self, records: Sequence[RecordIdentity]) -> None:
        """Store (or replace) the identifiers of these records; links change on recluster."""
        if not records:
            return
        async with self._write, self.engine.begin() as conn:
            await self._store_records(conn, records)
        self._forget()

    async def upsert_changed(self, records: Sequence[RecordIdentity]) -> set[RecordKey]:
        """:meth:`upsert` only the records whose identifiers differ from the stored ones (or
        that are new); returns them with the stored records not yet linked — the keys a
        neighbourhood recluster needs. A crawl re-reading unchanged records writes nothing."""
        if not records:
            return set()
        latest = {r.key: r for r in records}
        async with self._write, self.engine.begin() as conn:
            stored, previous, _ = await self._load(conn, set(latest))
            known = {r.key: r for r in stored}
            changed = [r for key, r in latest.items() if known.get(key) != r]
            if changed:
                await self._store_records(conn, changed)
        if changed:
            self._forget()
        return {r.key for r in changed} | {key for key in latest if key not in previous}

    async def _store_records(self, conn: AsyncConnection,
                             records: Sequence[RecordIdentity]) -> None:
        now = datetime.now(UTC)
        insert = self._insert()
        for chunk in _chunks(records):
            by_source: dict[str, list[str]] = defaultdict(list)
            for record in chunk:
                by_source[record.source].append(record.id)
            for source, ids in by_source.items():
                await conn.execute(identity_key.delete().where(
                    identity_key.c.source == source, identity_key.c.record_id.in_(ids)))
            stmt = insert(identity_record).values([
                {"source": r.source, "record_id": r.id, "kind": r.kind,
                 "first_key": " ".join(r.first), "last_key": " ".join(r.last),
                 "indexed_at": now} for r in chunk])
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["source", "record_id"],
                set_={"kind": stmt.excluded.kind, "first_key": stmt.excluded.first_key,
                      "last_key": stmt.excluded.last_key,
                      "indexed_at": stmt.excluded.indexed_at}))
            rows = [row for r in chunk for row in _keys_of(r)]
            if rows:
                await conn.execute(identity_key.insert(), rows)

    async def remove_missing(self, source: str, keep: Iterable[str]) -> int:
        """After a full crawl of ``source``: forget its records that no longer exist."""
        keep_set = set(keep)
        async with self._write, self.engine.begin() as conn:
            existing = (await conn.execute(sa.select(identity_record.c.record_id).where(
                identity_record.c.source == source))).scalars().all()
            gone = [rid for rid in existing if rid not in keep_set]
            for chunk in _chunks(gone):
                for table in (identity_key, identity_record):
                    await conn.execute(table.delete().where(
                        table.c.source == source, table.c.record_id.in_(chunk)))
        self._forget()
        return len(gone)

    async def set_cursor(self, source: str, crawled_at: datetime) -> None:
        insert = self._insert()
        async with self._write, self.engine.begin() as conn:
            stmt = insert(identity_cursor).values(source=source, crawled_at=crawled_at)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["source"], set_={"crawled_at": stmt.excluded.crawled_at}))

    async def cursor(self, source: str) -> datetime | None:
        async with self.engine.connect() as conn:
            value = (await conn.execute(sa.select(identity_cursor.c.crawled_at).where(
                identity_cursor.c.source == source))).scalar()
        return _utc(value)

    # -- the incremental crawl's state, shared by every worker ----------------------------
    async def crawl_high_water(self, source: str) -> datetime | None:
        """The newest modification time the incremental crawl has read from ``source``."""
        async with self.engine.connect() as conn:
            value = (await conn.execute(sa.select(identity_crawl.c.high_water).where(
                identity_crawl.c.source == source))).scalar()
        return _utc(value)

    async def take_crawl_lease(self, source: str, owner: str, *, now: datetime,
                               until: datetime, due_before: datetime | None = None) -> bool:
        """Become the one worker crawling ``source`` (until ``until``) if nobody holds a live
        lease on it — and, with ``due_before``, only if its last crawl started before then
        (another worker's recent crawl counts). One atomic upsert: of workers asking
        together, exactly one gets it."""
        insert = self._insert()
        stmt = insert(identity_crawl).values(source=source, lease_owner=owner,
                                             lease_until=until)
        free = sa.or_(identity_crawl.c.lease_until.is_(None),
                      identity_crawl.c.lease_until < now,
                      identity_crawl.c.lease_owner == owner)
        if due_before is not None:
            free = sa.and_(free, sa.or_(identity_crawl.c.ran_at.is_(None),
                                        identity_crawl.c.ran_at < due_before))
        stmt = stmt.on_conflict_do_update(
            index_elements=["source"],
            set_={"lease_owner": stmt.excluded.lease_owner,
                  "lease_until": stmt.excluded.lease_until},
            where=free).returning(identity_crawl.c.source)
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def renew_crawl_lease(self, source: str, owner: str, until: datetime) -> bool:
        """Extend a lease this worker holds (a long crawl); False if it lost it."""
        async with self.engine.begin() as conn:
            result = await conn.execute(identity_crawl.update().where(
                identity_crawl.c.source == source, identity_crawl.c.lease_owner == owner,
            ).values(lease_until=until))
            return bool(result.rowcount)

    async def end_crawl(self, source: str, owner: str, *, ran_at: datetime,
                        high_water: datetime | None) -> None:
        """Release this worker's lease on ``source``, note when the crawl started and, after a
        successful one, the new high-water mark."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "ran_at": ran_at}
        if high_water is not None:
            values["high_water"] = high_water
        async with self.engine.begin() as conn:
            await conn.execute(identity_crawl.update().where(
                identity_crawl.c.source == source,
                identity_crawl.c.lease_owner == owner).values(**values))

    # -- live re-checks of people ---------------------------------------------------------
    async def claim_checks(self, golden_ids: Sequence[str], *, now: datetime,
                           stale_before: datetime, limit: int | None = None,
                           ) -> tuple[list[str], set[str]]:
        """Mark checked now the first ``limit`` (all, without) of these people whose last check
        is older than ``stale_before`` or who were never checked. Returns those marked — a
        conditional upsert: of workers claiming a person together, one gets it — and those
        found checked recently (by anyone)."""
        wanted = list(dict.fromkeys(golden_ids))
        if not wanted:
            return [], set()
        async with self.engine.begin() as conn:
            fresh = set((await conn.execute(_FRESH, {
                "ids": wanted, "stale_before": stale_before})).scalars())
            stale = [g for g in wanted if g not in fresh][:limit]
            if not stale:
                return [], fresh
            claimed = set((await conn.execute(_CLAIM[self.engine.dialect.name], [
                {"golden_id": g, "checked_at": now, "stale_before": stale_before}
                for g in stale])).scalars())
        return [g for g in stale if g in claimed], fresh

    async def identifiers_of(self, golden_ids: Sequence[str]
                             ) -> dict[str, list[tuple[str, str, str]]]:
        """Each person's normalized identifiers as their records carry them: sorted
        (key type ``email``/``phone``, value, source of the record holding it) triples."""
        async def work(conn: AsyncConnection) -> dict[str, set[tuple[str, str, str]]]:
            found: dict[str, set[tuple[str, str, str]]] = {}
            for chunk in _chunks(sorted(set(golden_ids))):
                for gid, key_type, value, source in await conn.execute(
                        _IDENTIFIERS, {"ids": list(chunk)}):
                    found.setdefault(gid, set()).add((key_type, value, source))
            return found

        found = await read(self.engine, work)
        return {gid: sorted(keys) for gid, keys in found.items()}

    async def link(self, a: RecordKey, b: RecordKey, *, actor: str, reason: str) -> None:
        """Force two records into one person; survives re-indexing."""
        await self._override("link", a, b, actor, reason)
        await self.recluster(scope={a, b})

    async def split(self, record: RecordKey, *, actor: str, reason: str) -> None:
        """Force a record out of its person; survives re-indexing."""
        await self._override("split", record, None, actor, reason)
        await self.recluster(scope={record})

    async def _override(self, action: str, a: RecordKey, b: RecordKey | None, actor: str,
                        reason: str) -> None:
        if not actor.strip() or not reason.strip():
            raise ValueError("an override needs who made it and why")
        async with self._write, self.engine.begin() as conn:
            await conn.execute(identity_override.insert().values(
                action=action, source=a[0], record_id=a[1],
                other_source=b[0] if b else None, other_record_id=b[1] if b else None,
                actor=actor, reason=reason, created_at=datetime.now(UTC)))

    async def overrides(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(identity_override).order_by(identity_override.c.override_id))
            return [dict(row._mapping) for row in rows]

    # -- clustering ----------------------------------------------------------------------
    async def recluster(self, scope: set[RecordKey] | None = None) -> ReclusterReport:
        """Re-run the match rules over every record (``scope=None``) or over the connected
        neighbourhood of ``scope``, and store the resulting links and golden ids."""
        self._forget()
        async with self._write, self.engine.begin() as conn:
            keys = None if scope is None else await self._grow(conn, scope)
            records, previous, rules = await self._load(conn, keys)
            overrides = await self._load_overrides(conn, keys)
            clustering = self.matcher.cluster(records, overrides)
            taken = await self._taken(conn, clustering.clusters, previous, scoped=keys is not None)
            golden, aliases = assign_golden_ids(clustering.clusters, previous, taken)
            changes = []
            for gid, cluster in zip(golden, clustering.clusters, strict=True):
                for key in cluster:
                    rule = clustering.matched_by[key]
                    if previous.get(key) != gid or rules.get(key) != rule:
                        changes.append({"b_source": key[0], "b_record_id": key[1],
                                        "golden_id": gid, "matched_by": rule})
            if changes:
                stmt = identity_record.update().where(
                    identity_record.c.source == sa.bindparam("b_source"),
                    identity_record.c.record_id == sa.bindparam("b_record_id"),
                ).values(golden_id=sa.bindparam("golden_id"),
                         matched_by=sa.bindparam("matched_by"))
                for chunk in _chunks(changes, 2_000):
                    await conn.execute(stmt, list(chunk))
            if aliases:
                await self._store_aliases(conn, aliases, set(golden))
        self._forget()
        return ReclusterReport(len(records), len(clustering.clusters), len(changes),
                               len(aliases))

    async def _taken(self, conn: AsyncConnection, clusters: Sequence[Sequence[RecordKey]],
                     previous: dict[RecordKey, str], *, scoped: bool) -> set[str]:
        """Ids a new person must not get: aliases, and (for a neighbourhood) ids of people
        outside it that a minted id could collide with."""
        if not scoped:
            return set((await conn.execute(sa.select(identity_alias.c.alias))).scalars())
        inside = set(previous.values())
        taken: set[str] = set()
        for cluster in clusters:
            base = mint(min(cluster))
            for column in (identity_record.c.golden_id, identity_alias.c.alias):
                rows = await conn.execute(sa.select(column).distinct().where(
                    sa.or_(column == base, column.like(base + "-%"))))
                taken.update(g for g in rows.scalars() if g not in inside)
        return taken

    async def _grow(self, conn: AsyncConnection, scope: set[RecordKey]) -> set[RecordKey]:
        found = set(scope)
        frontier = set(scope)
        while frontier and len(found) < SCOPE_LIMIT:
            batch = list(frontier)
            frontier = set()
            neighbours: set[RecordKey] = set()
            for chunk in _chunks(batch, 200):
                cond = sa.tuple_(identity_key.c.source, identity_key.c.record_id).in_(chunk)
                values = (await conn.execute(sa.select(
                    identity_key.c.key_type, identity_key.c.value).where(cond))).all()
                for chunk_values in _chunks(values, 200):
                    pairs = [tuple(v) for v in chunk_values]
                    rows = (await conn.execute(sa.select(
                        identity_key.c.key_type, identity_key.c.value, identity_key.c.source,
                        identity_key.c.record_id).where(sa.tuple_(
                            identity_key.c.key_type, identity_key.c.value).in_(pairs)))).all()
                    sharing: dict[tuple[str, str], list[RecordKey]] = defaultdict(list)
                    for kt, value, source, rid in rows:
                        sharing[(kt, value)].append((source, rid))
                    for members in sharing.values():
                        if len(members) <= FANOUT_LIMIT:
                            neighbours.update(members)
                refs = [f"{s}:{i}" for s, i in chunk]
                referrers = (await conn.execute(sa.select(
                    identity_key.c.source, identity_key.c.record_id).where(
                        identity_key.c.key_type == "ref", identity_key.c.value.in_(refs)))).all()
                neighbours.update((s, i) for s, i in referrers)
                for key_type, value in values:
                    if key_type == "ref":
                        source, _, rid = value.partition(":")
                        neighbours.add((source, rid))
                golds = (await conn.execute(sa.select(identity_record.c.golden_id).where(
                    sa.tuple_(identity_record.c.source, identity_record.c.record_id).in_(chunk),
                    identity_record.c.golden_id.is_not(None)))).scalars().all()
                if golds:
                    same = (await conn.execute(sa.select(
                        identity_record.c.source, identity_record.c.record_id).where(
                            identity_record.c.golden_id.in_(set(golds))))).all()
                    neighbours.update((s, i) for s, i in same)
            for override in await self._load_overrides(conn, None):
                pair = {override.record} | ({override.other} if override.other else set())
                if pair & (found | neighbours):
                    neighbours |= pair
            frontier = neighbours - found
            found |= neighbours
        return found

    async def _load(
        self, conn: AsyncConnection, keys: set[RecordKey] | None
    ) -> tuple[list[RecordIdentity], dict[RecordKey, str], dict[RecordKey, str]]:
        record_query = sa.select(
            identity_record.c.source, identity_record.c.record_id, identity_record.c.kind,
            identity_record.c.first_key, identity_record.c.last_key,
            identity_record.c.golden_id, identity_record.c.matched_by)
        key_query = sa.select(identity_key.c.source, identity_key.c.record_id,
                              identity_key.c.key_type, identity_key.c.value)
        record_rows: list[Any] = []
        key_rows: list[Any] = []
        if keys is None:
            record_rows = list((await conn.execute(record_query)).all())
            key_rows = list((await conn.execute(key_query)).all())
        else:
            for chunk in _chunks(sorted(keys), 300):
                record_rows += (await conn.execute(record_query.where(sa.tuple_(
                    identity_record.c.source, identity_record.c.record_id).in_(chunk)))).all()
                key_rows += (await conn.execute(key_query.where(sa.tuple_(
                    identity_key.c.source, identity_key.c.record_id).in_(chunk)))).all()
        values: dict[RecordKey, dict[str, set[str]]] = defaultdict(
            lambda: {"email": set(), "phone": set(), "ref": set()})
        for source, rid, key_type, value in key_rows:
            values[(source, rid)][key_type].add(value)
        records: list[RecordIdentity] = []
        previous: dict[RecordKey, str] = {}
        rules: dict[RecordKey, str] = {}
        for source, rid, kind, first, last, golden, matched_by in record_rows:
            v = values.get((source, rid), {"email": set(), "phone": set(), "ref": set()})
            refs = frozenset(tuple(r.split(":", 1)) for r in v["ref"])
            records.append(RecordIdentity(
                source, rid, kind, frozenset(v["email"]), frozenset(v["phone"]),
                tuple(first.split()), tuple(last.split()),
                frozenset((s, i) for s, i in refs)))
            if golden is not None:
                previous[(source, rid)] = golden
                rules[(source, rid)] = matched_by
        return records, previous, rules

    async def _load_overrides(
        self, conn: AsyncConnection, keys: set[RecordKey] | None
    ) -> list[Override]:
        rows = (await conn.execute(
            sa.select(identity_override).order_by(identity_override.c.override_id))).all()
        result = []
        for row in rows:
            record = (row.source, row.record_id)
            other = (row.other_source, row.other_record_id) if row.other_source else None
            if keys is None or record in keys or (other is not None and other in keys):
                result.append(Override(row.action, record, other))
        return result

    async def _store_aliases(self, conn: AsyncConnection, aliases: dict[str, str],
                             live: set[str]) -> None:
        insert = self._insert()
        rows = [{"alias": old, "golden_id": new} for old, new in aliases.items()]
        stmt = insert(identity_alias).values(rows)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["alias"], set_={"golden_id": stmt.excluded.golden_id}))
        # earlier aliases pointing at an id that is now itself retired follow it
        for old, new in aliases.items():
            await conn.execute(identity_alias.update().where(
                identity_alias.c.golden_id == old).values(golden_id=new))
        if live:
            for chunk in _chunks(sorted(live)):
                await conn.execute(identity_alias.delete().where(
                    identity_alias.c.alias.in_(chunk)))

    # -- reading -------------------------------------------------------------------------
    async def golden_of(self, keys: Sequence[RecordKey]) -> list[str | None]:
        """The person of each record (aligned), None where the record is not indexed."""
        async def work(conn: AsyncConnection) -> dict[RecordKey, str]:
            found: dict[RecordKey, str] = {}
            for chunk in _chunks(list(keys)):
                rows = await conn.execute(_GOLDEN_OF, {"keys": list(chunk)})
                found.update({(s, r): g for s, r, g in rows if g is not None})
            return found

        found = await read(self.engine, work)
        return [found.get(k) for k in keys]

    async def lookup(self, key_type: str, value: str) -> list[str]:
        """Golden ids of the people carrying a normalized identifier."""
        return (await self.lookup_many([(key_type, value)]))[0]

    async def lookup_many(self, keys: Sequence[tuple[str, str]]) -> list[list[str]]:
        """:meth:`lookup` for many (key type, value) pairs in one query, aligned."""
        found: dict[tuple[str, str], list[str]] = {}
        missing = []
        for key in dict.fromkeys(keys):
            cached = self.cache.get(key)
            if cached is None:
                missing.append(key)
            else:
                found[key] = cached
        if missing:
            async def work(conn: AsyncConnection) -> dict[tuple[str, str], set[str]]:
                fetched: dict[tuple[str, str], set[str]] = {k: set() for k in missing}
                for chunk in _chunks(missing, 200):
                    rows = await conn.execute(_LOOKUP_MANY, {"keys": list(chunk)})
                    for key_type, value, golden in rows:
                        fetched[(key_type, value)].add(golden)
                return fetched

            for key, golds in (await read(self.engine, work)).items():
                found[key] = sorted(golds)
                self.cache.put(key, found[key])
        return [list(found[k]) for k in keys]

    async def resolve(self, golden_ids: Sequence[str]) -> list[str | None]:
        """Current id of each given id (itself, the id it was merged into, or None)."""
        async def work(conn: AsyncConnection) -> dict[str, str]:
            result: dict[str, str] = {}
            for chunk in _chunks(list(set(golden_ids))):
                live = await conn.execute(_LIVE, {"ids": list(chunk)})
                result.update({g: g for g in live.scalars()})
                missing = [g for g in chunk if g not in result]
                if missing:
                    aliased = await conn.execute(_ALIASED, {"ids": missing})
                    result.update({alias: gid for alias, gid in aliased})
            return result

        result = await read(self.engine, work)
        return [result.get(g) for g in golden_ids]

    async def records_of(self, golden_ids: Sequence[str]) -> list[list[LinkedRecord]]:
        """Each person's records (aligned with ``golden_ids``), in (source, id) order."""
        found: dict[str, list[LinkedRecord]] = {}
        missing = []
        for gid in dict.fromkeys(golden_ids):
            cached = self.records_cache.get(("records", gid))
            if cached is None:
                missing.append(gid)
            else:
                found[gid] = cached
        if missing:
            async def work(conn: AsyncConnection) -> dict[str, list[LinkedRecord]]:
                fetched: dict[str, list[LinkedRecord]] = {g: [] for g in missing}
                for chunk in _chunks(missing):
                    for gid, source, rid, kind, rule in await conn.execute(
                            _RECORDS_OF, {"ids": list(chunk)}):
                        fetched[gid].append(LinkedRecord(source, rid, kind, rule))
                return fetched

            for gid, records in (await read(self.engine, work)).items():
                found[gid] = records
                if records:
                    self.records_cache.put(("records", gid), records)
        return [list(found[g]) for g in golden_ids]

    async def assignments(self, *, by_kind: bool = False) -> dict[RecordKey, str]:
        """Every linked record's person (for evaluation and export), keyed by (source, record
        id), or by (kind, record id) as ground truth is with ``by_kind``."""
        column = identity_record.c.kind if by_kind else identity_record.c.source
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(
                column, identity_record.c.record_id,
                identity_record.c.golden_id).where(identity_record.c.golden_id.is_not(None)))
            return {(k, r): g for k, r, g in rows}

    # -- stewardship reads -----------------------------------------------------------------
    async def find_records(self, name: str, record_id: str) -> list[RecordKey]:
        """The records called ``name:record_id``, ``name`` a source or a kind."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(
                identity_record.c.source, identity_record.c.record_id).where(
                identity_record.c.record_id == record_id,
                sa.or_(identity_record.c.source == name, identity_record.c.kind == name)))
            return sorted({(s, r) for s, r in rows})

    async def carriers(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str],
                                                                      list[RecordKey]]:
        """The records carrying each normalized (key type, value), linked or not."""
        found: dict[tuple[str, str], list[RecordKey]] = {(t, v): [] for t, v in keys}
        async with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys)), 200):
                rows = await conn.execute(sa.select(
                    identity_key.c.key_type, identity_key.c.value, identity_key.c.source,
                    identity_key.c.record_id).where(sa.tuple_(
                        identity_key.c.key_type, identity_key.c.value).in_(list(chunk))))
                for key_type, value, source, rid in rows:
                    found[(key_type, value)].append((source, rid))
        return {k: sorted(v) for k, v in found.items()}

    async def shared_keys(self, key_types: Sequence[str] = ("email", "phone")
                          ) -> dict[tuple[str, str], list[RecordKey]]:
        """Every identifier of these types carried by records of more than one person (or by
        a record not linked yet), with the records carrying it."""
        person = sa.func.coalesce(identity_record.c.golden_id,
                                  identity_record.c.source + ":" + identity_record.c.record_id)
        shared = (
            sa.select(identity_key.c.key_type, identity_key.c.value)
            .select_from(identity_key.join(identity_record, sa.and_(
                identity_key.c.source == identity_record.c.source,
                identity_key.c.record_id == identity_record.c.record_id)))
            .where(identity_key.c.key_type.in_(list(key_types)))
            .group_by(identity_key.c.key_type, identity_key.c.value)
            .having(sa.func.count(sa.distinct(person)) > 1))
        async with self.engine.connect() as conn:
            values = [(t, v) for t, v in await conn.execute(shared)]
        return await self.carriers(values) if values else {}

    async def same_names(self) -> list[list[RecordKey]]:
        """Records with the same full name (first and last) in exactly two people: the
        registry keeps no address, so a name shared by two people only is the closest it has
        to "same name and address"."""
        person = sa.func.coalesce(identity_record.c.golden_id,
                                  identity_record.c.source + ":" + identity_record.c.record_id)
        names = (
            sa.select(identity_record.c.first_key, identity_record.c.last_key)
            .where(identity_record.c.first_key != "", identity_record.c.last_key != "")
            .group_by(identity_record.c.first_key, identity_record.c.last_key)
            .having(sa.func.count(sa.distinct(person)) == 2)).subquery()
        query = sa.select(identity_record.c.first_key, identity_record.c.last_key,
                          identity_record.c.source, identity_record.c.record_id).join(
            names, sa.and_(identity_record.c.first_key == names.c.first_key,
                           identity_record.c.last_key == names.c.last_key))
        groups: dict[tuple[str, str], list[RecordKey]] = defaultdict(list)
        async with self.engine.connect() as conn:
            for first, last, source, rid in await conn.execute(query):
                groups[(first, last)].append((source, rid))
        return [sorted(g) for _, g in sorted(groups.items())]

    async def identities(self, keys: Iterable[RecordKey]
                         ) -> dict[RecordKey, tuple[RecordIdentity, str | None, str | None]]:
        """Each stored record's identifiers, person and the rule that linked it."""
        wanted = set(keys)
        if not wanted:
            return {}
        async with self.engine.connect() as conn:
            records, previous, rules = await self._load(conn, wanted)
        return {r.key: (r, previous.get(r.key), rules.get(r.key)) for r in records}

    async def members(self, golden_id: str) -> list[RecordKey]:
        """The records of one person."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(
                identity_record.c.source, identity_record.c.record_id).where(
                identity_record.c.golden_id == golden_id))
            return sorted((s, r) for s, r in rows)

    async def count_people(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.execute(sa.select(sa.func.count(
                sa.distinct(identity_record.c.golden_id))))
            return int(value.scalar() or 0)

    async def search_names(self, text: str, limit: int = 100) -> list[str]:
        """People whose name match key contains every word of ``text`` (case/accent-blind)."""
        words = name_tokens(text)
        if not words:
            return []
        name = identity_record.c.first_key + " " + identity_record.c.last_key
        query = sa.select(identity_record.c.golden_id).distinct().where(
            identity_record.c.golden_id.is_not(None),
            *[name.like(f"%{w}%") for w in words]).order_by(
                identity_record.c.golden_id).limit(limit)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def people(self, *, after: str | None = None, limit: int = 50) -> list[str]:
        """Golden ids in order, for paging through everyone."""
        query = sa.select(identity_record.c.golden_id).distinct().where(
            identity_record.c.golden_id.is_not(None))
        if after is not None:
            query = query.where(identity_record.c.golden_id > after)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query.order_by(identity_record.c.golden_id).limit(limit))
            return list(rows.scalars())
