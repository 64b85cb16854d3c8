"""Alarms: the list (default: active and unacknowledged), counts per severity, acknowledge and clear."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import Select, and_, false, func, or_, select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from models import alarms as al
from models.identity import Permission
from resolvers.monitoring.alarms.loaders import alarm_visible, visible_alarms
from resolvers.monitoring.alarms.rules import acknowledge_alarm, clear_alarm
from resolvers.monitoring.alarms.types import Alarm, AlarmCounts, AlarmSeverity, AlarmState
from resolvers.monitoring.errors import MonitoringError

MAX_FILTER_IDS = 500


@strawberry.input(description="Which alarms; every field narrows. States default to [ACTIVE_UNACK].")
class AlarmFilter:
    severities: list[AlarmSeverity] | None = strawberry.field(default=None, description="Only these severities.")  # type: ignore[valid-type]
    states: list[AlarmState] | None = strawberry.field(
        default=None, description="Only these states; default [ACTIVE_UNACK] (the manual's default view)."
    )
    location_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only at these locations.")
    profile_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only of these profiles.")
    from_: datetime | None = strawberry.field(default=None, name="from", description="Raised at or after this time.")
    to: datetime | None = strawberry.field(default=None, description="Raised before this time.")


def decode_filter_ids(values: list[strawberry.ID] | None, type_name: str, argument: str) -> set[int] | None:
    if values is None:
        return None
    if len(values) > MAX_FILTER_IDS:
        raise BadUserInput(f"At most {MAX_FILTER_IDS} IDs.", argument=argument)
    pks = set()
    for value in values:
        pk = decode_id(value, type_name)
        if pk is None:
            raise BadUserInput(f"Not a {type_name} ID.", argument=argument)
        pks.add(pk)
    return pks


def state_condition(states: list[AlarmState]):
    wanted = [
        and_(
            al.Alarm.cleared.is_(state.name.startswith("CLEARED")),
            al.Alarm.acknowledged.is_(state.name.endswith("_ACK")),
        )
        for state in set(states)
    ]
    return or_(*wanted) if wanted else false()


def filtered(principal, given: AlarmFilter | None, statement: Select) -> Select:
    """The alarms the caller sees (their locations: resolvers.remote.scope) that the filter lets through."""
    given = given or AlarmFilter()
    statement = statement.where(alarm_visible(principal))
    statement = statement.where(
        state_condition(given.states if given.states is not None else [AlarmState.ACTIVE_UNACK])
    )
    if given.severities is not None:
        severities = [al.Severity(str(s.value)) for s in given.severities]  # type: ignore[attr-defined]
        statement = statement.where(al.Alarm.severity.in_(severities))
    locations = decode_filter_ids(given.location_ids, "Location", "filter.locationIds")
    if locations is not None:
        statement = statement.where(al.Alarm.location_id.in_(locations))
    profiles = decode_filter_ids(given.profile_ids, "AlarmProfile", "filter.profileIds")
    if profiles is not None:
        statement = statement.where(al.Alarm.profile_id.in_(profiles))
    if given.from_ is not None:
        statement = statement.where(al.Alarm.raised_at >= given.from_)
    if given.to is not None:
        statement = statement.where(al.Alarm.raised_at < given.to)
    return statement


@strawberry.input(description="An alarm to acknowledge or clear.")
class AlarmHandleInput:
    id: strawberry.ID = strawberry.field(description="The alarm.")


@strawberry.type(description="The alarm, or why it was refused.")
class AlarmPayload:
    alarm: Alarm | None = strawberry.field(description="The alarm; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


def alarm_payload(result: al.Alarm) -> AlarmPayload:
    return AlarmPayload(alarm=Alarm.from_model(result), errors=[])


FilterArgument = Annotated[AlarmFilter | None, strawberry.argument(description="Which alarms.")]


@strawberry.type
class AlarmQuery:
    @strawberry.field(
        description="Alarms at the locations you may see, newest first; default: active and unacknowledged.",
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def alarms(
        self,
        info: Info,
        filter: FilterArgument = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Alarm]:
        statement = filtered(info.context.principal, filter, select(al.Alarm))
        return await paginate(
            info.context,
            statement,
            [SortKey(al.Alarm.raised_at, descending=True), SortKey(al.Alarm.id, descending=True)],
            Alarm.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Alarm),
        )

    @strawberry.field(
        description="How many alarms per severity the filter lets through (a console's header): one statement.",
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def alarm_counts(self, info: Info, filter: FilterArgument = None) -> AlarmCounts:
        statement = filtered(
            info.context.principal, filter, select(al.Alarm.severity, func.count()).group_by(al.Alarm.severity)
        )
        async with info.context.session() as session:
            counts = {severity: count for severity, count in (await session.execute(statement)).all()}
        low, medium, high = (counts.get(s, 0) for s in (al.Severity.LOW, al.Severity.MEDIUM, al.Severity.HIGH))
        return AlarmCounts(low=low, medium=medium, high=high, total=low + medium + high)


@strawberry.type
class AlarmMutation:
    @strawberry.mutation(
        description="Acknowledge an alarm at a location you may see (recorded with who and when).",
        permission_classes=[needs(Permission.ALARMS_HANDLE)],
    )
    async def alarm_acknowledge(self, info: Info, input: AlarmHandleInput) -> AlarmPayload:
        return await mutate(
            info.context, AlarmPayload, lambda s: acknowledge_alarm(s, info.context, input.id), alarm_payload
        )

    @strawberry.mutation(
        description="Clear an alarm at a location you may see (recorded with who and when); the next activation "
        "raises a new one.",
        permission_classes=[needs(Permission.ALARMS_HANDLE)],
    )
    async def alarm_clear(self, info: Info, input: AlarmHandleInput) -> AlarmPayload:
        return await mutate(info.context, AlarmPayload, lambda s: clear_alarm(s, info.context, input.id), alarm_payload)


NODE_RESOLVERS = {
    "Alarm": (Permission.LOCATIONS_READ, node_loader(visible_alarms, Alarm.from_model)),
}
