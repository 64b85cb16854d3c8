"""Relay: global IDs, the Node interface, and keyset-paginated cursor connections."""

from __future__ import annotations

import base64
import binascii
import enum
import functools
from collections import namedtuple
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
import strawberry
from sqlalchemy import BigInteger, Select, and_, false, func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import QueryableAttribute, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from graph.compiled import computed
from graph.errors import BadUserInput
from graph.lookahead import LookAhead

#: The cost limit (graph.cost) bounds the work of a page; this bounds the rows one statement returns.
MAX_PAGE_SIZE = 5000
#: Primary keys are 32-bit (PostgreSQL `integer`): a larger number would fail in the driver, not read as unknown.
MAX_PK = 2**31 - 1
DEFAULT_PAGE_SIZE = 50

# The paging arguments of every connection field, described once.
PageFirst = Annotated[
    int | None,
    strawberry.argument(
        description=f"Page size from the start (or after `after`); default {DEFAULT_PAGE_SIZE}, "
        f"at most {MAX_PAGE_SIZE}."
    ),
]
PageAfter = Annotated[str | None, strawberry.argument(description="Cursor to continue after.")]
PageLast = Annotated[
    int | None,
    strawberry.argument(description=f"Page size from the end (or before `before`); at most {MAX_PAGE_SIZE}."),
]
PageBefore = Annotated[str | None, strawberry.argument(description="Cursor to continue before.")]


class InvalidGlobalId(ValueError):
    pass


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, int]:
    """Decode "Type:pk"; raises InvalidGlobalId for anything malformed."""
    if not isinstance(global_id, str) or not 0 < len(global_id) <= 200:
        raise InvalidGlobalId("malformed ID")
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, pk = raw.partition(":")
        if not type_name or not (pk.isascii() and pk.isdigit()) or len(pk) > 18 or int(pk) > MAX_PK:
            raise ValueError
        return type_name, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidGlobalId("malformed ID") from exc


def decode_id(global_id: str, expected_type: str) -> int | None:
    """The primary key if `global_id` is a well-formed ID of `expected_type`, else None."""
    try:
        type_name, pk = from_global_id(global_id)
    except InvalidGlobalId:
        return None
    return pk if type_name == expected_type else None


@strawberry.interface(description="An object with a globally unique ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique, opaque ID.")


@strawberry.type(description="Where a page starts and ends, and whether there is more.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="More items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item of the page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item of the page.")


NodeType = TypeVar("NodeType")


@strawberry.type(description="An item of a page with its cursor.")
class Edge(Generic[NodeType]):
    @strawberry.field(description="Pass as `after` or `before` to page from here.")
    @computed
    def cursor(self) -> str:
        # encoded when asked for: most lists ask only for pageInfo's end cursor, not one per edge
        return encode_cursor(self.position)

    node: NodeType = strawberry.field(description="The item.")
    #: The item's sort key values, which its cursor encodes.
    position: strawberry.Private[Sequence[Any]]


@strawberry.type(description="A page of items with cursors (Relay connection).")
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]] = strawberry.field(description="The items of the page with their cursors.")
    nodes: list[NodeType] = strawberry.field(description="The items of the page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items matching the filter, over all pages (counted only when asked).")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.enum(description="Sort direction.")
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True)
class SortKey:
    column: ColumnElement[Any] | QueryableAttribute[Any]
    descending: bool = False


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(orjson.dumps(plain)).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        decoded: list[Any] = []
        for key, value in zip(keys, values, strict=True):
            column_type = key.column.type
            # a TypeDecorator (UTCDateTime) reports `object`: ask the type it wraps
            column_type = column_type.impl if isinstance(column_type, TypeDecorator) else column_type
            python_type = column_type.python_type
            if value is None:
                # every sort key is NOT NULL, so our cursors never hold null (and `column < NULL` would
                # be no comparison at all)
                raise ValueError
            if python_type is datetime:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError  # our cursors carry UTC offsets; a naive time would fail in the database
                # in UTC, as the database compares it; a crafted offset at the ends of the calendar overflows here
                decoded.append(moment.astimezone(UTC))
            elif python_type is int and isinstance(value, int) and not isinstance(value, bool):
                # a crafted number beyond the column's range would fail in the driver (a 500, not a 400)
                limit = 2**63 if isinstance(column_type, BigInteger) else 2**31
                if not -limit <= value < limit:
                    raise ValueError
                decoded.append(value)
            elif python_type in (str, bool) and isinstance(value, python_type) and "\x00" not in str(value):
                decoded.append(value)
            else:
                raise ValueError
        return decoded
    except (binascii.Error, ValueError, TypeError, OverflowError, orjson.JSONDecodeError, NotImplementedError) as exc:
        raise BadUserInput("Invalid cursor.", argument="after/before") from exc


