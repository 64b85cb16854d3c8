"""Connections through a location's router: routerConnect / routerDisconnect with the manual's results,
the licence limit of active connections per organisation, connection status, the last refusal, the
active connections of a manager's subtree and the watchdog's ending of connections of offline routers.

Results (CONNECTED, NOT_ALLOWED, ...) are answers, not input errors: a refusal is recorded as the
user's ConnectionFailure (lastErrorDetails) and committed. Input errors (an unknown or another tenant's
router, location, device or connection: NOT_FOUND) are typed payload errors and change nothing.

The licence check cannot be outrun by concurrent connects: the new connection is inserted first and
the organisation's active connections counted after it, inside the same transaction; over the limit
the insert is rolled back to its savepoint. On SQLite the insert takes the database's single write
lock, so a second connect's count waits for the first to commit; on PostgreSQL the licence row is
locked FOR UPDATE before the insert, which serialises the connects of one organisation.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal, publish_after_commit
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.tenancy import visible_organisation, visible_organisation_ids
from models import remote as r
from models.base import utcnow
from models.identity import Organisation
from resolvers.audit.rules import record
from resolvers.remote.connections.loaders import connection_visible
from resolvers.remote.connections.types import ConnectionLicence
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.router_events import router_event
from resolvers.remote.scope import clean_common_name, location_visible, organisation_path, router_visible
from subscriptions import channels

#: A licence above this is a typing error, not a contract.
MAX_LICENCE = 100_000


class ConnectResult(enum.StrEnum):
    CONNECTED = "CONNECTED"
    ALREADY_CONNECTED = "ALREADY_CONNECTED"
    CONNECTED_ELSEWHERE = "CONNECTED_ELSEWHERE"
    NOT_ALLOWED = "NOT_ALLOWED"
    ROUTER_OFFLINE = "ROUTER_OFFLINE"
    NO_ROUTER = "NO_ROUTER"
    LICENCE_LIMIT_REACHED = "LICENCE_LIMIT_REACHED"


class DisconnectResult(enum.StrEnum):
    DISCONNECTED = "DISCONNECTED"
    NOT_CONNECTED = "NOT_CONNECTED"


async def _record_failure(
    session: AsyncSession, user_id: int, result: str, message: str, common_name: str = ""
) -> None:
    """Keep only the user's last refusal (one row per user; an upsert, as two refusals may race)."""
    values = {
        "user_id": user_id,
        "result": result,
        "message": message,
        "router_common_name": common_name,
        "at": utcnow(),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(r.ConnectionFailure).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[r.ConnectionFailure.user_id], set_={k: v for k, v in values.items() if k != "user_id"}
        )
    )


async def active_connection_of(session: AsyncSession, user_id: int) -> r.RouterConnection | None:
    return await session.scalar(
        select(r.RouterConnection).where(r.RouterConnection.user_id == user_id, r.RouterConnection.ended_at.is_(None))
    )


async def _target(
    session: AsyncSession, context: Context, common_name: str | None, location_id: str | None
) -> tuple[r.Location | None, r.Router | None, str]:
    """The location and router asked for. NOT_FOUND when neither the caller's subtree nor their grants
    hold it; the third value is the common name to report."""
    principal: Principal = require_principal(context)

    def own_subtree(column):
        return column.in_(visible_organisation_ids(principal))

    if (common_name is None) == (location_id is None):
        if common_name is None:
            raise DomainError(Code.REQUIRED, "Give a router's common name or a location.", "commonName")
        raise DomainError(Code.INVALID, "Give a router's common name or a location, not both.", "locationId")
    if common_name is not None:
        name = clean_common_name(common_name)
        router = await session.scalar(
            select(r.Router).where(
                r.Router.common_name == name, router_visible(principal) | own_subtree(r.Router.organisation_id)
            )
        )
        if router is None:
            raise DomainError(Code.NOT_FOUND, "No such router.", "commonName")
        location = await session.scalar(select(r.Location).where(r.Location.router_id == router.id))
        return location, router, router.common_name
    assert location_id is not None  # exactly one of the two is given (checked above): not the common name
    pk = decode_id(location_id, "Location")
    location = None
    if pk is not None:
        location = await session.scalar(
            select(r.Location).where(
                r.Location.id == pk, location_visible(principal) | own_subtree(r.Location.organisation_id)
            )
        )
    if location is None:
        raise DomainError(Code.NOT_FOUND, "No such location.", "locationId")
    router = await session.get(r.Router, location.router_id) if location.router_id is not None else None
    return location, router, router.common_name if router else ""


