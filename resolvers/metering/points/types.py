"""GraphQL types of metering points, their addresses and meters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import catalogue as c
from models import metering as mt
from resolvers.metering.notifications.loaders import subscribed_points
from resolvers.metering.points.loaders import addresses, meters
from resolvers.metering.readings.loaders import latest_readings_of_meters
from resolvers.metering.readings.types import Reading

Resource = strawberry.enum(mt.Resource, name="MeteringResource", description="What a metering point's meter measures.")
AddressSourceEnum = strawberry.enum(
    mt.AddressSource, name="AddressSource", description="Where an address came from: the sample, Nominatim, known."
)

#: How a meter's radio is named where the meter is shown ("33100050 DECAST VSKM-15 IWAN (NB-IoT)").
NETWORK_NAMES = {
    c.RadioTechnology.LORAWAN: "LoRaWAN",
    c.RadioTechnology.WMBUS: "wM-Bus",
    c.RadioTechnology.MBUS: "M-Bus",
    c.RadioTechnology.MULTI: "LoRaWAN/wM-Bus",
    c.RadioTechnology.NB_IOT: "NB-IoT",
}


@strawberry.type(description="A structured postal address, as a directory returned it.")
class Address:
    handle: str = strawberry.field(description="Source and external ID (SAMPLE:msk-0012): what a point binds.")
    source: AddressSourceEnum = strawberry.field(description="The directory it came from.")  # type: ignore[valid-type]
    country: str = strawberry.field(description="Country.")
    city: str = strawberry.field(description="City, town or village.")
    street: str = strawberry.field(description="Street.")
    house: str = strawberry.field(description="House number.")
    postcode: str = strawberry.field(description="Postcode.")
    latitude: float | None = strawberry.field(description="Latitude (WGS 84).")
    longitude: float | None = strawberry.field(description="Longitude (WGS 84).")
    display_name: str = strawberry.field(description="One line, as the directory shows it.")

    @classmethod
    def from_model(cls, row: Any) -> Address:
        """From an mt.Address row or a directory's FoundAddress (the same attributes)."""
        source = mt.AddressSource(row.source)
        return cls(
            handle=f"{source.value}:{row.external_id}",
            source=source,
            country=row.country,
            city=row.city,
            street=row.street,
            house=row.house,
            postcode=row.postcode,
            latitude=row.latitude,
            longitude=row.longitude,
            display_name=row.display_name,
        )


@strawberry.type(description="The meter bound to a metering point: a catalogue device.")
class Meter:
    serial_number: str = strawberry.field(description="Serial number (from the device passport).")
    manufacturer: str = strawberry.field(description="Manufacturer.")
    model: str = strawberry.field(description="Model (the catalogue's product type).")
    network: str = strawberry.field(description="How it sends its readings, e.g. NB-IoT or LoRaWAN.")
    display_name: str = strawberry.field(
        description='Serial, model and network: "33100050 DECAST VSKM-15 IWAN (NB-IoT)".'
    )

    @classmethod
    def from_row(cls, row: Any) -> Meter:
        network = NETWORK_NAMES.get(c.RadioTechnology(row.radio_technology), str(row.radio_technology))
        return cls(
            serial_number=row.serial_number,
            manufacturer=row.manufacturer,
            model=row.model,
            network=network,
            display_name=f"{row.serial_number} {row.manufacturer} {row.model} ({network})",
        )


@strawberry.type(description="A meter's place: resource, address and room, its meter, account number and time zone.")
class MeteringPoint(Node):
    resource: Resource = strawberry.field(description="What the meter measures.")  # type: ignore[valid-type]
    room_name: str = strawberry.field(description='Names the point, e.g. "Flat 16 bathroom".')
    account_number: str | None = strawberry.field(description="Personal account number; null when not given.")
    time_zone: str = strawberry.field(description="IANA time zone its integrations are scheduled in.")
    own: bool = strawberry.field(description="A consumer's own point (false: the organisation's staff keep it).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    pk: strawberry.Private[int]
    address_pk: strawberry.Private[int | None]
    meter_pk: strawberry.Private[int | None]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: Any) -> MeteringPoint:
        return cls(
            id=strawberry.ID(to_global_id("MeteringPoint", row.id)),
            resource=mt.Resource(row.resource),
            room_name=row.room_name,
            account_number=row.account_number,
            time_zone=row.time_zone,
            own=row.owner_id is not None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            pk=row.id,
            address_pk=row.address_id,
            meter_pk=row.meter_id,
        )

    @strawberry.field(description="Where it is; null until an address is bound.")
    @relation(Batched(addresses, key=lambda point: point.address_pk, build=Address.from_model))
    def address(self, info: Info) -> Address | None: ...

    @strawberry.field(description="The bound meter; null until one is bound (meterBind).")
    @relation(Batched(meters, key=lambda point: point.meter_pk, build=Meter.from_row))
    def meter(self, info: Info) -> Meter | None: ...

    @strawberry.field(
        description="The meter's newest reading (volume in m³ or energy in kWh); null before the first or without "
        "a meter. Its history: meteringPointReadings."
    )
    @relation(Batched(latest_readings_of_meters, key=lambda point: point.meter_pk))
    def latest_reading(self, info: Info) -> Reading | None: ...

    @strawberry.field(description="Your bell: you hear of its transfers (meteringPointSubscribe).")
    @relation(Batched(subscribed_points, key=lambda point: point.pk))
    def subscribed(self, info: Info) -> bool: ...
