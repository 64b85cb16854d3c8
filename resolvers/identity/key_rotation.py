"""What `rotate-master-key` re-seals in identity: TOTP secrets (declared in its Domain.sealed).

A TOTP secret's version is only in the sealed value's header (graph.secrets.sealed_version).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer, header_version_counts, version_header
from models import identity as m


def totp_binding(user_id: int) -> str:
    """Associated data of a user's TOTP secret: copied to another user, it does not open."""
    return f"user:{user_id}:totp"


async def stale_totp_secrets(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
    return (
        await session.execute(
            select(m.User.id, m.User.totp_secret_sealed)
            .where(
                m.User.id > after_id,
                m.User.totp_secret_sealed.is_not(None),
                func.substr(m.User.totp_secret_sealed, 1, len(version_header(current))) != version_header(current),
            )
            .order_by(m.User.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def reseal_totp_secret(session: AsyncSession, sealer: Sealer, row: Any) -> int:
    secret = sealer.open(row.totp_secret_sealed, totp_binding(row.id))
    result = await session.execute(
        update(m.User)
        .where(m.User.id == row.id, m.User.totp_secret_sealed == row.totp_secret_sealed)
        .values(totp_secret_sealed=sealer.seal(secret, totp_binding(row.id)))
    )
    return cast(CursorResult[Any], result).rowcount


async def totp_versions(session: AsyncSession) -> dict[int, int]:
    return await header_version_counts(session, m.User.totp_secret_sealed)


TOTP_SECRETS = SealedValues(
    name="TOTP secrets",
    row_label="User",
    stale_rows=stale_totp_secrets,
    reseal=reseal_totp_secret,
    count_versions=totp_versions,
)
