"""Settings of the emulated Shopify shop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ShopifySiloConfig:
    """Credentials and limits of the emulated shop.

    ``rate_limit`` turns on enforcement of the leaky bucket (``bucket_size`` requests, leaking
    ``leak_rate`` per second); the ``X-Shopify-Shop-Api-Call-Limit`` header is sent either way.
    ``clock`` is the monotonic clock the bucket reads (injectable for tests).
    ``max_request_uri`` is the longest request target (path + query, bytes) answered; longer
    ones get ``414`` like Shopify's front end.
    ``graphql_bucket_size`` and ``graphql_restore_rate`` are the Admin GraphQL API's cost bucket
    (points, points per second; 2000 and 100 as reported by standard-plan shops since 2024); it
    is reported in every answer's ``extensions.cost.throttleStatus`` and enforced (``THROTTLED``)
    only when ``rate_limit`` is on, like the REST bucket.
    """

    access_token: str = "shpat_sandbox_token"
    shop_domain: str = "c360-sandbox.myshopify.com"
    currency: str = "USD"
    rate_limit: bool = False
    bucket_size: int = 40
    leak_rate: float = 2.0
    retry_after: float = 2.0
    max_request_uri: int = 8192
    graphql_bucket_size: float = 2000.0
    graphql_restore_rate: float = 100.0
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.bucket_size < 1:
            raise ValueError("bucket_size must be at least 1")
        if self.leak_rate <= 0:
            raise ValueError("leak_rate must be positive")
        if self.graphql_bucket_size < 1:
            raise ValueError("graphql_bucket_size must be at least 1")
        if self.graphql_restore_rate <= 0:
            raise ValueError("graphql_restore_rate must be positive")
        if not self.access_token:
            raise ValueError("access_token must not be empty")
