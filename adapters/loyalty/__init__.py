"""The in-house loyalty database (no API): its tables read through SQLAlchemy, async.

The caller owns the engine (``sqlite+aiosqlite://…`` or ``postgresql+asyncpg://…``); the
adapter runs the same statements on both (:mod:`adapters.loyalty.queries`).
"""

from adapters.loyalty.adapter import CHUNK, LoyaltyAdapter
from adapters.loyalty.config import LoyaltyConfig
from adapters.loyalty.parse import email_key, parse_order_ref, phone_key

__all__ = [
    "CHUNK",
    "LoyaltyAdapter",
    "LoyaltyConfig",
    "email_key",
    "parse_order_ref",
    "phone_key",
]
