"""The Zendesk Support API calls the adapter makes, as pure values (no I/O).

Every read is a ``GET`` (:class:`Call`: path and query), every write a :class:`Write`. Limits
are Zendesk's own: 100 ids per ``show_many``, ``page[size]`` at most 100 for cursor pagination,
``per_page`` at most 100 for the offset-paginated searches and at most 1000 for the incremental
export, and for the unified Search API (``search.json``) 64 words per query and 1,000 results
per query (10 pages of 100).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

SHOW_MANY_LIMIT = 100
PAGE_SIZE = 100
SEARCH_PER_PAGE = 100
EXPORT_PER_PAGE = 1000
EXPORT_MIN_AGE_SECONDS = 60
"""The incremental export refuses a ``start_time`` of the last minute (422)."""
PHONE_MATCH_DIGITS = 10
"""A phone is searched by its last ten digits with Zendesk's leading ``*`` wildcard, which finds
it however the number was typed (with or without the country code)."""
MIN_PHONE_DIGITS = 7
SEARCH_MAX_RESULTS = 1000
"""The Search API returns at most 1,000 results per query (page 11 of 100 is refused, 422)."""
SEARCH_MAX_WORDS = 64
"""Zendesk's search reference: "There is a 64 word limit in a search query"."""
SEARCH_REQUESTERS = 50
"""Requesters named in one ticket search (``type:ticket requester:<id> ...``): 51 words, well
inside the word limit, and about 1.5 kB of URL with 19-digit ids."""
SEARCH_MAX_QUERY_CHARS = 2000
"""A bound on the (unencoded) query text, far below the URL lengths servers refuse (414); with
numeric ids it never binds before :data:`SEARCH_REQUESTERS` does."""
TICKET_TYPE_TERM = "type:ticket"

_NON_DIGIT = re.compile(r"\D")
_SEARCH_UNSAFE = re.compile(r'[\s"]')


@dataclass(frozen=True, slots=True)
class Call:
    """One ``GET`` of the Zendesk API: the path under the account URL and its query."""

    path: str
    params: dict[str, str] = field(default_factory=dict)


def basic_auth(email: str, api_token: str) -> str:
    """The ``Authorization`` header of Zendesk's API-token auth (``{email}/token:{token}``)."""
    token = base64.b64encode(f"{email}/token:{api_token}".encode()).decode("ascii")
    return f"Basic {token}"


def numeric_id(value: str) -> str | None:
    """The canonical form of a Zendesk id (a positive integer), or None if it cannot be one."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or int(text) == 0:
        return None
    return str(int(text))


def chunks(values: Sequence[str], size: int) -> list[list[str]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def show_many_users(ids: Sequence[str]) -> Call:
    """``users/show_many.json`` for at most 100 ids, with their identities sideloaded."""
    if not 0 < len(ids) <= SHOW_MANY_LIMIT:
        raise ValueError(f"show_many takes 1 to {SHOW_MANY_LIMIT} ids, not {len(ids)}")
    return Call(
        "/api/v2/users/show_many.json", {"ids": ",".join(ids), "include": "identities"}
    )


def email_query(email: str) -> str | None:
    """The user-search query finding end users by this exact e-mail address."""
    value = email.strip()
    if not value or "@" not in value or _SEARCH_UNSAFE.search(value):
        return None
    return f"role:end-user email:{value}"


def phone_digits(phone: str) -> str:
    return _NON_DIGIT.sub("", phone)


def phone_key(phone: str) -> str | None:
    """The digits a phone is searched and compared by (its last ten), or None if too short."""
    digits = phone_digits(phone)
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return digits[-PHONE_MATCH_DIGITS:]


def phone_query(phone: str) -> str | None:
    """The user-search query finding end users by this phone in any format: digits only, with
    Zendesk's leading ``*`` so ``+1 (415) 555-0101`` and ``415.555.0101`` both match."""
    key = phone_key(phone)
    return None if key is None else f"role:end-user phone:*{key}"


def search_users(query: str, page: int = 1) -> Call:
    """One page of ``users/search.json`` (offset pagination)."""
    params = {"query": query, "per_page": str(SEARCH_PER_PAGE)}
    if page > 1:
        params["page"] = str(page)
    return Call("/api/v2/users/search.json", params)


def incremental_users(*, start_time: int | None = None, cursor: str | None = None) -> Call:
    """One page of the cursor-based incremental user export: ``start_time`` (Unix seconds) for
    the first request, the previous page's ``after_cursor`` for every later one."""
    params = {"per_page": str(EXPORT_PER_PAGE), "include": "identities"}
    if cursor is not None:
        params["cursor"] = cursor
    elif start_time is not None:
        params["start_time"] = str(max(start_time, 0))
    else:
        raise ValueError("the incremental export needs a start_time or a cursor")
    return Call("/api/v2/incremental/users/cursor.json", params)


