"""User group rules: create, rename and delete groups of the caller's subtree, and replace their members."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_permission
from graph.relay import decode_id
from graph.rules import UNSET, clean_text
from graph.tenancy import target_organisation
from models import identity as m
from resolvers.audit.rules import record
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.hooks import REACH_SHRANK
from resolvers.identity.lookups import visible_group

MAX_NAME = 200


async def _members(
    session: AsyncSession, principal: Principal, organisation_id: int, member_ids: Sequence[str]
) -> list[m.User]:
    if len(member_ids) > 1000:
        raise DomainError(Code.INVALID, "at most 1000 members at once", "memberIds")
    pks = [decode_id(global_id, "User") for global_id in member_ids]
    wanted = {pk for pk in pks if pk is not None}
    # one query for all members; the error's path is the index in the input as given (duplicates included)
    found = (
        {
            user.id: user
            for user in (
                await session.scalars(
                    select(m.User).where(m.User.id.in_(wanted), m.User.organisation_id == organisation_id)
                )
            ).all()
        }
        if wanted
        else {}
    )
    members: dict[int, m.User] = {}  # in the order given, each once
    for index, pk in enumerate(pks):
        if pk is None or pk not in found:
            raise DomainError(Code.NOT_FOUND, "no such user in the group's organisation", ["memberIds", str(index)])
        members.setdefault(pk, found[pk])
    return list(members.values())


async def _member_ids(session: AsyncSession, group_id: int) -> set[int]:
    return set(
        (await session.scalars(select(m.UserGroupMember.user_id).where(m.UserGroupMember.group_id == group_id))).all()
    )


async def _set_members(session: AsyncSession, group: m.UserGroup, members: list[m.User]) -> None:
    former = await _member_ids(session, group.id)
    await session.execute(delete(m.UserGroupMember).where(m.UserGroupMember.group_id == group.id))
    session.add_all(m.UserGroupMember(group_id=group.id, user_id=user.id) for user in members)
    await session.flush()
    await REACH_SHRANK(session, former - {user.id for user in members})


async def _ensure_group_name_free(
    session: AsyncSession, organisation_id: int, name: str, except_id: int | None = None
) -> None:
    existing = await session.scalar(
        select(m.UserGroup.id).where(m.UserGroup.organisation_id == organisation_id, m.UserGroup.name == name)
    )
    if existing is not None and existing != except_id:
        raise DomainError(Code.DUPLICATE, "a group with this name exists", "name")


async def create_group(
    session: AsyncSession, context: Context, name: str, organisation_id: str | None, member_ids: list[str]
) -> m.UserGroup:
    principal = require_permission(context, m.Permission.USER_GROUPS_MANAGE)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    name = clean_text(name, "name", max_length=MAX_NAME)
    await _ensure_group_name_free(session, organisation.id, name)
    members = await _members(session, principal, organisation.id, member_ids)
    group = m.UserGroup(organisation_id=organisation.id, name=name)
    session.add(group)
    await session.flush()
    await _set_members(session, group, members)
    await record(
        session,
        context,
        "user_group.created",
        organisation_id=organisation.id,
        target_type="UserGroup",
        target_id=group.id,
        details={"name": name, "members": len(members)},
    )
    return group


async def update_group(
    session: AsyncSession, context: Context, group_id: str, name: str = UNSET, member_ids: Sequence[str] = UNSET
) -> m.UserGroup:
    principal = require_permission(context, m.Permission.USER_GROUPS_MANAGE)
    group = await visible_group(session, principal, group_id)
    if name is not UNSET:
        name = clean_text(name, "name", max_length=MAX_NAME)
        await _ensure_group_name_free(session, group.organisation_id, name, except_id=group.id)
        group.name = name
    if member_ids is not UNSET:
        await _set_members(session, group, await _members(session, principal, group.organisation_id, member_ids))
    await record(
        session,
        context,
        "user_group.updated",
        organisation_id=group.organisation_id,
        target_type="UserGroup",
        target_id=group.id,
    )
    return group


async def delete_group(session: AsyncSession, context: Context, group_id: str) -> str:
    principal = require_permission(context, m.Permission.USER_GROUPS_MANAGE)
    group = await visible_group(session, principal, group_id)
    await record(
        session,
        context,
        "user_group.deleted",
        organisation_id=group.organisation_id,
        target_type="UserGroup",
        target_id=group.id,
        details={"name": group.name},
    )
    former = await _member_ids(session, group.id)
    await session.delete(group)
    await session.flush()
    await REACH_SHRANK(session, former)
    return group_id
