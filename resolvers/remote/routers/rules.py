"""Registering and assigning routers, and their heartbeats.

Another tenant's router reads exactly like an unknown one (NOT_FOUND), and every refusal leaves the
database unchanged (the mutation's transaction is rolled back)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, publish_after_commit
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import clean_text, flush_unique
from graph.tenancy import visible_organisation
from models import remote as r
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.local_network.addresses import lan_network
from resolvers.remote.router_events import ROUTER_ONLINE_CHANGED, state_event
from resolvers.remote.scope import (
    MAX_TEXT,
    clean_common_name,
    clean_mac,
    clean_serial,
    organisation_path,
    router_in_subtree,
    visible_router,
)
from subscriptions import channels


@dataclass
class RouterFields:
    common_name: str
    mac_address: str
    serial_number: str
    model: str | None = None
    firmware: str | None = None
    organisation_id: str | None = None


async def _check_unique(session: AsyncSession, fields: RouterFields) -> None:
    for column, value, field in (
        (r.Router.common_name, fields.common_name, "commonName"),
        (r.Router.mac_address, fields.mac_address, "macAddress"),
        (r.Router.serial_number, fields.serial_number, "serialNumber"),
    ):
        if await session.scalar(select(exists().where(column == value))):
            raise DomainError(Code.DUPLICATE, "Another router already has this value.", field)


async def register(session: AsyncSession, context: Context, given: RouterFields) -> r.Router:
    fields = RouterFields(
        common_name=clean_common_name(given.common_name),
        mac_address=clean_mac(given.mac_address),
        serial_number=clean_serial(given.serial_number),
        model=clean_text(given.model, "model", max_length=MAX_TEXT, required=False),
        firmware=clean_text(given.firmware, "firmware", max_length=MAX_TEXT, required=False),
    )
    organisation = None
    if given.organisation_id is not None:
        organisation = await visible_organisation(
            session, require_principal(context), given.organisation_id, "organisationId"
        )
    await _check_unique(session, fields)
    router = r.Router(
        common_name=fields.common_name,
        mac_address=fields.mac_address,
        serial_number=fields.serial_number,
        model=fields.model,
        firmware=fields.firmware,
        organisation_id=organisation.id if organisation else None,
    )
    session.add(router)
    taken = "Another router already has this common name, MAC address or serial number."
    await flush_unique(session, DomainError(Code.DUPLICATE, taken))  # registered at the same moment by someone else
    await record(
        session,
        context,
        "router.registered",
        organisation_id=router.organisation_id,
        target_type="Router",
        target_id=router.id,
        details={"commonName": router.common_name, "serialNumber": router.serial_number},
    )
    return router


async def assign(session: AsyncSession, context: Context, router_id: str, organisation_id: str) -> r.Router:
    router = await visible_router(session, context, router_id, "routerId", lock=True)
    organisation = await visible_organisation(session, require_principal(context), organisation_id, "organisationId")
    if router.organisation_id == organisation.id:
        return router
    # a router at a location belongs to that location's organisation: free it there first
    if await session.scalar(select(exists().where(r.Location.router_id == router.id))):
        raise DomainError(
            Code.ROUTER_IN_USE, "The router is at a location: remove it from the location first.", "routerId"
        )
    previous = router.organisation_id
    router.organisation_id = organisation.id
    # a configuration group holds routers of its own organisation only
    router.configuration_group_id = None
    await session.flush()
    await record(
        session,
        context,
        "router.assigned",
        organisation_id=organisation.id,
        target_type="Router",
        target_id=router.id,
        details={"commonName": router.common_name, "previousOrganisationId": previous},
    )
    return router


MAX_MODEM_STATE = 40
MAX_FAULT_CODE = 40
MAX_FAULT_MESSAGE = 200


@dataclass
class Status:
    cpu_load: float | None = None
    memory_use: float | None = None
    modem_state: str | None = None
    signal_strength: float | None = None
    link_speed: float | None = None
    #: The LAN behind the router (issue 18), CIDR; checked and normalised by lan_network.
    lan_subnet: str | None = None
    #: A reported fault (issue 18): its code (empty or None: no fault) and message; standstill: the machine
    #: behind the router stands still (None: not reported).
    fault_code: str | None = None
    fault_message: str | None = None
    standstill: bool | None = None


def _check_fault(status: Status) -> None:
    code = clean_text(
        status.fault_code, ["status", "fault", "code"], max_length=MAX_FAULT_CODE, required=False, single_line=True
    )
    message = clean_text(
        status.fault_message,
        ["status", "fault", "message"],
        max_length=MAX_FAULT_MESSAGE,
        required=False,
        single_line=True,
    )
    if message and not code:
        raise DomainError(Code.REQUIRED, "A fault has a code.", ["status", "fault", "code"])
    status.fault_code, status.fault_message = code, message


def _check_status(status: Status) -> Status:
    for name, value, low, high in (
        ("cpuLoad", status.cpu_load, 0, 100),
        ("memoryUse", status.memory_use, 0, 100),
        ("signalStrength", status.signal_strength, -200, 0),
        ("linkSpeed", status.link_speed, 0, 1_000_000),
    ):
        if value is not None and (not math.isfinite(value) or not low <= value <= high):
            raise DomainError(Code.INVALID, f"Must be between {low} and {high}.", ["status", name])
    status.modem_state = clean_text(status.modem_state, "status.modemState", max_length=MAX_MODEM_STATE, required=False)
    if status.lan_subnet is not None:
        status.lan_subnet = lan_network(status.lan_subnet, ["status", "lanSubnet"])
    _check_fault(status)
    return status


async def heartbeat(
    session: AsyncSession, context: Context, common_name: str, status: Status
) -> tuple[r.Router, r.RouterStatusSample]:
    """The routerHeartbeat mutation: a router of the caller's subtree (router_in_subtree)."""
    name = clean_common_name(common_name)
    status = _check_status(status)
    router = await session.scalar(
        select(r.Router).where(r.Router.common_name == name, router_in_subtree(context.principal))
    )
    if router is None:
        raise DomainError(Code.NOT_FOUND, "No such router.", "commonName")
    return await record_heartbeat(session, router, status, utcnow())


