"""DataLoader batch functions of themes (one statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from graph.loaders import group_by, rows_by_id
from models import branding as br

#: Themes by organisation id, unscoped: a theme is public (the login page shows it before anyone logs in).
themes = rows_by_id(br.Theme, key=br.Theme.organisation_id)


async def images_by_organisation(context: Any, organisation_ids: Sequence[int]) -> list[list[Any]]:
    """The images' kind, hash and type per organisation, without their bytes."""
    I = br.ThemeImage  # noqa: E741 (a table alias)
    async with context.session() as session:
        rows = (
            await session.execute(
                select(I.organisation_id, I.kind, I.sha256, I.content_type).where(
                    I.organisation_id.in_(organisation_ids)
                )
            )
        ).all()
    return group_by([(row.organisation_id, row) for row in rows], organisation_ids)
