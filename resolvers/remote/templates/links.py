"""Device templates linked to a location (the manual, §6.2.2 "Koppel apparaat template").

Linking a template gives the location a device that follows the template: later edits of the template's
description, IP address and services reach it (its name is the location's own: names are unique per
location, so a template rename would collide). The location ends the link in one of two ways:

- "copy as own setting" (`locationDeviceTemplateCopy`): the device keeps its current values and no longer
  follows the template (it stays a device of the location, as if it had been copied);
- "unlink" (`locationDeviceTemplateUnlink`): the template is taken off the location, and the device it
  brought goes with it (what the location wants to keep, it copies first).

While linked, the device's description, IP address and services are the template's: editing them on the
device is refused (TEMPLATE_LINKED); its name may change. Deleting the template turns its linked devices
into own settings (they keep their values). A template is linked to a location at most once (a partial
unique index). Applying a template (`locationApplyDeviceTemplate`) still makes a copy.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.devices.rules import ServiceSpec, managed_device, service_rows
from resolvers.remote.errors import RemoteErrorCode as Code


def _linked_twice() -> DomainError:
    return DomainError(Code.DUPLICATE, "The template is linked to this location already.", "templateId")


async def ensure_not_linked(session: AsyncSession, location_id: int, template_id: int) -> None:
    linked = exists().where(
        r.LocationDevice.location_id == location_id,
        r.LocationDevice.template_id == template_id,
        r.LocationDevice.template_linked.is_(True),
    )
    if await session.scalar(select(linked)):
        raise _linked_twice()


def linked_to(template_id: int):
    return (r.LocationDevice.template_id == template_id) & r.LocationDevice.template_linked.is_(True)


async def follow_template(
    session: AsyncSession, template_id: int, changes: dict[str, object], services: list[ServiceSpec] | None
) -> int:
    """Carry a template edit to the devices linked to it; returns how many there are."""
    device_ids = list((await session.scalars(select(r.LocationDevice.id).where(linked_to(template_id)))).all())
    if not device_ids:
        return 0
    followed = {key: value for key, value in changes.items() if key in ("description", "ip_address")}
    if followed:
        await session.execute(
            update(r.LocationDevice)
            .where(r.LocationDevice.id.in_(device_ids))
            .values(**followed)
            .execution_options(synchronize_session="fetch")
        )
    if services is not None:
        await session.execute(delete(r.LocationDeviceService).where(r.LocationDeviceService.device_id.in_(device_ids)))
        for device_id in device_ids:
            session.add_all(service_rows(r.LocationDeviceService, {"device_id": device_id}, services))
    await session.flush()
    return len(device_ids)


async def release_links(session: AsyncSession, template_id: int) -> None:
    """Before a template is deleted: its linked devices become own settings, keeping their values."""
    await session.execute(
        update(r.LocationDevice)
        .where(linked_to(template_id))
        .values(template_linked=False)
        .execution_options(synchronize_session="fetch")
    )


async def _linked_device(session: AsyncSession, context: Context, device_id: str):
    device, location = await managed_device(session, context, device_id, "deviceId")
    if not device.template_linked:
        raise DomainError(Code.TEMPLATE_NOT_LINKED, "The device is not linked to a device template.", "deviceId")
    return device, location


async def copy_as_own(session: AsyncSession, context: Context, device_id: str) -> r.LocationDevice:
    """Keep the linked device's current values as the location's own; later template edits do not reach it."""
    device, location = await _linked_device(session, context, device_id)
    device.template_linked = False
    await session.flush()
    await record(
        session,
        context,
        "location.device_template_copied",
        organisation_id=location.organisation_id,
        target_type="LocationDevice",
        target_id=device.id,
        details={"locationId": location.id, "templateId": device.template_id, "name": device.name},
    )
    return device


async def unlink(session: AsyncSession, context: Context, device_id: str) -> int:
    """Take the template off the location: the device it brought goes (its services with it)."""
    device, location = await _linked_device(session, context, device_id)
    pk, name, template_pk = device.id, device.name, device.template_id
    await session.delete(device)
    await session.flush()
    await record(
        session,
        context,
        "location.device_template_unlinked",
        organisation_id=location.organisation_id,
        target_type="LocationDevice",
        target_id=pk,
        details={"locationId": location.id, "templateId": template_pk, "name": name},
    )
    return pk
