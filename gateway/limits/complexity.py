"""What a document asks for, measured before it runs: depth, aliases, root fields,
directives, and a **cost** computed from the schema with the IBM GraphQL cost directive
semantics that Apollo's demand control uses.

- A field returning an object (or interface) costs its ``@cost`` weight (default 1, or its
  type's ``@cost``) plus what is selected under it; a leaf costs its ``@cost`` (default 0).
  An argument's ``@cost`` adds to its field when the argument is given.
- A list multiplies the cost of one item by its size: the value of a slicing argument
  (``@listSize(slicingArguments: ["first"])``, read from the literal, the variables, the
  variable's default or the argument's default), else ``assumedSize``, else the role's
  ``default_list_size``. With ``sizedFields`` (a Relay connection's ``edges``) the size
  applies to those child fields instead.
- Fields are collected as the executor collects them: fragments expanded (each fragment once
  per selection set), fields of the same response key merged. On an abstract type the cost
  is the most expensive of its possible types, each with the fragments that apply to it.
- Introspection (``__schema``, ``__type``) is governed by its own switch and not counted.

The walk is linear in the document, whatever its fragments: a selection set is measured once
per (type, size), so nested spreads of one fragment cannot make it exponential, and a
fragment cycle (which validation refuses) ends instead of looping. It never descends past
``WALK_DEPTH`` levels (graphql-core's own nesting limit), reporting ``WALK_DEPTH + 1``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.utilities.coerce_input_value import coerce_default_value

from gateway.limits.settings import MAX_DEPTH
from schema.policy import Cost, ListSize

_DEFINITION = "strawberry-definition"
WALK_DEPTH = MAX_DEPTH
"""Levels the walk descends at most (graphql-core's parser refuses deeper nesting)."""


@dataclass(frozen=True)
class Measure:
    depth: int
    aliases: int
    root_fields: int
    directives: int
    cost: int
    sized_by: frozenset[str] = frozenset()
    """The variables a list size is read from (the only ones the cost depends on)."""


@dataclass(frozen=True)
class FieldCost:
    weight: int
    list_size: ListSize | None
    is_list: bool
    composite: bool
    argument_weights: Mapping[str, int]
    defaults: Mapping[str, int]
    """Integer defaults of the slicing arguments."""


class _Directives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter_directive(self, *_: Any) -> None:
        self.count += 1


def _directives(thing: Any) -> list[Any]:
    definition = (getattr(thing, "extensions", None) or {}).get(_DEFINITION)
    return list(getattr(definition, "directives", None) or ())


def _weight(directives: list[Any]) -> int | None:
    cost = next((d for d in directives if isinstance(d, Cost)), None)
    return None if cost is None else int(float(cost.weight))


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


class CostModel:
    """The schema's weights and list sizes, read once per field."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._fields: dict[tuple[str, str], FieldCost] = {}

    def field(self, parent: Any, name: str, definition: GraphQLField) -> FieldCost:
        key = (parent.name, name)
        known = self._fields.get(key)
        if known is None:
            type_ = definition.type
            is_list = False
            while isinstance(type_, GraphQLNonNull | GraphQLList):
                is_list = is_list or isinstance(type_, GraphQLList)
                type_ = type_.of_type
            composite = isinstance(type_, GraphQLObjectType | GraphQLInterfaceType
                                   | GraphQLUnionType)
            own = _directives(definition)
            weight = _weight(own)
            if weight is None:
                weight = _weight(_directives(type_))
            list_size = next((d for d in own if isinstance(d, ListSize)), None)
            slicing = (list_size.slicing_arguments or []) if list_size is not None else []
            arguments = {n: w for n, a in definition.args.items()
                         if (w := _weight(_directives(a))) is not None}
            defaults = {n: d for n, a in definition.args.items()
                        if n in slicing and isinstance(d := coerce_default_value(a), int)
                        and not isinstance(d, bool)}
            known = self._fields[key] = FieldCost(
                weight if weight is not None else (1 if composite else 0), list_size, is_list,
                composite, arguments, defaults)
        return known


_Figures = tuple[int, int, int]
"""cost, height (field levels from here down), aliases"""
_NOTHING: _Figures = (0, 0, 0)


class _Walk:
    def __init__(self, model: CostModel, fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], defaults: Mapping[str, Any],
                 default_list_size: int) -> None:
        self.model = model
        self.schema = model.schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.default_list_size = default_list_size
        self.sized_by: set[str] = set()
        self._memo: dict[tuple[Any, ...], _Figures] = {}

    def _variable(self, name: str) -> int | None:
        self.sized_by.add(name)  # whatever its value now: another request's may differ
        found = self.variables.get(name, self.defaults.get(name))
        return found if isinstance(found, int) and not isinstance(found, bool) else None

    def _size(self, node: FieldNode, info: FieldCost) -> int:
        list_size = info.list_size
        if list_size is not None and list_size.slicing_arguments:
            given: dict[str, int] = {}
            for argument in node.arguments or ():
                name = argument.name.value
                if name in list_size.slicing_arguments:
                    value = argument.value
                    if isinstance(value, IntValueNode):
                        given[name] = int(value.value)
                    elif isinstance(value, VariableNode):
                        found = self._variable(value.name.value)
                        if found is not None:
                            given[name] = found
            sizes = [given.get(n, info.defaults.get(n)) for n in list_size.slicing_arguments]
            known = [s for s in sizes if s is not None]
            if known:
                return max(0, *known)
        if list_size is not None and list_size.assumed_size is not None:
            return list_size.assumed_size
        return self.default_list_size

    def _collect(self, sets: tuple[SelectionSetNode, ...],
                 ) -> list[tuple[tuple[str, ...], FieldNode]]:
        """The fields in order, each with the type conditions it is under (the executor's
        CollectFields: every fragment once). Iterative: a chain of spreads cannot recurse."""
        found: list[tuple[tuple[str, ...], FieldNode]] = []
        visited: set[str] = set()
        stack: list[tuple[tuple[str, ...], Iterator[SelectionNode]]] = [
            ((), iter(s.selections)) for s in reversed(sets)]
        while stack:
            conditions, selections = stack[-1]
            selection = next(selections, None)
            if selection is None:
                stack.pop()
            elif isinstance(selection, FieldNode):
                found.append((conditions, selection))
            elif isinstance(selection, InlineFragmentNode):
                inner = conditions + ((selection.type_condition.name.value,)
                                      if selection.type_condition else ())
                stack.append((inner, iter(selection.selection_set.selections)))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visited:
                    continue
                visited.add(name)
                stack.append((conditions + (fragment.type_condition.name.value,),
                              iter(fragment.selection_set.selections)))
        return found

    def _concrete(self, parent: Any) -> list[GraphQLObjectType]:
        if isinstance(parent, GraphQLObjectType):
            return [parent]
        if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            return list(self.schema.get_possible_types(parent))
        return []

    def _applies(self, condition: str, concrete: GraphQLObjectType) -> bool:
        if condition == concrete.name:
            return True
        type_ = self.schema.get_type(condition)
        return isinstance(type_, GraphQLInterfaceType | GraphQLUnionType) and \
            self.schema.is_sub_type(type_, concrete)

    def selections(self, parent: Any, sets: tuple[SelectionSetNode, ...], depth: int,
                   sized: tuple[str, ...] = (), size: int = 1) -> _Figures:
        """The figures of selection sets (merged: one field's occurrences) on ``parent``,
        whose fields are at level ``depth``; ``sized`` child fields count ``size`` times (a
        connection's ``edges``)."""
        if depth > WALK_DEPTH:
            return (0, 1, 0)
        key = (parent.name, tuple(map(id, sets)), sized, size)
        known = self._memo.get(key)
        if known is not None:
            return known
        self._memo[key] = _NOTHING  # a fragment cycle (validation refuses it) stops here
        pairs = self._collect(sets)
        best = _NOTHING
        for concrete in self._concrete(parent):
            merged: dict[str, list[FieldNode]] = {}
            for conditions, node in pairs:
                if all(self._applies(c, concrete) for c in conditions):
                    merged.setdefault((node.alias or node.name).value, []).append(node)
            figures = self._fields(concrete, merged, depth, sized, size)
            best = (max(best[0], figures[0]), max(best[1], figures[1]),
                    max(best[2], figures[2]))
        self._memo[key] = best
        return best

    def _fields(self, parent: GraphQLObjectType, merged: Mapping[str, list[FieldNode]],
                depth: int, sized: tuple[str, ...], size: int) -> _Figures:
        cost = height = aliases = 0
        for nodes in merged.values():
            node = nodes[0]
            name = node.name.value
            height = max(height, 1)
            if node.alias is not None:
                aliases += 1
            if name.startswith("__"):
                continue
            definition = parent.fields.get(name)
            if definition is None:
                continue  # validation names it
            info = self.model.field(parent, name, definition)
            own = info.weight + sum(info.argument_weights.get(a.name.value, 0)
                                    for a in node.arguments or ())
            if name in sized:
                items = size  # a connection's edges: the connection's size
            elif info.is_list:
                items = self._size(node, info)
            else:
                items = 1
            if not info.composite:
                cost += own * items
                continue
            target = _named(definition.type)
            sets = tuple(n.selection_set for n in nodes if n.selection_set is not None)
            if info.list_size is not None and info.list_size.sized_fields:
                child = self.selections(target, sets, depth + 1,
                                        tuple(info.list_size.sized_fields),
                                        self._size(node, info))
            else:
                child = self.selections(target, sets, depth + 1)
            cost += items * (own + child[0])
            height = max(height, 1 + child[1])
            aliases += child[2]
        return cost, height, aliases


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _defaults(operation: OperationDefinitionNode) -> dict[str, int]:
    return {d.variable.name.value: int(d.default_value.value)
            for d in operation.variable_definitions or ()
            if isinstance(d.default_value, IntValueNode)}


def measure(model: CostModel, document: DocumentNode, operation_name: str | None,
            variables: Mapping[str, Any], default_list_size: int) -> Measure | None:
    """The figures of the operation that would run (None: no such operation, which
    validation reports)."""
    operation = operation_of(document, operation_name)
    if operation is None:
        return None
    root = model.schema.get_root_type(operation.operation)
    if root is None:
        return None
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    walk = _Walk(model, fragments, variables, _defaults(operation), default_list_size)
    cost, depth, aliases = walk.selections(root, (operation.selection_set,), 1)
    root_fields = len({(n.alias or n.name).value for _, n in
                       walk._collect((operation.selection_set,))
                       if not n.name.value.startswith("__")})
    counter = _Directives()
    visit(document, counter)
    return Measure(depth=depth, aliases=aliases, root_fields=root_fields,
                   directives=counter.count, cost=cost, sized_by=frozenset(walk.sized_by))
