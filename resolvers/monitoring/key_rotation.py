"""What `rotate-master-key` re-seals in data monitoring: the secrets of datalog devices (OPC UA passwords, SNMP
communities and passwords), declared in the domain's Domain.sealed. The version is the sealed value's header."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer, version_header
from models import datalog as dl
from resolvers.monitoring.datalog.rules import secrets_binding

Device = dl.DatalogDevice


async def stale_datalog_secrets(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
    header = version_header(current)
    return (
        await session.execute(
            select(Device.id, Device.secrets_sealed)
            .where(
                Device.id > after_id,
                Device.secrets_sealed.is_not(None),
                func.substr(Device.secrets_sealed, 1, len(header)) != header,
            )
            .order_by(Device.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def reseal_datalog_secrets(session: AsyncSession, sealer: Sealer, row: Any) -> int:
    plain = sealer.open(row.secrets_sealed, secrets_binding(row.id))
    result = await session.execute(
        update(Device)
        .where(Device.id == row.id, Device.secrets_sealed == row.secrets_sealed)
        .values(secrets_sealed=sealer.seal(plain, secrets_binding(row.id)))
    )
    del plain
    return cast(CursorResult[Any], result).rowcount


async def datalog_secret_versions(session: AsyncSession) -> dict[int, int]:
    # literal positions: as bound parameters PostgreSQL would not see the GROUP BY expression as the selected one
    width = len(version_header(1))
    header = func.substr(Device.secrets_sealed, literal_column("1"), literal_column(str(width)))
    rows = await session.execute(
        select(header, func.count()).where(Device.secrets_sealed.is_not(None)).group_by(header)
    )
    counts: dict[int, int] = {}
    for raw, count in rows.all():
        version = int.from_bytes(bytes(raw), "big")
        counts[version] = counts.get(version, 0) + count
    return counts


DATALOG_SECRETS = SealedValues(
    name="datalog device secrets",
    row_label="DatalogDevice",
    stale_rows=stale_datalog_secrets,
    reseal=reseal_datalog_secrets,
    count_versions=datalog_secret_versions,
)