async def _device(session: AsyncSession, location: r.Location | None, device_id: str | None) -> r.LocationDevice | None:
    if device_id is None:
        return None
    pk = decode_id(device_id, "LocationDevice")
    device = None
    if pk is not None and location is not None:
        device = await session.scalar(
            select(r.LocationDevice).where(r.LocationDevice.id == pk, r.LocationDevice.location_id == location.id)
        )
    if device is None:
        raise DomainError(Code.NOT_FOUND, "No such device at this location.", "deviceId")
    return device


async def _reachable(session: AsyncSession, context: Context, location: r.Location) -> bool:
    return bool(
        await session.scalar(
            select(func.count())
            .select_from(r.Location)
            .where(r.Location.id == location.id, location_visible(require_principal(context)))
        )
    )


async def _licence_limit(session: AsyncSession, organisation_id: int) -> int | None:
    """The organisation's limit (None: no licence row, unlimited); the row stays locked on PostgreSQL."""
    statement = select(r.ConnectionLicence.max_active_connections).where(
        r.ConnectionLicence.organisation_id == organisation_id
    )
    return await session.scalar(statement.with_for_update())


async def active_count(session: AsyncSession, organisation_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(r.RouterConnection)
        .where(r.RouterConnection.organisation_id == organisation_id, r.RouterConnection.ended_at.is_(None))
    )
    return count or 0  # a count has a row always: `or 0` only tells the type checker


def _new_connection(
    location: r.Location, router: r.Router, user_id: int, device: r.LocationDevice | None, now: datetime
) -> r.RouterConnection:
    return r.RouterConnection(
        organisation_id=location.organisation_id,
        location_id=location.id,
        router_id=router.id,
        router_common_name=router.common_name,
        user_id=user_id,
        device_id=device.id if device else None,
        device_name=device.name if device else "",
        started_at=now,
    )


async def _tell_connected(
    session: AsyncSession, context: Context, connection: r.RouterConnection, now: datetime
) -> None:
    """The audit record, and the CONNECTED router event after the commit."""
    await record(
        session,
        context,
        "router.connected",
        organisation_id=connection.organisation_id,
        target_type="RemoteConnection",
        target_id=connection.id,
        details={
            "locationId": connection.location_id,
            "router": connection.router_common_name,
            "device": connection.device_name,
        },
    )
    path = await organisation_path(session, connection.organisation_id)
    assert connection.router_id is not None  # just made to a router (nulled only when one is deleted)
    publish_after_commit(
        session,
        channels.ROUTER_STATE,
        router_event(
            "CONNECTED",
            connection.router_id,
            now,
            path,
            location_id=connection.location_id,
            connection_id=connection.id,
        ),
    )


async def connect(
    session: AsyncSession, context: Context, *, common_name: str | None, location_id: str | None, device_id: str | None
) -> tuple[ConnectResult, r.RouterConnection | None]:
    user_id = require_principal(context).user_id
    location, router, name = await _target(session, context, common_name, location_id)
    device = await _device(session, location, device_id)

    async def refuse(result: ConnectResult, message: str):
        await _record_failure(session, user_id, result.value, message, name)
        return result, None

    if location is None:  # a router of the subtree that is at no location
        return await refuse(ConnectResult.NOT_ALLOWED, "The router is at no location.")
    if not await _reachable(session, context, location):
        return await refuse(ConnectResult.NOT_ALLOWED, "You have no access to this location.")
    if router is None:
        return await refuse(ConnectResult.NO_ROUTER, "The location has no router.")

    async def already():
        existing = await active_connection_of(session, user_id)
        if existing is None:
            return None
        if existing.location_id == location.id:
            return ConnectResult.ALREADY_CONNECTED, existing
        return await refuse(
            ConnectResult.CONNECTED_ELSEWHERE, f"You are connected to {existing.router_common_name}: disconnect first."
        )

    if (found := await already()) is not None:
        return found
    if not router.online:
        return await refuse(ConnectResult.ROUTER_OFFLINE, "The router is offline.")

    limit = await _licence_limit(session, location.organisation_id)
    now = utcnow()
    connection = _new_connection(location, router, user_id, device, now)
    savepoint = await session.begin_nested()
    session.add(connection)
    try:
        await session.flush()
    except IntegrityError:  # the same user connected at the same moment (uq_router_connection_active_user)
        await savepoint.rollback()
        found = await already()
        if found is None:
            raise
        return found
    if limit is not None and await active_count(session, location.organisation_id) > limit:
        await savepoint.rollback()
        return await refuse(
            ConnectResult.LICENCE_LIMIT_REACHED, f"All {limit} connection licences of the organisation are in use."
        )
    await savepoint.commit()
    await _tell_connected(session, context, connection, now)
    return ConnectResult.CONNECTED, connection


