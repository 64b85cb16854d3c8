"""What `rotate-master-key` re-seals in data monitoring (declared in the domain's Domain.sealed): the secrets of
datalog devices (OPC UA passwords, SNMP communities and passwords; the version is the sealed value's header) and
of forwarding targets (the version is a column beside the secret)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer, sealed_column
from models import datalog as dl
from models import forwarding as fw
from resolvers.monitoring.datalog.rules import secrets_binding
from resolvers.monitoring.forwarding.sealing import open_secret, seal_secret

DATALOG_SECRETS = sealed_column(
    "datalog device secrets", "DatalogDevice", dl.DatalogDevice.id, dl.DatalogDevice.secrets_sealed, secrets_binding
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