async def trusted_heartbeat(
    session: AsyncSession, common_name: str, status: Status
) -> tuple[r.Router, r.RouterStatusSample]:
    """A heartbeat from a trusted channel (MQTT: the broker authenticated the router and its topic ACL
    allows it only its own common name), so there is no tenant context to check."""
    name = clean_common_name(common_name)
    status = _check_status(status)
    router = await session.scalar(select(r.Router).where(r.Router.common_name == name))
    if router is None:
        raise DomainError(Code.NOT_FOUND, "No such router.", "commonName")
    return await record_heartbeat(session, router, status, utcnow())


async def record_heartbeat(
    session: AsyncSession, router: r.Router, status: Status, now
) -> tuple[r.Router, r.RouterStatusSample]:
    """Record the (checked) status and mark the router online; the state changes (and an ONLINE event goes
    out after the commit) only when it was offline. The guarded UPDATE settles a race with the watchdog or
    another heartbeat."""
    sample = r.RouterStatusSample(
        router_id=router.id,
        taken_at=now,
        cpu_load=status.cpu_load,
        memory_use=status.memory_use,
        modem_state=status.modem_state,
        signal_strength=status.signal_strength,
        link_speed=status.link_speed,
        lan_subnet=status.lan_subnet,
        fault_code=status.fault_code or "",
        fault_message=status.fault_message or "",
        standstill=status.standstill,
    )
    session.add(sample)
    came_online = (
        await session.execute(
            update(r.Router)
            .where(r.Router.id == router.id, r.Router.online.is_(False))
            .values(online=True, state_changed_at=now, last_heartbeat_at=now)
            .returning(r.Router.id)
            .execution_options(synchronize_session=False)
        )
    ).first() is not None
    if not came_online:
        await session.execute(
            update(r.Router)
            .where(r.Router.id == router.id)
            .values(last_heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    await session.refresh(router)
    if came_online:
        path = await organisation_path(session, router.organisation_id)
        publish_after_commit(session, channels.ROUTER_STATE, state_event(router.id, True, now, path))
        await ROUTER_ONLINE_CHANGED(session, [router.id], True, now)
    return router, sample


async def rename(session: AsyncSession, context: Context, router_id: str, common_name: str) -> r.Router:
    """A router's common name is its certificate's: a factory reset gives it a new one (the manual, §5).

    Platform admins rename any router, an organisation's LOCATIONS_MANAGE holders the routers assigned within
    their subtree (a router they only reach through a granted location reads like an unknown one)."""
    name = clean_common_name(common_name)
    pk = decode_id(router_id, "Router")
    router = None
    if pk is not None:
        router = await session.scalar(
            select(r.Router).where(r.Router.id == pk, router_in_subtree(context.principal)).with_for_update()
        )
    if router is None:
        raise DomainError(Code.NOT_FOUND, "No such router.", "routerId")
    if name == router.common_name:
        return router
    taken = DomainError(Code.DUPLICATE, "Another router already has this common name.", "commonName")
    if await session.scalar(select(exists().where(r.Router.common_name == name))):
        raise taken
    old, router.common_name = router.common_name, name
    await flush_unique(session, taken)  # the same name taken at the same moment by someone else
    await record(
        session,
        context,
        "router.renamed",
        organisation_id=router.organisation_id,
        target_type="Router",
        target_id=router.id,
        details={"oldCommonName": old, "commonName": name},
    )
    return router
