"""/graphql against the GraphQL-over-HTTP specification (https://graphql.github.io/graphql-over-http/),
its SHOULDs included, plus GraphiQL, /health and persisted queries."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from graph.app import create_app
from graph.runtime import Runtime
from resolvers.identity.pages.serving import PAGES
from tests.environment import app_client
from tests.factories import NEW_PASSWORD

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = "{ __typename }"
LOGOUT = "mutation { logout(input: {}) { errors { code } } }"
ME = "{ me { email } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _headers(accept: str | None, token: str | None) -> dict[str, str]:
    headers = {"Accept": accept or ""}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def _send(client: httpx.AsyncClient, request: httpx.Request, accept: str | None) -> httpx.Response:
    if accept is None:
        del request.headers["accept"]  # httpx would otherwise send its default `Accept: */*`
    return await client.send(request)


async def post(client, body, *, accept: str | None = GRAPHQL_RESPONSE_JSON, token: str | None = None):
    request = client.build_request("POST", "/graphql", json=body, headers=_headers(accept, token))
    return await _send(client, request, accept)


async def get(client, params: dict, *, accept: str | None = GRAPHQL_RESPONSE_JSON, token: str | None = None):
    request = client.build_request("GET", "/graphql?" + urlencode(params), headers=_headers(accept, token))
    return await _send(client, request, accept)


async def post_raw(client, content: bytes, content_type: str | None, accept: str = GRAPHQL_RESPONSE_JSON):
    headers = {"Accept": accept}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return await client.post("/graphql", content=content, headers=headers)


async def assert_still_logged_in(client, token: str, email: str) -> None:
    """The token was not revoked: proof that a refused logout mutation did not run."""
    response = await post(client, {"query": ME}, token=token)
    assert response.status_code == 200
    assert response.json()["data"] == {"me": {"email": email}}


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


# --- GET ---------------------------------------------------------------------------------------


async def test_get_takes_query_variables_operation_name_and_extensions_from_the_url(client, world):
    document = "query Other { __typename } query Some($n: Int) { users(first: $n) { nodes { email } } }"
    response = await get(
        client,
        {"query": document, "variables": json.dumps({"n": 1}), "operationName": "Some", "extensions": json.dumps({})},
        token=world.tokens["admin_a"],
    )
    assert response.status_code == 200, response.text
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    body = response.json()
    assert "errors" not in body
    # operationName picked the second operation, variables limited it to one user
    assert len(body["data"]["users"]["nodes"]) == 1


async def test_get_extensions_from_the_url_are_used(client):
    # A wrong persisted-query hash in the URL's extensions is noticed, so they were read.
    response = await get(
        client,
        {
            "query": TYPENAME,
            "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256("other")}}),
        },
    )
    assert response.status_code == 400
    assert "does not match" in response.json()["errors"][0]["message"]


async def test_get_empty_operation_name_means_none(client):
    # The spec: operationName="" is the same as no operationName.
    response = await get(client, {"query": TYPENAME, "operationName": ""})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("variables", ["{not json", "[1]", "7", '"text"'])
async def test_get_variables_must_be_a_json_object(client, variables):
    response = await get(client, {"query": TYPENAME, "variables": variables})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_mutation_over_get_is_405_and_does_not_run(client, world):
    for accept in (GRAPHQL_RESPONSE_JSON, JSON):
        response = await get(client, {"query": LOGOUT}, accept=accept, token=world.tokens["admin_a"])
        assert response.status_code == 405
        assert "POST" in response.headers["allow"]
        assert "GET" not in response.headers["allow"]
    await assert_still_logged_in(client, world.tokens["admin_a"], "admin@a.example")


async def test_get_operation_name_decides_whether_it_is_a_mutation(client, world):
    document = "query Q { __typename } " + LOGOUT.replace("mutation", "mutation M")
    refused = await get(client, {"query": document, "operationName": "M"}, token=world.tokens["admin_a"])
    assert refused.status_code == 405
    allowed = await get(client, {"query": document, "operationName": "Q"}, token=world.tokens["admin_a"])
    assert allowed.status_code == 200
    assert allowed.json()["data"] == {"__typename": "Query"}
    await assert_still_logged_in(client, world.tokens["admin_a"], "admin@a.example")


async def test_mutation_over_post_runs(client, world):
    # The counterpart of the GET test: the same mutation does log out over POST.
    response = await post(client, {"query": LOGOUT}, token=world.tokens["admin_a"])
    assert response.status_code == 200
    assert response.json()["data"] == {"logout": {"errors": []}}
    after = await post(client, {"query": ME}, token=world.tokens["admin_a"])
    assert after.json()["data"] is None


# --- POST --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]
)
async def test_post_application_json(client, content_type):
    response = await post_raw(client, b'{"query": "{ __typename }"}', content_type)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}, "extensions": response.json()["extensions"]}


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",  # a CORS "simple request": accepting it would allow cross-site request forgery
        "application/x-www-form-urlencoded",
        # multipart/form-data is the upload format (tests/graph/test_multipart.py: anonymous there, so no CSRF)
        "application/graphql",
        "application/json; charset=iso-8859-1",
    ],
)
async def test_post_other_content_types_are_415(client, world, content_type):
    body = json.dumps({"query": LOGOUT}).encode()
    headers = {"Accept": GRAPHQL_RESPONSE_JSON, "Authorization": f"Bearer {world.tokens['admin_a']}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 415
    await assert_still_logged_in(client, world.tokens["admin_a"], "admin@a.example")


@pytest.mark.parametrize(
    "body", [b"NONSENSE", b'{"query":', b"", b'{"query": "{ __typename }"} trailing', b'{"query": "\xff"}']
)
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_post_invalid_json_is_400(client, body, accept):
    response = await post_raw(client, body, JSON, accept)
    assert response.status_code == 400
    assert media_type(response) == accept
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("body", [[{"query": TYPENAME}], "{ __typename }", 7, None, True])
async def test_post_body_must_be_a_json_object(client, body):
    response = await post_raw(client, orjson.dumps(body), JSON)
    assert response.status_code == 400
    assert "JSON object" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"qeury": TYPENAME},  # the spec's example of a typo
        {},
        {"query": None},
        {"query": 1},
        {"query": False},
        {"query": {"obj": "ect"}},
        {"query": [TYPENAME]},
        {"query": TYPENAME, "operationName": 1},
        {"query": TYPENAME, "operationName": ["x"]},
    ],
)
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_query_and_operation_name_must_be_strings(client, body, accept):
    # Not a well-formed GraphQL-over-HTTP request: 400 whatever the media type.
    response = await post(client, body, accept=accept)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("name", ["variables", "extensions"])
@pytest.mark.parametrize("value", ["{}", 0, False, [7], "string"])
async def test_variables_and_extensions_must_be_objects(client, name, value):
    # In a POST body they are JSON objects, not JSON text (that is only for GET URLs).
    response = await post(client, {"query": TYPENAME, name: value})
    assert response.status_code == 400
    assert f"`{name}` must be an object" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("name", ["variables", "operationName", "extensions"])
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_null_optional_parameters_are_omitted_ones(client, name, accept):
    response = await post(client, {"query": TYPENAME, name: None}, accept=accept)
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}
    assert "errors" not in response.json()


async def test_variables_object_is_used(client, world):
    response = await post(
        client,
        {"query": "query($n: Int) { users(first: $n) { nodes { id } } }", "variables": {"n": 2}},
        token=world.tokens["admin_a"],
    )
    assert response.status_code == 200
    assert len(response.json()["data"]["users"]["nodes"]) == 2


async def test_oversized_body_is_413(client):
    response = await post(client, {"query": TYPENAME, "variables": {"padding": "x" * 1_000_001}})
    assert response.status_code == 413


async def test_oversized_body_without_content_length_is_413(client):
    async def chunks():  # streamed: httpx sends no Content-Length
        body = orjson.dumps({"query": TYPENAME, "variables": {"padding": "x" * 1_000_001}})
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    request = client.build_request(
        "POST", "/graphql", content=chunks(), headers={"Content-Type": JSON, "Accept": GRAPHQL_RESPONSE_JSON}
    )
    assert "content-length" not in request.headers
    response = await client.send(request)
    assert response.status_code == 413


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(client, method):
    response = await client.request(
        method, "/graphql", json={"query": TYPENAME}, headers={"Accept": GRAPHQL_RESPONSE_JSON}
    )
    assert response.status_code == 405
    assert {part.strip() for part in response.headers["allow"].split(",")} == {"GET", "POST"}


# --- Accept ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (JSON, JSON),
        # no Accept header: since the spec's watershed (2025-01-01) servers SHOULD assume
        # application/graphql-response+json
        (None, GRAPHQL_RESPONSE_JSON),
        ("*/*", GRAPHQL_RESPONSE_JSON),
        ("application/*", GRAPHQL_RESPONSE_JSON),
        # the spec's recommended client header
        ("application/graphql-response+json; charset=utf-8, application/json; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        # equal q: order does not matter (RFC 9110), the preferred type wins
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        # q-values decide
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        ("application/json;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/json; q=1.0, application/graphql-response+json; q=0.1", JSON),
        ("*/*;q=0.8, application/json", JSON),
        # an explicit q=0 refuses the type even though */* would allow it
        ("application/graphql-response+json;q=0, */*", JSON),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", GRAPHQL_RESPONSE_JSON),
    ],
)
async def test_accept_negotiation(client, accept, expected):
    for response in (
        await post(client, {"query": TYPENAME}, accept=accept),
        await get(client, {"query": TYPENAME}, accept=accept),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == f"{expected}; charset=utf-8"
        assert "Accept" in response.headers["vary"]
        assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    "accept",
    [
        "text/plain",
        "application/xml",
        "text/*",
        "application/json;q=0",
        "application/json; charset=iso-8859-1",
        "application/graphql-response+json;q=0, application/json;q=0",
    ],
)
async def test_unacceptable_accept_is_406_and_nothing_runs(client, world, accept):
    response = await post(client, {"query": LOGOUT}, accept=accept, token=world.tokens["admin_a"])
    assert response.status_code == 406
    await assert_still_logged_in(client, world.tokens["admin_a"], "admin@a.example")


# --- status codes ------------------------------------------------------------------------------

# Well-formed requests that fail before execution: GraphQL request errors.
REQUEST_ERRORS = {
    "parse error": {"query": "{"},
    "empty document": {"query": ""},
    "validation error (unknown field)": {"query": "{ nope }"},
    "validation error (missing argument)": {"query": "{ node { id } }"},
    "variable of the wrong type": {
        "query": "query($n: Int) { users(first: $n) { nodes { id } } }",
        "variables": {"n": "ten"},
    },
    "missing required variable": {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {}},
    "unknown enum value in a variable": {
        "query": "query($r: Role) { users(filter: {role: $r}) { nodes { id } } }",
        "variables": {"r": "KING"},
    },
    "operation cannot be determined (unknown name)": {"query": TYPENAME, "operationName": "Nope"},
    "operation cannot be determined (two anonymous)": {"query": "{ __typename } { __typename }"},
    "subscription over HTTP": {"query": "subscription { auditEventRecorded { id } }"},
}


@pytest.mark.parametrize("body", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_request_errors_are_400_with_graphql_response_json(client, body):
    response = await post(client, body)
    assert response.status_code == 400, response.text
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    payload = response.json()
    assert payload["errors"] and all(error["message"] for error in payload["errors"])
    # The GraphQL spec: an error before execution means no `data` entry at all.
    assert "data" not in payload


@pytest.mark.parametrize("body", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_well_formed_requests_are_200_with_application_json(client, body):
    response = await post(client, body, accept=JSON)
    assert response.status_code == 200, response.text
    assert media_type(response) == JSON
    assert response.json()["errors"]
    assert "data" not in response.json()


async def test_variable_coercion_error_says_what_is_wrong(client):
    body = REQUEST_ERRORS["variable of the wrong type"]
    message = (await post(client, body)).json()["errors"][0]["message"]
    assert "$n" in message and "Int" in message


async def test_validation_error_names_the_field(client):
    message = (await post(client, {"query": "{ nope }"})).json()["errors"][0]["message"]
    assert "nope" in message


async def test_field_error_with_null_data_is_200(client):
    # `me` is non-null, so its UNAUTHENTICATED error makes data null: still an executed request
    # (a field error with a path), so 200 with the data entry present.
    for accept in (GRAPHQL_RESPONSE_JSON, JSON):
        response = await post(client, {"query": ME}, accept=accept)
        assert response.status_code == 200
        payload = response.json()
        assert "data" in payload and payload["data"] is None
        [error] = payload["errors"]
        assert error["path"] == ["me"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_partial_data_is_200(client, world):
    # node() is nullable: its error leaves the rest of the data in place.
    response = await post(
        client,
        {
            "query": "query($id: ID!) { __typename node(id: $id) { id } }",
            "variables": {"id": world.id("User", "user_a")},
        },
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"__typename": "Query", "node": None}
    assert payload["errors"][0]["path"] == ["node"]
    assert payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- encoding ----------------------------------------------------------------------------------


async def test_responses_are_utf8_json_encoded_by_orjson(client):
    # A UTF-8 request whose value comes back in an error message.
    body = {"query": "query($r: Role) { users(filter: {role: $r}) { nodes { id } } }", "variables": {"r": "Zürich🏃"}}
    response = await post(client, body)
    assert "Zürich🏃".encode() in response.content  # raw UTF-8, not \\u escapes
    # byte for byte what orjson makes of the payload
    assert response.content == orjson.dumps(response.json())
    ok = await post(client, {"query": TYPENAME})
    assert ok.content == orjson.dumps(ok.json())


# --- GraphiQL, /health -------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


async def test_graphiql_for_browsers_with_a_strict_csp(client):
    response = await client.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql.min.js" in response.text
    # every script comes from this server: no CDN
    assert 'src="http' not in response.text and 'src="//' not in response.text
    csp = csp_directives(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp.get("script-src", csp["default-src"]) == ["'self'"]  # no inline or eval scripts
    assert csp["connect-src"] == ["'self'"]
    for script in ("/graphiql/graphiql.min.js", "/graphiql/init.js", "/graphiql/react.production.min.js"):
        asset = await client.get(script)
        assert asset.status_code == 200 and asset.content


async def test_browser_get_with_a_query_gets_json(client):
    response = await get(client, {"query": TYPENAME}, accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    assert response.json()["data"] == {"__typename": "Query"}


async def test_no_graphiql_when_disabled(runtime):
    # The handler reads `graphiql` from the runtime's settings: a runtime of its own sharing the engine.
    settings = dataclasses.replace(runtime.settings, graphiql=False)
    app = create_app(settings, runtime=Runtime(settings, engine=runtime.engine))
    async with app_client(app) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert not response.headers["content-type"].startswith("text/html")
    assert response.status_code == 400


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["database"] == "ok"


# --- persisted queries -------------------------------------------------------------------------

PERSISTED = "query Persisted { __typename }"


def persisted(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_persisted_query_is_learned_then_used_by_hash(client):
    digest = sha256(PERSISTED)
    unknown = await post(client, {"extensions": persisted(digest)})
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    stored = await post(client, {"query": PERSISTED, "extensions": persisted(digest)})
    assert stored.status_code == 200
    assert stored.json()["data"] == {"__typename": "Query"}

    by_hash = await post(client, {"extensions": persisted(digest.upper())})
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json()["data"] == {"__typename": "Query"}

    over_get = await get(client, {"extensions": json.dumps(persisted(digest))})
    assert over_get.status_code == 200
    assert over_get.json()["data"] == {"__typename": "Query"}


async def test_unknown_persisted_query(client):
    digest = sha256("query Never { __typename }")
    strict = await post(client, {"extensions": persisted(digest)})
    assert strict.status_code == 400
    assert "data" not in strict.json()
    assert strict.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    # legacy clients (Apollo's link) get 200 and retry with the full text
    legacy = await post(client, {"extensions": persisted(digest)}, accept=JSON)
    assert legacy.status_code == 200
    assert legacy.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_persisted_query_hash_mismatch_is_400_and_not_stored(client):
    digest = sha256("query Other { __typename }")
    response = await post(client, {"query": PERSISTED, "extensions": persisted(digest)})
    assert response.status_code == 400
    assert "does not match" in response.json()["errors"][0]["message"]
    # the hash was not bound to the wrong document
    after = await post(client, {"extensions": persisted(digest)})
    assert after.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("digest", ["abc", "z" * 64, "ab " * 21 + "a", 12, None])
@pytest.mark.parametrize("with_query", [True, False])
async def test_persisted_query_hash_must_be_sha256_hex(client, digest, with_query):
    body = {"query": PERSISTED, "extensions": persisted(digest)} if with_query else {"extensions": persisted(digest)}
    response = await post(client, body)
    assert response.status_code == 400
    assert "must be a sha256 hex digest" in response.json()["errors"][0]["message"]


LISTED = "query Listed { __typename }"


@pytest.fixture
async def allow_list_client(runtime, tmp_path):
    """An app that accepts only the documents of an allow-list file (the shared runtime is fine:
    create_app builds PersistedQueries from the settings it is given)."""
    allow_list = tmp_path / "persisted.json"
    allow_list.write_text(json.dumps({sha256(LISTED): LISTED}))
    settings = dataclasses.replace(
        runtime.settings, persisted_queries_only=True, persisted_queries_file=str(allow_list)
    )
    app = create_app(settings, runtime=runtime)
    async with app_client(app) as http:
        yield http


async def test_allow_list_accepts_listed_documents(allow_list_client):
    for body in (
        {"extensions": persisted(sha256(LISTED))},
        {"query": LISTED},
        {"query": LISTED, "extensions": persisted(sha256(LISTED))},
    ):
        response = await post(allow_list_client, body)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"__typename": "Query"}
    over_get = await get(allow_list_client, {"extensions": json.dumps(persisted(sha256(LISTED)))})
    assert over_get.status_code == 200
    assert over_get.json()["data"] == {"__typename": "Query"}


async def test_allow_list_accepts_the_documents_of_the_servers_own_pages(allow_list_client):
    """The forms that links in mails open work on a server that accepts only persisted queries."""
    for page in PAGES.values():
        values = {field.name: NEW_PASSWORD for field in page.fields if field.required and "Repeat" not in field.name}
        variables = {"input": {"token": "unknown", **values}}
        response = await post(allow_list_client, {"query": page.document, "variables": variables})
        assert response.status_code == 200, response.text
        [payload] = response.json()["data"].values()
        assert payload["errors"][0]["code"] == "INVALID_TOKEN"  # it ran: the made-up link is refused


async def test_allow_list_refuses_other_documents(allow_list_client, client, world):
    token = world.tokens["admin_a"]
    refused = await post(allow_list_client, {"query": LOGOUT}, token=token)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    assert "data" not in refused.json()

    # Sending the text with its hash does not add it to the list ...
    other = "query Unlisted { __typename }"
    register = await post(allow_list_client, {"query": other, "extensions": persisted(sha256(other))})
    assert register.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    # ... so it is still unknown by hash.
    by_hash = await post(allow_list_client, {"extensions": persisted(sha256(other))})
    assert by_hash.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    # The refused logout did not run (checked through the unrestricted app on the same database).
    await assert_still_logged_in(client, token, "admin@a.example")
