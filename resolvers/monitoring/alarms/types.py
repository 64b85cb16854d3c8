"""GraphQL types of alarm profiles and alarms."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.loaders import related_rows
from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import alarms as al
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.monitoring.alarms.loaders import alarm_devices, alarm_locations, groups_by_profile, locations_by_profile
from resolvers.remote.devices.types import LocationDevice
from resolvers.remote.groups.types import LocationGroup
from resolvers.remote.locations.types import Location

AlarmSeverity = strawberry.enum(al.Severity, name="AlarmSeverity", description="How serious an alarm is.")
AlarmCondition = strawberry.enum(
    al.Condition,
    name="AlarmCondition",
    description="How a telemetry value is compared: GT greater than, LT less than, EQ equal to, NE not equal to.",
)


@strawberry.enum(description="An alarm's state: from its two flags, acknowledged and cleared.")
class AlarmState(enum.Enum):
    ACTIVE_UNACK = "ACTIVE_UNACK"
    ACTIVE_ACK = "ACTIVE_ACK"
    CLEARED_UNACK = "CLEARED_UNACK"
    CLEARED_ACK = "CLEARED_ACK"


def state_of(acknowledged: bool, cleared: bool) -> AlarmState:
    return AlarmState[f"{'CLEARED' if cleared else 'ACTIVE'}_{'ACK' if acknowledged else 'UNACK'}"]


@strawberry.type(description="One condition on a telemetry value: the value of `key` compared with `value`.")
class AlarmTelemetryFilter:
    key: str = strawberry.field(description="Telemetry key (e.g. temperature).")
    condition: AlarmCondition = strawberry.field(description="Comparison.")  # type: ignore[valid-type]
    value: float = strawberry.field(description="The value compared with.")

    @classmethod
    def from_model(cls, row: al.AlarmProfileFilter) -> AlarmTelemetryFilter:
        return cls(key=row.key, condition=row.condition, value=row.value)


def _of_kind(kind: al.FilterKind):
    def visible(principal) -> Any:  # not about visibility: the filters of one kind (one statement per kind)
        return al.AlarmProfileFilter.kind == kind

    return visible


activation_filters = related_rows(
    al.AlarmProfileFilter,
    al.AlarmProfileFilter.profile_id,
    order_by=(al.AlarmProfileFilter.position,),
    visible=_of_kind(al.FilterKind.ACTIVATION),
)
clearing_filters = related_rows(
    al.AlarmProfileFilter,
    al.AlarmProfileFilter.profile_id,
    order_by=(al.AlarmProfileFilter.position,),
    visible=_of_kind(al.FilterKind.CLEARING),
)


@strawberry.type(description="When a location's telemetry raises an alarm and when the alarm clears (§21.10).")
class AlarmProfile(Node):
    name: str = strawberry.field(description="Key name, unique within its organisation.")
    severity: AlarmSeverity = strawberry.field(description="Severity of its alarms.")  # type: ignore[valid-type]
    description: str = strawberry.field(description="What the alarm means.")
    duration_seconds: int | None = strawberry.field(
        description="The activation filters must hold this many seconds without a break; null: at once."
    )
    system: bool = strawberry.field(description="A shipped profile (read-only, applies to every location).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int | None]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: al.AlarmProfile) -> AlarmProfile:
        return cls(
            id=strawberry.ID(to_global_id("AlarmProfile", row.id)),
            name=row.name,
            severity=row.severity,
            description=row.description,
            duration_seconds=row.duration_seconds,
            system=row.organisation_id is None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The organisation it belongs to; null for a system profile.")
    @relation(
        Batched(
            identity_loaders.organisations, key=lambda profile: profile.organisation_pk, build=Organisation.from_model
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...

    @strawberry.field(description="All of these must hold to raise the alarm.")
    @relation(
        Batched(activation_filters, key=lambda profile: profile.pk, build=AlarmTelemetryFilter.from_model, many=True)
    )
    def activation_filters(self, info: Info) -> list[AlarmTelemetryFilter]: ...

    @strawberry.field(description="All of these must hold to clear the alarm (empty for system profiles).")
    @relation(
        Batched(clearing_filters, key=lambda profile: profile.pk, build=AlarmTelemetryFilter.from_model, many=True)
    )
    def clearing_filters(self, info: Info) -> list[AlarmTelemetryFilter]: ...

    @strawberry.field(description="Locations it applies to, by name.")
    @relation(Batched(locations_by_profile, key=lambda profile: profile.pk, build=Location.from_model, many=True))
    def locations(self, info: Info) -> list[Location]: ...

    @strawberry.field(description="Location groups it applies to (every location in them), by name.")
    @relation(Batched(groups_by_profile, key=lambda profile: profile.pk, build=LocationGroup.from_model, many=True))
    def location_groups(self, info: Info) -> list[LocationGroup]: ...


@strawberry.type(description="An alarm: a profile's activation held at a location (or one of its devices).")
class Alarm(Node):
    profile_name: str = strawberry.field(description="The key name of the profile that raised it.")
    profile_id: strawberry.ID | None = strawberry.field(description="Its profile; null once the profile is deleted.")
    severity: AlarmSeverity = strawberry.field(description="Severity (the profile's when raised).")  # type: ignore[valid-type]
    state: AlarmState = strawberry.field(description="From acknowledged and cleared.")
    acknowledged: bool = strawberry.field(description="Someone acknowledged it.")
    cleared: bool = strawberry.field(description="It was cleared (by its clearing filter or by someone).")
    raised_at: datetime = strawberry.field(description="When it was raised.")
    updated_at: datetime = strawberry.field(description="When it last changed (repeated, acknowledged, cleared).")
    occurrences: int = strawberry.field(description="How often its activation held while it was open.")
    last_key: str | None = strawberry.field(description="The telemetry key of its first activation filter.")
    last_value: float | None = strawberry.field(description="That key's value when it was last raised or repeated.")
    acknowledged_at: datetime | None = strawberry.field(description="When it was acknowledged.")
    acknowledged_by: str | None = strawberry.field(description="Who acknowledged it (e-mail address).")
    cleared_at: datetime | None = strawberry.field(description="When it was cleared.")
    cleared_by: str | None = strawberry.field(
        description="Who cleared it (e-mail address); null when cleared automatically or not cleared."
    )
    pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    device_pk: strawberry.Private[int | None]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: al.Alarm) -> Alarm:
        return cls(
            id=strawberry.ID(to_global_id("Alarm", row.id)),
            profile_name=row.profile_name,
            profile_id=strawberry.ID(to_global_id("AlarmProfile", row.profile_id)) if row.profile_id else None,
            severity=row.severity,
            state=state_of(row.acknowledged, row.cleared),
            acknowledged=row.acknowledged,
            cleared=row.cleared,
            raised_at=row.raised_at,
            updated_at=row.updated_at,
            occurrences=row.occurrences,
            last_key=row.last_key,
            last_value=row.last_value,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by_label,
            cleared_at=row.cleared_at,
            cleared_by=row.cleared_by_label,
            pk=row.id,
            location_pk=row.location_id,
            device_pk=row.device_id,
        )

    @strawberry.field(description="Where it was raised.")
    @relation(Batched(alarm_locations, key=lambda alarm: alarm.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location: ...

    @strawberry.field(description="The location's device whose telemetry raised it; null: the location's own values.")
    @relation(Batched(alarm_devices, key=lambda alarm: alarm.device_pk, build=LocationDevice.from_model))
    def device(self, info: Info) -> LocationDevice | None: ...


@strawberry.type(description="Alarms per severity, for a console's header.")
class AlarmCounts:
    low: int = strawberry.field(description="LOW alarms.")
    medium: int = strawberry.field(description="MEDIUM alarms.")
    high: int = strawberry.field(description="HIGH alarms.")
    total: int = strawberry.field(description="All of them.")
