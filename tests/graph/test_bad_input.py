"""Bad input never crashes: each case that once answered HTTP 500 or "Unexpected error." now gets a
typed error (a GraphQL syntax error, or extensions.code BAD_USER_INPUT naming the argument) and
changes nothing. Runs on SQLite and, with FLEETGRAPH_TEST_DATABASE_URL, on PostgreSQL, where NUL in
text used to fail inside the database."""

from __future__ import annotations

import base64
from unittest.mock import ANY

import pytest

from graph.filters import MAX_FILTER_TEXT
from graph.http import INTERNAL_ERROR_MESSAGE
from graph.inputs import MAX_TEXT_ARGUMENT
from tests.factories import add_devices, snapshot

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


async def post(
    client, query: str, variables: dict | None = None, token: str | None = None, accept: str = GRAPHQL_RESPONSE_JSON
):
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def refused_before_execution(response, argument: str) -> dict:
    """A request error (400, nothing ran, no `data`) with BAD_USER_INPUT naming `argument`."""
    assert response.status_code == 400, response.text
    payload = response.json()
    assert "data" not in payload
    [error] = payload["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument, "requestId": ANY}, error
    assert argument in error["message"]
    return error


def field_error(response, code: str = "BAD_USER_INPUT") -> dict:
    """A typed error of a resolver: 200, the field null, never the masked internal error."""
    assert response.status_code == 200, response.text
    payload = response.json()
    [error] = payload["errors"]
    assert error["message"] != INTERNAL_ERROR_MESSAGE
    assert error["extensions"]["code"] == code, error
    return error


# --- empty selection sets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["{}", "{ }", "query { }", "{ me { } }", "query Q { me { ...F } } fragment F on User { }"]
)
async def test_an_empty_selection_set_is_a_syntax_error(client, world, query):
    response = await post(client, query, token=world.tokens["admin_a"])
    assert response.status_code == 400, response.text
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"] == "Syntax Error: Expected Name, found '}'."
    assert payload["errors"][0]["locations"]


async def test_an_empty_selection_set_over_get_and_for_legacy_clients(client, world):
    response = await client.get("/graphql", params={"query": "{}"}, headers={"Accept": GRAPHQL_RESPONSE_JSON})
    assert response.status_code == 400, response.text
    legacy = await post(client, "{ }", accept="application/json")  # legacy clients get 200 for every request error
    assert legacy.status_code == 200
    assert legacy.json()["errors"][0]["message"].startswith("Syntax Error: Expected Name")


# --- cursors -------------------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


USERS = "query($after: String) { users(after: $after) { nodes { name } } }"  # keys: name, id
AUDIT = "query($after: String) { auditEvents(after: $after) { nodes { action } } }"  # key: id
INVITATIONS = "query($after: String) { invitations(after: $after) { nodes { name } } }"  # keys: created_at, id


#: Cursors that used to crash: null sort key values (every sort key is NOT NULL, and `column < NULL`
#: failed in the query) and times at the ends of the calendar, whose offset overflows in UTC.
CRASHING_CURSORS = [
    (USERS, b64("[null, null]")),
    (USERS, b64('["Admin", null]')),
    (AUDIT, b64("[null]")),
    (INVITATIONS, b64("[null, 1]")),
    (INVITATIONS, b64('["9999-12-31T23:59:59-23:59", 1]')),
    (INVITATIONS, b64('["0001-01-01T00:00:00+23:59", 1]')),
]
#: Cursors that were already refused: wrong types, wrong length, nested objects, huge numbers, naive
#: times, NUL, not JSON, not base64. Kept so that the null fix does not loosen them.
OTHER_MALFORMED_CURSORS = [
    (USERS, b64('[1, "x"]')),
    (USERS, b64('["x", true]')),
    (USERS, b64('["x"]')),
    (USERS, b64('["x", 1, 2]')),
    (USERS, b64('{"name": "x", "id": 1}')),
    (USERS, b64('["x", {"id": 1}]')),
    (USERS, b64('["x", [1]]')),
    (USERS, b64('["x", 1.5]')),
    (USERS, b64('["x", 2147483648]')),
    (USERS, b64('["x", 99999999999999999999999999]')),
    (AUDIT, b64("[-9223372036854775809]")),
    (INVITATIONS, b64('["2024-01-01T00:00:00", 1]')),
    (INVITATIONS, b64('["yesterday", 1]')),
    (USERS, b64('["x\\u0000", 1]')),
    (USERS, b64("not json")),
    (USERS, "%%% not base64 %%%"),
    (USERS, ""),
]


