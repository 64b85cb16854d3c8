"""GraphQL type of a batch reference."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Connection, Node, PageAfter, PageFirst, paginate_parent, to_global_id
from graph.tenancy import path_visible
from models import catalogue as c
from models import identity as m
from resolvers.catalogue.batches import loaders
from resolvers.catalogue.devices.types import Device
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User

BatchStateEnum = strawberry.enum(
    c.BatchState, description="Where a batch's ownership request stands: PENDING, ACCEPTED or REJECTED."
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
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

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

    async def _organisation(self, info: Info, pk: int) -> m.Organisation | None:
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
    @relation(Batched(identity_loaders.visible_users, key=lambda batch: batch.created_by_pk, build=User.from_model))
    def created_by(self, info: Info) -> User | None: ...

    @strawberry.field(description="How many devices the batch was created with.")
    @relation(Batched(loaders.device_counts, key=lambda batch: batch.pk))
    def device_count(self, info: Info) -> int: ...

    @strawberry.field(
        description=(
            "The devices the batch was created with that you may see (the receiver's once it took ownership, "
            "the sender's while it is pending or after a rejection), by serial number. Pages forward only."
        )
    )
    async def devices(self, info: Info, first: PageFirst = None, after: PageAfter = None) -> Connection[Device]:
        # the field keeps its forward-only arguments (last/before would change the schema); the helper pages both ways
        counts = info.context.loaders(loaders.visible_device_counts)
        pk = self.pk

        async def count() -> int:
            return await counts.load(pk)

        return await paginate_parent(
            info.context,
            loaders.device_pages,
            pk,
            loaders.DEVICE_ORDER,
            Device.from_model,
            count,
            first=first,
            after=after,
        )
