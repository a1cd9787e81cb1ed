"""Global object ids: ``base64url("<Type>:<source>:<id>")``; customers use their golden id."""

from __future__ import annotations

import base64
import binascii

from identity.golden import PREFIX as GOLDEN_PREFIX


def to_global(type_name: str, source: str, record_id: str) -> str:
    raw = f"{type_name}:{source}:{record_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def from_global(global_id: str) -> tuple[str, str, str] | None:
    """(type, source, id), or None for anything that is not one of our ids."""
    if global_id.startswith(GOLDEN_PREFIX):
        return ("Customer", "", global_id)
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = raw.split(":", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]
