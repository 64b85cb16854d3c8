"""Activating data monitoring at a location and its datalog devices (save). Every action is an audit event with
the location (the event history is filtered by location, §21.13); uploads are in upload.py."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from graph.rules import clean_text
from models import datalog as dl
from models import remote as r
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.monitoring.datalog import protocols as p
from resolvers.monitoring.datalog.loaders import datalog_device_visible
from resolvers.monitoring.datalog.series_types import apply_to_series, locations_of
from resolvers.monitoring.errors import MonitoringErrorCode as Code
from resolvers.remote.devices.rules import managed_device
from resolvers.remote.scope import location_managed, visible_location
from resolvers.remote.templates.rules import visible_template

MAX_FREQUENCY = 86_400
MAX_SILENCE = 30 * 86_400


def secrets_binding(device_id: int) -> str:
    """Associated data of a datalog device's secrets: copied to another device, they do not open."""
    return f"datalog_device:{device_id}:secrets"


def _seconds(value: int, low: int, high: int, field: str) -> int:
    if not low <= value <= high:
        raise DomainError(Code.INVALID, f"Must be {low}-{high} seconds.", field)
    return value


async def monitored(session: AsyncSession, context: Context, location_id: str, *, managed: bool = True) -> Any:
    """(location, its monitoring row) of a monitored location the caller manages; NOT_FOUND otherwise."""
    location = await visible_location(session, context, location_id, "locationId", managed=managed)
    row = await session.get(dl.MonitoredLocation, location.id, with_for_update=True)
    if row is None:
        raise DomainError(Code.NOT_FOUND, "Data monitoring is not active at this location.", "locationId")
    return location, row


async def activate(
    session: AsyncSession, context: Context, location_id: str, frequency: int, cloud_host: dl.CloudHost, silence: int
) -> dl.MonitoredLocation:
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    if await session.get(dl.MonitoredLocation, location.id) is not None:
        raise DomainError(Code.DUPLICATE, "Data monitoring is already active at this location.", "locationId")
    row = dl.MonitoredLocation(
        location_id=location.id,
        send_frequency_seconds=_seconds(frequency, 1, MAX_FREQUENCY, "sendFrequencySeconds"),
        cloud_host=cloud_host,
        silence_seconds=_seconds(silence, 1, MAX_SILENCE, "silenceSeconds"),
        config_reason="",
    )
    session.add(row)
    await session.flush()
    await record_at_location(session, context, "datalog.activated", location, {"cloudHost": cloud_host.value})
    return row


async def update_settings(
    session: AsyncSession, context: Context, location_id: str, frequency: Any, cloud_host: Any, silence: Any
) -> dl.MonitoredLocation:
    """Fields left out (UNSET) stay; a change takes effect at the router with the next upload."""
    location, row = await monitored(session, context, location_id)
    if frequency is not strawberry.UNSET and frequency is not None:
        row.send_frequency_seconds = _seconds(frequency, 1, MAX_FREQUENCY, "sendFrequencySeconds")
    if cloud_host is not strawberry.UNSET and cloud_host is not None:
        row.cloud_host = cloud_host
    if silence is not strawberry.UNSET and silence is not None:
        row.silence_seconds = _seconds(silence, 1, MAX_SILENCE, "silenceSeconds")
    await record_at_location(
        session, context, "datalog.settings_changed", location, {"cloudHost": row.cloud_host.value}
    )
    return row


async def deactivate(session: AsyncSession, context: Context, location_id: str) -> int:
    """Ends monitoring: the row goes; the datalog devices and graphics stay for a later activation."""
    location, row = await monitored(session, context, location_id)
    await session.delete(row)
    await record_at_location(session, context, "datalog.deactivated", location, {})
    return location.id


async def record_at_location(
    session, context, action: str, location: r.Location, details: dict, target: Any = None
) -> None:
    await record(
        session,
        context,
        action,
        organisation_id=location.organisation_id,
        target_type="DatalogDevice" if target is not None else "Location",
        target_id=target if target is not None else location.id,
        details={"location": location.name, **details},
        location_id=location.id,
    )


# --- datalog devices ---------------------------------------------------------------------------------------------


async def _owner(session, context, location_device_id: Any, template_id: Any) -> tuple[Any, Any]:
    """(location device with its location, or None; template or None): exactly one given."""
    if (location_device_id is None) == (template_id is None):
        raise DomainError(
            Code.INVALID, "Give exactly one of locationDeviceId and deviceTemplateId.", "locationDeviceId"
        )
    if location_device_id is not None:
        return await managed_device(session, context, location_device_id, "locationDeviceId"), None
    return None, await visible_template(session, context, template_id, "deviceTemplateId")


def _seal(context: Context, protocol: dl.Protocol, device: dl.DatalogDevice, secrets: dict) -> None:
    """Seal the secrets; the settings keep which ones are set (names only), for the API to say so."""
    if protocol is dl.Protocol.SNMP:
        names: dict[str, Any] = {name: sorted(values) for name, values in secrets.get("devices", {}).items()}
    else:
        names = {key: True for key in secrets}
    device.settings = {**{k: v for k, v in device.settings.items() if k != "secretsSet"}, "secretsSet": names}
    sealer = context.runtime.sealer
    plain = json.dumps(secrets).encode() if secrets else None
    device.secrets_sealed = sealer.seal(plain, secrets_binding(device.id)) if plain else None
    del plain


