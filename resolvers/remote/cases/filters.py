"""The case list's and call search's filters, as SQL: shared by the GraphQL lists and the export."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import Select, or_, select

from graph.errors import BadUserInput
from graph.filters import contains
from graph.relay import decode_id
from models import cases as cs
from resolvers.remote.cases.loaders import call_visible, case_visible

MAX_FILTER_IDS = 100


@strawberry.input(description="Narrow the case list (conditions add up).")
class CaseFilter:
    mine: bool | None = strawberry.field(
        default=None, description="Only the cases you worked on: you opened them or logged a call in them."
    )
    location_id: strawberry.ID | None = strawberry.field(default=None, description="Only at this location.")
    device_id: strawberry.ID | None = strawberry.field(default=None, description="Only about this device.")
    status_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only in these statuses.")
    closed: bool | None = strawberry.field(default=None, description="Only closed (true) or open (false) cases.")


@strawberry.input(description="Search calls (the manual's Zoeken in calls; conditions add up).")
class CallFilter:
    from_: datetime | None = strawberry.field(default=None, name="from", description="Started at or after this time.")
    to: datetime | None = strawberry.field(default=None, description="Started before this time.")
    location_id: strawberry.ID | None = strawberry.field(default=None, description="Only at this location.")
    description_contains: str | None = strawberry.field(
        default=None, description="The call's description contains this text (any case)."
    )
    case_closed: bool | None = strawberry.field(
        default=None, description="Only calls of closed (true) or open (false) cases."
    )
    device_id: strawberry.ID | None = strawberry.field(default=None, description="Only of cases about this device.")
    activity_type_id: strawberry.ID | None = strawberry.field(default=None, description="Only of this activity type.")
    status_id: strawberry.ID | None = strawberry.field(default=None, description="Only calls that set this status.")
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Only calls of this user.")


def filter_pk(value: strawberry.ID | None, type_name: str, argument: str) -> int | None:
    """A filter's ID; malformed or of another type is BAD_USER_INPUT, another tenant's simply matches nothing."""
    if value is None:
        return None
    pk = decode_id(value, type_name)
    if pk is None:
        raise BadUserInput(f"Not a {type_name} ID.", argument=argument)
    return pk


def _closed_statuses() -> Select[int]:
    return select(cs.CaseStatus.id).where(cs.CaseStatus.closes_case.is_(True))


def case_statement(principal, given: CaseFilter | None) -> Select:
    """The cases the caller sees that the filter lets through."""
    statement = select(cs.Case).where(case_visible(principal))
    if given is None:
        return statement
    if given.mine:
        mine = select(cs.CaseCall.case_id).where(cs.CaseCall.user_id == principal.user_id)
        statement = statement.where(or_(cs.Case.user_id == principal.user_id, cs.Case.id.in_(mine)))
    if (location := filter_pk(given.location_id, "Location", "filter.locationId")) is not None:
        statement = statement.where(cs.Case.location_id == location)
    if (device := filter_pk(given.device_id, "LocationDevice", "filter.deviceId")) is not None:
        statement = statement.where(cs.Case.device_id == device)
    if given.status_ids is not None:
        if len(given.status_ids) > MAX_FILTER_IDS:
            raise BadUserInput(f"At most {MAX_FILTER_IDS} IDs.", argument="filter.statusIds")
        wanted = [filter_pk(value, "CaseStatus", "filter.statusIds") for value in given.status_ids]
        statement = statement.where(cs.Case.status_id.in_(wanted))
    if given.closed is not None:
        closed = cs.Case.status_id.in_(_closed_statuses())
        statement = statement.where(closed if given.closed else ~closed)
    return statement


def call_statement(principal, given: CallFilter | None) -> Select:
    """The calls the caller sees that the search lets through."""
    statement = select(cs.CaseCall).where(call_visible(principal))
    if given is None:
        return statement
    if given.from_ is not None:
        statement = statement.where(cs.CaseCall.started_at >= given.from_)
    if given.to is not None:
        statement = statement.where(cs.CaseCall.started_at < given.to)
    if given.description_contains:
        statement = statement.where(
            contains(cs.CaseCall.description, given.description_contains, "filter.descriptionContains")
        )
    for column, value, type_name, argument in (
        (cs.CaseCall.activity_type_id, given.activity_type_id, "ActivityType", "filter.activityTypeId"),
        (cs.CaseCall.status_id, given.status_id, "CaseStatus", "filter.statusId"),
        (cs.CaseCall.user_id, given.user_id, "User", "filter.userId"),
    ):
        if (pk := filter_pk(value, type_name, argument)) is not None:
            statement = statement.where(column == pk)
    of_case = []
    if (location := filter_pk(given.location_id, "Location", "filter.locationId")) is not None:
        of_case.append(cs.Case.location_id == location)
    if (device := filter_pk(given.device_id, "LocationDevice", "filter.deviceId")) is not None:
        of_case.append(cs.Case.device_id == device)
    if given.case_closed is not None:
        closed = cs.Case.status_id.in_(_closed_statuses())
        of_case.append(closed if given.case_closed else ~closed)
    if of_case:
        statement = statement.where(cs.CaseCall.case_id.in_(select(cs.Case.id).where(*of_case)))
    return statement
