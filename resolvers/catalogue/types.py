"""GraphQL types of the device catalogue. None of them carries key material: keys leave only
through the key download."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.relay import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Connection,
    Edge,
    Node,
    PageAfter,
    PageFirst,
    PageInfo,
    SortKey,
    decode_cursor,
    encode_cursor,
    to_global_id,
)
from graph.tenancy import path_visible
from models import catalogue as c
from resolvers.catalogue import batch_loaders, loaders
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User

RadioTechnologyEnum = strawberry.enum(
    c.RadioTechnology, description="How a device talks: LoRaWAN, wireless M-Bus (OMS), wired M-Bus, or several radios."
)
KeyKindEnum = strawberry.enum(
    c.KeyKind, description="What a device key is for (LoRaWAN AppKey/NwkKey/session keys, OMS key, other)."
)
KeyAlgorithmEnum = strawberry.enum(
    c.KeyAlgorithm, description="Cipher a device key is for: DES, AES-128, AES-192 or AES-256."
)
KeyStateEnum = strawberry.enum(
    c.KeyState, description="ACTIVE keys are downloaded; REVOKED ones are kept but never handed out."
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


@strawberry.type(
    description="A batch reference: devices handed to an organisation, which confirms the ownership request."
)
class Batch(Node):
    reference: str = strawberry.field(description="The batch reference (unique per sending organisation).")
    label: str = strawberry.field(description="Label given with the batch.")
    state: BatchStateEnum = strawberry.field(description="Whether the receiving organisation accepted it.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When it was created.")
    decided_at: datetime | None = strawberry.field(description="When it was accepted or rejected, or null.")
    confirmation_required: bool = strawberry.field(
        description="The receiving organisation had to take ownership (true) or the devices moved at creation (false)."
    )
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    sender_organisation_pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: c.Batch) -> Batch:
        return cls(
            id=strawberry.ID(to_global_id("Batch", row.id)),
            reference=row.reference,
            label=row.label,
            state=c.BatchState(row.state),
            created_at=row.created_at,
            decided_at=row.decided_at,
            confirmation_required=row.confirmation_required,
            pk=row.id,
            organisation_pk=row.organisation_id,
            sender_organisation_pk=row.sender_organisation_id,
            created_by_pk=row.created_by_id,
        )

    async def _organisation(self, info: Info, pk: int):
        # one unscoped loader for both sides (one statement for a whole list); the object itself only
        # within the caller's subtree, the name always (a partner is visible by name)
        return await info.context.loaders(identity_loaders.organisations).load(pk)

    @strawberry.field(
        description="The receiving organisation; null when it is not yours (a partner: see organisationName)."
    )
    async def organisation(self, info: Info) -> Organisation | None:
        row = await self._organisation(info, self.organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None

    @strawberry.field(description="Name of the receiving organisation.")
    async def organisation_name(self, info: Info) -> str:
        row = await self._organisation(info, self.organisation_pk)
        return row.name if row else ""

    @strawberry.field(description="The sending organisation; null when it is not yours (see senderOrganisationName).")
    async def sender_organisation(self, info: Info) -> Organisation | None:
        row = await self._organisation(info, self.sender_organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None

    @strawberry.field(description="Name of the sending organisation.")
    async def sender_organisation_name(self, info: Info) -> str:
        row = await self._organisation(info, self.sender_organisation_pk)
        return row.name if row else ""

    @strawberry.field(
        description="Who created it; null when that user is not in your organisation's subtree (or was deleted)."
    )
    async def created_by(self, info: Info) -> User | None:
        if self.created_by_pk is None:
            return None
        row = await info.context.loaders(identity_loaders.visible_users).load(self.created_by_pk)
        return User.from_model(row) if row else None

    @strawberry.field(description="How many devices the batch was created with.")
    async def device_count(self, info: Info) -> int:
        return await info.context.loaders(batch_loaders.device_counts).load(self.pk)

    @strawberry.field(
        description=(
            "The devices the batch was created with that you may see (the receiver's once it took ownership, "
            "the sender's while it is pending or after a rejection), by serial number. Pages forward only."
        )
    )
    async def devices(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
    ) -> Connection[Device]:
        if first is not None and not 0 <= first <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}.", argument="first")
        size = DEFAULT_PAGE_SIZE if first is None else first
        position = None
        if after is not None:
            keys = [SortKey(c.Device.serial_number), SortKey(c.Device.id)]
            serial, device_id = decode_cursor(after, keys)
            position = (serial, device_id)
        rows = await info.context.loaders(batch_loaders.device_pages).load(
            batch_loaders.DevicePageKey(self.pk, size, position)
        )
        edges = [
            Edge(cursor=encode_cursor([row.serial_number, row.id]), node=Device.from_model(row)) for row in rows[:size]
        ]
        page_info = PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        loader = info.context.loaders(batch_loaders.visible_device_counts)
        pk = self.pk

        async def count() -> int:
            return await loader.load(pk)

        return Connection(edges=edges, nodes=[edge.node for edge in edges], page_info=page_info, count=count)


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

    @strawberry.field(description="Its keys: kind, algorithm, state and validity, never the value.")
    async def keys(self, info: Info) -> list[DeviceKeyInfo]:
        return [
            DeviceKeyInfo.from_model(row) for row in await info.context.loaders(loaders.keys_by_device).load(self.pk)
        ]

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
