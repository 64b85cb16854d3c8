"""Look-ahead loading: a list resolver reads which relations the query selects on its items and loads them
with the page: a to-one relation joined into the page's own statement (`ToOne`, where the list declares the
join), any other relation in one statement per relation per page through its batch function (`Batched`).
The items carry them in `ahead`, and the relation fields answer from there synchronously: no coroutine, task
or DataLoader future per row. The objects those relations give load what the query selects on them the same
way, level by level. Items not made by such a list (node lookups, subscriptions, mutation payloads,
nested pages) load through the request's DataLoader for the same batch function, so both ways give the same
rows with the same visibility.

A type declares each relation once, on its field: `@relation(Batched(batch_function, key=…, build=…))` over
`def name(self, info: Info) -> T: ...` (which only gives the field its name and type). A list passes
`ahead=LookAhead.of(info, ItemType)` to graph.relay.paginate.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from sqlalchemy.orm import aliased
from strawberry.types.base import has_object_definition
from strawberry.utils.str_converters import to_camel_case

from graph.loaders import batch_name

#: The attribute naming the relation on a resolver made by `relation` (graph.compiled reads it).
LOOKED_AHEAD = "looked_ahead"
#: The attribute holding a resolver's Batched declaration.
BATCHED = "batched_relation"

BatchFunction = Callable[[Any, Sequence[Any]], Awaitable[Sequence[Any]]]
Resolver = TypeVar("Resolver", bound=Callable[..., Any])


@dataclass(frozen=True)
class Batched:
    """A relation read through a batch function `load(context, keys)`: one statement for any number of keys,
    the caller's visibility applied inside it, one result per key (a row or None; with `many`, a list of
    rows). `key(item)` is what an item loads, None for nothing (its value is then None, or [] with `many`);
    `build` makes the GraphQL object of a row (None: the rows are the values)."""

    load: BatchFunction
    key: Callable[[Any], Any]
    build: Callable[[Any], Any] | None = None
    many: bool = False

    @property
    def empty(self) -> Any:
        return [] if self.many else None

    def value(self, loaded: Any) -> Any:
        """The field's value from what the batch function gave for one key."""
        build = self.build
        if self.many:
            return list(loaded) if build is None else [build(row) for row in loaded]
        return loaded if loaded is None or build is None else build(loaded)


def relation(batched: Batched) -> Callable[[Resolver], Resolver]:
    """The resolver of a relation field, made from its declaration: the decorated `def name(self, info: Info)
    -> T: ...` gives only the field's name and type. An item whose list loaded the relation ahead answers from
    `self.ahead` at once; any other loads through the request's DataLoader (graphql-core awaits it)."""

    def decorate(declared: Resolver) -> Resolver:
        name = declared.__name__

        @functools.wraps(declared)
        def resolve(self: Any, info: Any) -> Any:
            ahead = self.ahead
            if ahead is not None and name in ahead:
                return ahead[name]
            key = batched.key(self)
            if key is None:
                return batched.empty
            return _load(batched, info.context, key)

        setattr(resolve, LOOKED_AHEAD, name)
        setattr(resolve, BATCHED, batched)
        return resolve  # type: ignore[return-value]

    return decorate


async def _load(batched: Batched, context: Any, key: Any) -> Any:
    return batched.value(await context.loaders(batched.load).load(key))


@functools.cache
def relations_of(item_type: type) -> dict[str, tuple[str, Batched]]:
    """The Batched relations of a strawberry type: GraphQL field name -> (resolver name, declaration)."""
    found = {}
    for field in item_type.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        declared = getattr(getattr(field.base_resolver, "wrapped_func", None), BATCHED, None)
        if declared is not None:
            found[field.graphql_name or to_camel_case(field.python_name)] = (field.python_name, declared)
    return found


def _selected(
    selection_set: SelectionSetNode | None, fragments: dict[str, Any], into: dict[str, list[FieldNode]]
) -> None:
    """Field nodes by name in a selection set, through fragments. @skip/@include are not evaluated: a
    relation loaded for a field the query then skips costs a statement, not a wrong answer."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            into.setdefault(selection.name.value, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            _selected(selection.selection_set, fragments, into)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            _selected(fragments[selection.name.value].selection_set, fragments, into)


def _children(nodes: Sequence[FieldNode], fragments: dict[str, Any]) -> dict[str, list[FieldNode]]:
    found: dict[str, list[FieldNode]] = {}
    for node in nodes:
        _selected(node.selection_set, fragments, found)
    return found


def item_selection(info: Any) -> dict[str, list[FieldNode]]:
    """The field nodes a connection field's query selects on its items (edges.node, nodes), by field name."""
    raw = info._raw_info
    fragments = raw.fragments
    connection = _children(raw.field_nodes, fragments)
    items = connection.get("nodes", []) + _children(connection.get("edges", []), fragments).get("node", [])
    return _children(items, fragments)


@dataclass(frozen=True)
class ToOne:
    """A to-one relation a list joins into its page's statement: `on(alias, principal)` is the join condition
    (with the caller's visibility of the related row), `build(row)` makes the GraphQL object. It stands in for
    the field's Batched declaration in that list, which must give the same."""

    entity: Any
    on: Callable[[Any, Any], Any]
    build: Callable[[Any], Any]


