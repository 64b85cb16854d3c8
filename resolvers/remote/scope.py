"""Who sees which routers and locations.

Holders of LOCATIONS_MANAGE (organisation admins) see every location and router of their subtree.
Everybody else (users, API users, external users) sees only the locations they were given: directly,
through one of their user groups, or through a location group they are in, and the routers at those
locations. Grants are the only way into another organisation (external users): granting checks that
the user is an external user there, and removing an external user removes their grants.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select, true, union
from sqlalchemy.sql.elements import ColumnElement

from graph.tenancy import visible_organisation_ids
from models import remote as r
from models.identity import Permission, UserGroupMember


def sees_whole_subtree(principal) -> bool:
    return Permission.LOCATIONS_MANAGE in principal.permissions


def reachable_location_ids(user_id: int) -> Select:
    """Ids of the locations granted to a user, by any of the three ways (see effective access)."""
    return union(
        select(r.LocationUserAccess.location_id).where(r.LocationUserAccess.user_id == user_id),
        select(r.LocationUserGroupAccess.location_id)
        .join(UserGroupMember, UserGroupMember.group_id == r.LocationUserGroupAccess.user_group_id)
        .where(UserGroupMember.user_id == user_id),
        select(r.LocationGroupLocation.location_id)
        .join(r.LocationGroupUser, r.LocationGroupUser.group_id == r.LocationGroupLocation.group_id)
        .where(r.LocationGroupUser.user_id == user_id),
    )


def location_visible(principal) -> ColumnElement[bool]:
    if principal.is_platform_admin:
        return true()
    granted = r.Location.id.in_(reachable_location_ids(principal.user_id))
    if sees_whole_subtree(principal):
        return or_(r.Location.organisation_id.in_(visible_organisation_ids(principal)), granted)
    return granted


def location_managed(principal) -> ColumnElement[bool]:
    """Locations the caller may change (with LOCATIONS_MANAGE): those of the subtree, never granted ones."""
    if principal.is_platform_admin:
        return true()
    return r.Location.organisation_id.in_(visible_organisation_ids(principal))


def router_visible(principal) -> ColumnElement[bool]:
    """Routers of the subtree for managers (platform admins: all, also unassigned); for everybody
    else the routers at the locations they may reach."""
    if principal.is_platform_admin:
        return true()
    at_granted = r.Router.id.in_(
        select(r.Location.router_id).where(
            r.Location.id.in_(reachable_location_ids(principal.user_id)), r.Location.router_id.is_not(None)
        )
    )
    if sees_whole_subtree(principal):
        return or_(r.Router.organisation_id.in_(visible_organisation_ids(principal)), at_granted)
    return at_granted


def router_in_subtree(principal) -> ColumnElement[bool]:
    """Routers a reporter (ROUTERS_REPORT: the routers' API user) may send heartbeats for."""
    if principal.is_platform_admin:
        return true()
    return r.Router.organisation_id.in_(visible_organisation_ids(principal))
