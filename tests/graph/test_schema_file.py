"""schema.graphql is printed from the code; it must never drift from it."""

from pathlib import Path

from graph.schema import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_is_current():
    assert SCHEMA_FILE.read_text() == export_sdl(), (
        "schema.graphql is stale: run `fleetgraph export-schema -o schema.graphql`"
    )


def test_every_field_and_type_has_a_description():
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

    from graph.schema import build_schema

    schema = build_schema()._schema
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            if name not in {"Query", "Mutation", "Subscription"} and not graphql_type.description:
                missing.append(name)
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
        elif isinstance(graphql_type, GraphQLEnumType) and not graphql_type.description:
            missing.append(name)
    assert missing == []
