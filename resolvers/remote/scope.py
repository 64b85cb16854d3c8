"""Who sees which routers and locations."""

from __future__ import annotations

from sqlalchemy import true

from graph.tenancy import visible_organisation_ids
from models import remote as r


def router_visible(principal):
    """Routers assigned within the caller's subtree; platform admins see every router (also unassigned ones)."""
    if principal.is_platform_admin:
        return true()
    return r.Router.organisation_id.in_(visible_organisation_ids(principal))


def location_visible(principal):
    if principal.is_platform_admin:
        return true()
    return r.Location.organisation_id.in_(visible_organisation_ids(principal))
