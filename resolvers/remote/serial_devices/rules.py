"""Serial devices at a location's router: their validation (shared with serial device templates), create,
update, delete.

A serial device created from a template copies the template's values (given fields override them); later
edits of the template do not reach it (the manual, §9: "these changes do not change the locations where the
settings are already used"). Only locations of the caller's subtree are changed (LOCATIONS_MANAGE); another
tenant's location, device or template reads like an unknown one. Every refusal rolls the mutation back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from graph.rules import UNSET, flush_unique
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.devices.rules import clean_description, clean_name
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.scope import location_managed, organisation_path, visible_location
from resolvers.remote.serial_templates.loaders import serial_template_visible

#: The port settings, as model attribute -> input field.
SETTINGS = {
    "protocol": "protocol",
    "baud_rate": "baudRate",
    "data_bits": "dataBits",
    "stop_bits": "stopBits",
    "parity": "parity",
    "serial_mode": "serialMode",
}
_ENUMS = {
    "protocol": r.SerialProtocol,
    "stop_bits": r.SerialStopBits,
    "parity": r.SerialParity,
    "serial_mode": r.SerialMode,
}


def settings_of(row: r.SerialDeviceTemplate | r.LocationSerialDevice) -> dict[str, Any]:
    return {key: getattr(row, key) for key in SETTINGS}


def clean_settings(given: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """`base` (a template's or the stored values) with the given ones (None or UNSET: not given) over it,
    checked as a whole: every setting present, a standard baud rate, 5-8 data bits, and 1.5 stop bits only
    with 5 data bits (a UART offers 1.5 stop bits for 5-bit characters only)."""
    values = dict(base or {})
    values.update({key: value for key, value in given.items() if value is not None and value is not UNSET})
    for key, field in SETTINGS.items():
        if values.get(key) is None:
            raise DomainError(Code.REQUIRED, "Required (or choose a template that sets it).", field)
    for key, enum_type in _ENUMS.items():
        values[key] = enum_type(values[key])
    baud = values["baud_rate"]
    if isinstance(baud, bool) or baud not in r.BAUD_RATES:
        rates = ", ".join(str(rate) for rate in r.BAUD_RATES)
        raise DomainError(Code.INVALID, f"Not a standard baud rate: one of {rates}.", "baudRate")
    bits = values["data_bits"]
    if isinstance(bits, bool) or not 5 <= bits <= 8:
        raise DomainError(Code.INVALID, "Data bits are 5, 6, 7 or 8.", "dataBits")
    if values["stop_bits"] is r.SerialStopBits.ONE_AND_A_HALF and bits != 5:
        raise DomainError(Code.INVALID, "1.5 stop bits go with 5 data bits only.", "stopBits")
    return {key: values[key] for key in SETTINGS}


async def managed_serial_device(
    session: AsyncSession, context: Context, global_id: str, field: str = "id"
) -> tuple[r.LocationSerialDevice, r.Location]:
    """A serial device at a location of the caller's subtree (anything else reads like an unknown one)."""
    pk = decode_id(global_id, "LocationSerialDevice")
    row = None
    if pk is not None:
        row = (
            await session.execute(
                select(r.LocationSerialDevice, r.Location)
                .join(r.Location, r.Location.id == r.LocationSerialDevice.location_id)
                .where(r.LocationSerialDevice.id == pk, location_managed(context.principal))
            )
        ).first()
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such serial device.", field)
    return row[0], row[1]


async def visible_serial_template(
    session: AsyncSession, context: Context, global_id: str, field: str
) -> r.SerialDeviceTemplate:
    pk = decode_id(global_id, "SerialDeviceTemplate")
    template = None
    if pk is not None:
        template = await session.scalar(
            select(r.SerialDeviceTemplate).where(
                r.SerialDeviceTemplate.id == pk, serial_template_visible(context.principal)
            )
        )
    if template is None:
        raise DomainError(Code.NOT_FOUND, "No such serial device template.", field)
    return template


def _name_taken() -> DomainError:
    return DomainError(Code.DUPLICATE, "The location already has a serial device with this name.", "name")


async def _check_name(session: AsyncSession, location_id: int, name: str, except_id: int = 0) -> None:
    taken = exists().where(
        r.LocationSerialDevice.location_id == location_id,
        r.LocationSerialDevice.name == name,
        r.LocationSerialDevice.id != except_id,
    )
    if await session.scalar(select(taken)):
        raise _name_taken()


async def _template_defaults(
    session: AsyncSession, context: Context, location: r.Location, template_id: str
) -> tuple[r.SerialDeviceTemplate, dict[str, Any]]:
    """A template the location may use (of its organisation or one above it) and the values it pre-fills."""
    template = await visible_serial_template(session, context, template_id, "templateId")
    if not (await organisation_path(session, location.organisation_id)).startswith(
        await organisation_path(session, template.organisation_id)
    ):
        raise DomainError(
            Code.WRONG_ORGANISATION,
            "The template belongs to an organisation that is not the location's nor above it.",
            "templateId",
        )
    return template, {"name": template.name, "description": template.description, **settings_of(template)}


async def create_serial_device(
    session: AsyncSession,
    context: Context,
    location_id: str,
    *,
    template_id: str | None,
    name: str | None,
    description: str | None,
    settings: dict[str, Any],
) -> r.LocationSerialDevice:
    """A new serial device; with a template its values are copied and what is given overrides them."""
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    template: r.SerialDeviceTemplate | None = None
    base: dict[str, Any] = {}
    if template_id is not None:
        template, base = await _template_defaults(session, context, location, template_id)
    clean = clean_settings(settings, {key: base[key] for key in SETTINGS} if base else None)
    name = clean_name(base.get("name") if name is None else name)
    description = clean_description(base.get("description") if description is None else description)
    await _check_name(session, location.id, name)
    device = r.LocationSerialDevice(
        location_id=location.id,
        name=name,
        description=description,
        template_id=template.id if template else None,
        **clean,
    )
    session.add(device)
    await flush_unique(session, _name_taken())  # the same name added at the same moment by someone else
    await record(
        session,
        context,
        "location.serial_device_created",
        organisation_id=location.organisation_id,
        target_type="LocationSerialDevice",
        target_id=device.id,
        details={"locationId": location.id, "name": name, "templateId": device.template_id},
    )
    return device


async def update_serial_device(
    session: AsyncSession,
    context: Context,
    device_id: str,
    *,
    name: Any = UNSET,
    description: Any = UNSET,
    settings: dict[str, Any],
) -> r.LocationSerialDevice:
    """Fields left out stay; the settings are checked together with the stored ones."""
    device, location = await managed_serial_device(session, context, device_id)
    changes: dict[str, Any] = {}
    if name is not UNSET and name is not None:
        changes["name"] = clean_name(name)
        await _check_name(session, location.id, changes["name"], device.id)
    if description is not UNSET:
        changes["description"] = clean_description(description)
    clean = clean_settings(settings, settings_of(device))
    changes.update({key: value for key, value in clean.items() if value != getattr(device, key)})
    for key, value in changes.items():
        setattr(device, key, value)
    await flush_unique(session, _name_taken())
    if changes:
        await record(
            session,
            context,
            "location.serial_device_updated",
            organisation_id=location.organisation_id,
            target_type="LocationSerialDevice",
            target_id=device.id,
            details={"locationId": location.id, "name": device.name, "fields": sorted(changes)},
        )
    return device


async def delete_serial_device(session: AsyncSession, context: Context, device_id: str) -> int:
    device, location = await managed_serial_device(session, context, device_id)
    pk, name = device.id, device.name
    await session.delete(device)
    await session.flush()
    await record(
        session,
        context,
        "location.serial_device_deleted",
        organisation_id=location.organisation_id,
        target_type="LocationSerialDevice",
        target_id=pk,
        details={"locationId": location.id, "name": name},
    )
    return pk
