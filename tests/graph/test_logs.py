"""Secrets never reach a log: GraphQL documents and variables, SQL parameters, download tokens and
link tokens in the access log (issue 11)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from urllib.parse import quote, urlsplit

import httpx
import pytest
import strawberry
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models.mail import OutboxMessage
from tests.environment import FLEETGRAPH, free_port, wait_until_healthy
from tests.factories import PASSWORD
from tests.mail.opened import opened

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
RESET_REQUEST = (
    "mutation($input: PasswordResetRequestInput!) { passwordResetRequest(input: $input) { errors { code } } }"
)


KEY_DOWNLOAD_CREATE = "mutation { keyDownloadCreate(input: {filter: {claimStatus: CLAIMED}}) { url errors { code } } }"


def login_document(email: str, password: str, extra: str = "", tail: str = "accessToken errors { code } } }") -> str:
    return f'mutation {{ login(input: {{email: "{email}", password: "{password}"{extra}}}) {{ {tail}'


def assert_absent(secrets: list[str], text_: str) -> None:
    leaked = [secret for secret in secrets if secret in text_]
    assert leaked == [], f"in the log: {leaked}"


async def send_client_mistakes_holding_secrets(gql, secrets: list[str]):
    """Syntax and validation errors, uncoercible variables and a refusal, each with a secret (added to secrets)."""
    # a syntax error in a document that holds a password
    syntax_secret = "Syntax-Secret#4711"
    secrets.append(syntax_secret)
    response = await gql.raw(login_document("user@a.example", syntax_secret, tail="accessToken "))
    assert response.status_code == 400 and response.json()["errors"][0]["message"].startswith("Syntax Error")

    # validation errors: an unknown input field, and a number where the password string belongs
    validation_secret = "Validation-Secret#0815"
    secrets.append(validation_secret)
    response = await gql.raw(login_document("user@a.example", validation_secret, extra=", rememberMe: true"))
    assert response.status_code == 400
    assert validation_secret in response.text  # the client is told what it sent: graphql-core quotes the input back
    response = await gql.raw(login_document("user@a.example", "x", tail="accessToken } }").replace('"x"', "98765432"))
    assert response.status_code == 400
    secrets.append("98765432")

    # variables that do not coerce: graphql-core quotes their values in its message
    variable_secret = "Variable-Secret#2718"
    secrets.append(variable_secret)
    response = await gql.raw(
        LOGIN, {"input": {"email": "user@a.example", "password": variable_secret, "otpCode": variable_secret}}
    )
    assert response.status_code == 400

    # a refusal by a resolver (UNAUTHENTICATED) whose document holds a secret
    refused_secret = "Refused-Secret#3141"
    secrets.append(refused_secret)
    refused = await gql(f'{{ users(filter: {{name: "{refused_secret}"}}) {{ totalCount }} }}')
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def reset_a_password_inline(gql, runtime, secrets: list[str]):
    """Password reset with the link's token inline in the document (token and password added to secrets)."""
    # password reset: the link's token travels inline in the reset document
    assert (await gql(RESET_REQUEST, {"input": {"email": "user@a.example"}}))["data"]["passwordResetRequest"][
        "errors"
    ] == []
    async with runtime.session_factory() as session:
        mail = opened(runtime, (await session.scalars(select(OutboxMessage))).one())
    token = re.search(r"token=([A-Za-z0-9_\-]+)", mail.body_text).group(1)
    new_password = "Violet-Kayak#Lantern7"
    secrets += [token, new_password]
    broken = f'mutation {{ passwordReset(input: {{token: "{token}", newPassword: "{new_password}"}}) {{ success '
    assert (await gql.raw(broken)).status_code == 400
    done = await gql(
        f'mutation {{ passwordReset(input: {{token: "{token}", newPassword: "{new_password}"}}) {{ success }} }}'
    )
    assert done["data"]["passwordReset"]["success"] is True


async def test_graphql_client_errors_are_info_without_the_document_and_server_errors_keep_no_secret(
    gql, world, runtime, caplog
):
    caplog.set_level(logging.DEBUG)  # everything any logger says, at every level
    secrets = [PASSWORD]

    # a login with the password inline in the document (succeeds: nothing to log, and nothing is)
    ok = await gql(login_document("user@a.example", PASSWORD))
    assert ok["data"]["login"]["errors"] == []

    await send_client_mistakes_holding_secrets(gql, secrets)

    await reset_a_password_inline(gql, runtime, secrets)

    # a server error: a resolver whose database statement fails with a 200 KB parameter
    big = "Parameter-Secret#" + "z" * 200_000
    document_secret = "Document-Secret#1618"
    secrets += [big[:40], document_secret]

    @strawberry.type
    class Query:
        @strawberry.field
        async def note(self, remark: str) -> int:
            async with runtime.session_factory() as session:
                return await session.scalar(text("SELECT :big + no_such_column"), {"big": big})

    schema = type(runtime.schema)(query=Query)  # fleetgraph's schema class, with its error logging
    result = await schema.execute(f'{{ note(remark: "{document_secret}") }}')
    assert result.errors and result.errors[0].original_error is not None

    assert_absent(secrets, caplog.text)
    assert_absent(secrets, "".join(str(record.__dict__) for record in caplog.records))  # extras and arguments too
    # client mistakes are INFO, not errors; each is still there, without its document
    refusals = [r for r in caplog.records if r.name == "fleetgraph.graphql" and r.levelno == logging.INFO]
    assert any("GRAPHQL_PARSE_FAILED" in r.getMessage() for r in refusals)
    assert any("GRAPHQL_VALIDATION_FAILED" in r.getMessage() and "'LoginInput'" in r.getMessage() for r in refusals)
    assert any("UNAUTHENTICATED" in r.getMessage() for r in refusals)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    # the one real server error: ERROR with its traceback, the field path, and no document
    assert [(r.name, r.exc_info is not None) for r in errors] == [("fleetgraph.graphql", True)]
    assert "path=note" in errors[0].getMessage() and "no_such_column" in caplog.text


