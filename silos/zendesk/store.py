"""In-memory records of the emulated Zendesk account, kept exactly in Zendesk's JSON shape.

Everything is indexed (users by id, e-mail, external id, phone digits and words; tickets by id and
requester; comments and audits by ticket, sorted by ``(created_at, id)``), so no request scans a
table. Ids are deterministic: users, identities, audits, events and comments draw from counters
whose bases come from ``seed``; tickets are numbered 1, 2, 3... as in a real account.

Every ticket write (create, and each update that changes something) is also recorded for the
search index as ``(written at, the searchable fields then)``, ``written at`` read from ``clock``
(Unix seconds): the Search API sees a ticket as it was at the last write old enough to be
indexed (see :mod:`silos.zendesk.search`).
"""

from __future__ import annotations

import random
import re
import time
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from silos.zendesk.errors import (
    ParameterMissingError,
    ZendeskNotFoundError,
    ZendeskValidationError,
)
from silos.zendesk.query import (
    Term,
    looks_like_phone,
    normalize_email,
    normalize_external_id,
    parse_query,
    phone_keys,
    words,
)

Record = dict[str, Any]

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("problem", "incident", "question", "task")
ROLES = ("end-user", "agent", "admin")
AGENT_ROLES = frozenset(("agent", "admin"))
MESSAGING_CHANNELS = frozenset(("native_messaging", "messaging"))
ACCOUNT_CREATED = datetime(2020, 1, 6, 14, 0, tzinfo=UTC)
MAX_ID = 2**63 - 1

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
SEARCHABLE_TICKET_FIELDS = (
    "id", "requester_id", "status", "priority", "type", "tags", "created_at", "updated_at"
)


def zendesk_time(at: datetime | None) -> str:
    """``2023-09-18T23:34:37Z``; ``None`` is now, a naive datetime is taken as UTC."""
    if at is None:
        at = datetime.now(UTC)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    else:
        at = at.astimezone(UTC)
    return at.isoformat(timespec="seconds")[:19] + "Z"


