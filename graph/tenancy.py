"""Who sees what: a caller sees their organisation and its descendants (platform admins see all)."""

from __future__ import annotations

from sqlalchemy import Select, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Principal
from graph.errors import Code, DomainError
from graph.relay import decode_id
from models.identity import Organisation


def organisation_visible(principal: Principal) -> ColumnElement[bool]:
    if principal.is_platform_admin:
        return true()
    return Organisation.path.startswith(principal.organisation_path, autoescape=True)


def visible_organisation_ids(principal: Principal) -> Select[int]:
    return select(Organisation.id).where(organisation_visible(principal))


def path_visible(principal: Principal, path: str) -> bool:
    return principal.is_platform_admin or path.startswith(principal.organisation_path)


async def visible_organisation(
    session: AsyncSession, principal: Principal, global_id: str | None, field: str | list[str]
) -> Organisation:
    """The organisation `global_id` names, if the caller sees it; another tenant's reads like an unknown one."""
    pk = decode_id(global_id, "Organisation") if global_id is not None else None
    organisation = await session.get(Organisation, pk) if pk is not None else None
    if organisation is None or not path_visible(principal, organisation.path):
        raise DomainError(Code.NOT_FOUND, "No such organisation.", field)
    return organisation


async def target_organisation(
    session: AsyncSession, principal: Principal, global_id: str | None, field: str | list[str]
) -> Organisation:
    """The organisation named by `global_id` (within reach), or the caller's own when none is given."""
    if global_id is None:
        organisation = await session.get(Organisation, principal.organisation_id)
        assert organisation is not None  # a principal's organisation is never deleted while it is signed in
        return organisation
    return await visible_organisation(session, principal, global_id, field)
