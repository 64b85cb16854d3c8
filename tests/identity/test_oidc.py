"""OpenID Connect / OAuth 2 sign-in end to end over HTTP against a real provider on 127.0.0.1
(tests/identity/oidc_provider.py): start, the provider's authorize, the callback (code exchange, ID token or
userinfo checks), the sign-in code in the redirect's fragment, and federatedSignIn for login's tokens."""

from __future__ import annotations

import dataclasses
import json
import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import func, select, update

from graph.secrets import load_sealer
from models import federation as fed
from models import identity as m
from models.audit import AuditEvent
from resolvers.identity.federation.providers import seal_client_secret
from tests.burst import burst
from tests.environment import serve_app
from tests.identity.oidc_provider import CLIENT_ID, CLIENT_SECRET, Account, Provider
from tests.identity.two_factor_helpers import enrol, fresh_code

RETURN_URL = "https://app.example/signed-in"
N = 8
SIGN_IN = """mutation($input: FederatedSignInInput!) {
  federatedSignIn(input: $input) { accessToken refreshToken user { email } errors { code field } } }"""


@pytest.fixture
async def provider(runtime, monkeypatch, tmp_path):
    """The provider, configured as "idp" (OpenID Connect by discovery), "plain" (OAuth 2 with userinfo) and
    "ya" (the Yandex adapter pointed at the provider's Yandex-shaped userinfo)."""
    idp = Provider()
    async with serve_app(idp.app()) as base_url:
        idp.base_url = base_url
        secret_file = tmp_path / "client-secret"
        secret_file.write_text(CLIENT_SECRET + "\n")
        common = {"client_id": CLIENT_ID, "client_secret_file": str(secret_file)}
        endpoints = {"authorization_endpoint": f"{base_url}/authorize", "token_endpoint": f"{base_url}/token"}
        # "idp"'s secret is sealed with the master key: the provider's token endpoint checks it arrives as it was
        sealed = seal_client_secret(load_sealer(runtime.settings), "idp", CLIENT_SECRET)
        providers = {
            "idp": {"preset": "oidc", "issuer": base_url, "client_id": CLIENT_ID, "client_secret_sealed": sealed},
            "plain": {"preset": "oauth2", "userinfo_endpoint": f"{base_url}/userinfo", **endpoints, **common},
            "ya": {"preset": "yandex", "userinfo_endpoint": f"{base_url}/yandex/info", **endpoints, **common},
        }
        settings = dataclasses.replace(
            runtime.settings, oidc_providers=json.dumps(providers), sign_in_return_url=RETURN_URL
        )
        monkeypatch.setattr(runtime, "settings", settings)
        yield idp


async def authorize(client: httpx.AsyncClient, name: str = "idp") -> str:
    """Start a sign-in and let the provider approve it: the callback URL (path and query) it redirects to."""
    started = await client.get(f"/auth/oidc/{name}/start")
    assert started.status_code == 302, started.text
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["state"][0]) >= 32
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(started.headers["location"])
    assert approved.status_code in (302, 307), approved.text
    callback = urlsplit(approved.headers["location"])
    return f"{callback.path}?{callback.query}"


