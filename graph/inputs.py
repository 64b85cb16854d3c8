"""One check of every text the client sends, before any resolver runs.

After validation and before execution, `InputGuard` walks the arguments of the operation that is
about to run (literals and variables, nested input objects and lists, fragments included) and
refuses strings that no resolver should have to think about: NUL characters (PostgreSQL rejects
them in text, so a query would fail instead of answering) and unpaired surrogates (not encodable
as UTF-8: the database driver would fail), and strings longer than a generous limit (10,000
characters; the few arguments that take long text declare a larger one, see
`graph.schema.LONG_TEXT_ARGUMENTS`). A refusal is a request error with `extensions.code`
BAD_USER_INPUT naming the argument's path, e.g. `deviceClaim.input.manufacturer` or
`batchCreate.input.serialNumbers.3`. Domain limits (a name of at most 200 characters …) stay with
the resolvers, which answer them with their typed payload errors; this is only the outer fence.

`DateTime` arguments must carry a UTC offset (`2024-05-01T12:00:00Z`) and are taken in UTC: a time
without one cannot be compared with our timestamps (the database layer refuses it), and one whose
offset pushes it past the ends of the calendar cannot be converted. Both are the scalar's coercion
errors (HTTP 400), like any other malformed value.

Parsing is strict as well: graphql-core 3.3 still accepts an empty selection set (`{}`) unless
told not to, and the depth limiter fails on one; `StrictParsing` makes it the syntax error that
the GraphQL specification says it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from strawberry.extensions import SchemaExtension

from graph.errors import BadUserInput

#: Longest string argument, in characters, unless the argument declares more.
MAX_TEXT_ARGUMENT = 10_000
#: Deepest position in an argument value (fields, input objects and list levels): far beyond any of
#: our input types, and far from Python's recursion limit, which a walk of `[[[[…]]]]` would hit.
MAX_ARGUMENT_NESTING = 64
_UNWANTED = re.compile("[\x00\ud800-\udfff]")
_INTROSPECTION_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}


def parse_utc_datetime(value: object) -> datetime:
    """A DateTime input: ISO 8601 with a UTC offset, converted to UTC. Refusals are GraphQL errors,
    which graphql-core reports as the value's coercion error (anything else would be masked)."""
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime cannot represent {value!r}: expected a string.")
    try:
        moment = datetime.fromisoformat(value)  # ISO 8601 (Python 3.11+: also `Z` and the basic format)
    except ValueError:
        raise GraphQLError(f"DateTime cannot represent {value[:40]!r}: not an ISO 8601 date and time.") from None
    if moment.tzinfo is None:
        raise GraphQLError("DateTime needs a UTC offset, e.g. 2024-05-01T12:00:00Z.")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise GraphQLError("DateTime is out of range in UTC.") from None


#: The DateTime scalar as strawberry defines it (same name, description and output), but strict on input.
UTC_DATETIME = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=datetime.isoformat,
    parse_value=parse_utc_datetime,
)


class StrictParsing(SchemaExtension):
    """Parse `{}` (an empty selection set) as the syntax error it is: "Expected Name, found '}'"."""

    def on_operation(self) -> Iterator[None]:
        # ParseOptions is a TypedDict of parse()'s keyword arguments; ParserCache keys on them too.
        self.execution_context.parse_options["allow_empty_selection_sets"] = False  # type: ignore[typeddict-unknown-key]
        yield


class InputGuard(SchemaExtension):
    """Refuse NUL, unpaired surrogates and overlong strings in any argument of the operation."""

    def __init__(self, long_text: Mapping[str, int] | None = None, max_length: int = MAX_TEXT_ARGUMENT) -> None:
        self.long_text = long_text or {}
        self.max_length = max_length

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            _Walk(self, context.schema._schema, context.graphql_document, context.variables or {}).operation(
                context.operation_name
            )
        yield


