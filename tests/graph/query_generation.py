"""Random read-only GraphQL documents drawn from a graphql-core schema, for the differential test of
graph.compiled (tests/graph/test_compiled_execution.py).

Everything comes from the schema: the Query root's fields, their arguments, the types they return and the
types' fields, so a new field is generated without touching this module. A field is generated when each of
its required arguments can be given a value: IDs from `Pools` (global IDs seen in earlier answers or in the
data), enums a random member, input objects their required fields and some optional ones, page sizes small
and large (and out of range). Documents nest to a bounded depth and use aliases (also one field twice under
different aliases, and the same field twice under one name with different sub-selections, which merge),
named and inline fragments (also on interfaces and unions), `__typename`, and `@include`/`@skip` with
literal and variable conditions. The same seed and pools give the same documents.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
    is_composite_type,
)

from graph.relay import InvalidGlobalId, from_global_id, to_global_id

#: Page sizes: empty, small, the largest allowed; now and then one the server refuses.
PAGE_SIZES = [0, 1, 1, 2, 2, 3, 3, 5, 50, 5000]
REFUSED_PAGE_SIZES = [5001, -1]
#: Documents that make the server refuse the arguments (page sizes out of range, `first` and `last` both,
#: a cursor of nothing) or ask for root fields the caller may not read come at this rate: a refused
#: non-null root field nulls the whole answer, which then compares little else.
REFUSAL_RATE = 0.03
#: Text for string arguments before any answer gave some.
STRINGS = ["", "a", "Haus A", "9999", "TOPAS", "integra", "%", "zz-none"]


@dataclass
class Pools:
    """Values taken from answers (and the data) to use as arguments: global IDs by type, cursors, text."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    #: Edges' cursors by edge type.
    cursors: dict[str, list[str]] = field(default_factory=dict)
    strings: list[str] = field(default_factory=lambda: list(STRINGS))

    def add_id(self, global_id: str) -> None:
        try:
            type_name, _pk = from_global_id(global_id)
        except InvalidGlobalId:
            return
        known = self.ids.setdefault(type_name, [])
        if global_id not in known:
            known.append(global_id)

    def harvest(self, data: Any, document: Document) -> None:
        """IDs, cursors and short text of an answer to `document`, by the response names it gave them."""
        for key, value in _leaves(data):
            if not isinstance(value, str):
                continue
            if key in document.id_keys:
                self.add_id(value)
            elif key in document.cursor_keys:
                known = self.cursors.setdefault(document.cursor_keys[key], [])
                if value not in known:
                    known.append(value)
            elif 0 < len(value) <= 30 and value not in self.strings and len(self.strings) < 200:
                self.strings.append(value)


