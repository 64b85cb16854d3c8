"""GraphQL types of serial devices and the enums of their port settings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import remote as r
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.types import Location
from resolvers.remote.serial_templates.loaders import visible_serial_templates

if TYPE_CHECKING:  # the template type uses the enums below: named lazily
    from resolvers.remote.serial_templates.types import SerialDeviceTemplate


@strawberry.enum(description="What the router speaks on the serial port.")
class SerialProtocolEnum(enum.Enum):
    MODBUS_RTU = strawberry.enum_value("MODBUS_RTU", description="Modbus RTU (binary frames).")
    MODBUS_ASCII = strawberry.enum_value("MODBUS_ASCII", description="Modbus ASCII (text frames).")
    DNP3 = strawberry.enum_value("DNP3", description="DNP3 (telecontrol).")
    TRANSPARENT = strawberry.enum_value("TRANSPARENT", description="Bytes passed through as they are (serial over IP).")


@strawberry.enum(description="Parity bit of each character.")
class SerialParityEnum(enum.Enum):
    NONE = strawberry.enum_value("NONE", description="No parity bit.")
    EVEN = strawberry.enum_value("EVEN", description="Even parity.")
    ODD = strawberry.enum_value("ODD", description="Odd parity.")
    MARK = strawberry.enum_value("MARK", description="Parity bit always 1.")
    SPACE = strawberry.enum_value("SPACE", description="Parity bit always 0.")


@strawberry.enum(description="Stop bits after each character.")
class SerialStopBitsEnum(enum.Enum):
    ONE = strawberry.enum_value("ONE", description="1 stop bit.")
    ONE_AND_A_HALF = strawberry.enum_value("ONE_AND_A_HALF", description="1.5 stop bits (with 5 data bits only).")
    TWO = strawberry.enum_value("TWO", description="2 stop bits.")


@strawberry.enum(description="The electrical interface of the serial port.")
class SerialModeEnum(enum.Enum):
    RS232 = strawberry.enum_value("RS232", description="RS-232 (point to point).")
    RS422 = strawberry.enum_value("RS422", description="RS-422 (full duplex, differential).")
    RS485 = strawberry.enum_value("RS485", description="RS-485 (half duplex bus, differential).")


def model_enum(value: enum.Enum | None, model_type: type[enum.Enum]) -> Any:
    """The model's member of the same name (the GraphQL enums' values are enum_value definitions)."""
    return None if value is None or value is strawberry.UNSET else model_type[value.name]


@strawberry.interface(description="Settings of a serial port.")
class SerialSettings:
    name: str = strawberry.field(description="Name.")
    description: str = strawberry.field(description="Description; may be empty.")
    protocol: SerialProtocolEnum = strawberry.field(description="Protocol on the port.")
    baud_rate: int = strawberry.field(description="Baud rate (a standard rate, 300 to 921600).")
    data_bits: int = strawberry.field(description="Data bits per character (5 to 8).")
    stop_bits: SerialStopBitsEnum = strawberry.field(description="Stop bits.")
    parity: SerialParityEnum = strawberry.field(description="Parity.")
    serial_mode: SerialModeEnum = strawberry.field(description="Electrical interface (RS-232, RS-422, RS-485).")
    created_at: datetime = strawberry.field(description="When it was created.")


def settings_fields(row: r.LocationSerialDevice | r.SerialDeviceTemplate) -> dict[str, Any]:
    return {
        "name": row.name,
        "description": row.description,
        "protocol": SerialProtocolEnum[row.protocol.name],
        "baud_rate": row.baud_rate,
        "data_bits": row.data_bits,
        "stop_bits": SerialStopBitsEnum[row.stop_bits.name],
        "parity": SerialParityEnum[row.parity.name],
        "serial_mode": SerialModeEnum[row.serial_mode.name],
        "created_at": row.created_at,
    }


@strawberry.type(description="A serial device at a location's router (a meter, a PLC on RS-485, ...).")
class LocationSerialDevice(SerialSettings, Node):
    pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    template_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.LocationSerialDevice) -> LocationSerialDevice:
        return cls(
            id=strawberry.ID(to_global_id("LocationSerialDevice", row.id)),
            pk=row.id,
            location_pk=row.location_id,
            template_pk=row.template_id,
            **settings_fields(row),
        )

    @strawberry.field(description="The location it is at.")
    @relation(Batched(visible_locations, key=lambda device: device.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location | None: ...

    @strawberry.field(
        description=(
            "The template it was created from (a copy: later template edits do not reach it); null when none, "
            "the template was deleted, or you do not manage templates."
        )
    )
    @relation(
        Batched(
            visible_serial_templates,
            key=lambda device: device.template_pk,
            build=lambda row: _template_type().from_model(row),
        )
    )
    def template(
        self, info: Info
    ) -> Annotated[SerialDeviceTemplate, strawberry.lazy("resolvers.remote.serial_templates.types")] | None: ...


def _template_type() -> type[SerialDeviceTemplate]:
    # imported when used: the template type imports this module's enums
    from resolvers.remote.serial_templates.types import SerialDeviceTemplate

    return SerialDeviceTemplate
