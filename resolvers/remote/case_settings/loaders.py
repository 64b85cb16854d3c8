"""Case statuses and activity types: who sees them, and their batch functions."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models import cases as cs


def status_visible(principal) -> ColumnElement[bool]:
    """Statuses of the caller's organisation and its descendants (platform admins: all)."""
    return cs.CaseStatus.organisation_id.in_(visible_organisation_ids(principal))


def activity_type_visible(principal) -> ColumnElement[bool]:
    return cs.ActivityType.organisation_id.in_(visible_organisation_ids(principal))


visible_statuses = rows_by_id(cs.CaseStatus, status_visible)
visible_activity_types = rows_by_id(cs.ActivityType, activity_type_visible)
#: Unscoped: the status or activity type of a case or call the caller already sees (it may be of an organisation
#: the caller sees only through a granted location).
statuses = rows_by_id(cs.CaseStatus)
activity_types = rows_by_id(cs.ActivityType)
