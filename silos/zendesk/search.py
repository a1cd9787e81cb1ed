"""Zendesk's unified Search API for tickets: ``GET /api/v2/search.json?query=type:ticket ...``.

What Zendesk documents (the *Zendesk Support search reference* and the Search API reference):

* a query is whitespace-separated statements ``keyword<op>value`` (``:`` equals, ``<``, ``>``,
  ``<=``, ``>=``; a leading ``-`` excludes; double quotes group words), at most 64 words;
* statements on different keywords are ANDed; "you can search for multiple values of a single
  property by including the property keyword multiple times [...] Search uses OR logic"
  (``tags:silver tags:bronze``); two comparisons bound a range
  (``created>2014-08-01 created<2014-08-05`` is August 2 to 4);
* ``requester`` takes a user id, an e-mail address, ``me``, ``none`` or a (partial) name; a phone
  number must start with ``+``, so a bare number is a user id;
* dates are ``YYYY-MM-DD`` (a whole day), ISO 8601 date-times, or relative (``created>4hours``);
* ``sort_by`` is one of ``updated_at``, ``created_at``, ``priority``, ``status``,
  ``ticket_type`` (default: relevance) and ``sort_order`` ``asc`` or ``desc`` (default
  ``desc``); ``order_by:<field>`` and ``sort:asc|desc`` in the query do the same;
* at most 1,000 results per query and 100 per page, ``count`` being the real total; a page past
  the limit is a 422 ``invalid``;
* new and changed tickets are searchable only once indexed, "typically about a minute" later.

This emulator answers ``type:ticket`` queries built from ``requester`` (and the undocumented but
widely used alias ``requester_id``), ``status``, ``priority``, ``ticket_type``, ``tags``,
``created``, ``updated``, ``order_by`` and ``sort``. Free text, other keywords and other types
(users, organizations, groups, or no ``type`` at all) are refused with Zendesk's ``invalid``
envelope rather than answered wrongly. A ticket matches on its *indexed* fields (as of its last
write older than the indexing delay) and is rendered as it is now; relevance order (no
``sort_by``) is emulated as ticket id order. ``commented`` sorts as ``updated``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from silos.zendesk.errors import InvalidSearchError
from silos.zendesk.store import PRIORITIES, STATUSES, Record, ZendeskStore, epoch_of

SortKey = tuple[int | str, ...]

_TOKEN = re.compile(r'-?[A-Za-z_]\w*(?:<=|>=|:|<|>)"[^"]*"|"[^"]*"|\S+')
_STATEMENT = re.compile(r'^(-?)([A-Za-z_]\w*)(<=|>=|:|<|>)(?:"([^"]*)"|(\S+))$')
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RELATIVE = re.compile(r"^(\d+)(minute|hour|day|week|month|year)s?$")
UNIT_SECONDS = {
    "minute": 60,
    "hour": 3600,
    "day": 86_400,
    "week": 7 * 86_400,
    "month": 30 * 86_400,
    "year": 365 * 86_400,
}

ALIASES = {"requester_id": "requester"}
EQUALITY_ONLY = frozenset(("requester", "ticket_type", "tags"))
FILTERS = EQUALITY_ONLY | {"status", "priority", "created", "updated"}
SORT_FIELDS = ("updated_at", "created_at", "priority", "status", "ticket_type")
ORDER_BY = {
    "created": "created_at",
    "updated": "updated_at",
    "commented": "updated_at",
    "priority": "priority",
    "status": "status",
    "ticket_type": "ticket_type",
}


@dataclass(frozen=True)
class Statement:
    """One ``keyword<op>value`` statement of a query (``negated`` for a leading ``-``)."""

    keyword: str
    operator: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class TicketSearch:
    """A parsed ``type:ticket`` query: its filter statements and in-query ordering."""

    statements: tuple[Statement, ...]
    order_by: str | None = None
    sort: str | None = None

    def keywords(self) -> dict[str, list[Statement]]:
        grouped: dict[str, list[Statement]] = {}
        for statement in self.statements:
            grouped.setdefault(statement.keyword, []).append(statement)
        return grouped


def parse_ticket_search(query: str, max_words: int) -> TicketSearch:
    """The statements of ``query``; raises :class:`InvalidSearchError` for what is refused."""
    if not query.strip():
        raise InvalidSearchError("a query is required")
    if len(query.split()) > max_words:
        raise InvalidSearchError(f"a query is limited to {max_words} words")
    types: list[str] = []
    statements: list[Statement] = []
    order_by: str | None = None
    sort: str | None = None
    for token in _TOKEN.findall(query):
        match = _STATEMENT.match(token)
        if match is None:
            raise InvalidSearchError("free-text terms are not supported by this emulator")
        negated, raw_keyword, operator, quoted, bare = match.groups()
        keyword = ALIASES.get(raw_keyword.lower(), raw_keyword.lower())
        value = (quoted if quoted is not None else bare).strip()
        if keyword in ("type", "order_by", "sort") and (operator != ":" or negated):
            raise InvalidSearchError(f"{keyword} takes one value after a colon")
        if keyword == "type":
            types.append(value.lower())
        elif keyword == "order_by":
            if value.lower() not in ORDER_BY:
                raise InvalidSearchError(f"results cannot be ordered by {value}")
            order_by = ORDER_BY[value.lower()]
        elif keyword == "sort":
            sort = value.lower()
        elif keyword not in FILTERS:
            raise InvalidSearchError(f"the keyword {keyword} is not supported by this emulator")
        elif operator != ":" and keyword in EQUALITY_ONLY:
            raise InvalidSearchError(f"{keyword} cannot be compared with {operator}")
        else:
            statements.append(Statement(keyword, operator, value, bool(negated)))
    if set(types) != {"ticket"}:
        raise InvalidSearchError("this emulator answers type:ticket searches only")
    return TicketSearch(tuple(statements), order_by, sort)


class Requesters:
    """The user ids a ``requester`` value names (id, e-mail, ``me``, ``none``, name, +phone)."""

    def __init__(self, store: ZendeskStore) -> None:
        self.store = store
        self.cache: dict[str, frozenset[int]] = {}

    def ids(self, value: str) -> frozenset[int]:
        key = value.strip().lower()
        found = self.cache.get(key)
        if found is None:
            found = self._resolve(value.strip(), key)
            self.cache[key] = found
        return found

    def _resolve(self, value: str, key: str) -> frozenset[int]:
        if key.isdigit():
            return frozenset((int(key),))
        if key == "me":
            return frozenset((self.store.agent_id,))
        if key == "none" or not key:
            return frozenset()
        if "@" in key:
            user = self.store.find_user_by_email(value)
            return frozenset(() if user is None else (user["id"],))
        return frozenset(user["id"] for user in self.store.search_users(value))


def _compare(rank: int, target: int, operator: str) -> bool:
    if operator == ":":
        return rank == target
    if operator == "<":
        return rank < target
    if operator == ">":
        return rank > target
    if operator == "<=":
        return rank <= target
    return rank >= target


def _ranked(value: str | None, statement: Statement, order: tuple[str, ...]) -> bool:
    wanted = statement.value.lower()
    if wanted == "none" and statement.operator == ":":
        return value is None
    if value is None or wanted not in order:
        return False
    return _compare(order.index(value), order.index(wanted), statement.operator)


def time_span(value: str, now: float) -> tuple[int, int]:
    """``[start, end)`` in Unix seconds: a whole UTC day for ``YYYY-MM-DD``, one second for a
    date-time or a relative time (``4hours`` ago)."""
    text = value.strip().lower()
    day = _DAY.match(text)
    if day is not None:
        year, month, date = (int(part) for part in day.groups())
        try:
            start = datetime(year, month, date, tzinfo=UTC)
        except ValueError:
            raise InvalidSearchError(f"{value} is not a date") from None
        return int(start.timestamp()), int(start.timestamp()) + 86_400
    relative = _RELATIVE.match(text)
    if relative is not None:
        moment = int(now) - int(relative.group(1)) * UNIT_SECONDS[relative.group(2)]
        return moment, moment + 1
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidSearchError(f"{value} is not a date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    moment = int(parsed.timestamp())
    return moment, moment + 1


def _dated(stamp: str, statement: Statement, now: float) -> bool:
    moment = epoch_of(stamp)
    start, end = time_span(statement.value, now)
    operator = statement.operator
    if operator == ":":
        return start <= moment < end
    if operator == "<":
        return moment < start
    if operator == ">":
        return moment >= end
    if operator == "<=":
        return moment < end
    return moment >= start


def _holds(statement: Statement, fields: Record, requesters: Requesters, now: float) -> bool:
    keyword = statement.keyword
    if keyword == "requester":
        return int(fields["requester_id"]) in requesters.ids(statement.value)
    if keyword == "status":
        return _ranked(fields["status"], statement, STATUSES)
    if keyword == "priority":
        return _ranked(fields["priority"], statement, PRIORITIES)
    if keyword == "ticket_type":
        wanted = statement.value.lower()
        return fields["type"] is None if wanted == "none" else fields["type"] == wanted
    if keyword == "tags":
        words = statement.value.lower().split()
        tags = {tag.lower() for tag in fields["tags"]}
        return not tags if words == ["none"] else bool(words) and all(w in tags for w in words)
    return _dated(fields[f"{keyword}_at"], statement, now)


def _keyword_holds(
    statements: list[Statement], fields: Record, requesters: Requesters, now: float
) -> bool:
    """Repeated equality values of one keyword are ORed, its comparisons (a range) ANDed, and
    its excluded values (``-keyword:value``) all ruled out."""
    equal = [s for s in statements if s.operator == ":" and not s.negated]
    bounds = [s for s in statements if s.operator != ":" and not s.negated]
    excluded = [s for s in statements if s.negated]
    return (
        (not equal or any(_holds(s, fields, requesters, now) for s in equal))
        and all(_holds(s, fields, requesters, now) for s in bounds)
        and not any(_holds(s, fields, requesters, now) for s in excluded)
    )


def search_tickets(
    store: ZendeskStore, search: TicketSearch, *, indexed_until: float, now: float
) -> list[Record]:
    """The indexed fields of every ticket ``search`` matches, as the index saw them at
    ``indexed_until`` (tickets first written later are not found), in id order.

    Requester values narrow the candidates through the requester index; a query without one
    scans the account's tickets."""
    requesters = Requesters(store)
    grouped = search.keywords()
    named = [
        s for s in grouped.get("requester", []) if s.operator == ":" and not s.negated
    ]
    if named:
        candidates: set[int] = set()
        for statement in named:
            for user_id in requesters.ids(statement.value):
                candidates.update(ticket["id"] for ticket in store.requested_tickets(user_id))
        ticket_ids = sorted(candidates)
    else:
        ticket_ids = list(store.ticket_ids())
    found: list[Record] = []
    for ticket_id in ticket_ids:
        fields = store.searchable_ticket(ticket_id, indexed_until)
        if fields is not None and all(
            _keyword_holds(statements, fields, requesters, now)
            for statements in grouped.values()
        ):
            found.append(fields)
    return found


def _rank(value: str | None, order: tuple[str, ...]) -> int:
    return -1 if value is None or value not in order else order.index(value)


def sort_key(field: str | None) -> Callable[[Record], SortKey]:
    """The ordering of results for ``sort_by`` (None: relevance, emulated by ticket id)."""
    if field in ("created_at", "updated_at"):
        name = field
        return lambda fields: (fields[name], fields["id"])
    if field == "priority":
        return lambda fields: (_rank(fields["priority"], PRIORITIES), fields["id"])
    if field == "status":
        return lambda fields: (_rank(fields["status"], STATUSES), fields["id"])
    if field == "ticket_type":
        return lambda fields: (fields["type"] or "", fields["id"])
    return lambda fields: (fields["id"],)
