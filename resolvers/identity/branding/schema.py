"""Themes and login domains (manual §14): `themeSet`, `loginTheme` (before login), `loginDomains`,
`loginDomainAdd`, `loginDomainVerify`, `loginDomainDelete`."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.file_uploads import Upload
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, paginate
from graph.rules import UNSET
from graph.tenancy import organisation_visible
from models import branding as br
from models import identity as m
from resolvers.identity.branding import rules
from resolvers.identity.branding.dns import dnspython_lookup
from resolvers.identity.branding.types import LoginDomain, Theme, ThemeFontEnum, ThemeImageKindEnum
from resolvers.identity.errors import IdentityError
from resolvers.identity.lookups import organisation_filter_pk
from resolvers.identity.organisations.schema import OrganisationPayload
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.sessions.login_names import request_host

MANAGE = [needs(m.Permission.PORTAL_MANAGE)]
UPLOAD = "(GraphQL multipart upload: PNG, JPEG, ICO, WebP, or an SVG without scripts, event attributes or external "
UPLOAD += "references; checked by content; at most FLEETGRAPH_THEME_IMAGE_MAX_BYTES)"


@strawberry.input(description="Changes to a theme; omitted fields stay as they are.")
class ThemeSetInput:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation (of your subtree); default yours."
    )
    enabled: bool | None = strawberry.field(default=None, description="Show the theme (the manual's checkbox).")
    main_colour: str | None = strawberry.field(default=UNSET, description="#RRGGBB; empty or null: the platform's.")
    name: str | None = strawberry.field(default=UNSET, description="The portal's name (at most 100 characters).")
    font: ThemeFontEnum | None = strawberry.field(default=None, description="The font.")  # type: ignore[valid-type]
    website: str | None = strawberry.field(default=UNSET, description="Company website, an https:// link.")
    logo: Upload | None = strawberry.field(default=None, description=f"A new logo {UPLOAD}.")
    logo_dark: Upload | None = strawberry.field(default=None, description=f"A new dark-mode logo {UPLOAD}.")
    favicon: Upload | None = strawberry.field(default=None, description=f"A new favicon {UPLOAD}.")
    remove_images: list[ThemeImageKindEnum] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list, description="Images to delete (an upload of the same kind wins)."
    )

    def changes(self) -> rules.ThemeChanges:
        uploads = {
            br.ThemeImageKind.LOGO: self.logo,
            br.ThemeImageKind.LOGO_DARK: self.logo_dark,
            br.ThemeImageKind.FAVICON: self.favicon,
        }
        return rules.ThemeChanges(
            enabled=UNSET if self.enabled is None else self.enabled,
            main_colour=self.main_colour,
            name=self.name,
            font=UNSET if self.font is None else self.font,
            website=self.website,
            images={kind: upload for kind, upload in uploads.items() if upload is not None},
            remove=list(self.remove_images),
        )


@strawberry.input(description="A domain to log in on without the customer number.")
class LoginDomainAddInput:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation (of your subtree); default yours."
    )
    domain: str = strawberry.field(description="The domain name, e.g. portal.example.com.")


@strawberry.input(description="A login domain, by ID.")
class LoginDomainIdInput:
    id: strawberry.ID = strawberry.field(description="The login domain.")


@strawberry.type(description="A login domain after a change.")
class LoginDomainPayload:
    login_domain: LoginDomain | None = strawberry.field(description="The login domain, or null when refused.")
    errors: list[IdentityError] = strawberry.field(
        description="NOT_FOUND, INVALID (not a domain name), DUPLICATE (the organisation has it, or another "
        "organisation verified it), NOT_VERIFIED (the TXT record was not found)."
    )


@strawberry.type(description="Result of deleting a login domain.")
class LoginDomainDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted login domain.")
    errors: list[IdentityError] = strawberry.field(description="Why deletion was refused.")


def _domain(row: br.LoginDomain) -> LoginDomainPayload:
    return LoginDomainPayload(login_domain=LoginDomain.from_model(row), errors=[])


@strawberry.type
class BrandingQuery:
    @strawberry.field(
        description="The theme of the login page, before login: of the organisation whose verified login domain "
        "the request was sent to, or of the customer number given. Null when that organisation's theme is off "
        "or there is none (an unknown customer number reads the same)."
    )
    async def login_theme(
        self,
        info: Info,
        customer_number: Annotated[
            str | None,
            strawberry.argument(
                description="The customer number typed on the login page; default: the request's domain."
            ),
        ] = None,
    ) -> Theme | None:
        number, host = (customer_number or "").strip()[:20], request_host(info.context)
        if not number and not host:
            return None
        condition = (
            m.Organisation.customer_number == number
            if number
            else m.Organisation.id.in_(
                select(br.LoginDomain.organisation_id).where(br.LoginDomain.verified_domain == host)
            )
        )
        async with info.context.session() as session:
            row = await session.scalar(
                select(br.Theme)
                .join(m.Organisation, m.Organisation.id == br.Theme.organisation_id)
                .where(condition, br.Theme.enabled.is_(True))
            )
        return Theme.from_model(row) if row is not None else None

    @strawberry.field(description="The login domains of an organisation.", permission_classes=MANAGE)
    async def login_domains(
        self,
        info: Info,
        organisation_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The organisation (of your subtree); default yours.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[LoginDomain]:
        principal = info.context.principal
        pk = organisation_filter_pk(organisation_id, "organisationId")
        statement = (
            select(br.LoginDomain)
            .join(m.Organisation, m.Organisation.id == br.LoginDomain.organisation_id)
            # another tenant's organisation reads like an unknown one: no domains
            .where(
                br.LoginDomain.organisation_id == (principal.organisation_id if pk is None else pk),
                organisation_visible(principal),
            )
        )
        keys = [SortKey(br.LoginDomain.domain), SortKey(br.LoginDomain.id)]
        return await paginate(
            info.context, statement, keys, LoginDomain.from_model, first=first, after=after, last=last, before=before
        )


@strawberry.type
class BrandingMutation:
    @strawberry.mutation(
        description="Save an organisation's personalised theme and its images (manual §14).", permission_classes=MANAGE
    )
    async def theme_set(self, info: Info, input: ThemeSetInput) -> OrganisationPayload:
        context = info.context
        return await mutate(
            context,
            OrganisationPayload,
            lambda s: rules.set_theme(s, context, input.organisation_id, input.changes()),
            lambda row: OrganisationPayload(organisation=Organisation.from_model(row), errors=[]),
        )

    @strawberry.mutation(
        description="Register a login domain (PENDING): publish the TXT record it shows, then verify it.",
        permission_classes=MANAGE,
    )
    async def login_domain_add(self, info: Info, input: LoginDomainAddInput) -> LoginDomainPayload:
        context = info.context
        return await mutate(
            context,
            LoginDomainPayload,
            lambda s: rules.add_login_domain(s, context, input.organisation_id, input.domain),
            _domain,
        )

    @strawberry.mutation(
        description="Look the login domain's TXT record up: VERIFIED once it holds the token.",
        permission_classes=MANAGE,
    )
    async def login_domain_verify(self, info: Info, input: LoginDomainIdInput) -> LoginDomainPayload:
        context = info.context
        lookup = dnspython_lookup(context.runtime.settings)
        return await mutate(
            context, LoginDomainPayload, lambda s: rules.verify_login_domain(s, context, input.id, lookup), _domain
        )

    @strawberry.mutation(description="Delete a login domain.", permission_classes=MANAGE)
    async def login_domain_delete(self, info: Info, input: LoginDomainIdInput) -> LoginDomainDeletePayload:
        context = info.context
        return await mutate(
            context,
            LoginDomainDeletePayload,
            lambda s: rules.delete_login_domain(s, context, input.id),
            lambda deleted: LoginDomainDeletePayload(deleted_id=strawberry.ID(deleted), errors=[]),
        )
