"""SAML single sign-on (issue 19, manual §25) against a real SAML IdP on 127.0.0.1 (tests/identity/saml_idp.py,
pysaml2 with its own key), over the real HTTP start and ACS endpoints of a uvicorn-served app: signed
assertions only; audience, destination, times and InResponseTo checked; a response is consumed once."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select, update

from models import audit as audit_models
from models import federation as fed
from models import identity as m
from models import saml as saml_models
from models.base import utcnow
from tests.environment import free_port, serve_app
from tests.factories import PASSWORD, add_user, issue_token
from tests.identity.saml_idp import MFA_CLASS, PASSWORD_CLASS, SamlIdp, key_and_certificate, require_xmlsec

CONFIGURE = """mutation($input: SamlConfigureInput!) {
  samlConfigure(input: $input) {
    configuration { mode idpEntityId idpSsoUrl attributeEmail attributeName trustIdpMfa spEntityId acsUrl startUrl }
    errors { code field message }
  }
}"""
CONFIGURATION = "query($id: ID) { samlConfiguration(organisationId: $id) { mode idpEntityId acsUrl } }"
SIGN_IN = """mutation($input: FederatedSignInInput!) {
  federatedSignIn(input: $input) { accessToken refreshToken user { email } errors { code field } }
}"""
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code field message } } }"
ME = "{ me { email } }"
#: refused with TWO_FACTOR_ENROLMENT_REQUIRED while enrolment is owed (`me` is not: it shows what is owed)
GUARDED = "{ users { totalCount } }"


@pytest.fixture
def xmlsec() -> None:
    require_xmlsec()


@pytest.fixture
async def idp(xmlsec, tmp_path):
    provider = SamlIdp(tmp_path)
    async with serve_app(provider.app) as url:
        provider.url = url
        yield provider


def idp_metadata(idp: SamlIdp) -> str:
    return idp.metadata()


async def configure(gql, world, idp: SamlIdp, live_server: str, **fields) -> dict:
    variables = {
        "metadataXml": idp_metadata(idp),
        "mode": "ALLOWED",
        "attributeEmail": "mail",
        "attributeName": "displayName",
    }
    variables.update(fields)
    answer = (await gql(CONFIGURE, {"input": variables}, token=world.tokens["admin_a"]))["data"]["samlConfigure"]
    assert answer["errors"] == [], answer
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        response = await http.get(f"/auth/saml/{world.organisations['a'].public_id}/metadata")
    assert response.status_code == 200, response.text
    idp.sp_metadata = response.text
    return answer["configuration"]


async def saml_response(live_server: str, world, idp: SamlIdp) -> str:
    """Start a sign-in at the server, follow it to the IdP over HTTP: the IdP's signed SAMLResponse."""
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        start = await http.get(f"/auth/saml/{world.organisations['a'].public_id}/start")
        assert start.status_code == 302, start.text
        location = start.headers["location"]
        assert location.startswith(idp.sso_url + "?SAMLRequest=")
        answer = (await http.get(location)).json()
    return answer["SAMLResponse"]


async def post_acs(live_server: str, world, response: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        return await http.post(f"/auth/saml/{world.organisations['a'].public_id}/acs", data={"SAMLResponse": response})


def code_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert location.path == "/" and not location.query  # the code is in the fragment only
    assert location.fragment.startswith("signin=")
    return location.fragment.removeprefix("signin=")


async def audit_actions(runtime) -> list[str]:
    async with runtime.session_factory() as session:
        return list(await session.scalars(select(audit_models.AuditEvent.action).order_by(audit_models.AuditEvent.id)))


async def test_sign_in_creates_the_user_in_the_organisation_and_the_code_gives_tokens_once(
    gql, world, runtime, idp, live_server
):
    configuration = await configure(gql, world, idp, live_server)
    public_id = world.organisations["a"].public_id
    assert configuration["idpEntityId"] == idp.entity_id
    assert configuration["acsUrl"].endswith(f"/auth/saml/{public_id}/acs")
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))

    signed_in = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]
    assert signed_in["errors"] == [] and signed_in["user"]["email"] == idp.email
    assert signed_in["refreshToken"]
    me = await gql(ME, token=signed_in["accessToken"])
    assert me["data"]["me"]["email"] == idp.email
    async with runtime.session_factory() as session:
        user = await session.scalar(select(m.User).where(m.User.email == idp.email))
        assert user.organisation_id == world.organisations["a"].id and user.password_hash is None
        assert user.name == idp.name
    again = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_TOKEN"] and again["accessToken"] is None
    actions = await audit_actions(runtime)
    assert actions == ["saml.configured", "saml.user_created", "saml.assertion_accepted", "user.login"]


