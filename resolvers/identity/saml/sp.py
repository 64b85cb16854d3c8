"""The service provider side of SAML on pysaml2: one client per organisation, built from its stored IdP.

pysaml2 checks the XML signature (with the `xmlsec1` program), the audience, the destination and recipient,
NotBefore/NotOnOrAfter and InResponseTo; the rules add that the request is ours and unanswered, and that the
assertion is consumed once.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from xml.sax.saxutils import escape

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import InMemoryMetaData
from saml2.metadata import create_metadata_string

from graph.settings import Settings
from models import saml as saml_models

#: How far the IdP's clock may be off (seconds) when NotBefore/NotOnOrAfter are checked.
CLOCK_SKEW = 60
PATH = "/auth/saml/{organisation}/"


class MetadataError(ValueError):
    """The IdP metadata could not be read: the message says why (no secret in it)."""


def xmlsec_binary() -> str | None:
    return shutil.which("xmlsec1")


def base_url(settings: Settings, organisation_public_id: str) -> str:
    """Where this API server's SAML routes are: FLEETGRAPH_DOWNLOAD_BASE_URL (this server's address), else
    FLEETGRAPH_PUBLIC_URL. Never the request's Host: the IdP's response names these URLs, and they must not
    change with a header the sender chooses."""
    server = settings.download_base_url.rstrip("/") or settings.link_base_url
    return server + PATH.format(organisation=organisation_public_id)


def sp_entity_id(settings: Settings, organisation_public_id: str) -> str:
    return base_url(settings, organisation_public_id) + "metadata"


def acs_url(settings: Settings, organisation_public_id: str) -> str:
    return base_url(settings, organisation_public_id) + "acs"


def pem_body(certificate: str) -> str:
    """The base64 body of a PEM certificate (as metadata's X509Certificate holds it)."""
    lines = [line.strip() for line in certificate.strip().splitlines()]
    return "".join(line for line in lines if line and not line.startswith("-----"))


def idp_metadata_xml(entity_id: str, sso_url: str, certificate: str) -> str:
    """Minimal IdP metadata for an IdP configured by hand (entity ID, SSO URL, signing certificate)."""
    body = escape(pem_body(certificate))
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{escape(entity_id, {chr(34): "&quot;"})}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" '
        'WantAuthnRequestsSigned="false"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
        f"<ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        f'<md:SingleSignOnService Binding="{BINDING_HTTP_REDIRECT}" '
        f'Location="{escape(sso_url, {chr(34): "&quot;"})}"/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


@dataclass(frozen=True)
class IdpDetails:
    entity_id: str
    sso_url: str
    certificate: str


def read_metadata(xml: str) -> IdpDetails:
    """The entity ID, HTTP-Redirect SSO URL and signing certificate of the one IdP in `xml`."""
    store = InMemoryMetaData(None, None)
    try:
        store.parse(xml)
    except Exception as error:  # pysaml2 raises many kinds for bad XML; all mean the same to the admin
        raise MetadataError(f"the metadata is not SAML metadata XML ({type(error).__name__})") from None
    idps = [entity for entity, descriptor in store.items() if "idpsso_descriptor" in descriptor]
    if len(idps) != 1:
        raise MetadataError("the metadata must describe exactly one identity provider")
    entity_id = idps[0]
    services = store.service(entity_id, "idpsso_descriptor", "single_sign_on_service", BINDING_HTTP_REDIRECT)
    if not services:
        raise MetadataError("the identity provider has no HTTP-Redirect single sign-on service")
    certificates = store.certs(entity_id, "idpsso", "signing")
    if not certificates:
        raise MetadataError("the identity provider's metadata has no signing certificate")
    return IdpDetails(entity_id=entity_id, sso_url=services[0]["location"], certificate=certificates[0][1])


def client(settings: Settings, organisation_public_id: str, provider: saml_models.SamlProvider) -> Saml2Client:
    """A pysaml2 SP for the organisation: assertions must be signed; unsolicited responses are refused."""
    config = SPConfig()
    config.load(
        {
            "entityid": sp_entity_id(settings, organisation_public_id),
            "xmlsec_binary": xmlsec_binary(),
            "accepted_time_diff": CLOCK_SKEW,
            "allow_unknown_attributes": True,
            "metadata": {"inline": [provider.idp_metadata]},
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(acs_url(settings, organisation_public_id), BINDING_HTTP_POST)]
                    },
                    "want_assertions_signed": True,
                    "want_response_signed": False,
                    "allow_unsolicited": False,
                    "authn_requests_signed": False,
                }
            },
        }
    )
    return Saml2Client(config=config)


def sp_metadata(settings: Settings, organisation_public_id: str) -> str:
    config = SPConfig()
    config.load(
        {
            "entityid": sp_entity_id(settings, organisation_public_id),
            "xmlsec_binary": xmlsec_binary(),
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(acs_url(settings, organisation_public_id), BINDING_HTTP_POST)]
                    },
                    "want_assertions_signed": True,
                    "authn_requests_signed": False,
                }
            },
        }
    )
    return create_metadata_string(None, config=config, valid=None, sign=False).decode()
