"""Vendor payload cases for the shared contract suite: none for loyalty.

The loyalty system is the retailer's own SQL database: it has no API and therefore no public
vendor payloads. Its parse functions are tested over the generated rows (``test_parse.py``)
and the adapter against SQLite and PostgreSQL (``test_adapter.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CASES: list[tuple[str, Callable[[Any], object]]] = []
