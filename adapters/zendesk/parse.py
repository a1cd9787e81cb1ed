"""Zendesk Support JSON → canonical models (pure functions, no I/O).

A payload that does not have the documented shape raises ``KeyError`` / ``TypeError`` /
``ValueError``; the adapter turns those into ``UpstreamBadResponse``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.models import Customer, Ticket, TicketAudit, TicketComment, TicketEvent
from adapters.zendesk.requests import CHANNEL_TAG_PREFIX, KEY_METADATA, phone_digits

KIND = "zendesk"
END_USER = "end-user"
API_CHANNEL = "api"

Json = Mapping[str, Any]


def record_id(value: Any) -> str:
    """A Zendesk id (an integer; a numeric string is tolerated) as a string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"an id must be an integer, not {type(value).__name__}")
    text = str(value)
    if not text.isdigit():
        raise ValueError("an id must be numeric")
    return text


def optional_id(value: Any) -> str | None:
    return None if value is None else record_id(value)


def parse_time(value: Any) -> datetime:
    """``2023-09-18T23:34:37Z`` as an aware datetime (UTC when the vendor sends no offset)."""
    if not isinstance(value, str):
        raise TypeError(f"a timestamp must be a string, not {type(value).__name__}")
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def optional_time(value: Any) -> datetime | None:
    return None if value is None else parse_time(value)


def optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value.strip() or None


def records(body: Json, name: str) -> list[Json]:
    """The list ``body[name]`` of JSON objects."""
    items = body[name]
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise TypeError(f"{name} must be a list of objects")
    return items


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """Zendesk's single ``name``: all but the last word are the first name, the last word the
    last name; a single word is a first name only."""
    words = (name or "").split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return " ".join(words[:-1]), words[-1]


def identities_by_user(identities: Iterable[Json]) -> dict[str, list[Json]]:
    """Sideloaded ``identities`` grouped by their ``user_id``."""
    grouped: dict[str, list[Json]] = {}
    for identity in identities:
        grouped.setdefault(record_id(identity["user_id"]), []).append(identity)
    return grouped


