"""DataLoader batch functions of the catalogue (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select, true
from sqlalchemy.orm import load_only

from graph.loaders import by_key, group_by
from graph.tenancy import visible_organisation_ids
from models import catalogue as c


def device_visible(principal):
    """Devices owned within the caller's subtree; platform admins see every device (also unowned ones)."""
    if principal.is_platform_admin:
        return true()
    return c.Device.organisation_id.in_(visible_organisation_ids(principal))


def batch_visible(principal):
    """A batch is seen by its sender and its receiver (and their ancestors)."""
    if principal.is_platform_admin:
        return true()
    visible = visible_organisation_ids(principal)
    return or_(c.Batch.organisation_id.in_(visible), c.Batch.sender_organisation_id.in_(visible))


async def product_types(context, ids: Sequence[int]) -> list[c.ProductType | None]:
    """Product types are shipped data, the same for everyone."""
    async with context.session() as session:
        rows = (await session.scalars(select(c.ProductType).where(c.ProductType.id.in_(ids)))).all()
    return by_key(rows, ids, lambda row: row.id)


async def batches(context, ids: Sequence[int]) -> list[c.Batch | None]:
    """Batches by id, unscoped: only for the batch of a device already checked for visibility."""
    async with context.session() as session:
        rows = (await session.scalars(select(c.Batch).where(c.Batch.id.in_(ids)))).all()
    return by_key(rows, ids, lambda row: row.id)


async def visible_batches(context, ids: Sequence[int]) -> list[c.Batch | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(select(c.Batch).where(c.Batch.id.in_(ids), batch_visible(context.principal)))
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def visible_devices(context, ids: Sequence[int]) -> list[c.Device | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(select(c.Device).where(c.Device.id.in_(ids), device_visible(context.principal)))
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def labels_by_device(context, device_ids: Sequence[int]) -> list[list[str]]:
    async with context.session() as session:
        rows = (
            await session.execute(
                select(c.DeviceLabel.device_id, c.DeviceLabel.label)
                .where(c.DeviceLabel.device_id.in_(device_ids))
                .order_by(c.DeviceLabel.label)
            )
        ).all()
    return group_by(rows, device_ids)


async def keys_by_device(context, device_ids: Sequence[int]) -> list[list[c.DeviceKey]]:
    """Key rows per device, for their metadata only: the sealed value is never loaded here."""
    async with context.session() as session:
        rows = (
            (
                await session.execute(
                    select(c.DeviceKey)
                    .options(
                        load_only(
                            c.DeviceKey.id,
                            c.DeviceKey.device_id,
                            c.DeviceKey.kind,
                            c.DeviceKey.algorithm,
                            c.DeviceKey.state,
                            c.DeviceKey.valid_from,
                            c.DeviceKey.valid_until,
                            c.DeviceKey.created_at,
                        )
                    )
                    .where(c.DeviceKey.device_id.in_(device_ids))
                    .order_by(c.DeviceKey.kind, c.DeviceKey.id)
                )
            )
            .scalars()
            .all()
        )
    return group_by([(row.device_id, row) for row in rows], device_ids)