async def disconnect(
    session: AsyncSession, context: Context, connection_id: str | None
) -> tuple[DisconnectResult, r.RouterConnection | None]:
    """End the caller's active connection, or (with connection_id) one the caller may see: their own, or
    for managers one at a location of their subtree (to free a licence)."""
    principal: Principal = require_principal(context)
    user_id = principal.user_id
    if connection_id is not None:
        pk = decode_id(connection_id, "RemoteConnection")
        connection = None
        if pk is not None:
            connection = await session.scalar(
                select(r.RouterConnection).where(r.RouterConnection.id == pk, connection_visible(principal))
            )
        if connection is None:
            raise DomainError(Code.NOT_FOUND, "No such connection.", "connectionId")
    else:
        connection = await active_connection_of(session, user_id)
    now = utcnow()
    rows = (
        await end_connections(session, [connection.id], now, r.ConnectionEnd.DISCONNECTED)
        if connection is not None
        else []
    )
    if not rows:
        await _record_failure(
            session,
            user_id,
            DisconnectResult.NOT_CONNECTED.value,
            "There is no active connection to end.",
            connection.router_common_name if connection else "",
        )
        return DisconnectResult.NOT_CONNECTED, connection
    assert connection is not None  # rows came from ending it
    await session.refresh(connection)
    await record(
        session,
        context,
        "router.disconnected",
        organisation_id=connection.organisation_id,
        target_type="RemoteConnection",
        target_id=connection.id,
        details={
            "locationId": connection.location_id,
            "router": connection.router_common_name,
            "userId": connection.user_id,
        },
    )
    for event in await disconnected_events(session, rows, now):
        publish_after_commit(session, channels.ROUTER_STATE, event)
    return DisconnectResult.DISCONNECTED, connection


async def set_licence(
    session: AsyncSession, context: Context, organisation_id: str, max_active: int | None
) -> ConnectionLicence:
    organisation = await visible_organisation(session, require_principal(context), organisation_id, "organisationId")
    if max_active is not None and not 0 <= max_active <= MAX_LICENCE:
        raise DomainError(Code.INVALID, f"Between 0 and {MAX_LICENCE} (null: no limit).", "maxActiveConnections")
    row = await session.get(r.ConnectionLicence, organisation.id, with_for_update=True)
    if max_active is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(r.ConnectionLicence(organisation_id=organisation.id, max_active_connections=max_active))
    else:
        row.max_active_connections = max_active
    await session.flush()
    await record(
        session,
        context,
        "connection_licence.set",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"maxActiveConnections": max_active},
    )
    return ConnectionLicence(
        max_active=max_active, active=await active_count(session, organisation.id), organisation_pk=organisation.id
    )


async def end_connections(session: AsyncSession, connection_ids, now, reason: r.ConnectionEnd) -> Sequence[Row]:
    """End the given connections that are still active. The guard on ended_at settles a race between a
    disconnect, the watchdog and a withdrawn grant (or two of one): only one of them ends it and tells of it."""
    return (
        await session.execute(
            update(r.RouterConnection)
            .where(r.RouterConnection.id.in_(connection_ids), r.RouterConnection.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
            .returning(
                r.RouterConnection.id,
                r.RouterConnection.router_id,
                r.RouterConnection.location_id,
                r.RouterConnection.organisation_id,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()


async def disconnected_events(session: AsyncSession, ended_rows, now) -> list[dict]:
    """DISCONNECTED router events for rows of end_connections (none for a deleted router: no stream to tell)."""
    org_ids = {row.organisation_id for row in ended_rows}
    paths = (
        dict(
            (
                await session.execute(select(Organisation.id, Organisation.path).where(Organisation.id.in_(org_ids)))
            ).all()
        )
        if org_ids
        else {}
    )
    return [
        router_event(
            "DISCONNECTED",
            row.router_id,
            now,
            paths.get(row.organisation_id, ""),
            location_id=row.location_id,
            connection_id=row.id,
        )
        for row in ended_rows
        if row.router_id is not None
    ]
