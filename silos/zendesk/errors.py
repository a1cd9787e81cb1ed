"""Zendesk's error bodies, the typed errors the store raises, and the silo's fault responses.

Zendesk answers errors in several envelopes, and an adapter must cope with each of them:

* ``{"error": "RecordNotFound", "description": "Not found"}`` (a code plus a description);
* ``{"error": "RecordInvalid", "description": "Record validation errors", "details": {...}}``
  where ``details`` maps a field name to a list of ``{"description", "error"}`` problems;
* ``{"errors": [{"code", "title", ...}]}`` for the cursor and offset pagination limits;
* ``{"error": {"title", "message"}}`` for a malformed query attribute;
* ``{"error": "InvalidValue", "description": ...}`` (422) for an incremental export's bad
  ``start_time`` or ``cursor``;
* ``{"error": "invalid", "description": "Invalid search: ..."}`` (422) for a search the Search API
  refuses, e.g. a page past its 1,000-result limit;
* ``{"error": "IdempotentRequestError", "description": ...}`` (400) for an ``Idempotency-Key``
  reused with a different body;
* a bare ``{"error": "Couldn't authenticate you"}`` for a 401;
* ``{"error": "Forbidden", "description": "You do not have access to this page. ..."}`` (403)
  for an endpoint the token's user may not use (an agent and the incremental exports);
* ``text/plain`` bodies for API-level failures (malformed JSON, 429, 500, 503).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import PlainTextResponse, Response

from silos.control import FaultResponses
from silos.responses import JSONResponse, json_response

Details = dict[str, list[dict[str, str]]]

RATE_LIMITED_TEXT = (
    "Rate limit for ticket updates exceeded, please wait before updating this ticket again"
)
SERVER_ERROR_TEXT = "Internal Server Error"
UNAVAILABLE_TEXT = "Service Unavailable"
BAD_REQUEST_TEXT = "Bad Request"
IDEMPOTENCY_MISMATCH_TEXT = (
    "Request parameters do not match the original request with this idempotency key"
)
SEARCH_LIMIT_TEXT = "Requested response size was greater than Search Response Limits"
OFFSET_DEPTH_TITLE = (
    "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records"
    " (page * per_page)"
)
OFFSET_DEPTH_DETAIL = (
    "There are limits to the number of records you can retrieve with offset pagination."
    " Use cursor pagination to retrieve more records."
)


class ZendeskError(Exception):
    """Base of the errors the store and the request helpers raise; each knows its response."""

    status_code = 400

    def body(self) -> dict[str, Any]:
        raise NotImplementedError

    def response(self) -> JSONResponse:
        return json_response(self.body(), status_code=self.status_code)


class ZendeskValidationError(ZendeskError):
    """A record Zendesk refuses (422 ``RecordInvalid``); ``details`` maps fields to problems."""

    status_code = 422

    def __init__(self, details: Details) -> None:
        super().__init__(f"Record validation errors: {details}")
        self.details = details

    @classmethod
    def one(cls, field: str, description: str, error: str | None = None) -> ZendeskValidationError:
        problem = {"description": description}
        if error is not None:
            problem["error"] = error
        return cls({field: [problem]})

    def body(self) -> dict[str, Any]:
        return {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": self.details,
        }


FORBIDDEN_TEXT = (
    "You do not have access to this page. Please contact the account owner of this help desk for"
    " further help."
)


class ZendeskForbiddenError(ZendeskError):
    """An endpoint the authenticated user's role may not use (403 ``Forbidden``): the
    incremental exports are for admins only."""

    status_code = 403

    def body(self) -> dict[str, Any]:
        return {"error": "Forbidden", "description": FORBIDDEN_TEXT}


class ZendeskNotFoundError(ZendeskError, LookupError):
    """No record with that id (404 ``RecordNotFound``)."""

    status_code = 404

    def body(self) -> dict[str, Any]:
        return record_not_found()


class ParameterMissingError(ZendeskError):
    """The body lacks its root object (``{"user": ...}`` / ``{"ticket": ...}``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def body(self) -> dict[str, Any]:
        return {
            "error": "ParameterMissing",
            "description": f"param is missing or the value is empty: {self.name}",
        }


class TooManyValuesError(ZendeskError):
    """More ids than ``show_many`` accepts (400 ``TooManyValues``)."""

    def __init__(self, parameter: str, max_count: int) -> None:
        super().__init__(parameter)
        self.parameter = parameter
        self.max_count = max_count

    def body(self) -> dict[str, Any]:
        return {
            "error": "TooManyValues",
            "description": (
                f"Parameter {self.parameter} cannot specify more than {self.max_count} values"
            ),
            "max_count": self.max_count,
        }


class InvalidPaginationParameterError(ZendeskError):
    """A cursor, ``page[size]`` or ``sort`` that cursor pagination refuses."""

    def __init__(self, parameter: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter

    def body(self) -> dict[str, Any]:
        return {
            "errors": [
                {"code": "InvalidPaginationParameter", "title": f"{self.parameter} is not valid"}
            ]
        }


class InvalidPaginationDepthError(ZendeskError):
    """Offset pagination past the first 10,000 records."""

    def body(self) -> dict[str, Any]:
        return {
            "errors": [
                {
                    "code": "InvalidPaginationDepth",
                    "title": OFFSET_DEPTH_TITLE,
                    "detail": OFFSET_DEPTH_DETAIL,
                }
            ]
        }


class InvalidAttributeError(ZendeskError):
    """A query attribute of the wrong type, e.g. ``page[size]`` on an offset-only endpoint."""

    def __init__(self, attribute: str, action: str) -> None:
        super().__init__(attribute)
        self.attribute = attribute
        self.action = action

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "title": "Invalid attribute",
                "message": (
                    f"You passed an invalid value for the {self.attribute} attribute. Invalid"
                    f" parameter: {self.attribute} must be an integer from {self.action}"
                ),
            }
        }


