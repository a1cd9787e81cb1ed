"""Settings of the emulated Zendesk Support silo."""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_ROLES = ("admin", "agent")


@dataclass(frozen=True)
class ZendeskSiloConfig:
    """Credentials and limits of one emulated Zendesk account.

    Callers authenticate with HTTP basic ``{email}/token:{api_token}``. The limits are Zendesk's
    own: 100 values per ``show_many``, ``page[size]`` at most 100, offset pagination refused past
    10,000 records, the ``Retry-After`` seconds sent with a 429 or 503, and the incremental
    export's ``per_page`` (at most 1000) and the last minute it leaves out.

    The Search API (``/api/v2/search.json``) returns at most ``search_max_results`` (1,000)
    results per query and takes at most ``search_max_words`` (64) words in a query. A ticket
    written to the account becomes searchable ``search_index_delay_s`` seconds later (Zendesk:
    "it typically takes about a minute"); the sandbox indexes at once (0) so that its data is
    searchable as soon as it is served, and tests raise it to show the lag.

    ``idempotency_window_s``: how long an ``Idempotency-Key`` of a ticket creation is remembered
    (Zendesk: two hours).

    ``token_role`` is the role of the user whose API token the silo accepts: ``admin`` (the
    default) may use every endpoint; an ``agent`` is refused (403 ``Forbidden``) the incremental
    exports, which Zendesk allows admins only, and lists users with ``GET /api/v2/users``.
    """

    subdomain: str = "c360-sandbox"
    email: str = "agent@c360-sandbox.example"
    api_token: str = "sandbox-zendesk-token"
    order_number_field_id: int = 360001234567
    max_show_many: int = 100
    max_page_size: int = 100
    max_offset_records: int = 10_000
    retry_after_seconds: int = 60
    max_export_per_page: int = 1000
    export_min_age_seconds: int = 60
    search_index_delay_s: float = 0.0
    search_max_results: int = 1000
    search_max_words: int = 64
    idempotency_window_s: float = 7200.0
    token_role: str = "admin"

    def __post_init__(self) -> None:
        if self.token_role not in TOKEN_ROLES:
            raise ValueError(f"token_role must be one of {', '.join(TOKEN_ROLES)}")
