"""The per-request DataLoader registry, and the per-event one that subscribers share.

A batch function takes (context, keys) and returns one value per key; it opens its own session,
because DataLoader batches run concurrently with resolvers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

T = TypeVar("T")
BatchFunction = Callable[[Any, Sequence[Hashable]], Awaitable[Sequence[Any]]]


class Loaders:
    def __init__(self, context: Any) -> None:
        self._context = context
        self._loaders: dict[BatchFunction, DataLoader[Any, Any]] = {}

    def __call__(self, batch: BatchFunction) -> DataLoader[Any, Any]:
        loader = self._loaders.get(batch)
        if loader is None:
            load = partial(batch, self._context)
            tracing = getattr(self._context.runtime, "tracing", None)
            if tracing is not None:
                load = tracing.traced_batch(load, batch_name(batch))
            loader = self._loaders[batch] = DataLoader(load_fn=load)
        return loader


def batch_name(batch: Callable[..., Any]) -> str:
    """A batch function's name in traces: `identity.users.loaders.visible_users`, or for one made by rows_by_id
    or related_rows `graph.loaders.related_rows(UserRole.role)`."""
    return f"{batch.__module__.removeprefix('resolvers.')}.{batch.__qualname__}"


def _described(model: Any) -> str:
    """A model class's name, or a column's `Class.column`."""
    return getattr(model, "__name__", None) or f"{model.class_.__name__}.{model.key}"


class SharedLoaders:
    """DataLoaders shared by every subscriber of one live event in this process: the event's rows and the
    subscribers' rights are loaded in one batch for all of them, so an event costs the same statements for one
    subscriber or a thousand. Batch functions get this object as their context: `session()` and nothing of a
    principal, so they must not filter by one (the subscriber checks its rights on what they return)."""

    def __init__(self, session_factory: Callable[[], Any], rights_epoch: int | None = None) -> None:
        self.session = session_factory
        #: The stream's count of rights changes when the event went out (None: check every subscriber's rights).
        self.rights_epoch = rights_epoch
        self._loaders: dict[Callable[..., Any], DataLoader[Any, Any]] = {}
        self._once: dict[Hashable, Any] = {}

    def __call__(self, batch: Callable[[Any, Any], Awaitable[Sequence[Any]]]) -> DataLoader[Any, Any]:
        loader = self._loaders.get(batch)
        if loader is None:
            loader = self._loaders[batch] = DataLoader(load_fn=partial(batch, self))
        return loader

    async def rights(self, context: Any, batch: Callable[[Any, Any], Awaitable[Sequence[Any]]], key: Hashable) -> Any:
        """What `batch` says about `key` for a subscriber's rights (e.g. the locations granted to it): loaded once
        per count of rights changes (the stream's rights_epoch), in the batch of the first event that needs it."""
        if self.rights_epoch is None:  # a replayed event: the rights of now
            return await self(batch).load(key)
        cached = (self.rights_epoch, batch, key)  # by epoch: a connection's subscriptions may be at different events
        if cached not in context.rights_cache:
            context.rights_cache[cached] = await self(batch).load(key)
        return context.rights_cache[cached]

    def rights_checked(self, context: Any) -> bool:
        """Whether the subscriber's rights were checked at this event's count of rights changes or later."""
        checked = context.rights_epoch
        return checked is not None and self.rights_epoch is not None and checked >= self.rights_epoch

    def known_rights(self, context: Any, batch: Callable[..., Any], key: Hashable) -> Any:
        """What `rights` would answer, if the subscriber has it already at its current count; else None."""
        return context.rights_cache.get((context.rights_epoch, batch, key))

    def value(self, key: Hashable, make: Callable[..., T], *args: Any) -> T:
        """`make(*args)` the first time `key` is asked for during this event, the same object after that."""
        if key not in self._once:
            self._once[key] = make(*args)
        return self._once[key]

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        """Await `make()` once per `key` during this event: later callers (also those arriving while it runs)
        get its result."""
        task = self._once.get(key)
        if task is None:
            task = self._once[key] = asyncio.ensure_future(make())
        return await task


def group_by(rows: Sequence[tuple[Hashable, Any]], keys: Sequence[Hashable]) -> list[list[Any]]:
    """[(key, value), ...] -> one list of values per key, in key order."""
    grouped: dict[Hashable, list[Any]] = {key: [] for key in keys}
    for key, value in rows:
        grouped[key].append(value)
    return [grouped[key] for key in keys]


def by_key(items: Sequence[Any], keys: Sequence[Hashable], key: Callable[[Any], Hashable]) -> list[Any]:
    """One item (or None) per key, in key order."""
    index = {key(item): item for item in items}
    return [index.get(k) for k in keys]


Visibility = Callable[[Any], Any]  # principal -> SQL condition


def rows_by_id(model: Any, visible: Visibility | None = None, *, key: Any = None) -> BatchFunction:
    """A batch function: the row of `model` per key of column `key` (default the primary key), None where
    there is none or, with `visible(principal)`, where the caller may not see it. One statement per batch.

    Declare it once at module level: the request's loader registry is keyed by the function.
    """
    column = key if key is not None else model.id

    async def load(context: Any, keys: Sequence[Hashable]) -> list[Any]:
        statement = select(model).where(column.in_(keys))
        if visible is not None:
            statement = statement.where(visible(context.principal))
        async with context.session() as session:
            rows = (await session.scalars(statement)).all()
        return by_key(rows, keys, lambda row: getattr(row, column.key))

    load.__qualname__ = f"rows_by_id({_described(model)})"
    return load


def related_rows(
    model: Any, parent: Any, *, order_by: Sequence[Any] = (), visible: Visibility | None = None
) -> BatchFunction:
    """A batch function: the rows of `model` whose column `parent` holds each key, a list per key, in
    `order_by` order, only those the caller sees when `visible` is given. One statement per batch."""

    async def load(context: Any, keys: Sequence[Hashable]) -> list[list[Any]]:
        statement = select(parent, model).where(parent.in_(keys)).order_by(*order_by)
        if visible is not None:
            statement = statement.where(visible(context.principal))
        async with context.session() as session:
            rows = (await session.execute(statement)).all()
        return group_by(rows, keys)

    load.__qualname__ = f"related_rows({_described(model)})"
    return load
