"""Square's error envelope ``{"errors": [{"category", "code", "detail", "field"?}]}``."""

from __future__ import annotations

from typing import Any

from silos.control import FaultResponses
from silos.responses import JSONResponse, json_response

INVALID_REQUEST_ERROR = "INVALID_REQUEST_ERROR"
AUTHENTICATION_ERROR = "AUTHENTICATION_ERROR"
RATE_LIMIT_ERROR = "RATE_LIMIT_ERROR"
API_ERROR = "API_ERROR"


class SquareError(Exception):
    """A request Square rejects: the HTTP status plus one error object of Square's envelope."""

    def __init__(
        self,
        status: int,
        category: str,
        code: str,
        detail: str,
        field: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.category = category
        self.code = code
        self.detail = detail
        self.field = field

    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "category": self.category,
            "code": self.code,
            "detail": self.detail,
        }
        if self.field is not None:
            error["field"] = self.field
        return error

    def body(self) -> dict[str, Any]:
        return {"errors": [self.error()]}

    def response(self) -> JSONResponse:
        return json_response(self.body(), status_code=self.status)


def bad_request(code: str, detail: str, field: str | None = None) -> SquareError:
    """A 400 ``INVALID_REQUEST_ERROR`` with the given Square error code."""
    return SquareError(400, INVALID_REQUEST_ERROR, code, detail, field)


def missing(field: str) -> SquareError:
    return bad_request("MISSING_REQUIRED_PARAMETER", "Field must be set", field)


def not_found(detail: str, field: str | None = None) -> SquareError:
    return SquareError(404, INVALID_REQUEST_ERROR, "NOT_FOUND", detail, field)


def invalid_cursor(field: str = "cursor") -> SquareError:
    return bad_request("INVALID_CURSOR", "The pagination cursor is invalid.", field)


def unauthorized(detail: str) -> SquareError:
    return SquareError(401, AUTHENTICATION_ERROR, "UNAUTHORIZED", detail)


def _fault(status: int, category: str, code: str, detail: str) -> JSONResponse:
    return SquareError(status, category, code, detail).response()


def fault_responses() -> FaultResponses:
    """Square's own 429 / 500 / 503 answers, for the sandbox fault injection."""
    return FaultResponses(
        rate_limited=lambda: _fault(
            429, RATE_LIMIT_ERROR, "RATE_LIMITED", "Rate limit exceeded. Retry with backoff."
        ),
        server_error=lambda: _fault(
            500, API_ERROR, "INTERNAL_SERVER_ERROR", "An internal error has occurred."
        ),
        unavailable=lambda: _fault(
            503, API_ERROR, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable."
        ),
    )
