"""`GET /auth/oidc/{provider}/start` and `GET|POST /auth/oidc/{provider}/callback` (POST: Apple's form_post).

Start stores a pending authorisation and redirects to the provider. The callback spends it (once), exchanges
the code, checks who signed in, and sends the browser to FLEETGRAPH_SIGN_IN_RETURN_URL with `#signin=<code>`
(redeemed by the `federatedSignIn` mutation for login's tokens) or `#error=<reason>`. Both travel in the
fragment, which browsers never send to a server: no token or code of ours lands in an access log.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from graph.context import Context
from graph.http import client_address
from graph.settings import Settings
from models import federation as fed
from resolvers.identity.federation import rules, starts
from resolvers.identity.federation.protocol import Reason, Refused, exchange, identify, resolved
from resolvers.identity.federation.providers import Provider, providers

log = logging.getLogger("fleetgraph.federation")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _provider(request: Request) -> Provider | None:
    return providers(request.app.state.runtime.settings).get(request.path_params["provider"])


def redirect_uri(request: Request, provider: Provider) -> str:
    base = request.app.state.runtime.settings.oidc_redirect_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/auth/oidc/{provider.name}/callback"


def back_to_client(settings: Settings, fragment: str) -> Response:
    """The browser back at the client after a federated sign-in (OpenID Connect or SAML): "signin=<code>" or
    "error=<reason>" in the fragment, which browsers never send to a server."""
    target = settings.sign_in_return_url or settings.link_base_url + "/"
    return RedirectResponse(f"{target}#{fragment}", status_code=303, headers=NO_STORE)


def _back(request: Request, fragment: str) -> Response:
    return back_to_client(request.app.state.runtime.settings, fragment)


async def start(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return PlainTextResponse("No such provider.\n", status_code=404, headers=NO_STORE)
    runtime = request.app.state.runtime
    try:
        provider = await resolved(provider)
    except Refused as error:
        log.warning("OIDC provider %s: %s", provider.name, error.detail)
        return _back(request, f"error={error.reason.value}")
    address = client_address(request)
    async with runtime.session_factory() as session, session.begin():
        limit = runtime.settings.federation_starts_per_address
        wait = await starts.refusal(session, fed.PendingAuthorisation, "oidc", address, limit)
        if wait is None:
            url = await rules.start(session, provider, redirect_uri(request, provider), address)
    if wait is not None:
        return starts.too_many(wait)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


async def callback(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return PlainTextResponse("No such provider.\n", status_code=404, headers=NO_STORE)
    params = await _params(request)
    context = Context(request.app.state.runtime, client_address=client_address(request), request=request)
    try:
        # the pending authorisation is spent in its own transaction, before the code is exchanged
        async with context.transaction() as session:
            pending = await rules.claim_pending(session, provider, params.get("state", ""))
        if params.get("error") or not params.get("code"):
            raise Refused(Reason.PROVIDER_ERROR, f"the provider answered {params.get('error', 'no code')}"[:200])
        provider = await resolved(provider)
        tokens = await exchange(provider, params["code"], pending.code_verifier, redirect_uri(request, provider))
        who = await identify(provider, tokens, pending.nonce)
        async with context.transaction() as session:
            code = await rules.grant(session, context, provider, who)
    except Refused as error:
        log.info("OIDC sign-in with %s refused: %s", provider.name, error.reason.value)
        async with context.transaction() as session:
            await rules.refused(session, context, provider.name, error)
        return _back(request, f"error={error.reason.value}")
    return _back(request, f"signin={code}")


ROUTES = (
    Route("/auth/oidc/{provider}/start", start, methods=["GET"]),
    Route("/auth/oidc/{provider}/callback", callback, methods=["GET", "POST"]),
)
