"""Federated sign-in starts per client address (issue 19): each OpenID Connect and SAML start stores a row for
minutes, so an address may hold at most FLEETGRAPH_FEDERATION_STARTS_PER_ADDRESS unexpired ones of a kind;
the next start is answered 429 with Retry-After and stores nothing, also under parallel starts."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from graph.settings import Settings, SettingsError
from models import federation as fed
from models import saml as saml_models
from models.base import utcnow
from tests.burst import burst
from tests.environment import app_client, serve_app
from tests.identity.saml_idp import SamlIdp, require_xmlsec

LIMIT = 5
CONFIGURE_SAML = """mutation($input: SamlConfigureInput!) {
  samlConfigure(input: $input) { errors { code field message } } }"""


@pytest.fixture
def limited(runtime, monkeypatch):
    """An OAuth 2 provider "plain" (its start needs no answer from the provider), and a limit of 5."""
    endpoints = {
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "https://idp.example/token",
        "userinfo_endpoint": "https://idp.example/userinfo",
    }
    providers = {"plain": {"preset": "oauth2", "client_id": "fleetgraph", **endpoints}}
    settings = dataclasses.replace(
        runtime.settings, oidc_providers=json.dumps(providers), federation_starts_per_address=LIMIT
    )
    monkeypatch.setattr(runtime, "settings", settings)


@pytest.fixture
async def saml_start(gql, world, tmp_path) -> str:
    """Organisation a with SAML sign-in (the IdP's metadata only: a start does not talk to the IdP)."""
    require_xmlsec()
    idp = SamlIdp(tmp_path)
    async with serve_app(idp.app) as url:
        idp.url = url
        variables = {"metadataXml": idp.metadata(), "mode": "ALLOWED", "attributeEmail": "mail"}
        answer = await gql(CONFIGURE_SAML, {"input": variables}, token=world.tokens["admin_a"])
        assert answer["data"]["samlConfigure"]["errors"] == [], answer
    return f"/auth/saml/{world.organisations['a'].public_id}/start"


async def held(runtime, model, address: str = "127.0.0.1") -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(model).where(model.client_address == address))


async def expire_all(runtime, model) -> None:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(model).values(expires_at=utcnow() - timedelta(seconds=1)))


async def check_limit(client, app, runtime, path: str, model, caplog) -> None:
    """LIMIT starts pass, the next is refused (nothing stored, a warning), another address still starts,
    and once the rows expire the address starts again."""
    for _ in range(LIMIT):
        assert (await client.get(path)).status_code == 302
    caplog.set_level(logging.WARNING, logger="fleetgraph.federation")
    refused = await client.get(path)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("text/plain") and "Too many" in refused.text
    assert 500 <= int(refused.headers["retry-after"]) <= 600  # the oldest row's ten minutes
    assert await held(runtime, model) == LIMIT
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0], warnings
    async with app_client(app, client=("10.0.0.7", 4000)) as other:
        assert (await other.get(path)).status_code == 302
    assert await held(runtime, model, "10.0.0.7") == 1
    await expire_all(runtime, model)
    assert (await client.get(path)).status_code == 302


async def test_oidc_starts_are_limited_per_address(client, app, runtime, limited, caplog):
    await check_limit(client, app, runtime, "/auth/oidc/plain/start", fed.PendingAuthorisation, caplog)


async def test_saml_starts_are_limited_per_address(client, app, runtime, limited, saml_start, caplog):
    await check_limit(client, app, runtime, saml_start, saml_models.SamlRequest, caplog)


async def check_parallel(client, runtime, path: str, model) -> None:
    answers = await burst(runtime, 3 * LIMIT, lambda _: client.get(path))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [302] * LIMIT + [429] * (2 * LIMIT)
    assert await held(runtime, model) == LIMIT


async def test_parallel_oidc_starts_from_one_address_never_pass_the_limit(client, runtime, limited):
    await check_parallel(client, runtime, "/auth/oidc/plain/start", fed.PendingAuthorisation)


async def test_parallel_saml_starts_from_one_address_never_pass_the_limit(client, runtime, limited, saml_start):
    await check_parallel(client, runtime, saml_start, saml_models.SamlRequest)


def test_the_limit_is_a_setting_of_thirty_by_default():
    assert Settings.from_env({}).federation_starts_per_address == 30
    assert Settings.from_env({"FLEETGRAPH_FEDERATION_STARTS_PER_ADDRESS": "5"}).federation_starts_per_address == 5
    with pytest.raises(SettingsError, match="at least 1"):
        Settings.from_env({"FLEETGRAPH_FEDERATION_STARTS_PER_ADDRESS": "0"})
