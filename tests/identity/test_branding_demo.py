"""The demo (issue 18): IntegraDemo's users log in with its customer number and their usernames, its theme
with logos is on, and its verified login domain needs no customer number."""

from __future__ import annotations

import io

from PIL import Image

from graph.composition import DEMO
from graph.demo import DEMO_USERS, seed_demo
from resolvers.identity.branding.demo import DEMO_CUSTOMER_NUMBERS, DEMO_LOGIN_DOMAIN, DEMO_USERNAMES

LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { accessToken user { email username organisation { name customerNumber } } errors { code } } }"""
THEME = """query($number: String) {
  loginTheme(customerNumber: $number) { enabled name mainColour font website
    logo { url contentType } logoDark { url contentType } favicon { url contentType } } }"""


async def test_demo_users_log_in_with_customer_number_and_username(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    for key, _, email, password, _ in DEMO_USERS:
        variables = {
            "input": {
                "customerNumber": DEMO_CUSTOMER_NUMBERS[key],
                "username": DEMO_USERNAMES[email],
                "password": password,
            }
        }
        payload = (await gql(LOGIN, variables))["data"]["login"]
        assert payload["errors"] == [] and payload["accessToken"], (email, payload)
        assert payload["user"]["email"] == email
        assert payload["user"]["organisation"]["customerNumber"] == DEMO_CUSTOMER_NUMBERS[key]


async def test_integra_demo_has_a_theme_with_logos(gql, client, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    theme = (await gql(THEME, {"number": DEMO_CUSTOMER_NUMBERS["integra"]}))["data"]["loginTheme"]
    assert theme["enabled"] is True and theme["name"] == "IntegraDemo Portal"
    assert theme["mainColour"] == "#0A7F3C" and theme["font"] == "OPEN_SANS"
    assert theme["website"] == "https://integra-metering.com/"
    logo = await client.get(theme["logo"]["url"])
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(logo.content)).size == (96, 96)
    dark = await client.get(theme["logoDark"]["url"])
    assert dark.headers["content-type"] == "image/svg+xml" and b"IntegraDemo" in dark.content
    assert theme["favicon"]["contentType"] == "image/png"
    # the partner's theme is not set: the platform's look
    assert (await gql(THEME, {"number": DEMO_CUSTOMER_NUMBERS["partner"]}))["data"]["loginTheme"] is None
    # on IntegraDemo's login domain, without a customer number
    on_domain = await client.post(
        "/graphql", json={"query": THEME, "variables": {}}, headers={"Host": DEMO_LOGIN_DOMAIN}
    )
    assert on_domain.json()["data"]["loginTheme"]["name"] == "IntegraDemo Portal"
    login = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"username": "erika", "password": "Heizung-Ablesen#93"}}},
        headers={"Host": DEMO_LOGIN_DOMAIN},
    )
    assert login.json()["data"]["login"]["user"]["email"] == "erika@integra-metering.com"
