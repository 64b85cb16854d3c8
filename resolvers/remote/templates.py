"""Device templates: a device described once (name, description, IP address, remote access services)
and copied to locations. Applying a template copies it: later edits of the template do not reach the
copies, and deleting it leaves them (their `template` becomes null).

Templates belong to an organisation; LOCATIONS_MANAGE holders see and manage those of their subtree.
A template may be applied to a location of its own organisation or of a descendant.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from graph.context import Context
from graph.errors import BadUserInput, DomainError
from graph.filters import filter_text
from graph.mutations import run_in_transaction
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
from models import remote as r
from models.identity import Permission
from resolvers.audit.rules import record
from resolvers.remote import devices_types
from resolvers.remote.devices import (
    DeviceFields,
    LocationDevicePayload,
    ServiceSpec,
    add_device,
    as_specs,
    clean_description,
    clean_fields,
    clean_ip_address,
    clean_name,
    clean_services,
    device_payload,
    device_services,
    given,
    managed_device,
    service_rows,
    specs,
)
from resolvers.remote.devices_types import DeviceTemplate, RemoteAccessServiceInput, template_visible
from resolvers.remote.errors import RemoteError, as_errors
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.services import MAX_TEXT, UNSET, organisation_path, visible_location, visible_organisation

# --- domain functions -------------------------------------------------------------------------------------


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


async def _check_name(session: AsyncSession, organisation_id: int, name: str, except_id: int | None = None) -> None:
    taken = exists().where(
        r.DeviceTemplate.organisation_id == organisation_id,
        r.DeviceTemplate.name == name,
        r.DeviceTemplate.id != (except_id or 0),
    )
    if await session.scalar(select(taken)):
        raise DomainError(Code.DUPLICATE, "The organisation already has a device template with this name.", "name")


async def _flush(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # the same name at the same moment
        raise DomainError(
            Code.DUPLICATE, "The organisation already has a device template with this name.", "name"
        ) from exc


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
    if organisation_id is None:
        organisation_pk = context.principal.organisation_id
    else:
        organisation_pk = (await visible_organisation(session, context, organisation_id, "organisationId")).id
    await _check_name(session, organisation_pk, fields.name)
    template = r.DeviceTemplate(
        organisation_id=organisation_pk,
        name=fields.name,
        description=fields.description,
        ip_address=fields.ip_address,
        inactive=bool(inactive),
    )
    session.add(template)
    await _flush(session)
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
        changes["name"] = clean_name(name)
        await _check_name(session, template.organisation_id, changes["name"], template.id)
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
    await _flush(session)
    if new_services is not None:
        await session.execute(delete(r.DeviceTemplateService).where(r.DeviceTemplateService.template_id == template.id))
        session.add_all(service_rows(r.DeviceTemplateService, {"template_id": template.id}, new_services))
        await session.flush()
    changed = sorted(changes) + (["services"] if new_services is not None else [])
    if changed:
        await record(
            session,
            context,
            "device_template.updated",
            organisation_id=template.organisation_id,
            target_type="DeviceTemplate",
            target_id=template.id,
            details={"name": template.name, "fields": changed},
        )
    return template


async def delete_template(session: AsyncSession, context: Context, template_id: str) -> int:
    template = await visible_template(session, context, template_id, "id")
    pk, name, organisation_id = template.id, template.name, template.organisation_id
    # its services go with it (ON DELETE CASCADE); devices copied from it stay, their template_id set null
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
    session: AsyncSession, context: Context, location_id: str, template_id: str, name: str | None = None
) -> r.LocationDevice:
    """Copy a template into a new device of the location (services too); `name` replaces the template's."""
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
    fields = DeviceFields(
        name=clean_name(template.name if name is None else name),
        description=template.description,
        ip_address=template.ip_address,
        services=as_specs(await template_services(session, template.id)),
    )
    device = await add_device(session, location, fields, template_id=template.id)
    await record(
        session,
        context,
        "location.device_template_applied",
        organisation_id=location.organisation_id,
        target_type="LocationDevice",
        target_id=device.id,
        details={"locationId": location.id, "templateId": template.id, "name": device.name},
    )
    return device


# --- GraphQL ----------------------------------------------------------------------------------------------


@strawberry.input(description="A new device template.")
class DeviceTemplateCreateInput:
    name: str | None = strawberry.field(
        default=None,
        description="Name, unique within the organisation (at most 200 characters); required unless fromDeviceId.",
    )
    ip_address: str | None = strawberry.field(
        default=None,
        description="IP address of the device behind the router: one host address, IPv4 or IPv6; required unless fromDeviceId.",
    )
    description: str | None = strawberry.field(default=None, description="Description (at most 1000 characters).")
    inactive: bool = strawberry.field(default=False, description="Inactive templates are kept but cannot be applied.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )
    services: list[RemoteAccessServiceInput] | None = strawberry.field(
        default=None, description="Its remote access services (at most 20); with fromDeviceId, default: the device's."
    )
    from_device_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Copy this device of one of your locations (name, description, IP address, services); given fields override.",
    )


@strawberry.input(description="Change a device template; fields left out stay. Devices copied from it do not change.")
class DeviceTemplateUpdateInput:
    id: strawberry.ID = strawberry.field(description="The template.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description (null empties it)."
    )
    ip_address: str | None = strawberry.field(default=strawberry.UNSET, description="New IP address.")
    inactive: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Make it inactive (true) or active (false)."
    )
    services: list[RemoteAccessServiceInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The new list of services, replacing the old one (null or [] removes them all).",
    )


