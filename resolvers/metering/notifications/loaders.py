"""Batch functions of the notifications: one statement per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from models import metering as mt


async def subscribed_points(context: Any, point_ids: Sequence[int]) -> list[bool]:
    """Whether the caller rang each point's bell (the points are visible ones: reached through the point)."""
    S = mt.MeteringPointSubscription
    async with context.session() as session:
        mine = set(
            (
                await session.scalars(
                    select(S.metering_point_id).where(
                        S.metering_point_id.in_(point_ids), S.user_id == context.principal.user_id
                    )
                )
            ).all()
        )
    return [pk in mine for pk in point_ids]
