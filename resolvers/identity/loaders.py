"""DataLoader batch functions of the identity domain (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from graph.loaders import by_key, group_by
from graph.tenancy import organisation_visible, visible_organisation_ids
from models import identity as m


async def organisations(context, ids: Sequence[int]) -> list[m.Organisation | None]:
    """Organisations by id, unscoped: only for relations of objects already checked for visibility."""
    async with context.session() as session:
        rows = (await session.scalars(select(m.Organisation).where(m.Organisation.id.in_(ids)))).all()
    return by_key(rows, ids, lambda row: row.id)


async def visible_organisations(context, ids: Sequence[int]) -> list[m.Organisation | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(m.Organisation).where(m.Organisation.id.in_(ids), organisation_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def visible_users(context, ids: Sequence[int]) -> list[m.User | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(m.User).where(
                    m.User.id.in_(ids), m.User.organisation_id.in_(visible_organisation_ids(context.principal))
                )
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def visible_user_groups(context, ids: Sequence[int]) -> list[m.UserGroup | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(m.UserGroup).where(
                    m.UserGroup.id.in_(ids),
                    m.UserGroup.organisation_id.in_(visible_organisation_ids(context.principal)),
                )
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def roles_by_user(context, user_ids: Sequence[int]) -> list[list[m.Role]]:
    async with context.session() as session:
        rows = (
            await session.execute(
                select(m.UserRole.user_id, m.UserRole.role)
                .where(m.UserRole.user_id.in_(user_ids))
                .order_by(m.UserRole.role)
            )
        ).all()
    return group_by(rows, user_ids)


async def granted_permissions_by_user(context, user_ids: Sequence[int]) -> list[list[m.Permission]]:
    async with context.session() as session:
        rows = (
            await session.execute(
                select(m.UserPermission.user_id, m.UserPermission.permission)
                .where(m.UserPermission.user_id.in_(user_ids))
                .order_by(m.UserPermission.permission)
            )
        ).all()
    return group_by(rows, user_ids)


async def groups_by_user(context, user_ids: Sequence[int]) -> list[list[m.UserGroup]]:
    async with context.session() as session:
        rows = (
            await session.execute(
                select(m.UserGroupMember.user_id, m.UserGroup)
                .join(m.UserGroup, m.UserGroup.id == m.UserGroupMember.group_id)
                .where(m.UserGroupMember.user_id.in_(user_ids))
                .order_by(m.UserGroup.name)
            )
        ).all()
    return group_by(rows, user_ids)


async def members_by_group(context, group_ids: Sequence[int]) -> list[list[m.User]]:
    async with context.session() as session:
        rows = (
            await session.execute(
                select(m.UserGroupMember.group_id, m.User)
                .join(m.User, m.User.id == m.UserGroupMember.user_id)
                .where(m.UserGroupMember.group_id.in_(group_ids))
                .order_by(m.User.name, m.User.id)
            )
        ).all()
    return group_by(rows, group_ids)


async def partners_by_organisation(context, organisation_ids: Sequence[int]) -> list[list[m.Organisation]]:
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