async def test_an_existing_user_of_the_organisation_is_linked(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    idp.email = "user@a.example"
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    signed_in = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]
    assert signed_in["user"]["email"] == "user@a.example"
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(m.User)) == len(world.users)
    code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))  # once more
    actions = await audit_actions(runtime)
    assert actions.count("saml.user_linked") == 1 and actions.count("saml.assertion_accepted") == 2


async def test_a_user_of_another_organisation_is_never_signed_in(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    idp.email = "admin@b.example"  # tenant B's admin: A's IdP must not sign them in
    refused = await post_acs(live_server, world, await saml_response(live_server, world, idp))
    assert refused.status_code == 400 and "another organisation" in refused.text
    assert "location" not in refused.headers
    assert (await audit_actions(runtime))[-1] == "saml.refused"
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(fed.SignInCode)) == 0


def tampered(response: str, idp: SamlIdp) -> str:
    xml = base64.b64decode(response).decode()
    assert xml.count(idp.email) >= 1
    return base64.b64encode(xml.replace(idp.email, "intruder@saml.example").encode()).decode()


REASONS = {
    "tampered": "SignatureError",
    "audience": "AudienceRestrictions conditions not satisfied",
    "expired": "VerificationError",
    "unsigned": "Signature missing for assertion",
    "only_the_response_signed": "Signature missing for assertion",
    "in_response_to": "answers no open sign-in request",
}


@pytest.mark.parametrize("problem", list(REASONS))
async def test_a_bad_response_is_refused(gql, world, runtime, idp, live_server, problem):
    await configure(gql, world, idp, live_server)
    if problem == "audience":
        idp.next_audience = "https://elsewhere.example/sp"
    elif problem == "expired":
        idp.next_lifetime_minutes = -10
    elif problem == "unsigned":
        idp.next_sign = False
    elif problem == "only_the_response_signed":  # a signed envelope does not make its assertion signed
        idp.next_sign, idp.next_sign_response = False, True
    elif problem == "in_response_to":
        idp.next_in_response_to = "id-never-asked-for"
    response = await saml_response(live_server, world, idp)
    if problem == "tampered":
        response = tampered(response, idp)
    refused = await post_acs(live_server, world, response)
    assert refused.status_code == 400, refused.text
    assert refused.text.startswith("SAML sign-in refused"), refused.text
    assert REASONS[problem] in refused.text, refused.text
    assert (await audit_actions(runtime))[-1] == "saml.refused"
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(fed.SignInCode)) == 0
        assert await session.scalar(select(func.count()).where(m.User.email.like("%@saml.example"))) == 0


async def test_parallel_posts_of_one_response_sign_in_once(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    response = await saml_response(live_server, world, idp)
    answers = await asyncio.gather(*(post_acs(live_server, world, response) for _ in range(8)))
    assert sorted(answer.status_code for answer in answers) == [303] + [400] * 7
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(fed.SignInCode)) == 1
        assert await session.scalar(select(func.count()).where(m.User.email == idp.email)) == 1
    later = await post_acs(live_server, world, response)
    assert later.status_code == 400


