"""The execution context: graphql-core's, with a planned fast path for plain fields.

Most fields of a customer 360 are leaves read straight off an object (``number``,
``placedAt``, ``total.amount``…). graphql-core builds a path, a resolve info, calls
strawberry's default resolver and completes the value through the generic path for each of
them: about 7 µs a field, most of a 50-customer list's CPU.

So each selection set is *planned* once per request (:class:`_Plan`, cached by the identity of
graphql-core's memoized grouped field set): a *plain leaf* — a scalar or enum field without a
resolver, arguments, field extensions or middleware — is answered by reading the attribute and
coercing it (a ``str`` for ``String``/``ID``, a ``bool``, an ``int`` in range, a ``float``
pass as they are); a *pure* object or list of objects — a plain field whose whole selection
is plain leaves and pure objects, of a type without ``is_type_of`` — is built as nested dicts
in one walk, with no path, resolve info or awaitable check per field. Only the fields left
(resolvers, arguments, abstract types, ``__typename``…) go through ``execute_field``.

The result is graphql-core's: a value that does not coerce, a ``null`` in a non-null
position or a missing attribute sends that field down graphql-core's own path (which reports
the error exactly as it would have), and :meth:`LeanExecutionContext.fast_allowed` lets a
subclass keep a field off the fast path (authorization, a spent budget). Running the test
suite with ``C360_PLANNED_EXECUTION=0`` checks both paths give the same answers.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"
PLANNED = os.environ.get("C360_PLANNED_EXECUTION", "1") != "0"
"""``C360_PLANNED_EXECUTION=0`` turns the planned fast path off (every field through
``execute_field``: graphql-core's path, plain leaves read directly): CI runs the graph's tests
both ways to show they answer the same."""

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_MISSING = object()
_FAIL = object()
_NO_INFO: Any = None
"""What ``is_type_of`` is given for a resolve info: strawberry's own checks never read it."""


@dataclass(frozen=True, slots=True)
class _Leaf:
    attribute: str
    type: GraphQLLeafType
    non_null: bool


def _as_is(type_: GraphQLLeafType) -> type | None:
    """The Python type whose values ``type_`` answers unchanged."""
    if type_ is GraphQLString or type_ is GraphQLID:
        return str
    if type_ is GraphQLBoolean:
        return bool
    if type_ is GraphQLFloat:
        return float
    if type_ is GraphQLInt:
        return int
    return None


@dataclass(frozen=True, slots=True)
class _Step:
    """One response key of a planned selection set.

    ``kind``: ``leaf`` (``coerce`` the attribute), ``object`` / ``list`` (a pure object, or a
    list of them, built with ``plan``), ``nested`` / ``nested_list`` (an object, or a list of
    them, whose selection set is executed with ``grouped``), ``typename``, or ``field``
    (graphql-core's path)."""

    key: str
    kind: str
    details: FieldDetailsList
    attribute: str = ""
    non_null: bool = False
    items_non_null: bool = False
    as_is: type | None = None
    coerce: Callable[[Any], Any] | None = None
    plan: _Plan | None = None
    type: GraphQLObjectType | None = None
    grouped: GroupedFieldSet | None = None
    return_type: GraphQLOutputType | None = None
    item_type: GraphQLOutputType | None = None


@dataclass(slots=True)
class _Plan:
    steps: list[_Step]
    pure: bool
    """Only leaves and pure objects: built without graphql-core, or not at all."""


_UNSEEN = object()
_plain: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Leaf | None]] = (
    WeakKeyDictionary())


def _basic(field: GraphQLField | None, transparent: Callable[[Any], bool] | None = None
           ) -> Any:
    """The strawberry field definition of a field answered by reading an attribute, else
    None. ``transparent(resolve)`` says whether the field's resolver is strawberry's default
    one (or, for this request, as good as: :meth:`LeanExecutionContext.transparent`)."""
    if field is None or field.args:
        return None
    if not (transparent(field.resolve) if transparent is not None
            else getattr(field.resolve, "_is_default", False)):
        return None
    definition = (field.extensions or {}).get(_DEFINITION)
    if definition is None or not definition.is_basic_field or \
            definition.default_resolver is not getattr:
        return None
    return definition


def _plain_leaf(field: GraphQLField | None) -> _Leaf | None:
    definition = _basic(field)
    if definition is None:
        return None
    assert field is not None
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not is_leaf_type(inner):
        return None
    return _Leaf(definition.python_name, inner, isinstance(field.type, GraphQLNonNull))


def _leaf_value(value: Any, as_is: Any, coerce: Callable[[Any], Any]) -> Any:
    """``value`` coerced for its leaf type, or :data:`_FAIL` (graphql-core reports why)."""
    if as_is is not None and type(value) is as_is:
        if as_is is int and not _INT_MIN <= value <= _INT_MAX:
            return _FAIL
        return value
    try:
        coerced = coerce(value)
    except Exception:
        return _FAIL
    return _FAIL if coerced is None or coerced is Undefined else coerced


