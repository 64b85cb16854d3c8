"""Query cost: every field costs 1; a list field's subtree is multiplied by its size: `first`/`last`
for connections, the number of `ids` asked for, and an assumed UNPAGINATED_LIST_SIZE for plain
lists of objects (a user's groups, a group's members), which nest into each other without bound.

Modelled on Saleor's cost map; computed before execution with the request's variables, refused
above the limit, and reported in the response's `extensions.cost`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType
from strawberry.extensions import SchemaExtension

from graph.errors import QueryTooComplex
from graph.relay import DEFAULT_PAGE_SIZE

#: Assumed length of a list of objects that takes no `first`/`last`; the data bounds it, not the query.
UNPAGINATED_LIST_SIZE = 10


def _argument(field_node: FieldNode, field_def: Any, name: str, variables: dict[str, Any]) -> Any:
    for argument in field_node.arguments or ():
        if argument.name.value == name:
            return value_from_ast(argument.value, field_def.args[name].type, variables)
    return None


def _list_size(field_node: FieldNode, field_def: Any, parent_type: Any, variables: dict[str, Any]) -> int:
    """How many times the field's selection is resolved."""
    if "first" in field_def.args or "last" in field_def.args:
        for name in ("first", "last"):
            value = _argument(field_node, field_def, name, variables)
            if isinstance(value, int):
                return max(value, 1)
        return DEFAULT_PAGE_SIZE
    if not is_list_type(get_nullable_type(field_def.type)):
        return 1
    if "pageInfo" in parent_type.fields:
        return 1  # a connection's edges/nodes: the connection field already counted its page size
    if "ids" in field_def.args:
        ids = _argument(field_node, field_def, "ids", variables)
        return max(len(ids), 1) if isinstance(ids, list) else UNPAGINATED_LIST_SIZE
    return UNPAGINATED_LIST_SIZE


def selection_cost(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode | None,
    parent_type: Any,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__") or not isinstance(parent_type, (GraphQLObjectType, GraphQLInterfaceType)):
                continue
            field_def = parent_type.fields.get(name)
            if field_def is None:
                continue
            child = selection_cost(
                schema, selection.selection_set, get_named_type(field_def.type), fragments, variables
            )
            total += 1 + _list_size(selection, field_def, parent_type, variables) * child
        elif isinstance(selection, InlineFragmentNode):
            narrowed = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent_type
            total += selection_cost(schema, selection.selection_set, narrowed, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                narrowed = schema.get_type(fragment.type_condition.name.value)
                total += selection_cost(schema, fragment.selection_set, narrowed, fragments, variables)
    return total


def operation_cost(schema: GraphQLSchema, document: Any, operation_name: str | None, variables: dict[str, Any]) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)), None
    )
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    return selection_cost(schema, operation.selection_set, root, fragments, variables or {})


class QueryCostLimiter(SchemaExtension):
    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        self.cost = operation_cost(
            context.schema._schema, context.graphql_document, context.operation_name, context.variables or {}
        )
        if self.cost > self.max_cost:
            raise QueryTooComplex(
                f"The query costs {self.cost}, more than the maximum of {self.max_cost}: "
                "ask for fewer items (first/last) or fewer nested lists.",
                cost=self.cost,
                maximumCost=self.max_cost,
            )
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requestedQueryCost": self.cost, "maximumAvailable": self.max_cost}}
