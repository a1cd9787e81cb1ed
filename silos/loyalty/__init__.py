"""The retailer's in-house loyalty database: no API, the gateway reads and writes its tables.

The schema is fixed (other tools already use it); see :mod:`silos.loyalty.schema`.
"""

from silos.loyalty.db import create_loyalty_engine, create_schema, load_members, load_points
from silos.loyalty.schema import loyalty_member, metadata, points_ledger

__all__ = [
    "create_loyalty_engine",
    "create_schema",
    "load_members",
    "load_points",
    "loyalty_member",
    "metadata",
    "points_ledger",
]