@strawberry.input(description="A device template to delete (devices copied from it stay).")
class DeviceTemplateDeleteInput:
    id: strawberry.ID = strawberry.field(description="The template.")


@strawberry.input(description="Apply a device template to a location: a copy becomes a device of the location.")
class LocationApplyDeviceTemplateInput:
    location_id: strawberry.ID = strawberry.field(description="The location (of your organisation's subtree).")
    template_id: strawberry.ID = strawberry.field(
        description="An active template of the location's organisation or of an organisation above it."
    )
    name: str | None = strawberry.field(
        default=None, description="Name of the new device; default: the template's (names are unique per location)."
    )


@strawberry.type(description="The device template, or why the change was refused.")
class DeviceTemplatePayload:
    device_template: DeviceTemplate | None = strawberry.field(description="The template; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted template's ID, or why it was refused.")
class DeviceTemplateDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted template; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Narrow the device template list; all given conditions must hold.")
class DeviceTemplateFilter:
    include_inactive: bool = strawberry.field(
        default=False, description="Also list inactive templates (default: only active ones)."
    )
    name_contains: str | None = strawberry.field(default=None, description="Name contains this text (any case).")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only templates of this organisation."
    )


def _template_payload(result) -> DeviceTemplatePayload:
    if isinstance(result, DomainError):
        return DeviceTemplatePayload(device_template=None, errors=as_errors(result))
    return DeviceTemplatePayload(device_template=DeviceTemplate.from_model(result), errors=[])


def apply_template_filter(statement, flt: DeviceTemplateFilter | None):
    flt = flt or DeviceTemplateFilter()
    if not flt.include_inactive:
        statement = statement.where(r.DeviceTemplate.inactive.is_(False))
    if flt.name_contains:
        text = filter_text(flt.name_contains, "filter.nameContains", MAX_TEXT)
        statement = statement.where(r.DeviceTemplate.name.icontains(text, autoescape=True))
    if flt.organisation_id is not None:
        pk = decode_id(flt.organisation_id, "Organisation")
        if pk is None:
            raise BadUserInput("Not an organisation ID.", argument="filter.organisationId")
        statement = statement.where(r.DeviceTemplate.organisation_id == pk)
    return statement


@strawberry.type
class DeviceTemplateQuery:
    @strawberry.field(
        description="Device templates of your organisation's subtree, by name (active ones unless the filter says otherwise).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def device_templates(
        self,
        info: Info,
        filter: Annotated[
            DeviceTemplateFilter | None, strawberry.argument(description="Conditions the templates must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[DeviceTemplate]:
        statement = apply_template_filter(
            select(r.DeviceTemplate).where(template_visible(info.context.principal)), filter
        )
        keys = [SortKey(r.DeviceTemplate.name), SortKey(r.DeviceTemplate.id)]
        return await paginate(
            info.context, statement, keys, DeviceTemplate.from_model, first=first, after=after, last=last, before=before
        )


@strawberry.type
class DeviceTemplateMutation:
    @strawberry.mutation(
        description="Create a device template, from scratch or as a copy of a location's device (fromDeviceId).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def device_template_create(self, info: Info, input: DeviceTemplateCreateInput) -> DeviceTemplatePayload:
        return _template_payload(
            await run_in_transaction(
                info.context,
                lambda s: create_template(
                    s,
                    info.context,
                    name=input.name,
                    description=input.description,
                    ip_address=input.ip_address,
                    inactive=input.inactive,
                    organisation_id=input.organisation_id,
                    services=specs(input.services),
                    from_device_id=input.from_device_id,
                ),
            )
        )

    @strawberry.mutation(
        description="Change a device template; devices already copied from it keep what they have.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def device_template_update(self, info: Info, input: DeviceTemplateUpdateInput) -> DeviceTemplatePayload:
        services = given(input.services)
        return _template_payload(
            await run_in_transaction(
                info.context,
                lambda s: update_template(
                    s,
                    info.context,
                    input.id,
                    name=given(input.name),
                    description=given(input.description),
                    ip_address=given(input.ip_address),
                    inactive=given(input.inactive),
                    services=services if services is UNSET else specs(services) or [],
                ),
            )
        )

    @strawberry.mutation(
        description="Delete a device template; devices copied from it stay (their template becomes null).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def device_template_delete(self, info: Info, input: DeviceTemplateDeleteInput) -> DeviceTemplateDeletePayload:
        result = await run_in_transaction(info.context, lambda s: delete_template(s, info.context, input.id))
        if isinstance(result, DomainError):
            return DeviceTemplateDeletePayload(deleted_id=None, errors=as_errors(result))
        return DeviceTemplateDeletePayload(deleted_id=input.id, errors=[])

    @strawberry.mutation(
        description="Copy an active device template into a new device of a location (later template edits do not reach it).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_apply_device_template(
        self, info: Info, input: LocationApplyDeviceTemplateInput
    ) -> LocationDevicePayload:
        return device_payload(
            await run_in_transaction(
                info.context,
                lambda s: apply_template(s, info.context, input.location_id, input.template_id, input.name),
            )
        )


NODE_RESOLVERS = {
    "DeviceTemplate": (
        Permission.LOCATIONS_MANAGE,
        node_loader(devices_types.visible_templates, DeviceTemplate.from_model),
    ),
    "LocationDevice": (
        Permission.LOCATIONS_READ,
        node_loader(devices_types.visible_devices, devices_types.LocationDevice.from_model),
    ),
}
