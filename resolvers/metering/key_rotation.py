"""What `rotate-master-key` re-seals in metering (Domain.sealed): the webhook integrations' HMAC secrets (the
version is a column beside the secret)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer
from models import metering as mt
from resolvers.metering.integrations.fields import open_secret, seal_secret

Itg = mt.Integration


async def stale_integration_secrets(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
    return (
        await session.execute(
            select(Itg.id, Itg.secret)
            .where(Itg.id > after_id, Itg.secret.is_not(None), Itg.secret_version != current)
            .order_by(Itg.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def reseal_integration_secret(session: AsyncSession, sealer: Sealer, row: Any) -> int:
    secret = open_secret(sealer, row.id, row.secret)
    sealed, version = seal_secret(sealer, row.id, secret)
    del secret
    # conditional: a change of the secret meanwhile wins
    result = await session.execute(
        update(Itg)
        .where(Itg.id == row.id, Itg.secret == row.secret)
        .values(secret=sealed, secret_version=version)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


async def integration_secret_versions(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(Itg.secret_version, func.count()).where(Itg.secret.is_not(None)).group_by(Itg.secret_version)
    )
    return {version: count for version, count in rows.all()}


INTEGRATION_SECRETS = SealedValues(
    name="integration secrets",
    row_label="Integration",
    stale_rows=stale_integration_secrets,
    reseal=reseal_integration_secret,
    count_versions=integration_secret_versions,
)