def _leaves(data: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                yield from _leaves(value)
            else:
                yield key, value
    elif isinstance(data, list):
        for item in data:
            yield from _leaves(item)


@dataclass
class Document:
    text: str
    variables: dict[str, Any]
    #: The root fields it selects (by field name).
    roots: list[str]
    #: Response names given to `id` fields, and to edges' cursors (with the edge type), for Pools.harvest.
    id_keys: set[str]
    cursor_keys: dict[str, str]


@dataclass
class Sel:
    """One selection: a field (with alias and arguments), a fragment spread or an inline fragment's head,
    and its selection set if it has one."""

    head: str
    body: list[Sel] | None = None

    def __str__(self) -> str:
        return self.head if self.body is None else f"{self.head} {self.block(self.body)}"

    @staticmethod
    def block(parts: list[Sel]) -> str:
        return "{ " + " ".join(map(str, parts)) + " }"


@dataclass
class _Build:
    """One document under construction."""

    fragments: list[str] = field(default_factory=list)
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: Named fragments by type name: (name, depth they need), to spread again elsewhere.
    reusable: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    id_keys: set[str] = field(default_factory=lambda: {"id"})
    cursor_keys: dict[str, str] = field(default_factory=dict)


class QueryGenerator:
    """Documents over `schema`'s Query root; `focus` root fields (with their item types' relations) are
    picked for `focus_share` of the root selections. `counts` tallies the features generated."""

    def __init__(
        self,
        schema: GraphQLSchema,
        pools: Pools,
        *,
        seed: int = 15,
        max_depth: int = 5,
        roots_per_document: int = 4,
        focus: str = "devices",
        focus_share: float = 0.45,
        focus_types: frozenset[str] = frozenset({"Device"}),
    ) -> None:
        self.schema = schema
        self.pools = pools
        self.random = random.Random(seed)
        self.max_depth = max_depth
        self.roots_per_document = roots_per_document
        self.focus = focus
        self.focus_share = focus_share
        self.focus_types = focus_types
        self.counts: Counter[str] = Counter()
        #: Root fields picked only at REFUSAL_RATE (those the caller may not read).
        self.rare_roots: set[str] = set()
        self._serial = 0
        assert schema.query_type is not None
        self.query_type = schema.query_type

    def _name(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial}"

    def _chance(self, probability: float, feature: str | None = None) -> bool:
        hit = self.random.random() < probability
        if hit and feature:
            self.counts[feature] += 1
        return hit

    # --- documents ------------------------------------------------------------------------------------

    def document(self) -> Document:
        build = _Build()
        roots = self._root_fields()
        parts = [self._field(build, self.query_type, name, self.max_depth, False) for name in roots]
        body = self._decorate(build, self.query_type, [part for part in parts if part], self.max_depth)
        header = ""
        if build.variables:
            header = "(" + ", ".join(f"${name}: {kind}" for name, (kind, _) in build.variables.items()) + ")"
        operation = f"query Q{self._serial}{header} " + Sel.block(body)
        self.counts["documents"] += 1
        return Document(
            "\n".join([operation, *build.fragments]),
            {name: value for name, (_, value) in build.variables.items()},
            roots,
            build.id_keys,
            build.cursor_keys,
        )

    def _root_fields(self) -> list[str]:
        callable_ = [name for name, definition in self.query_type.fields.items() if self._can_call(definition)]
        usual = [name for name in callable_ if name not in self.rare_roots]
        roots = []
        for _ in range(self.roots_per_document):
            if self._chance(self.focus_share):
                roots.append(self.focus)
            else:
                roots.append(self.random.choice(callable_ if self._chance(REFUSAL_RATE) else usual))
        return roots

    def _can_call(self, definition: GraphQLField) -> bool:
        return all(
            self._value(argument.type, name, probe=True) is not _NO_VALUE
            for name, argument in definition.args.items()
            if isinstance(argument.type, GraphQLNonNull) and argument.default_value is _undefined()
        )

    # --- selections -----------------------------------------------------------------------------------

    def _selection(self, build: _Build, type_: GraphQLNamedType, depth: int, abstract: bool = False) -> list[Sel]:
        """The selections of a composite type's selection set (never empty); `abstract`: it is a fragment's
        under an interface or union, whose fields get their type in their response name (two types' fields
        of one name may have different types, which may not share a response name)."""
        parts: list[Sel] = []
        if isinstance(type_, GraphQLObjectType):
            parts = self._object_fields(build, type_, depth, abstract)
            if type_.interfaces and self._chance(0.08, "inline_on_interface"):
                interface = self.random.choice(type_.interfaces)
                inner = self._object_fields(build, interface, depth, True, at_most=2) or [Sel("__typename")]
                parts.append(Sel(f"... on {interface.name}", inner))
        else:
            if isinstance(type_, GraphQLInterfaceType):
                parts = self._object_fields(build, type_, depth, True, at_most=2)
            possible = list(self.schema.get_possible_types(type_))  # type: ignore[arg-type]
            self.random.shuffle(possible)
            focused = [kind for kind in possible if kind.name in self.focus_types]
            for kind in (focused + possible)[: self.random.randint(1, 4)]:
                parts.append(Sel(f"... on {kind.name}", self._selection(build, kind, depth, abstract=True)))
                self.counts["inline_on_abstract"] += 1
        if self._chance(0.3, "typename") or not parts:
            parts.insert(self.random.randint(0, len(parts)), Sel("__typename"))
        return self._decorate(build, type_, parts, depth)

    def _object_fields(self, build: _Build, type_: Any, depth: int, abstract: bool, at_most: int = 6) -> list[Sel]:
        focused = type_.name in self.focus_types
        names = [name for name, definition in type_.fields.items() if self._can_call(definition)]
        if not focused:
            self.random.shuffle(names)
            names = names[: self.random.randint(1, min(at_most, depth))]  # narrower the deeper it goes
        parts = []
        for name in names:
            if focused and not self._chance(0.55):
                continue
            part = self._field(build, type_, name, depth, abstract)
            if part:
                parts.append(part)
                if self._chance(0.12):
                    parts.extend(self._again(build, type_, name, depth, part, abstract))
        return parts

    def _again(self, build: _Build, type_: Any, name: str, depth: int, first: Sel, abstract: bool) -> list[Sel]:
        """The same field a second time: a leaf repeated, an object under the same response name and
        arguments with another sub-selection (the two merge), or under another alias (a second result)."""
        if first.body is None:
            self.counts["repeated_field"] += 1
            return [first]
        if self.random.random() < 0.5:
            inner = self._selection(build, get_named_type(type_.fields[name].type), depth - 1)
            self.counts["merged_field"] += 1
            return [Sel(first.head, inner)]
        self.counts["second_alias"] += 1
        part = self._field(build, type_, name, depth, abstract, alias=True)
        return [part] if part else []

    def _field(
        self, build: _Build, parent: Any, name: str, depth: int, abstract: bool, alias: bool = False
    ) -> Sel | None:
        definition: GraphQLField = parent.fields[name]
        named = get_named_type(definition.type)
        composite = is_composite_type(named)
        if composite and depth <= 1:
            return None
        arguments = self._arguments(build, definition)
        head = name + (f"({arguments})" if arguments else "")
        if alias or arguments or abstract or name == "cursor" or self._chance(0.15):
            # unique, except a field without arguments in a fragment on an abstract type's member
            shared = (abstract or name == "cursor") and not (alias or arguments)
            response = f"{name}_{parent.name}" if shared else self._name("a")
            self.counts["alias"] += 1
            head = f"{response}: {head}"
        else:
            response = name
        if name == "id":
            build.id_keys.add(response)
        if name == "cursor":
            build.cursor_keys[response] = parent.name
        if not composite:
            return Sel(head)
        return Sel(head, self._selection(build, named, depth - 1))

    def _decorate(self, build: _Build, type_: GraphQLNamedType, parts: list[Sel], depth: int) -> list[Sel]:
        """Directives on some selections, and some selections moved into fragments."""
        parts = [self._directive(build, part) if self._chance(0.1) else part for part in parts]
        if len(parts) >= 2 and self._chance(0.2):
            start = self.random.randrange(len(parts))
            end = self.random.randint(start + 1, len(parts))
            parts[start:end] = [self._fragment(build, type_, parts[start:end], depth)]
        usable = [name for name, needs in build.reusable.get(type_.name, []) if needs <= depth]
        if usable and self._chance(0.15, "fragment_reused"):
            parts.append(Sel(f"...{self.random.choice(usable)}"))
        return parts

    def _fragment(self, build: _Build, type_: GraphQLNamedType, parts: list[Sel], depth: int) -> Sel:
        kind = self.random.random()
        if kind < 0.5:
            name = self._name("F")
            build.fragments.append(f"fragment {name} on {type_.name} {Sel.block(parts)}")
            build.reusable.setdefault(type_.name, []).append((name, depth))
            self.counts["named_fragment"] += 1
            spread = Sel(f"...{name}")
        elif kind < 0.75:
            self.counts["inline_fragment"] += 1
            spread = Sel(f"... on {type_.name}", parts)
        else:
            self.counts["inline_fragment_untyped"] += 1
            spread = Sel("...", parts)
        return self._directive(build, spread) if self._chance(0.2) else spread

    def _directive(self, build: _Build, part: Sel) -> Sel:
        directive = self.random.choice(["include", "skip"])
        if self._chance(0.5, "variable_condition"):
            variable = self._name("b")
            build.variables[variable] = ("Boolean!", self.random.random() < 0.5)
            condition = f"${variable}"
        else:
            condition = self.random.choice(["true", "false"])
        self.counts[directive] += 1
        return Sel(f"{part.head} @{directive}(if: {condition})", part.body)

    # --- arguments ------------------------------------------------------------------------------------

    def _arguments(self, build: _Build, definition: GraphQLField) -> str:
        given = []
        paging = self._paging(definition)
        for name, argument in definition.args.items():
            if name in PAGING:
                value = paging.get(name, _NO_VALUE)
            else:
                required = isinstance(argument.type, GraphQLNonNull) and argument.default_value is _undefined()
                value = self._value(argument.type, name) if required or self._chance(0.2) else _NO_VALUE
            if value is not _NO_VALUE:
                given.append(f"{name}: {self._literal_or_variable(build, argument, name, value)}")
        return ", ".join(given)

    def _paging(self, definition: GraphQLField) -> dict[str, Any]:
        """A connection's `first`/`last` and `after`/`before`: mostly a page size from one end and a cursor
        of the same connection's edges (seen in earlier answers), rarely what the server refuses."""
        if not set(definition.args) >= PAGING:
            return {}
        if self._chance(REFUSAL_RATE, "refused_paging"):
            return self.random.choice(
                [{"first": 2, "last": 2}, {"first": self.random.choice(REFUSED_PAGE_SIZES)}, {"after": "bm9wZQ"}]
            )
        forward = self.random.random() < 0.7
        values = {}
        if self._chance(0.55):
            values["first" if forward else "last"] = self.random.choice(PAGE_SIZES)
        edge = get_named_type(get_named_type(definition.type).fields["edges"].type)  # type: ignore[union-attr]
        cursors = self.pools.cursors.get(edge.name)
        if cursors and self._chance(0.3, "cursor_argument"):
            values["after" if forward else "before"] = self.random.choice(cursors)
        return values

    def _literal_or_variable(self, build: _Build, argument: GraphQLArgument, name: str, value: Any) -> str:
        if self._chance(0.15, "argument_variable"):
            variable = self._name("v")
            build.variables[variable] = (str(argument.type), value)
            return f"${variable}"
        return _literal(value, argument.type)

    def _value(self, type_: GraphQLInputType, name: str, probe: bool = False, nesting: int = 0) -> Any:
        """A value for an argument or input field `name` of `type_` (Python, as a variable's value), or
        _NO_VALUE if none can be made; `probe` only asks whether one can."""
        nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(nullable, GraphQLList):
            item = self._value(nullable.of_type, name, probe, nesting)
            if item is _NO_VALUE or probe:
                return item
            return [item] + [
                self._value(nullable.of_type, name, nesting=nesting) for _ in range(self.random.randint(0, 2))
            ]
        if isinstance(nullable, GraphQLEnumType):
            return self.random.choice(list(nullable.values))
        if isinstance(nullable, GraphQLInputObjectType):
            return self._input_object(nullable, probe, nesting)
        if isinstance(nullable, GraphQLScalarType):
            return self._scalar(nullable.name, name, probe)
        return _NO_VALUE

    def _input_object(self, type_: GraphQLInputObjectType, probe: bool, nesting: int) -> Any:
        if nesting > 2:
            return _NO_VALUE
        value = {}
        for name, input_field in type_.fields.items():
            required = isinstance(input_field.type, GraphQLNonNull) and input_field.default_value is _undefined()
            if not required and (probe or not self._chance(0.3)):
                continue
            item = self._value(input_field.type, name, probe, nesting + 1)
            if item is _NO_VALUE:
                if required:
                    return _NO_VALUE
                continue
            value[name] = item
        return value

    def _scalar(self, scalar: str, name: str, probe: bool) -> Any:
        if scalar == "ID":
            return "probe" if probe else self._global_id(name)
        if scalar == "Int":
            return self.random.choice([0, 1, 2, 30, 1000])
        if scalar == "Boolean":
            return self.random.random() < 0.5
        if scalar == "Float":
            return self.random.choice([0.0, 1.5, -3.25])
        if scalar == "DateTime":
            return self.random.choice(["2020-01-01T00:00:00+00:00", "2099-12-31T23:00:00+00:00"])
        if scalar == "String":
            return self.random.choice(self.pools.strings)
        return _NO_VALUE  # Upload, JSON: nothing a read needs

    def _global_id(self, name: str) -> str:
        """An ID seen before, of the type the argument's name says if there are some (`userId`: a User's),
        now and then an unknown or malformed one."""
        roll = self.random.random()
        if roll < 0.05:
            return "not-an-id"
        if roll < 0.1:
            return to_global_id(self.random.choice(["Device", "User", "Organisation"]), 999_999)
        wanted = name[0].upper() + name[1:].removesuffix("Ids").removesuffix("Id")
        if wanted in self.pools.ids:
            return self.random.choice(self.pools.ids[wanted])
        if wanted in self.schema.type_map:
            return to_global_id(wanted, self.random.randint(1, 5))
        return self.random.choice([i for ids in self.pools.ids.values() for i in ids] or [to_global_id("Device", 1)])


PAGING = {"first", "last", "after", "before"}


class _NoValue:
    pass


_NO_VALUE: Any = _NoValue()


def _undefined() -> Any:
    from graphql import Undefined

    return Undefined


def _literal(value: Any, type_: Any) -> str:
    """`value` as a GraphQL literal of input type `type_`."""
    nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(nullable, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return "[" + ", ".join(_literal(item, nullable.of_type) for item in items) + "]"
    if isinstance(nullable, GraphQLEnumType):
        return str(value)
    if isinstance(nullable, GraphQLInputObjectType):
        return "{" + ", ".join(f"{k}: {_literal(v, nullable.fields[k].type)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
