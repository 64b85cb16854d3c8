"""Compiled execution of plain selections: a field that only reads an attribute is completed by a small
function made once per (type, selection) of the execution, not by graphql-core's execute_field with its
resolve info, path, argument coercion and awaitable checks per field and per row.

A field is plain when it takes no arguments and either has no resolver (strawberry's basic field: the
attribute of the same name), or its resolver computes the value from the object alone (`computed`), or it is a
relation its list loaded ahead (`graph.lookahead.looked_ahead`, read from the object's `ahead` values). Its
value is completed like graphql-core does: leaves through the type's `coerce_output_value`, objects (with
`is_type_of`) through their own compiled selection, lists item by item. Anything else (resolvers, arguments,
interfaces and unions, introspection) runs the normal way.

Errors are never produced here: when a plain field meets anything but the expected case (null in a
non-null position, a value its type refuses, a relation that was not loaded ahead, an exception), the
field gives up and graphql-core executes it again from the start, which raises the error it would have
raised with its path and propagates nulls as the spec says. Plain fields have no effects, so running one
again changes nothing. tests/graph/test_compiled_execution.py compares both paths on generated queries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.lookahead import LOOKED_AHEAD

#: The attribute marking a resolver made by `computed` (the value is the function computing the field).
COMPUTED = "computed_from_object"


def computed(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Marks a field's resolver `def name(self) -> T` that computes its value from the object alone (no
    arguments, no info, no effects, no await): compiled selections call it like reading an attribute."""
    setattr(method, COMPUTED, method)
    return method


class _GiveUp(Exception):
    """A plain field met something only the normal path handles (an error to raise, a value to load)."""


Complete = Callable[[Any], Any]  # the field's source object -> its completed value, or raises _GiveUp


def _read(field_def: Any) -> Callable[[Any], Any] | None:
    """How a plain field reads its value from the source object; None if the field is not plain."""
    if field_def.args:
        return None
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if definition is None:
        return None
    if definition.is_basic_field and getattr(field_def.resolve, "_is_default", False):
        name = definition.python_name
        return lambda source: getattr(source, name)
    resolver = definition.base_resolver
    if definition.extensions or definition.permission_classes:
        return None
    compute = getattr(getattr(resolver, "wrapped_func", None), COMPUTED, None)
    if compute is not None:
        return compute
    relation = getattr(getattr(resolver, "wrapped_func", None), LOOKED_AHEAD, None)
    if relation is None:
        return None

    def ahead(source: Any) -> Any:
        values = source.ahead
        if values is None or relation not in values:
            raise _GiveUp  # not loaded ahead: the resolver loads it
        return values[relation]

    return ahead


class CompiledExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution with plain fields completed by compiled functions (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Per grouped field set (graphql-core memoizes those per execution): one completion per field,
        #: None where the field runs the normal way. Kept with the set, whose id is the key.
        self._plans: dict[int, tuple[Any, list[Complete | None]]] = {}

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[Complete | None]:
        cached = self._plans.get(id(grouped_field_set))
        if cached is None:
            plan = [self._compile_field(parent_type, details) for details in grouped_field_set.values()]
            cached = self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return cached[1]

    def _compile_field(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        node = field_details_list[0].node
        if node.arguments:
            return None
        name = node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda _source: type_name
        field_def = parent_type.fields.get(name)
        read = _read(field_def) if field_def is not None else None
        if read is None:
            return None
        complete = self._compile_value(field_def.type, field_details_list)
        if complete is None:
            return None
        return lambda source: complete(read(source))

    def _compile_value(self, return_type: GraphQLOutputType, field_details_list: Any) -> Complete | None:
        """The completion of a value of `return_type`, or None if some part of it is not plain."""
        if is_non_null_type(return_type):
            inner = self._compile_value(return_type.of_type, field_details_list)
            if inner is None:
                return None

            def non_null(value: Any) -> Any:
                if value is None:
                    raise _GiveUp  # graphql-core raises the null error with its path
                return inner(value)

            return non_null
        if is_list_type(return_type):
            item = self._compile_value(return_type.of_type, field_details_list)
            if item is None:
                return None

            def items(value: Any) -> Any:
                if value is None:
                    return None
                if not isinstance(value, (list, tuple)):
                    raise _GiveUp
                return [item(entry) for entry in value]

            return items
        if is_leaf_type(return_type):
            coerce = return_type.coerce_output_value

            def leaf(value: Any) -> Any:
                if value is None:
                    return None
                try:
                    coerced = coerce(value)
                except Exception as error:
                    raise _GiveUp from error
                if coerced is None or coerced is Undefined:
                    raise _GiveUp
                return coerced

            return leaf
        if is_object_type(return_type):
            return self._compile_object(return_type, field_details_list)
        return None  # interfaces and unions: the runtime type is resolved the normal way

    def _compile_object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None  # @defer: incremental delivery is graphql-core's
        plan = self._plan(object_type, grouped_field_set)
        if any(complete is None for complete in plan):
            return None
        fields = [(key, complete) for key, complete in zip(grouped_field_set.keys(), plan, strict=True) if complete]
        # graphql-core checks is_type_of (strawberry: isinstance) before completing an object; so does this.
        is_type_of: Callable[[Any, Any], Any] = object_type.is_type_of or (lambda _value, _info: True)

        def complete_object(value: Any) -> Any:
            if value is None:
                return None
            if is_type_of(value, None) is not True:
                raise _GiveUp
            return {key: complete(value) for key, complete in fields}

        return complete_object

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if position_context is not None:  # inside incremental delivery (@defer/@stream)
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        plan = self._plan(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        for (response_name, field_details_list), complete in zip(grouped_field_set.items(), plan, strict=True):
            if complete is not None:
                try:
                    results[response_name] = complete(source_value)
                    continue
                except Exception:
                    pass
            field_path = Path(path, response_name, parent_type.name)
            try:
                result = self.execute_field(parent_type, source_value, field_details_list, field_path, position_context)
            except Exception:
                if awaitable_fields:
                    self.settle_in_background([results[field] for field in awaitable_fields])
                raise
            if result is not Undefined:
                results[response_name] = result
                if self.is_awaitable(result):
                    awaitable_fields.append(response_name)
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                # Awaited in this task, as graphql-core does: in a task of its own (gather_with_cancel) it can be
                # cancelled before it starts when a sibling's error cancels this one, and its resolver's
                # coroutine is then never awaited (a RuntimeWarning the stock execution does not give).
                field = awaitable_fields[0]
                results[field] = await results[field]
                return results
            awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()
