"""Shopify's REST leaky bucket: ``bucket_size`` requests, leaking ``leak_rate`` per second."""

from __future__ import annotations

import math
from collections.abc import Callable


class LeakyBucket:
    """Counts requests of the (single) API client against a leaking bucket.

    ``take()`` returns ``False`` when enforcement is on and the bucket is full (the caller
    answers 429); otherwise it adds the request. ``header()`` is the value of
    ``X-Shopify-Shop-Api-Call-Limit``.
    """

    def __init__(
        self, size: int, leak_rate: float, clock: Callable[[], float], *, enforce: bool
    ) -> None:
        self.size = size
        self.leak_rate = leak_rate
        self.clock = clock
        self.enforce = enforce
        self.level = 0.0
        self._last = clock()

    def _leak(self) -> None:
        now = self.clock()
        elapsed = now - self._last
        self._last = now
        if elapsed > 0:
            self.level = max(0.0, self.level - elapsed * self.leak_rate)

    def take(self) -> bool:
        self._leak()
        if self.level + 1 > self.size:
            if self.enforce:
                return False
            self.level = float(self.size)
            return True
        self.level += 1
        return True

    def used(self) -> int:
        self._leak()
        return min(self.size, math.ceil(self.level - 1e-9))

    def header(self) -> str:
        return f"{self.used()}/{self.size}"

    def reset(self) -> None:
        self.level = 0.0
        self._last = self.clock()
