"""The customer-360 GraphQL schema (strawberry, code-first).

``build_schema()`` makes the executable schema; ``c360 schema`` prints its SDL, committed as
``schema/schema.graphql``.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache

from schema.authorization import GuardedExecutionContext, policy_of
from schema.extensions import GatewayErrors, HideSuggestions
from schema.mutation import Mutation
from schema.query import Query
from schema.types import Customer, Location, Order, Product, Ticket


class C360Schema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Errors are logged by :class:`GatewayErrors` (unexpected ones only, no PII)."""


def build_schema(*, introspection: bool = True, suggestions: bool = True) -> C360Schema:
    """The executable schema, its authorization rules read and installed
    (``schema.authorization``); ``introspection`` and ``suggestions`` ("Did you mean …?")
    are a gateway's ``limits.*`` settings (off in production)."""
    extensions: list[Any] = [GatewayErrors if suggestions else HideSuggestions,
                             lambda: ParserCache(maxsize=512)]
    if not introspection:
        extensions.append(DisableIntrospection)
    extensions.append(lambda: ValidationCache(maxsize=512))
    schema = C360Schema(
        query=Query,
        mutation=Mutation,
        types=[Customer, Order, Product, Location, Ticket],
        extensions=extensions,
        execution_context_class=GuardedExecutionContext,
    )
    policy_of(schema._schema)
    return schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
