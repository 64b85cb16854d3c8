"""GraphQL type of a key download (never its keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import (
    Connection,
    Node,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    paginate_parent,
    to_global_id,
)
from models import catalogue as c
from resolvers.catalogue.devices.types import Device
from resolvers.catalogue.downloads import loaders
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User


@strawberry.type(description="A key download: who, when, how many devices and keys; its link works once, briefly.")
class KeyDownload(Node):
    created_at: datetime = strawberry.field(description="When the download was created.")
    expires_at: datetime = strawberry.field(description="Until when its link could be used.")
    downloaded_at: datetime | None = strawberry.field(description="When the link was used (once), or null.")
    device_count: int = strawberry.field(description="Devices selected when it was created.")
    key_count: int = strawberry.field(description="Active keys of those devices when it was created.")
    csv_delimiter: str = strawberry.field(description="Column delimiter of the CSV (the creator's setting).")
    pk: strawberry.Private[int]
    user_pk: strawberry.Private[int | None]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: c.KeyDownload) -> KeyDownload:
        return cls(
            id=strawberry.ID(to_global_id("KeyDownload", row.id)),
            created_at=row.created_at,
            expires_at=row.expires_at,
            downloaded_at=row.downloaded_at,
            device_count=row.device_count,
            key_count=row.key_count,
            csv_delimiter=row.csv_delimiter,
            pk=row.id,
            user_pk=row.user_id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="Who created it; null if that user was deleted.")
    @relation(Batched(identity_loaders.visible_users, key=lambda download: download.user_pk, build=User.from_model))
    def user(self, info: Info) -> User | None: ...

    @strawberry.field(description="The organisation of its creator.")
    @relation(
        Batched(
            identity_loaders.organisations, key=lambda download: download.organisation_pk, build=Organisation.from_model
        )
    )
    def organisation(self, info: Info) -> Organisation: ...

    @strawberry.field(description="Its devices that you still see, by serial number (never their keys).")
    async def devices(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Device]:
        counts = info.context.loaders(loaders.device_counts)
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
            last=last,
            before=before,
        )
