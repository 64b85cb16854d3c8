"""Batch functions of forwarding: one statement per batch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from graph.loaders import group_by
from models import forwarding as fw

#: The newest attempts of a delivery shown with it (a delivery has at most delivery_max_attempts of them, unless
#: an operator queued it again).
MAX_ATTEMPTS_SHOWN = 50


async def attempts_by_delivery(context, delivery_ids: Sequence[int]) -> list[list[fw.OutboundAttempt]]:
    """The attempts of each delivery, newest first (deliveries reach these only through a visible target)."""
    A = fw.OutboundAttempt
    async with context.session() as session:
        rows = (
            await session.scalars(select(A).where(A.delivery_id.in_(delivery_ids)).order_by(A.delivery_id, A.id.desc()))
        ).all()
    grouped = group_by([(row.delivery_id, row) for row in rows], delivery_ids)
    return [attempts[:MAX_ATTEMPTS_SHOWN] for attempts in grouped]
