"""DataLoader batch functions of user groups: a user's groups, a group's members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from graph.loaders import group_by
from models import identity as m


async def groups_by_user(context: Any, user_ids: Sequence[int]) -> list[list[m.UserGroup]]:
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


async def members_by_group(context: Any, group_ids: Sequence[int]) -> list[list[m.User]]:
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
