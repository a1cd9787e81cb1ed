"""Schema extensions: error masking and the upstream error codes callers rely on."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from sqlalchemy.exc import SQLAlchemyError
from strawberry.extensions import SchemaExtension

from adapters.errors import (
    GatewayError,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger("c360.graphql")

_PUBLIC = {
    UpstreamTimeout: "{source} did not answer in time",
    UpstreamRateLimited: "{source} is limiting requests; try again shortly",
    UpstreamBadResponse: "{source} answered with something unusable",
    UpstreamAuthError: "{source} is unavailable",
}


def public_error(error: GraphQLError, request_id: str) -> GraphQLError:
    """What the caller may see of an error."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    if isinstance(original, SQLAlchemyError):
        # adapters map their own databases' errors: a raw one here is the registry's (the
        # gateway's own database), e.g. linking what a live search found
        log.warning("request %s: registry %s at %s", request_id, type(original).__name__,
                    error.path)
        unavailable = UpstreamUnavailable("registry", f"database error "
                                                      f"{type(original).__name__}")
        unavailable.__cause__ = original
        original = unavailable
    if isinstance(original, UpstreamRejected):
        return GraphQLError(f"{original.source} refused the write: "
                            f"{str(original).split(': ', 1)[-1]}", nodes=error.nodes,
                            path=error.path, original_error=original,
                            extensions={"code": original.code, "source": original.source})
    if isinstance(original, UpstreamError):
        template = next((t for cls, t in _PUBLIC.items() if isinstance(original, cls)),
                        "{source} is unavailable")
        return GraphQLError(template.format(source=original.source), nodes=error.nodes,
                            path=error.path, original_error=original,
                            extensions={"code": original.code, "source": original.source})
    if isinstance(original, GatewayError):
        return GraphQLError(str(original), nodes=error.nodes, path=error.path,
                            original_error=original, extensions={"code": original.code})
    log.error("request %s: unexpected %s at %s", request_id, type(original).__name__,
              error.path, exc_info=(type(original), original, original.__traceback__))
    return GraphQLError("Internal server error", nodes=error.nodes, path=error.path,
                        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id})


class GatewayErrors(SchemaExtension):
    """Adds the partial-result errors resolvers reported, gives upstream failures their
    stable ``extensions.code`` and ``source``, and masks anything unexpected (logged with the
    request id the caller also gets)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result: Any = self.execution_context.result
        context = self.execution_context.context
        if result is None:
            return
        errors = list(result.errors or [])
        errors += getattr(context, "partial_errors", [])
        if not errors:
            return
        request_id = getattr(context, "request_id", "-")
        seen: set[tuple[str, tuple[Any, ...]]] = set()
        public = []
        for error in errors:
            shown = public_error(error, request_id)
            key = (shown.message, tuple(shown.path or ()))
            if key not in seen:
                seen.add(key)
                public.append(shown)
        result.errors = public


_SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.S)


class HideSuggestions(GatewayErrors):
    """:class:`GatewayErrors`, and no "Did you mean …?" in any message: suggestions map the
    schema for someone who may not introspect it."""

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        result: Any = self.execution_context.result
        for error in (result.errors or []) if result is not None else []:
            error.message = _SUGGESTION.sub("", error.message)
