"""The execution context: graphql-core's, with a fast path for plain leaf fields.

Most fields of a customer 360 are leaves read straight off an object (``number``,
``placedAt``, ``total.amount``…). graphql-core builds a resolve info, calls strawberry's
default resolver and completes the value through the generic path for each of them: about
7 µs a field, most of a 50-customer list's CPU. A *plain leaf* — a scalar or enum field
without a resolver, arguments, field extensions or middleware — is answered here by reading
the attribute and coercing it, with the same result. Anything else, and any value that does
not coerce (so the error is graphql-core's own), goes through graphql-core's path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"


@dataclass(frozen=True, slots=True)
class _Leaf:
    attribute: str
    type: GraphQLLeafType
    non_null: bool


_UNSEEN = object()
_plain: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Leaf | None]] = (
    WeakKeyDictionary())


def _plain_leaf(field: GraphQLField | None) -> _Leaf | None:
    if field is None or field.args or not getattr(field.resolve, "_is_default", False):
        return None
    definition = (field.extensions or {}).get(_DEFINITION)
    if definition is None or not definition.is_basic_field or \
            definition.default_resolver is not getattr:
        return None
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not is_leaf_type(inner):
        return None
    return _Leaf(definition.python_name, inner, isinstance(field.type, GraphQLNonNull))


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain leaves read and coerced directly (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        known = _plain.get(self.schema)
        if known is None:
            known = _plain[self.schema] = {}
        self._plain = known
        middleware = self.middleware_manager
        self._lean = not (middleware and middleware.middlewares)

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: FieldDetailsList, path: Path,
                      position_context: Any) -> Any:
        details = field_details_list[0]
        name = details.node.name.value
        known = self._plain
        leaf = known.get((parent_type.name, name), _UNSEEN)
        if leaf is _UNSEEN:
            leaf = known[(parent_type.name, name)] = _plain_leaf(
                self.schema.get_field(parent_type, name))
        if self._lean and isinstance(leaf, _Leaf) and not details.node.arguments:
            value = getattr(source, leaf.attribute, Undefined)
            if value is None and not leaf.non_null:
                return None
            if value is not None and value is not Undefined:
                try:
                    coerced = leaf.type.coerce_output_value(value)
                except Exception:  # graphql-core's path below reports it
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    return coerced
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)
