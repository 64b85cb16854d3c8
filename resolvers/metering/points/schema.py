"""Metering points: the meteringPoints list, create, update, delete, and binding and unbinding a meter."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from graph.errors import BadUserInput, DomainError, refused
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
from graph.rules import UNSET, unset_if_null
from models import metering as mt
from models.identity import Permission
from resolvers.metering.errors import MeteringError
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.points.binding import bind_meter, credentials, unbind_meter
from resolvers.metering.points.loaders import visible_points
from resolvers.metering.points.rules import create_point, delete_point, update_point
from resolvers.metering.points.types import MeteringPoint, Resource
from resolvers.metering.scope import metering_point_visible

MAX_SEARCH = 200


@strawberry.input(description="Which metering points to list.")
class MeteringPointFilter:
    resource: Resource | None = strawberry.field(default=None, description="Only points of this resource.")  # type: ignore[valid-type]
    search: str | None = strawberry.field(
        default=None, description="Only points whose room name or address contains this text (any case)."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff: only the points of this organisation of your subtree."
    )


@strawberry.input(description="A new metering point: yours (a consumer) or your organisation's (staff).")
class MeteringPointCreateInput:
    resource: Resource = strawberry.field(description="What its meter measures.")  # type: ignore[valid-type]
    room_name: str = strawberry.field(description='Names the point, e.g. "Flat 16 bathroom" (at most 200 characters).')
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Europe/Moscow.")
    address_handle: str | None = strawberry.field(default=None, description="The handle of an addressSearch result.")
    account_number: str | None = strawberry.field(default=None, description="Personal account number (optional).")


@strawberry.input(description="Change a metering point; fields left out stay.")
class MeteringPointUpdateInput:
    id: strawberry.ID = strawberry.field(description="The metering point.")
    resource: Resource | None = strawberry.field(default=strawberry.UNSET, description="New resource.")  # type: ignore[valid-type]
    room_name: str | None = strawberry.field(default=strawberry.UNSET, description="New room name.")
    time_zone: str | None = strawberry.field(default=strawberry.UNSET, description="New IANA time zone.")
    address_handle: str | None = strawberry.field(
        default=strawberry.UNSET, description="The handle of an addressSearch result; null removes the address."
    )
    account_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="New personal account number; null removes it."
    )


@strawberry.input(description="A metering point to delete.")
class MeteringPointDeleteInput:
    id: strawberry.ID = strawberry.field(description="The metering point.")


@strawberry.input(
    description="Bind a meter: the serial number and PIN of its passport, or the QR payload on its sticker "
    "(fleetgraph:meter?sn=<serial number>&pin=<PIN>)."
)
class MeterBindInput:
    metering_point_id: strawberry.ID = strawberry.field(description="The metering point (without a meter).")
    serial_number: str | None = strawberry.field(default=None, description="Serial number from the passport.")
    pin: str | None = strawberry.field(default=None, description="PIN from the passport (4 to 8 digits).")
    qr: str | None = strawberry.field(default=None, description="The QR payload instead of serial number and PIN.")


@strawberry.input(description="Take the meter off a metering point.")
class MeterUnbindInput:
    metering_point_id: strawberry.ID = strawberry.field(description="The metering point.")


@strawberry.type(description="The metering point, or why the change was refused.")
class MeteringPointPayload:
    metering_point: MeteringPoint | None = strawberry.field(description="The point; null when refused.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted point's ID, or why it was refused.")
class MeteringPointDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted point; null when refused.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


def point_payload(row: mt.MeteringPoint) -> MeteringPointPayload:
    return MeteringPointPayload(metering_point=MeteringPoint.from_model(row), errors=[])


def _filtered(statement, filter: MeteringPointFilter | None):
    if filter is None:
        return statement
    P, A = mt.MeteringPoint, mt.Address
    if filter.resource is not None:
        statement = statement.where(P.resource == mt.Resource(filter.resource))
    if filter.search and filter.search.strip():
        text = filter.search.strip().lower()[:MAX_SEARCH]
        in_address = select(A.id).where(func.lower(A.display_name).contains(text, autoescape=True))
        statement = statement.where(
            or_(func.lower(P.room_name).contains(text, autoescape=True), P.address_id.in_(in_address))
        )
    if filter.organisation_id is not None:
        organisation_pk = decode_id(filter.organisation_id, "Organisation")
        if organisation_pk is None:
            raise BadUserInput("Not an Organisation ID.", argument="filter.organisationId")
        # another tenant's organisation selects nothing, like an unknown one (visibility applies first)
        statement = statement.where(P.organisation_id == organisation_pk)
    return statement


@strawberry.type
class MeteringPointQuery:
    @strawberry.field(
        description="Metering points, by room name: a consumer's own, or staff's organisation subtree's.",
        permission_classes=[needs(Permission.METERING_READ)],
    )
    async def metering_points(
        self,
        info: Info,
        filter: Annotated[MeteringPointFilter | None, strawberry.argument(description="Which points.")] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[MeteringPoint]:
        P = mt.MeteringPoint
        statement = _filtered(select(P).where(metering_point_visible(info.context.principal)), filter)
        return await paginate(
            info.context,
            statement,
            [SortKey(P.room_name), SortKey(P.id)],
            MeteringPoint.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, MeteringPoint),
        )


@strawberry.type
class MeteringPointMutation:
    @strawberry.mutation(
        description="Create a metering point (a consumer's own; staff's: their organisation's).",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def metering_point_create(self, info: Info, input: MeteringPointCreateInput) -> MeteringPointPayload:
        return await mutate(
            info.context,
            MeteringPointPayload,
            lambda s: create_point(
                s,
                info.context,
                resource=mt.Resource(input.resource),
                room_name=input.room_name,
                time_zone=input.time_zone,
                address_handle=input.address_handle,
                account_number=input.account_number,
            ),
            point_payload,
        )

    @strawberry.mutation(
        description="Change a metering point's resource, room name, time zone, address or account number.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def metering_point_update(self, info: Info, input: MeteringPointUpdateInput) -> MeteringPointPayload:
        resource: Any = unset_if_null(input.resource)
        return await mutate(
            info.context,
            MeteringPointPayload,
            lambda s: update_point(
                s,
                info.context,
                input.id,
                resource=resource if resource is UNSET else mt.Resource(resource),
                room_name=unset_if_null(input.room_name),
                time_zone=unset_if_null(input.time_zone),
                address_handle=UNSET if input.address_handle is strawberry.UNSET else input.address_handle,
                account_number=UNSET if input.account_number is strawberry.UNSET else input.account_number,
            ),
            point_payload,
        )

    @strawberry.mutation(
        description="Delete a metering point; its meter may be bound elsewhere afterwards.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def metering_point_delete(self, info: Info, input: MeteringPointDeleteInput) -> MeteringPointDeletePayload:
        return await mutate(
            info.context,
            MeteringPointDeletePayload,
            lambda s: delete_point(s, info.context, input.id),
            lambda _: MeteringPointDeletePayload(deleted_id=input.id, errors=[]),
        )

    @strawberry.mutation(
        description="Bind a meter to a metering point by the serial number and PIN of its passport or its QR "
        "payload. Unknown serial numbers and wrong PINs get the same answer; wrong PINs are rate-limited.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def meter_bind(self, info: Info, input: MeterBindInput) -> MeteringPointPayload:
        context = info.context
        try:
            given = credentials(input.serial_number, input.pin, input.qr)
        except DomainError as error:
            return refused(MeteringPointPayload, error)
        # another tenant's point is refused before the attempt is counted: it reads like an unknown one
        pk = decode_id(input.metering_point_id, "MeteringPoint")
        if pk is None or await context.loaders(visible_points).load(pk) is None:
            return refused(
                MeteringPointPayload, DomainError(Code.NOT_FOUND, "No such metering point.", "meteringPointId")
            )

        async def bind(session: AsyncSession) -> Any:  # a point, or a refusal to commit with its count
            return await bind_meter(session, context, input.metering_point_id, given)

        return await mutate(context, MeteringPointPayload, bind, point_payload)

    @strawberry.mutation(
        description="Take the meter off a metering point (it may then be bound again).",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def meter_unbind(self, info: Info, input: MeterUnbindInput) -> MeteringPointPayload:
        return await mutate(
            info.context,
            MeteringPointPayload,
            lambda s: unbind_meter(s, info.context, input.metering_point_id),
            point_payload,
        )


NODE_RESOLVERS = {
    "MeteringPoint": (Permission.METERING_READ, node_loader(visible_points, MeteringPoint.from_model)),
}