@pytest.mark.parametrize(("query", "cursor"), CRASHING_CURSORS + OTHER_MALFORMED_CURSORS)
async def test_a_malformed_cursor_is_bad_user_input(client, world, query, cursor):
    error = field_error(await post(client, query, {"after": cursor}, token=world.tokens["platform"]))
    assert error["message"] == "Invalid cursor."


# --- text filters (LIKE) -------------------------------------------------------------------------------


async def test_a_huge_like_filter_is_refused_before_it_reaches_the_database(client, world):
    # 50 KB: SQLite refused the escaped pattern ("LIKE or GLOB pattern too complex")
    query = "query($name: String) { users(filter: {name: $name}) { nodes { name } } }"
    refused_before_execution(
        await post(client, query, {"name": "%_" * 25_000}, token=world.tokens["admin_a"]), "users.filter.name"
    )


@pytest.mark.parametrize(
    ("query", "argument"),
    [
        ("query($t: String) { users(filter: {name: $t}) { totalCount } }", "filter.name"),
        ("query($t: String) { users(filter: {email: $t}) { totalCount } }", "filter.email"),
        ("query($t: String) { organisations(filter: {name: $t}) { totalCount } }", "filter.name"),
        ("query($t: String) { userGroups(filter: {name: $t}) { totalCount } }", "filter.name"),
        ("query($t: String) { invitations(filter: {email: $t}) { totalCount } }", "filter.email"),
        ("query($t: String) { auditEvents(filter: {actor: $t}) { totalCount } }", "filter.actor"),
        ("query($t: String) { emailTemplates(filter: {name: $t}) { totalCount } }", "filter.name"),
        ("query($t: String) { outboxMessages(filter: {toAddress: $t}) { totalCount } }", "filter.toAddress"),
    ],
)
async def test_like_filters_are_bounded(client, world, query, argument):
    """Longer than any searchable column (so it could never match) but under the 10,000 of the central check:
    the filter refuses it with a typed error instead of building a huge LIKE pattern."""
    token = world.tokens["platform"]
    error = field_error(await post(client, query, {"t": "%_" * (MAX_FILTER_TEXT // 2 + 1)}, token=token))
    assert error["extensions"]["argument"] == argument
    assert f"At most {MAX_FILTER_TEXT} characters" in error["message"]
    # at the limit the wildcards are literal: nothing matches, nothing fails
    at_limit = await post(client, query, {"t": "%_" * (MAX_FILTER_TEXT // 2)}, token=token)
    assert at_limit.status_code == 200 and "errors" not in at_limit.json(), at_limit.text


# --- NUL, unpaired surrogates and overlong text in any argument ----------------------------------------


CLAIM = "mutation($input: DeviceClaimInput!) { deviceClaim(input: $input) { device { serialNumber } errors { code } } }"
EXTERNAL = "mutation($input: ExternalUserAddInput!) { externalUserAdd(input: $input) { errors { code } } }"
INVITE = "mutation($input: InvitationCreateInput!) { invitationCreate(input: $input) { errors { code } } }"
LOCATION = "mutation($input: LocationCreateInput!) { locationCreate(input: $input) { errors { code } } }"
BATCH = "mutation($input: BatchCreateInput!) { batchCreate(input: $input) { errors { code } } }"


@pytest.fixture
async def devices(runtime, world):
    return await add_devices(runtime, world.organisations["a"].id, [("21N001052", "TOPAS Lora W8", False, [])])


def nul_cases(world):
    organisation = world.id("Organisation", "a")
    return [
        # a valid serial number, so the query reaches the database (PostgreSQL refused the NUL there)
        (
            CLAIM,
            {"input": {"serialNumber": "21N001052", "manufacturer": "Integra\x00"}},
            "deviceClaim.input.manufacturer",
        ),
        (CLAIM, {"input": {"serialNumber": "21N001052\x00"}}, "deviceClaim.input.serialNumber"),
        (EXTERNAL, {"input": {"email": "user@b.example\x00"}}, "externalUserAdd.input.email"),
        (
            INVITE,
            {"input": {"name": "Neu\x00", "organisationId": organisation, "roles": ["USER"]}},
            "invitationCreate.input.name",
        ),
        (LOCATION, {"input": {"name": "Pumpe\x00"}}, "locationCreate.input.name"),
        (
            BATCH,
            {
                "input": {
                    "reference": "R-1",
                    "label": "L",
                    "organisationId": organisation,
                    "serialNumbers": ["21N001052", "X\x00"],
                }
            },
            "batchCreate.input.serialNumbers.1",
        ),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "VXNlcjox\x00"}, "node.id"),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["a", "b\x00"]}, "nodes.ids.1"),
    ]


async def test_nul_in_any_text_argument_is_bad_user_input_and_changes_nothing(client, world, runtime, devices):
    before = await snapshot(runtime)
    for query, variables, argument in nul_cases(world):
        error = refused_before_execution(await post(client, query, variables, token=world.tokens["admin_a"]), argument)
        assert "NUL" in error["message"]
    assert await snapshot(runtime) == before


async def test_nul_in_a_literal_a_default_and_an_aliased_nested_field(client, world, devices):
    token = world.tokens["admin_a"]
    literal = (
        'mutation { claim: deviceClaim(input: {serialNumber: "21N001052", manufacturer: "a\\u0000"}) { '
        "errors { code } } }"
    )
    refused_before_execution(await post(client, literal, token=token), "claim.input.manufacturer")
    default = 'query($n: String = "x\\u0000") { users(filter: {name: $n}) { totalCount } }'
    refused_before_execution(await post(client, default, token=token), "users.filter.name")
    nested = 'query { me { organisation { name } groups { name } } users(first: 1, after: "\\u0000") { totalCount } }'
    refused_before_execution(await post(client, nested, token=token), "users.after")
    fragment = 'query { ...F } fragment F on Query { organisations(filter: {name: "\\u0000"}) { totalCount } }'
    refused_before_execution(await post(client, fragment, token=token), "organisations.filter.name")


async def test_unpaired_surrogates_are_refused(runtime, world):
    """JSON over HTTP cannot carry them (orjson refuses), but the websocket transports parse messages with
    Python's json, which can: the driver could not encode such a string."""
    result = await runtime.schema.execute(
        "query($t: String) { users(filter: {name: $t}) { totalCount } }", variable_values={"t": "a\ud800b"}
    )
    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "argument": "users.filter.name"}
    assert "unpaired surrogates" in error.message


async def test_overlong_text_is_refused_with_its_path(client, world, runtime, devices):
    before = await snapshot(runtime)
    token = world.tokens["admin_a"]
    error = refused_before_execution(
        await post(
            client,
            CLAIM,
            {"input": {"serialNumber": "21N001052", "manufacturer": "m" * (MAX_TEXT_ARGUMENT + 1)}},
            token=token,
        ),
        "deviceClaim.input.manufacturer",
    )
    assert f"at most {MAX_TEXT_ARGUMENT:,} characters" in error["message"]
    # exactly at the limit it reaches the resolver, which answers with its own typed error
    response = await post(
        client, CLAIM, {"input": {"serialNumber": "21N001052", "manufacturer": "m" * MAX_TEXT_ARGUMENT}}, token=token
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    assert await snapshot(runtime) == before


async def test_arguments_that_take_long_text_have_a_larger_limit(client, world):
    token = world.tokens["admin_a"]
    # a mail template body of 50,000 characters is checked by the template code, not refused as too long
    template = (
        await post(client, "{ emailTemplates(first: 1) { nodes { id } } }", token=world.tokens["platform"])
    ).json()
    template_id = template["data"]["emailTemplates"]["nodes"][0]["id"]
    preview = """mutation($input: EmailTemplatePreviewInput!) {
      emailTemplatePreview(input: $input) { errors { code field } } }"""
    body = "Hallo {{ recipient_name }}! " + "x" * 50_000
    response = await post(client, preview, {"input": {"id": template_id, "bodyText": body}}, token=token)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    # the CSV text of a bulk router registration may be long too (the resolver caps it at 2 MiB)
    bulk = "mutation($input: RouterRegisterBulkInput!) { routerRegisterBulk(input: $input) { errors { code } } }"
    csv_text = "common_name;mac_address\n" + "".join(f"R_{i:018d};\n" for i in range(600))
    assert len(csv_text) > MAX_TEXT_ARGUMENT
    response = await post(client, bulk, {"input": {"csv": csv_text, "dryRun": True}}, token=world.tokens["platform"])
    assert response.status_code == 200, response.text
    assert all(
        error["extensions"].get("argument") != "routerRegisterBulk.input.csv"
        for error in response.json().get("errors", [])
    )
    # but not without bounds: 100,001 characters of template body are refused before the resolver
    refused_before_execution(
        await post(client, preview, {"input": {"id": template_id, "bodyText": "x" * 100_001}}, token=token),
        "emailTemplatePreview.input.bodyText",
    )


# --- DateTime arguments ----------------------------------------------------------------------------------

SINCE = "query($since: DateTime) { auditEvents(filter: {since: $since}) { totalCount } }"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2024-01-01T00:00:00", "DateTime needs a UTC offset"),  # used to reach the database: "naive datetime"
        ("9999-12-31T23:59:59-23:59", "DateTime is out of range in UTC"),  # used to overflow converting to UTC
        ("0001-01-01T00:00:00+23:59", "DateTime is out of range in UTC"),
        ("yesterday", "not an ISO 8601 date and time"),
        (5, "expected a string"),
    ],
)
async def test_a_datetime_without_offset_or_out_of_range_is_a_coercion_error(client, world, value, reason):
    response = await post(client, SINCE, {"since": value}, token=world.tokens["admin_a"])
    assert response.status_code == 400, response.text
    payload = response.json()
    assert "data" not in payload and reason in payload["errors"][0]["message"], payload


async def test_datetimes_with_an_offset_are_taken_in_utc(client, world):
    for value in ("2024-01-01T00:00:00Z", "2024-01-01T02:00:00+02:00", "0001-01-01T00:00:00-01:00"):
        response = await post(client, SINCE, {"since": value}, token=world.tokens["admin_a"])
        assert response.status_code == 200 and response.json()["data"]["auditEvents"]["totalCount"] >= 0, response.text
    literal = '{ auditEvents(filter: {since: "2024-01-01T00:00:00"}) { totalCount } }'
    response = await post(client, literal, token=world.tokens["admin_a"])
    assert response.status_code == 400 and "UTC offset" in response.json()["errors"][0]["message"]


async def test_deeply_nested_variables_are_refused_not_a_recursion_error(client, world):
    """orjson accepts about 1,000 levels of `[[[…]]]`; walking them must not exhaust Python's stack."""
    nested = "[" * 1_000 + "]" * 1_000
    body = '{"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": ' + nested + "}}"
    response = await client.post(
        "/graphql",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Accept": GRAPHQL_RESPONSE_JSON,
            "Authorization": f"Bearer {world.tokens['admin_a']}",
        },
    )
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "nested too deeply" in error["message"]
