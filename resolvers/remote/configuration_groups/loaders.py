"""Who sees which configuration groups, and their batch function."""

from __future__ import annotations

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models import remote as r
from models.identity import Permission


def configuration_group_visible(principal) -> ColumnElement[bool]:
    """Configuration groups are an administration page: LOCATIONS_MANAGE holders see (and manage) those of
    their subtree, platform admins all, everybody else none."""
    if principal.is_platform_admin:
        return true()
    if Permission.LOCATIONS_MANAGE not in principal.permissions:
        return false()
    return r.ConfigurationGroup.organisation_id.in_(visible_organisation_ids(principal))


visible_configuration_groups = rows_by_id(r.ConfigurationGroup, configuration_group_visible)
