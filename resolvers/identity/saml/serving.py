"""SAML routes (issue 19): `GET /auth/saml/{organisation}/metadata` (the SP metadata to give the IdP),
`GET /auth/saml/{organisation}/start` (redirects the browser to the IdP with an AuthnRequest) and
`POST /auth/saml/{organisation}/acs` (the assertion consumer, HTTP-POST binding). `{organisation}` is the
organisation's public ID (its "ID to copy").

The ACS answers 303 to FLEETGRAPH_SIGN_IN_RETURN_URL's `#signin=…`: the one-time code travels in the fragment,
which browsers never send to a server, so no access log holds it. A refusal is a plain 400 page with the
reason, and an audit event.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any
from urllib.parse import parse_qs

from defusedxml import ElementTree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from graph.context import Context
from graph.http import client_address
from models import identity as m
from models import saml as saml_models
from resolvers.audit.rules import record
from resolvers.identity.federation import starts
from resolvers.identity.federation.serving import back_to_client
from resolvers.identity.saml import signin, sp
from resolvers.identity.saml.signin import Accepted, Refused

log = logging.getLogger(__name__)
#: A SAMLResponse larger than this (base64) is refused unread.
RESPONSE_MAX_CHARS = 200_000
PROTOCOL = "{urn:oasis:names:tc:SAML:2.0:protocol}"
NO_STORE = {"Cache-Control": "no-store"}


def _text(message: str, status: int) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers=NO_STORE)


async def _provider(request: Request) -> tuple[m.Organisation, saml_models.SamlProvider] | None:
    """The organisation of the path and its IdP, when SSO is on; None reads like an unknown organisation."""
    if sp.xmlsec_binary() is None:  # a system requirement (README): without it nothing can be checked
        log.error("SAML sign-in needs the xmlsec1 program, which is not installed")
        return None
    public_id = request.path_params["organisation"]
    if len(public_id) > 36:
        return None
    async with request.app.state.runtime.session_factory() as session:
        row = (
            await session.execute(
                select(m.Organisation, saml_models.SamlProvider)
                .join(saml_models.SamlProvider, saml_models.SamlProvider.organisation_id == m.Organisation.id)
                .where(m.Organisation.public_id == public_id, saml_models.SamlProvider.mode != saml_models.SamlMode.OFF)
            )
        ).first()
    return (row[0], row[1]) if row is not None else None


async def metadata(request: Request) -> Response:
    found = await _provider(request)
    if found is None:
        return _text("No SAML sign-in for this organisation.", 404)
    xml = sp.sp_metadata(request.app.state.runtime.settings, found[0].public_id)
    return Response(xml, media_type="application/samlmetadata+xml")


async def start(request: Request) -> Response:
    found = await _provider(request)
    if found is None:
        return _text("No SAML sign-in for this organisation.", 404)
    organisation, provider = found
    runtime = request.app.state.runtime
    client = sp.client(runtime.settings, organisation.public_id, provider)
    request_id, info = client.prepare_for_authenticate(
        entityid=provider.idp_entity_id, binding=BINDING_HTTP_REDIRECT, response_binding=BINDING_HTTP_POST
    )
    address = client_address(request)
    async with runtime.session_factory() as session, session.begin():
        limit = runtime.settings.federation_starts_per_address
        wait = await starts.refusal(session, saml_models.SamlRequest, "saml", address, limit)
        if wait is None:
            await signin.store_request(session, organisation.id, request_id, address)
    if wait is not None:
        return starts.too_many(wait)
    location = dict(info["headers"])["Location"]
    return RedirectResponse(location, status_code=302, headers=NO_STORE)


def in_response_to(saml_response: str) -> str:
    """The response's InResponseTo, read before the signature is checked only to find the outstanding request."""
    try:
        root = ElementTree.fromstring(base64.b64decode(saml_response, validate=False))
    except Exception:  # not base64, not XML, or XML with entities: all are a bad response
        raise Refused("the SAMLResponse is not a SAML response") from None
    if root.tag != PROTOCOL + "Response" or not root.get("InResponseTo"):
        raise Refused("the response answers no sign-in request (unsolicited responses are refused)")
    return str(root.get("InResponseTo"))[:100]


def verify(client: Any, saml_response: str, request_id: str, acs: str) -> Accepted:
    """pysaml2's checks (signature by xmlsec1, audience, destination, recipient, times, InResponseTo)."""
    try:
        response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding={request_id: acs})
    except Exception as error:  # pysaml2 raises a different type per check: its type and text name the failed one
        detail = " ".join(str(error).split())[:120]
        raise Refused(f"the response was not accepted ({type(error).__name__}: {detail})") from None
    if response is None or response.assertion is None:
        raise Refused("the response holds no signed assertion")
    assertion = response.assertion
    return Accepted(
        request_id=request_id,
        assertion_id=str(assertion.id),
        issuer=str(assertion.issuer.text if assertion.issuer is not None else ""),
        not_on_or_after=signin.expiry(response.not_on_or_after),
        name_id=str(response.name_id.text if response.name_id is not None else ""),
        attributes={key: [str(v) for v in values] for key, values in (response.ava or {}).items()},
        class_refs=tuple(str(info[0]) for info in response.authn_info()),
    )


async def _posted_response(request: Request) -> str:
    """The form's SAMLResponse, read with a bound (a larger body is not read on); "" when none or too large."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > RESPONSE_MAX_CHARS + 10_000:  # room for RelayState and the encoding
            return ""
    values = parse_qs(body.decode("latin-1"), max_num_fields=5).get("SAMLResponse") or [""]
    return values[0] if len(values[0]) <= RESPONSE_MAX_CHARS else ""


async def acs(request: Request) -> Response:
    found = await _provider(request)
    if found is None:
        return _text("No SAML sign-in for this organisation.", 404)
    organisation, provider = found
    runtime = request.app.state.runtime
    context = Context(runtime, client_address=client_address(request), request=request)
    saml_response = await _posted_response(request)
    try:
        if not saml_response:
            raise Refused("no SAMLResponse, or one too large")
        request_id = in_response_to(saml_response)
        async with runtime.session_factory() as session:
            if not await signin.outstanding_request(session, organisation.id, request_id):
                raise Refused("the response answers no open sign-in request of this organisation")
        client = sp.client(runtime.settings, organisation.public_id, provider)
        acs_url = sp.acs_url(runtime.settings, organisation.public_id)
        accepted = await asyncio.to_thread(verify, client, saml_response, request_id, acs_url)
        async with context.transaction() as session:
            code = await signin.sign_in_code(session, context, provider, accepted)
    except Refused as refusal:
        await _refused(context, organisation, refusal)
        return _text(f"SAML sign-in refused: {refusal.reason}.", 400)
    return back_to_client(runtime.settings, f"signin={code}")


async def _refused(context: Context, organisation: m.Organisation, refusal: Refused) -> None:
    log.info("SAML sign-in refused for organisation %s: %s", organisation.id, refusal.reason)
    async with context.transaction() as session:
        await record(
            session,
            context,
            "saml.refused",
            organisation_id=organisation.id,
            target_type="User" if refusal.user_id else "Organisation",
            target_id=refusal.user_id or organisation.id,
            actor_label="SAML identity provider",
            details={"reason": refusal.reason},
        )


ROUTES = (
    Route(sp.PATH + "metadata", metadata, methods=["GET"]),
    Route(sp.PATH + "start", start, methods=["GET"]),
    Route(sp.PATH + "acs", acs, methods=["POST"]),
)
