"""Enforcing the rules declared on the schema (``schema.policy``), for every field of every
operation, whatever resolver answers it.

- :class:`Policy` reads the directives once per schema: each field's scope rule, the rules of
  the types it returns, argument rules, masks, ownership, store scoping, public-only items and
  PII access groups. It wraps the resolvers of the few fields that need more than a yes or no.
- :class:`Guard` is one request's view of it: which fields this caller's scopes allow (one
  table per distinct set of scopes, shared by every request that has it), whose data it acts
  for, which store it works in, and the customer profile reads to audit.
- :class:`GuardedExecutionContext` refuses a field the caller may not read before its resolver
  runs: ``null`` and an error with ``extensions.code = FORBIDDEN`` at its path; the rest of
  the answer stands. Objects of an ``@owned`` type that are not the acting customer's are
  answered as if they did not exist.

A field without any rule is refused (deny by default); ``tests/test_schema_policy.py`` fails
for one, so a new field is denied until someone declares who may read it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    default_field_resolver,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path

from resolvers.principal import Principal, Role
from schema.execution import LeanExecutionContext
from schema.masking import mask_value
from schema.policy import (
    Mask,
    Owned,
    PiiAccess,
    PublicOnly,
    RequiresScopes,
    RequiresScopesIfAbsent,
    RequiresScopesOver,
    StoreScoped,
    describe,
    satisfied,
)

_DEFINITION = "strawberry-definition"
FORBIDDEN = "FORBIDDEN"
NAME = "name"
Rule = list[list[str]]


def _directives(thing: Any) -> list[Any]:
    definition = (getattr(thing, "extensions", None) or {}).get(_DEFINITION)
    return list(getattr(definition, "directives", None) or ())


def _first(items: Iterable[Any], kind: type) -> Any:
    return next((d for d in items if isinstance(d, kind)), None)


def _named(type_: GraphQLOutputType) -> tuple[GraphQLNamedType, bool]:
    """The named type under lists and non-nulls, and whether a list is on the way."""
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list


@dataclass(frozen=True)
class ArgumentRule:
    name: str
    scopes: Rule
    when: str
    """``given``, ``absent`` or ``over``."""
    limit: int = 0

    def applies(self, args: dict[str, Any]) -> bool:
        value = args.get(self.name)
        if self.when == "given":
            return value is not None
        if self.when == "absent":
            return value is None or (isinstance(value, str) and not value.strip())
        return isinstance(value, int) and value > self.limit


@dataclass
class FieldPolicy:
    coordinate: str
    rule: Rule | None
    """The field's own rule, or its type's default (None: no rule at all → denied)."""
    returns: Rule | None
    """What a caller needs to receive an object of the concrete type the field returns."""
    arguments: tuple[ArgumentRule, ...] = ()
    mask: Mask | None = None
    pii: str | None = None
    owned: bool = False
    """Returns objects of an ``@owned`` type from outside an owned object (an entry point)."""
    abstract: bool = False
    """Returns an interface: the object's own type decides what is needed (at run time)."""
    store_scoped: bool = False
    public_only: str | None = None

    @property
    def wrapped(self) -> bool:
        return bool(self.arguments or self.mask or self.pii or self.owned or self.abstract
                    or self.store_scoped or self.public_only)


