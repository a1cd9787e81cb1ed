"""The customer a ``customer`` principal acts for, as a golden id of the registry."""

from __future__ import annotations

import logging

from gateway.runtime import Runtime
from resolvers.principal import Principal, Role

log = logging.getLogger("c360.auth")


async def acting_for(runtime: Runtime, principal: Principal | None) -> str | None:
    """The golden id the principal's customer claim names — a golden id (also one retired
    by a merge) or a ``kind:id`` silo record — or ``None``: staff, services, and a claim
    that names nobody the registry knows (that caller then sees no customer data at all)."""
    if principal is None or principal.role is not Role.CUSTOMER or not principal.customer:
        return None
    claim = principal.customer
    kind, sep, record_id = claim.partition(":")
    sources = [name for name, adapter in runtime.adapters.items() if adapter.kind == kind]
    if sep and sources:
        found = await runtime.registry.golden_of([(s, record_id) for s in sources])
        golden = next((g for g in found if g), None)
    else:
        golden = (await runtime.registry.resolve([claim]))[0]
    if golden is None:
        log.info("customer principal: its customer claim names nobody in the registry")
    return golden
