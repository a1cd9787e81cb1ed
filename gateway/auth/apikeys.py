"""API keys for backend services: ``Authorization: ApiKey <key>``.

A key is a random secret with a recognisable prefix; only its SHA-256 is kept in the config
(``c360 apikey create`` prints the key once, and the lines to add). A key is high-entropy, so a
plain hash is the right tool (no password hashing); the lookup is by digest, then compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from gateway.auth.settings import ApiKeyEntry

PREFIX = "c360_"


def generate_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeys:
    def __init__(self, entries: tuple[ApiKeyEntry, ...]) -> None:
        self.by_digest = {entry.digest: entry for entry in entries}

    def find(self, key: str) -> ApiKeyEntry | None:
        computed = digest(key)
        entry = self.by_digest.get(computed)
        if entry is None or not hmac.compare_digest(entry.digest, computed):
            return None
        return entry
