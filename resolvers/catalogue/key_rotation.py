"""What `rotate-master-key` re-seals in the catalogue: device keys (declared in its Domain.sealed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer
from models import catalogue as c
from resolvers.catalogue.keys import open_device_key, seal_device_key


async def stale_device_keys(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
    return (
        await session.execute(
            select(c.DeviceKey.id, c.DeviceKey.device_id, c.DeviceKey.kind, c.DeviceKey.algorithm, c.DeviceKey.sealed)
            .where(c.DeviceKey.id > after_id, c.DeviceKey.master_key_version != current)
            .order_by(c.DeviceKey.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def reseal_device_key(session: AsyncSession, sealer: Sealer, row: Any) -> int:
    key = open_device_key(sealer, row)
    sealed, version = seal_device_key(sealer, row.device_id, row.kind, row.algorithm, key)
    del key
    result = await session.execute(
        update(c.DeviceKey)
        .where(c.DeviceKey.id == row.id, c.DeviceKey.sealed == row.sealed)
        .values(sealed=sealed, master_key_version=version)
    )
    return cast(CursorResult[Any], result).rowcount


async def device_key_versions(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(c.DeviceKey.master_key_version, func.count()).group_by(c.DeviceKey.master_key_version)
    )
    return {version: count for version, count in rows.all()}


DEVICE_KEYS = SealedValues(
    name="device keys",
    row_label="DeviceKey",
    stale_rows=stale_device_keys,
    reseal=reseal_device_key,
    count_versions=device_key_versions,
)
