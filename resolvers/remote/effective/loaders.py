"""Everyone who reaches a location (issue 18's effectiveAccess), with every reason: the grants (the same three
ways as resolvers.remote.scope.reachable_location_ids), EXTERNAL for external users of the location's
organisation, and MANAGER for holders of LOCATIONS_MANAGE (by role or granted permission) of an organisation
at or above the location's, as resolvers.remote.scope.location_visible lets them see it.

Platform admins reach every location of every tenant; they are the platform's operators and are not listed.
Deactivated users cannot sign in and are not listed either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Select, cast, exists, literal_column, null, or_, select, union, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import group_by
from graph.permissions import ROLE_PERMISSIONS
from models import identity as m
from models import remote as r
from resolvers.remote.access.loaders import grants

#: The roles that give LOCATIONS_MANAGE, but not the platform's own.
MANAGING_ROLES = sorted(
    role
    for role, permissions in ROLE_PERMISSIONS.items()
    if m.Permission.LOCATIONS_MANAGE in permissions and role != m.Role.PLATFORM_ADMIN
)


def holds_locations_manage(user_id: Any) -> ColumnElement[bool]:
    """The user holds LOCATIONS_MANAGE: through a role (graph.permissions) or granted on its own."""
    return or_(
        exists().where(m.UserRole.user_id == user_id, m.UserRole.role.in_(MANAGING_ROLES)),
        exists().where(
            m.UserPermission.user_id == user_id, m.UserPermission.permission == m.Permission.LOCATIONS_MANAGE
        ),
    )


def _not_platform_admin(user_id: Any) -> ColumnElement[bool]:
    return ~exists().where(m.UserRole.user_id == user_id, m.UserRole.role == m.Role.PLATFORM_ADMIN)


def managers(location_ids: Sequence[int], user_ids: Sequence[int] | None = None) -> Select[*tuple[Any, ...]]:
    """(location_id, user_id) of the managers of the locations: users of the location's organisation or an
    ancestor of it (whose path the location's organisation's path starts with) holding LOCATIONS_MANAGE."""
    location_org, user_org = aliased(m.Organisation), aliased(m.Organisation)
    statement = (
        select(r.Location.id.label("location_id"), m.User.id.label("user_id"))
        .join(location_org, location_org.id == r.Location.organisation_id)
        .join(user_org, location_org.path.startswith(user_org.path))
        .join(m.User, m.User.organisation_id == user_org.id)
        .where(r.Location.id.in_(location_ids), holds_locations_manage(m.User.id), _not_platform_admin(m.User.id))
    )
    return statement.where(m.User.id.in_(user_ids)) if user_ids is not None else statement


def reacher_ids(location_id: int) -> Any:
    """Ids of everyone who reaches the location (granted or managing), once each."""
    granted = grants(location_ids=[location_id]).subquery()
    managing = managers([location_id]).subquery()
    return union(select(granted.c.user_id), select(managing.c.user_id))


def _externals(location_ids: Sequence[int], user_ids: Sequence[int]) -> Select[*tuple[Any, ...]]:
    """External users of the location's organisation or an ancestor of it (granting checks that)."""
    location_org, external_org = aliased(m.Organisation), aliased(m.Organisation)
    no_id = cast(null(), Integer)
    return (
        select(r.Location.id, r.ExternalUser.user_id, literal_column("'EXTERNAL'"), no_id, no_id)
        .join(location_org, location_org.id == r.Location.organisation_id)
        .join(external_org, location_org.path.startswith(external_org.path))
        .join(r.ExternalUser, r.ExternalUser.organisation_id == external_org.id)
        .where(r.Location.id.in_(location_ids), r.ExternalUser.user_id.in_(user_ids))
    )


async def reasons_by_location_user(context, keys: Sequence[tuple[int, int]]) -> list[list[tuple]]:
    """Per (location_id, user_id): (reason, user_group_id, location_group_id) rows, in one statement."""
    location_ids, user_ids = sorted({k[0] for k in keys}), sorted({k[1] for k in keys})
    no_id = cast(null(), Integer)
    managing = managers(location_ids, user_ids).subquery()
    granted = grants(location_ids=location_ids, user_ids=user_ids).subquery()
    every = union_all(
        select(granted),
        _externals(location_ids, user_ids),
        select(managing.c.location_id, managing.c.user_id, literal_column("'MANAGER'"), no_id, no_id),
    ).subquery()
    async with context.session() as session:
        rows = (await session.execute(select(every))).all()
    wanted = set(keys)
    return group_by([((row[0], row[1]), (row[2], row[3], row[4])) for row in rows if (row[0], row[1]) in wanted], keys)