@dataclass
class Policy:
    """The schema's rules, read once; see the module doc."""

    fields: dict[tuple[str, str], FieldPolicy] = field(default_factory=dict)
    type_rules: dict[str, Rule] = field(default_factory=dict)
    owned_types: frozenset[str] = frozenset()
    _verdicts: dict[frozenset[str], dict[tuple[str, str], bool]] = field(default_factory=dict)

    @classmethod
    def of(cls, schema: GraphQLSchema) -> Policy:
        policy = cls()
        owned: set[str] = set()
        for name, type_ in schema.type_map.items():
            if name.startswith("__") or not isinstance(type_, GraphQLObjectType |
                                                       GraphQLInterfaceType):
                continue
            directives = _directives(type_)
            rule = _first(directives, RequiresScopes)
            if rule is not None:
                policy.type_rules[name] = rule.scopes
            if _first(directives, Owned) is not None:
                owned.add(name)
        policy.owned_types = frozenset(owned)
        for name, type_ in schema.type_map.items():
            if name.startswith("__") or not isinstance(type_, GraphQLObjectType |
                                                       GraphQLInterfaceType):
                continue
            for field_name, field_def in type_.fields.items():
                policy.fields[(name, field_name)] = policy._read(schema, type_, field_name,
                                                                 field_def)
        return policy

    def _inherited(self, type_: GraphQLObjectType | GraphQLInterfaceType,
                   field_name: str) -> Rule | None:
        for interface in type_.interfaces:
            if field_name in interface.fields:
                own = _first(_directives(interface.fields[field_name]), RequiresScopes)
                if own is not None:
                    return list(own.scopes)
                if interface.name in self.type_rules:
                    return self.type_rules[interface.name]
        return self.type_rules.get(type_.name)

    def _read(self, schema: GraphQLSchema, parent: GraphQLObjectType | GraphQLInterfaceType,
              name: str, field_def: GraphQLField) -> FieldPolicy:
        directives = _directives(field_def)
        own = _first(directives, RequiresScopes)
        rule = list(own.scopes) if own is not None else self._inherited(parent, name)
        target, is_list = _named(field_def.type)
        arguments = []
        for arg_name, arg in field_def.args.items():
            for directive in _directives(arg):
                if isinstance(directive, RequiresScopes):
                    arguments.append(ArgumentRule(arg_name, directive.scopes, "given"))
                elif isinstance(directive, RequiresScopesIfAbsent):
                    arguments.append(ArgumentRule(arg_name, directive.scopes, "absent"))
                elif isinstance(directive, RequiresScopesOver):
                    arguments.append(ArgumentRule(arg_name, directive.scopes, "over",
                                                  directive.limit))
        target_directives = _directives(target)
        public_only = _first(target_directives, PublicOnly)
        pii = _first(directives, PiiAccess)
        return FieldPolicy(
            coordinate=f"{parent.name}.{name}", rule=rule,
            returns=self.type_rules.get(target.name) if isinstance(target, GraphQLObjectType)
            else None,
            arguments=tuple(arguments), mask=_first(directives, Mask),
            pii=pii.group if pii is not None else None,
            owned=target.name in self.owned_types and parent.name not in self.owned_types,
            abstract=isinstance(target, GraphQLInterfaceType),
            store_scoped=is_list and _first(target_directives, StoreScoped) is not None,
            public_only=public_only.unless_scope if is_list and public_only else None)

    def describe(self, schema: GraphQLSchema) -> None:
        """Add each field's rule to its description (GraphiQL's docs show descriptions)."""
        for (type_name, field_name), policy in self.fields.items():
            if policy.rule is None:
                continue
            field_def = schema.type_map[type_name].fields[field_name]  # type: ignore[attr-defined]
            line = describe(policy.rule)
            if field_def.description and line not in field_def.description:
                field_def.description = f"{field_def.description}\n\n{line}"

    def unruled(self) -> list[str]:
        """Fields with no rule of their own or from their type: denied to everyone."""
        return sorted(p.coordinate for p in self.fields.values() if p.rule is None)

    def verdicts(self, granted: frozenset[str]) -> dict[tuple[str, str], bool]:
        """Whether each field may be read with these scopes (its rule and the rule of the
        concrete type it returns); computed once per distinct set of scopes."""
        known = self._verdicts.get(granted)
        if known is None:
            known = {key: p.rule is not None and satisfied(p.rule, granted) and (
                p.returns is None or satisfied(p.returns, granted))
                for key, p in self.fields.items()}
            if len(self._verdicts) < 256:
                self._verdicts[granted] = known
        return known

    def install(self, schema: GraphQLSchema) -> None:
        """Wrap the resolvers of fields that need more than a yes or no."""
        for (type_name, field_name), policy in self.fields.items():
            if not policy.wrapped:
                continue
            field_def = schema.type_map[type_name].fields[field_name]  # type: ignore[attr-defined]
            field_def.resolve = _guarded(field_def.resolve, policy, self)