def fragment(response: httpx.Response) -> tuple[str, str]:
    """("signin", code) or ("error", reason) from the callback's redirect to the return URL."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(RETURN_URL + "#"), location
    key, _, value = location.partition("#")[2].partition("=")
    return key, value


async def sign_in(client: httpx.AsyncClient, name: str = "idp") -> tuple[str, str]:
    return fragment(await client.get(await authorize(client, name)))


async def redeem(gql, code: str, otp: str | None = None) -> dict:
    answer = await gql(SIGN_IN, {"input": {"code": code, "otp": otp}})
    return answer["data"]["federatedSignIn"]


async def actions(runtime, prefix: str = "user.") -> list[tuple[str, str]]:
    async with runtime.session_factory() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.action.like(f"{prefix}%"))
            .order_by(AuditEvent.id)
        )
        return [(action, (details or {}).get("reason", "")) for action, details in rows]


async def identities(runtime) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(fed.FederatedIdentity)) or 0


async def test_first_sign_in_links_by_verified_email_and_gives_login_tokens(client, gql, world, runtime, provider):
    kind, code = await sign_in(client)
    assert kind == "signin"
    payload = await redeem(gql, code)
    assert payload["errors"] == [] and payload["user"] == {"email": "user@a.example"}
    me = await gql("{ me { email } }", token=payload["accessToken"])
    assert me["data"]["me"] == {"email": "user@a.example"}
    refreshed = await gql(
        "mutation($t: String!) { tokenRefresh(input: {refreshToken: $t}) { accessToken errors { code } } }",
        {"t": payload["refreshToken"]},
    )
    assert refreshed["data"]["tokenRefresh"]["errors"] == []
    assert (await redeem(gql, code))["errors"] == [{"code": "INVALID_TOKEN", "field": ["code"]}]
    # later sign-ins go by the linked subject, whatever e-mail the provider says now
    provider.account = Account("subject-1", "someone-else@elsewhere.example", email_verified=False)
    kind, code = await sign_in(client)
    assert kind == "signin" and (await redeem(gql, code))["user"] == {"email": "user@a.example"}
    assert await identities(runtime) == 1
    assert await actions(runtime, "user.federated") == [("user.federated_identity_linked", "")]
    assert [a for a, _ in await actions(runtime, "user.login")] == ["user.login", "user.login"]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"nonce": "not-the-nonce"}, "WRONG_NONCE"),
        ({"iss": "https://evil.example"}, "WRONG_ISSUER"),
        ({"aud": "another-client"}, "WRONG_AUDIENCE"),
        ({"exp": 1_000_000_000}, "EXPIRED"),
        ({"sign_with_other_key": True}, "INVALID_ID_TOKEN"),
    ],
)
async def test_a_wrong_id_token_signs_nobody_in(client, world, runtime, provider, tamper, reason):
    provider.tamper = tamper
    assert await sign_in(client) == ("error", reason)
    assert await identities(runtime) == 0
    assert await actions(runtime) == [("user.federated_sign_in_refused", reason)]
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(fed.SignInCode)) == 0


async def test_an_unverified_email_is_not_linked(client, world, runtime, provider):
    provider.account = Account("subject-2", "user@a.example", email_verified=False)
    assert await sign_in(client) == ("error", "EMAIL_NOT_VERIFIED")
    assert await identities(runtime) == 0
    async with runtime.session_factory() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "user.federated_sign_in_refused"))
    assert event is not None and event.target_id == world.users["user_a"].id


async def test_an_unknown_email_makes_no_user(client, world, runtime, provider):
    provider.account = Account("subject-3", "stranger@nowhere.example")
    assert await sign_in(client) == ("error", "NO_ACCOUNT")
    assert await identities(runtime) == 0


async def test_a_replayed_state_is_refused(client, world, runtime, provider):
    callback = await authorize(client)
    assert fragment(await client.get(callback))[0] == "signin"
    assert fragment(await client.get(callback)) == ("error", "INVALID_STATE")
    assert fragment(await client.get("/auth/oidc/idp/callback?state=made-up&code=x")) == ("error", "INVALID_STATE")
    assert provider.token_requests == 1


async def test_parallel_callbacks_with_one_state_sign_in_once(client, world, runtime, provider):
    callback = await authorize(client)
    answers = await burst(runtime, N, lambda i: client.get(callback))
    kinds = sorted(fragment(answer)[0] for answer in answers)
    assert kinds == ["error"] * (N - 1) + ["signin"]
    assert provider.token_requests == 1


async def test_parallel_redemptions_of_one_sign_in_code_give_one_session(client, gql, world, runtime, provider):
    _, code = await sign_in(client)
    answers = await burst(runtime, N, lambda i: redeem(gql, code))
    assert len([a for a in answers if a["errors"] == []]) == 1
    assert [a["errors"] for a in answers if a["errors"]] == [[{"code": "INVALID_TOKEN", "field": ["code"]}]] * (N - 1)


# Yandex lists confirmed addresses only: an unconfirmed one is no e-mail at all
@pytest.mark.parametrize(("name", "unverified"), [("plain", "EMAIL_NOT_VERIFIED"), ("ya", "NO_ACCOUNT")])
async def test_plain_oauth2_adapters_read_the_user_from_userinfo(
    client, gql, world, runtime, provider, name, unverified
):
    kind, code = await sign_in(client, name)
    assert kind == "signin"
    assert (await redeem(gql, code))["user"] == {"email": "user@a.example"}
    async with runtime.session_factory() as session:
        linked = await session.scalar(select(fed.FederatedIdentity))
    assert linked is not None and (linked.provider, linked.subject) == (name, "subject-1")
    provider.account = Account("subject-4", "admin@a.example", email_verified=False)
    assert await sign_in(client, name) == ("error", unverified)
    assert await identities(runtime) == 1


async def test_two_factor_applies_unless_trusted_mfa_is_asserted(client, gql, world, runtime, provider, monkeypatch):
    secret = await enrol(gql, runtime, world, "user_a")
    _, code = await sign_in(client)
    assert (await redeem(gql, code))["errors"] == [{"code": "TWO_FACTOR_REQUIRED", "field": ["otp"]}]
    assert (await redeem(gql, code, "000000"))["errors"] == [{"code": "INVALID_TWO_FACTOR_CODE", "field": ["otp"]}]
    assert (await redeem(gql, code, "000000"))["errors"] == [{"code": "INVALID_TOKEN", "field": ["code"]}]
    _, code = await sign_in(client)
    good = await fresh_code(runtime, world.users["user_a"].id, secret)
    assert (await redeem(gql, code, good))["errors"] == []
    # MFA at the provider counts only where the settings trust it
    provider.account = Account("subject-1", "user@a.example", amr=["pwd", "mfa"])
    _, code = await sign_in(client)
    assert (await redeem(gql, code))["errors"] == [{"code": "TWO_FACTOR_REQUIRED", "field": ["otp"]}]
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, oidc_trust_idp_mfa=True))
    _, code = await sign_in(client)
    assert (await redeem(gql, code))["errors"] == []
    provider.account = Account("subject-1", "user@a.example", amr=["pwd"])
    _, code = await sign_in(client)
    assert (await redeem(gql, code))["errors"] == [{"code": "TWO_FACTOR_REQUIRED", "field": ["otp"]}]


async def test_a_rotated_provider_key_is_fetched_again(client, gql, world, runtime, provider):
    assert (await sign_in(client))[0] == "signin"  # the JWKS is cached now
    provider.key = RSAKey.generate_key(2048, parameters={"kid": "test-2"})
    assert (await sign_in(client))[0] == "signin"


async def test_no_secret_code_or_token_is_logged(client, gql, world, runtime, provider, caplog):
    caplog.set_level(logging.DEBUG)
    provider.tamper = {"nonce": "wrong"}
    assert (await sign_in(client))[0] == "error"
    provider.tamper = {}
    _, code = await sign_in(client)
    payload = await redeem(gql, code)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (CLIENT_SECRET, code, payload["accessToken"], payload["refreshToken"], *provider.access_tokens):
        assert secret not in logged


async def test_the_callback_takes_a_form_post_as_apple_sends_it(client, gql, world, provider):
    callback = urlsplit(await authorize(client))
    form = {key: values[0] for key, values in parse_qs(callback.query).items()}
    kind, code = fragment(await client.post(callback.path, data=form))
    assert kind == "signin" and (await redeem(gql, code))["user"] == {"email": "user@a.example"}


async def test_a_provider_error_or_a_deactivated_user_signs_nobody_in(client, world, runtime, provider):
    callback = urlsplit(await authorize(client))
    state = parse_qs(callback.query)["state"][0]
    answer = await client.get(callback.path, params={"state": state, "error": "access_denied"})
    assert fragment(answer) == ("error", "PROVIDER_ERROR")
    assert provider.token_requests == 0
    async with runtime.session_factory() as session, session.begin():
        user = await session.get(m.User, world.users["user_a"].id)
        user.is_active = False
    assert await sign_in(client) == ("error", "NO_ACCOUNT")
    assert [reason for _, reason in await actions(runtime)] == ["PROVIDER_ERROR", "NO_ACCOUNT"]


async def test_unknown_provider_is_not_found(client, world, provider):
    assert (await client.get("/auth/oidc/nobody/start")).status_code == 404
    assert (await client.get("/auth/oidc/nobody/callback?state=x&code=y")).status_code == 404


#: refused with TWO_FACTOR_ENROLMENT_REQUIRED while enrolment is owed (`me` is not: it shows what is owed)
GUARDED = "{ users { totalCount } }"
REFRESH = "mutation($t: String!) { tokenRefresh(input: {refreshToken: $t}) { accessToken errors { code } } }"


async def test_trusted_idp_mfa_stands_for_the_organisations_two_factor(
    client, gql, world, runtime, provider, monkeypatch
):
    """An organisation that requires two-factor demands enrolment of a user without an authenticator, unless
    the session began with a trusted multi-factor sign-in at the provider; a refreshed session keeps that."""
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.Organisation).values(require_two_factor=True))
    provider.account = Account("subject-1", "user@a.example", amr=["pwd", "mfa"])
    _, code = await sign_in(client)
    untrusted = await redeem(gql, code)  # MFA asserted, but the settings do not trust it
    demanded = await gql(GUARDED, token=untrusted["accessToken"])
    assert demanded["errors"][0]["extensions"]["reason"] == "TWO_FACTOR_ENROLMENT_REQUIRED", demanded

    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, oidc_trust_idp_mfa=True))
    _, code = await sign_in(client)
    trusted = await redeem(gql, code)
    assert (await gql(GUARDED, token=trusted["accessToken"]))["data"]["users"]["totalCount"] > 0
    refreshed = (await gql(REFRESH, {"t": trusted["refreshToken"]}))["data"]["tokenRefresh"]
    assert (await gql(GUARDED, token=refreshed["accessToken"]))["data"]["users"]["totalCount"] > 0
    # the trust is the session's, not the user's: a session without it is asked to enrol again
    provider.account = Account("subject-1", "user@a.example", amr=["pwd"])
    _, code = await sign_in(client)
    plain = await redeem(gql, code)
    again = await gql(GUARDED, token=plain["accessToken"])
    assert again["errors"][0]["extensions"]["reason"] == "TWO_FACTOR_ENROLMENT_REQUIRED", again
