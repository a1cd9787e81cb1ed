"""The query gate: what a request's document must pass before any resolver runs, so a refused
document costs no silo a request.

In order: the persisted-operation protocol (manifest by hash or document id, APQ), a role that
may run only manifest operations, the token limit (the parser stops counting there), then
depth, aliases, root fields, directives and cost against the caller's role limits (see
:mod:`gateway.limits.complexity`). Validation itself stays with the GraphQL executor.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema, parse
from graphql.error import GraphQLSyntaxError

from gateway.config import Config
from gateway.limits.complexity import CostModel, Measure, measure
from gateway.limits.persisted import (
    ApqStore,
    MemoryApqStore,
    RedisApqStore,
    sha256,
)
from gateway.limits.settings import RoleLimits
from resolvers.principal import Principal

CACHE = 1024


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


class _Lru(OrderedDict[Any, Any]):
    def remember(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > CACHE:
            self.popitem(last=False)
        return value


def _too_complex(over: list[dict[str, Any]]) -> Refused:
    names = ", ".join(f"{o['name']} {o['value']} > {o['max']}" for o in over)
    return Refused(400, "QUERY_TOO_COMPLEX", f"the query is over its limits: {names}",
                   {"limits": over})


class QueryGate:
    """Checks a request's document before any resolver runs (module doc)."""

    def __init__(self, schema: GraphQLSchema, config: Config, checks: bool = True) -> None:
        """``checks=False`` (benchmarks only) admits any document unchecked."""
        self.checks = checks
        self.schema = schema
        self.config = config
        self.limits = config.limits
        self.persisted = config.limits.persisted
        self.manifest = self.persisted.operations
        self.model = CostModel(schema)
        self._apq: ApqStore | None = None
        self._documents = _Lru()
        self._measures = _Lru()

    def _store(self, state: Any) -> ApqStore:
        if self._apq is None:
            redis = getattr(state, "redis", None)
            self._apq = RedisApqStore(redis, self.persisted.apq_ttl_s) if redis is not None \
                else MemoryApqStore(self.persisted.apq_ttl_s, self.persisted.apq_max_entries)
        return self._apq

    async def _document(self, params: Mapping[str, Any], state: Any,
                        ) -> tuple[str, bool] | Refused:
        """The document text, and whether it is a manifest operation."""
        query = params.get("query")
        extensions = params.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        document_id = next((params[k] for k in ("documentId", "doc_id", "id")
                            if isinstance(params.get(k), str)), None)
        if persisted is not None:
            digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
            if not isinstance(digest, str) or persisted.get("version") != 1:
                return Refused(400, "BAD_REQUEST", "persistedQuery needs version 1 and a "
                                                   "sha256Hash")
            digest = digest.lower()
            if digest in self.manifest:
                body = self.manifest[digest]
                if isinstance(query, str) and query.strip() and query != body:
                    return Refused(400, "PERSISTED_QUERY_HASH_MISMATCH",
                                   "the query is not the persisted operation of that hash")
                return body, True
            if not self.persisted.apq:
                return Refused(400, "PERSISTED_QUERY_NOT_SUPPORTED",
                               "PersistedQueryNotSupported")
            store = self._store(state)
            if isinstance(query, str) and query.strip():
                if sha256(query) != digest:
                    return Refused(400, "PERSISTED_QUERY_HASH_MISMATCH",
                                   "provided sha does not match query")
                await store.put(digest, query)
                return query, False
            found = await store.get(digest)
            if found is None:
                return Refused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            return found, False
        if document_id is not None:
            listed = self.manifest.get(document_id.removeprefix("sha256:").lower())
            if listed is None:
                return Refused(400, "PERSISTED_QUERY_NOT_FOUND",
                               "no persisted operation has that id")
            return listed, True
        if not isinstance(query, str) or not query.strip():
            return Refused(400, "BAD_REQUEST", "query must be a non-empty string")
        return query, False

    def _parse(self, query: str, max_tokens: int) -> DocumentNode | GraphQLSyntaxError:
        key = (query, max_tokens)
        found: DocumentNode | GraphQLSyntaxError | None = self._documents.get(key)
        if found is None:
            try:
                found = parse(query, max_tokens=max_tokens)
            except GraphQLSyntaxError as error:
                found = error
            self._documents.remember(key, found)
        return found

    def _measure(self, query: str, document: DocumentNode, operation_name: str | None,
                 variables: Mapping[str, Any], limits: RoleLimits) -> Measure | None:
        sizes = tuple(sorted((k, v) for k, v in variables.items()
                             if isinstance(v, int) and not isinstance(v, bool)))
        key = (query, operation_name, limits.default_list_size, sizes)
        if key not in self._measures:
            self._measures.remember(key, measure(self.model, document, operation_name,
                                                 variables, limits.default_list_size))
        found: Measure | None = self._measures[key]
        return found

    async def admit(self, params: Mapping[str, Any], principal: Principal | None,
                    state: Any) -> Admitted | Refused:
        """``params`` is the request's JSON (query, variables, operationName, extensions);
        ``state`` the app state (the Redis client opened in the lifespan, if any)."""
        if not self.checks:
            query = params.get("query")
            return Admitted(query) if isinstance(query, str) and query.strip() else Refused(
                400, "BAD_REQUEST", "query must be a non-empty string")
        resolved = await self._document(params, state)
        if isinstance(resolved, Refused):
            return resolved
        text, from_manifest = resolved
        role = principal.role.value if principal is not None else None
        if role in self.persisted.only_roles and not from_manifest:
            return Refused(403, "PERSISTED_OPERATION_REQUIRED",
                           "this client may run persisted operations only")
        limits = self.limits.for_role(role)
        document = self._parse(text, limits.max_tokens)
        if isinstance(document, GraphQLSyntaxError):
            if "tokens. Parsing aborted" in document.message:
                return _too_complex([{"name": "tokens", "value": f">{limits.max_tokens}",
                                      "max": limits.max_tokens}])
            return Refused(400, "GRAPHQL_PARSE_FAILED", document.message,
                           {"locations": [{"line": loc.line, "column": loc.column}
                                          for loc in document.locations or []]})
        variables = params.get("variables")
        operation_name = params.get("operationName")
        figures = self._measure(text, document,
                                operation_name if isinstance(operation_name, str) else None,
                                variables if isinstance(variables, dict) else {}, limits)
        if figures is not None:
            over = [{"name": name, "value": value, "max": limit} for name, value, limit in (
                ("depth", figures.depth, limits.max_depth),
                ("aliases", figures.aliases, limits.max_aliases),
                ("rootFields", figures.root_fields, limits.max_root_fields),
                ("directives", figures.directives, limits.max_directives),
                ("cost", figures.cost, limits.max_cost)) if value > limit]
            if over:
                return _too_complex(over)
        return Admitted(text)
