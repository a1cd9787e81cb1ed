"""The Zendesk Support adapter: customers (end users) and tickets, batched and concurrent."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx

from adapters.base import HTTPAdapter
from adapters.errors import (
    ConfigError,
    RecordNotFound,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamRejected,
)
from adapters.http import Sleep
from adapters.models import (
    Customer,
    HistorySlice,
    HistoryWindow,
    NewComment,
    NewRequester,
    NewTicket,
    Ticket,
    TicketAudit,
    TicketComment,
)
from adapters.zendesk import parse
from adapters.zendesk import requests as calls
from adapters.zendesk.config import ZendeskConfig
from adapters.zendesk.requests import Call, Write

T = TypeVar("T")
log = logging.getLogger("c360.adapters.zendesk")
METHOD_EXPORT = "incremental export"
METHOD_USERS_LIST = "users list (export forbidden: agent token)"
NOT_FOUND = frozenset({404})
REFUSED = frozenset({400, 404, 409, 422})
"""Write answers that say "not applied": 404 (no such ticket or user), 400 (malformed, or an
``Idempotency-Key`` reused with another body), 409 (a conflicting concurrent update), 422
(a record Zendesk refuses, e.g. any update of a closed ticket)."""


class ZendeskAdapter(HTTPAdapter[ZendeskConfig]):
    """``CustomerSource``, ``TicketSource`` and ``TicketWriter`` over the Zendesk Support API.

    A customer is an active Zendesk end user; agents and admins are never returned. Every
    method answers its keys in order (duplicates included) and runs its requests concurrently,
    at most ``config.max_concurrency`` at a time.

    Writes and repeats: ``ensure_requester`` is ``users/create_or_update`` (matched by
    ``external_id``, else e-mail: safe to repeat, retried); ``create_ticket`` sends the key as
    Zendesk's ``Idempotency-Key`` and is retried after a timeout or 5xx with the same key
    (Zendesk answers the ticket already created; keys hold two hours); ``add_comment`` carries
    the key in the update's ``metadata`` (the audit's ``metadata.custom``) and reads the
    ticket's audits before writing, so a repeat finds the comment and does not add it again
    (not retried within a call); ``set_status`` is harmless to repeat and retried. A refusal
    (400/409/422) is :class:`~adapters.errors.UpstreamRejected`, a missing ticket or user
    :class:`~adapters.errors.RecordNotFound`.
    """

    KIND = parse.KIND
    UNIQUE_KEYS = frozenset({"email"})
    """Key types one user at most holds: an email identity belongs to one user (422
    ``DuplicateValue``); a phone number may be shared."""

    def __init__(
        self,
        config: ZendeskConfig,
        client: httpx.AsyncClient,
        *,
        source: str = parse.KIND,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        headers = {"Authorization": calls.basic_auth(config.email, config.api_token)}
        super().__init__(config, client, source, headers=headers, sleep=sleep, rng=rng)
        self.crawl_method: str | None = None
        """How the last :meth:`crawl_customers` read the users: :data:`METHOD_EXPORT` or
        :data:`METHOD_USERS_LIST` (None before the first crawl)."""
        self._export_forbidden = False

    # -- plumbing ---------------------------------------------------------------------------
    async def _get(self, call: Call, allow: frozenset[int] = frozenset()) -> Any:
        """The JSON of one GET (retried); None when the status is in ``allow``."""
        async with self._slots:
            response = await self._http.send(
                "GET", call.path, params=call.params, idempotent=True, allow=allow
            )
        if response.status_code in allow:
            return None
        return self._http.json(response)

    @staticmethod
    async def _each(keys: Sequence[str], fetch: Callable[[str], Awaitable[T]]) -> dict[str, T]:
        """``fetch`` for every distinct key, concurrently (bounded by the semaphore)."""
        distinct = calls.unique(keys)
        results = await asyncio.gather(*(fetch(key) for key in distinct))
        return dict(zip(distinct, results, strict=True))

    async def _cursor_walk(self, page: Callable[[str | None], Call], what: str) -> list[Any]:
        """Every page of a cursor-paginated list (``page[size]=100``) to the end; no pages when
        the parent record does not exist (404)."""
        bodies: list[Any] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            body = await self._get(page(after), allow=NOT_FOUND)
            if body is None:
                return bodies
            bodies.append(body)
            with self._parsing(what):
                after = parse.cursor_next(body)
            if after is None:
                return bodies
            if after in seen:
                raise UpstreamBadResponse(self._source, f"{what} cursor did not advance")
            seen.add(after)

    # -- customers --------------------------------------------------------------------------
    async def _users_by_ids(self, ids: Sequence[str]) -> dict[str, Customer]:
        """End users by canonical id via ``users/show_many`` (100 ids a call, concurrently)."""
        distinct = calls.unique(ids)
        bodies = await asyncio.gather(
            *(
                self._get(calls.show_many_users(chunk))
                for chunk in calls.chunks(distinct, calls.SHOW_MANY_LIMIT)
            )
        )
        found: dict[str, Customer] = {}
        for body in bodies:
            with self._parsing("users"):
                for customer in parse.parse_users(
                    body,
                    source=self._source,
                    references=self.config.references,
                    end_users_only=True,
                ):
                    found[customer.id] = customer
        return found

    async def customers_by_ids(self, ids: Sequence[str]) -> list[Customer | None]:
        """End users by id (``users/show_many.json?include=identities``, ≤ 100 ids a call)."""
        canonical = [calls.numeric_id(i) for i in ids]
        found = await self._users_by_ids([c for c in canonical if c is not None])
        return [None if c is None else found.get(c) for c in canonical]

    async def _search(self, query: str) -> list[str]:
        """The ids of every user ``users/search.json`` finds for ``query`` (all pages)."""
        ids: list[str] = []
        page = 1
        while True:
            body = await self._get(calls.search_users(query, page))
            with self._parsing("user search"):
                ids.extend(parse.record_id(user["id"]) for user in parse.records(body, "users"))
                more = parse.search_has_next(body)
            if not more:
                return ids
            page += 1

    async def _lookup(
        self,
        keys: Sequence[str],
        query: Callable[[str], str | None],
        matches: Callable[[Customer, str], bool],
    ) -> list[list[Customer]]:
        """Search each key, then read the hits with their identities (one ``show_many`` per 100
        hits) and keep those whose own values match the key exactly."""
        queries = {key: query(key) for key in calls.unique(keys)}
        hits = await self._each(
            [q for q in queries.values() if q is not None], self._search
        )
        found = await self._users_by_ids([i for ids in hits.values() for i in ids])
        answers: dict[str, list[Customer]] = {}
        for key, q in queries.items():
            ids = calls.unique(hits[q]) if q is not None else []
            answers[key] = [
                found[i] for i in ids if i in found and matches(found[i], key)
            ]
        return [list(answers[key]) for key in keys]

    async def customers_by_emails(self, emails: Sequence[str]) -> list[list[Customer]]:
        """End users with this exact e-mail (any identity), via
        ``users/search.json?query=role:end-user email:<address>``."""

        def same(customer: Customer, email: str) -> bool:
            wanted = email.strip().casefold()
            return any(e.casefold() == wanted for e in customer.emails)

        return await self._lookup(emails, calls.email_query, same)

    async def customers_by_phones(self, phones: Sequence[str]) -> list[list[Customer]]:
        """End users with this phone in any format (any identity), via
        ``users/search.json?query=role:end-user phone:*<last ten digits>``."""

        def same(customer: Customer, phone: str) -> bool:
            key = calls.phone_key(phone)
            if key is None:
                return False
            for own in customer.phones:
                digits = calls.phone_digits(own)
                shorter = min(len(digits), len(key))
                if shorter >= calls.MIN_PHONE_DIGITS and (
                    digits.endswith(key) or key.endswith(digits)
                ):
                    return True
            return False

        return await self._lookup(phones, calls.phone_query, same)

    async def crawl_customers(
        self, since: datetime | None = None
    ) -> AsyncIterator[list[Customer]]:
        """Every end user changed at or after ``since`` (all when None), a page at a time.

        The cursor-based incremental user export (≤ 1000 users a page) is for admins: an
        agent's token is refused it (403). Then — and from then on, for this adapter's life —
        the crawl reads List Users (``users.json?role=end-user``, 100 a page), which agents may
        use but which has no ``updated_at`` filter: an incremental crawl reads every end user
        and keeps those updated at or after ``since``. :attr:`crawl_method` says which one the
        last crawl used."""
        if not self._export_forbidden:
            self.crawl_method = METHOD_EXPORT
            read = False
            try:
                async for page in self._export(since):
                    read = True
                    yield page
                return
            except UpstreamAuthError as exc:
                if exc.status != 403 or read:
                    raise
                self._export_forbidden = True
                log.warning(
                    "%s: the incremental user export answered 403 (it is for admins; this "
                    "looks like an agent's token): crawling through the users list instead",
                    self._source)
        self.crawl_method = METHOD_USERS_LIST
        async for page in self._users_list(since):
            yield page

    async def _export(self, since: datetime | None) -> AsyncIterator[list[Customer]]:
        start = calls.export_start_time(
            None if since is None else since.timestamp(), time.time()
        )
        call = calls.incremental_users(start_time=start)
        seen: set[str] = set()
        while True:
            body = await self._get(call)
            with self._parsing("user export"):
                customers = parse.parse_users(
                    body,
                    source=self._source,
                    references=self.config.references,
                    end_users_only=True,
                )
                cursor = parse.export_next(body)
            if customers:
                yield customers
            if cursor is None:
                return
            if cursor in seen:
                raise UpstreamBadResponse(self._source, "user export cursor did not advance")
            seen.add(cursor)
            call = calls.incremental_users(cursor=cursor)

    async def _users_list(self, since: datetime | None) -> AsyncIterator[list[Customer]]:
        after: str | None = None
        seen: set[str] = set()
        while True:
            body = await self._get(calls.end_users(after))
            with self._parsing("users"):
                customers = parse.parse_users(
                    body,
                    source=self._source,
                    references=self.config.references,
                    end_users_only=True,
                )
                after = parse.cursor_next(body)
            changed = [c for c in customers if parse.changed_since(c, since)]
            if changed:
                yield changed
            if after is None:
                return
            if after in seen:
                raise UpstreamBadResponse(self._source, "users list cursor did not advance")
            seen.add(after)

    # -- tickets ----------------------------------------------------------------------------
    def _tickets(self, body: Any) -> list[Ticket]:
        with self._parsing("tickets"):
            return parse.parse_tickets(
                body, source=self._source, order_field_id=self.config.order_number_field_id
            )

    @staticmethod
    def _newest_first(tickets: list[Ticket]) -> list[Ticket]:
        return sorted(tickets, key=lambda t: (t.created_at, int(t.id)), reverse=True)

    async def _requested(self, user_id: str) -> list[Ticket]:
        """One requester's tickets, current: ``users/{id}/tickets/requested.json`` walked with
        cursor pagination (no result cap)."""
        bodies = await self._cursor_walk(
            lambda after: calls.requested_tickets(user_id, after), "tickets"
        )
        return [t for body in bodies for t in self._tickets(body)]

    def _search_results(self, body: Any) -> tuple[list[Ticket], bool]:
        with self._parsing("ticket search"):
            tickets = parse.parse_search_tickets(
                body, source=self._source, order_field_id=self.config.order_number_field_id
            )
            return tickets, parse.search_has_next(body)

    async def _searched(self, user_ids: list[str]) -> list[Ticket]:
        """Every ticket of these requesters through ``search.json`` (one query, its pages).

        The first page's ``count`` says how many pages follow; they are read concurrently, then
        ``next_page`` is followed in case tickets were indexed meanwhile. A query matching more
        than the 1,000 results search returns is split in two; a single requester with that
        many tickets is read with the uncapped per-requester endpoint instead."""
        query = calls.requester_query(user_ids)
        first = await self._get(calls.search_tickets(query))
        with self._parsing("ticket search"):
            count = parse.search_count(first)
        last = calls.search_pages(count)
        readable = calls.SEARCH_MAX_RESULTS // calls.SEARCH_PER_PAGE
        if count <= calls.SEARCH_MAX_RESULTS:
            bodies = [
                first,
                *await asyncio.gather(
                    *(self._get(calls.search_tickets(query, page)) for page in range(2, last + 1))
                ),
            ]
            tickets: list[Ticket] = []
            more = False
            for body in bodies:
                found, more = self._search_results(body)
                tickets.extend(found)
            page = last
            while more and page < readable:
                page += 1
                found, more = self._search_results(
                    await self._get(calls.search_tickets(query, page))
                )
                tickets.extend(found)
            if not more:
                return tickets
        if len(user_ids) == 1:
            return await self._requested(user_ids[0])
        half = len(user_ids) // 2
        halves = await asyncio.gather(
            self._searched(user_ids[:half]), self._searched(user_ids[half:])
        )
        return [t for found in halves for t in found]

    async def _search_requesters(self, user_ids: list[str]) -> dict[str, list[Ticket]]:
        """The tickets of many requesters through the Search API: one query per group of
        :data:`~adapters.zendesk.requests.SEARCH_REQUESTERS` (concurrently), results dealt to
        their requester (a ticket met twice, as offset pages can repeat one, is kept once)."""
        found: dict[str, dict[str, Ticket]] = {user_id: {} for user_id in user_ids}
        groups = await asyncio.gather(
            *(self._searched(chunk) for chunk in calls.requester_chunks(user_ids))
        )
        for tickets in groups:
            for ticket in tickets:
                bucket = found.get(ticket.requester_id)
                if bucket is not None:
                    bucket[ticket.id] = ticket
        return {
            user_id: self._newest_first(list(tickets.values()))
            for user_id, tickets in found.items()
        }

    async def tickets_by_requester_ids(self, ids: Sequence[str]) -> list[list[Ticket]]:
        """Each requester's tickets, newest first.

        From ``config.search_batch_min`` distinct requesters on, one ``search.json`` query
        (``type:ticket requester:<id> requester:<id> ...``, sorted by creation) per 50
        requesters plus a page per 100 tickets; search is eventually consistent (a ticket is
        found about a minute after it was written). Fewer requesters are read one request
        (walk) each from ``users/{id}/tickets/requested.json``, which is always current."""

        async def requested(user_id: str) -> list[Ticket]:
            return self._newest_first(await self._requested(user_id))

        canonical = [calls.numeric_id(i) for i in ids]
        distinct = calls.unique(c for c in canonical if c is not None)
        if len(distinct) >= self.config.search_batch_min:
            found = await self._search_requesters(distinct)
        else:
            found = await self._each(distinct, requested)
        return [[] if c is None else list(found[c]) for c in canonical]

    async def ticket_history(self, windows: Sequence[HistoryWindow]
                             ) -> list[HistorySlice[Ticket]]:
        """Per window, one ``search.json`` page (``created<=until``, newest created first);
        when it is full, one more of the tickets created at or before its oldest and updated
        after it (``created<=… updated>…``). A window without ``until`` (a history's first
        page) also reads the requester's newest tickets by id from
        ``tickets/requested.json``, which is current where search lags behind by its
        indexing delay."""

        async def window(w: HistoryWindow) -> HistorySlice[Ticket]:
            owner = calls.numeric_id(w.owner)
            if owner is None or w.limit < 1:
                return HistorySlice((), None)
            searched = self._get(calls.ticket_window(owner, w.until, w.limit))
            if w.until is not None:
                tickets, _ = self._search_results(await searched)
            else:
                body, latest = await asyncio.gather(
                    searched, self._get(calls.newest_requested(owner, w.limit),
                                        allow=NOT_FOUND))
                tickets = [*self._search_results(body)[0],
                           *(self._tickets(latest) if latest is not None else [])]
            unique = {t.id: t for t in tickets if t.requester_id == owner}
            found = self._newest_first(list(unique.values()))[:w.limit]
            if len(found) < w.limit:
                return HistorySlice(tuple(found), None)
            edge = found[-1].created_at
            later, _ = self._search_results(await self._get(
                calls.tickets_spanning(owner, edge, calls.SEARCH_PER_PAGE)))
            known = {t.id for t in found}
            spanning = [t for t in later if t.requester_id == owner and t.id not in known
                        and t.created_at <= edge]
            return HistorySlice((*found, *spanning), edge)

        return list(await asyncio.gather(*(window(w) for w in windows)))

    async def tickets_by_ids(self, ids: Sequence[str]) -> list[Ticket | None]:
        """Tickets by id (``tickets/show_many.json``, ≤ 100 ids a call, concurrently)."""
        canonical = [calls.numeric_id(i) for i in ids]
        distinct = calls.unique(c for c in canonical if c is not None)
        bodies = await asyncio.gather(
            *(
                self._get(calls.show_many_tickets(chunk))
                for chunk in calls.chunks(distinct, calls.SHOW_MANY_LIMIT)
            )
        )
        found = {ticket.id: ticket for body in bodies for ticket in self._tickets(body)}
        return [None if c is None else found.get(c) for c in canonical]

    async def comments_by_ticket_ids(self, ids: Sequence[str]) -> list[list[TicketComment]]:
        """Each ticket's comments, oldest first (``tickets/{id}/comments.json`` to the end)."""

        async def comments(ticket_id: str) -> list[TicketComment]:
            bodies = await self._cursor_walk(
                lambda after: calls.ticket_comments(ticket_id, after), "comments"
            )
            with self._parsing("comments"):
                return [c for body in bodies for c in parse.parse_comments(body, ticket_id)]

        canonical = [calls.numeric_id(i) for i in ids]
        found = await self._each([c for c in canonical if c is not None], comments)
        return [[] if c is None else list(found[c]) for c in canonical]

    async def audits_by_ticket_ids(self, ids: Sequence[str]) -> list[list[TicketAudit]]:
        """Each ticket's audits, oldest first (``tickets/{id}/audits.json`` to the end)."""

        async def audits(ticket_id: str) -> list[TicketAudit]:
            bodies = await self._cursor_walk(
                lambda after: calls.ticket_audits(ticket_id, after), "audits"
            )
            with self._parsing("audits"):
                return [a for body in bodies for a in parse.parse_audits(body, ticket_id)]

        canonical = [calls.numeric_id(i) for i in ids]
        found = await self._each([c for c in canonical if c is not None], audits)
        return [[] if c is None else list(found[c]) for c in canonical]

    # -- writes -----------------------------------------------------------------------------
    async def _write(self, write: Write, *, idempotent: bool) -> Any:
        """The JSON answer of one write; a refusal (:data:`REFUSED`) raised as
        :class:`RecordNotFound` (404) or :class:`UpstreamRejected`."""
        async with self._slots:
            response = await self._http.send(
                write.method, write.path, json=write.body, idempotent=idempotent,
                allow=REFUSED, headers=write.headers,
            )
        status = response.status_code
        if status in REFUSED:
            what = f"{write.method} {write.path} answered HTTP {status}"
            error = RecordNotFound if status == 404 else UpstreamRejected
            raise error(self._source, what, status=status)
        return self._http.json(response)

    def _ticket(self, body: Any) -> Ticket:
        with self._parsing("ticket"):
            return parse.parse_ticket(
                parse.ticket_of(body), source=self._source,
                order_field_id=self.config.order_number_field_id,
            )

    def _ticket_id(self, ticket_id: str) -> str:
        canonical = calls.numeric_id(ticket_id)
        if canonical is None:
            raise RecordNotFound(self._source, "not a Zendesk ticket id")
        return canonical

    async def _show_ticket(self, ticket_id: str) -> Ticket:
        body = await self._get(calls.show_ticket(ticket_id), allow=NOT_FOUND)
        if body is None:
            raise RecordNotFound(self._source, f"GET /api/v2/tickets/{ticket_id}.json "
                                               "answered HTTP 404", status=404)
        return self._ticket(body)

    async def ensure_requester(self, person: NewRequester) -> str:
        """The end user with ``person.external_id`` (else ``person.email``), updated with the
        person's name, e-mail and phone, or a new end user: ``users/create_or_update.json``
        (201 created, 200 updated), safe to repeat."""
        body = await self._write(
            calls.create_or_update_user(person.name, person.email, person.phone,
                                        person.external_id),
            idempotent=True,
        )
        with self._parsing("user"):
            return parse.user_id(body)

    async def create_ticket(self, ticket: NewTicket, *, key: str) -> Ticket:
        """``POST tickets.json`` with ``Idempotency-Key: key``: the channel as the tag
        ``channel_<channel>`` (Zendesk sets ``via.channel`` to ``api``), the order reference
        in the custom field ``config.order_number_field_id``, ``key`` as its ``external_id``.
        Retried with the same key after a timeout or 5xx; a repeat within two hours answers
        the ticket already created (later, look with :meth:`ticket_by_key` first)."""
        requester = calls.numeric_id(ticket.requester_id)
        if requester is None:
            raise RecordNotFound(self._source, "not a Zendesk user id")
        if ticket.order_reference is not None and self.config.order_number_field_id is None:
            raise ConfigError(f"sources.{self._source}.order_number_field_id",
                              "needed to write a ticket's order reference")
        write = calls.create_ticket(
            requester_id=requester, subject=ticket.subject, body=ticket.body,
            public=ticket.public, channel=ticket.channel, tags=ticket.tags,
            order_reference=ticket.order_reference,
            order_field_id=self.config.order_number_field_id, key=key,
        )
        return self._ticket(await self._write(write, idempotent=True))

    async def ticket_by_key(self, key: str) -> Ticket | None:
        """List Tickets by ``external_id`` = ``key``: the ticket :meth:`create_ticket` made
        with it, even after Zendesk has forgotten the idempotency key (the oldest if several
        carry it)."""
        bodies = await self._cursor_walk(
            lambda after: calls.tickets_with_external_id(key, after), "tickets")
        found = [t for body in bodies for t in self._tickets(body)]
        return min(found, key=lambda t: int(t.id)) if found else None

    async def _carries_key(self, ticket_id: str, key: str) -> bool:
        bodies = await self._cursor_walk(
            lambda after: calls.ticket_audits(ticket_id, after), "audits"
        )
        with self._parsing("audits"):
            return any(parse.audits_carry_key(body, key) for body in bodies)

    async def add_comment(self, ticket_id: str, comment: NewComment, *, key: str) -> Ticket:
        """The ticket's audits are read first: when one carries ``key`` (an earlier call was
        applied, its answer lost) the ticket is answered as it is; else ``PUT tickets/{id}``
        adds the comment with ``key`` in the update's ``metadata``. Not retried within the
        call: after an unknown outcome, call again (it reads back first)."""
        canonical = self._ticket_id(ticket_id)
        if await self._carries_key(canonical, key):
            return await self._show_ticket(canonical)
        author = None if comment.author_id is None else calls.numeric_id(comment.author_id)
        if comment.author_id is not None and author is None:
            raise RecordNotFound(self._source, "not a Zendesk user id")
        write = calls.add_comment(canonical, comment.body, public=comment.public,
                                  author_id=author, key=key)
        return self._ticket(await self._write(write, idempotent=False))

    async def set_status(self, ticket_id: str, status: str, *, key: str) -> Ticket:
        """``PUT tickets/{id}`` with the status (retried: setting it again changes nothing).
        Zendesk refuses any update of a closed ticket (422): when the ticket already has the
        status asked for (a repeat of ``closed``) it is answered as it is, else the refusal is
        :class:`UpstreamRejected`."""
        canonical = self._ticket_id(ticket_id)
        try:
            return self._ticket(await self._write(
                calls.set_status(canonical, status, key=key), idempotent=True))
        except RecordNotFound:
            raise
        except UpstreamRejected as exc:
            if exc.status != 422:
                raise
            current = await self._show_ticket(canonical)
            if current.status == status:
                return current
            raise
