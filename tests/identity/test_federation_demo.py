"""The demo (issue 19): Erika's Entra ID account is linked, so a sign-in as that account (here the tests'
provider configured as "entra") signs her in by its subject alone."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from models import federation as fed
from resolvers.identity.federation.demo import DEMO_FEDERATED_EMAIL, DEMO_PROVIDER, DEMO_SUBJECT
from tests.environment import serve_app
from tests.identity.oidc_provider import CLIENT_ID, CLIENT_SECRET, Account, Provider

SIGN_IN = "mutation($code: String!) { federatedSignIn(input: {code: $code}) { user { email } errors { code } } }"


async def test_erika_signs_in_with_her_linked_entra_account(client, gql, runtime, monkeypatch):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    async with runtime.session_factory() as session:
        linked = await session.scalar(select(fed.FederatedIdentity))
    assert linked is not None and (linked.provider, linked.subject) == (DEMO_PROVIDER, DEMO_SUBJECT)
    # the provider no longer says the e-mail is verified: the link by subject is what signs her in
    idp = Provider(account=Account(DEMO_SUBJECT, "erika@elsewhere.example", email_verified=False))
    async with serve_app(idp.app()) as base_url:
        idp.base_url = base_url
        monkeypatch.setenv("DEMO_ENTRA_SECRET", CLIENT_SECRET)
        entry = {"preset": "oidc", "issuer": base_url, "client_id": CLIENT_ID, "client_secret_env": "DEMO_ENTRA_SECRET"}
        settings = dataclasses.replace(runtime.settings, oidc_providers=json.dumps({DEMO_PROVIDER: entry}))
        monkeypatch.setattr(runtime, "settings", settings)
        started = await client.get(f"/auth/oidc/{DEMO_PROVIDER}/start")
        async with httpx.AsyncClient() as browser:
            approved = await browser.get(started.headers["location"])
        callback = urlsplit(approved.headers["location"])
        done = await client.get(f"{callback.path}?{callback.query}")
    kind, _, code = done.headers["location"].partition("#")[2].partition("=")
    assert kind == "signin", done.headers["location"]
    payload = (await gql(SIGN_IN, {"code": code}))["data"]["federatedSignIn"]
    assert payload == {"user": {"email": DEMO_FEDERATED_EMAIL}, "errors": []}
