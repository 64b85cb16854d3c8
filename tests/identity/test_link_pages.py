"""Following links in mails without SMTP and without a front end: `serve --demo` queues the mail, a platform
admin reads it through the API (or `fleetgraph mail-preview` prints it), and the link opens this server's own
form in a real browser (headless Debian chromium), which calls the API."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from graph.demo import DEMO_USERS
from tests.environment import run_fleetgraph, serve_demo
from tests.factories import NEW_PASSWORD

PASSWORDS = {email: password for _, _, email, password, _ in DEMO_USERS}
DEADLINE_MS = 20_000
INVITED = "neu.kollegin@integra-metering.com"
ERRORS = "errors { code field message }"


def graphql(base: str, query: str, variables: dict | None = None, as_user: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {login(base, as_user)}"} if as_user else {}
    answer = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=10)
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


def login(base: str, email: str, password: str | None = None) -> str | None:
    query = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"
    variables = {"input": {"email": email, "password": password or PASSWORDS[email]}}
    return httpx.post(f"{base}/graphql", json={"query": query, "variables": variables}, timeout=10).json()["data"][
        "login"
    ]["accessToken"]


def link_in(text: str, path: str) -> str:
    found = re.search(rf"https?://\S+{path}\?token=[A-Za-z0-9_\-]+", text)
    assert found, text
    return found.group(0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("demo")) as served:
        yield served


class FormPage:
    """A link page in the browser, with every request it makes and every error it reports recorded."""

    def __init__(self, page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)

    async def submit(self, **values: str) -> None:
        for name, value in values.items():
            await self.page.fill(f'input[name="{name}"]', value)
        await self.page.click("button[type=submit]")

    async def result(self, kind: str) -> str:
        """The page's answer once it says `kind` ("done" or "failed")."""
        await self.page.wait_for_selector(f"#result.{kind}", timeout=DEADLINE_MS)
        return await self.page.inner_text("#result")

    def assert_local_only(self) -> None:
        assert [url for url in self.requests if not url.startswith(self.origin + "/")] == []
        assert self.errors == []  # among others: no Content-Security-Policy violation


async def open_form(browser, link: str) -> FormPage:
    page = await (await browser.new_context()).new_page()
    form = FormPage(page, f"{urlsplit(link).scheme}://{urlsplit(link).netloc}")
    response = await page.goto(link, wait_until="load")
    assert response is not None and response.status == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    return form


async def test_an_invitation_from_sending_to_the_first_login_without_smtp(browser, demo):
    created = graphql(
        demo.base_url,
        "mutation($input: InvitationCreateInput!) { invitationCreate(input: $input) "
        f"{{ invitation {{ id }} {ERRORS} }} }}",
        {"input": {"name": "Nele Neu", "email": INVITED, "roles": ["USER"]}},
        as_user="demo@integra-metering.com",
    )["invitationCreate"]
    assert created["errors"] == [], created
    sent = graphql(
        demo.base_url,
        "mutation($input: InvitationIdInput!) { invitationSend(input: $input) "
        f"{{ invitation {{ sentAt }} {ERRORS} }} }}",
        {"input": {"id": created["invitation"]["id"]}},
        as_user="demo@integra-metering.com",
    )["invitationSend"]
    assert sent["errors"] == [], sent

    mails = graphql(
        demo.base_url,
        "query($to: String!) { outboxMessages(first: 1, filter: {toAddress: $to}) "
        "{ nodes { toAddress status bodyText bodyHtml } } }",
        {"to": INVITED},
        as_user="platform@fleetgraph.example",
    )["outboxMessages"]["nodes"]
    assert [(mail["toAddress"], mail["status"]) for mail in mails] == [(INVITED, "PENDING")]
    link = link_in(mails[0]["bodyText"], "/register")
    assert link.startswith(demo.base_url + "/register?token=")  # the server's own address, not a front end's
    assert link.replace("&", "&amp;") in mails[0]["bodyHtml"]

    form = await open_form(browser, link)
    # the passwords differ: the page says so and asks nothing of the server
    await form.submit(password=NEW_PASSWORD, passwordRepeat=NEW_PASSWORD + "x")
    assert "differ" in await form.page.inner_text(".problem")
    # too short: the server's own message appears at the field, nothing is created
    await form.submit(password="Kurz#1x", passwordRepeat="Kurz#1x")
    assert await form.result("failed")
    assert "12" in await form.page.inner_text(".problem")
    await form.submit(password=NEW_PASSWORD, passwordRepeat=NEW_PASSWORD)
    assert INVITED in await form.result("done")
    form.assert_local_only()
    assert any(urlsplit(url).path == "/graphql" for url in form.requests)

    assert login(demo.base_url, INVITED, NEW_PASSWORD)  # the first login
    # the link is spent: opened again, the page shows the server's refusal
    again = await open_form(browser, link)
    await again.submit(password=NEW_PASSWORD, passwordRepeat=NEW_PASSWORD)
    assert "link" in (await again.result("failed")).lower()


