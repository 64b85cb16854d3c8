"""The pages that links in mails open: `GET /register`, `/reset` and `/confirm-email` with `?token=…`.

fleetgraph is an API server without a web front end; these small server-rendered forms let an invited user
register, reset a password or confirm an address with nothing but this server. Each page is plain HTML with
one script from this server (forms.js) that sends the page's one mutation to /graphql: the API stays the only
way in, with its checks, limits and audit. The token stays in the URL, which the access log redacts
(graph.logs); no referrer leaves the page and nothing caches it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from graph.browser import BROWSER_PAGE_HEADERS

STATIC = Path(__file__).resolve().parent / "static"
#: Pages holding a secret in their URL: no referrer to other sites, no copy in a cache.
PAGE_HEADERS = {**BROWSER_PAGE_HEADERS, "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class Field:
    name: str  # the mutation input's field; "<name>Repeat" asks again and must match
    label: str
    kind: str = "password"
    autocomplete: str = "new-password"
    required: bool = True


@dataclass(frozen=True)
class Page:
    title: str
    intro: str
    fields: tuple[Field, ...]
    button: str
    #: One mutation taking `$input` with `token` and the fields; its payload has `errors { field message }`.
    document: str
    #: Shown on success; `{email}` is the address the payload returns.
    done: str


_LOG_IN = 'Log in with {email} in <a href="/graphql">GraphiQL</a> (the <code>login</code> mutation).'

PAGES = {
    "/register": Page(
        title="Create your account",
        intro="You were invited to fleetgraph. Choose a password to create your account.",
        fields=(
            Field("email", "E-mail address (only if your invitation names none)", "email", "email", required=False),
            Field("password", "Password"),
            Field("passwordRepeat", "Password again"),
        ),
        button="Create account",
        document="mutation Register($input: InvitationAcceptInput!) "
        "{ invitationAccept(input: $input) { user { email } errors { code field message } } }",
        done="Your account is ready. " + _LOG_IN,
    ),
    "/reset": Page(
        title="Set a new password",
        intro="Choose a new password for your fleetgraph account. Every session of the account ends.",
        fields=(Field("newPassword", "New password"), Field("newPasswordRepeat", "New password again")),
        button="Set password",
        document="mutation Reset($input: PasswordResetInput!) "
        "{ passwordReset(input: $input) { success errors { code field message } } }",
        done="Your password is changed. " + _LOG_IN.replace("{email}", "your e-mail address"),
    ),
    "/confirm-email": Page(
        title="Confirm your new address",
        intro="Confirm that this address is yours: it becomes the login name of your fleetgraph account.",
        fields=(),
        button="Confirm address",
        document="mutation Confirm($input: EmailChangeConfirmInput!) "
        "{ emailChangeConfirm(input: $input) { email errors { code field message } } }",
        done="Confirmed. " + _LOG_IN,
    ),
    # accounts (issue 17)
    "/confirm-contact": Page(
        title="Confirm your contact address",
        intro="Confirm that this address is yours: notifications of your fleetgraph account can then go to it.",
        fields=(),
        button="Confirm address",
        document="mutation ConfirmContact($input: ContactEmailConfirmInput!) "
        "{ contactEmailConfirm(input: $input) { contactEmail { email } errors { code field message } } }",
        done="Confirmed: notifications can go to this address.",
    ),
}


def render(page: Page) -> str:
    fields = "\n".join(
        f'    <label>{html.escape(field.label)}<input name="{field.name}" type="{field.kind}" '
        f'autocomplete="{field.autocomplete}"{" required" if field.required else ""}></label>'
        for field in page.fields
    )
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>fleetgraph · {html.escape(page.title)}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/pages/forms.css">
</head>
<body>
  <main>
  <h1>{html.escape(page.title)}</h1>
  <p>{html.escape(page.intro)}</p>
  <form data-document="{html.escape(page.document)}" data-done="{html.escape(page.done)}" novalidate>
{fields}
    <button type="submit">{html.escape(page.button)}</button>
  </form>
  <p id="result" role="status" aria-live="polite"></p>
  </main>
  <script src="/pages/forms.js"></script>
</body>
</html>
"""


#: What the pages send: allowed even when the server accepts only persisted queries.
DOCUMENTS = tuple(page.document for page in PAGES.values())
RENDERED = {path: render(page) for path, page in PAGES.items()}


async def serve_page(request: Request) -> Response:
    return HTMLResponse(RENDERED[request.url.path], headers=PAGE_HEADERS)


ROUTES = (
    *(Route(path, serve_page, methods=["GET"]) for path in PAGES),
    Mount("/pages", StaticFiles(directory=STATIC), name="pages"),
)
