"""The adapters' shared contract suite runs each adapter against its emulated silo, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.config import parse_config
from gateway.runtime import Runtime, open_runtime
from silos.sandbox import RunningSandbox, SandboxOptions, gateway_config, prepare


@pytest.fixture(scope="session")
def contract_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    return prepare(SandboxOptions(customers=400, seed=11,
                                  data_dir=tmp_path_factory.mktemp("contract")))


@pytest.fixture
async def contract_runtime(contract_sandbox: RunningSandbox) -> AsyncIterator[Runtime]:
    config = parse_config(gateway_config(contract_sandbox), env={})
    async with open_runtime(config, transports=contract_sandbox.transports()) as runtime:
        yield runtime


class SiloStats:
    """The emulated silo's own request counters (``/_sandbox/stats``)."""

    def __init__(self, sandbox: RunningSandbox, kind: str) -> None:
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.apps[kind]),
                                        base_url="http://silo")

    async def reset(self) -> None:
        await self.client.post("/_sandbox/reset")

    async def total(self) -> int:
        return int((await self.client.get("/_sandbox/stats")).json()["total"])