def epoch_of(stamp: str) -> int:
    """Unix seconds of a ``2023-09-18T23:34:37Z`` timestamp."""
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def html_body(text: str) -> str:
    """The ``html_body`` Zendesk renders for a plain-text comment."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = escape(paragraph).split("\n")
        paragraphs.append('<p dir="auto">' + "<br>".join(lines) + "</p>")
    return '<div class="zd-comment" dir="auto">' + "".join(paragraphs) + "</div>"


def _time_key(record: Record) -> tuple[str, int]:
    return (record["created_at"], record["id"])


def _int_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _tags(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ZendeskValidationError.one(field, "Tags: is invalid", "InvalidValue")
    return list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        label = field.capitalize()
        raise ZendeskValidationError.one(field, f"{label}: is invalid", "InvalidValue")
    return str(value)


def _optional_choice(value: Any, field: str, allowed: tuple[str, ...]) -> str | None:
    return None if value is None else _choice(value, field, allowed)


def _comment_of(ticket: Record) -> tuple[Record, str | None]:
    """The ``comment`` object of a ticket body and its non-blank ``body`` text, if any."""
    comment = ticket.get("comment")
    if not isinstance(comment, dict):
        return {}, None
    text = comment.get("body")
    return comment, text if isinstance(text, str) and text.strip() else None


def _custom_metadata(ticket: Record) -> Record:
    """The write-only ``metadata`` of a ticket create/update body: Zendesk records it as the
    ``custom`` part of the audit's (and its comment's) ``metadata``."""
    metadata = ticket.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ZendeskValidationError.one("metadata", "Metadata: is invalid", "InvalidValue")
    return dict(metadata)


def _root(body: Any, name: str) -> Record:
    root = body.get(name) if isinstance(body, dict) else None
    if not isinstance(root, dict):
        raise ParameterMissingError(name)
    return root


class ZendeskStore:
    """The records of one Zendesk account; ``create_*`` / ``update_ticket`` take Zendesk's bodies.

    The account owner (the agent whose API token the silo accepts) is created first; tickets
    created through the API without a requester are requested by it, and update comments without
    an ``author_id`` are written by it.
    """

    def __init__(
        self,
        seed: int = 0,
        order_number_field_id: int = 360001234567,
        subdomain: str = "c360-sandbox",
        agent_email: str = "agent@c360-sandbox.example",
        agent_name: str = "Sandbox Agent",
        clock: Callable[[], float] = time.time,
    ) -> None:
        rng = random.Random(seed)
        self.clock = clock
        self.subdomain = subdomain
        self.order_number_field_id = order_number_field_id
        self._base_url = f"https://{subdomain}.zendesk.com/api/v2"
        self._support_address = f"support@{subdomain}.zendesk.com"
        self._next_user_id = 360_000_000_000 + rng.randrange(1, 10**9) * 10
        self._user_step = rng.randrange(7, 64)
        self._next_event_id = 360_000_000_000 + rng.randrange(1, 10**9) * 10
        self._event_step = rng.randrange(7, 64)
        self._next_ticket_id = 1
        self.brand_id = 360_000_000_000 + rng.randrange(10**9)
        self.ticket_form_id = 360_000_000_000 + rng.randrange(10**9)
        status_base = 360_000_000_000 + rng.randrange(10**9)
        self.custom_status_ids = {status: status_base + i for i, status in enumerate(STATUSES)}

        self._users: dict[int, Record] = {}
        self._identities: dict[int, list[Record]] = {}
        self._by_email: dict[str, int] = {}
        self._by_external_id: dict[str, int] = {}
        self._by_phone: dict[str, list[int]] = {}
        self._by_name_word: dict[str, list[int]] = {}
        self._by_email_word: dict[str, list[int]] = {}
        self._by_role: dict[str, list[int]] = {}
        self._by_updated: list[tuple[int, int]] = []

        self._tickets: dict[int, Record] = {}
        self._requested: dict[int, list[Record]] = {}
        self._tickets_by_external_id: dict[str, list[Record]] = {}
        self._comments: dict[int, list[Record]] = {}
        self._audits: dict[int, list[Record]] = {}
        self._latest_audit: dict[int, Record] = {}
        self._first_comment_public: dict[int, bool] = {}
        self._search_times: dict[int, list[float]] = {}
        self._search_fields: dict[int, list[Record]] = {}
        self._api_via: Record = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}
        self._metadata: Record = {"system": {}, "custom": {}}

        agent = self.create_user(
            {"user": {"name": agent_name, "email": agent_email, "role": "admin", "verified": True}},
            at=ACCOUNT_CREATED,
        )
        self.agent_id: int = agent["id"]

    # -- ids ------------------------------------------------------------------------------
    def _user_id(self) -> int:
        self._next_user_id += self._user_step
        return self._next_user_id

    def _event_id(self) -> int:
        self._next_event_id += self._event_step
        return self._next_event_id

    # -- users ----------------------------------------------------------------------------
    def create_user(self, body: Record, *, at: datetime | None = None) -> Record:
        """``POST /api/v2/users.json``: ``{"user": {"name", "email"?, "phone"?, ...}}``.

        Raises :class:`ZendeskValidationError` (422) for a missing name, a malformed or taken
        e-mail, a taken external id or an unknown role. E-mail and phone get identities.
        """
        user = _root(body, "user")
        name = user.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ZendeskValidationError.one(
                "name", "Name: is too short (minimum one character)", "InvalidValue"
            )
        email = user.get("email") or None
        email_key: str | None = None
        if email is not None:
            if not isinstance(email, str) or _EMAIL.match(email.strip()) is None:
                raise ZendeskValidationError.one(
                    "email", f"Email: {email} is not properly formatted", "InvalidFormat"
                )
            email = email.strip()
            email_key = normalize_email(email)
            if email_key in self._by_email:
                raise ZendeskValidationError.one(
                    "email",
                    f"Email: {email} is already being used by another user",
                    "DuplicateValue",
                )
        raw_external_id = user.get("external_id")
        external_id = None if raw_external_id in (None, "") else str(raw_external_id)
        external_key: str | None = None
        if external_id is not None:
            external_key = normalize_external_id(external_id)
            if external_key in self._by_external_id:
                raise ZendeskValidationError.one(
                    "external_id", "External: has already been taken", "DuplicateValue"
                )
        phone = user.get("phone") or None
        if phone is not None and not isinstance(phone, str):
            raise ZendeskValidationError.one("phone", f"Phone: {phone} is invalid", "InvalidValue")
        role = _choice(user.get("role", "end-user"), "role", ROLES)
        tags = _tags(user.get("tags"), "tags")
        user_fields = user.get("user_fields")
        if not isinstance(user_fields, dict):
            user_fields = {}
        verified = bool(user.get("verified", False))
        end_user = role == "end-user"
        stamp = zendesk_time(at)
        user_id = self._user_id()
        record: Record = {
            "id": user_id,
            "url": f"{self._base_url}/users/{user_id}.json",
            "name": name.strip(),
            "email": email,
            "created_at": stamp,
            "updated_at": stamp,
            "time_zone": user.get("time_zone", "Eastern Time (US & Canada)"),
            "iana_time_zone": "America/New_York",
            "phone": phone,
            "shared_phone_number": None if phone is None else False,
            "photo": None,
            "locale_id": 1,
            "locale": "en-US",
            "organization_id": None,
            "role": role,
            "verified": verified,
            "external_id": external_id,
            "tags": tags,
            "alias": user.get("alias"),
            "active": True,
            "shared": False,
            "shared_agent": False,
            "last_login_at": None,
            "two_factor_auth_enabled": False,
            "signature": None,
            "details": user.get("details"),
            "notes": user.get("notes"),
            "role_type": None,
            "custom_role_id": None,
            "moderator": not end_user,
            "ticket_restriction": "requested" if end_user else None,
            "only_private_comments": False,
            "restricted_agent": end_user,
            "suspended": False,
            "default_group_id": None,
            "report_csv": not end_user,
            "user_fields": user_fields,
        }
        identities: list[Record] = []
        if email is not None:
            identities.append(self._identity(user_id, "email", email, verified, stamp))
        if phone is not None:
            identities.append(self._identity(user_id, "phone_number", phone, False, stamp))

        self._users[user_id] = record
        self._identities[user_id] = identities
        if email_key is not None:
            self._by_email[email_key] = user_id
            for word in set(words(email_key)):
                self._by_email_word.setdefault(word, []).append(user_id)
        if external_key is not None:
            self._by_external_id[external_key] = user_id
        if phone is not None:
            for key in phone_keys(phone):
                self._by_phone.setdefault(key, []).append(user_id)
        for word in set(words(record["name"])):
            self._by_name_word.setdefault(word, []).append(user_id)
        self._by_role.setdefault(role, []).append(user_id)
        insort(self._by_updated, (epoch_of(stamp), user_id))
        return record

    def create_or_update_user(
        self, body: Record, *, at: datetime | None = None
    ) -> tuple[Record, bool]:
        """``POST /api/v2/users/create_or_update.json``: the user matched by ``external_id``,
        else by ``email`` (any of its e-mail identities), updated with the body's values; a new
        user (``role`` end-user unless given) when nothing matches. Returns ``(user, updated)``.

        An update sets the ``name``, adds a new ``email`` or ``phone`` as an identity (the
        user's ``email`` / ``phone`` stay the primary ones unless they were empty) and sets the
        ``external_id``; a value another user holds is refused (422 ``DuplicateValue``), as on
        create. ``role`` is only read on create (this emulator never changes a role).
        """
        user = _root(body, "user")
        raw_external_id = user.get("external_id")
        external_id = None if raw_external_id in (None, "") else str(raw_external_id)
        email = user.get("email") or None
        matched: Record | None = None
        if external_id is not None:
            matched = self.find_user_by_external_id(external_id)
        if matched is None and isinstance(email, str):
            matched = self.find_user_by_email(email)
        if matched is None:
            return self.create_user(body, at=at), False
        self._update_user(matched, user, external_id, at)
        return matched, True

    def _update_user(
        self, record: Record, user: Record, external_id: str | None, at: datetime | None
    ) -> None:
        user_id: int = record["id"]
        stamp = zendesk_time(at)
        changed = False
        email = user.get("email") or None
        if email is not None:
            if not isinstance(email, str) or _EMAIL.match(email.strip()) is None:
                raise ZendeskValidationError.one(
                    "email", f"Email: {email} is not properly formatted", "InvalidFormat"
                )
            email = email.strip()
            owner = self._by_email.get(normalize_email(email))
            if owner is not None and owner != user_id:
                raise ZendeskValidationError.one(
                    "email",
                    f"Email: {email} is already being used by another user",
                    "DuplicateValue",
                )
        if external_id is not None:
            owner = self._by_external_id.get(normalize_external_id(external_id))
            if owner is not None and owner != user_id:
                raise ZendeskValidationError.one(
                    "external_id", "External: has already been taken", "DuplicateValue"
                )
        phone = user.get("phone") or None
        if phone is not None and not isinstance(phone, str):
            raise ZendeskValidationError.one("phone", f"Phone: {phone} is invalid", "InvalidValue")
        name = user.get("name")
        if isinstance(name, str) and name.strip() and name.strip() != record["name"]:
            for word in set(words(record["name"])):
                self._by_name_word[word].remove(user_id)
            record["name"] = name.strip()
            for word in set(words(record["name"])):
                self._by_name_word.setdefault(word, []).append(user_id)
            changed = True
        if email is not None and normalize_email(email) not in self._by_email:
            key = normalize_email(email)
            primary = record["email"] is None
            if primary:
                record["email"] = email
            identity = self._identity(user_id, "email", email, False, stamp)
            identity["primary"] = primary
            self._identities.setdefault(user_id, []).append(identity)
            self._by_email[key] = user_id
            for word in set(words(key)):
                self._by_email_word.setdefault(word, []).append(user_id)
            changed = True
        if phone is not None and not any(
            i["type"] == "phone_number" and i["value"] == phone
            for i in self._identities.get(user_id, [])
        ):
            primary = record["phone"] is None
            if primary:
                record["phone"] = phone
                record["shared_phone_number"] = False
            identity = self._identity(user_id, "phone_number", phone, False, stamp)
            identity["primary"] = primary
            self._identities.setdefault(user_id, []).append(identity)
            for key in phone_keys(phone):
                self._by_phone.setdefault(key, []).append(user_id)
            changed = True
        if external_id is not None and external_id != record["external_id"]:
            if record["external_id"] is not None:
                del self._by_external_id[normalize_external_id(record["external_id"])]
            record["external_id"] = external_id
            self._by_external_id[normalize_external_id(external_id)] = user_id
            changed = True
        if changed and stamp != record["updated_at"]:
            self._by_updated.remove((epoch_of(record["updated_at"]), user_id))
            record["updated_at"] = stamp
            insort(self._by_updated, (epoch_of(stamp), user_id))

    def _identity(self, user_id: int, kind: str, value: str, verified: bool, stamp: str) -> Record:
        identity_id = self._event_id()
        return {
            "url": f"{self._base_url}/users/{user_id}/identities/{identity_id}.json",
            "id": identity_id,
            "user_id": user_id,
            "type": kind,
            "value": value,
            "verified": verified,
            "primary": True,
            "created_at": stamp,
            "updated_at": stamp,
            "undeliverable_count": 0,
            "deliverable_state": "deliverable",
        }

    def get_user(self, user_id: int) -> Record | None:
        return self._users.get(user_id)

    def find_user_by_external_id(self, external_id: str) -> Record | None:
        user_id = self._by_external_id.get(normalize_external_id(external_id))
        return None if user_id is None else self._users[user_id]

    def find_user_by_email(self, email: str) -> Record | None:
        user_id = self._by_email.get(normalize_email(email))
        return None if user_id is None else self._users[user_id]

    def users_changed_after(
        self, after: tuple[int, int], until: int, limit: int
    ) -> tuple[list[Record], bool]:
        """Up to ``limit`` users whose ``(updated_at epoch, id)`` sorts after ``after`` and whose
        ``updated_at`` is at most ``until`` (epoch seconds), oldest first, and whether more follow
        (the incremental export's order)."""
        start = bisect_right(self._by_updated, after)
        end = bisect_right(self._by_updated, (until, MAX_ID))
        keys = self._by_updated[start : min(end, start + limit)]
        return [self._users[user_id] for _, user_id in keys], start + limit < end

    def users_with_roles(self, roles: Iterable[str]) -> list[Record]:
        """Every user with one of ``roles``, by id (List Users' order)."""
        wanted = frozenset(roles)
        ids = sorted({i for role in wanted for i in self._by_role.get(role, ())})
        return [self._users[user_id] for user_id in ids
                if self._users[user_id]["role"] in wanted]

    def all_users(self) -> list[Record]:
        """Every user, by id."""
        return [self._users[user_id] for user_id in sorted(self._users)]

    def identities(self, user_id: int) -> list[Record]:
        return self._identities.get(user_id, [])

    def search_users(self, query: str) -> list[Record]:
        """Users matching every term of ``query`` (see :mod:`silos.zendesk.query`), by id."""
        matched: set[int] | None = None
        for term in parse_query(query):
            ids = self._term_ids(term)
            matched = ids if matched is None else matched & ids
            if not matched:
                return []
        if matched is None:
            return []
        return [self._users[user_id] for user_id in sorted(matched)]

    def _term_ids(self, term: Term) -> set[int]:
        value = term.value.strip()
        if term.field == "email" or (term.field is None and "@" in value):
            user_id = self._by_email.get(normalize_email(value))
            return set() if user_id is None else {user_id}
        if term.field == "external_id":
            user_id = self._by_external_id.get(normalize_external_id(value))
            return set() if user_id is None else {user_id}
        if term.field == "role":
            return set(self._by_role.get(value.lower(), ()))
        if term.field == "phone" or (term.field is None and looks_like_phone(value)):
            found: set[int] = set()
            for key in phone_keys(value):
                found.update(self._by_phone.get(key, ()))
            return found
        matched: set[int] | None = None
        for word in words(value):
            ids = set(self._by_name_word.get(word, ()))
            if term.field is None:
                ids.update(self._by_email_word.get(word, ()))
            matched = ids if matched is None else matched & ids
            if not matched:
                return set()
        return matched or set()

    # -- tickets --------------------------------------------------------------------------
    def create_ticket(self, body: Record, *, at: datetime | None = None) -> Record:
        """``POST /api/v2/tickets.json``: ``{"ticket": {"requester_id", "comment", ...}}``.

        Also records the first comment and the ``Create`` audit. ``via.channel`` (default
        ``api``) says where the ticket came from; a ticket from another channel is submitted by
        its requester, an ``api`` one by the account owner.
        """
        ticket = _root(body, "ticket")
        requester_id = _int_id(ticket.get("requester_id", self.agent_id))
        requester = None if requester_id is None else self._users.get(requester_id)
        if requester is None or requester_id is None:
            raise ZendeskValidationError.one("requester", "Requester: is invalid", "InvalidValue")
        comment, text = _comment_of(ticket)
        if text is None:
            raise ZendeskValidationError.one("base", "Description: cannot be blank", "BlankValue")
        status = _choice(ticket.get("status", "new"), "status", STATUSES)
        priority = _optional_choice(ticket.get("priority"), "priority", PRIORITIES)
        ticket_type = _optional_choice(ticket.get("type"), "type", TICKET_TYPES)
        tags = _tags(ticket.get("tags"), "tags")
        subject = ticket.get("subject")
        subject = subject if isinstance(subject, str) and subject.strip() else None
        via = ticket.get("via")
        channel = via.get("channel") if isinstance(via, dict) else None
        if not isinstance(channel, str) or not channel:
            channel = "api"
        default_submitter = self.agent_id if channel == "api" else requester_id
        submitter_id = self._known_user(ticket.get("submitter_id", default_submitter), "submitter")
        author_id = self._known_user(comment.get("author_id", submitter_id), "author_id")
        public = bool(comment.get("public", True))
        order_number = self._order_number(ticket.get("custom_fields"))
        external_id = ticket.get("external_id")
        metadata = self._audit_metadata(_custom_metadata(ticket))

        stamp = zendesk_time(at)
        via = self._via(channel, requester)
        ticket_id = self._next_ticket_id
        self._next_ticket_id += 1
        audit_id = self._event_id()
        comment_id = self._event_id()
        custom_fields = [{"id": self.order_number_field_id, "value": order_number}]
        record: Record = {
            "url": f"{self._base_url}/tickets/{ticket_id}.json",
            "id": ticket_id,
            "external_id": None if external_id in (None, "") else str(external_id),
            "via": via,
            "created_at": stamp,
            "updated_at": stamp,
            "type": ticket_type,
            "subject": subject,
            "raw_subject": subject,
            "description": text,
            "priority": priority,
            "status": status,
            "recipient": self._support_address if channel == "email" else None,
            "requester_id": requester_id,
            "submitter_id": submitter_id,
            "assignee_id": None,
            "organization_id": None,
            "group_id": None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": public,
            "due_at": None,
            "tags": tags,
            "custom_fields": custom_fields,
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "custom_status_id": self.custom_status_ids[status or "new"],
            "fields": custom_fields,
            "followup_ids": [],
            "ticket_form_id": self.ticket_form_id,
            "brand_id": self.brand_id,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": channel in MESSAGING_CHANNELS,
        }
        first = self._comment(
            comment_id, audit_id, author_id, text, public, via, stamp, metadata
        )
        events: list[Record] = [self._comment_event(first)]
        creates: list[tuple[str, Any]] = [
            ("requester_id", str(requester_id)),
            ("subject", subject),
            ("status", status),
            ("priority", priority),
            ("type", ticket_type),
            ("tags", tags or None),
            (str(self.order_number_field_id), order_number),
            ("ticket_form_id", str(self.ticket_form_id)),
        ]
        for field_name, value in creates:
            if value is not None:
                events.append(
                    {
                        "id": self._event_id(),
                        "type": "Create",
                        "value": value,
                        "field_name": field_name,
                    }
                )
        audit = self._audit(audit_id, ticket_id, author_id, events, via, stamp, metadata)

        self._tickets[ticket_id] = record
        self._requested.setdefault(requester_id, []).append(record)
        if record["external_id"] is not None:
            self._tickets_by_external_id.setdefault(record["external_id"], []).append(record)
        self._comments[ticket_id] = [first]
        self._audits[ticket_id] = [audit]
        self._latest_audit[ticket_id] = audit
        self._first_comment_public[ticket_id] = public
        self._record_search_version(record)
        return record

    def update_ticket(self, ticket_id: int, body: Record, *, at: datetime | None = None) -> Record:
        """``PUT /api/v2/tickets/{id}.json``: ``{"ticket": {"status"?, "comment"?, ...}}``.

        Adds the comment and an audit with a ``Comment`` event and ``Change`` events
        (``previous_value`` included), so a ``solved``/``closed`` change carries its time in the
        audit's ``created_at``. A comment's ``public`` defaults to the first comment's; an agent
        comment on a ``new`` ticket opens it. A closed ticket refuses every update (422).
        """
        record = self._tickets.get(ticket_id)
        if record is None:
            raise ZendeskNotFoundError(ticket_id)
        ticket = _root(body, "ticket")
        if record["status"] == "closed":
            raise ZendeskValidationError(
                {"status": [{"description": "closed prevents ticket update"}]}
            )
        changes: list[tuple[str, str | None]] = []
        if "status" in ticket:
            status = _choice(ticket["status"], "status", STATUSES)
            if status != record["status"]:
                changes.append(("status", status))
        for field, allowed in (("priority", PRIORITIES), ("type", TICKET_TYPES)):
            if field in ticket:
                value = _optional_choice(ticket[field], field, allowed)
                if value != record[field]:
                    changes.append((field, value))
        comment, text = _comment_of(ticket)
        metadata = self._audit_metadata(_custom_metadata(ticket))
        author_id = self.agent_id
        if text is not None:
            author_id = self._known_user(comment.get("author_id", self.agent_id), "author_id")
            if (
                record["status"] == "new"
                and "status" not in ticket
                and self._users[author_id]["role"] in AGENT_ROLES
            ):
                changes.append(("status", "open"))
        if not changes and text is None:
            return record

        stamp = zendesk_time(at)
        audit_id = self._event_id()
        via = record["via"] if author_id != self.agent_id else self._api_via
        events: list[Record] = []
        if text is not None:
            public = bool(comment.get("public", self._first_comment_public[ticket_id]))
            added = self._comment(
                self._event_id(), audit_id, author_id, text, public, via, stamp, metadata
            )
            events.append(self._comment_event(added))
            insort(self._comments[ticket_id], added, key=_time_key)
            if public:
                record["is_public"] = True
        for field, value in changes:
            events.append(
                {
                    "id": self._event_id(),
                    "type": "Change",
                    "value": value,
                    "field_name": field,
                    "previous_value": record[field],
                }
            )
            record[field] = value
            if field == "status":
                record["custom_status_id"] = self.custom_status_ids[value or "new"]
        record["updated_at"] = stamp
        audit = self._audit(audit_id, ticket_id, author_id, events, via, stamp, metadata)
        insort(self._audits[ticket_id], audit, key=_time_key)
        self._latest_audit[ticket_id] = audit
        self._record_search_version(record)
        return record

    def _record_search_version(self, record: Record) -> None:
        fields = {
            name: list(record[name]) if name == "tags" else record[name]
            for name in SEARCHABLE_TICKET_FIELDS
        }
        times = self._search_times.setdefault(record["id"], [])
        versions = self._search_fields.setdefault(record["id"], [])
        written = self.clock()
        if times and written < times[-1]:
            written = times[-1]
        times.append(written)
        versions.append(fields)

    def searchable_ticket(self, ticket_id: int, indexed_until: float) -> Record | None:
        """The searchable fields of the ticket as of its last write at or before
        ``indexed_until`` (Unix seconds), or None if it was not written by then."""
        times = self._search_times.get(ticket_id)
        if not times:
            return None
        position = bisect_right(times, indexed_until)
        return None if position == 0 else self._search_fields[ticket_id][position - 1]

    def ticket_ids(self) -> Iterable[int]:
        """Every ticket id, ascending (a live view)."""
        return self._tickets.keys()

    def _known_user(self, value: Any, field: str) -> int:
        user_id = _int_id(value)
        if user_id is None or user_id not in self._users:
            label = field.replace("_", " ").capitalize()
            raise ZendeskValidationError.one(field, f"{label}: is invalid", "InvalidValue")
        return user_id

    def _order_number(self, custom_fields: Any) -> str | None:
        if not isinstance(custom_fields, list):
            return None
        for field in custom_fields:
            if isinstance(field, dict) and _int_id(field.get("id")) == self.order_number_field_id:
                value = field.get("value")
                return None if value in (None, "") else str(value)
        return None

    def _via(self, channel: str, requester: Record) -> Record:
        if channel == "email" and requester["email"] is not None:
            source: Record = {
                "from": {"address": requester["email"], "name": requester["name"]},
                "to": {"name": self.subdomain, "address": self._support_address},
                "rel": None,
            }
        else:
            source = {"from": {}, "to": {}, "rel": None}
        return {"channel": channel, "source": source}

    def _comment(
        self,
        comment_id: int,
        audit_id: int,
        author_id: int,
        text: str,
        public: bool,
        via: Record,
        stamp: str,
        metadata: Record,
    ) -> Record:
        return {
            "id": comment_id,
            "type": "Comment",
            "author_id": author_id,
            "body": text,
            "html_body": html_body(text),
            "plain_body": text,
            "public": public,
            "attachments": [],
            "audit_id": audit_id,
            "via": via,
            "created_at": stamp,
            "metadata": metadata,
        }

    @staticmethod
    def _comment_event(comment: Record) -> Record:
        return {
            "id": comment["id"],
            "type": "Comment",
            "author_id": comment["author_id"],
            "body": comment["body"],
            "html_body": comment["html_body"],
            "plain_body": comment["plain_body"],
            "public": comment["public"],
            "attachments": [],
            "audit_id": comment["audit_id"],
        }

    def _audit_metadata(self, custom: Record) -> Record:
        """An audit's ``metadata``: the shared empty one unless the write carried custom data."""
        return self._metadata if not custom else {"system": {}, "custom": custom}

    def _audit(
        self,
        audit_id: int,
        ticket_id: int,
        author_id: int,
        events: list[Record],
        via: Record,
        stamp: str,
        metadata: Record,
    ) -> Record:
        return {
            "id": audit_id,
            "ticket_id": ticket_id,
            "created_at": stamp,
            "author_id": author_id,
            "metadata": metadata,
            "events": events,
            "via": via,
        }

    def get_ticket(self, ticket_id: int) -> Record | None:
        return self._tickets.get(ticket_id)

    def requested_tickets(self, user_id: int) -> Sequence[Record]:
        """The user's requested tickets, by id (read-only view)."""
        return self._requested.get(user_id, ())

    def all_tickets(self) -> Sequence[Record]:
        """Every ticket, by id (read-only view)."""
        return list(self._tickets.values())

    def tickets_with_external_id(self, external_id: str) -> Sequence[Record]:
        """The tickets created with this ``external_id`` (not unique in Zendesk), by id."""
        return self._tickets_by_external_id.get(external_id, ())

    def ticket_comments(self, ticket_id: int) -> Sequence[Record]:
        """The ticket's comments by ``(created_at, id)`` (read-only view)."""
        return self._comments.get(ticket_id, ())

    def ticket_audits(self, ticket_id: int) -> Sequence[Record]:
        """The ticket's audits by ``(created_at, id)`` (read-only view)."""
        return self._audits.get(ticket_id, ())

    def latest_audit(self, ticket_id: int) -> Record | None:
        """The audit the last create/update of the ticket recorded."""
        return self._latest_audit.get(ticket_id)

    @property
    def user_count(self) -> int:
        return len(self._users)

    @property
    def ticket_count(self) -> int:
        return len(self._tickets)
