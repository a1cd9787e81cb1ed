"""The emulated Zendesk Support API: a Starlette app over a :class:`ZendeskStore`.

Every route answers with and without the ``.json`` suffix, as Zendesk does. Callers authenticate
with HTTP basic ``{email}/token:{api_token}``; the app is wrapped in :class:`SandboxControl` for the
sandbox control API and fault injection.

The unified Search API (``/api/v2/search.json``) answers ``type:ticket`` queries only (see
:mod:`silos.zendesk.search` for the keywords), behind a configurable indexing delay. Left out on
purpose: attachments, organizations, groups, side-loads other than identities, the search count
and export endpoints, and searches of users, organizations and groups through ``search.json``
(users have their own ``users/search.json``).

Writes: ``users`` and ``users/create_or_update`` (POST), ``tickets`` (POST, with Zendesk's
``Idempotency-Key``) and ``tickets/{id}`` (PUT, the ticket's write-only ``metadata`` recorded as
the audit's ``metadata.custom``; a closed ticket refuses updates with 422).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from silos.control import SandboxControl
from silos.responses import json_response
from silos.zendesk.config import ZendeskSiloConfig
from silos.zendesk.errors import (
    SEARCH_LIMIT_TEXT,
    IdempotentRequestError,
    InvalidPaginationParameterError,
    InvalidSearchError,
    InvalidValueError,
    TooManyValuesError,
    ZendeskError,
    ZendeskForbiddenError,
    ZendeskNotFoundError,
    fault_responses,
    invalid_endpoint,
    malformed_body,
    unauthenticated,
)
from silos.zendesk.pagination import (
    PAGE_AFTER,
    PAGE_BEFORE,
    CursorPage,
    OffsetRequest,
    Ordering,
    SortKey,
    cursor_page,
    decode_export_cursor,
    encode_export_cursor,
    offset_page,
    page_url,
    parse_cursor_request,
    parse_offset_request,
    wants_cursor,
)
from silos.zendesk.search import SORT_FIELDS, parse_ticket_search, search_tickets, sort_key
from silos.zendesk.store import Record, ZendeskStore, epoch_of

Endpoint = Callable[[Request], Awaitable[Response]]
KeyFunction = Callable[[Record], SortKey]

CURSOR_LINK_DROP = frozenset((PAGE_AFTER, PAGE_BEFORE))
OFFSET_LINK_DROP = frozenset(("page",))
EXPORT_LINK_DROP = frozenset(("cursor", "start_time"))
TOO_RECENT_START_TIME = "Too recent start_time. Use a start_time older than 1 minute"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_LOOKUP = "x-idempotency-lookup"


@dataclass(frozen=True, slots=True)
class Remembered:
    """A ticket creation answered under an ``Idempotency-Key``: the request body it answered
    (canonical JSON), until when the key holds, and the answer to repeat."""

    fingerprint: bytes
    expires_at: float
    status_code: int
    content: bytes
    location: str


def _by_id(record: Record) -> SortKey:
    return (record["id"],)


def _by_created(record: Record) -> SortKey:
    return (record["created_at"], record["id"])


def _by_updated(record: Record) -> SortKey:
    return (record["updated_at"], record["id"])


def _by_status(record: Record) -> SortKey:
    return (record["status"], record["id"])


def _orderings(
    fields: dict[str, tuple[tuple[type, ...], KeyFunction]],
) -> dict[str, tuple[Ordering, KeyFunction]]:
    table: dict[str, tuple[Ordering, KeyFunction]] = {}
    for name, (types, key) in fields.items():
        table[name] = (Ordering(name, types), key)
        table[f"-{name}"] = (Ordering(f"-{name}", types, descending=True), key)
    return table


TICKET_ORDERINGS = _orderings(
    {
        "id": ((int,), _by_id),
        "updated_at": ((str, int), _by_updated),
        "status": ((str, int), _by_status),
    }
)
USER_ORDERINGS = _orderings({"id": ((int,), _by_id)})
TIMELINE_ORDERINGS = _orderings({"created_at": ((str, int), _by_created)})
TICKET_OFFSET_SORTS: dict[str, KeyFunction] = {
    "id": _by_id,
    "created_at": _by_created,
    "updated_at": _by_updated,
    "status": _by_status,
}


def list_ticket(ticket: Record) -> Record:
    """A ticket as list endpoints render it (without the legacy ``fields`` copy)."""
    return {key: value for key, value in ticket.items() if key != "fields"}


def _split_values(raw: str) -> list[str]:
    return [value.strip() for value in raw.split(",") if value.strip()]


def _path_id(request: Request, name: str) -> int:
    raw: str = request.path_params[name]
    if not raw.isdigit():
        raise ZendeskNotFoundError(raw)
    return int(raw)


async def _json_body(request: Request) -> Any:
    return orjson.loads(await request.body())


class BasicTokenAuth:
    """Answers 401 (Zendesk's body) unless basic auth is ``{email}/token:{api_token}``."""

    def __init__(self, app: ASGIApp, email: str, api_token: str) -> None:
        self.app = app
        self.email = email.lower()
        self.api_token = api_token
        token = base64.b64encode(f"{email}/token:{api_token}".encode()).decode("ascii")
        self.expected = f"Basic {token}".encode("latin-1")

    def authorized(self, header: bytes | None) -> bool:
        if header is None:
            return False
        if header == self.expected:
            return True
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        email, _, kind = user.rpartition("/")
        return kind == "token" and email.lower() == self.email and password == self.api_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next(
                (value for name, value in scope["headers"] if name == b"authorization"), None
            )
            if not self.authorized(header):
                response = unauthenticated()
                response.headers["WWW-Authenticate"] = 'Basic realm="Web Password"'
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ZendeskApi:
    """The request handlers: parse the query, call the store, render Zendesk's envelopes."""

    def __init__(
        self,
        store: ZendeskStore,
        config: ZendeskSiloConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.idempotency: dict[str, Remembered] = {}

    # -- rendering ------------------------------------------------------------------------
    @staticmethod
    def _base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}{request.url.path}"

    def _cursor_body(
        self,
        request: Request,
        name: str,
        page: CursorPage[Record],
        render: Callable[[Record], Record],
    ) -> Response:
        return json_response(self._cursor_envelope(request, name, page, render))

    def _cursor_envelope(
        self,
        request: Request,
        name: str,
        page: CursorPage[Record],
        render: Callable[[Record], Record],
    ) -> Record:
        base = self._base(request)
        params = request.query_params.multi_items()
        links: dict[str, str | None] = {"prev": None, "next": None}
        if page.before_cursor is not None:
            links["prev"] = page_url(
                base, params, CURSOR_LINK_DROP, [(PAGE_BEFORE, page.before_cursor)]
            )
        if page.after_cursor is not None:
            links["next"] = page_url(
                base, params, CURSOR_LINK_DROP, [(PAGE_AFTER, page.after_cursor)]
            )
        return {
            name: [render(record) for record in page.records],
            "meta": {
                "has_more": page.has_more,
                "after_cursor": page.after_cursor,
                "before_cursor": page.before_cursor,
            },
            "links": links,
        }

    def _offset_body(
        self,
        request: Request,
        name: str,
        records: Sequence[Record],
        offset: OffsetRequest,
        descending: bool = False,
        render: Callable[[Record], Record] | None = None,
    ) -> Response:
        page, has_next, has_previous = offset_page(records, offset, descending)
        base = self._base(request)
        params = request.query_params.multi_items()
        next_page = previous_page = None
        if has_next:
            next_page = page_url(base, params, OFFSET_LINK_DROP, [("page", str(offset.page + 1))])
        if has_previous:
            previous_page = page_url(
                base, params, OFFSET_LINK_DROP, [("page", str(offset.page - 1))]
            )
        return json_response(
            {
                name: page if render is None else [render(record) for record in page],
                "next_page": next_page,
                "previous_page": previous_page,
                "count": len(records),
            }
        )

    def _offset_request(self, request: Request, action: str) -> OffsetRequest:
        return parse_offset_request(
            request.query_params,
            action,
            self.config.max_page_size,
            self.config.max_offset_records,
        )

    def _timeline(self, request: Request, name: str, records: Sequence[Record]) -> Response:
        """Comments or audits of a ticket: cursor (``sort=[-]created_at``) or offset."""
        params = request.query_params
        if wants_cursor(params):
            sort = params.get("sort", "created_at")
            if sort not in TIMELINE_ORDERINGS:
                raise InvalidPaginationParameterError("sort")
            ordering, key = TIMELINE_ORDERINGS[sort]
            cursor = parse_cursor_request(params, ordering, self.config.max_page_size)
            return self._cursor_body(
                request, name, cursor_page(records, key, ordering, cursor), _as_is
            )
        offset = self._offset_request(request, f"api/v2/tickets/{name}/index")
        return self._offset_body(
            request, name, records, offset, descending=params.get("sort_order") == "desc"
        )

    def _ids(self, request: Request, names: tuple[str, ...]) -> tuple[str, list[str]]:
        for name in names:
            raw = request.query_params.get(name)
            if raw is not None:
                values = _split_values(raw)
                if len(values) > self.config.max_show_many:
                    raise TooManyValuesError(name, self.config.max_show_many)
                return name, list(dict.fromkeys(values))
        return names[0], []

    def _ticket(self, request: Request) -> Record:
        ticket = self.store.get_ticket(_path_id(request, "ticket_id"))
        if ticket is None:
            raise ZendeskNotFoundError(request.path_params["ticket_id"])
        return ticket

    def _with_identities(self, request: Request, body: Record, users: list[Record]) -> Record:
        include = request.query_params.get("include")
        if include is not None and "identities" in _split_values(include):
            body["identities"] = [
                identity for user in users for identity in self.store.identities(user["id"])
            ]
        return body

    # -- users ----------------------------------------------------------------------------
    async def show_many_users(self, request: Request) -> Response:
        name, values = self._ids(request, ("ids", "external_ids"))
        users: list[Record] = []
        for value in values:
            if name == "ids":
                user = self.store.get_user(int(value)) if value.isdigit() else None
            else:
                user = self.store.find_user_by_external_id(value)
            if user is not None:
                users.append(user)
        body = {"users": users, "next_page": None, "previous_page": None, "count": len(users)}
        return json_response(self._with_identities(request, body, users))

    async def search_users(self, request: Request) -> Response:
        params = request.query_params
        offset = self._offset_request(request, "api/v2/users/search/index")
        external_id = params.get("external_id")
        query = params.get("query")
        if external_id is not None:
            user = self.store.find_user_by_external_id(external_id)
            found: list[Record] = [] if user is None else [user]
        elif query:
            found = self.store.search_users(query)
        else:
            found = []
        return self._offset_body(request, "users", found, offset)

    async def list_users(self, request: Request) -> Response:
        """``GET users``: every user, or those with ``role`` (or any of ``role[]``), by id;
        cursor pagination (``page[size]`` at most 100, ``meta.has_more``, ``links.next``) or
        offset pagination, identities sideloaded on ``include=identities``. Allowed for agents
        and admins alike."""
        params = request.query_params
        roles = params.getlist("role[]") or params.getlist("role")
        users = self.store.users_with_roles(roles) if roles else self.store.all_users()
        if wants_cursor(params):
            ordering, key = USER_ORDERINGS["id"]
            cursor = parse_cursor_request(params, ordering, self.config.max_page_size)
            page = cursor_page(users, key, ordering, cursor)
            body = self._cursor_envelope(request, "users", page, _as_is)
            return json_response(self._with_identities(request, body, page.records))
        offset = self._offset_request(request, "api/v2/users/index")
        page_users, has_next, has_previous = offset_page(users, offset)
        base = self._base(request)
        items = params.multi_items()
        body = {
            "users": page_users,
            "next_page": page_url(base, items, OFFSET_LINK_DROP,
                                  [("page", str(offset.page + 1))]) if has_next else None,
            "previous_page": page_url(base, items, OFFSET_LINK_DROP,
                                      [("page", str(offset.page - 1))]) if has_previous else None,
            "count": len(users),
        }
        return json_response(self._with_identities(request, body, page_users))

    async def show_user(self, request: Request) -> Response:
        user = self.store.get_user(_path_id(request, "user_id"))
        if user is None:
            raise ZendeskNotFoundError(request.path_params["user_id"])
        return json_response(self._with_identities(request, {"user": user}, [user]))

    async def create_user(self, request: Request) -> Response:
        user = self.store.create_user(await _json_body(request))
        return json_response({"user": user}, status_code=201, headers={"Location": user["url"]})

    async def create_or_update_user(self, request: Request) -> Response:
        """``POST users/create_or_update``: 201 with ``Location`` when the user was created,
        200 when an existing one (same ``external_id``, else same e-mail) was updated."""
        user, updated = self.store.create_or_update_user(await _json_body(request))
        if updated:
            return json_response({"user": user})
        return json_response({"user": user}, status_code=201, headers={"Location": user["url"]})

    async def requested_tickets(self, request: Request) -> Response:
        user_id = _path_id(request, "user_id")
        if self.store.get_user(user_id) is None:
            raise ZendeskNotFoundError(user_id)
        return self._ticket_list(request, self.store.requested_tickets(user_id))

    async def list_tickets(self, request: Request) -> Response:
        """``GET tickets``: every ticket of the account, or with ``external_id`` those created
        with it (external ids need not be unique, so several may come back)."""
        external_id = request.query_params.get("external_id")
        tickets = (self.store.tickets_with_external_id(external_id) if external_id
                   else self.store.all_tickets())
        return self._ticket_list(request, tickets)

    def _ticket_list(self, request: Request, tickets: Sequence[Record]) -> Response:
        params = request.query_params
        if wants_cursor(params):
            sort = params.get("sort", "id")
            if sort not in TICKET_ORDERINGS:
                raise InvalidPaginationParameterError("sort")
            ordering, key = TICKET_ORDERINGS[sort]
            ordered = tickets if key is _by_id else sorted(tickets, key=key)
            cursor = parse_cursor_request(params, ordering, self.config.max_page_size)
            return self._cursor_body(
                request, "tickets", cursor_page(ordered, key, ordering, cursor), list_ticket
            )
        offset = self._offset_request(request, "api/v2/tickets/index")
        offset_key = TICKET_OFFSET_SORTS.get(params.get("sort_by", "id"), _by_id)
        ordered = tickets if offset_key is _by_id else sorted(tickets, key=offset_key)
        return self._offset_body(
            request,
            "tickets",
            ordered,
            offset,
            descending=params.get("sort_order") == "desc",
            render=list_ticket,
        )

    # -- search -----------------------------------------------------------------------------
    async def search(self, request: Request) -> Response:
        """``search.json`` for ``type:ticket`` queries: offset pages (``per_page`` at most 100)
        within the first ``search_max_results`` results, ``count`` the full total, tickets as
        the index saw them ``search_index_delay_s`` ago, rendered as they are now."""
        params = request.query_params
        offset = parse_offset_request(
            params, "api/v2/search/index", self.config.max_page_size, 2**62
        )
        if offset.page * offset.per_page > self.config.search_max_results:
            raise InvalidSearchError(SEARCH_LIMIT_TEXT)
        search = parse_ticket_search(params.get("query", ""), self.config.search_max_words)
        now = self.clock()
        found = search_tickets(
            self.store,
            search,
            indexed_until=now - self.config.search_index_delay_s,
            now=now,
        )
        sort_by = params.get("sort_by")
        field = sort_by if sort_by in SORT_FIELDS else search.order_by
        order = params.get("sort_order") or search.sort or "desc"
        found.sort(key=sort_key(field), reverse=order != "asc")
        page, has_next, has_previous = offset_page(found, offset)
        base = self._base(request)
        items = request.query_params.multi_items()
        results: list[Record] = []
        for fields in page:
            ticket = self.store.get_ticket(fields["id"])
            if ticket is not None:
                results.append({**ticket, "result_type": "ticket"})
        return json_response(
            {
                "results": results,
                "facets": None,
                "next_page": page_url(
                    base, items, OFFSET_LINK_DROP, [("page", str(offset.page + 1))]
                )
                if has_next
                else None,
                "previous_page": page_url(
                    base, items, OFFSET_LINK_DROP, [("page", str(offset.page - 1))]
                )
                if has_previous
                else None,
                "count": len(found),
            }
        )

    # -- incremental export ---------------------------------------------------------------
    async def incremental_users(self, request: Request) -> Response:
        """Cursor-based incremental user export: the users changed at or after ``start_time``
        (first request) or after ``cursor`` (every later one), oldest change first, up to
        ``per_page`` (default and maximum 1000). Changes of the last minute are left out; the
        ``after_cursor`` of the last page (``end_of_stream``) is where the next export resumes."""
        if self.config.token_role != "admin":
            raise ZendeskForbiddenError()
        params = request.query_params
        until = int(self.clock()) - self.config.export_min_age_seconds
        per_page = self._export_per_page(params)
        token = params.get("cursor")
        if token:
            position = decode_export_cursor(token)
        else:
            position = (self._start_time(params, until), -1)
        users, more = self.store.users_changed_after(position, until, per_page)
        if users:
            position = (epoch_of(users[-1]["updated_at"]), users[-1]["id"])
        after_cursor = encode_export_cursor(position)
        after_url = page_url(
            self._base(request),
            params.multi_items(),
            EXPORT_LINK_DROP,
            [("cursor", after_cursor)],
        )
        body: Record = {
            "users": users,
            "after_url": after_url,
            "after_cursor": after_cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": not more,
        }
        return json_response(self._with_identities(request, body, users))

    def _export_per_page(self, params: Mapping[str, str]) -> int:
        raw = params.get("per_page")
        if raw is None:
            return self.config.max_export_per_page
        try:
            per_page = int(raw)
        except ValueError:
            raise InvalidValueError("per_page must be an integer") from None
        return min(max(per_page, 1), self.config.max_export_per_page)

    @staticmethod
    def _start_time(params: Mapping[str, str], until: int) -> int:
        raw = params.get("start_time")
        if not raw:
            raise InvalidValueError("start_time is required")
        try:
            start = int(raw)
        except ValueError:
            raise InvalidValueError("start_time must be a Unix epoch time") from None
        if start < 0:
            raise InvalidValueError("start_time must be a Unix epoch time")
        if start > until:
            raise InvalidValueError(TOO_RECENT_START_TIME)
        return start

    # -- tickets --------------------------------------------------------------------------
    async def show_many_tickets(self, request: Request) -> Response:
        _, values = self._ids(request, ("ids",))
        tickets = [
            ticket
            for value in values
            if value.isdigit() and (ticket := self.store.get_ticket(int(value))) is not None
        ]
        return json_response(
            {"tickets": tickets, "next_page": None, "previous_page": None, "count": len(tickets)}
        )

    async def show_ticket(self, request: Request) -> Response:
        return json_response({"ticket": self._ticket(request)})

    async def create_ticket(self, request: Request) -> Response:
        """``POST tickets``; with an ``Idempotency-Key`` header, Zendesk's idempotency: the
        first answer is remembered for ``idempotency_window_s`` (two hours) and a repeat with
        the same key and the same body gets it again, unchanged, with
        ``x-idempotency-lookup: hit`` (``miss`` on the request that created); the same key with
        another body is refused (400 ``IdempotentRequestError``). A refused creation (422) is
        not remembered: nothing was written, so a corrected repeat may use the key."""
        body = await _json_body(request)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return self._created(body)
        now = self.clock()
        self._forget_expired(now)
        fingerprint = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        remembered = self.idempotency.get(key)
        if remembered is not None and remembered.expires_at > now:
            if remembered.fingerprint != fingerprint:
                raise IdempotentRequestError(key)
            return Response(
                remembered.content,
                status_code=remembered.status_code,
                media_type="application/json",
                headers={"Location": remembered.location, IDEMPOTENCY_LOOKUP: "hit"},
            )
        response = self._created(body)
        self.idempotency.pop(key, None)
        self.idempotency[key] = Remembered(
            fingerprint,
            now + self.config.idempotency_window_s,
            response.status_code,
            bytes(response.body),
            response.headers["Location"],
        )
        response.headers[IDEMPOTENCY_LOOKUP] = "miss"
        return response

    def _forget_expired(self, now: float) -> None:
        """Drop the keys whose window has passed (remembered in the order they expire)."""
        while self.idempotency:
            oldest = next(iter(self.idempotency))
            if self.idempotency[oldest].expires_at > now:
                return
            del self.idempotency[oldest]

    def _created(self, body: Any) -> Response:
        ticket = self.store.create_ticket(body)
        audit = self.store.latest_audit(ticket["id"])
        return json_response(
            {"ticket": ticket, "audit": audit}, status_code=201, headers={"Location": ticket["url"]}
        )

    async def update_ticket(self, request: Request) -> Response:
        ticket_id = _path_id(request, "ticket_id")
        body = await _json_body(request)
        before = self.store.latest_audit(ticket_id)
        ticket = self.store.update_ticket(ticket_id, body)
        audit = self.store.latest_audit(ticket_id)
        answer: Record = {"ticket": ticket}
        if audit is not before:
            answer["audit"] = audit
        return json_response(answer)

    async def ticket_comments(self, request: Request) -> Response:
        ticket = self._ticket(request)
        return self._timeline(request, "comments", self.store.ticket_comments(ticket["id"]))

    async def ticket_audits(self, request: Request) -> Response:
        ticket = self._ticket(request)
        return self._timeline(request, "audits", self.store.ticket_audits(ticket["id"]))

    def routes(self) -> list[Route]:
        """Every endpoint, under its ``.json`` path first and its bare path second."""
        spec: list[tuple[str, Endpoint, str]] = [
            ("/api/v2/incremental/users/cursor", self.incremental_users, "GET"),
            ("/api/v2/search", self.search, "GET"),
            ("/api/v2/users/show_many", self.show_many_users, "GET"),
            ("/api/v2/users/search", self.search_users, "GET"),
            ("/api/v2/users/create_or_update", self.create_or_update_user, "POST"),
            ("/api/v2/users", self.create_user, "POST"),
            ("/api/v2/users", self.list_users, "GET"),
            ("/api/v2/users/{user_id}/tickets/requested", self.requested_tickets, "GET"),
            ("/api/v2/users/{user_id}", self.show_user, "GET"),
            ("/api/v2/tickets/show_many", self.show_many_tickets, "GET"),
            ("/api/v2/tickets", self.create_ticket, "POST"),
            ("/api/v2/tickets", self.list_tickets, "GET"),
            ("/api/v2/tickets/{ticket_id}/comments", self.ticket_comments, "GET"),
            ("/api/v2/tickets/{ticket_id}/audits", self.ticket_audits, "GET"),
            ("/api/v2/tickets/{ticket_id}", self.show_ticket, "GET"),
            ("/api/v2/tickets/{ticket_id}", self.update_ticket, "PUT"),
        ]
        routes: list[Route] = []
        for path, endpoint, method in spec:
            routes.append(Route(f"{path}.json", endpoint, methods=[method]))
            routes.append(Route(path, endpoint, methods=[method]))
        return routes


def _as_is(record: Record) -> Record:
    return record


async def _zendesk_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ZendeskError)
    return exc.response()


