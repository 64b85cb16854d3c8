"""Who sees which device templates, and their batch functions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import false, select, true
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import group_by, rows_by_id
from graph.tenancy import visible_organisation_ids
from models import remote as r
from models.identity import Permission


def template_visible(principal) -> ColumnElement[bool]:
    """Templates are managed by LOCATIONS_MANAGE holders and seen by them only: those of the caller's
    subtree (platform admins: all). Everybody else sees none (a location device's `template` is null)."""
    if principal.is_platform_admin:
        return true()
    if Permission.LOCATIONS_MANAGE not in principal.permissions:
        return false()
    return r.DeviceTemplate.organisation_id.in_(visible_organisation_ids(principal))


async def template_services(context, template_ids: Sequence[int]) -> list[list[r.DeviceTemplateService]]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.DeviceTemplateService)
                .where(r.DeviceTemplateService.template_id.in_(template_ids))
                .order_by(r.DeviceTemplateService.id)
            )
        ).all()
    return group_by([(row.template_id, row) for row in rows], template_ids)


visible_templates = rows_by_id(r.DeviceTemplate, template_visible)
