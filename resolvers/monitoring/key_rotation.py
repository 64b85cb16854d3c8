"""What `rotate-master-key` re-seals in data monitoring (declared in the domain's Domain.sealed): the secrets of
datalog devices (OPC UA passwords, SNMP communities and passwords; the version is the sealed value's header) and
of forwarding targets (the version is a column beside the secret)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer, header_version_counts, version_header
from models import datalog as dl
from models import forwarding as fw
from resolvers.monitoring.datalog.rules import secrets_binding
from resolvers.monitoring.forwarding.sealing import open_secret, seal_secret

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
    return await header_version_counts(session, Device.secrets_sealed)


DATALOG_SECRETS = SealedValues(
    name="datalog device secrets",
    row_label="DatalogDevice",
    stale_rows=stale_datalog_secrets,
    reseal=reseal_datalog_secrets,
    count_versions=datalog_secret_versions,
)


T = fw.ForwardingTarget


async def stale_target_secrets(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
    return (
        await session.execute(
            select(T.id, T.secret)
            .where(T.id > after_id, T.secret.is_not(None), T.secret_version != current)
            .order_by(T.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def reseal_target_secret(session: AsyncSession, sealer: Sealer, row: Any) -> int:
    secrets = open_secret(sealer, row.id, row.secret)
    sealed, version, fingerprint = seal_secret(sealer, row.id, secrets)
    del secrets
    # conditional: a change of the secret meanwhile wins
    result = await session.execute(
        update(T)
        .where(T.id == row.id, T.secret == row.secret)
        .values(secret=sealed, secret_version=version, secret_fingerprint=fingerprint)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


async def target_secret_versions(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(T.secret_version, func.count()).where(T.secret.is_not(None)).group_by(T.secret_version)
    )
    return {version: count for version, count in rows.all()}


FORWARDING_SECRETS = SealedValues(
    name="forwarding secrets",
    row_label="ForwardingTarget",
    stale_rows=stale_target_secrets,
    reseal=reseal_target_secret,
    count_versions=target_secret_versions,
)
