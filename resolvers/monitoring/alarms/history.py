"""The data-monitoring event history (the manual's §21.13 "Events Historie"): every monitoring action (who,
what, when) from the audit events, filterable by location and period."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import and_, or_, select, union
from strawberry.types import Info

from graph.lookahead import LookAhead
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, paginate
from models import alarms as al
from models import remote as r
from models.audit import AuditEvent as AuditEventModel
from models.identity import Permission
from resolvers.audit.loaders import event_visible
from resolvers.audit.types import AuditEvent
from resolvers.monitoring.alarms.alarm_schema import decode_filter_ids

#: Actions of data monitoring (alarms here; telemetry, forwarding and datalog configuration by their prefixes).
PREFIXES = ("alarm", "telemetry", "forwarding", "datalog", "monitoring")


@strawberry.input(description="Narrow the data-monitoring event history.")
class MonitoringEventFilter:
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only actions about these locations (their alarms, profiles, settings)."
    )
    since: datetime | None = strawberry.field(default=None, description="At or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Before this time.")


def _about_locations(location_ids: set[int]):
    """Events whose target is one of these locations, an alarm at one, or a profile applying to one."""
    profiles = union(
        select(al.AlarmProfileLocation.profile_id).where(al.AlarmProfileLocation.location_id.in_(location_ids)),
        select(al.AlarmProfileLocationGroup.profile_id)
        .join(r.LocationGroupLocation, r.LocationGroupLocation.group_id == al.AlarmProfileLocationGroup.group_id)
        .where(r.LocationGroupLocation.location_id.in_(location_ids)),
    )
    target, pk = AuditEventModel.target_type, AuditEventModel.target_id
    return or_(
        and_(target == "Location", pk.in_(location_ids)),
        and_(target == "Alarm", pk.in_(select(al.Alarm.id).where(al.Alarm.location_id.in_(location_ids)))),
        and_(target == "AlarmProfile", pk.in_(profiles)),
    )


@strawberry.type
class MonitoringHistoryQuery:
    @strawberry.field(
        description="Who did what and when in data monitoring (alarm profiles, alarms, notifications, …), newest "
        "first; the events of your organisation and its descendants.",
        permission_classes=[needs(Permission.AUDIT_READ)],
    )
    async def monitoring_events(
        self,
        info: Info,
        filter: MonitoringEventFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[AuditEvent]:
        statement = select(AuditEventModel).where(
            event_visible(info.context.principal),
            or_(
                *(AuditEventModel.action.startswith(f"{prefix}.") for prefix in PREFIXES),
                AuditEventModel.action.startswith("alarm_"),
            ),
        )
        if filter is not None:
            locations = decode_filter_ids(filter.location_ids, "Location", "filter.locationIds")
            if locations is not None:
                statement = statement.where(_about_locations(locations))
            if filter.since:
                statement = statement.where(AuditEventModel.created_at >= filter.since)
            if filter.until:
                statement = statement.where(AuditEventModel.created_at < filter.until)
        return await paginate(
            info.context,
            statement,
            [SortKey(AuditEventModel.id, descending=True)],
            AuditEvent.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, AuditEvent),
        )