def open_secrets(sealer: Any, device: dl.DatalogDevice) -> dict:
    if device.secrets_sealed is None:
        return {}
    return json.loads(sealer.open(device.secrets_sealed, secrets_binding(device.id)))


async def create_device(session: AsyncSession, context: Context, given: Any) -> tuple[dl.DatalogDevice, Any]:
    """Returns the device and its location (None for a template's)."""
    found, template = await _owner(session, context, given.location_device_id, given.device_template_id)
    name = _name(given.name)
    protocol, settings, secrets = p.clean_settings(given.settings, ["settings"])
    variables = p.clean_variables(protocol, settings, given.variables, "variables")
    owner_org = found[1].organisation_id if found else template.organisation_id
    device = dl.DatalogDevice(
        organisation_id=owner_org,
        location_device_id=found[0].id if found else None,
        template_id=template.id if template else None,
        name=name,
        protocol=protocol,
        settings=settings,
        variables=variables,
        updated_at=utcnow(),
    )
    session.add(device)
    await session.flush()
    _seal(context, protocol, device, p.merge_secrets(protocol, {}, secrets))
    location = found[1] if found else None
    await apply_to_series(session, locations_of(location.id if location else None, device.template_id))
    await _device_record(session, context, "datalog.device_created", device, location, template)
    return device, location


def _name(value: str) -> str:
    return clean_text(value, "name", max_length=200, single_line=True)


async def managed_datalog_device(
    session: AsyncSession, context: Context, global_id: str, field: str = "id"
) -> tuple[Any, Any, Any]:
    """(datalog device, its location or None, its template or None) the caller may change; NOT_FOUND at `field`."""
    pk = decode_id(global_id, "DatalogDevice")
    device = None
    if pk is not None:
        statement = select(dl.DatalogDevice).where(dl.DatalogDevice.id == pk, datalog_device_visible(context.principal))
        device = await session.scalar(statement.with_for_update())
    location = template = None
    if device is not None and device.location_device_id is not None:
        location = await session.scalar(
            select(r.Location)
            .join(r.LocationDevice, r.LocationDevice.location_id == r.Location.id)
            .where(r.LocationDevice.id == device.location_device_id, location_managed(context.principal))
        )
        device = device if location is not None else None
    elif device is not None:
        template = await session.get(r.DeviceTemplate, device.template_id)
    if device is None:
        raise DomainError(Code.NOT_FOUND, "No such datalog device.", field)
    return device, location, template


async def update_device(session: AsyncSession, context: Context, given: Any) -> tuple[dl.DatalogDevice, Any]:
    device, location, template = await managed_datalog_device(session, context, given.id)
    if given.name is not strawberry.UNSET and given.name is not None:
        device.name = _name(given.name)
    protocol, settings = device.protocol, {k: v for k, v in device.settings.items() if k != "secretsSet"}
    if given.settings is not strawberry.UNSET and given.settings is not None:
        new_protocol, settings, secrets = p.clean_settings(given.settings, ["settings"])
        stored = open_secrets(context.runtime.sealer, device) if new_protocol is protocol else {}
        merged = p.merge_secrets(new_protocol, stored, secrets)
        protocol = new_protocol
    else:
        merged = open_secrets(context.runtime.sealer, device)
    if given.variables is not strawberry.UNSET and given.variables is not None:
        device.variables = p.clean_variables(protocol, settings, given.variables, "variables")
    elif protocol is not device.protocol:
        raise DomainError(Code.REQUIRED, "A new protocol needs its variables.", "variables")
    elif protocol is dl.Protocol.SNMP:
        # the kept variables must still name SNMP devices of the new settings
        names = {d["name"] for d in settings["devices"]}
        if any(v["address"]["device"] not in names for v in device.variables):
            raise DomainError(Code.INVALID, "Variables name an SNMP device the settings no longer have.", "variables")
    device.protocol, device.settings, device.updated_at = protocol, settings, utcnow()
    _seal(context, protocol, device, merged)
    del merged
    await session.flush()  # the new variables, read back by apply_to_series
    await apply_to_series(session, locations_of(location.id if location else None, device.template_id))
    await _device_record(session, context, "datalog.device_updated", device, location, template)
    return device, location


async def delete_device(session: AsyncSession, context: Context, global_id: str) -> Any:
    device, location, template = await managed_datalog_device(session, context, global_id)
    await _device_record(session, context, "datalog.device_deleted", device, location, template)
    await session.execute(delete(dl.DatalogDevice).where(dl.DatalogDevice.id == device.id))
    return location


async def _device_record(session, context, action: str, device: dl.DatalogDevice, location: Any, template: Any) -> None:
    details = {"name": device.name, "protocol": device.protocol.value}
    if location is not None:
        await record_at_location(session, context, action, location, details, target=device.id)
        return
    await record(
        session,
        context,
        action,
        organisation_id=template.organisation_id,
        target_type="DatalogDevice",
        target_id=device.id,
        details={"template": template.name, **details},
    )
