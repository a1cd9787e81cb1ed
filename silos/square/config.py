"""Settings of the emulated Square silo."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SquareSiloConfig:
    """Credentials and money settings of one emulated Square seller account.

    ``access_token`` is the only token ``Authorization: Bearer <token>`` accepts; ``currency``
    is the seller's currency, used when ``create_app`` builds its own store.
    """

    access_token: str = "EAAAsandbox-square-token"
    currency: str = "USD"
