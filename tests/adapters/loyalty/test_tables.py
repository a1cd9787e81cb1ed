"""The adapter's own table definitions match the in-house database: the emulator's schema, and
real SQLite and PostgreSQL databases the emulator created, reflected with SQLAlchemy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.loyalty import LoyaltyAdapter, LoyaltyConfig, queries, tables
from silos.loyalty import create_schema, schema

Shape = dict[str, tuple[type, bool, bool]]


def shape(table: sa.Table) -> Shape:
    """Each column's name → (Python type of its SQL type, nullable, part of the primary key)."""
    return {c.name: (c.type.python_type, bool(c.nullable), c.primary_key) for c in table.c}


def mismatches(ours: sa.Table, theirs: sa.Table) -> list[str]:
    """How the adapter's ``ours`` disagrees with ``theirs`` (empty when it does not)."""
    mine, other = shape(ours), shape(theirs)
    found = [f"{ours.name}.{name}: missing on their side" for name in mine if name not in other]
    found += [f"{ours.name}.{name}: not declared by the adapter" for name in other
              if name not in mine]
    found += [f"{ours.name}.{name}: {mine[name]} != {other[name]}" for name in mine
              if name in other and mine[name] != other[name]]
    return found


def reflect(engine: sa.Engine, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=engine)


PAIRS = [(tables.loyalty_member, schema.loyalty_member),
         (tables.points_ledger, schema.points_ledger)]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=lambda t: t.name)
def test_the_adapter_declares_the_emulators_columns(ours: sa.Table, theirs: sa.Table) -> None:
    assert ours.name == theirs.name
    assert mismatches(ours, theirs) == []
    assert [c.name for c in ours.primary_key] == [c.name for c in theirs.primary_key]


def test_a_renamed_column_on_either_side_is_a_mismatch() -> None:
    def renamed(table: sa.Table, old: str, new: str) -> sa.Table:
        columns = [sa.Column(new if c.name == old else c.name, c.type, nullable=c.nullable,
                             primary_key=c.primary_key) for c in table.c]
        return sa.Table(table.name, sa.MetaData(), *columns)

    ours, theirs = tables.points_ledger, schema.points_ledger
    assert mismatches(renamed(ours, "order_ref", "order_reference"), theirs) == [
        "points_ledger.order_reference: missing on their side",
        "points_ledger.order_ref: not declared by the adapter"]
    assert mismatches(ours, renamed(theirs, "points", "amount")) == [
        "points_ledger.points: missing on their side",
        "points_ledger.amount: not declared by the adapter"]
    assert mismatches(ours, renamed(theirs, "entry_id", "id")) != []
    retyped = sa.Table("points_ledger", sa.MetaData(),
                       *[sa.Column(c.name, sa.Text if c.name == "points" else c.type,
                                   nullable=c.nullable, primary_key=c.primary_key)
                         for c in theirs.c])
    assert mismatches(ours, retyped) == [
        f"points_ledger.points: {(int, False, False)} != {(str, False, False)}"]


def test_the_adapter_does_not_import_the_emulator() -> None:
    package = Path(tables.__file__).parent
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert "adapters.loyalty.tables" in imported
    assert not [name for name in imported if name.split(".")[0] in {"silos", "tests"}]
    assert queries.loyalty_member is tables.loyalty_member
    assert queries.points_ledger is tables.points_ledger


@pytest.mark.parametrize("ours", tables.RETAILER_TABLES, ids=lambda t: t.name)
def test_a_database_the_emulator_created_has_the_adapters_columns(
        ours: sa.Table, sync_engine: sa.Engine) -> None:
    create_schema(sync_engine)
    theirs = reflect(sync_engine, ours.name)
    assert mismatches(ours, theirs) == []
    assert [c.name for c in theirs.primary_key] == [c.name for c in ours.primary_key]


@pytest.mark.anyio
async def test_the_request_table_the_adapter_creates_is_the_declared_one(
        sync_engine: sa.Engine, empty_engine: AsyncEngine) -> None:
    create_schema(sync_engine)
    config = LoyaltyConfig("sqlite+aiosqlite://")
    assert await LoyaltyAdapter(config, empty_engine).entry_by_key("nothing-yet") is None
    assert await LoyaltyAdapter(config, empty_engine).entry_by_key("again") is None, (
        "a second adapter (another worker) finds the table made")
    reflected = reflect(sync_engine, tables.points_request.name)
    assert mismatches(tables.points_request, reflected) == []
    assert [c.name for c in reflected.primary_key] == ["request_key"]
    assert set(sa.inspect(sync_engine).get_table_names()) == {
        "loyalty_member", "points_ledger", "c360_points_request"}
