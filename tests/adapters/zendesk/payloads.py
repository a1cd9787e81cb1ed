"""Every real Zendesk payload the adapter's parse functions read, for the shared contract suite.

``(payload path, function parsing that whole payload into models)``. Not here: the error bodies
(the adapter maps statuses, never parses them) and ``user_identity_object.json`` (a lone identity
object, only ever read as part of a user: see ``test_parse``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.zendesk.parse import (
    parse_audits,
    parse_comments,
    parse_search_tickets,
    parse_ticket,
    parse_tickets,
    parse_user,
    parse_users,
    records,
    ticket_of,
)

COMMENTS_TICKET_ID = "1"
"""Comments do not name their ticket: the adapter passes the id it asked for."""


def _search_users(body: Any) -> object:
    return [parse_user(result) for result in records(body, "results")]


CASES: list[tuple[str, Callable[[Any], object]]] = [
    ("zendesk/user_show.json", lambda body: parse_user(body["user"])),
    ("zendesk/users_show_many.json", parse_users),
    ("zendesk/users_cursor_page.json", parse_users),
    ("zendesk/search_users_result.json", _search_users),
    ("zendesk/search_export_users_cursor_page.json", _search_users),
    ("zendesk/ticket_show.json", lambda body: parse_ticket(body["ticket"])),
    ("zendesk/tickets_show_many.json", parse_tickets),
    ("zendesk/tickets_cursor_page_first.json", parse_tickets),
    ("zendesk/tickets_cursor_page_next.json", parse_tickets),
    ("zendesk/search_tickets_result.json", parse_search_tickets),
    ("zendesk/ticket_audits_cursor_page.json", parse_audits),
    ("zendesk/ticket_comments.json", lambda body: parse_comments(body, COMMENTS_TICKET_ID)),
    ("zendesk/ticket_create_response.json", lambda body: parse_ticket(ticket_of(body))),
    ("zendesk/user_create_response.json", lambda body: parse_user(body["user"])),
]
