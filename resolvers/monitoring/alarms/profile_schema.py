"""Alarm profiles: list, create, update, delete (MONITORING_MANAGE)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.filters import filter_text
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models import alarms as al
from models.identity import Permission
from resolvers.monitoring.alarms.loaders import profile_visible, visible_profiles
from resolvers.monitoring.alarms.profile_rules import (
    MAX_DESCRIPTION,
    MAX_DURATION,
    MAX_FILTERS,
    MAX_NAME,
    create_profile,
    delete_profile,
    update_profile,
)
from resolvers.monitoring.alarms.types import AlarmCondition, AlarmProfile, AlarmSeverity
from resolvers.monitoring.errors import MonitoringError
from resolvers.remote.notifications.rules import MAX_GROUPS, MAX_LOCATIONS

MAX_FILTER_TEXT = 100


@strawberry.input(description="One condition on a telemetry value.")
class AlarmTelemetryFilterInput:
    key: str = strawberry.field(description="Telemetry key (at most 100 characters).")
    condition: AlarmCondition = strawberry.field(description="Comparison: GT, LT, EQ or NE.")  # type: ignore[valid-type]
    value: float = strawberry.field(description="The value compared with (a finite number).")


@strawberry.input(description="A new alarm profile.")
class AlarmProfileCreateInput:
    name: str = strawberry.field(description=f"Key name, unique within the organisation (at most {MAX_NAME}).")
    severity: AlarmSeverity = strawberry.field(description="Severity of its alarms.")  # type: ignore[valid-type]
    activation_filters: list[AlarmTelemetryFilterInput] = strawberry.field(
        description=f"All must hold to raise the alarm (1-{MAX_FILTERS})."
    )
    clearing_filters: list[AlarmTelemetryFilterInput] = strawberry.field(
        description=f"All must hold to clear the alarm (1-{MAX_FILTERS})."
    )
    description: str | None = strawberry.field(default="", description=f"At most {MAX_DESCRIPTION} characters.")
    duration_seconds: int | None = strawberry.field(
        default=None, description=f"Raise only when the activation holds this long (1-{MAX_DURATION}); null: at once."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"Locations of the organisation it applies to (at most {MAX_LOCATIONS})."
    )
    location_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"Location groups of the organisation it applies to (at most {MAX_GROUPS})."
    )


@strawberry.input(description="Change an alarm profile; fields left out stay, a list given replaces the old one.")
class AlarmProfileUpdateInput:
    id: strawberry.ID = strawberry.field(description="The profile (not a system one).")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New key name.")
    severity: AlarmSeverity | None = strawberry.field(default=strawberry.UNSET, description="New severity.")  # type: ignore[valid-type]
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description.")
    duration_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="New duration; null: raise at once."
    )
    activation_filters: list[AlarmTelemetryFilterInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The new activation filters (at least one)."
    )
    clearing_filters: list[AlarmTelemetryFilterInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The new clearing filters (at least one)."
    )
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The new list of locations."
    )
    location_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The new list of location groups."
    )


@strawberry.input(description="An alarm profile to delete.")
class AlarmProfileDeleteInput:
    id: strawberry.ID = strawberry.field(description="The profile (not a system one).")


@strawberry.type(description="The alarm profile, or why the change was refused.")
class AlarmProfilePayload:
    alarm_profile: AlarmProfile | None = strawberry.field(description="The profile; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted profile's ID, or why it was refused.")
class AlarmProfileDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted profile; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Narrow the alarm profile list.")
class AlarmProfileFilter:
    name_contains: str | None = strawberry.field(default=None, description="Key name contains this text (any case).")
    system: bool | None = strawberry.field(default=None, description="Only system profiles (true) or only own ones.")


def profile_payload(result: al.AlarmProfile) -> AlarmProfilePayload:
    return AlarmProfilePayload(alarm_profile=AlarmProfile.from_model(result), errors=[])


@strawberry.type
class AlarmProfileQuery:
    @strawberry.field(
        description="Alarm profiles: the system ones and those of your organisation's subtree, by key name.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def alarm_profiles(
        self,
        info: Info,
        filter: Annotated[
            AlarmProfileFilter | None, strawberry.argument(description="Conditions the profiles must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[AlarmProfile]:
        statement = select(al.AlarmProfile).where(profile_visible(info.context.principal))
        if filter is not None and filter.name_contains:
            text = filter_text(filter.name_contains, "filter.nameContains", MAX_FILTER_TEXT)
            statement = statement.where(al.AlarmProfile.name.icontains(text, autoescape=True))
        if filter is not None and filter.system is not None:
            column = al.AlarmProfile.organisation_id
            statement = statement.where(column.is_(None) if filter.system else column.is_not(None))
        keys = [SortKey(al.AlarmProfile.name), SortKey(al.AlarmProfile.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            AlarmProfile.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, AlarmProfile),
        )


@strawberry.type
class AlarmProfileMutation:
    @strawberry.mutation(
        description="Create an alarm profile: when telemetry raises an alarm and when it clears.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def alarm_profile_create(self, info: Info, input: AlarmProfileCreateInput) -> AlarmProfilePayload:
        return await mutate(
            info.context, AlarmProfilePayload, lambda s: create_profile(s, info.context, input), profile_payload
        )

    @strawberry.mutation(
        description="Change an alarm profile of your organisation's subtree (system profiles are read-only).",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def alarm_profile_update(self, info: Info, input: AlarmProfileUpdateInput) -> AlarmProfilePayload:
        return await mutate(
            info.context, AlarmProfilePayload, lambda s: update_profile(s, info.context, input), profile_payload
        )

    @strawberry.mutation(
        description="Delete an alarm profile; its alarms stay in the history, open ones are cleared.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def alarm_profile_delete(self, info: Info, input: AlarmProfileDeleteInput) -> AlarmProfileDeletePayload:
        return await mutate(
            info.context,
            AlarmProfileDeletePayload,
            lambda s: delete_profile(s, info.context, input.id),
            lambda result: AlarmProfileDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "AlarmProfile": (Permission.MONITORING_MANAGE, node_loader(visible_profiles, AlarmProfile.from_model)),
}
