"""The HTTP call every REST adapter makes: timeouts, retries and error mapping in one place.

Adapters never own their transport: they receive an ``httpx.AsyncClient`` created once in the
app's lifespan (tests inject ``httpx.ASGITransport`` over the emulated silos, or
``httpx.MockTransport`` for faults). :class:`VendorHTTP` wraps that client for one source.
"""

from __future__ import annotations

import asyncio
import decimal
import random
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx
import orjson

from adapters.breaker import Breaker, guarded_failure
from adapters.errors import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter; ``Retry-After`` wins when the vendor sends one."""

    attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 1.0
    max_retry_after: float = 5.0

    def delay(self, attempt: int, error: UpstreamError, rng: random.Random) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.attempts or not error.retryable:
            return None
        if isinstance(error, UpstreamRateLimited) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return error.retry_after
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number (``2``, ``2.0``) or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


Sleep = Callable[[float], Awaitable[None]]

CALL_DEADLINE: ContextVar[float | None] = ContextVar("c360_call_deadline", default=None)
"""Event-loop time by which the caller needs an answer (the GraphQL request budget). A retry
that would wait past it is not attempted: the error is raised at once, as it is."""


ATTEMPT: ContextVar[int] = ContextVar("c360_call_attempt", default=1)
"""The attempt number of the HTTP call being sent (1, then 2, 3 for retries): read by the
transports that count and trace calls."""

_READ = httpx.ByteStream(b"")


def unbound(response: httpx.Response) -> httpx.Response:
    """``response``, read, without its stream. httpx's client wraps the transport's stream in
    one that points back at the response (to time it): a reference cycle, so the response and
    all that hangs off it (its request, headers, the pool's own response: about 50 objects a
    call) would wait for the cycle collector instead of being freed as soon as the adapter is
    done with them. ``client.request`` has read and closed the body: nothing needs the stream
    any more."""
    response.stream = _READ
    return response


class VendorHTTP:
    """One source's HTTP access: ``send`` maps every failure to the error tree."""

    def __init__(
        self,
        source: str,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout: float,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.timeout = httpx.Timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.breaker: Breaker | None = None
        """The source's circuit breaker (set by the runtime; none in unit tests)."""

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool,
        allow: frozenset[int] = frozenset(),
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying only when ``idempotent`` (reads, or writes the vendor
        deduplicates by an idempotency key). Statuses in ``allow`` are returned to the caller
        (e.g. 404 for "no such record", 422 for a refused write, which the adapter maps to
        :class:`~adapters.errors.UpstreamRejected`); any other non-2xx raises. ``headers`` are
        added to the source's own (e.g. an ``Idempotency-Key``)."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        content = orjson.dumps(json) if json is not None else None
        headers = {**self.headers, **(headers or {})}
        if content is not None:
            headers["Content-Type"] = "application/json"
        breaker = self.breaker
        error: UpstreamError | None = None
        attempt = 0
        while True:
            attempt += 1
            probe = False
            if breaker is not None:
                if error is not None and not breaker.retry_allowed():
                    raise error
                probe = await breaker.admit()
            token = ATTEMPT.set(attempt)
            try:
                response = unbound(await self.client.request(
                    method, url, params=params, content=content, headers=headers,
                    timeout=self.timeout))
                error = self._status_error(method, path, response, allow)
                if error is None:
                    if breaker is not None:
                        await breaker.succeeded(probe)
                    return response
            except httpx.TimeoutException as exc:
                error = UpstreamTimeout(self.source, f"{method} {path} timed out")
                error.__cause__ = exc
            except httpx.TransportError as exc:
                error = UpstreamUnavailable(
                    self.source, f"{method} {path} failed: {type(exc).__name__}")
                error.__cause__ = exc
            except BaseException as exc:  # cancelled: an abandoned probe reopens the breaker
                if probe and breaker is not None:
                    await guarded_failure(breaker, probe, exc)
                raise
            finally:
                ATTEMPT.reset(token)
            if breaker is not None:
                await guarded_failure(breaker, probe, error)
                if probe:
                    raise error
            delay = self.retry.delay(attempt, error, self.rng) if idempotent else None
            deadline = CALL_DEADLINE.get()
            if delay is not None and deadline is not None and (
                    asyncio.get_running_loop().time() + delay >= deadline):
                delay = None
            if delay is None:
                raise error
            await self.sleep(delay)

    def _status_error(
        self, method: str, path: str, response: httpx.Response, allow: frozenset[int]
    ) -> UpstreamError | None:
        status = response.status_code
        if status < 300 or status in allow:
            return None
        what = f"{method} {path} answered HTTP {status}"
        if status in (401, 403):
            return UpstreamAuthError(self.source, what, status=status)
        if status == 429:
            return UpstreamRateLimited(
                self.source, what, retry_after=parse_retry_after(response.headers.get(
                    "Retry-After")))
        if status in (408, 504):
            return UpstreamTimeout(self.source, what, status=status)
        if status >= 500:
            return UpstreamUnavailable(self.source, what, status=status)
        return UpstreamBadResponse(self.source, what, status=status)

    def json(self, response: httpx.Response) -> Any:
        """The body as JSON, or :class:`UpstreamBadResponse`."""
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamBadResponse(
                self.source,
                f"{response.request.method} {response.request.url.path} answered non-JSON",
                status=response.status_code,
            ) from exc

    async def get_json(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[Any, httpx.Response]:
        response = await self.send("GET", path, params=params, idempotent=True)
        return self.json(response), response

    async def read_post_json(self, path: str, body: Any) -> Any:
        """A POST that only reads (Square's search and batch-retrieve): safe to retry."""
        response = await self.send("POST", path, json=body, idempotent=True)
        return self.json(response)


_SHAPE_SURPRISES = (KeyError, TypeError, ValueError, AttributeError, IndexError,
                    decimal.InvalidOperation)


class parsing:
    """``with parsing(source, "orders"):`` turns a payload-shape surprise into
    :class:`UpstreamBadResponse` (the vendor answered, but not with what its API documents).
    A class rather than a generator-based context manager: it wraps every parse."""

    __slots__ = ("source", "what")

    def __init__(self, source: str, what: str) -> None:
        self.source = source
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None or isinstance(exc, UpstreamError) or not isinstance(
                exc, _SHAPE_SURPRISES):
            return
        raise UpstreamBadResponse(
            self.source, f"unexpected {self.what} payload: {type(exc).__name__}") from exc
