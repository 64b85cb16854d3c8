"""Compiled execution of plain selections: the fields of an object selection that only read attributes are
completed by one generated Python function (straight-line reads and leaf checks, a dict literal), not by
graphql-core's execute_field with its resolve info, path, argument coercion and awaitable checks per field and
per row. The functions are kept across requests, by (type, the parsed document's nodes, Boolean variables).

A field is plain when it takes no arguments and either has no resolver (strawberry's basic field: the
attribute of the same name), or its resolver computes the value from the object alone (`computed`), or it is a
relation its list loaded ahead (`graph.lookahead.relation`, read from the object's `ahead` values). Its
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
from typing import Any, ClassVar

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


def _give_up() -> Any:
    raise _GiveUp


Complete = Callable[[Any], Any]  # the field's source object -> its completed value, or raises

#: Leaf types whose output coercion returns a value of this class unchanged (graphql-core's String, ID and
#: Boolean): the generated code takes such a value as it is and calls the coercion for anything else.
_UNCHANGED = {"String": str, "ID": str, "Boolean": bool}
#: Compiled completions kept across requests (see CompiledExecutionContext._compiled); dropped all at once
#: beyond this many, rebuilt on the next requests.
MAX_COMPILED = 2000


def _read(field_def: Any) -> tuple[str, Any] | None:
    """How a plain field reads its value: ("attribute", python name), ("computed", function of the object) or
    ("ahead", relation name); None if the field is not plain."""
    if field_def.args:
        return None
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if definition is None:
        return None
    if definition.is_basic_field and getattr(field_def.resolve, "_is_default", False):
        return ("attribute", definition.python_name)
    if definition.extensions or definition.permission_classes:
        return None
    resolver = getattr(definition.base_resolver, "wrapped_func", None)
    compute = getattr(resolver, COMPUTED, None)
    if compute is not None:
        return ("computed", compute)
    relation = getattr(resolver, LOOKED_AHEAD, None)
    return ("ahead", relation) if relation is not None else None


def _checked_leaf(coerce: Callable[[Any], Any]) -> Complete:
    def leaf(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _GiveUp
        return coerced

    return leaf


def _list_of(item: Complete) -> Complete:
    def items(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise _GiveUp
        return [item(entry) for entry in value]

    return items


class _Source:
    """The source of one generated function: its lines and the objects its names refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_GiveUp": _GiveUp, "_give_up": _give_up}

    def name(self, value: Any) -> str:
        name = f"_r{len(self.names)}"
        self.names[name] = value
        return name


class CompiledExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution with plain fields completed by compiled functions (see the module)."""

    #: (class, object type, the selection's field nodes, the Boolean variables' values) -> (what the key names, kept
    #: alive so that their ids are not reused while the entry exists; the completion, or None if not plain).
    #: The nodes are the parsed document's, which the parser cache hands every request of the same query;
    #: Boolean variables are the only ones that change a selection (@include/@skip).
    _compiled: ClassVar[dict[tuple[Any, ...], tuple[Any, Complete | None]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Per grouped field set of this execution (graphql-core memoizes those): one completion per field,
        #: None where the field runs the normal way. Kept with the set, whose id is the key.
        self._plans: dict[int, tuple[Any, list[Complete | None]]] = {}
        variables = self.variable_values.coerced
        self._switches = tuple((name, value) for name, value in variables.items() if isinstance(value, bool))

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[Complete | None]:
        cached = self._plans.get(id(grouped_field_set))
        if cached is None:
            plan = [self._field(parent_type, details) for details in grouped_field_set.values()]
            cached = self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return cached[1]

    def _cached(self, kind: str, of_type: Any, field_details_list: Any, make: Callable[[], Complete | None]) -> Any:
        nodes = tuple(details.node for details in field_details_list)
        key = (self.__class__, kind, id(of_type), *map(id, nodes), self._switches)
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) >= MAX_COMPILED:
                self._compiled.clear()
            found = self._compiled[key] = ((of_type, nodes), make())
        return found[1]

    def _field(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        """The completion of one field of `parent_type` from its parent object (execute_fields' plan)."""
        return self._cached(
            "field", parent_type, field_details_list, lambda: self._compile_field(parent_type, field_details_list)
        )

    def _compile_field(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        source = _Source()
        source.lines.append("def complete(value):")
        if self._emit_field(source, parent_type, field_details_list, "_v") is None:
            return None
        source.lines.append("    return _v")
        return self._define(source)

    def _emit_field(self, source: _Source, parent_type: GraphQLObjectType, field_details_list: Any, var: str) -> Any:
        """Lines setting `var` to the completed value of the field read from `value`; None if not plain."""
        node = field_details_list[0].node
        if node.arguments:
            return None
        name = node.name.value
        lines = source.lines
        if name == "__typename":
            lines.append(f"    {var} = {parent_type.name!r}")
            return True
        field_def = parent_type.fields.get(name)
        read = _read(field_def) if field_def is not None else None
        if read is None:
            return None
        how, what = read
        if how == "attribute":
            lines.append(f"    {var} = value.{what}")
        elif how == "computed":
            lines.append(f"    {var} = {source.name(what)}(value)")
        else:  # not loaded ahead (no `ahead`, or not this relation): a KeyError or TypeError, the normal way
            lines.append(f"    {var} = value.ahead[{what!r}]")
        return self._emit_value(source, field_def.type, field_details_list, var)

    def _emit_value(self, source: _Source, of_type: GraphQLOutputType, field_details_list: Any, var: str) -> Any:
        """Lines completing `var` as a value of `of_type`; None if some part of it is not plain."""
        lines = source.lines
        if is_non_null_type(of_type):
            lines.append(f"    if {var} is None: _give_up()")  # graphql-core raises the null error with its path
            of_type = of_type.of_type
        if is_leaf_type(of_type):
            leaf = source.name(_checked_leaf(of_type.coerce_output_value))
            unchanged = _UNCHANGED.get(of_type.name)
            if unchanged is not None:
                cls = source.name(unchanged)
                lines.append(f"    if {var} is not None and {var}.__class__ is not {cls}: {var} = {leaf}({var})")
            else:
                lines.append(f"    if {var} is not None: {var} = {leaf}({var})")
            return True
        if is_list_type(of_type):
            item = self._value(of_type.of_type, field_details_list)
            if item is None:
                return None
            lines.append(f"    {var} = {source.name(_list_of(item))}({var})")
            return True
        if is_object_type(of_type):
            complete = self._object(of_type, field_details_list)
            if complete is None:
                return None
            lines.append(f"    {var} = {source.name(complete)}({var})")
            return True
        return None  # interfaces and unions: the runtime type is resolved the normal way

    def _value(self, of_type: GraphQLOutputType, field_details_list: Any) -> Complete | None:
        """The completion of a value of `of_type` (a list's items)."""

        def make() -> Complete | None:
            source = _Source()
            source.lines.append("def complete(value):")
            if self._emit_value(source, of_type, field_details_list, "value") is None:
                return None
            source.lines.append("    return value")
            return self._define(source)

        return self._cached("value", of_type, field_details_list, make)

    def _object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        """The completion of an object of `object_type`: one generated function for its whole selection."""

        def make() -> Complete | None:
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
            if new_defer_usages:
                return None  # @defer: incremental delivery is graphql-core's
            source = _Source()
            lines = source.lines
            lines.append("def complete(value):")
            lines.append("    if value is None: return None")
            if object_type.is_type_of is not None:
                # graphql-core checks is_type_of (strawberry: isinstance, casts) before completing an object
                lines.append(f"    if {source.name(object_type.is_type_of)}(value, None) is not True: _give_up()")
            keys = []
            for index, (key, details) in enumerate(grouped_field_set.items()):
                if self._emit_field(source, object_type, details, f"_f{index}") is None:
                    return None
                keys.append(f"{key!r}: _f{index}")
            lines.append(f"    return {{{', '.join(keys)}}}")
            return self._define(source)

        return self._cached("object", object_type, field_details_list, make)

    @staticmethod
    def _define(source: _Source) -> Complete:
        # The text holds only names: Python attribute names of the schema's types, and GraphQL names of the
        # validated document (response keys, type names) written as literals with repr(); every object it uses
        # comes in through `names`. Nothing a client sends becomes code.
        namespace = dict(source.names)
        exec(compile("\n".join(source.lines), "<graph.compiled>", "exec"), namespace)
        return namespace["complete"]

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