async def test_sso_required_refuses_password_login_of_the_organisation_only(gql, world, idp, live_server):
    await configure(gql, world, idp, live_server, mode="REQUIRED")
    refused = (await gql(LOGIN, {"input": {"email": "user@a.example", "password": PASSWORD}}))["data"]["login"]
    assert [e["code"] for e in refused["errors"]] == ["SSO_REQUIRED"] and refused["accessToken"] is None
    assert "single sign-on" in refused["errors"][0]["message"]
    wrong = (await gql(LOGIN, {"input": {"email": "user@a.example", "password": "wrong"}}))["data"]["login"]
    assert [e["code"] for e in wrong["errors"]] == ["INVALID_CREDENTIALS"]  # no hint without the password
    other = (await gql(LOGIN, {"input": {"email": "user@b.example", "password": PASSWORD}}))["data"]["login"]
    assert other["errors"] == [] and other["accessToken"]


async def test_two_factor_applies_unless_trusted_mfa_is_asserted(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    async with runtime.session_factory() as session, session.begin():
        await add_user(session, world.organisations["a"], idp.email, [m.Role.USER], totp_confirmed=True)
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    asked = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]
    assert [e["code"] for e in asked["errors"]] == ["TWO_FACTOR_REQUIRED"] and asked["accessToken"] is None

    await configure(gql, world, idp, live_server, trustIdpMfa=True)
    idp.next_class_ref = MFA_CLASS
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    trusted = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]
    assert trusted["errors"] == [] and trusted["accessToken"]


async def test_configuration_refuses_bad_input_and_changes_nothing(gql, world, runtime, idp, live_server):
    token = world.tokens["admin_a"]
    no_idp = (await gql(CONFIGURE, {"input": {"mode": "REQUIRED"}}, token=token))["data"]["samlConfigure"]
    assert [(e["code"], e["field"][-1]) for e in no_idp["errors"]] == [("REQUIRED", "metadataXml")]
    bad = (await gql(CONFIGURE, {"input": {"metadataXml": "<nope/>"}}, token=token))["data"]["samlConfigure"]
    assert [(e["code"], e["field"][-1]) for e in bad["errors"]] == [("INVALID", "metadataXml")]
    http_url = {"metadataUrl": f"{idp.url}/metadata"}
    plain = (await gql(CONFIGURE, {"input": http_url}, token=token))["data"]["samlConfigure"]
    assert [(e["code"], e["field"][-1]) for e in plain["errors"]] == [("INVALID", "metadataUrl")]
    read = (await gql(CONFIGURATION, {}, token=token))["data"]["samlConfiguration"]
    assert read["mode"] == "OFF" and read["idpEntityId"] == ""
    user = await gql(CONFIGURATION, {}, token=world.tokens["user_a"])
    assert user["data"] is None or user["data"]["samlConfiguration"] is None
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        off = await http.get(f"/auth/saml/{world.organisations['a'].public_id}/start")
    assert off.status_code == 404


async def test_reading_the_configuration_is_one_statement(gql, world, count_sql):
    with count_sql() as counter:
        answer = await gql(CONFIGURATION, {"id": world.id("Organisation", "a1")}, token=world.tokens["admin_a"])
    assert answer["data"]["samlConfiguration"]["mode"] == "OFF"
    # the token's one statement, then the organisation with its configuration
    assert counter.count == 2, counter.statements


