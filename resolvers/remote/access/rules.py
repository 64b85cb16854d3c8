"""Who may reach a location: the locationAccessSet mutation, the effectiveLocationAccess query, the
checks shared with location groups and external users, and ending connections whose access is gone.

Grants go to users and user groups of the location's organisation subtree (a user or group of the
caller's subtree outside it is WRONG_ORGANISATION: a child organisation's admin must not find their
parent's people on their locations), or to external users of the location's organisation. Anything
else, and anything of another tenant, reads like an unknown ID (NOT_FOUND, with its list index in
the field path). Every refusal rolls the whole mutation back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, publish_after_commit
from graph.errors import DomainError
from graph.permissions import effective_permissions, require_principal
from graph.rules import decode_ids
from graph.tenancy import path_visible
from models import identity as m
from models import remote as r
from models.base import utcnow
from models.identity import Permission
from resolvers.audit.rules import record
from resolvers.remote.access.loaders import grants
from resolvers.remote.connections.rules import disconnected_events, end_connections
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.scope import organisation_path, visible_location
from subscriptions import channels

#: More IDs than this in one list is a mistake, not a grant.
MAX_IDS = 500


async def _reach_of(
    session: AsyncSession, users: list[int]
) -> tuple[dict[int, str], set[int], dict[int, set], dict[int, set]]:
    """Per user: their organisation's path, whether active, their roles and their extra permissions."""
    user_rows = (
        await session.execute(
            select(m.User.id, m.User.is_active, m.Organisation.path)
            .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
            .where(m.User.id.in_(users))
        )
    ).all()
    paths = {row.id: row.path for row in user_rows}
    active_users = {row.id for row in user_rows if row.is_active}
    roles: dict[int, set] = {pk: set() for pk in users}
    extra: dict[int, set] = {pk: set() for pk in users}
    for user_id, role in (
        await session.execute(select(m.UserRole.user_id, m.UserRole.role).where(m.UserRole.user_id.in_(users)))
    ).all():
        roles[user_id].add(role)
    for user_id, permission in (
        await session.execute(
            select(m.UserPermission.user_id, m.UserPermission.permission).where(m.UserPermission.user_id.in_(users))
        )
    ).all():
        extra[user_id].add(permission)
    return paths, active_users, roles, extra


async def end_unreachable_connections(session: AsyncSession, user_ids: Iterable[int]) -> list[dict]:
    """End (ACCESS_REVOKED) the active connections of these users to locations they can no longer
    reach, in the caller's transaction; the DISCONNECTED router events are queued to go out after the
    commit and returned. Call it after the grants changed (flushed).

    An active user still reaches a location when granted it (any of the three ways), when they manage it
    (LOCATIONS_MANAGE over the location's organisation), or as a platform admin."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return []
    active = (
        await session.execute(
            select(r.RouterConnection, m.Organisation.path)
            .join(r.Location, r.Location.id == r.RouterConnection.location_id)
            .join(m.Organisation, m.Organisation.id == r.Location.organisation_id)
            .where(r.RouterConnection.user_id.in_(user_ids), r.RouterConnection.ended_at.is_(None))
            .with_for_update(of=r.RouterConnection)
        )
    ).all()
    if not active:
        return []
    users = sorted({connection.user_id for connection, _ in active})
    given = grants(user_ids=users, location_ids=sorted({c.location_id for c, _ in active})).subquery()
    granted = {tuple(row) for row in (await session.execute(select(given.c.location_id, given.c.user_id))).all()}
    paths, active_users, roles, extra = await _reach_of(session, users)

    def still_reaches(connection: r.RouterConnection, location_path: str) -> bool:
        user = connection.user_id
        if user not in active_users:  # a deactivated user reaches nothing
            return False
        if (connection.location_id, user) in granted or m.Role.PLATFORM_ADMIN in roles[user]:
            return True
        manages = Permission.LOCATIONS_MANAGE in effective_permissions(roles[user], extra[user])
        return manages and location_path.startswith(paths.get(user, "\x00"))

    ended = [(connection, path) for connection, path in active if not still_reaches(connection, path)]
    if not ended:
        return []
    now = utcnow()
    rows = await end_connections(session, [c.id for c, _ in ended], now, r.ConnectionEnd.ACCESS_REVOKED)
    events = await disconnected_events(session, rows, now)
    for event in events:
        publish_after_commit(session, channels.ROUTER_STATE, event)
    return events


async def grantable_users(
    session: AsyncSession, context: Context, organisation_id: int, path: str, ids: Sequence[str], field: str
) -> list[int]:
    """User pks (in the given order, without repeats) that may be given locations of the organisation
    (id, materialised path): users of its subtree, or its external users."""
    wanted = decode_ids(ids, "User", field, limit=MAX_IDS)
    pks = [pk for _, pk in wanted]
    found = {
        row.id: row
        for row in (
            await session.execute(
                select(m.User.id, m.Organisation.path, r.ExternalUser.user_id.is_not(None).label("external"))
                .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
                .outerjoin(
                    r.ExternalUser,
                    and_(r.ExternalUser.user_id == m.User.id, r.ExternalUser.organisation_id == organisation_id),
                )
                .where(m.User.id.in_(pks))
            )
        ).all()
    }
    for index, pk in wanted:
        row = found.get(pk)
        if row is not None and (row.external or path_visible(require_principal(context), row.path)):
            if not row.external and not row.path.startswith(path):
                raise DomainError(
                    Code.WRONG_ORGANISATION,
                    "Only users of the organisation (or its sub-organisations) or its external users.",
                    [field, str(index)],
                )
            continue
        raise DomainError(Code.NOT_FOUND, "No such user.", [field, str(index)])
    return pks


async def grantable_user_groups(
    session: AsyncSession, context: Context, path: str, ids: Sequence[str], field: str
) -> list[int]:
    """User group pks of the organisation's subtree (path) that the caller sees."""
    wanted = decode_ids(ids, "UserGroup", field, limit=MAX_IDS)
    pks = [pk for _, pk in wanted]
    found = dict(
        (
            await session.execute(
                select(m.UserGroup.id, m.Organisation.path)
                .join(m.Organisation, m.Organisation.id == m.UserGroup.organisation_id)
                .where(m.UserGroup.id.in_(pks))
            )
        ).all()
    )
    for index, pk in wanted:
        group_path = found.get(pk)
        if group_path is None or not path_visible(require_principal(context), group_path):
            raise DomainError(Code.NOT_FOUND, "No such user group.", [field, str(index)])
        if not group_path.startswith(path):
            raise DomainError(
                Code.WRONG_ORGANISATION,
                "Only user groups of the organisation (or its sub-organisations).",
                [field, str(index)],
            )
    return pks


