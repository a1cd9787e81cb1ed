"""Helpers for authentication tests: silo request totals (a refused caller costs none)."""

from __future__ import annotations

import httpx


async def silo_calls(silos: dict[str, httpx.AsyncClient]) -> int:
    total = 0
    for client in silos.values():
        total += (await client.get("/_sandbox/stats")).json()["total"]
    return total
