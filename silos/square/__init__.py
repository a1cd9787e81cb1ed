"""Emulated Square API v2 (point of sale): customers, orders, locations, catalog, inventory.

``create_app(store, config)`` serves the HTTP API behind the sandbox control API;
:class:`SquareStore` holds the seller's records in Square's JSON shape and is filled through its
``create_*`` / ``upsert_*`` / ``batch_change_*`` methods (the same ones the POST endpoints call).
"""

from __future__ import annotations

from silos.square.app import create_app
from silos.square.config import SquareSiloConfig
from silos.square.errors import SquareError
from silos.square.store import SquareStore

__all__ = ["SquareError", "SquareSiloConfig", "SquareStore", "create_app"]
