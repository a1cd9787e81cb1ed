"""The query gate: what a request's document must pass before any resolver runs, so a refused
document costs no silo a request.

In order: the persisted-operation protocol (manifest by hash or document id, APQ); a role
that may run only manifest operations; the token limit (the parser stops counting there);
depth, aliases, root fields, directives and cost against the caller's role limits (see
:mod:`gateway.limits.complexity`; measured before validation, whose cost grows faster with
the document); validation against the schema, with introspection refused and no "Did you
mean …?" unless ``[limits]`` turns them on. Only a document that passes all of them is kept
in the APQ store. Parsing, validation and the measure are cached per distinct document, so a
repeated one costs a few dictionary lookups.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationType,
    parse,
    specified_rules,
    validate,
)
from graphql.error import GraphQLSyntaxError

from gateway.config import Config
from gateway.limits.complexity import WALK_DEPTH, CostModel, Measure, measure, operation_of
from gateway.limits.persisted import (
    SHA256,
    ApqStore,
    MemoryApqStore,
    RedisApqStore,
    manifest_key,
    sha256,
)
from gateway.limits.settings import RoleLimits
from resolvers.principal import Principal

CACHE = 1024
"""Entries per cache (parsed, measured, validated documents)."""
CACHED_TEXT = 32_768
MAX_VALIDATION_ERRORS = 25
UNCHECKED_TOKENS = 1_000_000


@dataclass(frozen=True)
class Admitted:
    query: str
    """The document to execute (the persisted one, for a persisted operation)."""
    mutation: bool = False
    """Whether the operation to run is a mutation (it gets the saga budget)."""
    cost: int | None = field(default=None, compare=False)
    """The operation's static cost (:mod:`gateway.limits.complexity`; None when it has none):
    admission's prior for a document it has not measured yet."""
    operation: str = field(default="", compare=False)
    """The name of the operation to run (``""``: unnamed), for metrics and logs."""


def _chosen(document: DocumentNode, operation_name: Any) -> tuple[bool, str] | Refused:
    """Whether the operation to run is a mutation, and its name; refused when
    ``operationName`` names none of the document's operations (or several are there and none
    is named). The name is not echoed: a client may have put anything in it."""
    operation = operation_of(document, operation_name if isinstance(operation_name, str)
                             else None)
    if operation is None:
        return Refused(400, "BAD_REQUEST", "operationName must name one of the document's "
                                           "operations (required when it has several)")
    return (operation.operation is OperationType.MUTATION,
            operation.name.value if operation.name is not None else "")


@dataclass(frozen=True)
class Refused:
    status: int
    code: str
    message: str
    extensions: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    locations: Sequence[tuple[int, int]] = ()
    """Where in the document (line, column), for parse and validation errors."""
    others: Sequence[tuple[str, Sequence[tuple[int, int]]]] = ()
    """Further errors of the same code (validation reports every one it finds)."""

    def errors(self) -> list[dict[str, Any]]:
        """The response's ``errors`` list."""
        extensions = {"code": self.code, **self.extensions}
        return [_error(message, locations, extensions)
                for message, locations in ((self.message, self.locations), *self.others)]


