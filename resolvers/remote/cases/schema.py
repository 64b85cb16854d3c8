"""Cases and calls: lists (my cases, per location or device, by status), call search, create and edit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models import cases as cs
from models.identity import Permission
from resolvers.remote.cases.calls import create_call, update_call
from resolvers.remote.cases.filters import CallFilter, CaseFilter, call_statement, case_statement
from resolvers.remote.cases.loaders import visible_calls, visible_cases
from resolvers.remote.cases.rules import MAX_MINUTES, create_case, update_case
from resolvers.remote.cases.types import Case, CaseCall
from resolvers.remote.errors import RemoteError

#: Newest first.
CASE_ORDER = [SortKey(cs.Case.started_at, descending=True), SortKey(cs.Case.id, descending=True)]
CALL_SEARCH_ORDER = [SortKey(cs.CaseCall.started_at, descending=True), SortKey(cs.CaseCall.id, descending=True)]


@strawberry.input(description="A new case at a location.")
class CaseCreateInput:
    location_id: strawberry.ID = strawberry.field(description="The location (one you see).")
    device_id: strawberry.ID | None = strawberry.field(default=None, description="A device of the location, or none.")
    status_id: strawberry.ID | None = strawberry.field(
        default=None, description="A status of the location's organisation; default: its first open one (Open)."
    )
    started_at: datetime | None = strawberry.field(default=None, description="When it started; default: now.")
    description: str = strawberry.field(default="", description="What it is about.")


@strawberry.input(description="Change an open case; fields left out stay.")
class CaseUpdateInput:
    id: strawberry.ID = strawberry.field(description="The case.")
    device_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A device of the case's location; null: none."
    )
    status_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New status (a closing one closes the case for good)."
    )
    started_at: datetime | None = strawberry.field(default=strawberry.UNSET, description="New start.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description.")


@strawberry.input(description="A new call in an open case.")
class CallCreateInput:
    case_id: strawberry.ID = strawberry.field(description="The case.")
    duration_minutes: int = strawberry.field(description=f"How long the work took (0-{MAX_MINUTES} minutes).")
    activity_type_id: strawberry.ID = strawberry.field(description="An activity type of the case's organisation.")
    status_id: strawberry.ID | None = strawberry.field(
        default=None, description="The status the call gives the case; default: the case's current status."
    )
    started_at: datetime | None = strawberry.field(default=None, description="When the work started; default: now.")
    description: str = strawberry.field(default="", description="What was done.")


@strawberry.input(description="Change a call of an open case; fields left out stay.")
class CallUpdateInput:
    id: strawberry.ID = strawberry.field(description="The call.")
    duration_minutes: int | None = strawberry.field(default=strawberry.UNSET, description="New duration.")
    activity_type_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New activity type."
    )
    status_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New status (the case gets it too)."
    )
    started_at: datetime | None = strawberry.field(default=strawberry.UNSET, description="New start.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description.")


@strawberry.type(description="The case, or why the change was refused.")
class CasePayload:
    case: Case | None = strawberry.field(description="The case; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The call, or why the change was refused.")
class CallPayload:
    call: CaseCall | None = strawberry.field(description="The call; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def _case_ok(row: cs.Case) -> CasePayload:
    return CasePayload(case=Case.from_model(row), errors=[])


def _call_ok(row: cs.CaseCall) -> CallPayload:
    return CallPayload(call=CaseCall.from_model(row), errors=[])


@strawberry.type
class CaseQuery:
    @strawberry.field(
        description="Cases at the locations you see, newest first: yours (`mine`), per location or device, by status.",
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def cases(
        self,
        info: Info,
        filter: Annotated[CaseFilter | None, strawberry.argument(description="Conditions the cases meet.")] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Case]:
        return await paginate(
            info.context,
            case_statement(info.context.principal, filter),
            CASE_ORDER,
            Case.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Case),
        )

    @strawberry.field(
        description="Search the calls at the locations you see, newest first; each shows its case.",
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def calls(
        self,
        info: Info,
        filter: Annotated[CallFilter | None, strawberry.argument(description="Conditions the calls meet.")] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[CaseCall]:
        return await paginate(
            info.context,
            call_statement(info.context.principal, filter),
            CALL_SEARCH_ORDER,
            CaseCall.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, CaseCall),
        )


MANAGE = [needs(Permission.CASES_MANAGE)]


@strawberry.type
class CaseMutation:
    @strawberry.mutation(description="Open a case at a location you see.", permission_classes=MANAGE)
    async def case_create(self, info: Info, input: CaseCreateInput) -> CasePayload:
        context = info.context
        return await mutate(
            context,
            CasePayload,
            lambda s: create_case(
                s,
                context,
                location_id=input.location_id,
                device_id=input.device_id,
                status_id=input.status_id,
                started_at=input.started_at,
                description=input.description,
            ),
            _case_ok,
        )

    @strawberry.mutation(description="Change an open case (CASE_CLOSED once closed).", permission_classes=MANAGE)
    async def case_update(self, info: Info, input: CaseUpdateInput) -> CasePayload:
        context = info.context
        return await mutate(
            context,
            CasePayload,
            lambda s: update_case(
                s,
                context,
                input.id,
                device_id=input.device_id,
                status_id=input.status_id,
                started_at=input.started_at,
                description=input.description,
            ),
            _case_ok,
        )

    @strawberry.mutation(
        description="Log a call in an open case; its status becomes the case's.", permission_classes=MANAGE
    )
    async def call_create(self, info: Info, input: CallCreateInput) -> CallPayload:
        context = info.context
        return await mutate(
            context,
            CallPayload,
            lambda s: create_call(
                s,
                context,
                case_id=input.case_id,
                started_at=input.started_at,
                duration_minutes=input.duration_minutes,
                activity_type_id=input.activity_type_id,
                status_id=input.status_id,
                description=input.description,
            ),
            _call_ok,
        )

    @strawberry.mutation(description="Change a call of an open case.", permission_classes=MANAGE)
    async def call_update(self, info: Info, input: CallUpdateInput) -> CallPayload:
        context = info.context
        return await mutate(
            context,
            CallPayload,
            lambda s: update_call(
                s,
                context,
                input.id,
                started_at=input.started_at,
                duration_minutes=input.duration_minutes,
                activity_type_id=input.activity_type_id,
                status_id=input.status_id,
                description=input.description,
            ),
            _call_ok,
        )


NODE_RESOLVERS = {
    "Case": (Permission.LOCATIONS_READ, node_loader(visible_cases, Case.from_model)),
    "CaseCall": (Permission.LOCATIONS_READ, node_loader(visible_calls, CaseCall.from_model)),
}