class InvalidValueError(ZendeskError):
    """A value an incremental export refuses (422 ``InvalidValue``), e.g. a too recent
    ``start_time``."""

    status_code = 422

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": "InvalidValue", "description": self.description}


class InvalidSearchError(ZendeskError):
    """A search the Search API refuses (422 ``invalid``). Zendesk's own description for a page
    past the 1,000-result limit is :data:`SEARCH_LIMIT_TEXT`; the emulator uses the same envelope
    for the queries it cannot answer (see :mod:`silos.zendesk.search`)."""

    status_code = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def body(self) -> dict[str, Any]:
        return {"error": "invalid", "description": f"Invalid search: {self.reason}"}


class IdempotentRequestError(ZendeskError):
    """An ``Idempotency-Key`` sent again, within its window, with a different request body
    (400): the first request's result stands and nothing is written."""

    def body(self) -> dict[str, Any]:
        return {"error": "IdempotentRequestError", "description": IDEMPOTENCY_MISMATCH_TEXT}


def record_not_found() -> dict[str, str]:
    return {"error": "RecordNotFound", "description": "Not found"}


def invalid_endpoint() -> dict[str, str]:
    return {"error": "InvalidEndpoint", "description": "Not found"}


def unauthenticated() -> JSONResponse:
    return json_response({"error": "Couldn't authenticate you"}, status_code=401)


def malformed_body() -> Response:
    """Zendesk answers an unparsable JSON body with a 400 in ``text/plain``."""
    return PlainTextResponse(BAD_REQUEST_TEXT, status_code=400)


def fault_responses(retry_after_seconds: int) -> FaultResponses:
    """The 429 / 500 / 503 answers of the silo: plain text, with ``Retry-After`` on 429 and 503."""
    retry_after = {"Retry-After": str(retry_after_seconds)}

    def rate_limited() -> Response:
        return PlainTextResponse(RATE_LIMITED_TEXT, status_code=429, headers=retry_after)

    def server_error() -> Response:
        return PlainTextResponse(SERVER_ERROR_TEXT, status_code=500)

    def unavailable() -> Response:
        return PlainTextResponse(UNAVAILABLE_TEXT, status_code=503, headers=retry_after)

    return FaultResponses(
        rate_limited=rate_limited, server_error=server_error, unavailable=unavailable
    )
