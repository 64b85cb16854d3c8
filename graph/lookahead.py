"""Look-ahead loading: a list resolver reads which relations the query selects on its items and loads them
with the page: a to-one relation by an outer join in the page's own statement, a to-many relation in one
statement per relation per page. The items carry them in `ahead`, and the relation fields answer from there
synchronously: no coroutine, task or DataLoader future per row. Items not made by such a list (node lookups,
subscriptions, mutation payloads) load through DataLoaders as before.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from sqlalchemy.orm import aliased
from strawberry.utils.str_converters import to_camel_case

#: The attribute naming the relation on a resolver made by `looked_ahead` (graph.compiled reads it).
LOOKED_AHEAD = "looked_ahead"


def looked_ahead(load: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Any]:
    """For a relation field's resolver `async def name(self, info)` that loads through a DataLoader: an item
    whose list loaded the relation ahead answers from `self.ahead["name"]` at once, others call `load`
    (graphql-core awaits what it returns)."""
    name = load.__name__

    @functools.wraps(load)
    def resolve(self: Any, info: Any) -> Any:
        ahead = self.ahead
        if ahead is not None and name in ahead:
            return ahead[name]
        return load(self, info)

    setattr(resolve, LOOKED_AHEAD, name)
    return resolve


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


def item_fields(info: Any) -> set[str]:
    """The GraphQL names of the fields a connection field's query selects on its items (edges.node, nodes)."""
    raw = info._raw_info
    fragments = raw.fragments
    connection = _children(raw.field_nodes, fragments)
    items = connection.get("nodes", []) + _children(connection.get("edges", []), fragments).get("node", [])
    return set(_children(items, fragments))


@dataclass(frozen=True)
class ToOne:
    """A relation joined into the page's statement: `on(alias, principal)` is the join condition (with the
    caller's visibility of the related row), `build(row)` makes the GraphQL object."""

    entity: Any
    on: Callable[[Any, Any], Any]
    build: Callable[[Any], Any]


@dataclass(frozen=True)
class ToMany:
    """A relation loaded for the whole page: `load(context, keys)` is a batch function (one statement) giving
    one list per key, the key being the item's attribute `key`; `build` makes each GraphQL object."""

    load: Callable[[Any, Sequence[Any]], Awaitable[Sequence[Sequence[Any]]]]
    key: str
    build: Callable[[Any], Any] | None = None


Relations = dict[str, ToOne | ToMany]


@dataclass
class LookAhead:
    """What one list loads ahead: the selected relations among `relations` (by resolver name)."""

    wanted: dict[str, ToOne | ToMany]
    principal: Any

    @classmethod
    def of(cls, info: Any, relations: Relations) -> LookAhead:
        selected = item_fields(info)
        wanted = {name: relation for name, relation in relations.items() if to_camel_case(name) in selected}
        return cls(wanted, info.context.principal)

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
            (index, name, {}, make) for index, (name, _alias, _on, make) in enumerate(joins, start=1)
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

    async def load_many(self, context: Any, items: Sequence[Any]) -> None:
        """The to-many relations of the page's items: one statement per relation."""
        for name, relation in self.wanted.items():
            if not isinstance(relation, ToMany) or not items:
                continue
            keys = [getattr(item, relation.key) for item in items]
            unique = list(dict.fromkeys(keys))
            with context.runtime.tracing.batch(f"ahead.{name}", len(unique)):
                loaded = await relation.load(context, unique)
            by_key = dict(zip(unique, loaded, strict=True))
            make = relation.build
            for item, key in zip(items, keys, strict=True):
                values = by_key[key]
                item.ahead[name] = [make(value) for value in values] if make is not None else list(values)


@functools.cache
def _alias(entity: Any, name: str) -> Any:
    """One alias per relation for all requests: the same statement shape, so SQLAlchemy's compiled cache hits."""
    return aliased(entity, name=name)


def _with_ahead(item: Any, ahead: dict[str, Any]) -> Any:
    item.ahead = ahead
    return item
