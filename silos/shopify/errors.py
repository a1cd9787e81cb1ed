"""Shopify's error bodies and the typed errors the store raises.

Shapes (Admin REST API): ``{"errors": "Not Found"}`` (404), ``{"errors": {"email": ["has
already been taken"]}}`` (422 validation), ``{"errors": {"customer": "Required parameter missing
or invalid"}}`` (400: body missing, not an object, or not JSON), ``{"errors": {"page_info":
"Invalid value."}}`` (400: garbled cursor), ``{"errors": {"status": "status cannot be passed when
page_info is present. See https://shopify.dev/api/usage/pagination-rest for more
information."}}`` (400), ``{"errors": "Limit exceeds maximum limit of 250"}`` (400), 401/429
bodies as below. Shopify's 503 is its generic HTML error page, not JSON.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse, Response

from silos.control import FaultResponses
from silos.responses import JSONResponse, json_response

from .config import ShopifySiloConfig

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
PAGINATION_DOCS = "https://shopify.dev/api/usage/pagination-rest"
MAX_LIMIT = 250


class ShopifyValidationError(Exception):
    """A record the real API would refuse with ``422 {"errors": {field: [messages]}}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class ShopifyNotFoundError(LookupError):
    """An unknown id (``404 {"errors": "Not Found"}``)."""


class BadRequest(Exception):
    """A query or body the real API refuses with ``400``; ``errors`` is the body's ``errors``."""

    def __init__(self, errors: str | dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def invalid_value(param: str) -> BadRequest:
    return BadRequest({param: "Invalid value."})


def refused_with_page_info(param: str) -> BadRequest:
    return BadRequest(
        {
            param: f"{param} cannot be passed when page_info is present. "
            f"See {PAGINATION_DOCS} for more information."
        }
    )


def missing_root(root: str) -> BadRequest:
    return BadRequest({root: "Required parameter missing or invalid"})


def not_found() -> JSONResponse:
    return json_response({"errors": "Not Found"}, 404)


def unauthorized() -> JSONResponse:
    return json_response({"errors": INVALID_TOKEN}, 401)


def rate_limited(config: ShopifySiloConfig) -> JSONResponse:
    message = (
        f"Exceeded {config.leak_rate:g} calls per second for api client. "
        "Reduce request rates to resume uninterrupted service."
    )
    return json_response({"errors": message}, 429, {"Retry-After": f"{config.retry_after:.1f}"})


def server_error() -> JSONResponse:
    return json_response({"errors": "Internal Server Error"}, 500)


UNAVAILABLE_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
    "<title>Service unavailable</title></head>\n<body><h1>Service unavailable</h1>"
    "<p>This shop is temporarily unavailable. Please try again in a few minutes.</p>"
    "</body>\n</html>\n"
)


def unavailable() -> Response:
    return HTMLResponse(UNAVAILABLE_PAGE, status_code=503)


URI_TOO_LONG_PAGE = (
    "<html>\n<head><title>414 Request-URI Too Large</title></head>\n<body>\n"
    "<center><h1>414 Request-URI Too Large</h1></center>\n</body>\n</html>\n"
)


def uri_too_long() -> Response:
    return HTMLResponse(URI_TOO_LONG_PAGE, status_code=414)


def fault_responses(config: ShopifySiloConfig) -> FaultResponses:
    """Shopify's own 429 / 500 / 503 answers, for the sandbox fault injection."""
    return FaultResponses(
        rate_limited=lambda: rate_limited(config),
        server_error=server_error,
        unavailable=unavailable,
    )
