"""Device templates: list, create, update, delete, apply to a location."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.filters import filter_text
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
from graph.rules import UNSET
from models import remote as r
from models.identity import Permission
from resolvers.remote.devices.schema import (
    LocationDeviceDeletePayload,
    LocationDevicePayload,
    RemoteAccessServiceInput,
    device_payload,
    specs,
)
from resolvers.remote.errors import RemoteError
from resolvers.remote.scope import MAX_TEXT
from resolvers.remote.templates.links import copy_as_own, unlink
from resolvers.remote.templates.loaders import template_visible, visible_templates
from resolvers.remote.templates.rules import apply_template, create_template, delete_template, update_template
from resolvers.remote.templates.types import DeviceTemplate


@strawberry.input(description="A new device template.")
class DeviceTemplateCreateInput:
    name: str | None = strawberry.field(
        default=None,
        description="Name, unique within the organisation (at most 200 characters); required unless fromDeviceId.",
    )
    ip_address: str | None = strawberry.field(
        default=None,
        description=(
            "IP address of the device behind the router: one host address, IPv4 or IPv6; required unless fromDeviceId."
        ),
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
        description=(
            "Copy this device of one of your locations (name, description, IP address, services); given fields "
            "override."
        ),
    )


@strawberry.input(
    description=(
        "Change a device template; fields left out stay. Devices copied from it do not change; devices linked to it "
        "follow (description, IP address, services)."
    )
)
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


@strawberry.input(description="Link a device template to a location: a device that follows the template's later edits.")
class LocationDeviceTemplateLinkInput:
    location_id: strawberry.ID = strawberry.field(description="The location (of your organisation's subtree).")
    template_id: strawberry.ID = strawberry.field(
        description="An active template of the location's organisation or one above it, not linked there yet."
    )
    name: str | None = strawberry.field(
        default=None, description="Name of the device at the location; default: the template's (it stays the same)."
    )


@strawberry.input(description="A device linked to a device template.")
class LocationDeviceTemplateLinkEndInput:
    device_id: strawberry.ID = strawberry.field(description="The linked device.")


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


def template_payload(result) -> DeviceTemplatePayload:
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
        description=(
            "Device templates of your organisation's subtree, by name (active ones unless the filter says otherwise)."
        ),
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
            info.context,
            statement,
            keys,
            DeviceTemplate.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, DeviceTemplate),
        )


@strawberry.type
class DeviceTemplateMutation:
    @strawberry.mutation(
        description="Create a device template, from scratch or as a copy of a location's device (fromDeviceId).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def device_template_create(self, info: Info, input: DeviceTemplateCreateInput) -> DeviceTemplatePayload:
        return await mutate(
            info.context,
            DeviceTemplatePayload,
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
            template_payload,
        )

    @strawberry.mutation(
        description=(
            "Change a device template; devices copied from it keep what they have, devices linked to it follow."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def device_template_update(self, info: Info, input: DeviceTemplateUpdateInput) -> DeviceTemplatePayload:
        services = input.services
        return await mutate(
            info.context,
            DeviceTemplatePayload,
            lambda s: update_template(
                s,
                info.context,
                input.id,
                name=input.name,
                description=input.description,
                ip_address=input.ip_address,
                inactive=input.inactive,
                services=services if services is UNSET else specs(services) or [],
            ),
            template_payload,
        )

    @strawberry.mutation(
        description="Delete a device template; devices copied from it stay (their template becomes null).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def device_template_delete(self, info: Info, input: DeviceTemplateDeleteInput) -> DeviceTemplateDeletePayload:
        return await mutate(
            info.context,
            DeviceTemplateDeletePayload,
            lambda s: delete_template(s, info.context, input.id),
            lambda result: DeviceTemplateDeletePayload(deleted_id=input.id, errors=[]),
        )

    @strawberry.mutation(
        description=(
            "Copy an active device template into a new device of a location (later template edits do not reach it)."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_apply_device_template(
        self, info: Info, input: LocationApplyDeviceTemplateInput
    ) -> LocationDevicePayload:
        return await mutate(
            info.context,
            LocationDevicePayload,
            lambda s: apply_template(s, info.context, input.location_id, input.template_id, input.name),
            device_payload,
        )

    @strawberry.mutation(
        description=(
            "Link an active device template to a location: the new device follows the template's later edits "
            "(description, IP address, services) until copied as own setting or unlinked."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_device_template_link(
        self, info: Info, input: LocationDeviceTemplateLinkInput
    ) -> LocationDevicePayload:
        return await mutate(
            info.context,
            LocationDevicePayload,
            lambda s: apply_template(s, info.context, input.location_id, input.template_id, input.name, link=True),
            device_payload,
        )

    @strawberry.mutation(
        description=(
            "Copy a linked template as the location's own setting: the device keeps its values, no longer follows."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_device_template_copy(
        self, info: Info, input: LocationDeviceTemplateLinkEndInput
    ) -> LocationDevicePayload:
        return await mutate(
            info.context, LocationDevicePayload, lambda s: copy_as_own(s, info.context, input.device_id), device_payload
        )

    @strawberry.mutation(
        description="Unlink a template from the location: the linked device it brought is removed.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_device_template_unlink(
        self, info: Info, input: LocationDeviceTemplateLinkEndInput
    ) -> LocationDeviceDeletePayload:
        return await mutate(
            info.context,
            LocationDeviceDeletePayload,
            lambda s: unlink(s, info.context, input.device_id),
            lambda result: LocationDeviceDeletePayload(deleted_id=input.device_id, errors=[]),
        )


NODE_RESOLVERS = {
    "DeviceTemplate": (
        Permission.LOCATIONS_MANAGE,
        node_loader(visible_templates, DeviceTemplate.from_model),
    ),
}
