"""GraphQL types of the device catalogue. None of them carries key material: keys leave only
through the key download."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from graph.relay import Node, to_global_id
from models import catalogue as c
from resolvers.catalogue import loaders
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.types import Organisation

RadioTechnologyEnum = strawberry.enum(
    c.RadioTechnology, description="How a device talks: LoRaWAN, wireless M-Bus (OMS), wired M-Bus, or several radios."
)
KeyKindEnum = strawberry.enum(
    c.KeyKind, description="What a device key is for (LoRaWAN AppKey/NwkKey/session keys, OMS key, other)."
)
ClaimStatusEnum = strawberry.enum(
    c.ClaimStatus, description="Whether the owning organisation has claimed the device (the manuals' claim status)."
)
BatchStateEnum = strawberry.enum(
    c.BatchState, description="Where a batch's ownership request stands: PENDING, ACCEPTED or REJECTED."
)


@strawberry.type(description="A kind of meter or module, with its radio technology and the kinds of keys it carries.")
class ProductType(Node):
    name: str = strawberry.field(description="Product name, as in the device tables (e.g. TOPAS Lora W8).")
    manufacturer: str = strawberry.field(description="Manufacturer; serial numbers are unique per manufacturer.")
    radio_technology: RadioTechnologyEnum = strawberry.field(description="How devices of this type communicate.")  # type: ignore[valid-type]
    key_kinds: list[KeyKindEnum] = strawberry.field(description="Kinds of keys a device of this type carries.")  # type: ignore[valid-type]
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: c.ProductType) -> ProductType:
        return cls(
            id=strawberry.ID(to_global_id("ProductType", row.id)),
            name=row.name,
            manufacturer=row.manufacturer,
            radio_technology=c.RadioTechnology(row.radio_technology),
            key_kinds=[c.KeyKind(k) for k in row.key_kinds],
            pk=row.id,
        )


@strawberry.type(description="A batch reference: devices handed to an organisation, which confirms the ownership request.")
class Batch(Node):
    reference: str = strawberry.field(description="The batch reference (unique per sending organisation).")
    label: str = strawberry.field(description="Label given with the batch.")
    state: BatchStateEnum = strawberry.field(description="Whether the receiving organisation accepted it.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When it was created.")
    decided_at: datetime | None = strawberry.field(description="When it was accepted or rejected, or null.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    sender_organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: c.Batch) -> Batch:
        return cls(
            id=strawberry.ID(to_global_id("Batch", row.id)),
            reference=row.reference,
            label=row.label,
            state=c.BatchState(row.state),
            created_at=row.created_at,
            decided_at=row.decided_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
            sender_organisation_pk=row.sender_organisation_id,
        )


@strawberry.type(description="A meter or module in the catalogue. Its keys are not part of it: see the key download.")
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
    async def product_type(self, info: Info) -> ProductType:
        row = await info.context.loaders(loaders.product_types).load(self.product_type_pk)
        return ProductType.from_model(row)

    @strawberry.field(description="Labels, alphabetically.")
    async def labels(self, info: Info) -> list[str]:
        return await info.context.loaders(loaders.labels_by_device).load(self.pk)

    @strawberry.field(description="The batch it came with, or null.")
    async def batch(self, info: Info) -> Batch | None:
        if self.batch_pk is None:
            return None
        row = await info.context.loaders(loaders.batches).load(self.batch_pk)
        return Batch.from_model(row) if row else None

    @strawberry.field(description="The owner; null only for devices the manufacturer has not handed over yet.")
    async def organisation(self, info: Info) -> Organisation | None:
        if self.organisation_pk is None:
            return None
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row else None
