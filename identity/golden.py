"""Stable golden ids: re-indexing keeps each person's id; merges leave aliases behind."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from identity.matching import RecordKey

PREFIX = "cus_"


def mint(record: RecordKey) -> str:
    """A new person's id, derived from its first record (so fresh registries agree)."""
    digest = hashlib.sha256(f"{record[0]}\x1f{record[1]}".encode()).hexdigest()
    return PREFIX + digest[:20]


def assign_golden_ids(
    clusters: Sequence[Sequence[RecordKey]],
    previous: Mapping[RecordKey, str],
    taken: Collection[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """Pick an id per cluster: the previous id most of its records carried (each previous id
    goes to at most one cluster, the one holding most of its records); otherwise a minted one.
    Returns the ids, aligned with ``clusters``, and ``{retired id: id it now means}``."""
    candidates: list[tuple[int, str, int]] = []
    for index, cluster in enumerate(clusters):
        counts = Counter(previous[k] for k in cluster if k in previous)
        candidates.extend((-count, gid, index) for gid, count in counts.items())
    candidates.sort()
    chosen: list[str | None] = [None] * len(clusters)
    used: set[str] = set(taken)
    for _, gid, index in candidates:
        if chosen[index] is None and gid not in used:
            chosen[index] = gid
            used.add(gid)
    result: list[str] = []
    for index, cluster in enumerate(clusters):
        picked = chosen[index]
        if picked is None:
            base = mint(min(cluster))
            picked, n = base, 1
            while picked in used:
                n += 1
                picked = f"{base}-{n}"
            used.add(picked)
        result.append(picked)
    aliases: dict[str, str] = {}
    retired = Counter[tuple[str, str]]()
    for index, cluster in enumerate(clusters):
        for key in cluster:
            old = previous.get(key)
            if old is not None and old not in used:
                retired[(old, result[index])] += 1
    for (old, new), _ in sorted(retired.items(), key=lambda item: (-item[1], item[0])):
        aliases.setdefault(old, new)
    return result, aliases
