"""DataLoader batch functions for the relations of batches (one SQL statement per loader batch).

A batch's devices are a connection per batch; so that a list of batches does not run one page
query per batch, the pages of all batches asked for with the same arguments are read in one
statement (ROW_NUMBER over the batch, cut at the page size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from models import catalogue as c
from resolvers.catalogue.loaders import device_visible


async def device_counts(context, batch_ids: Sequence[int]) -> list[int]:
    """How many devices each batch was created with (visible or not: a count names no device)."""
    async with context.session() as session:
        rows = (
            await session.execute(
                select(c.BatchDevice.batch_id, func.count())
                .where(c.BatchDevice.batch_id.in_(batch_ids))
                .group_by(c.BatchDevice.batch_id)
            )
        ).all()
    counts = dict(rows)
    return [counts.get(pk, 0) for pk in batch_ids]


async def visible_device_counts(context, batch_ids: Sequence[int]) -> list[int]:
    """How many of each batch's devices the caller may see (the `totalCount` of Batch.devices)."""
    async with context.session() as session:
        rows = (
            await session.execute(
                select(c.BatchDevice.batch_id, func.count())
                .join(c.Device, c.Device.id == c.BatchDevice.device_id)
                .where(c.BatchDevice.batch_id.in_(batch_ids), device_visible(context.principal))
                .group_by(c.BatchDevice.batch_id)
            )
        ).all()
    counts = dict(rows)
    return [counts.get(pk, 0) for pk in batch_ids]


@dataclass(frozen=True)
class DevicePageKey:
    """One batch's page of devices: `size` + 1 rows (to know whether more follow) after a position."""

    batch_pk: int
    size: int
    #: (serial number, device id) of the last device of the previous page, or None from the start.
    after: tuple[str, int] | None


async def device_pages(context, keys: Sequence[DevicePageKey]) -> list[list[c.Device]]:
    """Up to size + 1 visible devices per batch, by serial number, after the given position.

    Keys asking with the same size and position share one statement (a list of batches asks
    every batch with the same arguments, so that is one statement for the whole list).
    """
    groups: dict[tuple[int, tuple[str, int] | None], list[int]] = {}
    for key in keys:
        groups.setdefault((key.size, key.after), []).append(key.batch_pk)
    found: dict[DevicePageKey, list[c.Device]] = {}
    async with context.session() as session:
        for (size, after), batch_pks in groups.items():
            position = []
            if after is not None:
                serial, device_id = after
                position.append(
                    or_(
                        c.Device.serial_number > serial, and_(c.Device.serial_number == serial, c.Device.id > device_id)
                    )
                )
            rank = (
                func.row_number()
                .over(partition_by=c.BatchDevice.batch_id, order_by=(c.Device.serial_number, c.Device.id))
                .label("rank")
            )
            ranked = (
                select(c.Device, c.BatchDevice.batch_id.label("batch_pk"), rank)
                .join(c.BatchDevice, c.BatchDevice.device_id == c.Device.id)
                .where(c.BatchDevice.batch_id.in_(batch_pks), device_visible(context.principal), *position)
                .subquery()
            )
            device = aliased(c.Device, ranked)
            rows = (
                await session.execute(
                    select(device, ranked.c.batch_pk)
                    .where(ranked.c.rank <= size + 1)
                    .order_by(ranked.c.batch_pk, ranked.c.rank)
                )
            ).all()
            pages: dict[int, list[c.Device]] = {pk: [] for pk in batch_pks}
            for row, batch_pk in rows:
                pages[batch_pk].append(row)
            for pk in batch_pks:
                found[DevicePageKey(pk, size, after)] = pages[pk]
    return [found[key] for key in keys]