@dataclass
class Guard:
    """One request's authorization state (see the module doc)."""

    policy: Policy
    principal: Principal | None
    acting_for: str | None
    verdicts: dict[tuple[str, str], bool]
    accessed: dict[str, set[str]]

    @classmethod
    def of(cls, policy: Policy, principal: Principal | None, acting_for: str | None,
           accessed: dict[str, set[str]]) -> Guard:
        granted = principal.scopes if principal is not None else frozenset()
        return cls(policy, principal, acting_for, policy.verdicts(granted), accessed)

    @property
    def granted(self) -> frozenset[str]:
        return self.principal.scopes if self.principal is not None else frozenset()

    @property
    def restricted_to_customer(self) -> bool:
        return self.principal is None or self.principal.role is Role.CUSTOMER

    @property
    def audited(self) -> bool:
        return self.principal is not None and self.principal.role is not Role.CUSTOMER

    @property
    def one_customer(self) -> bool:
        """Staff without ``customers:list`` read one customer at a time: beyond names (a
        search's candidates), one customer's personal data per request."""
        return self.audited and "customers:list" not in self.granted

    def transparent(self, policy: FieldPolicy) -> bool:
        """Whether :func:`_guarded`'s wrapper returns the field's value unchanged, with no
        bookkeeping, for this caller (so the planned execution may read it directly)."""
        principal = self.principal
        return not (
            policy.arguments or policy.abstract
            or (policy.pii is not None and self.audited)
            or (policy.owned and self.restricted_to_customer)
            or (policy.mask is not None and not satisfied([[policy.mask.unless_scope]],
                                                          self.granted))
            or (policy.store_scoped and principal is not None and principal.store is not None)
            or (policy.public_only is not None and policy.public_only not in self.granted))

    def may_receive(self, type_name: str) -> bool:
        rule = self.policy.type_rules.get(type_name)
        return rule is not None and satisfied(rule, self.granted)


def forbidden(coordinate: str) -> GraphQLError:
    return GraphQLError(f"not allowed to read {coordinate}", extensions={"code": FORBIDDEN})


def _guard(info: Any) -> Guard:
    guard = getattr(info.context, "guard", None)
    if not isinstance(guard, Guard):  # an execution without the guarded context: deny
        raise forbidden(f"{info.parent_type.name}.{info.field_name}")
    return guard


def _guarded(resolve: Callable[..., Any] | None, policy: FieldPolicy,
             whole: Policy) -> Callable[..., Any]:
    original = resolve or default_field_resolver

    def resolver(source: Any, info: Any, **args: Any) -> Any:
        guard = _guard(info)
        for rule in policy.arguments:
            if rule.applies(args) and not satisfied(rule.scopes, guard.granted):
                raise forbidden(f"{policy.coordinate}({rule.name}:)")
        if policy.pii is not None and guard.audited:
            golden = str(source.id)
            if policy.pii != NAME and guard.one_customer and any(
                    other != golden and groups - {NAME}
                    for other, groups in guard.accessed.items()):
                raise forbidden(f"{policy.coordinate} of a second customer")
            guard.accessed.setdefault(golden, set()).add(policy.pii)
        result = original(source, info, **args)
        owned = (policy.owned or policy.abstract) and guard.restricted_to_customer
        masked = policy.mask is not None and not satisfied([[policy.mask.unless_scope]],
                                                           guard.granted)
        store = policy.store_scoped and guard.principal is not None and \
            guard.principal.store is not None
        hidden = policy.public_only is not None and policy.public_only not in guard.granted
        if not (owned or masked or store or hidden or policy.abstract):
            return result
        if owned or inspect.isawaitable(result):
            return _finish(result, info, guard, policy, owned, masked, store, hidden)
        return _shape(result, guard, policy, masked, store, hidden)

    resolver.c360_policy = policy  # type: ignore[attr-defined]
    resolver.c360_original = original  # type: ignore[attr-defined]
    return resolver


