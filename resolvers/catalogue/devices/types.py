"""GraphQL types of devices. None of them carries key material: keys leave only through the key download."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import catalogue as c
from resolvers.catalogue.batches import loaders as batch_loaders
from resolvers.catalogue.devices import loaders
from resolvers.catalogue.product_types import loaders as product_type_loaders
from resolvers.catalogue.product_types.types import KeyKindEnum, ProductType
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation

if TYPE_CHECKING:
    from resolvers.catalogue.batches.types import Batch

KeyAlgorithmEnum = strawberry.enum(
    c.KeyAlgorithm, description="Cipher a device key is for: DES, AES-128, AES-192 or AES-256."
)
KeyStateEnum = strawberry.enum(
    c.KeyState, description="ACTIVE keys are downloaded; REVOKED ones are kept but never handed out."
)
ClaimStatusEnum = strawberry.enum(
    c.ClaimStatus, description="Whether the owning organisation has claimed the device (the manuals' claim status)."
)


@strawberry.type(
    description="What is known about a device key without its value: the value leaves only through a key download."
)
class DeviceKeyInfo:
    kind: KeyKindEnum = strawberry.field(description="What the key is for.")  # type: ignore[valid-type]
    algorithm: KeyAlgorithmEnum = strawberry.field(description="Cipher (and so the key length).")  # type: ignore[valid-type]
    state: KeyStateEnum = strawberry.field(description="ACTIVE or REVOKED.")  # type: ignore[valid-type]
    valid_from: datetime | None = strawberry.field(description="Start of validity, or null.")
    valid_until: datetime | None = strawberry.field(description="End of validity, or null.")
    created_at: datetime = strawberry.field(description="When the key was stored.")

    @classmethod
    def from_model(cls, row: c.DeviceKey) -> DeviceKeyInfo:
        return cls(
            kind=c.KeyKind(row.kind),
            algorithm=c.KeyAlgorithm(row.algorithm),
            state=c.KeyState(row.state),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            created_at=row.created_at,
        )


@strawberry.type(
    description="A meter or module in the catalogue. Its key values are not part of it: see the key download."
)
class Device(Node):
    serial_number: str = strawberry.field(description="Serial number (unique per manufacturer).")
    manufacturer: str = strawberry.field(description="Manufacturer namespace of the serial number.")
    claim_status: ClaimStatusEnum = strawberry.field(description="CLAIMED once the owner claimed it.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When it entered the catalogue.")
    claimed_at: datetime | None = strawberry.field(description="When it was claimed, or null.")
    pk: strawberry.Private[int]
    product_type_pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int | None]
    batch_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: c.Device) -> Device:
        return cls(
            id=strawberry.ID(to_global_id("Device", row.id)),
            serial_number=row.serial_number,
            manufacturer=row.manufacturer,
            claim_status=c.ClaimStatus(row.claim_status),
            created_at=row.created_at,
            claimed_at=row.claimed_at,
            pk=row.id,
            product_type_pk=row.product_type_id,
            organisation_pk=row.organisation_id,
            batch_pk=row.batch_id,
        )

    @strawberry.field(description="The product type.")
    @relation(
        Batched(
            product_type_loaders.product_types, key=lambda device: device.product_type_pk, build=ProductType.from_model
        )
    )
    def product_type(self, info: Info) -> ProductType: ...

    @strawberry.field(description="Labels, alphabetically.")
    @relation(Batched(loaders.labels_by_device, key=lambda device: device.pk, many=True))
    def labels(self, info: Info) -> list[str]: ...

    @strawberry.field(description="Its keys: kind, algorithm, state and validity, never the value.")
    @relation(Batched(loaders.keys_by_device, key=lambda device: device.pk, build=DeviceKeyInfo.from_model, many=True))
    def keys(self, info: Info) -> list[DeviceKeyInfo]: ...

    @strawberry.field(description="The batch it came with, or null.")
    @relation(
        Batched(
            batch_loaders.batches, key=lambda device: device.batch_pk, build=lambda row: _batch_type().from_model(row)
        )
    )
    def batch(self, info: Info) -> Annotated[Batch, strawberry.lazy("resolvers.catalogue.batches.types")] | None: ...

    @strawberry.field(description="The owner; null only for devices the manufacturer has not handed over yet.")
    @relation(
        Batched(
            identity_loaders.organisations, key=lambda device: device.organisation_pk, build=Organisation.from_model
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...


def _batch_type() -> type[Batch]:
    # imported when used: a batch's type shows its devices, so the two modules import each other
    from resolvers.catalogue.batches.types import Batch

    return Batch
