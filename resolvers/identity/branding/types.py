"""GraphQL types of themes and login domains."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.relay import to_global_id
from models import branding as br
from resolvers.identity.branding import loaders
from resolvers.identity.branding.dns import record_name, record_value

ThemeFontEnum = strawberry.enum(br.ThemeFont, description="The fonts a theme may use.")
ThemeImageKindEnum = strawberry.enum(
    br.ThemeImageKind, description="A theme's images: the logo, the logo for dark mode and the favicon."
)
LoginDomainStateEnum = strawberry.enum(
    br.LoginDomainState,
    description="PENDING until the TXT record with the token is found; VERIFIED: logins on it need no customer number.",
)
#: Where theme images are served (resolvers/identity/branding/serving.py), under their content's SHA-256.
IMAGE_PATH = "/theme-images/"


@strawberry.type(description="An uploaded theme image.")
class ThemeImage:
    url: str = strawberry.field(
        description="Where it is served (a path on this server): the content's hash is in it, so it never changes "
        "and may be cached for good."
    )
    content_type: str = strawberry.field(
        description="image/png, image/jpeg, image/x-icon, image/webp or image/svg+xml, from the content."
    )

    @classmethod
    def from_row(cls, row: Any) -> ThemeImage:
        return cls(url=f"{IMAGE_PATH}{row.sha256}", content_type=row.content_type)


@strawberry.type(description="An organisation's personalised theme (manual §14); public, as the login page shows it.")
class Theme:
    enabled: bool = strawberry.field(description="Whether the portal shows it (off: the platform's look).")
    main_colour: str = strawberry.field(description="The main colour, #RRGGBB; empty for the platform's.")
    name: str = strawberry.field(description="The portal's name; empty for the platform's.")
    font: ThemeFontEnum = strawberry.field(description="The font.")  # type: ignore[valid-type]
    website: str = strawberry.field(description="The company website link (https); empty for none.")
    updated_at: datetime = strawberry.field(description="When it was last saved.")
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: br.Theme) -> Theme:
        return cls(
            enabled=row.enabled,
            main_colour=row.main_colour,
            name=row.name,
            font=row.font,
            website=row.website,
            updated_at=row.updated_at,
            organisation_pk=row.organisation_id,
        )

    async def _image(self, info: Info, kind: br.ThemeImageKind) -> ThemeImage | None:
        rows = await info.context.loaders(loaders.images_by_organisation).load(self.organisation_pk)
        return next((ThemeImage.from_row(row) for row in rows if row.kind == kind), None)

    @strawberry.field(description="The logo; null for none.")
    async def logo(self, info: Info) -> ThemeImage | None:
        return await self._image(info, br.ThemeImageKind.LOGO)

    @strawberry.field(description="The logo on a dark background (dark mode); null for none.")
    async def logo_dark(self, info: Info) -> ThemeImage | None:
        return await self._image(info, br.ThemeImageKind.LOGO_DARK)

    @strawberry.field(description="The favicon; null for none.")
    async def favicon(self, info: Info) -> ThemeImage | None:
        return await self._image(info, br.ThemeImageKind.FAVICON)


@strawberry.type(description="A domain on which the organisation's users log in without the customer number.")
class LoginDomain:
    id: strawberry.ID = strawberry.field(description="The login domain's global ID.")
    domain: str = strawberry.field(description="The domain name (lower case).")
    state: LoginDomainStateEnum = strawberry.field(description="PENDING or VERIFIED.")  # type: ignore[valid-type]
    txt_record_name: str = strawberry.field(description="Publish a TXT record at this name …")
    txt_record_value: str = strawberry.field(description="… holding this value; then call loginDomainVerify.")
    verified_at: datetime | None = strawberry.field(description="When it was verified; null while PENDING.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_model(cls, row: Any) -> LoginDomain:
        return cls(
            id=strawberry.ID(to_global_id("LoginDomain", row.id)),
            domain=row.domain,
            state=row.state,
            txt_record_name=record_name(row.domain),
            txt_record_value=record_value(row.token),
            verified_at=row.verified_at,
            created_at=row.created_at,
        )
