"""Location groups: create, update, delete, list.

A group belongs to one organisation (the caller's, or one of its subtree); its locations are of that
organisation only (WRONG_ORGANISATION otherwise), its users are of the organisation's subtree or its
external users (as for direct grants). Users who lose a location this way have their connection to it
ended. Another tenant's group, location or user reads like an unknown one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import UNSET, decode_ids, ensure_name_free, flush_unique
from graph.tenancy import visible_organisation, visible_organisation_ids
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.access.rules import MAX_IDS, end_unreachable_connections, grantable_users
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.locations.rules import clean_location_name
from resolvers.remote.scope import location_managed, organisation_path

NAME_TAKEN = "The organisation already has a location group with this name."


async def managed_group(session: AsyncSession, context: Context, global_id: str, field: str = "id") -> r.LocationGroup:
    """A group of the caller's subtree (a member who is no manager reads it like an unknown one here)."""
    pk = decode_id(global_id, "LocationGroup")
    group = None
    if pk is not None:
        principal: Principal = require_principal(context)
        scope = (
            true()
            if principal.is_platform_admin
            else r.LocationGroup.organisation_id.in_(visible_organisation_ids(principal))
        )
        group = await session.scalar(select(r.LocationGroup).where(r.LocationGroup.id == pk, scope))
    if group is None:
        raise DomainError(Code.NOT_FOUND, "No such location group.", field)
    return group


async def group_locations(
    session: AsyncSession, context: Context, organisation_id: int, ids: Sequence[str], field: str = "locationIds"
) -> list[int]:
    wanted = decode_ids(ids, "Location", field, limit=MAX_IDS)
    pks = [pk for _, pk in wanted]
    found = dict(
        (
            await session.execute(
                select(r.Location.id, r.Location.organisation_id).where(
                    r.Location.id.in_(pks), location_managed(context.principal)
                )
            )
        ).all()
    )
    for index, pk in wanted:
        if pk not in found:
            raise DomainError(Code.NOT_FOUND, "No such location.", [field, str(index)])
        if found[pk] != organisation_id:
            raise DomainError(
                Code.WRONG_ORGANISATION, "Only locations of the group's organisation.", [field, str(index)]
            )
    return pks


def _name_taken() -> DomainError:
    return DomainError(Code.DUPLICATE, NAME_TAKEN, "name")


async def _members(session: AsyncSession, group_id: int) -> set[int]:
    return set(
        (
            await session.scalars(select(r.LocationGroupUser.user_id).where(r.LocationGroupUser.group_id == group_id))
        ).all()
    )


async def _replace(session: AsyncSession, group_id: int, model, column: str, new: list[int]) -> set[int]:
    """Replace the group's rows of `model` (its locations or users); returns the old ids."""
    attribute = getattr(model, column)
    old = set((await session.scalars(select(attribute).where(model.group_id == group_id))).all())
    await session.execute(delete(model).where(model.group_id == group_id, attribute.not_in(new)))
    session.add_all(model(group_id=group_id, **{column: pk}) for pk in new if pk not in old)
    await session.flush()
    return old


async def create_group(
    session: AsyncSession,
    context: Context,
    *,
    name: str,
    organisation_id: str | None,
    location_ids: Sequence[str],
    user_ids: Sequence[str],
) -> r.LocationGroup:
    name = clean_location_name(name)
    principal: Principal = require_principal(context)
    if organisation_id is None:
        organisation_pk = principal.organisation_id
    else:
        organisation_pk = (await visible_organisation(session, principal, organisation_id, "organisationId")).id
    path = await organisation_path(session, organisation_pk)
    locations = await group_locations(session, context, organisation_pk, location_ids)
    users = await grantable_users(session, context, organisation_pk, path, user_ids, "userIds")
    await ensure_name_free(session, r.LocationGroup, organisation_pk, name, _name_taken())
    group = r.LocationGroup(organisation_id=organisation_pk, name=name)
    session.add(group)
    await flush_unique(session, _name_taken())
    session.add_all(r.LocationGroupLocation(group_id=group.id, location_id=pk) for pk in locations)
    session.add_all(r.LocationGroupUser(group_id=group.id, user_id=pk) for pk in users)
    await session.flush()
    await record(
        session,
        context,
        "location_group.created",
        organisation_id=organisation_pk,
        target_type="LocationGroup",
        target_id=group.id,
        details={"name": name, "locationIds": locations, "userIds": users},
    )
    return group


async def update_group(
    session: AsyncSession, context: Context, group_id: str, *, name=UNSET, location_ids=UNSET, user_ids=UNSET
) -> r.LocationGroup:
    """Fields left out stay; given lists replace the old ones."""
    group = await managed_group(session, context, group_id)
    path = await organisation_path(session, group.organisation_id)
    new_name = clean_location_name(name) if name is not UNSET else None
    locations = (
        await group_locations(session, context, group.organisation_id, location_ids or [])
        if location_ids is not UNSET
        else None
    )
    users = (
        await grantable_users(session, context, group.organisation_id, path, user_ids or [], "userIds")
        if user_ids is not UNSET
        else None
    )
    details: dict[str, object] = {"name": group.name}
    if new_name is not None and new_name != group.name:
        await ensure_name_free(
            session, r.LocationGroup, group.organisation_id, new_name, _name_taken(), except_id=group.id
        )
        details["oldName"], group.name = group.name, new_name
        details["name"] = new_name
        await flush_unique(session, _name_taken())
    affected: set[int] = set()
    if locations is not None:
        old = await _replace(session, group.id, r.LocationGroupLocation, "location_id", locations)
        if old - set(locations):  # every user of the group loses those locations
            affected |= await _members(session, group.id)
        details["locationIds"] = locations
    if users is not None:
        affected |= await _replace(session, group.id, r.LocationGroupUser, "user_id", users) - set(users)
        details["userIds"] = users
    await record(
        session,
        context,
        "location_group.updated",
        organisation_id=group.organisation_id,
        target_type="LocationGroup",
        target_id=group.id,
        details=details,
    )
    await end_unreachable_connections(session, affected)
    return group


async def delete_group(session: AsyncSession, context: Context, group_id: str) -> int:
    group = await managed_group(session, context, group_id)
    pk, name, organisation_pk = group.id, group.name, group.organisation_id
    members = await _members(session, pk)
    await session.delete(group)  # its locations and users go with it (ON DELETE CASCADE)
    await session.flush()
    await record(
        session,
        context,
        "location_group.deleted",
        organisation_id=organisation_pk,
        target_type="LocationGroup",
        target_id=pk,
        details={"name": name},
    )
    await end_unreachable_connections(session, members)
    return pk
