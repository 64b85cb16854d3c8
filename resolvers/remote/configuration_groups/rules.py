"""Configuration groups: routers of one organisation that need the same configuration (the manual, §8).

A router is in at most one group: the group is a column of the router (router.configuration_group_id), so
the schema itself cannot hold two. Adding a router that is in another group is refused
(ROUTER_IN_OTHER_GROUP: remove it there first; a silent move would hide a mistake); adding it to the group it
is in already changes nothing. The add is one conditional UPDATE ("... WHERE configuration_group_id IS
NULL"): of parallel adds of the same router to different groups exactly one changes a row. Only routers of
the group's organisation join it. Deleting a group frees its routers.
"""

from __future__ import annotations

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import ensure_name_free, flush_unique
from graph.tenancy import visible_organisation
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.configuration_groups.loaders import configuration_group_visible
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.locations.rules import clean_location_name
from resolvers.remote.scope import visible_router


async def managed_configuration_group(
    session: AsyncSession, context: Context, global_id: str, field: str = "id"
) -> r.ConfigurationGroup:
    pk = decode_id(global_id, "ConfigurationGroup")
    group = None
    if pk is not None:
        group = await session.scalar(
            select(r.ConfigurationGroup).where(
                r.ConfigurationGroup.id == pk, configuration_group_visible(context.principal)
            )
        )
    if group is None:
        raise DomainError(Code.NOT_FOUND, "No such configuration group.", field)
    return group


def _name_taken() -> DomainError:
    return DomainError(Code.DUPLICATE, "The organisation already has a configuration group with this name.", "name")


async def _audit(session: AsyncSession, context: Context, action: str, group: r.ConfigurationGroup, **details) -> None:
    await record(
        session,
        context,
        f"configuration_group.{action}",
        organisation_id=group.organisation_id,
        target_type="ConfigurationGroup",
        target_id=group.id,
        details={"name": group.name, **details},
    )


async def create_configuration_group(
    session: AsyncSession, context: Context, *, name: str, organisation_id: str | None
) -> r.ConfigurationGroup:
    name = clean_location_name(name)
    principal: Principal = require_principal(context)
    if organisation_id is None:
        organisation_pk = principal.organisation_id
    else:
        organisation_pk = (await visible_organisation(session, principal, organisation_id, "organisationId")).id
    await ensure_name_free(session, r.ConfigurationGroup, organisation_pk, name, _name_taken())
    group = r.ConfigurationGroup(organisation_id=organisation_pk, name=name)
    session.add(group)
    await flush_unique(session, _name_taken())
    await _audit(session, context, "created", group)
    return group


async def rename_configuration_group(
    session: AsyncSession, context: Context, group_id: str, name: str
) -> r.ConfigurationGroup:
    group = await managed_configuration_group(session, context, group_id)
    name = clean_location_name(name)
    if name != group.name:
        await ensure_name_free(session, r.ConfigurationGroup, group.organisation_id, name, _name_taken(), group.id)
        old, group.name = group.name, name
        await flush_unique(session, _name_taken())
        await _audit(session, context, "updated", group, oldName=old)
    return group


async def delete_configuration_group(session: AsyncSession, context: Context, group_id: str) -> int:
    group = await managed_configuration_group(session, context, group_id)
    pk = group.id
    await _audit(session, context, "deleted", group)
    await session.delete(group)  # its routers are freed (ON DELETE SET NULL)
    await session.flush()
    return pk


async def add_router(session: AsyncSession, context: Context, group_id: str, router_id: str) -> r.ConfigurationGroup:
    group = await managed_configuration_group(session, context, group_id, "configurationGroupId")
    router = await visible_router(session, context, router_id, "routerId")
    if router.organisation_id != group.organisation_id:
        raise DomainError(Code.WRONG_ORGANISATION, "Only routers of the group's organisation join it.", "routerId")
    result = await session.execute(
        update(r.Router)
        .where(r.Router.id == router.id, r.Router.configuration_group_id.is_(None))
        .values(configuration_group_id=group.id)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount == 1:
        await _audit(session, context, "router_added", group, routerId=router.id, commonName=router.common_name)
        return group
    in_group = await session.scalar(select(r.Router.configuration_group_id).where(r.Router.id == router.id))
    if in_group != group.id:
        raise DomainError(
            Code.ROUTER_IN_OTHER_GROUP,
            "The router is in another configuration group (a router is in at most one): remove it there first.",
            "routerId",
        )
    return group  # in this group already: nothing to change


async def remove_router(session: AsyncSession, context: Context, group_id: str, router_id: str) -> r.ConfigurationGroup:
    group = await managed_configuration_group(session, context, group_id, "configurationGroupId")
    router = await visible_router(session, context, router_id, "routerId")
    result = await session.execute(
        update(r.Router)
        .where(r.Router.id == router.id, r.Router.configuration_group_id == group.id)
        .values(configuration_group_id=None)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise DomainError(Code.ROUTER_NOT_IN_GROUP, "The router is not in this configuration group.", "routerId")
    await _audit(session, context, "router_removed", group, routerId=router.id, commonName=router.common_name)
    return group
