"""The per-request DataLoader registry.

A batch function takes (context, keys) and returns one value per key; it opens its own session,
because DataLoader batches run concurrently with resolvers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

BatchFunction = Callable[[Any, Sequence[Hashable]], Awaitable[Sequence[Any]]]


class Loaders:
    def __init__(self, context: Any) -> None:
        self._context = context
        self._loaders: dict[BatchFunction, DataLoader[Any, Any]] = {}

    def __call__(self, batch: BatchFunction) -> DataLoader[Any, Any]:
        loader = self._loaders.get(batch)
        if loader is None:
            loader = self._loaders[batch] = DataLoader(load_fn=partial(batch, self._context))
        return loader


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