def _unique(values: Iterable[str], key: Callable[[str], str]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        marker = key(value)
        if marker and marker not in seen:
            seen.add(marker)
            kept.append(value)
    return tuple(kept)


def _reference(user: Json, attribute: str) -> str | None:
    if attribute.startswith("user_fields."):
        fields = user.get("user_fields") or {}
        if not isinstance(fields, Mapping):
            raise TypeError("user_fields must be an object")
        value = fields.get(attribute.removeprefix("user_fields."))
    else:
        value = user.get(attribute)
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def is_end_user(user: Json) -> bool:
    """A customer: an active end user (agents and admins are staff; deleted users inactive)."""
    return user.get("role") == END_USER and user.get("active", True) is not False


def parse_user(
    user: Json,
    identities: Sequence[Json] = (),
    *,
    source: str = KIND,
    references: Mapping[str, str] | None = None,
) -> Customer:
    """A Zendesk user (and its identities) as a :class:`Customer`: e-mails and phones from the
    user's ``email`` / ``phone`` and its ``email`` / ``phone_number`` identities, the ``name``
    split in two, and ``references`` (user attribute → source name) as cross-references."""
    name = optional_text(user.get("name"))
    first, last = split_name(name)
    emails = [optional_text(user.get("email"))]
    phones = [optional_text(user.get("phone"))]
    for identity in identities:
        kind = identity["type"]
        if kind == "email":
            emails.append(optional_text(identity["value"]))
        elif kind == "phone_number":
            phones.append(optional_text(identity["value"]))
    refs = tuple(
        (target, value)
        for attribute, target in (references or {}).items()
        if (value := _reference(user, attribute)) is not None
    )
    return Customer(
        source=source,
        kind=KIND,
        id=record_id(user["id"]),
        first_name=first,
        last_name=last,
        emails=_unique((e for e in emails if e), str.casefold),
        phones=_unique((p for p in phones if p), phone_digits),
        created_at=optional_time(user.get("created_at")),
        updated_at=optional_time(user.get("updated_at")),
        references=refs,
    )


def parse_users(
    body: Json,
    *,
    source: str = KIND,
    references: Mapping[str, str] | None = None,
    end_users_only: bool = False,
) -> list[Customer]:
    """The ``users`` of a list answer (show_many, search, cursor page, incremental export),
    each with its sideloaded ``identities`` when the answer carries them."""
    identities = identities_by_user(records(body, "identities")) if "identities" in body else {}
    customers: list[Customer] = []
    for user in records(body, "users"):
        if end_users_only and not is_end_user(user):
            continue
        user_identities = identities.get(record_id(user["id"]), [])
        customers.append(
            parse_user(user, user_identities, source=source, references=references)
        )
    return customers


def order_reference(ticket: Json, field_id: int | None) -> str | None:
    """The value of the custom field ``field_id`` (the order a ticket is about), if set."""
    if field_id is None:
        return None
    fields = ticket.get("custom_fields")
    if fields is None:
        fields = ticket.get("fields") or []
    if not isinstance(fields, list):
        raise TypeError("custom_fields must be a list")
    for custom in fields:
        if not isinstance(custom, Mapping):
            raise TypeError("a custom field must be an object")
        if str(custom.get("id")) == str(field_id):
            value = custom.get("value")
            if value is None or isinstance(value, bool | Mapping | list):
                return None
            return str(value).strip() or None
    return None


def ticket_channel(via_channel: str | None, tags: Sequence[str]) -> str | None:
    """Where the customer asked: ``via.channel``, except for a ticket created through the API
    (``api``, or no via) that carries a ``channel_<x>`` tag (how c360 writes it, see
    :data:`~adapters.zendesk.requests.CHANNEL_TAG_PREFIX`): then ``<x>``."""
    if via_channel is None or via_channel == API_CHANNEL:
        for tag in tags:
            if tag.startswith(CHANNEL_TAG_PREFIX) and len(tag) > len(CHANNEL_TAG_PREFIX):
                return tag.removeprefix(CHANNEL_TAG_PREFIX)
    return via_channel


def parse_ticket(
    ticket: Json, *, source: str = KIND, order_field_id: int | None = None
) -> Ticket:
    """A Zendesk ticket: subject, status, priority, channel (see :func:`ticket_channel`),
    requester, times, tags and the order reference from the configured custom field."""
    via = ticket.get("via") or {}
    if not isinstance(via, Mapping):
        raise TypeError("via must be an object")
    tags = ticket.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise TypeError("tags must be a list of strings")
    status = ticket["status"]
    if not isinstance(status, str):
        raise TypeError("status must be a string")
    subject = optional_text(ticket.get("subject")) or optional_text(ticket.get("raw_subject"))
    return Ticket(
        source=source,
        kind=KIND,
        id=record_id(ticket["id"]),
        subject=subject or "",
        status=status,
        priority=optional_text(ticket.get("priority")),
        channel=ticket_channel(optional_text(via.get("channel")), tags),
        requester_id=record_id(ticket["requester_id"]),
        created_at=parse_time(ticket["created_at"]),
        updated_at=optional_time(ticket.get("updated_at")),
        order_reference=order_reference(ticket, order_field_id),
        tags=tuple(tags),
    )


def parse_tickets(
    body: Json, *, source: str = KIND, order_field_id: int | None = None
) -> list[Ticket]:
    """The ``tickets`` of a list answer (show_many, requested, cursor page)."""
    return [
        parse_ticket(ticket, source=source, order_field_id=order_field_id)
        for ticket in records(body, "tickets")
    ]


def search_count(body: Json) -> int:
    """The ``count`` of a search answer: every match, even past the 1,000 it returns."""
    count = body["count"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise TypeError("count must be a non-negative integer")
    return count


def parse_search_tickets(
    body: Json, *, source: str = KIND, order_field_id: int | None = None
) -> list[Ticket]:
    """The tickets among the ``results`` of a ``search.json`` answer (``result_type`` ticket)."""
    return [
        parse_ticket(result, source=source, order_field_id=order_field_id)
        for result in records(body, "results")
        if result.get("result_type", "ticket") == "ticket"
    ]


def parse_comment(comment: Json, ticket_id: str) -> TicketComment:
    """One comment of ticket ``ticket_id`` (comments do not name their ticket)."""
    body = comment.get("body")
    if not isinstance(body, str) or not body:
        body = comment.get("plain_body")
    if not isinstance(body, str):
        raise TypeError("a comment needs a body")
    public = comment.get("public", True)
    if not isinstance(public, bool):
        raise TypeError("public must be a boolean")
    return TicketComment(
        id=record_id(comment["id"]),
        ticket_id=ticket_id,
        author_id=optional_id(comment.get("author_id")),
        body=body,
        public=public,
        created_at=parse_time(comment["created_at"]),
    )


def parse_comments(body: Json, ticket_id: str) -> list[TicketComment]:
    return [parse_comment(comment, ticket_id) for comment in records(body, "comments")]


def _event_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, Mapping):
        raise TypeError("an event value must be a string or a list")
    return str(value)


def parse_event(event: Json) -> TicketEvent:
    kind = event["type"]
    if not isinstance(kind, str):
        raise TypeError("an event type must be a string")
    public = event.get("public") if kind in ("Comment", "VoiceComment") else None
    if public is not None and not isinstance(public, bool):
        raise TypeError("public must be a boolean")
    return TicketEvent(
        type=kind,
        field_name=optional_text(event.get("field_name")),
        value=_event_value(event.get("value")),
        previous_value=_event_value(event.get("previous_value")),
        public=public,
    )


def parse_audit(audit: Json, ticket_id: str | None = None) -> TicketAudit:
    """One audit: who changed what when; list values (tags) are joined by spaces. Audits name
    their ticket; ``ticket_id`` is the fallback when one does not."""
    events = audit.get("events") or []
    if not isinstance(events, list):
        raise TypeError("events must be a list")
    return TicketAudit(
        id=record_id(audit["id"]),
        ticket_id=record_id(audit.get("ticket_id", ticket_id)),
        author_id=optional_id(audit.get("author_id")),
        created_at=parse_time(audit["created_at"]),
        events=tuple(parse_event(event) for event in events),
    )


def parse_audits(body: Json, ticket_id: str | None = None) -> list[TicketAudit]:
    return [parse_audit(audit, ticket_id) for audit in records(body, "audits")]


def cursor_next(body: Json) -> str | None:
    """The ``page[after]`` of the next cursor page, or None on the last page."""
    meta = body["meta"]
    if not isinstance(meta, Mapping):
        raise TypeError("meta must be an object")
    if meta["has_more"] is not True:
        return None
    after = meta["after_cursor"]
    if not isinstance(after, str) or not after:
        raise ValueError("has_more without an after_cursor")
    return after


def changed_since(customer: Customer, since: datetime | None) -> bool:
    """Whether a user read from a list was updated (else created) at or after ``since``;
    always, without ``since`` or without a time to compare."""
    if since is None:
        return True
    stamp = customer.updated_at or customer.created_at
    if stamp is None:
        return True
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return stamp >= since


def export_next(body: Json) -> str | None:
    """The ``cursor`` of the next incremental export page, or None at ``end_of_stream``."""
    end = body["end_of_stream"]
    if not isinstance(end, bool):
        raise TypeError("end_of_stream must be a boolean")
    if end:
        return None
    after = body["after_cursor"]
    if not isinstance(after, str) or not after:
        raise ValueError("a page before the end of the stream needs an after_cursor")
    return after


def search_has_next(body: Json) -> bool:
    """Whether an offset-paginated answer has a ``next_page``."""
    return body.get("next_page") is not None


# -- writes -------------------------------------------------------------------------------------
def user_id(body: Json) -> str:
    """The id of the ``user`` a users write answered."""
    user = body["user"]
    if not isinstance(user, Mapping):
        raise TypeError("user must be an object")
    return record_id(user["id"])


def ticket_of(body: Json) -> Json:
    """The ``ticket`` object of a show, create or update answer."""
    ticket = body["ticket"]
    if not isinstance(ticket, Mapping):
        raise TypeError("ticket must be an object")
    return ticket


def audit_custom(audit: Json) -> Json:
    """The ``metadata.custom`` of an audit (what a write's ``metadata`` carried), {} if none."""
    metadata = audit.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise TypeError("metadata must be an object")
    custom = metadata.get("custom") or {}
    if not isinstance(custom, Mapping):
        raise TypeError("metadata.custom must be an object")
    return custom


def audits_carry_key(body: Json, key: str) -> bool:
    """Whether an audit of this page was written with ``key`` (:data:`KEY_METADATA` in its
    ``metadata.custom``, or one level down under ``custom`` should a write have nested it)."""
    for audit in records(body, "audits"):
        custom = audit_custom(audit)
        nested = custom.get("custom")
        if custom.get(KEY_METADATA) == key or (
            isinstance(nested, Mapping) and nested.get(KEY_METADATA) == key
        ):
            return True
    return False
