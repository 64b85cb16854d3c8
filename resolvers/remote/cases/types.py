"""GraphQL types of cases and their calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Connection, Node, PageAfter, PageBefore, PageFirst, PageLast, paginate_parent, to_global_id
from models import cases as cs
from resolvers.identity.users.types import User
from resolvers.remote.case_settings.loaders import activity_types, statuses
from resolvers.remote.case_settings.types import ActivityType, CaseStatus
from resolvers.remote.cases import loaders
from resolvers.remote.devices.loaders import visible_devices
from resolvers.remote.devices.types import LocationDevice
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.types import Location


async def _user(info: Info, pk: int | None) -> User | None:
    if pk is None:
        return None
    found = await info.context.loaders(loaders.users_with_paths).load(pk)
    return None if found is None else User.seen_by(info.context.principal, *found)


@strawberry.type(description="A call in a case: a stretch of work at the case's location.")
class CaseCall(Node):
    started_at: datetime = strawberry.field(description="When the work started.")
    duration_minutes: int = strawberry.field(description="How long it took, in minutes.")
    description: str = strawberry.field(description="What was done; may be empty.")
    created_at: datetime = strawberry.field(description="When it was logged.")
    pk: strawberry.Private[int]
    case_pk: strawberry.Private[int]
    activity_type_pk: strawberry.Private[int]
    status_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int | None]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: cs.CaseCall) -> CaseCall:
        return cls(
            id=strawberry.ID(to_global_id("CaseCall", row.id)),
            started_at=row.started_at,
            duration_minutes=row.duration_minutes,
            description=row.description,
            created_at=row.created_at,
            pk=row.id,
            case_pk=row.case_id,
            activity_type_pk=row.activity_type_id,
            status_pk=row.status_id,
            user_pk=row.user_id,
        )

    @strawberry.field(description="The case it is in.")
    @relation(Batched(loaders.cases, key=lambda call: call.case_pk, build=lambda row: Case.from_model(row)))
    def case(self, info: Info) -> Case: ...

    @strawberry.field(description="What kind of work it was.")
    @relation(Batched(activity_types, key=lambda call: call.activity_type_pk, build=ActivityType.from_model))
    def activity_type(self, info: Info) -> ActivityType: ...

    @strawberry.field(description="The status it gave the case.")
    @relation(Batched(statuses, key=lambda call: call.status_pk, build=CaseStatus.from_model))
    def status(self, info: Info) -> CaseStatus: ...

    @strawberry.field(description="Who did the work; null once that user was deleted.")
    async def user(self, info: Info) -> User | None:
        return await _user(info, self.user_pk)


@strawberry.type(description="A case (the manual's Case & Call): work at a location, with its calls.")
class Case(Node):
    started_at: datetime = strawberry.field(description="When the case started.")
    description: str = strawberry.field(description="What the case is about; may be empty.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    device_pk: strawberry.Private[int | None]
    status_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int | None]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: cs.Case) -> Case:
        return cls(
            id=strawberry.ID(to_global_id("Case", row.id)),
            started_at=row.started_at,
            description=row.description,
            created_at=row.created_at,
            pk=row.id,
            location_pk=row.location_id,
            device_pk=row.device_id,
            status_pk=row.status_id,
            user_pk=row.user_id,
        )

    @strawberry.field(description="The location where it happened.")
    @relation(Batched(visible_locations, key=lambda case: case.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location: ...

    @strawberry.field(description="The device of the location it is about; null for the location as a whole.")
    @relation(Batched(visible_devices, key=lambda case: case.device_pk, build=LocationDevice.from_model))
    def device(self, info: Info) -> LocationDevice | None: ...

    @strawberry.field(description="Its status (the status its last call gave it, or the one set on the case).")
    @relation(Batched(statuses, key=lambda case: case.status_pk, build=CaseStatus.from_model))
    def status(self, info: Info) -> CaseStatus: ...

    @strawberry.field(description="Closed: its status closes the case; it can no longer be edited or get calls.")
    async def closed(self, info: Info) -> bool:
        status = await info.context.loaders(statuses).load(self.status_pk)
        return bool(status is not None and status.closes_case)

    @strawberry.field(description="Who opened it; null once that user was deleted.")
    async def user(self, info: Info) -> User | None:
        return await _user(info, self.user_pk)

    @strawberry.field(description="Time worked on it in minutes: the sum of its calls' durations.")
    async def minutes_worked(self, info: Info) -> int:
        return (await info.context.loaders(loaders.call_totals).load(self.pk))[1]

    @strawberry.field(description="Its calls, in the order they happened.")
    async def calls(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[CaseCall]:
        totals = info.context.loaders(loaders.call_totals)
        pk = self.pk

        async def count() -> int:
            return (await totals.load(pk))[0]

        return await paginate_parent(
            info.context,
            loaders.call_pages,
            pk,
            loaders.CALL_ORDER,
            CaseCall.from_model,
            count,
            first=first,
            after=after,
            last=last,
            before=before,
        )
