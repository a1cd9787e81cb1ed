"""Fixtures of the Shopify emulator tests: a small shop and a client of its app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from silos.shopify import ShopifySiloConfig, create_app

from .factory import HEADERS, Shop, build_shop

BASE = "https://c360-sandbox.myshopify.com"


@pytest.fixture
def shop() -> Shop:
    return build_shop(customers=12, orders_per_customer=2)


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(shop.store, ShopifySiloConfig())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=HEADERS
    ) as c:
        yield c
