"""Calling several sources for one field: what answers is used, what fails is reported."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from strawberry.types import Info

from adapters.errors import UpstreamError
from resolvers.context import Context

T = TypeVar("T")


def path_of(info: Info[Context, Any]) -> list[str | int]:
    return [str(k) if not isinstance(k, int) else k for k in info.path.as_list()]


async def gather_sources(info: Info[Context, Any],
                         calls: Sequence[tuple[str, Awaitable[T]]]) -> list[tuple[str, T]]:
    """Await every (source, call); failures of a source become partial errors on this field
    (``extensions.code`` SOURCE_…, ``extensions.source``) while the others' answers are kept."""
    results = await asyncio.gather(*(call for _, call in calls), return_exceptions=True)
    kept: list[tuple[str, T]] = []
    reported: set[str] = set()
    for (source, _), result in zip(calls, results, strict=True):
        if isinstance(result, UpstreamError):
            if source not in reported:
                info.context.report(result, path_of(info))
                reported.add(source)
        elif isinstance(result, BaseException):
            raise result
        else:
            kept.append((source, result))
            stale = info.context.loaders.stale_of(result)
            if stale is not None:
                info.context.report_stale(stale[0], stale[1], path_of(info))
    return kept
