"""The live alarm stream (a console's feed): alarms raised, repeated, acknowledged and cleared, on the
live-events engine (subscriptions.stream), resumable by cursor; shaped like resolvers.remote.live_state.

At dispatch a subscriber is woken only when its filter (set lookups) and its checked rights (the event's
organisation path, the locations granted to it) let the event through. Per event the alarm, its location
and its device are loaded once for all subscribers (event.shared), and one object is built for all of them.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.auth import reauthenticate
from graph.context import Context
from graph.loaders import SharedLoaders, rows_by_id
from graph.permissions import needs, require_permission
from graph.tenancy import path_visible
from models import alarms as al
from models.identity import Permission
from resolvers.monitoring.alarms.alarm_schema import decode_filter_ids
from resolvers.monitoring.alarms.loaders import alarm_devices, alarm_locations
from resolvers.monitoring.alarms.types import Alarm, AlarmSeverity, AlarmState
from resolvers.remote.access.loaders import reachable_by_user
from resolvers.remote.devices.types import LocationDevice
from resolvers.remote.locations.types import Location
from resolvers.remote.scope import sees, sees_whole_subtree
from subscriptions import channels
from subscriptions.delivery import sent
from subscriptions.log import LoggedEvent
from subscriptions.stream import AFTER_DESCRIPTION, parse_cursor

#: Unscoped (the shared loaders have no principal): each subscriber checks its rights on the event.
shared_alarms = rows_by_id(al.Alarm)


@strawberry.enum(description="What happened to an alarm.")
class AlarmEventKind(enum.Enum):
    RAISED = "RAISED"
    UPDATED = "UPDATED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    CLEARED = "CLEARED"


@strawberry.type(description="A change of an alarm, sent after it was committed.")
class AlarmEvent:
    cursor: str = strawberry.field(description="Pass it as `after` to resume the stream after this event.")
    kind: AlarmEventKind = strawberry.field(description="What happened.")
    at: datetime = strawberry.field(description="When.")
    state: AlarmState = strawberry.field(description="The alarm's state right after this change.")
    alarm: Alarm = strawberry.field(description="The alarm as it is now.")
    # The same as alarm.location and alarm.device, as plain fields: a selection of plain fields only is executed
    # once per event for all subscribers (subscriptions.delivery), a relation field once per subscriber.
    location: Location = strawberry.field(description="Where it was raised (the same as alarm.location).")
    device: LocationDevice | None = strawberry.field(
        description="The device whose telemetry raised it (the same as alarm.device); null: the location's own."
    )


@strawberry.input(description="Which alarm events to stream; every field narrows, none means all you may see.")
class AlarmStreamFilter:
    severities: list[AlarmSeverity] | None = strawberry.field(default=None, description="Only these severities.")  # type: ignore[valid-type]
    location_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only at these locations.")
    profile_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only of these profiles.")
    kinds: list[AlarmEventKind] | None = strawberry.field(default=None, description="Only these kinds of event.")


@dataclass(frozen=True)
class _Wanted:
    """The filter as sets of what the events carry (no lookups at dispatch but these)."""

    severities: frozenset[str] | None
    locations: frozenset[int] | None
    profiles: frozenset[int] | None
    kinds: frozenset[str] | None

    def matches(self, payload: dict) -> bool:
        return (
            (self.kinds is None or payload["kind"] in self.kinds)
            and (self.severities is None or payload["severity"] in self.severities)
            and (self.locations is None or payload["location"] in self.locations)
            and (self.profiles is None or payload["profile"] in self.profiles)
        )


def _ids(values: list[strawberry.ID] | None, type_name: str, argument: str) -> frozenset[int] | None:
    pks = decode_filter_ids(values, type_name, argument)
    return frozenset(pks) if pks is not None else None


def _wanted(given: AlarmStreamFilter | None) -> _Wanted:
    given = given or AlarmStreamFilter()
    return _Wanted(
        frozenset(str(s.value) for s in given.severities) if given.severities is not None else None,  # type: ignore[attr-defined]
        _ids(given.location_ids, "Location", "filter.locationIds"),
        _ids(given.profile_ids, "AlarmProfile", "filter.profileIds"),
        frozenset(k.value for k in given.kinds) if given.kinds is not None else None,
    )


def _could_see(context: Context, wanted: _Wanted, event: LoggedEvent) -> bool:
    """At dispatch, without waking the subscription: False only when the filter or the subscriber's checked
    rights rule the event out."""
    payload = event.payload
    if not wanted.matches(payload):
        return False
    principal = context.principal
    if principal is None or not event.shared.rights_checked(context) or principal.is_platform_admin:
        return True
    if sees_whole_subtree(principal) and path_visible(principal, payload["organisationPath"]):
        return True
    reachable = event.shared.known_rights(context, reachable_by_user, principal.user_id)
    return reachable is None or payload["location"] in reachable


async def _event_object(shared: SharedLoaders, event: LoggedEvent) -> AlarmEvent | None:
    """The event's object, once for all subscribers: the alarm with its location and device loaded ahead."""
    payload = event.payload
    row = await shared(shared_alarms).load(payload["alarm"])
    if row is None:  # deleted since (its location was)
        return None
    location = await shared(alarm_locations).load(row.location_id)
    device = await shared(alarm_devices).load(row.device_id) if row.device_id is not None else None
    if location is None:
        return None
    alarm = Alarm.from_model(row)
    place = Location.from_model(location)
    thing = LocationDevice.from_model(device) if device is not None else None
    alarm.ahead = {"location": place, "device": thing}
    return AlarmEvent(
        cursor=str(event.cursor),
        kind=AlarmEventKind(payload["kind"]),
        at=datetime.fromisoformat(payload["at"]),
        state=AlarmState(payload["state"]),
        alarm=alarm,
        location=place,
        device=thing,
    )


@strawberry.type
class AlarmSubscription:
    @strawberry.subscription(
        description=(
            "Alarms raised, repeated, acknowledged and cleared at the locations you may see; sent after the change "
            "is committed, resumable with `after`."
        ),
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def alarms(
        self,
        info: Info,
        filter: Annotated[AlarmStreamFilter | None, strawberry.argument(description="Narrow the stream.")] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
    ) -> AsyncGenerator[AlarmEvent, None]:
        context = info.context
        require_permission(context, Permission.LOCATIONS_READ)
        wanted = _wanted(filter)
        async for event in context.runtime.events.subscribe(
            channels.ALARMS,
            parse_cursor(after),
            context.subscription_owner(Permission.LOCATIONS_READ),
            partial(_could_see, context, wanted),
        ):
            payload = event.payload
            if not wanted.matches(payload):
                continue
            # Logout, expiry, deactivation or a withdrawn permission end the subscription.
            await reauthenticate(context, event.shared)
            principal = require_permission(context, Permission.LOCATIONS_READ)
            reachable: frozenset[int] = frozenset()
            if not principal.is_platform_admin:
                reachable = await event.shared.rights(context, reachable_by_user, principal.user_id)
            if not sees(principal, payload["organisationPath"], payload["location"], reachable):
                continue
            result = await event.shared.once("alarm-event", partial(_event_object, event.shared, event))
            if result is None:
                continue
            context.reset_loaders()  # for fields with resolvers: this event's rows, not an earlier one's
            if not await sent(event, result, context):
                yield result
