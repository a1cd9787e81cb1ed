"""Fixtures of the Shopify adapter tests over the emulated shop."""

from __future__ import annotations

import pytest

from silos.control import SandboxControl
from silos.generator import Sandbox, generate
from silos.shopify import ShopifySiloConfig, create_app


@pytest.fixture(scope="module")
def data() -> Sandbox:
    return generate(customers=300, seed=23)


@pytest.fixture(scope="module")
def app(data: Sandbox) -> SandboxControl:
    return create_app(data.shopify, ShopifySiloConfig())
