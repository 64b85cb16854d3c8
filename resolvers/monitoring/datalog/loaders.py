"""Who sees which monitored locations and datalog devices, the batch functions, and the status of monitored
locations (one statement for a page)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import by_key, group_by
from graph.tenancy import visible_organisation_ids
from models import datalog as dl
from models import remote as r
from models import telemetry as tel
from models.identity import Permission
from resolvers.remote.scope import location_visible

ML = dl.MonitoredLocation


def monitored_visible(principal) -> ColumnElement[bool]:
    """Monitored locations at locations the caller sees (resolvers.remote.scope)."""
    return ML.location_id.in_(select(r.Location.id).where(location_visible(principal)))


def datalog_device_visible(principal) -> ColumnElement[bool]:
    """A datalog device of a location device at a location the caller sees, or of a template of the caller's
    subtree (managers only, as templates themselves)."""
    at_visible = dl.DatalogDevice.location_device_id.in_(
        select(r.LocationDevice.id)
        .join(r.Location, r.Location.id == r.LocationDevice.location_id)
        .where(location_visible(principal))
    )
    if principal.is_platform_admin:
        return true()
    if Permission.LOCATIONS_MANAGE not in principal.permissions:
        return at_visible
    of_template = dl.DatalogDevice.template_id.is_not(None) & dl.DatalogDevice.organisation_id.in_(
        visible_organisation_ids(principal)
    )
    return or_(at_visible, of_template)


async def visible_monitored(context, ids: Sequence[int]) -> list[dl.MonitoredLocation | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(select(ML).where(ML.location_id.in_(ids), monitored_visible(context.principal)))
        ).all()
    return by_key(rows, ids, lambda row: row.location_id)


async def visible_datalog_devices(context, ids: Sequence[int]) -> list[dl.DatalogDevice | None]:
    async with context.session() as session:
        statement = select(dl.DatalogDevice).where(
            dl.DatalogDevice.id.in_(ids), datalog_device_visible(context.principal)
        )
        rows = (await session.scalars(statement)).all()
    return by_key(rows, ids, lambda row: row.id)


def applying_to_location(location_id: Any) -> Any:
    """The datalog devices that apply at a location: its devices' own and those of their templates."""
    return (
        select(r.LocationDevice.location_id, dl.DatalogDevice)
        .join(
            dl.DatalogDevice,
            or_(
                dl.DatalogDevice.location_device_id == r.LocationDevice.id,
                dl.DatalogDevice.template_id == r.LocationDevice.template_id,
            ),
        )
        .where(location_id)
    )


async def datalog_devices_by_location(context, location_ids: Sequence[int]) -> list[list[tuple[Any, Any]]]:
    """(location device id, datalog device) pairs per location, by device name then datalog device name."""
    statement = (
        select(r.LocationDevice.location_id, r.LocationDevice.id, dl.DatalogDevice)
        .join(
            dl.DatalogDevice,
            or_(
                dl.DatalogDevice.location_device_id == r.LocationDevice.id,
                dl.DatalogDevice.template_id == r.LocationDevice.template_id,
            ),
        )
        .where(r.LocationDevice.location_id.in_(location_ids))
        .order_by(r.LocationDevice.name, r.LocationDevice.id, dl.DatalogDevice.name, dl.DatalogDevice.id)
    )
    async with context.session() as session:
        rows = (await session.execute(statement)).all()
    return group_by([(row[0], (row[1], row[2])) for row in rows], location_ids)


# --- status (manual §21.7) ------------------------------------------------------------------------------------


class StatusCode(enum.Enum):
    ACTIVE = "ACTIVE"
    ACTIVE_NO_NEW_TELEMETRY = "ACTIVE_NO_NEW_TELEMETRY"
    NO_CONFIGURATION = "NO_CONFIGURATION"
    OTHER_CLOUD_HOST = "OTHER_CLOUD_HOST"
    NO_MQTT_CONNECTION = "NO_MQTT_CONNECTION"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Status:
    code: StatusCode
    reason: str
    last_telemetry_at: datetime | None


@dataclass(frozen=True)
class StatusFacts:
    """What a status is derived from, read in one statement for a page of monitored locations."""

    cloud_host: dl.CloudHost
    silence_seconds: int
    config_state: dl.ConfigState | None
    config_applied_at: datetime | None
    config_reason: str
    has_router: bool
    router_online: bool
    has_datalog_devices: bool
    newest_point_at: datetime | None


def derive_status(facts: StatusFacts, own_host: str, now: datetime) -> Status:
    """The status and its reason, the first that holds in this order (a cause before its symptoms)."""
    newest = facts.newest_point_at

    def status(code: StatusCode, reason: str) -> Status:
        return Status(code, reason, newest)

    if not facts.has_datalog_devices:
        return status(StatusCode.NO_CONFIGURATION, "No datalog device applies to the location's devices.")
    if facts.config_applied_at is None:
        return status(StatusCode.NO_CONFIGURATION, "No configuration was ever applied by the router.")
    if facts.config_state in (dl.ConfigState.FAILED, dl.ConfigState.TIMED_OUT):
        # the router kept an older configuration, or maybe took the new one: which one runs is not known
        detail = f": {facts.config_reason}" if facts.config_reason else ""
        return status(StatusCode.UNKNOWN, f"The last upload {facts.config_state.value.lower()}{detail}.")
    if facts.cloud_host.value != own_host:
        return status(
            StatusCode.OTHER_CLOUD_HOST,
            f"The location sends to {facts.cloud_host.value}, not to {own_host}: whether data arrives is not known.",
        )
    if not facts.has_router:
        return status(StatusCode.NO_MQTT_CONNECTION, "The location has no router.")
    if not facts.router_online:
        return status(StatusCode.NO_MQTT_CONNECTION, "The location's router is offline.")
    if newest is None or newest < now - timedelta(seconds=facts.silence_seconds):
        return status(
            StatusCode.ACTIVE_NO_NEW_TELEMETRY, f"No new telemetry for more than {facts.silence_seconds} seconds."
        )
    return status(StatusCode.ACTIVE, "Configuration applied, router online, telemetry arriving.")


async def statuses(context, location_ids: Sequence[int]) -> list[Status | None]:
    """The status of each monitored location: one statement for any number."""
    newest = (
        select(func.max(tel.TelemetrySeries.last_at))
        .where(tel.TelemetrySeries.location_id == ML.location_id)
        .scalar_subquery()
    )
    with_devices = exists(
        applying_to_location(r.LocationDevice.location_id == ML.location_id).with_only_columns(r.LocationDevice.id)
    )
    statement = (
        select(ML, r.Router.id, r.Router.online, with_devices, newest)
        .join(r.Location, r.Location.id == ML.location_id)
        .outerjoin(r.Router, r.Router.id == r.Location.router_id)
        .where(ML.location_id.in_(location_ids))
    )
    async with context.session() as session:
        rows = (await session.execute(statement)).all()
    own_host, now = context.runtime.settings.datalog_cloud_host, datetime.now(UTC)
    found = {}
    for row, router_id, online, devices, newest_at in rows:
        facts = StatusFacts(
            cloud_host=row.cloud_host,
            silence_seconds=row.silence_seconds,
            config_state=row.config_state,
            config_applied_at=row.config_applied_at,
            config_reason=row.config_reason,
            has_router=router_id is not None,
            router_online=bool(online),
            has_datalog_devices=bool(devices),
            newest_point_at=newest_at,
        )
        found[row.location_id] = derive_status(facts, own_host, now)
    return [found.get(pk) for pk in location_ids]