def end_users(after: str | None = None) -> Call:
    """One cursor page of List Users for end users, identities sideloaded. Allowed for agents
    too (the incremental export is for admins); it has no ``updated_at`` filter or order, so an
    incremental crawl through it reads every end user and keeps the changed ones."""
    return Call("/api/v2/users.json",
                {"role": "end-user", "include": "identities", **_cursor_params(after)})


def export_start_time(since: float | None, now: float) -> int:
    """``since`` as the export's ``start_time``: 0 for a full crawl, and never within the last
    minute, which Zendesk refuses (starting earlier only re-reads a few changes)."""
    if since is None:
        return 0
    return max(0, min(int(since), int(now) - EXPORT_MIN_AGE_SECONDS - 1))


def _cursor_params(after: str | None) -> dict[str, str]:
    params = {"page[size]": str(PAGE_SIZE)}
    if after is not None:
        params["page[after]"] = after
    return params


def requester_query(user_ids: Sequence[str]) -> str:
    """The ticket search for every ticket of these requesters: the same keyword repeated is
    ORed (Zendesk's search reference), so ``type:ticket requester:1 requester:2`` finds both."""
    if not user_ids:
        raise ValueError("a requester search needs at least one requester")
    return " ".join([TICKET_TYPE_TERM, *(f"requester:{user_id}" for user_id in user_ids)])


def requester_chunks(user_ids: Sequence[str]) -> list[list[str]]:
    """``user_ids`` in consecutive groups of at most :data:`SEARCH_REQUESTERS`, each of whose
    :func:`requester_query` stays within the word and length limits."""
    groups: list[list[str]] = []
    current: list[str] = []
    for user_id in user_ids:
        candidate = [*current, user_id]
        if current and (
            len(candidate) > min(SEARCH_REQUESTERS, SEARCH_MAX_WORDS - 1)
            or len(requester_query(candidate)) > SEARCH_MAX_QUERY_CHARS
        ):
            groups.append(current)
            candidate = [user_id]
        current = candidate
    if current:
        groups.append(current)
    return groups


def search_tickets(query: str, page: int = 1) -> Call:
    """One page of ``search.json`` for a ticket query, oldest first: new tickets land on the
    last page, so offset pages do not shift under a walk while tickets are created."""
    params = {
        "query": query,
        "sort_by": "created_at",
        "sort_order": "asc",
        "per_page": str(SEARCH_PER_PAGE),
    }
    if page > 1:
        params["page"] = str(page)
    return Call("/api/v2/search.json", params)


def search_time(moment: datetime) -> str:
    """A moment in Zendesk's search syntax: ISO 8601, UTC, whole seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_window(requester_id: str, until: datetime | None, limit: int) -> Call:
    """One ``search.json`` page: the requester's ``limit`` tickets created at or before
    ``until`` (that second included), newest first."""
    query = f"{TICKET_TYPE_TERM} requester:{requester_id}"
    if until is not None:
        query += f" created<={search_time(until)}"
    return Call("/api/v2/search.json", {
        "query": query, "sort_by": "created_at", "sort_order": "desc",
        "per_page": str(min(limit, SEARCH_PER_PAGE))})


def tickets_spanning(requester_id: str, at: datetime, limit: int) -> Call:
    """One ``search.json`` page: the requester's tickets created at or before ``at`` and
    updated after it, soonest updated first."""
    moment = search_time(at)
    return Call("/api/v2/search.json", {
        "query": f"{TICKET_TYPE_TERM} requester:{requester_id} created<={moment} "
                 f"updated>{moment}",
        "sort_by": "updated_at", "sort_order": "asc",
        "per_page": str(min(limit, SEARCH_PER_PAGE))})


def newest_requested(user_id: str, limit: int) -> Call:
    """The requester's newest tickets by id, one cursor page: always current, where search
    sees a new ticket only once it is indexed (about a minute)."""
    return Call(f"/api/v2/users/{user_id}/tickets/requested.json",
                {"page[size]": str(min(limit, PAGE_SIZE)), "sort": "-id"})


def search_pages(count: int) -> int:
    """How many pages of :data:`SEARCH_PER_PAGE` hold ``count`` results (at least one)."""
    return max(1, -(-count // SEARCH_PER_PAGE))


def requested_tickets(user_id: str, after: str | None = None) -> Call:
    """One cursor page of the tickets a user requested."""
    return Call(f"/api/v2/users/{user_id}/tickets/requested.json", _cursor_params(after))


def tickets_with_external_id(external_id: str, after: str | None = None) -> Call:
    """One cursor page of List Tickets by ``external_id``."""
    return Call("/api/v2/tickets.json", {"external_id": external_id, **_cursor_params(after)})


def show_many_tickets(ids: Sequence[str]) -> Call:
    """``tickets/show_many.json`` for at most 100 ids."""
    if not 0 < len(ids) <= SHOW_MANY_LIMIT:
        raise ValueError(f"show_many takes 1 to {SHOW_MANY_LIMIT} ids, not {len(ids)}")
    return Call("/api/v2/tickets/show_many.json", {"ids": ",".join(ids)})


def ticket_comments(ticket_id: str, after: str | None = None) -> Call:
    """One cursor page of a ticket's comments, oldest first."""
    return Call(f"/api/v2/tickets/{ticket_id}/comments.json", _cursor_params(after))


