"""Serial device templates: list, create, update, delete."""

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
from models import remote as r
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.scope import MAX_TEXT
from resolvers.remote.serial_devices.schema import BAUD, settings_given
from resolvers.remote.serial_devices.types import (
    SerialModeEnum,
    SerialParityEnum,
    SerialProtocolEnum,
    SerialStopBitsEnum,
)
from resolvers.remote.serial_templates.loaders import serial_template_visible, visible_serial_templates
from resolvers.remote.serial_templates.rules import (
    create_serial_template,
    delete_serial_template,
    update_serial_template,
)
from resolvers.remote.serial_templates.types import SerialDeviceTemplate


@strawberry.input(description="A new serial device template: every setting is required.")
class SerialDeviceTemplateCreateInput:
    name: str = strawberry.field(description="Name, unique within the organisation (at most 200 characters).")
    description: str | None = strawberry.field(default=None, description="Description (at most 1000 characters).")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )
    protocol: SerialProtocolEnum = strawberry.field(description="Protocol.")
    baud_rate: int = strawberry.field(description=BAUD)
    data_bits: int = strawberry.field(description="Data bits: 5 to 8.")
    stop_bits: SerialStopBitsEnum = strawberry.field(description="Stop bits (ONE_AND_A_HALF with 5 data bits only).")
    parity: SerialParityEnum = strawberry.field(description="Parity.")
    serial_mode: SerialModeEnum = strawberry.field(description="RS-232, RS-422 or RS-485.")


@strawberry.input(
    description="Change a serial device template; fields left out stay. Devices made from it do not change."
)
class SerialDeviceTemplateUpdateInput:
    id: strawberry.ID = strawberry.field(description="The template.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description (null empties it)."
    )
    protocol: SerialProtocolEnum | None = strawberry.field(default=strawberry.UNSET, description="New protocol.")
    baud_rate: int | None = strawberry.field(default=strawberry.UNSET, description=BAUD)
    data_bits: int | None = strawberry.field(default=strawberry.UNSET, description="Data bits: 5 to 8.")
    stop_bits: SerialStopBitsEnum | None = strawberry.field(default=strawberry.UNSET, description="Stop bits.")
    parity: SerialParityEnum | None = strawberry.field(default=strawberry.UNSET, description="Parity.")
    serial_mode: SerialModeEnum | None = strawberry.field(default=strawberry.UNSET, description="Interface.")


@strawberry.input(description="A serial device template to delete (devices made from it stay).")
class SerialDeviceTemplateDeleteInput:
    id: strawberry.ID = strawberry.field(description="The template.")


@strawberry.type(description="The serial device template, or why the change was refused.")
class SerialDeviceTemplatePayload:
    serial_device_template: SerialDeviceTemplate | None = strawberry.field(
        description="The template; null when refused."
    )
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted template's ID, or why it was refused.")
class SerialDeviceTemplateDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted template; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Narrow the serial device template list; all given conditions must hold.")
class SerialDeviceTemplateFilter:
    name_contains: str | None = strawberry.field(default=None, description="Name contains this text (any case).")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only templates of this organisation."
    )


def serial_template_payload(result) -> SerialDeviceTemplatePayload:
    return SerialDeviceTemplatePayload(serial_device_template=SerialDeviceTemplate.from_model(result), errors=[])


@strawberry.type
class SerialDeviceTemplateQuery:
    @strawberry.field(
        description="Serial device templates of your organisation's subtree, by name.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def serial_device_templates(
        self,
        info: Info,
        filter: Annotated[
            SerialDeviceTemplateFilter | None, strawberry.argument(description="Conditions the templates must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[SerialDeviceTemplate]:
        statement = select(r.SerialDeviceTemplate).where(serial_template_visible(info.context.principal))
        if filter is not None and filter.name_contains:
            text = filter_text(filter.name_contains, "filter.nameContains", MAX_TEXT)
            statement = statement.where(r.SerialDeviceTemplate.name.icontains(text, autoescape=True))
        if filter is not None and filter.organisation_id is not None:
            pk = decode_id(filter.organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an organisation ID.", argument="filter.organisationId")
            statement = statement.where(r.SerialDeviceTemplate.organisation_id == pk)
        return await paginate(
            info.context,
            statement,
            [SortKey(r.SerialDeviceTemplate.name), SortKey(r.SerialDeviceTemplate.id)],
            SerialDeviceTemplate.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, SerialDeviceTemplate),
        )


@strawberry.type
class SerialDeviceTemplateMutation:
    @strawberry.mutation(
        description="Create a serial device template.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)]
    )
    async def serial_device_template_create(
        self, info: Info, input: SerialDeviceTemplateCreateInput
    ) -> SerialDeviceTemplatePayload:
        return await mutate(
            info.context,
            SerialDeviceTemplatePayload,
            lambda s: create_serial_template(
                s,
                info.context,
                name=input.name,
                description=input.description,
                organisation_id=input.organisation_id,
                settings=settings_given(input),
            ),
            serial_template_payload,
        )

    @strawberry.mutation(
        description="Change a serial device template; serial devices made from it keep what they have.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def serial_device_template_update(
        self, info: Info, input: SerialDeviceTemplateUpdateInput
    ) -> SerialDeviceTemplatePayload:
        return await mutate(
            info.context,
            SerialDeviceTemplatePayload,
            lambda s: update_serial_template(
                s,
                info.context,
                input.id,
                name=input.name,
                description=input.description,
                settings=settings_given(input),
            ),
            serial_template_payload,
        )

    @strawberry.mutation(
        description="Delete a serial device template; serial devices made from it stay (their template becomes null).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def serial_device_template_delete(
        self, info: Info, input: SerialDeviceTemplateDeleteInput
    ) -> SerialDeviceTemplateDeletePayload:
        return await mutate(
            info.context,
            SerialDeviceTemplateDeletePayload,
            lambda s: delete_serial_template(s, info.context, input.id),
            lambda result: SerialDeviceTemplateDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "SerialDeviceTemplate": (
        Permission.LOCATIONS_MANAGE,
        node_loader(visible_serial_templates, SerialDeviceTemplate.from_model),
    ),
}
