"""The lean execution context answers exactly what graphql-core's own path answers: values,
nulls, enums, custom scalars, arguments, and the errors of values that do not fit."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema import build_schema
from schema.execution import LeanExecutionContext

pytestmark = pytest.mark.anyio


@strawberry.enum
class Kind(enum.Enum):
    WEB = "WEB"
    STORE = "STORE"


@strawberry.type
class Item:
    name: str
    note: str | None
    kind: Kind
    price: Decimal
    at: datetime
    count: int
    shout: str = strawberry.field(name="loud")

    @strawberry.field
    def label(self, upper: bool = False) -> str:
        return self.name.upper() if upper else self.name


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        return [
            Item(name="a", note=None, kind=Kind.WEB, price=Decimal("1.50"), at=at, count=1,
                 shout="A"),
            Item(name="b", note="n", kind=Kind.STORE, price=Decimal("0"), at=at, count=2,
                 shout="B"),
            Item(name=None, note="x", kind=Kind.WEB, price=Decimal("2"), at=at,  # type: ignore[arg-type]
                 count=3, shout="C"),
            Item(name="d", note="x", kind=Kind.WEB, price=Decimal("2"), at=at,
                 count="many", shout="D"),  # type: ignore[arg-type]
        ]


QUERY = "{ items { name note kind price at count loud label upper: label(upper: true) } }"


async def run(context_class: Any, extensions: list[Any] | None = None) -> Any:
    schema = strawberry.Schema(query=Query, execution_context_class=context_class,
                               extensions=extensions or [])
    return await schema.execute(QUERY)


def shown(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    return result.data, sorted((e.message, e.path) for e in result.errors or [])


async def test_same_answers_and_errors_as_graphql_core() -> None:
    lean, plain = await run(LeanExecutionContext), await run(None)
    assert shown(lean) == shown(plain)
    data, errors = shown(lean)
    assert data["items"][0] == {"name": "a", "note": None, "kind": "WEB", "price": "1.50",
                                "at": "2026-01-02T03:04:05+00:00", "count": 1, "loud": "A",
                                "label": "a", "upper": "A"}
    # a null in a non-null leaf and a value that is not an Int are graphql-core's errors
    assert sorted(path for _, path in errors) == [["items", 2, "name"], ["items", 3, "count"]]
    assert data["items"][2:] == [None, None]


class Upper(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


async def test_extensions_that_resolve_every_field_still_see_every_field() -> None:
    lean = await run(LeanExecutionContext, [Upper])
    assert shown(lean) == shown(await run(None, [Upper]))
    assert lean.data["items"][1]["note"] == "N"


def test_the_gateway_schema_executes_with_it() -> None:
    assert issubclass(build_schema().execution_context_class, LeanExecutionContext)


# -- the planned path: pure objects, nested objects and lists, interfaces, errors ------------
@strawberry.type
class Amount:
    value: Decimal
    currency: str


@strawberry.type
class Tag:
    label: str
    weight: int | None = None


@strawberry.interface
class Thing:
    id: strawberry.ID


@strawberry.type
class Line(Thing):
    sku: str
    amount: Amount | None
    tags: list[Tag]
    maybe_tags: list[Tag | None] | None = None

    @strawberry.field
    async def slow_sku(self) -> str:
        if self.sku == "boom":
            raise ValueError("no sku for boom")
        return self.sku.upper()

    @strawberry.field
    def must(self) -> str:
        if self.sku == "null":
            return None  # type: ignore[return-value]
        return self.sku


@strawberry.type
class Holder:
    name: str
    line: Line | None
    required: Line
    lines: list[Line]
    optional_lines: list[Line | None] | None


def _line(sku: str, amount: Any = "ok", tags: Any = None, maybe: Any = None) -> Line:
    if amount == "ok":
        amount = Amount(value=Decimal("1.25"), currency="EUR")
    return Line(id=strawberry.ID(f"L{sku}"), sku=sku, amount=amount,
                tags=tags if tags is not None else [Tag(label="x", weight=1)],
                maybe_tags=maybe)


@strawberry.type
class Nested:
    @strawberry.field
    def holders(self) -> list[Holder | None]:
        big = 2**40
        return [
            Holder(name="ok", line=_line("a"), required=_line("b"),
                   lines=[_line("c"), _line("d", tags=[Tag(label="y"), Tag(label="z", weight=3)])],
                   optional_lines=[_line("e"), None]),
            # a null in a non-null leaf two levels down: the error nulls the nearest nullable
            Holder(name="deep", line=_line("f", amount=Amount(value=Decimal(1),
                                                              currency=None)),  # type: ignore[arg-type]
                   required=_line("g"), lines=[], optional_lines=None),
            # a non-null object that is null: the holder is null
            Holder(name="bad", line=None, required=None,  # type: ignore[arg-type]
                   lines=[], optional_lines=[]),
            # an Int out of range in a list item
            Holder(name="range", line=None, required=_line("h"),
                   lines=[_line("h", tags=[Tag(label="t", weight=big)])], optional_lines=[]),
            # async resolver errors: in a nullable object and in a nullable list item
            Holder(name="errors", line=_line("boom"), required=_line("k"),
                   lines=[], optional_lines=[_line("boom"), _line("m")]),
            # a null from a resolver in a non-null item of a non-null list
            Holder(name="nulled", line=None, required=_line("k"), lines=[_line("null")],
                   optional_lines=None),
            # not a list where a list is declared, and a list of nullable items with nulls
            Holder(name="shape", line=_line("n", maybe=[Tag(label="q"), None]),
                   required=_line("o", tags="oops"),  # type: ignore[arg-type]
                   lines=[_line("p")], optional_lines=None),
            Holder(name="maybe", line=_line("n", maybe=[Tag(label="q"), None]),
                   required=_line("o"), lines=[], optional_lines=None),
        ]

    @strawberry.field
    def thing(self) -> Thing:
        return _line("i")


NESTED = """{ holders { __typename name
  line { id sku slowSku must amount { value currency } tags { label weight }
         maybeTags { label } }
  required { sku amount { currency } tags { label } }
  lines { __typename sku must tags { label weight } amount { value } }
  optionalLines { sku slowSku } }
  thing { __typename id ... on Line { sku amount { value } } } }"""


async def _both(query: str) -> tuple[Any, Any]:
    results = []
    for context_class in (LeanExecutionContext, None):
        schema = strawberry.Schema(query=Nested, types=[Line],
                                   execution_context_class=context_class)
        results.append(await schema.execute(query))
    return results[0], results[1]


async def test_planned_nested_objects_lists_and_errors_answer_as_graphql_core() -> None:
    lean, plain = await _both(NESTED)
    assert shown(lean) == shown(plain)
    data, errors = shown(lean)
    first = data["holders"][0]
    assert first["__typename"] == "Holder"
    assert first["line"]["amount"] == {"value": "1.25", "currency": "EUR"}
    assert first["lines"][1]["tags"] == [{"label": "y", "weight": None},
                                         {"label": "z", "weight": 3}]
    assert first["optionalLines"] == [{"sku": "e", "slowSku": "E"}, None]
    assert data["thing"] == {"__typename": "Line", "id": "Li", "sku": "i",
                             "amount": {"value": "1.25"}}
    paths = [path for _, path in errors]
    assert ["holders", 1, "line", "amount", "currency"] in paths
    assert ["holders", 2, "required"] in paths
    assert ["holders", 3, "lines", 0, "tags", 0, "weight"] in paths
    assert ["holders", 4, "line", "slowSku"] in paths
    assert ["holders", 4, "optionalLines", 0, "slowSku"] in paths
    assert ["holders", 5, "lines", 0, "must"] in paths
    assert ["holders", 6, "required", "tags"] in paths
    assert data["holders"][1]["line"]["amount"] is None
    assert data["holders"][2] is None  # a non-null field was null: the holder is null
    assert data["holders"][3]["lines"][0]["tags"][0]["weight"] is None
    assert data["holders"][4]["line"] is None
    assert data["holders"][4]["optionalLines"] == [None, {"sku": "m", "slowSku": "M"}]
    assert data["holders"][5] is None and data["holders"][6] is None
    assert data["holders"][7]["line"]["maybeTags"] == [{"label": "q"}, None]
    assert len(errors) == 7


async def test_every_step_kind_is_planned_and_the_plan_can_be_turned_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import schema.execution as execution

    planned = 0
    kinds: set[str] = set()
    original = LeanExecutionContext._make_plan

    def counting(self: Any, *args: Any) -> Any:
        nonlocal planned
        planned += 1
        plan = original(self, *args)
        kinds.update(step.kind for step in plan.steps) if plan else None
        return plan

    monkeypatch.setattr(LeanExecutionContext, "_make_plan", counting)
    monkeypatch.setattr(execution, "PLANNED", True)  # whatever C360_PLANNED_EXECUTION says
    lean, _ = await _both(NESTED)
    # every kind of step was planned (and answered as graphql-core does, test above)
    assert kinds == {"leaf", "object", "list", "nested", "nested_list", "typename", "field"}
    planned = 0
    monkeypatch.setattr(execution, "PLANNED", False)
    off, _ = await _both(NESTED)
    assert planned == 0 and shown(off) == shown(lean)
