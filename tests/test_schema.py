"""The committed SDL is current, and GraphiQL users find every type and field documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from schema import build_schema, sdl

SDL = Path(__file__).resolve().parents[1] / "schema" / "schema.graphql"


def test_committed_sdl_is_current() -> None:
    assert SDL.read_text(encoding="utf-8") == sdl(), (
        "schema/schema.graphql is stale: run `c360 schema > schema/schema.graphql`")


def test_c360_schema_prints_it() -> None:
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "schema"], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout == sdl()


def test_every_type_field_and_argument_is_described() -> None:
    schema = build_schema()._schema
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType |
                      GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(graphql_type, GraphQLEnumType):
            continue
    assert missing == []


def test_the_readme_examples_are_valid_operations() -> None:
    from graphql import DocumentNode, OperationDefinitionNode, OperationType, parse, validate

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```graphql\n")[1:]]
    definitions = [d for b in blocks for d in parse(b).definitions]
    mutations = [d for d in definitions if isinstance(d, OperationDefinitionNode)
                 and d.operation is OperationType.MUTATION]
    assert len(mutations) >= 6, "the README shows the journeys that write"
    schema = build_schema()._schema
    for definition in definitions:
        errors = validate(schema, DocumentNode(definitions=(definition,)))
        assert not errors, errors