async def test_parallel_exchanges_of_one_code_give_tokens_once(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    answers = await asyncio.gather(*(gql(SIGN_IN, {"input": {"code": code}}) for _ in range(8)))
    payloads = [answer["data"]["federatedSignIn"] for answer in answers]
    assert sum(1 for payload in payloads if payload["accessToken"]) == 1
    assert sorted(e["code"] for payload in payloads for e in payload["errors"]) == ["INVALID_TOKEN"] * 7
    async with runtime.session_factory() as session:
        tokens = select(func.count()).select_from(m.AuthToken).join(m.User).where(m.User.email == idp.email)
        assert await session.scalar(tokens) == 2  # one access and one refresh token


async def test_a_request_of_another_organisation_is_not_answered_here(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    async with runtime.session_factory() as session, session.begin():
        session.add(
            saml_models.SamlRequest(
                id="id-of-tenant-b",
                organisation_id=world.organisations["b"].id,
                expires_at=utcnow() + timedelta(minutes=5),
            )
        )
    idp.next_in_response_to = "id-of-tenant-b"
    refused = await post_acs(live_server, world, await saml_response(live_server, world, idp))
    assert refused.status_code == 400 and "no open sign-in request of this organisation" in refused.text


async def test_a_deactivated_user_is_refused_and_an_expired_code_gives_nothing(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(fed.SignInCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]
    assert [e["code"] for e in expired["errors"]] == ["INVALID_TOKEN"] and expired["accessToken"] is None

    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.email == idp.email).values(is_active=False))
    refused = await post_acs(live_server, world, await saml_response(live_server, world, idp))
    assert refused.status_code == 400 and "deactivated" in refused.text


async def test_an_oversized_or_missing_response_is_refused_unread(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    assert (await post_acs(live_server, world, "A" * 300_000)).status_code == 400
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        empty = await http.post(f"/auth/saml/{world.organisations['a'].public_id}/acs", data={"RelayState": "x"})
    assert empty.status_code == 400 and "no SAMLResponse" in empty.text


async def test_metadata_is_read_from_an_https_url(gql, world, idp, tmp_path, monkeypatch):
    """The IdP's metadata over real TLS on 127.0.0.1, its certificate trusted through SSL_CERT_FILE."""
    key, certificate = key_and_certificate("127.0.0.1", "127.0.0.1")
    (tmp_path / "tls.key").write_bytes(key)
    (tmp_path / "tls.crt").write_bytes(certificate)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "tls.crt"))
    port = free_port()
    config = uvicorn.Config(
        idp.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
        ssl_keyfile=str(tmp_path / "tls.key"), ssl_certfile=str(tmp_path / "tls.crt"),
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        variables = {"input": {"metadataUrl": f"https://127.0.0.1:{port}/metadata"}}
        answer = (await gql(CONFIGURE, variables, token=world.tokens["admin_a"]))["data"]["samlConfigure"]
        assert answer["errors"] == [] and answer["configuration"]["idpEntityId"] == idp.entity_id
        assert answer["configuration"]["idpSsoUrl"] == idp.sso_url
        variables = {"input": {"metadataUrl": f"https://127.0.0.1:{port}/nothing-here"}}
        missing = (await gql(CONFIGURE, variables, token=world.tokens["admin_a"]))["data"]["samlConfigure"]
        assert [(e["code"], e["field"][-1]) for e in missing["errors"]] == [("INVALID", "metadataUrl")]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


ENROL = 'mutation { twoFactorEnrol(input: {password: ""}) { secret errors { code field } } }'


async def test_a_password_less_user_enrols_two_factor_after_a_fresh_sso_sign_in(gql, world, runtime, idp, live_server):
    """An organisation that requires two-factor asks its SSO users to enrol; they have no password to give."""
    await configure(gql, world, idp, live_server)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.Organisation).values(require_two_factor=True))
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    token = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]["accessToken"]
    enrolled = (await gql(ENROL, token=token))["data"]["twoFactorEnrol"]
    assert enrolled["errors"] == [] and enrolled["secret"]
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.AuthToken).values(authenticated_at=utcnow() - timedelta(minutes=10)))
    stale = (await gql(ENROL, token=token))["data"]["twoFactorEnrol"]
    assert [(e["code"], e["field"][-1]) for e in stale["errors"]] == [("INVALID_CREDENTIALS", "password")]


async def test_trusted_idp_mfa_lifts_the_organisations_enrolment_demand(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server, trustIdpMfa=True)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.Organisation).values(require_two_factor=True))
    idp.next_class_ref = MFA_CLASS
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    token = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]["accessToken"]
    assert (await gql(GUARDED, token=token))["data"]["users"]["totalCount"] > 0
    idp.next_class_ref = PASSWORD_CLASS
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    token = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]["accessToken"]
    demanded = await gql(GUARDED, token=token)  # no multi-factor asserted this time
    assert demanded["errors"][0]["extensions"]["reason"] == "TWO_FACTOR_ENROLMENT_REQUIRED", demanded


