"""DataLoader batch functions of organisations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from graph.loaders import group_by
from models import identity as m


async def partners_by_organisation(context: Any, organisation_ids: Sequence[int]) -> list[list[m.Organisation]]:
    async with context.session() as session:
        rows = (
            await session.execute(
                select(m.PartnerLink.organisation_id, m.Organisation)
                .join(m.Organisation, m.Organisation.id == m.PartnerLink.partner_id)
                .where(m.PartnerLink.organisation_id.in_(organisation_ids))
                .order_by(m.Organisation.name)
            )
        ).all()
    return group_by(rows, organisation_ids)
