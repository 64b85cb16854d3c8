"""SAML single sign-on (issue 19, manual §25): `samlConfiguration`, `samlConfigure`; the sign-in code the ACS
hands out is redeemed by `federatedSignIn` (federation.schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import to_global_id
from graph.rules import UNSET
from graph.tenancy import organisation_visible
from models import identity as m
from models import saml as saml_models
from resolvers.identity.enums import RoleEnum
from resolvers.identity.errors import IdentityError
from resolvers.identity.lookups import organisation_filter_pk
from resolvers.identity.saml import rules, sp
from resolvers.identity.saml.roles import RoleMapping, loaded

MANAGE = [needs(m.Permission.PORTAL_MANAGE)]
SamlModeEnum = strawberry.enum(
    saml_models.SamlMode,
    description="OFF (default): no SAML. ALLOWED: SAML or password. REQUIRED: password login is refused "
    "(SSO_REQUIRED) for the organisation's users.",
)


@strawberry.type(description="An IdP value (a group's object ID or name) and the role it gives.")
class SamlRoleMapping:
    value: str = strawberry.field(description="The attribute's value, compared exactly.")
    role: RoleEnum = strawberry.field(description="The role it gives.")  # type: ignore[valid-type]


@strawberry.input(description="An IdP value (a group's object ID or name) and the role it gives.")
class SamlRoleMappingInput:
    value: str = strawberry.field(description="The attribute's value (1-200 characters), compared exactly.")
    role: RoleEnum = strawberry.field(  # type: ignore[valid-type]
        description="The role it gives: one you could give by hand; never PLATFORM_ADMIN or CONSUMER."
    )


@strawberry.type(description="An organisation's SAML identity provider and what to give it.")
class SamlConfiguration:
    organisation_id: strawberry.ID = strawberry.field(description="The organisation.")
    mode: SamlModeEnum = strawberry.field(description="Off, allowed or required.")  # type: ignore[valid-type]
    idp_entity_id: str = strawberry.field(description="The IdP's entity ID (Issuer); empty until configured.")
    idp_sso_url: str = strawberry.field(description="Where the browser is sent to sign in (HTTP-Redirect).")
    idp_certificate: str = strawberry.field(description="The IdP's signing certificate (base64 DER).")
    attribute_email: str = strawberry.field(description="The attribute holding the e-mail; empty: the NameID.")
    attribute_name: str = strawberry.field(description="The attribute holding the display name (new users).")
    attribute_roles: str = strawberry.field(
        description="The attribute holding the user's groups or roles at the IdP (Entra ID's groups claim, an Okta "
        "group attribute statement); empty: roles are not taken from the IdP."
    )
    role_mappings: list[SamlRoleMapping] = strawberry.field(
        description="Which value of that attribute gives which role. The roles named here are managed by the IdP: "
        "at each sign-in the user holds exactly those of them their values map to (at least USER); other roles "
        "stay as given by hand."
    )
    trust_idp_mfa: bool = strawberry.field(
        description="An assertion with a multi-factor AuthnContextClassRef needs no authenticator code here."
    )
    sp_entity_id: str = strawberry.field(description="Our entity ID (and metadata URL): paste into the IdP.")
    acs_url: str = strawberry.field(description="Our assertion consumer URL (Reply URL): paste into the IdP.")
    start_url: str = strawberry.field(description="Where the login page's 'Sign in with SSO' button links.")
    updated_at: datetime | None = strawberry.field(description="Last change; null when never configured.")


def configuration(info: Info, organisation: m.Organisation, row: saml_models.SamlProvider | None) -> SamlConfiguration:
    settings = info.context.runtime.settings
    row = row or saml_models.SamlProvider(organisation_id=organisation.id, mode=saml_models.SamlMode.OFF)
    return SamlConfiguration(
        organisation_id=strawberry.ID(to_global_id("Organisation", organisation.id)),
        mode=row.mode or saml_models.SamlMode.OFF,
        idp_entity_id=row.idp_entity_id or "",
        idp_sso_url=row.idp_sso_url or "",
        idp_certificate=row.idp_certificate or "",
        attribute_email=row.attribute_email or "",
        attribute_name=row.attribute_name or "",
        attribute_roles=row.attribute_roles or "",
        role_mappings=[SamlRoleMapping(value=mapping.value, role=mapping.role) for mapping in loaded(row.role_mapping)],
        trust_idp_mfa=bool(row.trust_idp_mfa),
        sp_entity_id=sp.sp_entity_id(settings, organisation.public_id),
        acs_url=sp.acs_url(settings, organisation.public_id),
        start_url=sp.base_url(settings, organisation.public_id) + "start",
        updated_at=row.updated_at,
    )


@strawberry.input(description="Changes to the SAML sign-in; omitted fields stay as they are.")
class SamlConfigureInput:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation (of your subtree); default yours."
    )
    mode: SamlModeEnum | None = strawberry.field(default=None, description="Off, allowed or required.")  # type: ignore[valid-type]
    metadata_xml: str | None = strawberry.field(default=None, description="The IdP's metadata XML (federation XML).")
    metadata_url: str | None = strawberry.field(
        default=None, description="Or an https:// URL of the IdP's metadata, read once now (at most 256 kB)."
    )
    entity_id: str | None = strawberry.field(default=None, description="Or by hand: the IdP's entity ID …")
    sso_url: str | None = strawberry.field(default=None, description="… its https:// sign-in URL …")
    certificate: str | None = strawberry.field(default=None, description="… and its signing certificate (PEM).")
    attribute_email: str | None = strawberry.field(default=UNSET, description="E-mail attribute; empty: NameID.")
    attribute_name: str | None = strawberry.field(default=UNSET, description="Display name attribute.")
    attribute_roles: str | None = strawberry.field(
        default=UNSET, description="Groups or roles attribute (e.g. Entra ID's groups claim); empty: none."
    )
    role_mappings: list[SamlRoleMappingInput] | None = strawberry.field(
        default=None,
        description="Replace the role mappings (at most 50; an empty list removes them); needs attributeRoles.",
    )
    trust_idp_mfa: bool | None = strawberry.field(default=None, description="Trust the IdP's MFA assertion.")

    def changes(self) -> rules.SamlChanges:
        return rules.SamlChanges(
            mode=UNSET if self.mode is None else saml_models.SamlMode(self.mode),
            metadata_xml=self.metadata_xml,
            metadata_url=self.metadata_url,
            entity_id=self.entity_id,
            sso_url=self.sso_url,
            certificate=self.certificate,
            attribute_email=self.attribute_email,
            attribute_name=self.attribute_name,
            attribute_roles=self.attribute_roles,
            role_mappings=UNSET
            if self.role_mappings is None
            else [RoleMapping(mapping.value, m.Role(mapping.role)) for mapping in self.role_mappings],
            trust_idp_mfa=UNSET if self.trust_idp_mfa is None else self.trust_idp_mfa,
        )


@strawberry.type(description="The SAML configuration after a change.")
class SamlConfigurationPayload:
    configuration: SamlConfiguration | None = strawberry.field(description="The configuration; null when refused.")
    errors: list[IdentityError] = strawberry.field(
        description="NOT_FOUND (organisation), INVALID (metadata, URL or certificate), TOO_LARGE (metadata), "
        "REQUIRED (no IdP yet while turning SSO on; role mappings without attributeRoles), TOO_MANY, DUPLICATE, "
        "REQUIRED or TOO_LONG (role mappings), NOT_ALLOWED (a role you could not give by hand, PLATFORM_ADMIN "
        "or CONSUMER)."
    )


@strawberry.type
class SamlQuery:
    @strawberry.field(description="An organisation's SAML sign-in configuration.", permission_classes=MANAGE)
    async def saml_configuration(
        self,
        info: Info,
        organisation_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The organisation (of your subtree); default yours.")
        ] = None,
    ) -> SamlConfiguration | None:
        principal = info.context.principal
        pk = organisation_filter_pk(organisation_id, "organisationId")
        async with info.context.session() as session:
            row = (
                await session.execute(
                    select(m.Organisation, saml_models.SamlProvider)
                    .outerjoin(saml_models.SamlProvider, saml_models.SamlProvider.organisation_id == m.Organisation.id)
                    # another tenant's organisation reads like an unknown one: null
                    .where(
                        m.Organisation.id == (principal.organisation_id if pk is None else pk),
                        organisation_visible(principal),
                    )
                )
            ).first()
        return configuration(info, row[0], row[1]) if row is not None else None


@strawberry.type
class SamlMutation:
    @strawberry.mutation(
        description="Configure the organisation's SAML identity provider and whether SSO is off, allowed or "
        "required (manual §25).",
        permission_classes=MANAGE,
    )
    async def saml_configure(self, info: Info, input: SamlConfigureInput) -> SamlConfigurationPayload:
        context = info.context

        async def work(session):
            provider = await rules.configure(session, context, input.organisation_id, input.changes())
            return configuration(info, await session.get(m.Organisation, provider.organisation_id), provider)

        return await mutate(
            context, SamlConfigurationPayload, work, lambda c: SamlConfigurationPayload(configuration=c, errors=[])
        )
