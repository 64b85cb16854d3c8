"""Which events a notification profile reports (issue 18): offline routers, reported faults, standstill."""

from __future__ import annotations

import enum
from collections.abc import Sequence

import strawberry

from graph.errors import DomainError
from models import remote as r
from resolvers.remote.errors import RemoteErrorCode as Code


@strawberry.enum(description="An event a notification profile reports by mail.")
class NotificationEvent(enum.Enum):
    OFFLINE = strawberry.enum_value("OFFLINE", description="The router stays offline for offlineMinutes.")
    FAULT = strawberry.enum_value(
        "FAULT", description="The router reports a fault, or its fault clears (one mail per change)."
    )
    STANDSTILL = strawberry.enum_value(
        "STANDSTILL", description="The machine behind the router starts or ends a standstill (one mail per change)."
    )


#: The profile's column of each event.
COLUMNS = {
    NotificationEvent.OFFLINE: "on_offline",
    NotificationEvent.FAULT: "on_fault",
    NotificationEvent.STANDSTILL: "on_standstill",
}


def clean_events(values: Sequence[NotificationEvent] | None) -> dict[str, bool]:
    """The profile's columns for the events chosen (at least one); left out on create: OFFLINE only."""
    if values is None:
        values = [NotificationEvent.OFFLINE]
    if not values:
        raise DomainError(Code.REQUIRED, "Choose at least one event to report.", "events")
    return {column: event in values for event, column in COLUMNS.items()}


def events_of(row: r.NotificationProfile) -> list[NotificationEvent]:
    return [event for event, column in COLUMNS.items() if getattr(row, column)]
