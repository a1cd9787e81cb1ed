"""The Square API v2 subset served over HTTP (Starlette), wrapped in the sandbox control API."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from silos.control import SandboxControl
from silos.responses import json_response
from silos.square.config import SquareSiloConfig
from silos.square.errors import SquareError, bad_request, fault_responses, not_found, unauthorized
from silos.square.store import SquareStore

Body = dict[str, Any]
Handler = Callable[[Request, Body], Any]

_HEADER_HELP = (
    'The header value is expected to be of the format "Bearer TOKEN" (without quotation marks), '
    'where TOKEN is a valid access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)
NO_AUTH_HEADER = (
    "Your request did not include an `Authorization` http header with an access token. "
    + _HEADER_HELP
)
MALFORMED_AUTH_HEADER = (
    f"The `Authorization` http header of your request was malformed. {_HEADER_HELP}"
)
BAD_TOKEN = "This request could not be authorized."


def _check_auth(request: Request, token: bytes) -> None:
    header = request.headers.get("authorization")
    if header is None:
        raise unauthorized(NO_AUTH_HEADER)
    scheme, _, presented = header.partition(" ")
    if scheme != "Bearer" or not presented.strip():
        raise unauthorized(MALFORMED_AUTH_HEADER)
    if not hmac.compare_digest(presented.strip().encode(), token):
        raise unauthorized(BAD_TOKEN)


def _check_version(request: Request) -> None:
    version = request.headers.get("square-version")
    if version is None:
        return
    parts = version.split("-")
    if [len(part) for part in parts] != [4, 2, 2] or not all(part.isdigit() for part in parts):
        raise bad_request(
            "INVALID_SQUARE_VERSION_FORMAT",
            f"Invalid Square-Version format: `{version}`. Expected YYYY-MM-DD.",
        )


async def _json_body(request: Request) -> Body:
    raw = await request.body()
    if not raw.strip():
        return {}
    content_type = request.headers.get("content-type")
    if content_type is not None and not content_type.lower().startswith("application/json"):
        raise bad_request("INVALID_CONTENT_TYPE", "Content-Type must be `application/json`.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request("BAD_REQUEST", f"Invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("EXPECTED_JSON_BODY", "The request body is not a JSON object.")
    return body


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("EXPECTED_INTEGER", f"Expected an integer for `{name}`", name) from None
    if value < low:
        raise bad_request("VALUE_TOO_LOW", f"`{name}` must be at least {low}", name)
    if value > high:
        raise bad_request("VALUE_TOO_HIGH", f"`{name}` must be at most {high}", name)
    return value


def _query_enum(request: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in allowed:
        raise bad_request("INVALID_ENUM_VALUE", f"`{value}` is not a valid `{name}`", name)
    return value


async def _unknown_endpoint(request: Request, exc: Exception) -> Response:
    detail = (
        f"API endpoint for URL path `{request.url.path}` and HTTP method `{request.method}` "
        "is not found."
    )
    return not_found(detail).response()


def create_app(
    store: SquareStore | None = None, config: SquareSiloConfig | None = None
) -> SandboxControl:
    """The Square API over ``store`` (a fresh one if omitted), behind ``SandboxControl``."""
    config = config or SquareSiloConfig()
    store = store if store is not None else SquareStore(currency=config.currency)
    token = config.access_token.encode()

    def endpoint(handler: Handler, *, with_body: bool) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                _check_auth(request, token)
                _check_version(request)
                body = await _json_body(request) if with_body else {}
                return json_response(handler(request, body))
            except SquareError as error:
                return error.response()

        return run

    def post(path: str, handler: Handler) -> Route:
        return Route(path, endpoint(handler, with_body=True), methods=["POST"])

    def get(path: str, handler: Handler) -> Route:
        return Route(path, endpoint(handler, with_body=False), methods=["GET"])

    def put(path: str, handler: Handler) -> Route:
        return Route(path, endpoint(handler, with_body=True), methods=["PUT"])

    def list_customers(request: Request, _: Body) -> Any:
        return store.list_customers(
            cursor=request.query_params.get("cursor"),
            limit=_query_int(request, "limit", 100, 1, 100),
            sort_field=_query_enum(request, "sort_field", ("DEFAULT", "CREATED_AT"), "DEFAULT"),
            sort_order=_query_enum(request, "sort_order", ("ASC", "DESC"), "ASC"),
            count=request.query_params.get("count", "false").lower() == "true",
        )

    routes = [
        get("/v2/locations", lambda r, b: store.list_locations()),
        post("/v2/locations", lambda r, b: {"location": store.create_location(b)}),
        get(
            "/v2/locations/{location_id}",
            lambda r, b: {"location": store.get_location(r.path_params["location_id"])},
        ),
        get("/v2/customers", list_customers),
        post("/v2/customers", lambda r, b: {"customer": store.create_customer(b)}),
        post("/v2/customers/search", lambda r, b: store.search_customers(b)),
        post("/v2/customers/bulk-retrieve", lambda r, b: store.bulk_retrieve_customers(b)),
        get(
            "/v2/customers/{customer_id}",
            lambda r, b: {"customer": store.get_customer(r.path_params["customer_id"])},
        ),
        post("/v2/orders", lambda r, b: {"order": store.create_order(b)}),
        put(
            "/v2/orders/{order_id}",
            lambda r, b: {"order": store.update_order(r.path_params["order_id"], b)},
        ),
        post("/v2/orders/search", lambda r, b: store.search_orders(b)),
        post("/v2/orders/batch-retrieve", lambda r, b: store.batch_retrieve_orders(b)),
        get(
            "/v2/orders/{order_id}",
            lambda r, b: {"order": store.get_order(r.path_params["order_id"])},
        ),
        post("/v2/catalog/object", lambda r, b: store.upsert_catalog_object(b)),
        post("/v2/catalog/batch-retrieve", lambda r, b: store.batch_retrieve_catalog_objects(b)),
        post("/v2/catalog/search", lambda r, b: store.search_catalog_objects(b)),
        post(
            "/v2/inventory/counts/batch-retrieve",
            lambda r, b: store.batch_retrieve_inventory_counts(b),
        ),
        post(
            "/v2/inventory/changes/batch-create",
            lambda r, b: store.batch_change_inventory(b),
        ),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _unknown_endpoint},
    )
    return SandboxControl(app=app, routes=routes, responses=fault_responses())
