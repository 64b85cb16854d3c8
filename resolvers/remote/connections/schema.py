"""Connections: connect, disconnect, licences and the connection lists (live state: remote.live_state)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput, Forbidden
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
from graph.tenancy import organisation_visible
from models import remote as r
from models.identity import Organisation, Permission
from resolvers.remote.connections.loaders import connection_visible, visible_connections
from resolvers.remote.connections.rules import (
    ConnectResult,
    DisconnectResult,
    active_connection_of,
    active_count,
    connect,
    disconnect,
    set_licence,
)
from resolvers.remote.connections.types import (
    ConnectionFailure,
    ConnectionLicence,
    RemoteConnection,
)
from resolvers.remote.errors import RemoteError

RouterConnectResult = strawberry.enum(
    ConnectResult,
    name="RouterConnectResult",
    description=(
        "The answer to a connect (the manual's ConnectResult). Everything but CONNECTED and ALREADY_CONNECTED is a "
        "refusal, kept for lastErrorDetails."
    ),
)


RouterDisconnectResult = strawberry.enum(
    DisconnectResult, name="RouterDisconnectResult", description="The answer to a disconnect."
)


@strawberry.input(description="Connect through a router: give its common name or its location (exactly one).")
class RouterConnectInput:
    common_name: str | None = strawberry.field(
        default=None, description="The router's common name, e.g. R_M26118014A81B88FB."
    )
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="The location whose router to connect through."
    )
    device_id: strawberry.ID | None = strawberry.field(
        default=None, description="A device of that location to reach (optional)."
    )


@strawberry.input(description="End a connection.")
class RouterDisconnectInput:
    connection_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The connection to end; default your active one. Managers may end one at a location of their subtree."
        ),
    )


@strawberry.input(description="Set an organisation's licence of active connections.")
class ConnectionLicenceSetInput:
    organisation_id: strawberry.ID = strawberry.field(description="The organisation.")
    max_active_connections: int | None = strawberry.field(
        description="At most this many at once (0-100000); null: no limit."
    )


@strawberry.type(description="The answer to a connect.")
class RouterConnectPayload:
    # mypy takes strawberry.enum(...) for a value, not a type (as with the other model enums)
    result: RouterConnectResult | None = strawberry.field(  # type: ignore[valid-type]
        description="The answer; null when the input was refused (see errors)."
    )
    connection: RemoteConnection | None = strawberry.field(description="The connection (CONNECTED, ALREADY_CONNECTED).")
    errors: list[RemoteError] = strawberry.field(description="Problems with the input (nothing changed).")


@strawberry.type(description="The answer to a disconnect.")
class RouterDisconnectPayload:
    # mypy takes strawberry.enum(...) for a value, not a type (as with the other model enums)
    result: RouterDisconnectResult | None = strawberry.field(  # type: ignore[valid-type]
        description="The answer; null when the input was refused."
    )
    connection: RemoteConnection | None = strawberry.field(description="The connection concerned, if any.")
    errors: list[RemoteError] = strawberry.field(description="Problems with the input (nothing changed).")


@strawberry.type(description="The licence, or why it was not set.")
class ConnectionLicencePayload:
    licence: ConnectionLicence | None = strawberry.field(description="The licence now; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def _connection(row) -> RemoteConnection | None:
    return RemoteConnection.from_model(row) if row is not None else None


@strawberry.type
class ConnectionMutation:
    @strawberry.mutation(
        description="Connect through a location's router.", permission_classes=[needs(Permission.ROUTERS_CONNECT)]
    )
    async def router_connect(self, info: Info, input: RouterConnectInput) -> RouterConnectPayload:
        return await mutate(
            info.context,
            RouterConnectPayload,
            lambda s: connect(
                s, info.context, common_name=input.common_name, location_id=input.location_id, device_id=input.device_id
            ),
            lambda result: RouterConnectPayload(result=result[0], connection=_connection(result[1]), errors=[]),
        )

    @strawberry.mutation(
        description="End your active connection (or, for managers, one of their subtree).",
        permission_classes=[needs(Permission.ROUTERS_CONNECT)],
    )
    async def router_disconnect(
        self, info: Info, input: RouterDisconnectInput | None = None
    ) -> RouterDisconnectPayload:
        connection_id = input.connection_id if input is not None else None
        return await mutate(
            info.context,
            RouterDisconnectPayload,
            lambda s: disconnect(s, info.context, connection_id),
            lambda result: RouterDisconnectPayload(result=result[0], connection=_connection(result[1]), errors=[]),
        )

    @strawberry.mutation(
        description="Set how many connections an organisation may hold at once (platform admins).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def connection_licence_set(self, info: Info, input: ConnectionLicenceSetInput) -> ConnectionLicencePayload:
        if not info.context.principal.is_platform_admin:
            raise Forbidden("Only platform admins set connection licences.")
        return await mutate(
            info.context,
            ConnectionLicencePayload,
            lambda s: set_licence(s, info.context, input.organisation_id, input.max_active_connections),
            lambda result: ConnectionLicencePayload(licence=result, errors=[]),
        )


@strawberry.type
class ConnectionQuery:
    @strawberry.field(
        description="Your active connection, or null (the manual's GetConnectionStatus).",
        permission_classes=[needs(Permission.ROUTERS_CONNECT)],
    )
    async def connection_status(self, info: Info) -> RemoteConnection | None:
        async with info.context.session() as session:
            return _connection(await active_connection_of(session, info.context.principal.user_id))

    @strawberry.field(
        description="Why your last connect or disconnect was refused, or null (GetLastErrorDetails).",
        permission_classes=[needs(Permission.ROUTERS_CONNECT)],
    )
    async def last_error_details(self, info: Info) -> ConnectionFailure | None:
        async with info.context.session() as session:
            row = await session.get(r.ConnectionFailure, info.context.principal.user_id)
        return ConnectionFailure.from_model(row) if row else None

    @strawberry.field(
        description="Active connections at the locations of your subtree, newest first.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def active_connections(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[RemoteConnection]:
        statement = select(r.RouterConnection).where(
            r.RouterConnection.ended_at.is_(None), connection_visible(info.context.principal)
        )
        keys = [SortKey(r.RouterConnection.started_at, True), SortKey(r.RouterConnection.id, True)]
        return await paginate(
            info.context,
            statement,
            keys,
            RemoteConnection.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, RemoteConnection),
        )

    @strawberry.field(
        description="An organisation's licence of active connections and how many are in use; default "
        "yours; null for an organisation you do not see.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def connection_licence(
        self,
        info: Info,
        organisation_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The organisation (default yours).")
        ] = None,
    ) -> ConnectionLicence | None:
        principal = info.context.principal
        pk = principal.organisation_id
        if organisation_id is not None:
            pk = decode_id(organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an Organisation ID.", argument="organisationId")
        async with info.context.session() as session:
            if (
                await session.scalar(
                    select(Organisation.id).where(Organisation.id == pk, organisation_visible(principal))
                )
                is None
            ):
                return None
            limit = await session.scalar(
                select(r.ConnectionLicence.max_active_connections).where(r.ConnectionLicence.organisation_id == pk)
            )
            return ConnectionLicence(max_active=limit, active=await active_count(session, pk), organisation_pk=pk)


NODE_RESOLVERS = {
    "RemoteConnection": (Permission.ROUTERS_CONNECT, node_loader(visible_connections, RemoteConnection.from_model)),
}
