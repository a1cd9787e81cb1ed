"""What a document asks for, measured before it runs: depth, aliases, root fields,
directives, and a **cost** computed from the schema with the IBM GraphQL cost directive
semantics that Apollo's demand control uses.

- A field returning an object (or interface) costs its ``@cost`` weight (default 1, or its
  type's ``@cost``) plus what is selected under it; a leaf costs its ``@cost`` (default 0).
- A list multiplies the cost of one item by its size: the value of a slicing argument
  (``@listSize(slicingArguments: ["first"])``, read from the literal or the variables), else
  ``assumedSize``, else the role's ``default_list_size``. With ``sizedFields`` (a Relay
  connection's ``edges``) the size applies to those child fields instead.
- Fragments are expanded; selections on different concrete types of an abstract field cost
  the most expensive of them, not their sum.
- Introspection (``__schema``, ``__type``) is governed by its own switch and not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    SelectionSetNode,
    VariableNode,
    Visitor,
    visit,
)

from schema.policy import Cost, ListSize

_DEFINITION = "strawberry-definition"


@dataclass(frozen=True)
class Measure:
    depth: int
    aliases: int
    root_fields: int
    directives: int
    cost: int


@dataclass(frozen=True)
class FieldCost:
    weight: int
    list_size: ListSize | None
    is_list: bool
    composite: bool


class _Directives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter_directive(self, *_: Any) -> None:
        self.count += 1


def _directives(thing: Any) -> list[Any]:
    definition = (getattr(thing, "extensions", None) or {}).get(_DEFINITION)
    return list(getattr(definition, "directives", None) or ())


class CostModel:
    """The schema's weights and list sizes, read once."""

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
            composite = isinstance(type_, GraphQLObjectType | GraphQLInterfaceType |
                                   GraphQLUnionType)
            own = _directives(definition)
            cost = next((d for d in own if isinstance(d, Cost)), None) or next(
                (d for d in _directives(type_) if isinstance(d, Cost)), None)
            weight = int(float(cost.weight)) if cost is not None else (1 if composite else 0)
            known = self._fields[key] = FieldCost(
                weight, next((d for d in own if isinstance(d, ListSize)), None), is_list,
                composite)
        return known


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


class _Walk:
    def __init__(self, model: CostModel, fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], default_list_size: int) -> None:
        self.model = model
        self.schema = model.schema
        self.fragments = fragments
        self.variables = variables
        self.default_list_size = default_list_size
        self.aliases = 0
        self.depth = 0
        self._visiting: set[str] = set()

    def _size(self, node: FieldNode, list_size: ListSize | None) -> int:
        if list_size is not None and list_size.slicing_arguments:
            given = []
            for argument in node.arguments or ():
                if argument.name.value in list_size.slicing_arguments:
                    value = argument.value
                    if isinstance(value, IntValueNode):
                        given.append(int(value.value))
                    elif isinstance(value, VariableNode):
                        found = self.variables.get(value.name.value)
                        if isinstance(found, int) and not isinstance(found, bool):
                            given.append(found)
            if given:
                return max(0, max(given))
        if list_size is not None and list_size.assumed_size is not None:
            return list_size.assumed_size
        return self.default_list_size

    def _collect(self, parent: Any, selections: SelectionSetNode | None,
                 ) -> dict[str, list[FieldNode]]:
        """Fields by the type condition they are selected under (``""``: the parent's)."""
        grouped: dict[str, list[FieldNode]] = {}
        if selections is None:
            return grouped

        def add(condition: str, nodes: SelectionSetNode) -> None:
            for selection in nodes.selections:
                if isinstance(selection, FieldNode):
                    grouped.setdefault(condition, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    inner = selection.type_condition.name.value if selection.type_condition \
                        else condition
                    add("" if inner == parent.name else inner, selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is None or name in self._visiting:
                        continue
                    self._visiting.add(name)
                    inner = fragment.type_condition.name.value
                    add("" if inner == parent.name else inner, fragment.selection_set)
                    self._visiting.discard(name)

        add("", selections)
        return grouped

    def cost(self, parent: Any, selections: SelectionSetNode | None, depth: int,
             sized: tuple[str, ...] = (), size: int = 1) -> int:
        """The cost of a selection set on ``parent``; ``sized`` child fields count ``size``
        times (a connection's ``edges``)."""
        self.depth = max(self.depth, depth)
        grouped = self._collect(parent, selections)
        common = self._fields(parent, grouped.pop("", []), depth, sized, size)
        branches = [self._fields(self.schema.get_type(condition) or parent, nodes, depth,
                                 sized, size) for condition, nodes in grouped.items()]
        return common + max(branches, default=0)

    def _fields(self, parent: Any, nodes: list[FieldNode], depth: int, sized: tuple[str, ...],
                size: int) -> int:
        total = 0
        fields = getattr(parent, "fields", None) or {}
        for node in nodes:
            name = node.name.value
            if node.alias is not None:
                self.aliases += 1
            if name.startswith("__"):
                continue
            definition = fields.get(name)
            if definition is None:
                continue  # validation names it
            info = self.model.field(parent, name, definition)
            if name in sized:
                items, one_each = size, False  # a connection's edges: the connection's size
            elif info.is_list:
                items, one_each = self._size(node, info.list_size), False
            else:
                items, one_each = 1, True
            if not info.composite:
                total += info.weight * (1 if one_each else items)
                continue
            target = _named(definition.type)
            list_size = info.list_size
            if list_size is not None and list_size.sized_fields:
                child = self.cost(target, node.selection_set, depth + 1,
                                  tuple(list_size.sized_fields), self._size(node, list_size))
            else:
                child = self.cost(target, node.selection_set, depth + 1)
            total += items * (info.weight + child)
        return total


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def measure(model: CostModel, document: DocumentNode, operation_name: str | None,
            variables: Mapping[str, Any], default_list_size: int) -> Measure | None:
    """The figures of the operation that would run (None: no such operation, which
    validation reports)."""
    operation = operation_of(document, operation_name)
    if operation is None:
        return None
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    root = model.schema.get_root_type(operation.operation)
    if root is None:
        return None
    walk = _Walk(model, fragments, variables, default_list_size)
    cost = walk.cost(root, operation.selection_set, 1)
    roots = walk._collect(root, operation.selection_set)
    root_fields = sum(1 for nodes in roots.values() for n in nodes
                      if not n.name.value.startswith("__"))
    counter = _Directives()
    visit(document, counter)
    return Measure(depth=walk.depth, aliases=walk.aliases, root_fields=root_fields,
                   directives=counter.count, cost=cost)