# --- role mapping: the IdP's groups attribute gives roles -------------------------------------------------

ROLES_CONFIGURATION = """query { samlConfiguration { attributeRoles roleMappings { value role } } }"""
CONFIGURE_ROLES = """mutation($input: SamlConfigureInput!) {
  samlConfigure(input: $input) {
    configuration { attributeRoles roleMappings { value role } }
    errors { code field message }
  }
}"""
ADMIN_MAPPING = [{"value": "fg-admins", "role": "ORGANISATION_ADMIN"}, {"value": "staff", "role": "USER"}]


async def roles_of(runtime, email: str) -> set[m.Role]:
    async with runtime.session_factory() as session:
        user = await session.scalar(select(m.User).where(m.User.email == email))
        return set(await session.scalars(select(m.UserRole.role).where(m.UserRole.user_id == user.id)))


async def sign_in(gql, live_server, world, idp) -> str:
    """A whole SAML sign-in: the access token."""
    code = code_of(await post_acs(live_server, world, await saml_response(live_server, world, idp)))
    signed_in = (await gql(SIGN_IN, {"input": {"code": code}}))["data"]["federatedSignIn"]
    assert signed_in["errors"] == [], signed_in
    return signed_in["accessToken"]


async def synchronised(runtime) -> list[dict]:
    async with runtime.session_factory() as session:
        events = await session.scalars(
            select(audit_models.AuditEvent)
            .where(audit_models.AuditEvent.action == "saml.roles_synchronised")
            .order_by(audit_models.AuditEvent.id)
        )
        return [{"before": e.details["before"], "after": e.details["after"]} for e in events]


def problems(answer: dict) -> list[tuple[str, list[str]]]:
    payload = answer["data"]["samlConfigure"]
    assert payload["configuration"] is None
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_role_mappings_are_saved_read_back_and_audited(gql, world, runtime, idp, live_server):
    configuration = await configure(gql, world, idp, live_server, attributeRoles="groups", roleMappings=ADMIN_MAPPING)
    assert configuration["mode"] == "ALLOWED"
    read = (await gql(ROLES_CONFIGURATION, token=world.tokens["admin_a"]))["data"]["samlConfiguration"]
    assert read == {"attributeRoles": "groups", "roleMappings": ADMIN_MAPPING}
    # other changes keep the mapping; an empty list removes it
    kept = await gql(CONFIGURE_ROLES, {"input": {"trustIdpMfa": True}}, token=world.tokens["admin_a"])
    assert kept["data"]["samlConfigure"]["configuration"]["roleMappings"] == ADMIN_MAPPING
    cleared = await gql(CONFIGURE_ROLES, {"input": {"roleMappings": []}}, token=world.tokens["admin_a"])
    assert cleared["data"]["samlConfigure"]["configuration"] == {"attributeRoles": "groups", "roleMappings": []}
    async with runtime.session_factory() as session:
        details = list(
            await session.scalars(
                select(audit_models.AuditEvent.details)
                .where(audit_models.AuditEvent.action == "saml.configured")
                .order_by(audit_models.AuditEvent.id)
            )
        )
    assert details[0]["roleMapping"] == ADMIN_MAPPING and "role_mapping" in details[0]["changed"]
    assert "roleMapping" not in details[1]
    assert details[2]["roleMapping"] == [] and details[2]["changed"] == ["role_mapping"]