def rows_beyond(keys: Sequence[SortKey], values: Sequence[Any], *, forward: bool) -> ColumnElement[bool]:
    """Rows strictly after (forward) or before the position `values` in the order `keys`."""
    clauses = []
    for i, key in enumerate(keys):
        later = key.column < values[i] if key.descending == forward else key.column > values[i]
        equal_prefix = [keys[j].column == values[j] for j in range(i)]
        clauses.append(and_(*equal_prefix, later))
    return or_(*clauses) if clauses else false()


def check_page_arguments(first: int | None, last: int | None) -> None:
    if first is not None and last is not None:
        raise BadUserInput("Pass either `first` or `last`, not both.", argument="first")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}.", argument=name)


def _page_size(first: int | None, last: int | None) -> tuple[int, bool]:
    """(rows per page, backward) of checked paging arguments."""
    check_page_arguments(first, last)
    if last is not None:
        return last, True
    return (first if first is not None else DEFAULT_PAGE_SIZE), False


def _key_ordering(keys: Sequence[SortKey], backward: bool) -> list[Any]:
    """The order in which a page is read: the keys' order, reversed when paging backward."""
    return [(key.column.asc() if key.descending == backward else key.column.desc()) for key in keys]


def _connection(
    rows: Sequence[tuple[Any, Sequence[Any]]],
    build: Callable[[Any], NodeType],
    count: Callable[[], Awaitable[int]],
    *,
    size: int,
    backward: bool,
    after: str | None,
    before: str | None,
) -> Connection[NodeType]:
    """The Relay page of up to `size` + 1 (row, sort key values) read in paging order."""
    has_more = len(rows) > size
    page = list(rows[:size])
    if backward:
        page.reverse()
    edges = [Edge(node=build(row), position=values) for row, values in page]
    page_info = PageInfo(
        has_next_page=has_more if not backward else before is not None,
        has_previous_page=has_more if backward else after is not None,
        start_cursor=edges[0].cursor() if edges else None,
        end_cursor=edges[-1].cursor() if edges else None,
    )
    return Connection(edges=edges, nodes=[edge.node for edge in edges], page_info=page_info, count=count)


@functools.cache
def record_type(entity: type) -> type:
    """A named tuple of `entity`'s column attributes. A page builds its items from these rows, not from ORM
    entities: no identity map, instrumented attributes or per-row state for objects that live one request.
    Mapped classes have no relationships, so every builder only reads columns."""
    names = [str(column.key) for column in sa_inspect(entity).column_attrs]  # type: ignore[var-annotated]
    return namedtuple(f"{entity.__name__}Record", names)