def ticket_audits(ticket_id: str, after: str | None = None) -> Call:
    """One cursor page of a ticket's audits, oldest first."""
    return Call(f"/api/v2/tickets/{ticket_id}/audits.json", _cursor_params(after))


# -- writes -------------------------------------------------------------------------------------
CHANNEL_TAG_PREFIX = "channel_"
"""API-created tickets get ``via.channel`` ``api`` from Zendesk (``via`` is read-only), so the
channel the customer asked through (web | phone | email | store | chat) is written as the tag
``channel_<channel>``; :func:`adapters.zendesk.parse.ticket_channel` reads it back for tickets
whose ``via.channel`` is ``api``."""
KEY_METADATA = "c360_key"
"""The key of an update (a comment) in the ticket's write-only ``metadata``, which Zendesk
records as the audit's ``metadata.custom``: read back before a repeat."""
IDEMPOTENCY_HEADER = "Idempotency-Key"

_TAG_UNSAFE = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True, slots=True)
class Write:
    """One write of the Zendesk API: method, path, JSON body and extra headers."""

    method: str
    path: str
    body: dict[str, object]
    headers: dict[str, str] = field(default_factory=dict)


def channel_tag(channel: str) -> str:
    """``channel_<channel>``, lower case, anything but letters, digits and ``_`` as ``_`` (a
    Zendesk tag has no spaces)."""
    return CHANNEL_TAG_PREFIX + (_TAG_UNSAFE.sub("_", channel.strip().lower()) or "unknown")


def create_or_update_user(
    name: str, email: str | None, phone: str | None, external_id: str
) -> Write:
    """``users/create_or_update.json``: the user with this ``external_id`` (else this e-mail),
    updated, or a new one. No ``role``: a new user is an end user, and a matched agent keeps
    their role."""
    user: dict[str, object] = {"name": name, "external_id": external_id,
                               "skip_verify_email": True}
    if email:
        user["email"] = email
    if phone:
        user["phone"] = phone
    return Write("POST", "/api/v2/users/create_or_update.json", {"user": user})


def create_ticket(
    *,
    requester_id: str,
    subject: str,
    body: str,
    public: bool,
    channel: str,
    tags: Sequence[str],
    order_reference: str | None,
    order_field_id: int | None,
    key: str,
) -> Write:
    """``tickets.json`` with ``key`` as the ``Idempotency-Key`` and as the ticket's
    ``external_id`` (found again after the key's two hours); the channel as a tag (see
    :data:`CHANNEL_TAG_PREFIX`), the order reference in the custom field ``order_field_id``.
    Raises ``ValueError`` for an order reference without a configured field."""
    ticket: dict[str, object] = {
        "external_id": key,
        "subject": subject,
        "comment": {"body": body, "public": public},
        "requester_id": int(requester_id),
        "tags": unique([*tags, channel_tag(channel)]),
    }
    if order_reference is not None:
        if order_field_id is None:
            raise ValueError("an order reference needs order_number_field_id")
        ticket["custom_fields"] = [{"id": order_field_id, "value": order_reference}]
    return Write("POST", "/api/v2/tickets.json", {"ticket": ticket}, {IDEMPOTENCY_HEADER: key})


def add_comment(
    ticket_id: str, body: str, *, public: bool, author_id: str | None, key: str
) -> Write:
    """``PUT tickets/{id}.json`` adding a comment, ``key`` in the audit's metadata."""
    comment: dict[str, object] = {"body": body, "public": public}
    if author_id is not None:
        comment["author_id"] = int(author_id)
    return Write("PUT", f"/api/v2/tickets/{ticket_id}.json",
                 {"ticket": {"comment": comment, "metadata": {KEY_METADATA: key}}})


def set_status(ticket_id: str, status: str, *, key: str) -> Write:
    """``PUT tickets/{id}.json`` setting the status (a repeat changes nothing: no audit)."""
    return Write("PUT", f"/api/v2/tickets/{ticket_id}.json",
                 {"ticket": {"status": status, "metadata": {KEY_METADATA: key}}})


def show_ticket(ticket_id: str) -> Call:
    return Call(f"/api/v2/tickets/{ticket_id}.json")