async def test_bad_role_mappings_are_refused_and_change_nothing(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server, attributeRoles="groups", roleMappings=ADMIN_MAPPING[:1])
    token = world.tokens["admin_a"]

    async def refused(**fields) -> list[tuple[str, list[str]]]:
        return problems(await gql(CONFIGURE_ROLES, {"input": fields}, token=token))

    many = [{"value": f"group-{n}", "role": "USER"} for n in range(51)]
    assert await refused(roleMappings=many) == [("TOO_MANY", ["roleMappings"])]
    assert await refused(roleMappings=[{"value": "", "role": "USER"}]) == [("REQUIRED", ["roleMappings", "0", "value"])]
    long = [ADMIN_MAPPING[1], {"value": "x" * 201, "role": "USER"}]
    assert await refused(roleMappings=long) == [("TOO_LONG", ["roleMappings", "1", "value"])]
    assert await refused(roleMappings=[{"value": "a\nb", "role": "USER"}]) == [
        ("INVALID", ["roleMappings", "0", "value"])
    ]
    twice = [ADMIN_MAPPING[1], ADMIN_MAPPING[0], ADMIN_MAPPING[1]]
    assert await refused(roleMappings=twice) == [("DUPLICATE", ["roleMappings", "2"])]
    for role in ("PLATFORM_ADMIN", "CONSUMER"):
        never = [ADMIN_MAPPING[1], {"value": "root", "role": role}]
        assert await refused(roleMappings=never) == [("NOT_ALLOWED", ["roleMappings", "1", "role"])]
    # a mapping needs the attribute it reads: given without it, or the attribute cleared under it
    assert await refused(attributeRoles="", roleMappings=ADMIN_MAPPING) == [("REQUIRED", ["attributeRoles"])]
    assert await refused(attributeRoles="") == [("REQUIRED", ["attributeRoles"])]
    assert await refused(attributeRoles="x" * 201) == [("TOO_LONG", ["attributeRoles"])]

    read = (await gql(ROLES_CONFIGURATION, token=token))["data"]["samlConfiguration"]
    assert read == {"attributeRoles": "groups", "roleMappings": ADMIN_MAPPING[:1]}
    async with runtime.session_factory() as session:
        provider = await session.get(saml_models.SamlProvider, world.organisations["a"].id)
        assert provider.role_mapping == ADMIN_MAPPING[:1]


async def test_an_admin_maps_only_roles_they_could_give(gql, world, runtime, idp, live_server):
    """A portal manager without the organisation admin's permissions cannot make an IdP group admins, nor
    change a configuration that does (e.g. point it at an IdP of their own)."""
    async with runtime.session_factory() as session, session.begin():
        manager = await add_user(session, world.organisations["a"], "portal@a.example", [m.Role.USER])
        session.add(m.UserPermission(user_id=manager.id, permission=m.Permission.PORTAL_MANAGE))
        await session.flush()
        token = await issue_token(session, manager)
    escalate = {"attributeRoles": "groups", "roleMappings": ADMIN_MAPPING[:1]}
    assert problems(await gql(CONFIGURE_ROLES, {"input": escalate}, token=token)) == [
        ("NOT_ALLOWED", ["roleMappings", "0", "role"])
    ]
    allowed = {"attributeRoles": "groups", "roleMappings": ADMIN_MAPPING[1:]}
    answer = (await gql(CONFIGURE_ROLES, {"input": allowed}, token=token))["data"]["samlConfigure"]
    assert answer["errors"] == [] and answer["configuration"]["roleMappings"] == ADMIN_MAPPING[1:]

    await configure(gql, world, idp, live_server, roleMappings=ADMIN_MAPPING)  # by the organisation admin
    assert problems(await gql(CONFIGURE_ROLES, {"input": {"attributeRoles": "mine"}}, token=token)) == [
        ("NOT_ALLOWED", ["roleMappings", "0", "role"])
    ]
    async with runtime.session_factory() as session:
        provider = await session.get(saml_models.SamlProvider, world.organisations["a"].id)
        assert provider.attribute_roles == "groups" and provider.role_mapping == ADMIN_MAPPING