async def group_member_ids(session: AsyncSession, group_ids: Sequence[int]) -> set[int]:
    if not group_ids:
        return set()
    return set(
        (
            await session.scalars(select(m.UserGroupMember.user_id).where(m.UserGroupMember.group_id.in_(group_ids)))
        ).all()
    )


async def _replace_users(session: AsyncSession, location_id: int, users: list[int]) -> set[int]:
    """The location's users become `users`; returns those who lost it."""
    old = set(
        (
            await session.scalars(
                select(r.LocationUserAccess.user_id).where(r.LocationUserAccess.location_id == location_id)
            )
        ).all()
    )
    await session.execute(
        delete(r.LocationUserAccess).where(
            r.LocationUserAccess.location_id == location_id, r.LocationUserAccess.user_id.not_in(users)
        )
    )
    session.add_all(r.LocationUserAccess(location_id=location_id, user_id=pk) for pk in users if pk not in old)
    return old - set(users)


async def _replace_user_groups(session: AsyncSession, location_id: int, groups: list[int]) -> set[int]:
    """The location's user groups become `groups`; returns the members of those that lost it."""
    old = set(
        (
            await session.scalars(
                select(r.LocationUserGroupAccess.user_group_id).where(
                    r.LocationUserGroupAccess.location_id == location_id
                )
            )
        ).all()
    )
    await session.execute(
        delete(r.LocationUserGroupAccess).where(
            r.LocationUserGroupAccess.location_id == location_id,
            r.LocationUserGroupAccess.user_group_id.not_in(groups),
        )
    )
    session.add_all(
        r.LocationUserGroupAccess(location_id=location_id, user_group_id=pk) for pk in groups if pk not in old
    )
    return await group_member_ids(session, sorted(old - set(groups)))


async def set_location_access(
    session: AsyncSession,
    context: Context,
    location_id: str,
    user_ids: Sequence[str] | None,
    user_group_ids: Sequence[str] | None,
) -> r.Location:
    """Replace the location's direct grants: users (when given) and user groups (when given)."""
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    path = await organisation_path(session, location.organisation_id)
    users = (
        await grantable_users(session, context, location.organisation_id, path, user_ids, "userIds")
        if user_ids is not None
        else None
    )
    groups = (
        await grantable_user_groups(session, context, path, user_group_ids, "userGroupIds")
        if user_group_ids is not None
        else None
    )
    affected: set[int] = set()
    details: dict[str, object] = {"locationId": location.id}
    if users is not None:
        affected |= await _replace_users(session, location.id, users)
        details["userIds"] = users
    if groups is not None:
        affected |= await _replace_user_groups(session, location.id, groups)
        details["userGroupIds"] = groups
    await session.flush()
    await record(
        session,
        context,
        "location.access_set",
        organisation_id=location.organisation_id,
        target_type="Location",
        target_id=location.id,
        details=details,
    )
    await end_unreachable_connections(session, affected)
    return location
