"""The per-request context every resolver receives.

It carries the process-wide :class:`~gateway.runtime.Runtime`, this request's DataLoaders, its
id and time budget, the upstream failures met while building partial answers, the caller's
principal (with the golden id of the customer it acts for, if any) and the customer profile
reads the PII access audit records.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from adapters.errors import UpstreamError
from resolvers.loaders import Loaders
from resolvers.principal import Principal

if TYPE_CHECKING:
    from gateway.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    loaders: Loaders
    request_id: str
    deadline: float
    """Event-loop time after which no upstream call starts (the request budget)."""
    principal: Principal | None = None
    """Who is asking (authentication middleware); ``None`` only in in-process tools."""
    acting_for: str | None = None
    """The golden id of the customer a customer principal acts for, resolved through the
    registry for this request (``None`` for staff and services, or when nobody matches)."""
    accessed: dict[str, set[str]] = field(default_factory=dict)
    """Golden id → groups of profile fields read in this request (the PII access audit)."""
    partial_errors: list[GraphQLError] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)
    """Where the answer holds cached values because their source failed (``extensions.stale``:
    path, source, age in seconds)."""
    idempotency_key: str | None = None
    """The request's ``Idempotency-Key`` header (a mutation's key unless it gives one)."""
    guard: object = None
    """This request's authorization state (``schema.authorization.Guard``), set by the
    execution context."""
    answer_deadline: float | None = None
    """Event-loop time by which the answer must be out (the whole budget): execution stops
    resolving fields after it."""
    budget_spent: bool = False
    """Set by the execution context when the budget ran out during execution: the fields
    after that moment were not resolved, so the answer is cut (``BUDGET_EXCEEDED``)."""

    def report(self, error: UpstreamError, path: list[str | int]) -> None:
        """Record a source that failed while the field still returned what the others gave."""
        self.partial_errors.append(GraphQLError(str(error), path=path, original_error=error))

    def report_stale(self, source: str, age_s: float, path: list[str | int]) -> None:
        """Record that the field at ``path`` shows what ``source`` answered ``age_s`` ago (it
        failed now: stale-if-error)."""
        entry = {"path": path, "source": source, "ageSeconds": round(age_s, 1)}
        if entry not in self.stale:
            self.stale.append(entry)

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()