async def test_the_idp_groups_give_and_take_the_mapped_roles_and_leave_the_others(
    gql, world, runtime, idp, live_server, count_sql
):
    await configure(gql, world, idp, live_server, attributeRoles="groups", roleMappings=ADMIN_MAPPING)
    idp.groups = ["fg-admins", "staff", "unmapped"]
    token = await sign_in(gql, live_server, world, idp)
    assert await roles_of(runtime, idp.email) == {m.Role.ORGANISATION_ADMIN, m.Role.USER}
    admin_only = await gql(ROLES_CONFIGURATION, token=token)
    assert admin_only["data"]["samlConfiguration"]["roleMappings"] == ADMIN_MAPPING
    assert await synchronised(runtime) == [{"before": [], "after": ["ORGANISATION_ADMIN", "USER"]}]

    # a role given by hand is not the IdP's: it stays
    async with runtime.session_factory() as session, session.begin():
        user = await session.scalar(select(m.User).where(m.User.email == idp.email))
        session.add(m.UserRole(user_id=user.id, role=m.Role.API_USER))
    idp.groups = ["staff"]
    token = await sign_in(gql, live_server, world, idp)
    assert await roles_of(runtime, idp.email) == {m.Role.USER, m.Role.API_USER}
    refused = await gql(ROLES_CONFIGURATION, token=token)
    assert refused["data"] is None or refused["data"]["samlConfiguration"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    assert (await synchronised(runtime))[1:] == [
        {"before": ["API_USER", "ORGANISATION_ADMIN", "USER"], "after": ["API_USER", "USER"]}
    ]

    # the same groups again: nothing to write, nothing audited
    response = await saml_response(live_server, world, idp)
    with count_sql() as counter:
        code_of(await post_acs(live_server, world, response))
    touching_roles = [s.lower().lstrip() for s in counter.statements if "user_role" in s.lower()]
    assert touching_roles and all(s.startswith("select") for s in touching_roles), touching_roles
    assert len(await synchronised(runtime)) == 2


async def test_a_user_keeps_at_least_the_user_role_and_values_are_compared_exactly(
    gql, world, runtime, idp, live_server
):
    await configure(gql, world, idp, live_server, attributeRoles="groups", roleMappings=ADMIN_MAPPING[:1])
    idp.groups = ["FG-ADMINS"]  # not "fg-admins"
    await sign_in(gql, live_server, world, idp)
    assert await roles_of(runtime, idp.email) == {m.Role.USER}
    assert await synchronised(runtime) == [{"before": [], "after": ["USER"]}]

    async with runtime.session_factory() as session, session.begin():
        admin = await add_user(session, world.organisations["a"], "lead@a.example", [m.Role.ORGANISATION_ADMIN])
    idp.email, idp.groups = admin.email, []
    await sign_in(gql, live_server, world, idp)
    assert await roles_of(runtime, admin.email) == {m.Role.USER}
    assert (await synchronised(runtime))[1:] == [{"before": ["ORGANISATION_ADMIN"], "after": ["USER"]}]


async def test_without_a_mapping_roles_are_left_alone(gql, world, runtime, idp, live_server):
    await configure(gql, world, idp, live_server)
    idp.email, idp.groups = "admin@a.example", ["fg-admins"]
    await sign_in(gql, live_server, world, idp)
    assert await roles_of(runtime, "admin@a.example") == {m.Role.ORGANISATION_ADMIN}
    assert await synchronised(runtime) == []


async def test_a_groups_overage_link_refuses_the_sign_in_and_keeps_the_roles(gql, world, runtime, idp, live_server):
    """Entra ID sends a link instead of the groups of a user in too many groups: their roles cannot be known, so
    the sign-in is refused rather than taking the mapped roles away."""
    await configure(gql, world, idp, live_server, attributeRoles="groups", roleMappings=ADMIN_MAPPING)
    idp.groups = ["fg-admins"]
    await sign_in(gql, live_server, world, idp)
    idp.groups_attribute = "http://schemas.microsoft.com/claims/groups.link"
    idp.groups = ["https://graph.microsoft.com/v1.0/users/0000/getMemberObjects"]
    refused = await post_acs(live_server, world, await saml_response(live_server, world, idp))
    assert refused.status_code == 400 and "groups overage" in refused.text
    assert await roles_of(runtime, idp.email) == {m.Role.ORGANISATION_ADMIN}
