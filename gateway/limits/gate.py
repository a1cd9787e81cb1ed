"""The query gate: what a document must pass before it executes (placeholder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSchema

from gateway.config import Config
from resolvers.principal import Principal


@dataclass(frozen=True)
class Admitted:
    query: str
    """The document to execute (the persisted one, for a persisted operation)."""


@dataclass(frozen=True)
class Refused:
    status: int
    code: str
    message: str
    extensions: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


class QueryGate:
    """Checks a request's document before any resolver runs."""

    def __init__(self, schema: GraphQLSchema, config: Config) -> None:
        self.schema = schema
        self.config = config

    async def admit(self, params: Mapping[str, Any], principal: Principal | None,
                    state: Any) -> Admitted | Refused:
        """``params`` is the request's JSON (query, variables, operationName, extensions);
        ``state`` the app state (shared stores opened in the lifespan)."""
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            return Refused(400, "BAD_REQUEST", "query must be a non-empty string")
        return Admitted(query)