async def test_database_errors_hide_their_parameters(runtime, caplog):
    """SQLAlchemy puts bound parameters into its exception text, which lands in tracebacks and logs."""
    caplog.set_level(logging.DEBUG)
    big = "Bound-Secret#" + "q" * 200_000
    with pytest.raises(DBAPIError) as caught:
        async with runtime.session_factory() as session:
            await session.execute(text("SELECT :big + no_such_column"), {"big": big})
    logging.getLogger("fleetgraph").exception("a failing statement")
    assert "no_such_column" in str(caught.value)  # the SQL stays, for whoever debugs it
    assert "Bound-Secret" not in str(caught.value) and "Bound-Secret" not in caplog.text


def test_masking_keeps_schema_names_and_drops_values():
    from graph.logs import mask_message, mask_string_literals, redact_target

    message = "Expected value of type 'LoginInput' not to include unknown field 'x', found: { password: \"Pw#1\" }."
    assert mask_message(message, {"LoginInput", "password"}) == (
        "Expected value of type 'LoginInput' not to include unknown field '***', found: { password: \"***\" }."
    )
    assert mask_message("Syntax Error: Expected Name, found '}'.") == "Syntax Error: Expected Name, found '}'."
    assert mask_message("Syntax Error: Unexpected character: 'x'.") == "Syntax Error: Unexpected character: '***'."
    assert mask_string_literals('{ a(b: "s\\"ecret", c: """block\n"secret" """) }') == '{ a(b: "***", c: """***""") }'
    assert redact_target("/downloads/abc-DEF_123") == "/downloads/[redacted]"
    assert redact_target("/register?token=abc&lang=de") == "/register?token=[redacted]&lang=de"
    assert redact_target("/reset?Token=abc") == "/reset?Token=[redacted]"
    graphql = redact_target("/graphql?query=" + quote('{ a(b: "pw") }') + "&variables=" + quote('{"p":"pw"}'))
    assert "pw" not in graphql and graphql.startswith("/graphql?query=") and "variables=[redacted]" in graphql
    assert redact_target("/health") == "/health"


def request_with_secrets(base: str, demo_password: str, secrets: list[str]) -> None:
    """A login, refused documents holding secrets (POST and GET), a key download fetched twice and a link
    with a token, against the served app; every secret sent or received is added to `secrets`."""
    with httpx.Client(base_url=base, timeout=20) as http:
        login = http.post("/graphql", json={"query": login_document("demo@integra-metering.com", demo_password)}).json()
        access = login["data"]["login"]["accessToken"]
        secrets.append(access)
        bearer = {"Authorization": f"Bearer {access}"}
        # a syntax error holding a password, over POST and over GET (the document is then in the URL)
        get_secret = "Get-Secret#9001"
        secrets += [get_secret, "Post-Secret#9002", "Variables-Secret#9003"]
        assert (
            http.post(
                "/graphql",
                json={"query": login_document("demo@integra-metering.com", "Post-Secret#9002", tail="x")},
            ).status_code
            == 400
        )
        http.get(
            "/graphql",
            params={
                "query": f'{{ users(filter: {{name: "{get_secret}"}}) {{ totalCount }} }}',
                "variables": json.dumps({"x": "Variables-Secret#9003"}),
            },
        )
        created = http.post(
            "/graphql",
            headers=bearer,
            json={"query": KEY_DOWNLOAD_CREATE},
        ).json()
        url = created["data"]["keyDownloadCreate"]["url"]
        assert url, created
        download_token = urlsplit(url).path.rsplit("/", 1)[1]
        secrets.append(download_token)
        first = http.get(urlsplit(url).path, headers=bearer)
        assert first.status_code == 200 and first.text.startswith("serial_number")
        assert http.get(urlsplit(url).path, headers=bearer).status_code == 410  # used: logged again
        secrets.append("Register-Token-31415")
        http.get("/register", params={"token": "Register-Token-31415", "lang": "de"})
        assert http.get("/health").status_code == 200


def test_served_access_log_holds_no_download_token_nor_link_token(tmp_path):
    """`fleetgraph serve` with uvicorn's access log on (its default): a key download and links with
    tokens go through a real server, and nothing secret reaches its output."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment.update(FLEETGRAPH_DATA_DIR=str(tmp_path), FLEETGRAPH_ROUTER_WATCHDOG_SECONDS="0")
    process = subprocess.Popen(
        [FLEETGRAPH, "serve", "--demo", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    demo_password = "Wasser-Zaehler#47"
    secrets = [demo_password]
    try:
        wait_until_healthy(process, port)
        request_with_secrets(base, demo_password, secrets)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert_absent(secrets, output)
    # the access log is on and still says what happened
    assert '"GET /downloads/[redacted] HTTP/1.1" 200' in output and '"GET /downloads/[redacted] HTTP/1.1" 410' in output
    assert "GET /register?token=[redacted]&lang=de HTTP/1.1" in output
    assert '"GET /health HTTP/1.1" 200' in output
    assert "INFO fleetgraph.graphql: GraphQL request refused (GRAPHQL_PARSE_FAILED)" in output
