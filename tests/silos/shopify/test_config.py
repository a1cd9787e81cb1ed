from __future__ import annotations

import dataclasses

import pytest

from silos.shopify import ShopifySiloConfig


def test_defaults() -> None:
    config = ShopifySiloConfig()
    assert (config.access_token, config.shop_domain, config.currency) == (
        "shpat_sandbox_token",
        "c360-sandbox.myshopify.com",
        "USD",
    )
    assert (config.rate_limit, config.bucket_size, config.leak_rate) == (False, 40, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rate_limit = True  # type: ignore[misc]


@pytest.mark.parametrize("changes", [{"bucket_size": 0}, {"leak_rate": 0.0}, {"access_token": ""}])
def test_invalid_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ShopifySiloConfig(**changes)  # type: ignore[arg-type]
