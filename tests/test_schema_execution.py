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
