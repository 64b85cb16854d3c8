"""Key downloads: the input, payload, Query and Mutation roots, and the node lookup."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models import catalogue as c
from models.identity import Permission
from resolvers.catalogue.devices.schema import DeviceFilter
from resolvers.catalogue.downloads import loaders, rules
from resolvers.catalogue.downloads.rules import MAX_DEVICE_IDS
from resolvers.catalogue.downloads.types import KeyDownload
from resolvers.catalogue.errors import CatalogueError
from resolvers.catalogue.scope import key_download_visible


@strawberry.input(description="What to download: exactly one of deviceIds and filter.")
class KeyDownloadCreateInput:
    device_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"One device or a selection (at most {MAX_DEVICE_IDS})."
    )
    filter: DeviceFilter | None = strawberry.field(
        default=None, description="All your devices matching the catalogue filter; {} for all your keys."
    )


@strawberry.type(description="The new key download and its one-time link, or why there is none.")
class KeyDownloadCreatePayload:
    key_download: KeyDownload | None = strawberry.field(description="The record of the download; null when refused.")
    url: str | None = strawberry.field(
        description=(
            "One-time link to the CSV, valid until expiresAt: GET it with `Authorization: Bearer <your access "
            "token>`. Shown only here."
        )
    )
    errors: list[CatalogueError] = strawberry.field(
        description=(
            "REAUTHENTICATION_REQUIRED (run sessionReauthenticate first), UNCLAIMED (each unclaimed device by serial "
            "number, the whole request refused), NOT_FOUND (unknown device ID, also another organisation's; no "
            "device matches; no active keys), REQUIRED/INVALID (neither or both of deviceIds and filter, bad "
            "filter), TOO_MANY."
        )
    )


@strawberry.type
class KeyDownloadMutation:
    @strawberry.mutation(
        description=(
            "Prepare a key download of CLAIMED devices you see: one, a selection, or all matching a filter. Needs the "
            "KEYS_DOWNLOAD permission and an authentication within the last minutes (sessionReauthenticate)."
        ),
        permission_classes=[needs(Permission.KEYS_DOWNLOAD)],
    )
    async def key_download_create(self, info: Info, input: KeyDownloadCreateInput) -> KeyDownloadCreatePayload:
        context = info.context
        return await mutate(
            context,
            KeyDownloadCreatePayload,
            lambda session: rules.create_download(session, context, input.device_ids, input.filter),
            lambda created: KeyDownloadCreatePayload(
                key_download=KeyDownload.from_model(created.download),
                url=rules.download_url(context, created.token),
                errors=[],
            ),
        )


@strawberry.type
class KeyDownloadQuery:
    @strawberry.field(
        description="Key downloads made in your organisation and its descendants (platform admins: all), newest first.",
        permission_classes=[needs(Permission.KEYS_DOWNLOAD)],
    )
    async def key_downloads(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[KeyDownload]:
        statement = select(c.KeyDownload).where(key_download_visible(info.context.principal))
        keys = [SortKey(c.KeyDownload.created_at, True), SortKey(c.KeyDownload.id, True)]
        return await paginate(
            info.context,
            statement,
            keys,
            KeyDownload.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, KeyDownload),
        )


NODE_RESOLVERS = {
    "KeyDownload": (Permission.KEYS_DOWNLOAD, node_loader(loaders.visible_key_downloads, KeyDownload.from_model))
}
