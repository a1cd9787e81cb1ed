"""Square API v2 (point of sale): customers, store orders and returns, catalog, inventory,
locations."""

from adapters.square.adapter import SquareAdapter
from adapters.square.config import SquareConfig

__all__ = ["SquareAdapter", "SquareConfig"]