class _PageRows:
    """How a page's rows become records: the columns to select for the statement's entity and the joined ones,
    and each row split into their records (each joined row's once per primary key, or None where none joined)."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self.columns: list[Any] = []
        #: (make the record, first column, end, column of the primary key) per part
        self.spans: list[tuple[Callable[[Any], Any], int, int, int]] = []
        for part in parts:
            mapper = sa_inspect(part).mapper
            record: Any = record_type(mapper.class_)
            start = len(self.columns)
            self.columns.extend(getattr(part, name) for name in record._fields)
            pk = mapper.get_property_by_column(mapper.primary_key[0]).key  # the attribute's name, as in the record
            self.spans.append((record._make, start, len(self.columns), start + record._fields.index(pk)))

    def items(self, rows: Sequence[Any]) -> list[tuple[Any, Sequence[Any]]]:
        """(records, the sort key values selected after them) per row."""
        width = len(self.columns)
        (make_main, _start, main_end, _pk), *related = self.spans
        if not related:
            return [(make_main(row[:width]), row[width:]) for row in rows]
        joined: list[tuple[Any, int, int, int, dict[Any, Any]]] = [
            (make, start, end, pk, {}) for make, start, end, pk in related
        ]

        def split(row: Any) -> tuple[Any, ...]:
            parts = [make_main(row[:main_end])]
            for make, start, end, pk, made in joined:
                key = row[pk]
                if key is None:
                    parts.append(None)
                    continue
                record = made.get(key)
                if record is None:
                    record = made[key] = make(row[start:end])
                parts.append(record)
            return tuple(parts)

        return [(split(row), row[width:]) for row in rows]


async def paginate(
    context: Any,
    statement: Select[Any],
    keys: Sequence[SortKey],
    build: Callable[[Any], NodeType],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    ahead: LookAhead | None = None,
) -> Connection[NodeType]:
    """Keyset pagination of `statement` (selecting one entity) ordered by `keys`.

    The last key must be unique (the primary key) so that every row has one position. `build` gets the
    entity's record (`record_type`: its columns as a named tuple). `ahead`: the relations the query selects
    on the items, loaded with the page (graph.lookahead).
    """
    joined: Sequence[tuple[Any, Any]] = ()
    if ahead is not None:
        build, joined = ahead.builder(build), ahead.joined
    size, backward = _page_size(first, last)
    key_columns = [key.column for key in keys]

    filtered = statement
    if after is not None:
        filtered = filtered.where(rows_beyond(keys, decode_cursor(after, keys), forward=True))
    if before is not None:
        filtered = filtered.where(rows_beyond(keys, decode_cursor(before, keys), forward=False))
    parts = [statement.column_descriptions[0]["entity"]]
    for entity, condition in joined:
        filtered = filtered.outerjoin(entity, condition)
        parts.append(entity)
    page_rows = _PageRows(parts)
    page_statement = (
        filtered.with_only_columns(*page_rows.columns, *key_columns)
        .order_by(*_key_ordering(keys, backward))
        .limit(size + 1)
    )

    async with context.session() as session:
        # on the session's connection: Core rows, without the ORM's per-row processing (it selects no entity)
        connection = await session.connection()
        rows = (await connection.execute(page_statement)).all()

    async def count() -> int:
        count_statement = select(func.count()).select_from(statement.order_by(None).subquery())
        async with context.session() as session:
            return (await session.execute(count_statement)).scalar_one()

    page = _connection(page_rows.items(rows), build, count, size=size, backward=backward, after=after, before=before)
    if ahead is not None:
        await ahead.load_many(context, page.nodes)
    return page


# --- one page per parent (a connection field of a type shown in lists) ------------------------------------


@dataclass(frozen=True)
class ParentPage:
    """One parent's page: up to `size` + 1 rows (to know whether more follow) strictly after `after` and
    before `before` (decoded cursors), read from the end when `backward`."""

    parent: Hashable
    size: int
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None
    backward: bool = False


def parent_pages(
    entity: Any, parent: Any, keys: Sequence[SortKey], rows: Callable[[Any], Select[Any]]
) -> Callable[[Any, Sequence[ParentPage]], Awaitable[list[list[Any]]]]:
    """A batch function: the page of rows of `entity` per ParentPage key, in paging order.

    `rows(principal)` selects `entity` (joined so that column `parent` names each row's parent, and
    limited to what the caller sees); the keys' columns are `entity`'s and the last one is unique.
    Parents asking with the same page arguments share one statement (ROW_NUMBER over the parent, cut
    at the page size), so a list of parents with their pages is one statement, not one per parent.
    Declare it once at module level: the request's loader registry is keyed by the function.
    """

    async def load(context: Any, pages: Sequence[ParentPage]) -> list[list[Any]]:
        groups: dict[tuple[Any, ...], list[Hashable]] = {}
        for page in pages:
            groups.setdefault((page.size, page.after, page.before, page.backward), []).append(page.parent)
        found: dict[ParentPage, list[Any]] = {}
        async with context.session() as session:
            for (size, after, before, backward), parents in groups.items():
                conditions = [parent.in_(parents)]
                if after is not None:
                    conditions.append(rows_beyond(keys, after, forward=True))
                if before is not None:
                    conditions.append(rows_beyond(keys, before, forward=False))
                rank = func.row_number().over(partition_by=parent, order_by=_key_ordering(keys, backward))
                ranked = (
                    rows(context.principal)
                    .add_columns(parent.label("page_parent"), rank.label("page_rank"))
                    .where(*conditions)
                    .subquery()
                )
                row = aliased(entity, ranked)
                statement = (
                    select(row, ranked.c.page_parent)
                    .where(ranked.c.page_rank <= size + 1)
                    .order_by(ranked.c.page_parent, ranked.c.page_rank)
                )
                per_parent: dict[Hashable, list[Any]] = {pk: [] for pk in parents}
                for item, pk in (await session.execute(statement)).all():
                    per_parent[pk].append(item)
                for pk, items in per_parent.items():
                    found[ParentPage(pk, size, after, before, backward)] = items
        return [found[page] for page in pages]

    return load


async def paginate_parent(
    context: Any,
    pages: Callable[[Any, Sequence[ParentPage]], Awaitable[list[list[Any]]]],
    parent: Hashable,
    keys: Sequence[SortKey],
    build: Callable[[Any], NodeType],
    count: Callable[[], Awaitable[int]],
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[NodeType]:
    """`paginate` for one parent's rows through the `parent_pages` batch function `pages` (same keys),
    with the same arguments, cursors and pageInfo; `count` answers `totalCount`."""
    size, backward = _page_size(first, last)
    request = ParentPage(
        parent,
        size,
        tuple(decode_cursor(after, keys)) if after is not None else None,
        tuple(decode_cursor(before, keys)) if before is not None else None,
        backward,
    )
    rows = await context.loaders(pages).load(request)
    attributes = [str(key.column.key) for key in keys]
    return _connection(
        [(row, [getattr(row, name) for name in attributes]) for row in rows],
        build,
        count,
        size=size,
        backward=backward,
        after=after,
        before=before,
    )


def node_loader(batch_fn, build):
    """A NODE_RESOLVERS loader: rows by primary key through the request's DataLoader for `batch_fn` (which
    applies the caller's visibility), each built into its GraphQL type; null where not found or not visible."""

    async def load(info, pks):
        rows = await info.context.loaders(batch_fn).load_many(pks)
        return [build(row) if row is not None else None for row in rows]

    return load
