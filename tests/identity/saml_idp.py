"""A real SAML identity provider for the tests (pysaml2's IdP), with its own key and certificate made with
`cryptography`, served over HTTP on 127.0.0.1 (starlette under uvicorn: `tests.environment.serve_app`).

`GET /sso?SAMLRequest=…` (the HTTP-Redirect binding our start endpoint sends the browser to) answers JSON
with the signed SAMLResponse and where to post it; the test then posts it to the real ACS endpoint. The
attributes `next_*` change the next response: to test each of the server's refusals.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MFA_CLASS = "http://schemas.microsoft.com/claims/multipleauthn"
PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def require_xmlsec() -> None:
    """SAML needs the xmlsec1 program: without it the tests skip (fail with FLEETGRAPH_REQUIRE_XMLSEC=1)."""
    if shutil.which("xmlsec1") is None:
        reason = "xmlsec1 is not installed"
        if os.environ.get("FLEETGRAPH_REQUIRE_XMLSEC") == "1":
            pytest.fail(f"{reason} (FLEETGRAPH_REQUIRE_XMLSEC=1 makes this an error)")
        pytest.skip(f"{reason}: install it (apt-get install xmlsec1) to run the SAML tests")


def key_and_certificate(common_name: str, ip_address: str | None = None) -> tuple[bytes, bytes]:
    """A fresh RSA key and a self-signed certificate for it (PEM), valid for a day; with `ip_address` a
    server certificate for that address (TLS on 127.0.0.1)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if ip_address:
        alternative = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip_address))])
        builder = builder.add_extension(alternative, critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class SamlIdp:
    """The IdP: call `start(sp_metadata)` with the SP's metadata XML, then serve `app` on 127.0.0.1."""

    directory: Path
    url: str = ""
    email: str = "sso.user@saml.example"
    name: str = "Sso User"
    next_sign: bool = True
    next_sign_response: bool = False
    next_audience: str | None = None
    next_in_response_to: str | None = None
    next_lifetime_minutes: int = 5
    next_class_ref: str = PASSWORD_CLASS
    #: the values of the groups attribute (as Entra ID's groups claim or an Okta group attribute statement)
    groups: list[str] = field(default_factory=list)
    groups_attribute: str = "groups"
    certificate: str = ""
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        key, certificate = key_and_certificate("test-idp")
        (self.directory / "idp.key").write_bytes(key)
        (self.directory / "idp.crt").write_bytes(certificate)
        self.certificate = certificate.decode()

    @property
    def entity_id(self) -> str:
        return self.url + "/idp"

    @property
    def sso_url(self) -> str:
        return self.url + "/sso"

    def server(self, sp_metadata: str) -> Server:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": shutil.which("xmlsec1"),
                "key_file": str(self.directory / "idp.key"),
                "cert_file": str(self.directory / "idp.crt"),
                **({"metadata": {"inline": [sp_metadata]}} if sp_metadata else {}),
                "service": {
                    "idp": {
                        "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": self.next_lifetime_minutes},
                                "attribute_restrictions": None,
                            }
                        },
                    }
                },
            }
        )
        return Server(config=config)

    sp_metadata: str = ""

    def respond(self, saml_request: str) -> tuple[str, str]:
        """The (destination, base64 SAMLResponse) answering a redirect-bound AuthnRequest."""
        server = self.server(self.sp_metadata)
        request = server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT).message
        self.requests.append(request.id)
        destination = request.assertion_consumer_service_url
        response = server.create_authn_response(
            identity={
                "mail": [self.email],
                "displayName": [self.name],
                **({self.groups_attribute: list(self.groups)} if self.groups else {}),
            },
            in_response_to=self.next_in_response_to or request.id,
            destination=destination,
            sp_entity_id=self.next_audience or request.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=self.email),
            authn={"class_ref": self.next_class_ref, "authn_auth": self.entity_id},
            sign_assertion=self.next_sign,
            sign_response=self.next_sign_response,
        )
        return destination, base64.b64encode(str(response).encode()).decode()

    @property
    def app(self) -> Starlette:
        async def sso(request: Request) -> JSONResponse:
            destination, response = self.respond(request.query_params["SAMLRequest"])
            return JSONResponse({"destination": destination, "SAMLResponse": response})

        async def metadata(request: Request) -> Response:
            return Response(self.metadata(), media_type="application/samlmetadata+xml")

        return Starlette(routes=[Route("/sso", sso), Route("/metadata", metadata)])

    def metadata(self) -> str:
        return create_metadata_string(None, config=self.server("").config, valid=None, sign=False).decode()