@dataclass
class LookAhead:
    """What one list loads ahead: the selected relations of its items, by resolver name, and, level by level,
    the relations the query selects on the objects those give (one statement per relation and level)."""

    wanted: dict[str, ToOne | Batched]
    principal: Any
    #: The field nodes selecting each wanted relation on the items, and the document's fragments.
    selections: dict[str, list[FieldNode]]
    fragments: dict[str, Any]

    @classmethod
    def of(cls, info: Any, item_type: type, joins: Mapping[str, ToOne] | None = None) -> LookAhead:
        """The relations of `item_type` that the query selects on the list's items; `joins` by resolver name
        are joined into the page's statement instead of batched."""
        return cls._selecting(item_selection(info), info._raw_info.fragments, item_type, info.context.principal, joins)

    @classmethod
    def _selecting(
        cls,
        selected: dict[str, list[FieldNode]],
        fragments: dict[str, Any],
        item_type: type,
        principal: Any,
        joins: Mapping[str, ToOne] | None = None,
    ) -> LookAhead:
        wanted: dict[str, ToOne | Batched] = {}
        selections: dict[str, list[FieldNode]] = {}
        for field, (name, batched) in relations_of(item_type).items():
            if field in selected:
                wanted[name] = (joins or {}).get(name, batched)
                selections.setdefault(name, []).extend(selected[field])
        return cls(wanted, principal, selections, fragments)

    @cached_property
    def joins(self) -> list[tuple[str, Any, Any, Callable[[Any], Any]]]:
        """(name, aliased entity, join condition, build) of the to-one relations to join (aliased: the
        statement's visibility subqueries may name the same tables)."""
        joined = []
        for name, relation in self.wanted.items():
            if isinstance(relation, ToOne):
                alias = _alias(relation.entity, f"ahead_{name}")
                joined.append((name, alias, relation.on(alias, self.principal), relation.build))
        return joined

    @property
    def joined(self) -> list[tuple[Any, Any]]:
        """The (entity, condition) pairs for graph.relay.paginate."""
        return [(alias, condition) for _name, alias, condition, _build in self.joins]

    def builder(self, build: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`build` of the page's item from its row, with the joined rows put in `ahead`; each related row is
        built once per page however many items share it."""
        joins = self.joins
        if not joins:
            return lambda row: _with_ahead(build(row), {})
        # (position in the row, name, the objects built so far by primary key, how to build one)
        relations: list[tuple[int, str, dict[Any, Any], Callable[[Any], Any]]] = [
            (index, name, self._joined_objects.setdefault(name, {}), make)
            for index, (name, _alias, _on, make) in enumerate(joins, start=1)
        ]

        def build_row(row: Any) -> Any:
            ahead: dict[str, Any] = {}
            for index, name, built, make in relations:
                related = row[index]
                if related is None:
                    ahead[name] = None
                    continue
                value = built.get(related.id)
                if value is None:
                    value = built[related.id] = make(related)
                ahead[name] = value
            item = build(row[0])
            item.ahead = ahead
            return item

        return build_row

    @cached_property
    def _joined_objects(self) -> dict[str, dict[Any, Any]]:
        """The objects the builder made of the joined rows, by relation and primary key."""
        return {}

    async def load_many(self, context: Any, items: Sequence[Any]) -> None:
        """The batched relations of the page's items: one call of each batch function for the whole page, each
        value built once per key; then what the query selects on the objects of every relation."""
        if not items:
            return
        for name, relation in self.wanted.items():
            if isinstance(relation, ToOne):
                await self._load_nested(context, name, self._joined_objects.get(name, {}).values())
                continue
            keys = [relation.key(item) for item in items]
            values: dict[Any, Any] = {None: relation.empty}
            found = await _rows(context, relation, [key for key in dict.fromkeys(keys) if key is not None])
            values.update((key, relation.value(rows)) for key, rows in found.items())
            for item, key in zip(items, keys, strict=True):
                item.ahead[name] = values[key]
            values.pop(None)
            await self._load_nested(context, name, values.values() if not relation.many else _flat(values.values()))

    async def _load_nested(self, context: Any, name: str, objects: Iterable[Any]) -> None:
        """The relations the query selects on the objects of relation `name` (all of one type), loaded for all
        of them at once: the next level."""
        distinct = list({id(value): value for value in objects if value is not None}.values())
        item_type = type(distinct[0]) if distinct else None
        if item_type is None or not has_object_definition(item_type):
            return  # nothing, or plain values (an enum, a flag)
        nested = LookAhead._selecting(
            _children(self.selections[name], self.fragments), self.fragments, item_type, self.principal
        )
        if not nested.wanted:
            return
        for value in distinct:
            if value.ahead is None:
                value.ahead = {}
        await nested.load_many(context, distinct)


def _flat(lists: Iterable[list[Any]]) -> Iterator[Any]:
    for values in lists:
        yield from values


async def _rows(context: Any, batched: Batched, keys: list[Any]) -> dict[Any, Any]:
    """What `batched.load` gives for each key. A to-one relation shares the request's DataLoader for the same
    batch function: rows it holds (the caller's own user and organisation, rows other fields loaded) are
    taken from it, and the rows loaded here are put into it for the fields that ask later. A to-many one is
    keyed by the item, which nothing else asks for."""
    loader = None if batched.many else context.loaders(batched.load)
    found: dict[Any, Any] = {}
    missing = keys
    if loader is not None:
        missing = []
        for key in keys:
            held = loader.cache_map.get(key)
            if held is not None and held.done() and not held.cancelled() and held.exception() is None:
                found[key] = held.result()
            else:
                missing.append(key)
    if missing:
        # named like the DataLoader's batch of the same function: the same work, whichever way it ran
        with context.runtime.tracing.batch(batch_name(batched.load), len(missing)):
            loaded = dict(zip(missing, await batched.load(context, missing), strict=True))
        if loader is not None:
            loader.prime_many(loaded)
        found.update(loaded)
    return found


@functools.cache
def _alias(entity: Any, name: str) -> Any:
    """One alias per relation for all requests: the same statement shape, so SQLAlchemy's compiled cache hits."""
    return aliased(entity, name=name)


def _with_ahead(item: Any, ahead: dict[str, Any]) -> Any:
    item.ahead = ahead
    return item
