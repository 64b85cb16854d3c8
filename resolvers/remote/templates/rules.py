"""Device templates: a device described once (name, description, IP address, remote access services)
and copied or linked to locations. Applying a template copies it: later edits of the template do not reach
the copies, and deleting it leaves them (their `template` becomes null). Linking it keeps the device
following the template (templates/links.py).

Templates belong to an organisation; LOCATIONS_MANAGE holders see and manage those of their subtree.
A template may be applied to a location of its own organisation or of a descendant.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import UNSET, ensure_name_free, flush_unique
from graph.tenancy import visible_organisation
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.devices.rules import (
    DeviceFields,
    ServiceSpec,
    add_device,
    as_specs,
    clean_description,
    clean_fields,
    clean_ip_address,
    clean_name,
    clean_services,
    device_services,
    managed_device,
    service_rows,
)
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.scope import organisation_path, visible_location
from resolvers.remote.templates.links import ensure_not_linked, follow_template, release_links
from resolvers.remote.templates.loaders import template_visible


async def visible_template(session: AsyncSession, context: Context, global_id: str, field: str) -> r.DeviceTemplate:
    pk = decode_id(global_id, "DeviceTemplate")
    template = None
    if pk is not None:
        template = await session.scalar(
            select(r.DeviceTemplate).where(r.DeviceTemplate.id == pk, template_visible(context.principal))
        )
    if template is None:
        raise DomainError(Code.NOT_FOUND, "No such device template.", field)
    return template


async def template_services(session: AsyncSession, template_id: int) -> list[r.DeviceTemplateService]:
    return list(
        (
            await session.scalars(
                select(r.DeviceTemplateService)
                .where(r.DeviceTemplateService.template_id == template_id)
                .order_by(r.DeviceTemplateService.id)
            )
        ).all()
    )


def _name_taken() -> DomainError:
    return DomainError(Code.DUPLICATE, "The organisation already has a device template with this name.", "name")


async def create_template(
    session: AsyncSession,
    context: Context,
    *,
    name: str | None,
    description: str | None,
    ip_address: str | None,
    inactive: bool,
    organisation_id: str | None,
    services: list[ServiceSpec] | None,
    from_device_id: str | None = None,
) -> r.DeviceTemplate:
    """A new template; with `from_device_id` the device's fields and services are the defaults (the
    manual's "copy to device template"), anything given overrides them."""
    source_pk = None
    if from_device_id is not None:
        device, _ = await managed_device(session, context, from_device_id, "fromDeviceId")
        source_pk = device.id
        name = device.name if name is None else name
        description = device.description if description is None else description
        ip_address = device.ip_address if ip_address is None else ip_address
        if services is None:
            services = as_specs(await device_services(session, device.id))
    fields = clean_fields(name, description, ip_address, services)
    principal: Principal = require_principal(context)
    if organisation_id is None:
        organisation_pk = principal.organisation_id
    else:
        organisation_pk = (await visible_organisation(session, principal, organisation_id, "organisationId")).id
    await ensure_name_free(session, r.DeviceTemplate, organisation_pk, fields.name, _name_taken())
    template = r.DeviceTemplate(
        organisation_id=organisation_pk,
        name=fields.name,
        description=fields.description,
        ip_address=fields.ip_address,
        inactive=bool(inactive),
    )
    session.add(template)
    await flush_unique(session, _name_taken())
    session.add_all(service_rows(r.DeviceTemplateService, {"template_id": template.id}, fields.services))
    await session.flush()
    await record(
        session,
        context,
        "device_template.created",
        organisation_id=organisation_pk,
        target_type="DeviceTemplate",
        target_id=template.id,
        details={"name": template.name, "fromDeviceId": source_pk},
    )
    return template


async def update_template(
    session: AsyncSession,
    context: Context,
    template_id: str,
    *,
    name=UNSET,
    description=UNSET,
    ip_address=UNSET,
    inactive=UNSET,
    services=UNSET,
) -> r.DeviceTemplate:
    """Fields left out stay; given services replace the list. Devices copied from it keep what they have."""
    template = await visible_template(session, context, template_id, "id")
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = new_name = clean_name(name)
        await ensure_name_free(
            session, r.DeviceTemplate, template.organisation_id, new_name, _name_taken(), except_id=template.id
        )
    if description is not UNSET:
        changes["description"] = clean_description(description)
    if ip_address is not UNSET:
        changes["ip_address"] = clean_ip_address(ip_address)
    if inactive is not UNSET:
        if inactive is None:
            raise DomainError(Code.REQUIRED, "Say true or false.", "inactive")
        changes["inactive"] = inactive
    new_services = clean_services(services) if services is not UNSET else None
    for key, value in changes.items():
        setattr(template, key, value)
    await flush_unique(session, _name_taken())
    if new_services is not None:
        await session.execute(delete(r.DeviceTemplateService).where(r.DeviceTemplateService.template_id == template.id))
        session.add_all(service_rows(r.DeviceTemplateService, {"template_id": template.id}, new_services))
        await session.flush()
    linked = await follow_template(session, template.id, changes, new_services)
    changed = sorted(changes) + (["services"] if new_services is not None else [])
    if changed:
        await record(
            session,
            context,
            "device_template.updated",
            organisation_id=template.organisation_id,
            target_type="DeviceTemplate",
            target_id=template.id,
            details={"name": template.name, "fields": changed, "linkedDevices": linked},
        )
    return template


async def delete_template(session: AsyncSession, context: Context, template_id: str) -> int:
    template = await visible_template(session, context, template_id, "id")
    pk, name, organisation_id = template.id, template.name, template.organisation_id
    # its services go with it (ON DELETE CASCADE); devices copied from it stay, their template_id set null;
    # linked ones become own settings first (a link without its template would follow nothing)
    await release_links(session, pk)
    await session.delete(template)
    await session.flush()
    await record(
        session,
        context,
        "device_template.deleted",
        organisation_id=organisation_id,
        target_type="DeviceTemplate",
        target_id=pk,
        details={"name": name},
    )
    return pk


async def apply_template(
    session: AsyncSession,
    context: Context,
    location_id: str,
    template_id: str,
    name: str | None = None,
    *,
    link: bool = False,
) -> r.LocationDevice:
    """Copy a template into a new device of the location (services too); `name` replaces the template's.
    With `link` the device stays linked: later template edits reach it (templates/links.py)."""
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    template = await visible_template(session, context, template_id, "templateId")
    # the template's organisation must be the location's or one of its ancestors
    if not (await organisation_path(session, location.organisation_id)).startswith(
        await organisation_path(session, template.organisation_id)
    ):
        raise DomainError(
            Code.WRONG_ORGANISATION,
            "The template belongs to an organisation that is not the location's nor above it.",
            "templateId",
        )
    if template.inactive:
        raise DomainError(Code.TEMPLATE_INACTIVE, "The template is inactive: activate it first.", "templateId")
    if link:
        await ensure_not_linked(session, location.id, template.id)
    fields = DeviceFields(
        name=clean_name(template.name if name is None else name),
        description=template.description,
        ip_address=template.ip_address,
        services=as_specs(await template_services(session, template.id)),
    )
    device = await add_device(session, location, fields, template_id=template.id, linked=link)
    await record(
        session,
        context,
        "location.device_template_linked" if link else "location.device_template_applied",
        organisation_id=location.organisation_id,
        target_type="LocationDevice",
        target_id=device.id,
        details={"locationId": location.id, "templateId": template.id, "name": device.name},
    )
    return device