class _Walk:
    def __init__(self, guard: InputGuard, schema: GraphQLSchema, document: Any, variables: Mapping[str, Any]) -> None:
        self.guard = guard
        self.schema = schema
        self.document = document
        self.variables = variables
        self.defaults: dict[str, ValueNode] = {}
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.seen_fragments: set[str] = set()

    def operation(self, operation_name: str | None) -> None:
        operations = [d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)]
        operation = next(
            (o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)), None
        )
        if operation is None:
            return  # graphql-core reports the missing operation
        self.defaults = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or () if d.default_value
        }
        self.selections(operation.selection_set, self.schema.get_root_type(operation.operation), ())

    def selections(self, selection_set: SelectionSetNode | None, parent: Any, path: tuple[str, ...]) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                narrowed = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, narrowed, path)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in self.seen_fragments:
                    self.seen_fragments.add(name)  # a fragment's literals are the same wherever it is spread
                    self.selections(
                        fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value), path
                    )

    def field(self, node: FieldNode, parent: Any, path: tuple[str, ...]) -> None:
        name = node.name.value
        definition = _INTROSPECTION_FIELDS.get(name)
        if definition is None and isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            definition = parent.fields.get(name)
        if definition is None:
            return  # __typename, or a field validation has already refused
        here = (*path, node.alias.value if node.alias else name)
        for argument in node.arguments or ():
            spec = definition.args.get(argument.name.value)
            if spec is not None:
                coordinate = f"{getattr(parent, 'name', '')}.{name}({argument.name.value})"  # schema coordinate
                self.literal(argument.value, spec.type, (*here, argument.name.value), coordinate)
        self.selections(node.selection_set, get_named_type(definition.type), here)

    def literal(self, node: ValueNode, graphql_type: Any, path: tuple[str, ...], coordinate: str) -> None:
        _check_nesting(path)
        if isinstance(graphql_type, GraphQLNonNull):
            graphql_type = graphql_type.of_type
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                self.raw(self.variables[name], graphql_type, path, coordinate)
            elif name in self.defaults:
                self.literal(self.defaults[name], graphql_type, path, coordinate)
        elif isinstance(node, StringValueNode):
            self.text(node.value, path, coordinate)
        elif isinstance(node, ListValueNode):
            item_type = graphql_type.of_type if isinstance(graphql_type, GraphQLList) else graphql_type
            for index, item in enumerate(node.values):
                self.literal(item, item_type, (*path, str(index)), coordinate)
        elif isinstance(node, ObjectValueNode):
            fields = graphql_type.fields if isinstance(graphql_type, GraphQLInputObjectType) else {}
            for field in node.fields:
                name = field.name.value
                spec = fields.get(name)
                if spec is not None:
                    self.literal(field.value, spec.type, (*path, name), f"{graphql_type.name}.{name}")
                else:  # a custom scalar (JSON) written as an object literal
                    self.literal(field.value, graphql_type, (*path, name), coordinate)

    def raw(self, value: Any, graphql_type: Any, path: tuple[str, ...], coordinate: str) -> None:
        """A variable's value as the client sent it (JSON), before graphql-core coerces it."""
        _check_nesting(path)
        if isinstance(graphql_type, GraphQLNonNull):
            graphql_type = graphql_type.of_type
        if isinstance(value, str):
            self.text(value, path, coordinate)
        elif isinstance(value, list):
            item_type = graphql_type.of_type if isinstance(graphql_type, GraphQLList) else graphql_type
            for index, item in enumerate(value):
                self.raw(item, item_type, (*path, str(index)), coordinate)
        elif isinstance(value, dict):
            fields = graphql_type.fields if isinstance(graphql_type, GraphQLInputObjectType) else {}
            for name, item in value.items():
                spec = fields.get(name)
                if spec is not None:
                    self.raw(item, spec.type, (*path, name), f"{graphql_type.name}.{name}")
                else:  # a JSON scalar's content, or a field coercion will refuse: still no NUL
                    self.raw(item, graphql_type, (*path, str(name)), coordinate)

    def text(self, value: str, path: tuple[str, ...], coordinate: str) -> None:
        limit = self.guard.long_text.get(coordinate, self.guard.max_length)
        where = ".".join(path)
        if len(value) > limit:
            raise BadUserInput(f"`{where}` is too long: at most {limit:,} characters.", argument=where)
        unwanted = _UNWANTED.search(value)
        if unwanted is not None:
            what = "NUL characters" if unwanted.group() == "\x00" else "unpaired surrogates (not Unicode text)"
            raise BadUserInput(f"`{where}` cannot contain {what}.", argument=where)


def _check_nesting(path: tuple[str, ...]) -> None:
    if len(path) > MAX_ARGUMENT_NESTING:
        where = ".".join(path[:8]) + ".…"
        raise BadUserInput(f"`{where}` is nested too deeply (at most {MAX_ARGUMENT_NESTING} levels).", argument=where)
