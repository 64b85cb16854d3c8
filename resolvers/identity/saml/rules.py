"""SAML configuration rules (issue 19, manual §25): an organisation's IdP, saved with PORTAL_MANAGE (like its
login domains: how its users sign in) for an organisation the caller sees.

The IdP is given as metadata XML, as a metadata URL (fetched once, bounded, at save), or by hand as entity ID,
SSO URL and signing certificate; it is stored as metadata XML either way, and checked before it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_permission
from graph.rules import UNSET, clean_text
from graph.tenancy import target_organisation
from models import identity as m
from models import saml as saml_models
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.saml.roles import RoleMapping, check_mappable, checked_mappings, loaded, stored
from resolvers.identity.saml.sp import IdpDetails, MetadataError, idp_metadata_xml, read_metadata

#: The most metadata read from a URL or pasted (Entra ID's and Okta's are a few kB).
METADATA_MAX_BYTES = 256 * 1024
METADATA_TIMEOUT = 10.0


@dataclass
class SamlChanges:
    """A partial update: UNSET stays. The IdP changes only when metadata, a URL or all three fields are given."""

    mode: saml_models.SamlMode = UNSET
    metadata_xml: str | None = None
    metadata_url: str | None = None
    entity_id: str | None = None
    sso_url: str | None = None
    certificate: str | None = None
    attribute_email: str | None = UNSET
    attribute_name: str | None = UNSET
    attribute_roles: str | None = UNSET
    role_mappings: list[RoleMapping] = UNSET
    trust_idp_mfa: bool = UNSET


def _https(url: str, field: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise DomainError(Code.INVALID, "give an https:// address", field)
    return url


async def fetch_metadata(url: str) -> str:
    """The metadata at `url`: https only, no redirects, at most METADATA_MAX_BYTES, within METADATA_TIMEOUT."""
    try:
        async with (
            httpx.AsyncClient(timeout=METADATA_TIMEOUT, follow_redirects=False) as http,
            http.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise DomainError(Code.INVALID, f"the metadata URL answered {response.status_code}", "metadataUrl")
            content = b""
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > METADATA_MAX_BYTES:
                    raise DomainError(Code.TOO_LARGE, "the metadata is too large", "metadataUrl")
    except httpx.HTTPError as error:
        raise DomainError(
            Code.INVALID, f"the metadata URL could not be read ({type(error).__name__})", "metadataUrl"
        ) from None
    return content.decode("utf-8", "replace")


def _checked_certificate(pem: str) -> str:
    text = pem.strip()
    if not text.startswith("-----BEGIN"):
        text = "-----BEGIN CERTIFICATE-----\n" + text + "\n-----END CERTIFICATE-----\n"
    try:
        x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        raise DomainError(Code.INVALID, "the certificate is not a PEM X.509 certificate", "certificate") from None
    return text


async def _idp(changes: SamlChanges) -> tuple[str, IdpDetails] | None:
    """The new IdP (metadata XML and what it says), or None when the change leaves it as it is."""
    if changes.metadata_url:
        xml, field = await fetch_metadata(_https(changes.metadata_url.strip(), "metadataUrl")), "metadataUrl"
    elif changes.metadata_xml:
        if len(changes.metadata_xml) > METADATA_MAX_BYTES:
            raise DomainError(Code.TOO_LARGE, "the metadata is too large", "metadataXml")
        xml, field = changes.metadata_xml, "metadataXml"
    elif changes.entity_id or changes.sso_url or changes.certificate:
        entity_id = clean_text(changes.entity_id or "", "entityId", max_length=500, single_line=True)
        sso_url = _https(clean_text(changes.sso_url or "", "ssoUrl", max_length=500, single_line=True), "ssoUrl")
        certificate = _checked_certificate(clean_text(changes.certificate or "", "certificate", max_length=20000))
        xml, field = idp_metadata_xml(entity_id, sso_url, certificate), "certificate"
    else:
        return None
    try:
        return xml, read_metadata(xml)
    except MetadataError as error:
        raise DomainError(Code.INVALID, str(error), field) from None


async def provider_of(session: AsyncSession, organisation: m.Organisation) -> saml_models.SamlProvider:
    provider = await session.get(saml_models.SamlProvider, organisation.id, with_for_update=True)
    if provider is None:
        # the column defaults apply at flush only: set the ones the rule reads before it
        provider = saml_models.SamlProvider(
            organisation_id=organisation.id,
            mode=saml_models.SamlMode.OFF,
            idp_metadata="",
            attribute_roles="",
            role_mapping=[],
            trust_idp_mfa=False,
        )
        session.add(provider)
    return provider


def _apply(provider: saml_models.SamlProvider, changes: SamlChanges) -> list[str]:
    changed = []
    for attribute, field in (
        ("attribute_email", "attributeEmail"),
        ("attribute_name", "attributeName"),
        ("attribute_roles", "attributeRoles"),
    ):
        value = getattr(changes, attribute)
        if value is not UNSET:
            value = clean_text(value or "", field, max_length=200, required=False, single_line=True)
            if getattr(provider, attribute) != value:
                setattr(provider, attribute, value)
                changed.append(attribute)
    for attribute in ("mode", "trust_idp_mfa"):
        value = getattr(changes, attribute)
        if value is not UNSET and getattr(provider, attribute) != value:
            setattr(provider, attribute, value)
            changed.append(attribute)
    if changes.role_mappings is not UNSET and loaded(provider.role_mapping) != changes.role_mappings:
        provider.role_mapping = stored(changes.role_mappings)
        changed.append("role_mapping")
    return changed


def _check_role_mapping(principal: Principal, provider: saml_models.SamlProvider, changes: SamlChanges) -> None:
    """The mapping given is well-formed; and whatever changes, the mapping saved holds only roles the caller
    could give by hand: else changing the IdP or the attribute would hand out, through an IdP the caller
    controls, roles the caller does not hold."""
    if changes.role_mappings is not UNSET:
        checked_mappings(principal, changes.role_mappings)
    else:
        check_mappable(principal, loaded(provider.role_mapping))


async def configure(
    session: AsyncSession, context: Context, organisation_id: str | None, changes: SamlChanges
) -> saml_models.SamlProvider:
    principal = require_permission(context, m.Permission.PORTAL_MANAGE)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    idp = await _idp(changes)  # fetched and checked before anything is written
    provider = await provider_of(session, organisation)
    _check_role_mapping(principal, provider, changes)
    changed = _apply(provider, changes)
    if idp is not None:
        provider.idp_metadata, details = idp
        provider.idp_entity_id, provider.idp_sso_url = details.entity_id, details.sso_url
        provider.idp_certificate = details.certificate
        changed.append("idp")
    if provider.mode is not saml_models.SamlMode.OFF and not provider.idp_metadata:
        raise DomainError(Code.REQUIRED, "give the identity provider before turning SSO on", "metadataXml")
    if provider.role_mapping and not provider.attribute_roles:
        raise DomainError(Code.REQUIRED, "give the attribute holding the roles the mapping reads", "attributeRoles")
    provider.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        context,
        "saml.configured",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={
            "changed": sorted(changed),
            "mode": provider.mode.value,
            "idpEntityId": provider.idp_entity_id,
            # who made which IdP value give which role is worth keeping
            **({"roleMapping": provider.role_mapping} if "role_mapping" in changed else {}),
        },
    )
    return provider