async def _settled(values: Any, pending: list[Any]) -> Any:
    """``values`` (a dict or a list) with the awaitables at the keys ``pending`` replaced by
    their results, awaited together (cancelling the others if one fails)."""
    if len(pending) == 1:
        values[pending[0]] = await values[pending[0]]
    else:
        awaited = await gather_with_cancel(*(values[key] for key in pending))
        for key, result in zip(pending, awaited, strict=True):
            values[key] = result
    return values


def _helpers_of(context: LeanExecutionContext) -> GraphQLResolveInfoHelpers:
    """The resolve infos' helpers, holding the context weakly. graphql-core builds them from
    the context's bound methods: a reference cycle through the context, which leaves the whole
    execution (its plans, collected fields and results) to the cycle collector once the answer
    is sent. Resolvers call them only while the execution, hence its context, is alive."""
    ref = weakref.ref(context)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        alive = ref()
        return alive.gather_async_work(values) if alive is not None \
            else gather_with_cancel(*values)

    def track(values: Sequence[Any]) -> None:
        alive = ref()
        if alive is not None:
            alive.track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain fields planned and answered directly (module
    doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        known = _plain.get(self.schema)
        if known is None:
            known = _plain[self.schema] = {}
        self._plain = known
        middleware = self.middleware_manager
        self._lean = not (middleware and middleware.middlewares)
        self._plans: dict[int, tuple[GroupedFieldSet, _Plan | None]] = {}
        self.async_helpers = _helpers_of(self)

    def fast_allowed(self, type_name: str, field_name: str) -> bool:
        """Whether the planned path may answer this field (extension point: a subclass
        that checks fields in ``execute_field`` keeps the ones it must see there)."""
        return True

    def transparent(self, resolve: Any) -> bool:
        """Whether ``resolve`` answers as strawberry's default resolver (reading the
        attribute) for this request (extension point: a subclass that wraps resolvers says
        when its wrapper changes nothing)."""
        return bool(getattr(resolve, "_is_default", False))

    def fast_open(self) -> bool:
        """Whether the planned path may run now (extension point: False once a budget is
        spent, so every field meets ``execute_field``'s check)."""
        return True

    # -- planning ------------------------------------------------------------------------
    def _plan(self, parent_type: GraphQLObjectType,
              grouped_field_set: GroupedFieldSet) -> _Plan | None:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        plan = self._make_plan(parent_type, grouped_field_set) if PLANNED and self._lean \
            else None
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _make_plan(self, parent_type: GraphQLObjectType,
                   grouped_field_set: GroupedFieldSet) -> _Plan | None:
        steps: list[_Step] = []
        for key, details in grouped_field_set.items():
            steps.append(self._step(parent_type, key, details))
        if all(step.kind == "field" for step in steps):
            return None
        return _Plan(steps, all(step.kind in ("leaf", "object", "list") for step in steps))

    def _step(self, parent_type: GraphQLObjectType, key: str,
              details: FieldDetailsList) -> _Step:
        slow = _Step(key, "field", details)
        if any(d.defer_usage is not None or d.fragment_variable_values is not None
               or d.node.arguments or d.node.directives for d in details):
            return slow
        name = details[0].node.name.value
        if name == "__typename":
            return _Step(key, "typename", details)
        if name.startswith("__") or not self.fast_allowed(parent_type.name, name):
            return slow
        field = self.schema.get_field(parent_type, name)
        definition = _basic(field, self.transparent)
        if definition is None:
            return slow
        assert field is not None
        non_null = isinstance(field.type, GraphQLNonNull)
        inner: Any = field.type.of_type if isinstance(field.type, GraphQLNonNull) \
            else field.type
        if is_leaf_type(inner):
            return _Step(key, "leaf", details, definition.python_name, non_null,
                         as_is=_as_is(inner), coerce=inner.coerce_output_value)
        listed = isinstance(inner, GraphQLList)
        item_type = inner.of_type if isinstance(inner, GraphQLList) else inner
        items_non_null = listed and isinstance(item_type, GraphQLNonNull)
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if not isinstance(named, GraphQLObjectType):
            return slow
        grouped, new_defer_usages, _ = self.collect_subfields(named, details)
        if new_defer_usages:
            return slow
        plan = self._plan(named, grouped)
        if plan is not None and plan.pure and named.is_type_of is None:
            return _Step(key, "list" if listed else "object", details, definition.python_name,
                         non_null, items_non_null=items_non_null, plan=plan)
        return _Step(key, "nested_list" if listed else "nested", details,
                     definition.python_name, non_null, items_non_null=items_non_null,
                     type=named, grouped=grouped, return_type=field.type, item_type=item_type)

    # -- executing -----------------------------------------------------------------------
    def _pure(self, plan: _Plan, source: Any) -> Any:
        """The dict of a pure plan over ``source``, or :data:`_FAIL`."""
        result: dict[str, Any] = {}
        for step in plan.steps:
            value = self._pure_value(step, source)
            if value is _FAIL:
                return _FAIL
            result[step.key] = value
        return result

    def _pure_value(self, step: _Step, source: Any) -> Any:
        value = getattr(source, step.attribute, _MISSING)
        if value is None:
            return _FAIL if step.non_null else None
        if value is _MISSING:
            return _FAIL
        kind = step.kind
        if kind == "leaf":
            assert step.coerce is not None
            return _leaf_value(value, step.as_is, step.coerce)
        plan = step.plan
        assert plan is not None
        if kind == "object":
            return self._pure(plan, value)
        if type(value) is not list and type(value) is not tuple:
            return _FAIL
        items: list[Any] = []
        for item in value:
            if item is None:
                if step.items_non_null:
                    return _FAIL
                items.append(None)
                continue
            built = self._pure(plan, item)
            if built is _FAIL:
                return _FAIL
            items.append(built)
        return items

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any,
                       path: Path | None, grouped_field_set: GroupedFieldSet,
                       position_context: Any) -> Any:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None or not self.fast_open():
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for step in plan.steps:
                kind = step.kind
                if kind == "typename":
                    results[step.key] = parent_type.name
                    continue
                if kind == "leaf" or kind == "object" or kind == "list":
                    value = self._pure_value(step, source_value)
                    if value is not _FAIL:
                        results[step.key] = value
                        continue
                    result = self._slow(parent_type, source_value, step, path,
                                        position_context)
                elif kind == "nested" or kind == "nested_list":
                    result = self._nested(parent_type, source_value, step, path,
                                          position_context)
                else:
                    result = self._slow(parent_type, source_value, step, path,
                                        position_context)
                if result is not Undefined:
                    results[step.key] = result
                    if is_awaitable(result):
                        awaitable_fields.append(step.key)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        return _settled(results, awaitable_fields)

    def _slow(self, parent_type: GraphQLObjectType, source: Any, step: _Step,
              path: Path | None, position_context: Any) -> Any:
        return self.execute_field(parent_type, source, step.details,
                                  Path(path, step.key, parent_type.name), position_context)

    def _nested(self, parent_type: GraphQLObjectType, source: Any, step: _Step,
                path: Path | None, position_context: Any) -> Any:
        """An object field (or list of objects) without a resolver: its selection set
        executed straight away, with graphql-core's error handling at the field and at each
        item; anything unusual (null, a value of another type, not a list) takes
        graphql-core's path."""
        named, grouped = step.type, step.grouped
        assert named is not None and grouped is not None
        value = getattr(source, step.attribute, _MISSING)
        is_type_of = named.is_type_of
        if step.kind == "nested":
            if value is None or value is _MISSING or (
                    is_type_of is not None and is_type_of(value, _NO_INFO) is not True):
                return self._slow(parent_type, source, step, path, position_context)
            field_path = Path(path, step.key, parent_type.name)
            return self._guarded(lambda: self.execute_fields(
                named, value, field_path, grouped, None), step.return_type, step,
                field_path)
        if (type(value) is not list and type(value) is not tuple) or any(
                item is None or (is_type_of is not None and is_type_of(item, _NO_INFO) is not True)
                for item in value):
            return self._slow(parent_type, source, step, path, position_context)
        field_path = Path(path, step.key, parent_type.name)
        return self._guarded(lambda: self._items(named, grouped, value, field_path, step),
                             step.return_type, step, field_path)

    def _items(self, named: GraphQLObjectType, grouped: GroupedFieldSet, items: Any,
               field_path: Path, step: _Step) -> Any:
        completed: list[Any] = []
        pending: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, item in enumerate(items):
                item_path = Path(field_path, index, None)
                result = self._guarded(
                    lambda item=item, item_path=item_path: self.execute_fields(  # type: ignore[misc]
                        named, item, item_path, grouped, None),
                    step.item_type, step, item_path)
                if is_awaitable(result):
                    pending.append(index)
                completed.append(result)
        except Exception:
            if pending:
                self.settle_in_background([completed[i] for i in pending])
            raise
        if not pending:
            return completed

        return _settled(completed, pending)

    def _guarded(self, run: Callable[[], Any], return_type: GraphQLOutputType | None,
                 step: _Step, path: Path) -> Any:
        """``run()`` with graphql-core's field error handling: an error is located at
        ``path`` and nulls the value, or propagates if ``return_type`` is non-null."""
        assert return_type is not None
        try:
            result = run()
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, step.details, path)
            return None
        if not self.is_awaitable(result):
            return result

        async def settle() -> Any:
            try:
                return await result
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, step.details, path)
                return None

        return settle()

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