async def _malformed(request: Request, exc: Exception) -> Response:
    return malformed_body()


async def _no_route(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return json_response(invalid_endpoint(), status_code=404)


def create_app(
    store: ZendeskStore,
    config: ZendeskSiloConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> SandboxControl:
    """The Zendesk silo as an ASGI app: API routes, basic-token auth and the sandbox control.

    ``clock`` (Unix seconds) is "now" for the incremental export's last-minute rule and for the
    search index (which sees the store's ticket writes ``search_index_delay_s`` late)."""
    if config is None:
        config = ZendeskSiloConfig(
            subdomain=store.subdomain, order_number_field_id=store.order_number_field_id
        )
    if config.order_number_field_id != store.order_number_field_id:
        raise ValueError(
            f"config.order_number_field_id {config.order_number_field_id} differs from the"
            f" store's {store.order_number_field_id}"
        )
    api = ZendeskApi(store, config, clock)
    routes = api.routes()
    app = Starlette(
        routes=routes,
        exception_handlers={
            ZendeskError: _zendesk_error,
            orjson.JSONDecodeError: _malformed,
            404: _no_route,
            405: _no_route,
        },
    )
    guarded = BasicTokenAuth(app, config.email, config.api_token)
    return SandboxControl(
        app=guarded, routes=routes, responses=fault_responses(config.retry_after_seconds)
    )