async def test_a_password_reset_link_from_mail_preview(browser, demo):
    erika = "erika@integra-metering.com"
    requested = graphql(
        demo.base_url,
        f'mutation {{ passwordResetRequest(input: {{email: "{erika}"}}) {{ {ERRORS} }} }}',
    )["passwordResetRequest"]
    assert requested["errors"] == []

    preview = run_fleetgraph(demo.data_dir, "mail-preview", "--to", "ERIKA@", "--limit", "1")
    assert preview.returncode == 0, preview.stderr
    assert f"to {erika}" in preview.stdout and preview.stdout.count("── ") == 1
    link = link_in(preview.stdout, "/reset")

    form = await open_form(browser, link)
    await form.submit(newPassword=NEW_PASSWORD, newPasswordRepeat=NEW_PASSWORD)
    await form.result("done")
    form.assert_local_only()
    assert login(demo.base_url, erika, NEW_PASSWORD)
    assert login(demo.base_url, erika) is None  # the old password no longer works


def test_a_link_without_token_says_so_and_the_home_page_is_graphiql(demo):
    home = httpx.get(demo.base_url + "/", follow_redirects=False, timeout=10)
    assert home.status_code == 307 and home.headers["location"] == "/graphql"
    for path in ("/register", "/reset", "/confirm-email"):
        page = httpx.get(demo.base_url + path, timeout=10)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert '<script src="/pages/forms.js"></script>' in page.text and "<script>" not in page.text


async def test_the_form_without_a_token_refuses_at_once(browser, demo):
    page = await (await browser.new_context()).new_page()
    await page.goto(demo.base_url + "/confirm-email", wait_until="load")
    await page.wait_for_selector("form", state="hidden", timeout=DEADLINE_MS)
    assert "no token" in await page.inner_text("#result")


async def test_an_address_change_confirmed_on_its_page(browser, demo):
    max_ = "max@service.integra-metering.com"
    new = "max.neu@service.integra-metering.com"
    me = graphql(demo.base_url, "{ me { id } }", as_user=max_)["me"]
    update = "mutation($input: UserUpdateInput!) { userUpdate(input: $input) { user { email } errors { code } } }"
    changed = graphql(demo.base_url, update, {"input": {"id": me["id"], "email": new}}, as_user=max_)["userUpdate"]
    assert changed == {"user": {"email": max_}, "errors": []}  # the old address stays until confirmed
    mails = graphql(
        demo.base_url,
        "query($to: String!) { outboxMessages(first: 1, filter: {toAddress: $to}) { nodes { bodyText } } }",
        {"to": new},
        as_user="platform@fleetgraph.example",
    )["outboxMessages"]["nodes"]

    form = await open_form(browser, link_in(mails[0]["bodyText"], "/confirm-email"))
    await form.submit()
    assert new in await form.result("done")
    form.assert_local_only()
    assert login(demo.base_url, new, PASSWORDS[max_])
