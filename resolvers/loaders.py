"""Per-request DataLoaders in front of the adapters' batch methods (and the registry).

One loader per (source, method), created lazily on first use, so a request pays only for what
it touches. Every batch runs under the request's remaining time budget: when it is spent the
batch fails with :class:`UpstreamTimeout` and the fields of that source are null. Each batch
can be observed: its size (a metric), and a ``c360.batch`` span (source, method, size; never
the keys) that the batch's upstream calls are children of.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Protocol

from aiodataloader import DataLoader
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode, Tracer
from sqlalchemy.exc import SQLAlchemyError

from adapters.entities import EntityCache
from adapters.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from adapters.http import CALL_DEADLINE
from identity.registry import Registry

BatchFn = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]
BatchSizes = Callable[[str, str, int], None]
"""Told (source, method, number of keys) of every batch (the ``c360_batch_size`` metric)."""


class Recheck(Protocol):
    """The identity registry's bounded live re-check of stale people (one request's share,
    :class:`identity.freshness.RequestRechecks`)."""

    async def __call__(self, golden_ids: Sequence[str]) -> None:
        """Start the re-check of these people (a registry read is about to load them); it
        must not wait for the searches."""

    async def settle(self) -> bool:
        """Wait for the re-checks started, within their bound; whether they linked new
        records (the registry reads of this request are then out of date)."""


class Loaders:
    def __init__(self, adapters: dict[str, Any], registry: Registry, deadline: float,
                 *, batching: bool = True,
                 recheck: Recheck | None = None, cache: EntityCache | None = None,
                 tracer: Tracer | None = None, batch_sizes: BatchSizes | None = None) -> None:
        """``recheck`` starts before a batch of ``records_of`` reads (the identity registry's
        bounded live re-check of stale people, :mod:`identity.freshness`); ``cache`` fronts
        the batch reads it caches (:mod:`adapters.entities`); ``batch_sizes`` is told every
        batch's size and ``tracer`` makes each batch a span (module doc): the gateway gives it
        for a request whose trace is recorded only."""
        self.adapters = adapters
        self.registry = registry
        self.deadline = deadline
        self.batching = batching
        self.recheck = recheck
        self.cache = cache
        self.tracer = tracer
        self.batch_sizes = batch_sizes
        self.stale: dict[int, tuple[Any, str, float]] = {}
        """id(value) → (value, source, age in seconds) for the values served stale."""
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        self._registry_loaders: dict[str, DataLoader[Any, Any]] = {}

    def _budgeted(self, source: str, method: str, fn: BatchFn) -> Callable[[list[Any]], Any]:
        deadline = self.deadline  # not ``self``: no cycle between the loaders and their batches
        tracer, sizes = self.tracer, self.batch_sizes

        async def load(keys: list[Any]) -> list[Any]:
            if sizes is not None:
                sizes(source, method, len(keys))
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise UpstreamTimeout(source, "request time budget spent before the call")
            token = CALL_DEADLINE.set(deadline)
            try:
                async with asyncio.timeout(remaining):
                    return list(await fn(keys))
            except TimeoutError as exc:
                raise UpstreamTimeout(source, "request time budget exhausted") from exc
            except SQLAlchemyError as exc:
                # the registry is the gateway's own database: a failure is a typed,
                # caller-visible "registry unavailable", never an internal error
                raise UpstreamUnavailable(source, f"database error {type(exc).__name__}") from exc
            finally:
                CALL_DEADLINE.reset(token)
        return load if tracer is None else _spanned(load, source, method, tracer)

    def loader(self, source: str, method: str) -> DataLoader[Any, Any]:
        """The loader of ``adapters[source].<method>`` (a batch method aligned with keys)."""
        key = (source, method)
        found = self._loaders.get(key)
        if found is None:
            fn = getattr(self.adapters[source], method)
            if self.cache is not None and self.cache.fronts(source, method):
                fn = self.cache.batch(source, method, fn, self._stale)
            found = DataLoader(self._budgeted(source, method, fn), batch=self.batching,
                               loop=asyncio.get_running_loop())
            self._loaders[key] = found
        return found

    def _stale(self, value: Any, source: str, age_s: float) -> None:
        self.stale[id(value)] = (value, source, age_s)

    def stale_of(self, value: Any) -> tuple[str, float] | None:
        """(source, age in seconds) when ``value`` was served stale (the source failed)."""
        found = self.stale.get(id(value)) if self.stale else None
        return (found[1], found[2]) if found is not None and found[0] is value else None

    def registry_loader(self, method: str) -> DataLoader[Any, Any]:
        """Registry batch reads: ``records_of`` (golden ids) and ``golden_of`` (record keys)."""
        found = self._registry_loaders.get(method)
        if found is None:
            fn = getattr(self.registry, method)
            if method == "records_of" and self.recheck is not None:
                fn = _rechecked(fn, self.recheck)
            found = DataLoader(self._budgeted("registry", method, fn),
                               batch=self.batching, loop=asyncio.get_running_loop())
            self._registry_loaders[method] = found
        return found

    def release(self) -> None:
        """Drop every loader and what it cached (the request is over): its silo answers are
        freed at once rather than by the cyclic garbage collector."""
        for loader in (*self._loaders.values(), *self._registry_loaders.values()):
            loader.clear_all()
        self._loaders.clear()
        self._registry_loaders.clear()
        self.stale.clear()
        self.recheck = None

    def forget_identity(self) -> None:
        """Drop the registry reads made so far (the re-check linked new records): the next
        loads read the registry again, with no re-check; the silo reads stay cached."""
        self.recheck = None
        self._registry_loaders.clear()


def _rechecked(fn: BatchFn, recheck: Recheck) -> BatchFn:
    async def load(golden_ids: Sequence[Any]) -> Sequence[Any]:
        await recheck(golden_ids)
        return await fn(golden_ids)
    return load


def _spanned(load: Callable[[list[Any]], Awaitable[list[Any]]], source: str, method: str,
             tracer: Tracer) -> Callable[[list[Any]], Awaitable[list[Any]]]:
    """``load`` run in a ``c360.batch`` span."""

    async def spanned(keys: list[Any]) -> list[Any]:
        span = tracer.start_span("c360.batch", attributes={
            "c360.source": source, "c360.method": method, "c360.batch.size": len(keys)})
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            return await load(keys)
        except UpstreamError as exc:
            span.set_attribute("error.type", exc.code)
            span.set_status(Status(StatusCode.ERROR, exc.code))
            raise
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            otel_context.detach(token)
            span.end()
    return spanned
