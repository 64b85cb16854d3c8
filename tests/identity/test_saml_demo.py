"""The demo (issue 19): IntegraDemo allows SAML sign-in with an Entra ID-shaped IdP; its admin reads the URLs
to paste into Entra ID, the server serves its SP metadata and sends the browser to the IdP; passwords still
work (ALLOWED)."""

from __future__ import annotations

from urllib.parse import urlsplit

from graph.composition import DEMO
from graph.demo import seed_demo
from resolvers.identity.saml.demo import DEMO_IDP_ENTITY_ID, DEMO_IDP_SSO_URL
from tests.identity.saml_idp import require_xmlsec

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
CONFIGURATION = """{ samlConfiguration { mode idpEntityId idpSsoUrl attributeEmail trustIdpMfa
  attributeRoles roleMappings { value role } spEntityId acsUrl startUrl } }"""


async def test_integra_demo_allows_saml_sign_in(gql, client, runtime):
    require_xmlsec()  # pysaml2 looks for xmlsec1 when it builds the AuthnRequest
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    login = {"input": {"email": "demo@integra-metering.com", "password": "Wasser-Zaehler#47"}}
    token = (await gql(LOGIN, login))["data"]["login"]["accessToken"]
    assert token  # ALLOWED: the password still signs in
    configuration = (await gql(CONFIGURATION, token=token))["data"]["samlConfiguration"]
    assert configuration["mode"] == "ALLOWED" and configuration["trustIdpMfa"] is True
    assert configuration["idpEntityId"] == DEMO_IDP_ENTITY_ID and configuration["idpSsoUrl"] == DEMO_IDP_SSO_URL
    assert configuration["attributeEmail"].endswith("/claims/emailaddress")
    assert configuration["attributeRoles"].endswith("/claims/groups")
    assert {mapping["role"] for mapping in configuration["roleMappings"]} == {"ORGANISATION_ADMIN", "USER"}
    metadata = await client.get(urlsplit(configuration["spEntityId"]).path)
    assert metadata.status_code == 200 and configuration["acsUrl"] in metadata.text
    start = await client.get(urlsplit(configuration["startUrl"]).path)
    assert start.status_code == 302 and start.headers["location"].startswith(DEMO_IDP_SSO_URL + "?SAMLRequest=")
