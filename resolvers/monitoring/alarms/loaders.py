"""Who sees which alarm profiles and alarms, and their batch functions (one statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import related_rows, rows_by_id
from graph.tenancy import visible_organisation_ids
from models import alarms as al
from models import remote as r
from resolvers.remote.access.loaders import linked_rows
from resolvers.remote.scope import location_visible


def profile_visible(principal) -> ColumnElement[bool]:
    """The system profiles and those of the caller's subtree (only MONITORING_MANAGE holders get here)."""
    if principal.is_platform_admin:
        return al.AlarmProfile.id.is_not(None)
    return or_(
        al.AlarmProfile.organisation_id.is_(None),
        al.AlarmProfile.organisation_id.in_(visible_organisation_ids(principal)),
    )


def alarm_visible(principal) -> ColumnElement[bool]:
    """Alarms of the locations the caller sees (resolvers.remote.scope)."""
    return al.Alarm.location_id.in_(select(r.Location.id).where(location_visible(principal)))


visible_profiles = rows_by_id(al.AlarmProfile, profile_visible)
visible_alarms = rows_by_id(al.Alarm, alarm_visible)
filters_by_profile = related_rows(
    al.AlarmProfileFilter,
    al.AlarmProfileFilter.profile_id,
    order_by=(al.AlarmProfileFilter.kind, al.AlarmProfileFilter.position),
)


async def locations_by_profile(context, profile_ids: Sequence[int]) -> list[list[r.Location]]:
    return await linked_rows(
        context,
        al.AlarmProfileLocation.profile_id,
        r.Location,
        r.Location.id == al.AlarmProfileLocation.location_id,
        profile_ids,
        r.Location.name,
        r.Location.id,
    )


async def groups_by_profile(context, profile_ids: Sequence[int]) -> list[list[r.LocationGroup]]:
    return await linked_rows(
        context,
        al.AlarmProfileLocationGroup.profile_id,
        r.LocationGroup,
        r.LocationGroup.id == al.AlarmProfileLocationGroup.group_id,
        profile_ids,
        r.LocationGroup.name,
        r.LocationGroup.id,
    )


#: An alarm's location and device: seen with the alarm (whoever sees an alarm sees its location).
alarm_locations = rows_by_id(r.Location)
alarm_devices = rows_by_id(r.LocationDevice)
