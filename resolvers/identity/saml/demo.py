"""Demo data of SAML sign-in (issue 19): IntegraDemo allows SSO with an Entra ID-shaped identity provider, so
`samlConfiguration` shows the URLs to paste into Entra ID and a role mapping of its groups claim; password login
keeps working (ALLOWED)."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import saml as saml_models
from resolvers.identity.saml.sp import idp_metadata_xml, pem_body

DEMO_IDP_ENTITY_ID = "https://sts.windows.net/00000000-0000-4000-8000-000000000019/"
DEMO_IDP_SSO_URL = "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000019/saml2"


def demo_certificate() -> str:
    """A self-signed certificate standing in for the IdP's (its key is thrown away: nothing signs with it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Azure Federated SSO Certificate (demo)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3 * 365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


async def seed_demo_saml(session: AsyncSession, tenants: DemoTenants) -> None:
    certificate = demo_certificate()
    session.add(
        saml_models.SamlProvider(
            organisation_id=tenants.organisations["integra"].id,
            mode=saml_models.SamlMode.ALLOWED,
            idp_metadata=idp_metadata_xml(DEMO_IDP_ENTITY_ID, DEMO_IDP_SSO_URL, certificate),
            idp_entity_id=DEMO_IDP_ENTITY_ID,
            idp_sso_url=DEMO_IDP_SSO_URL,
            idp_certificate=pem_body(certificate),
            attribute_email="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            attribute_name="http://schemas.microsoft.com/identity/claims/displayname",
            # Entra ID's groups claim: the demo groups' object IDs give the admin and the user role
            attribute_roles="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
            role_mapping=[
                {"value": "5f1c9a1e-0000-4000-8000-00000000ad01", "role": "ORGANISATION_ADMIN"},
                {"value": "8a2d4b7c-0000-4000-8000-00000000e501", "role": "USER"},
            ],
            trust_idp_mfa=True,
        )
    )
    await session.flush()