async def _finish(result: Any, info: Any, guard: Guard, policy: FieldPolicy, owned: bool,
                  masked: bool, store: bool, hidden: bool) -> Any:
    try:
        value = await result if inspect.isawaitable(result) else result
    except GraphQLError as error:
        if owned and (error.extensions or {}).get("code") == "AMBIGUOUS_IDENTIFIER":
            return None  # which identifiers are shared is no customer's business
        raise
    if policy.abstract and value is not None:
        type_name = type(value).__name__
        definition = getattr(type(value), "__strawberry_definition__", None)
        type_name = getattr(definition, "name", type_name)
        if type_name in guard.policy.owned_types and guard.restricted_to_customer and \
                not await _owns(value, info, guard):
            return None
        if not guard.may_receive(type_name):
            raise forbidden(type_name)
    elif owned:
        if isinstance(value, list):
            value = [v for v in value if v is None or await _owns(v, info, guard)]
        elif value is not None and not await _owns(value, info, guard):
            return None
    return _shape(value, guard, policy, masked, store, hidden)


async def _owns(value: Any, info: Any, guard: Guard) -> bool:
    owner_id: Callable[[Any], Awaitable[str | None]] | None = getattr(value, "owner_id", None)
    if owner_id is None or guard.acting_for is None:
        return False
    return await owner_id(info) == guard.acting_for


def _shape(value: Any, guard: Guard, policy: FieldPolicy, masked: bool, store: bool,
           hidden: bool) -> Any:
    if value is None:
        return None
    if store and isinstance(value, list):
        code = guard.principal.store if guard.principal else None
        value = [v for v in value if getattr(getattr(v, "location", None), "code", None)
                 == code]
    if hidden and isinstance(value, list):
        value = [v for v in value if getattr(v, "public", False)]
    if masked and policy.mask is not None:
        style = policy.mask.style
        if isinstance(value, list):
            value = [mask_value(v, style) for v in value]
        else:
            value = mask_value(value, style)
    return value


_policies: WeakKeyDictionary[GraphQLSchema, Policy] = WeakKeyDictionary()


def policy_of(schema: GraphQLSchema) -> Policy:
    """The schema's policy (read and installed once)."""
    policy = _policies.get(schema)
    if policy is None:
        policy = _policies[schema] = Policy.of(schema)
        policy.install(schema)
        policy.describe(schema)
    return policy


now = time.monotonic
"""The clock the budget is checked on while executing (a test may move it)."""


def _cutoff(deadline: Any) -> float | None:
    """The request's deadline (event-loop time) on the ``time.monotonic`` clock, checked
    before each field: a CPU-heavy answer stops at its budget, not after it."""
    if not isinstance(deadline, float | int):
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return now() + (deadline - loop.time())


class GuardedExecutionContext(LeanExecutionContext):
    """The lean execution context, refusing what the caller may not read (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        context = self.context_value
        policy = policy_of(self.schema)
        guard = Guard.of(policy, getattr(context, "principal", None),
                         getattr(context, "acting_for", None),
                         getattr(context, "accessed", {}))
        if context is not None:
            context.guard = guard
        self._guard = guard
        self._verdicts = guard.verdicts
        self._cutoff = _cutoff(getattr(context, "answer_deadline", None))
        self._cut = False

    def fast_allowed(self, type_name: str, field_name: str) -> bool:
        return self._verdicts.get((type_name, field_name), False)

    def transparent(self, resolve: Any) -> bool:
        policy = getattr(resolve, "c360_policy", None)
        if policy is None:
            return super().transparent(resolve)
        return self._guard.transparent(policy) and super().transparent(
            resolve.c360_original)

    def fast_open(self) -> bool:
        return not self._spent()

    def _spent(self) -> bool:
        """Whether the request's budget is spent (then nothing more is resolved)."""
        if self._cutoff is None:
            return False
        if not self._cut and now() > self._cutoff:
            self._cut = True
            self.context_value.budget_spent = True
        return self._cut

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: FieldDetailsList, path: Path,
                      position_context: Any) -> Any:
        if self._spent():  # past the request's budget: nothing more is resolved, the answer is cut
            return None
        name = field_details_list[0].node.name.value
        if not self._verdicts.get((parent_type.name, name), False) and \
                not name.startswith("__") and not parent_type.name.startswith("__"):
            field_def = self.schema.get_field(parent_type, name)
            if field_def is None:
                return Undefined
            self.handle_field_error(forbidden(f"{parent_type.name}.{name}"), field_def.type,
                                    field_details_list, path)
            return None
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)

