"""The one error tree of c360.

::

    GatewayError                      anything c360 reports as a typed error
    ├── ConfigError                   a bad configuration value (names the key)
    └── UpstreamError(source)         a silo call failed; ``source`` is the configured name
        ├── UpstreamTimeout           no answer within the source's timeout
        ├── UpstreamUnavailable       connection refused/reset, 5xx, maintenance (503)
        │   └── CircuitOpen           not called: its breaker is open (adapters/breaker.py)
        ├── UpstreamRateLimited       429; ``retry_after`` seconds when the vendor said so
        ├── UpstreamBadResponse       an answer we cannot use: not JSON, wrong shape, odd 4xx
        ├── UpstreamAuthError         401/403: the credentials in the config are refused
        └── UpstreamRejected          a write the silo refused as invalid (422, 400): not applied
            ├── RecordNotFound        the write names a record the silo does not have
            ├── InsufficientPoints    a redemption larger than the member's balance
            └── InsufficientStock     more units than the location has available

A write that fails with :class:`UpstreamRejected` was certainly not applied; any other
failure of a write (a timeout, a 5xx, a dropped connection) leaves its outcome unknown until
it is read back.

Adapters map every transport and vendor failure to one of these at their boundary with
``raise ... from exc``; nothing else escapes an adapter. ``code`` is the stable
``extensions.code`` a GraphQL client sees. Messages never carry customer data or secrets: they
name the source, the operation and the HTTP status only.
"""

from __future__ import annotations

from typing import ClassVar


class GatewayError(Exception):
    """Base of every typed c360 error."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"


class ConfigError(GatewayError):
    """A configuration value is missing or invalid; ``key`` is its dotted path."""

    code = "CONFIG_ERROR"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config {key}: {problem}")
        self.key = key
        self.problem = problem


class UpstreamError(GatewayError):
    """A call to the silo ``source`` failed."""

    code = "SOURCE_ERROR"
    retryable: ClassVar[bool] = False

    def __init__(self, source: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.status = status


class UpstreamTimeout(UpstreamError):
    code = "SOURCE_TIMEOUT"
    retryable = True


class UpstreamUnavailable(UpstreamError):
    code = "SOURCE_UNAVAILABLE"
    retryable = True


class CircuitOpen(UpstreamUnavailable):
    """The source's circuit breaker is open: no connection was attempted (so a write was
    certainly not applied). ``retry_in`` is the number of seconds until the breaker probes."""

    retryable = False

    def __init__(self, source: str, retry_in: float) -> None:
        super().__init__(source, f"circuit open after repeated failures; next probe in "
                                 f"{retry_in:.1f}s")
        self.retry_in = retry_in


class UpstreamRateLimited(UpstreamError):
    code = "SOURCE_RATE_LIMITED"
    retryable = True

    def __init__(
        self,
        source: str,
        message: str,
        *,
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(source, message, status=status)
        self.retry_after = retry_after


class UpstreamBadResponse(UpstreamError):
    code = "SOURCE_BAD_RESPONSE"


class UpstreamAuthError(UpstreamError):
    """The source refused our credentials; to a caller the source is simply unavailable."""

    code = "SOURCE_UNAVAILABLE"


class UpstreamRejected(UpstreamError):
    """The silo refused a write as invalid (HTTP 400/409/422, a violated rule): certainly not
    applied, and not worth retrying with the same input."""

    code = "SOURCE_REJECTED"


class RecordNotFound(UpstreamRejected):
    """A write names a record (customer, order, ticket, card, variant) the silo does not have."""

    code = "NOT_FOUND"


class InsufficientPoints(UpstreamRejected):
    """A redemption (or a reversal that must not overdraw) larger than the balance."""

    code = "INSUFFICIENT_POINTS"


class InsufficientStock(UpstreamRejected):
    """More units asked for than the location has available."""

    code = "INSUFFICIENT_STOCK"
