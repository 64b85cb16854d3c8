"""Lookups within the caller's reach that several identity features use.

Another tenant's object reads like an unknown one. Organisations: graph.tenancy.visible_organisation.
"""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Principal
from graph.errors import BadUserInput, DomainError
from graph.relay import decode_id
from graph.tenancy import path_visible
from models import identity as m
from resolvers.identity.errors import IdentityErrorCode as Code


def organisation_filter_pk(global_id: strawberry.ID | None, argument: str) -> int | None:
    """The pk of an organisation ID given to a list filter (None when not given); a malformed one is refused."""
    if global_id is None:
        return None
    pk = decode_id(global_id, "Organisation")
    if pk is None:
        raise BadUserInput("Not an organisation ID.", argument=argument)
    return pk


async def visible_user(
    session: AsyncSession, principal: Principal, global_id: str, field: str = "id"
) -> tuple[m.User, m.Organisation]:
    pk = decode_id(global_id, "User")
    row = (
        (
            await session.execute(select(m.User, m.Organisation).join(m.Organisation).where(m.User.id == pk))
        ).one_or_none()
        if pk is not None
        else None
    )
    if row is None or not path_visible(principal, row[1].path):
        raise DomainError(Code.NOT_FOUND, "no such user", field)
    return row[0], row[1]


async def visible_group(session: AsyncSession, principal: Principal, global_id: str) -> m.UserGroup:
    pk = decode_id(global_id, "UserGroup")
    row = (
        (
            await session.execute(
                select(m.UserGroup, m.Organisation.path).join(m.Organisation).where(m.UserGroup.id == pk)
            )
        ).one_or_none()
        if pk is not None
        else None
    )
    if row is None or not path_visible(principal, row[1]):
        raise DomainError(Code.NOT_FOUND, "no such user group", "id")
    return row[0]
