"""What `rotate-master-key` re-seals for accounts (Domain.sealed): the SMS gateway's credentials. Queued SMS texts
are sealed too but live minutes (a code is valid 10): they are not re-sealed; remove an old key version only once
the queue has no SMS older than the rotation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer, header_version_counts, version_header
from models import identity as m
from resolvers.metering.accounts.sms import CREDENTIALS_BINDING

G = m.SmsGatewayCredential


async def stale_gateway_credentials(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
    header = version_header(current)
    return (
        await session.execute(
            select(G.id, G.secret)
            .where(G.id > after_id, func.substr(G.secret, 1, len(header)) != header)
            .order_by(G.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def reseal_gateway_credentials(session: AsyncSession, sealer: Sealer, row: Any) -> int:
    plain = sealer.open(row.secret, CREDENTIALS_BINDING)
    result = await session.execute(
        update(G)
        .where(G.id == row.id, G.secret == row.secret)  # a change meanwhile wins
        .values(secret=sealer.seal(plain, CREDENTIALS_BINDING))
        .execution_options(synchronize_session=False)
    )
    del plain
    return cast(CursorResult[Any], result).rowcount


async def gateway_credential_versions(session: AsyncSession) -> dict[int, int]:
    return await header_version_counts(session, G.secret)


SMS_GATEWAY_CREDENTIALS = SealedValues(
    name="SMS gateway credentials",
    row_label="SmsGatewayCredential",
    stale_rows=stale_gateway_credentials,
    reseal=reseal_gateway_credentials,
    count_versions=gateway_credential_versions,
)
