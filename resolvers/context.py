"""The per-request context every resolver receives.

It carries the process-wide :class:`~gateway.runtime.Runtime`, this request's DataLoaders, its
id and time budget, the upstream failures met while building partial answers, and — once
authentication lands — the caller's principal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from adapters.errors import UpstreamError
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from gateway.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    loaders: Loaders
    request_id: str
    deadline: float
    """Event-loop time after which no upstream call starts (the request budget)."""
    principal: Any = None
    """Who is asking; set by the authentication middleware (not yet: every caller is trusted)."""
    partial_errors: list[GraphQLError] = field(default_factory=list)

    def report(self, error: UpstreamError, path: list[str | int]) -> None:
        """Record a source that failed while the field still returned what the others gave."""
        self.partial_errors.append(GraphQLError(str(error), path=path, original_error=error))

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()