def _error(message: str, locations: Sequence[tuple[int, int]],
           extensions: Mapping[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if locations:
        error["locations"] = [{"line": line, "column": column} for line, column in locations]
    error["extensions"] = extensions
    return error


def _locations(error: GraphQLError) -> list[tuple[int, int]]:
    return [(loc.line, loc.column) for loc in error.locations or ()]


class _Lru(OrderedDict[Any, Any]):
    def remember(self, key: Any, value: Any, text: str) -> Any:
        """Keeps ``value`` unless its document is larger than ``CACHED_TEXT`` (a cache of
        huge documents would be a way to fill the memory)."""
        if len(text) <= CACHED_TEXT:
            self[key] = value
            if len(self) > CACHE:
                self.popitem(last=False)
        return value


def _too_complex(over: list[dict[str, Any]]) -> Refused:
    names = ", ".join(f"{o['name']} {o['value']} > {o['max']}" for o in over)
    return Refused(400, "QUERY_TOO_COMPLEX", f"the query is over its limits: {names}",
                   {"limits": over})


_ABSENT = object()


def _size(value: Any) -> int | str | None:
    """A variable's value as the cost reads it: an int, absent (its default), or neither."""
    if value is _ABSENT:
        return "absent"
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class QueryGate:
    """Checks a request's document before any resolver runs (module doc)."""

    def __init__(self, schema: GraphQLSchema, config: Config, checks: bool = True) -> None:
        """``checks=False`` (benchmarks only) admits any document unchecked."""
        self.checks = checks
        self.schema = schema
        self.limits = config.limits
        self.persisted = config.limits.persisted
        self.manifest = self.persisted.operations
        self.model = CostModel(schema)
        self.rules = list(specified_rules)
        if not self.limits.introspection:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self._apq: ApqStore | None = None
        self._documents = _Lru()
        self._shapes = _Lru()
        self._measures = _Lru()
        self._validated = _Lru()

    def _store(self, state: Any) -> ApqStore:
        if self._apq is None:
            redis = getattr(state, "redis", None)
            self._apq = RedisApqStore(redis, self.persisted.apq_ttl_s) if redis is not None \
                else MemoryApqStore(self.persisted.apq_ttl_s, self.persisted.apq_max_entries)
        return self._apq

    async def _document(self, params: Mapping[str, Any], state: Any,
                        ) -> tuple[str, bool, str | None] | Refused:
        """The document text, whether it is a manifest operation, and the APQ hash to keep it
        under once it is admitted."""
        query = params.get("query")
        has_query = isinstance(query, str) and bool(query.strip())
        extensions = params.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        document_id = next((params[k] for k in ("documentId", "doc_id", "id")
                            if isinstance(params.get(k), str)), None)
        if persisted is not None:
            digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
            if not isinstance(digest, str) or persisted.get("version") != 1 or \
                    not SHA256.match(digest.lower()):
                return Refused(400, "BAD_REQUEST", "persistedQuery needs version 1 and a "
                                                   "sha256Hash (64 hex digits)")
            digest = digest.lower()
            if digest in self.manifest:
                body = self.manifest[digest]
                if has_query and query != body:
                    return Refused(400, "PERSISTED_QUERY_HASH_MISMATCH",
                                   "the query is not the persisted operation of that hash")
                return body, True, None
            if not self.persisted.apq:
                return Refused(200, "PERSISTED_QUERY_NOT_SUPPORTED",
                               "PersistedQueryNotSupported")
            if has_query:
                assert isinstance(query, str)
                if sha256(query) != digest:
                    return Refused(400, "PERSISTED_QUERY_HASH_MISMATCH",
                                   "provided sha does not match query")
                return query, False, digest
            found = await self._store(state).get(digest)
            if found is None:
                return Refused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            return found, False, None
        if document_id is not None:
            listed = self.manifest.get(manifest_key(document_id))
            if listed is None:
                return Refused(400, "PERSISTED_QUERY_NOT_FOUND",
                               "no persisted operation has that id")
            return listed, True, None
        if not has_query:
            return Refused(400, "BAD_REQUEST", "query must be a non-empty string")
        assert isinstance(query, str)
        return query, False, None

    def _parse(self, query: str, max_tokens: int) -> DocumentNode | GraphQLSyntaxError:
        key = (query, max_tokens)
        found: DocumentNode | GraphQLSyntaxError | None = self._documents.get(key)
        if found is None:
            try:
                found = parse(query, max_tokens=max_tokens)
            except GraphQLSyntaxError as error:
                found = error
            self._documents.remember(key, found, query)
        return found

    def _measure(self, query: str, document: DocumentNode, operation_name: str | None,
                 variables: Mapping[str, Any], limits: RoleLimits) -> Measure | None:
        """Cached by document; a cost read from variables (a connection's ``first: $n``) is
        cached per value of those variables only."""
        shape = (query, operation_name, limits.default_list_size)
        names: tuple[str, ...] | None = self._shapes.get(shape)
        if names is not None:
            key = (shape, tuple(_size(variables.get(n, _ABSENT)) for n in names))
            if key in self._measures:
                known: Measure | None = self._measures[key]
                return known
        found = measure(self.model, document, operation_name, variables,
                        limits.default_list_size)
        names = tuple(sorted(found.sized_by)) if found is not None else ()
        self._shapes.remember(shape, names, query)
        sizes = tuple(_size(variables.get(n, _ABSENT)) for n in names)
        self._measures.remember((shape, sizes), found, query)
        return found

    def _validate(self, query: str, document: DocumentNode) -> list[GraphQLError]:
        found: list[GraphQLError] | None = self._validated.get(query)
        if found is None:
            found = self._validated.remember(query, validate(
                self.schema, document, self.rules, max_errors=MAX_VALIDATION_ERRORS,
                hide_suggestions=not self.limits.suggestions), query)
        return found

    def _only_queries(self, document: DocumentNode, operation_name: Any) -> Refused | None:
        """GET may run queries only (GraphQL over HTTP): 405 before anything else is
        checked."""
        operation = operation_of(document, operation_name if isinstance(operation_name, str)
                                 else None)
        if operation is not None and operation.operation is not OperationType.QUERY:
            return Refused(405, "BAD_REQUEST", "only queries may be sent with GET",
                           headers={"Allow": "POST"})
        return None

    async def admit(self, params: Mapping[str, Any], principal: Principal | None,
                    state: Any, method: str = "POST") -> Admitted | Refused:
        """``params`` is the request's JSON (query, variables, operationName, extensions);
        ``state`` the app state (the Redis client opened in the lifespan, if any); ``method``
        the HTTP method. A ``principal`` of None (no authentication configured) gets the
        tightest limits."""
        if not self.checks:
            query = params.get("query")
            if not isinstance(query, str) or not query.strip():
                return Refused(400, "BAD_REQUEST", "query must be a non-empty string")
            parsed = self._parse(query, UNCHECKED_TOKENS)
            if not isinstance(parsed, DocumentNode):
                return Admitted(query)
            name = params.get("operationName")
            if method == "GET" and (refused := self._only_queries(parsed, name)):
                return refused
            variables = params.get("variables")
            figures = self._measure(
                query, parsed, name if isinstance(name, str) else None,
                variables if isinstance(variables, dict) else {},
                self.limits.for_role(principal.role.value if principal is not None else None))
            picked = _chosen(parsed, name)
            if isinstance(picked, Refused):
                return picked
            mutation, chosen = picked
            return Admitted(query, mutation, figures.cost if figures is not None else None,
                            chosen)
        resolved = await self._document(params, state)
        if isinstance(resolved, Refused):
            return resolved
        text, from_manifest, register = resolved
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
            if "nested too deeply" in document.message:
                return _too_complex([{"name": "depth", "value": f">{WALK_DEPTH}",
                                      "max": limits.max_depth}])
            return Refused(400, "GRAPHQL_PARSE_FAILED", document.message,
                           locations=_locations(document))
        operation_name = params.get("operationName")
        if method == "GET" and (refused := self._only_queries(document, operation_name)):
            return refused
        variables = params.get("variables")
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
        errors = self._validate(text, document)
        if errors:
            return Refused(400, "GRAPHQL_VALIDATION_FAILED", errors[0].message,
                           locations=_locations(errors[0]),
                           others=[(e.message, _locations(e)) for e in errors[1:]])
        if register is not None:
            await self._store(state).put(register, text)
        picked = _chosen(document, operation_name)
        if isinstance(picked, Refused):
            return picked
        mutation, chosen = picked
        return Admitted(text, mutation, figures.cost if figures is not None else None, chosen)
