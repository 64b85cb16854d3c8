"""Serial devices at a location: list per location, create (from scratch or from a template), update, delete."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
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
from resolvers.remote.scope import location_visible
from resolvers.remote.serial_devices.loaders import visible_serial_devices
from resolvers.remote.serial_devices.rules import create_serial_device, delete_serial_device, update_serial_device
from resolvers.remote.serial_devices.types import (
    LocationSerialDevice,
    SerialModeEnum,
    SerialParityEnum,
    SerialProtocolEnum,
    SerialStopBitsEnum,
    model_enum,
)

BAUD = "Baud rate: 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600."


@strawberry.input(description="A new serial device at a location; with a template, fields left out are the template's.")
class LocationSerialDeviceCreateInput:
    location_id: strawberry.ID = strawberry.field(description="The location (of your organisation's subtree).")
    template_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Copy this serial device template (of the location's organisation or one above it); given "
        "fields override its values, later template edits do not reach the device.",
    )
    name: str | None = strawberry.field(
        default=None, description="Name, unique within the location (at most 200 characters); default the template's."
    )
    description: str | None = strawberry.field(default=None, description="Description (at most 1000 characters).")
    protocol: SerialProtocolEnum | None = strawberry.field(default=None, description="Protocol.")
    baud_rate: int | None = strawberry.field(default=None, description=BAUD)
    data_bits: int | None = strawberry.field(default=None, description="Data bits: 5 to 8.")
    stop_bits: SerialStopBitsEnum | None = strawberry.field(
        default=None, description="Stop bits (ONE_AND_A_HALF with 5 data bits only)."
    )
    parity: SerialParityEnum | None = strawberry.field(default=None, description="Parity.")
    serial_mode: SerialModeEnum | None = strawberry.field(default=None, description="RS-232, RS-422 or RS-485.")


@strawberry.input(description="Change a serial device; fields left out (or null) stay, except description.")
class LocationSerialDeviceUpdateInput:
    id: strawberry.ID = strawberry.field(description="The serial device.")
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


@strawberry.input(description="A serial device to delete.")
class LocationSerialDeviceDeleteInput:
    id: strawberry.ID = strawberry.field(description="The serial device.")


@strawberry.type(description="The serial device, or why the change was refused.")
class LocationSerialDevicePayload:
    serial_device: LocationSerialDevice | None = strawberry.field(description="The serial device; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted serial device's ID, or why it was refused.")
class LocationSerialDeviceDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted device; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def settings_given(given: Any) -> dict[str, Any]:
    """The port settings of a create or update input, as model values (None or UNSET: not given)."""
    return {
        "protocol": model_enum(given.protocol, r.SerialProtocol),
        "baud_rate": given.baud_rate,
        "data_bits": given.data_bits,
        "stop_bits": model_enum(given.stop_bits, r.SerialStopBits),
        "parity": model_enum(given.parity, r.SerialParity),
        "serial_mode": model_enum(given.serial_mode, r.SerialMode),
    }


def serial_device_payload(result) -> LocationSerialDevicePayload:
    return LocationSerialDevicePayload(serial_device=LocationSerialDevice.from_model(result), errors=[])


@strawberry.type
class LocationSerialDeviceQuery:
    @strawberry.field(
        description="The serial devices of a location you see, by name (empty for a location you do not see).",
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def location_serial_devices(
        self,
        info: Info,
        location_id: Annotated[strawberry.ID, strawberry.argument(description="The location.")],
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[LocationSerialDevice]:
        pk = decode_id(location_id, "Location")
        if pk is None:
            raise BadUserInput("Not a location ID.", argument="locationId")
        seen = select(r.Location.id).where(r.Location.id == pk, location_visible(info.context.principal))
        statement = select(r.LocationSerialDevice).where(r.LocationSerialDevice.location_id.in_(seen))
        return await paginate(
            info.context,
            statement,
            [SortKey(r.LocationSerialDevice.name), SortKey(r.LocationSerialDevice.id)],
            LocationSerialDevice.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, LocationSerialDevice),
        )


@strawberry.type
class LocationSerialDeviceMutation:
    @strawberry.mutation(
        description="Add a serial device at a location, from scratch or from a serial device template.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_serial_device_create(
        self, info: Info, input: LocationSerialDeviceCreateInput
    ) -> LocationSerialDevicePayload:
        return await mutate(
            info.context,
            LocationSerialDevicePayload,
            lambda s: create_serial_device(
                s,
                info.context,
                input.location_id,
                template_id=input.template_id,
                name=input.name,
                description=input.description,
                settings=settings_given(input),
            ),
            serial_device_payload,
        )

    @strawberry.mutation(
        description="Change a serial device; the settings are checked together with the stored ones.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_serial_device_update(
        self, info: Info, input: LocationSerialDeviceUpdateInput
    ) -> LocationSerialDevicePayload:
        return await mutate(
            info.context,
            LocationSerialDevicePayload,
            lambda s: update_serial_device(
                s,
                info.context,
                input.id,
                name=input.name,
                description=input.description,
                settings=settings_given(input),
            ),
            serial_device_payload,
        )

    @strawberry.mutation(description="Delete a serial device.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)])
    async def location_serial_device_delete(
        self, info: Info, input: LocationSerialDeviceDeleteInput
    ) -> LocationSerialDeviceDeletePayload:
        return await mutate(
            info.context,
            LocationSerialDeviceDeletePayload,
            lambda s: delete_serial_device(s, info.context, input.id),
            lambda result: LocationSerialDeviceDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "LocationSerialDevice": (
        Permission.LOCATIONS_READ,
        node_loader(visible_serial_devices, LocationSerialDevice.from_model),
    ),
}
