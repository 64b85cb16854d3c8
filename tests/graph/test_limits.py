"""Query limits: depth, aliases, tokens, cost, page sizes and cursors, each with a clear error.

Lower limits come from an app over a Runtime of its own: Runtime.__init__ builds the schema (and
with it the limit extensions) from its settings, so `Runtime(settings, engine=runtime.engine)` is
the production path with other numbers. It shares the session runtime's engine (same database,
no second connection pool) and is never started or stopped: stop() would dispose that engine, and
these tests run only queries, which need no event bus.
"""

from __future__ import annotations

import base64
import dataclasses
from unittest.mock import ANY

import httpx
import pytest

from graph.app import create_app
from graph.cost import UNPAGINATED_LIST_SIZE
from graph.relay import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from graph.runtime import Runtime
from tests.environment import app_client

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


@pytest.fixture
def limited(runtime):
    """`async with limited(max_cost=100) as client:` an HTTP client for an app with other limits."""

    def make(**limits) -> httpx.AsyncClient:
        settings = dataclasses.replace(runtime.settings, **limits)
        app = create_app(settings, runtime=Runtime(settings, engine=runtime.engine))
        return app_client(app)

    return make


async def ask(
    http: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None
) -> httpx.Response:
    headers = {"Accept": GRAPHQL_RESPONSE_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def assert_refused(response: httpx.Response, *fragments: str) -> dict:
    """A request error: 400, no data (nothing ran), a message containing `fragments`."""
    assert response.status_code == 400, response.text
    payload = response.json()
    assert "data" not in payload
    message = payload["errors"][0]["message"]
    for fragment in fragments:
        assert fragment in message, message
    return payload["errors"][0]


def nested(depth: int) -> str:
    """`me { organisation { parent { … { name } } } }` whose deepest field is at `depth`, counted as
    strawberry's QueryDepthLimiter does: root fields at depth 0."""
    inner = "name"
    for _ in range(depth - 2):
        inner = f"parent {{ {inner} }}"
    return f"{{ me {{ organisation {{ {inner} }} }} }}"


def nested_through_fragments(depth: int) -> str:
    """The same depth, hidden in a chain of fragments."""
    parents = depth - 2
    fragments = [f"fragment F{i} on Organisation {{ parent {{ ...F{i + 1} }} }}" for i in range(parents)]
    fragments.append(f"fragment F{parents} on Organisation {{ name }}")
    return "{ me { organisation { ...F0 } } } " + " ".join(fragments)


# --- depth -------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [nested, nested_through_fragments])
async def test_depth_limit(gql, world, runtime, build):
    limit = runtime.settings.max_depth
    at_limit = await gql.raw(build(limit), token=world.tokens["user_a1"])
    assert at_limit.status_code == 200, at_limit.text
    assert at_limit.json()["data"]["me"]["organisation"]  # ran

    too_deep = await gql.raw(build(limit + 1), token=world.tokens["user_a1"])
    error = assert_refused(too_deep, "exceeds maximum operation depth", str(limit))
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"


async def test_depth_limit_comes_from_settings(limited, world):
    query = nested(4)
    async with limited(max_depth=3) as http:
        assert_refused(await ask(http, query, token=world.tokens["user_a"]), "maximum operation depth of 3")
    async with limited(max_depth=4) as http:
        assert (await ask(http, query, token=world.tokens["user_a"])).status_code == 200


# --- aliases -----------------------------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


async def test_alias_limit(gql, runtime):
    limit = runtime.settings.max_aliases
    ok = await gql.raw(aliased(limit))
    assert ok.status_code == 200
    assert len(ok.json()["data"]) == limit
    error = assert_refused(await gql.raw(aliased(limit + 1)), f"{limit + 1} aliases found", f"Allowed: {limit}")
    assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
    # the code is the limiter's alone: another validation error of the same request keeps its own shape
    mixed = (await gql.raw(aliased(limit + 1)[:-1] + "nope }")).json()["errors"]
    assert sorted((e.get("extensions") or {}).get("code", "") for e in mixed) == ["", "TOO_MANY_ALIASES"]


async def test_alias_limit_comes_from_settings(limited):
    async with limited(max_aliases=2) as http:
        assert (await ask(http, aliased(2))).status_code == 200
        assert_refused(await ask(http, aliased(3)), "3 aliases found", "Allowed: 2")


# --- tokens ------------------------------------------------------------------------------------


async def test_token_limit_refuses_a_huge_query(gql, runtime):
    ids = ", ".join(f'"id{i}"' for i in range(runtime.settings.max_tokens))
    assert_refused(
        await gql.raw(f"{{ nodes(ids: [{ids}]) {{ id }} }}"), f"more than {runtime.settings.max_tokens} tokens"
    )


async def test_token_limit_comes_from_settings(limited):
    # `{ nodes(ids: [...]) { id } }` is 11 tokens, plus one per ID and one for the end of the document
    def query(ids: int) -> str:
        return "{ nodes(ids: [" + ", ".join(f'"x{i}"' for i in range(ids)) + "]) { id } }"

    async with limited(max_tokens=30) as http:
        fits = await ask(http, query(18))
        assert fits.status_code == 200, fits.text
        assert fits.json()["data"]["nodes"] == [None] * 18
        assert_refused(await ask(http, query(19)), "more than 30 tokens")


# --- cost --------------------------------------------------------------------------------------

EXPENSIVE = "{ users(first: 500) { nodes { groups { members { groups { name } } } } } }"


async def test_cost_limit(gql, world, runtime):
    response = await gql.raw(EXPENSIVE, token=world.tokens["admin_a"])
    error = assert_refused(response, "costs", f"maximum of {runtime.settings.max_cost}")
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # users: 1 + 500 × (nodes 1 + groups (1 + 10 × members (1 + 10 × groups (1 + 10 × name 1))))
    n = UNPAGINATED_LIST_SIZE
    expected = 1 + 500 * (1 + (1 + n * (1 + n * (1 + n))))
    assert error["extensions"]["cost"] == expected > runtime.settings.max_cost
    assert error["extensions"]["maximumCost"] == runtime.settings.max_cost


async def test_cost_is_reported(gql, world, runtime):
    result = await gql("{ users(first: 3) { totalCount nodes { email } } }", token=world.tokens["admin_a"])
    assert len(result["data"]["users"]["nodes"]) == 3
    # users 1 + 3 × (totalCount 1 + nodes (1 + email 1))
    assert result["extensions"]["cost"] == {
        "requestedQueryCost": 1 + 3 * 3,
        "maximumAvailable": runtime.settings.max_cost,
    }


async def test_cost_of_a_connection_without_first_is_the_default_page(gql, world):
    result = await gql("{ users { nodes { id } } }", token=world.tokens["admin_a"])
    assert len(result["data"]["users"]["nodes"]) == 3
    assert result["extensions"]["cost"]["requestedQueryCost"] == 1 + DEFAULT_PAGE_SIZE * 2


async def test_cost_counts_fragments_and_plain_lists(gql, world):
    token = world.tokens["admin_a"]
    inline = await gql("{ me { groups { members { name } } } }", token=token)
    spread = await gql(
        "{ me { ...G } } fragment G on User { groups { ... on UserGroup { members { name } } } }", token=token
    )
    n = UNPAGINATED_LIST_SIZE
    expected = 1 + (1 + n * (1 + n * 1))  # me, groups × n, members × n
    assert inline["extensions"]["cost"]["requestedQueryCost"] == expected
    assert spread["extensions"]["cost"]["requestedQueryCost"] == expected


async def test_cost_of_nodes_counts_the_ids(gql, world):
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    one = await gql(query, {"ids": [world.id("User", "user_a")]}, token=world.tokens["admin_a"])
    many = await gql(query, {"ids": [world.id("User", "user_a")] * 40}, token=world.tokens["admin_a"])
    assert one["extensions"]["cost"]["requestedQueryCost"] == 1 + 1
    assert many["extensions"]["cost"]["requestedQueryCost"] == 1 + 40


async def test_cost_limit_comes_from_settings_and_uses_variables(limited, world):
    query = "query($n: Int) { users(first: $n) { nodes { id } } }"  # costs 1 + n × 2
    token = world.tokens["admin_a"]
    async with limited(max_cost=100) as http:
        fits = await ask(http, query, {"n": 49}, token=token)
        assert fits.status_code == 200, fits.text
        assert fits.json()["extensions"]["cost"] == {"requestedQueryCost": 99, "maximumAvailable": 100}
        error = assert_refused(await ask(http, query, {"n": 50}, token=token), "costs 101", "maximum of 100")
        assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 101, "maximumCost": 100, "requestId": ANY}


# --- page sizes and cursors --------------------------------------------------------------------


def bad_user_input(result: dict) -> dict:
    """A field error on `users` (non-null, so data is null): the request did run."""
    assert result["data"] is None
    [error] = result["errors"]
    assert error["path"] == ["users"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    return error


@pytest.mark.parametrize("argument", ["first", "last"])
async def test_page_size_limit(gql, world, argument):
    token = world.tokens["admin_a"]
    ok = await gql(f"{{ users({argument}: {MAX_PAGE_SIZE}) {{ nodes {{ id }} }} }}", token=token)
    assert len(ok["data"]["users"]["nodes"]) == 3
    for size in (MAX_PAGE_SIZE + 1, -1):
        error = bad_user_input(await gql(f"{{ users({argument}: {size}) {{ nodes {{ id }} }} }}", token=token))
        assert error["extensions"]["argument"] == argument
        assert str(MAX_PAGE_SIZE) in error["message"]


async def test_first_and_last_together(gql, world):
    error = bad_user_input(await gql("{ users(first: 1, last: 1) { nodes { id } } }", token=world.tokens["admin_a"]))
    assert "either `first` or `last`" in error["message"]


def cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "bad",
    [
        "garbage!",
        "",
        cursor(b"not json"),
        cursor(b'{"a": 1}'),
        cursor(b'["Admin"]'),
        cursor(b'[1, "two"]'),
        cursor(b"[[], 2]"),
    ],
)
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_invalid_cursor(gql, world, argument, bad):
    query = f"query($c: String) {{ users({argument}: $c) {{ nodes {{ id }} }} }}"
    error = bad_user_input(await gql(query, {"c": bad}, token=world.tokens["admin_a"]))
    assert error["message"] == "Invalid cursor."


async def test_valid_cursor_pages_on(gql, world):
    # The counterpart of the invalid cursors: a cursor from the server works.
    token = world.tokens["admin_a"]
    query = "query($c: String) { users(first: 2, after: $c) { nodes { email } pageInfo { endCursor hasNextPage } } }"
    first = (await gql(query, {"c": None}, token=token))["data"]["users"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await gql(query, {"c": first["pageInfo"]["endCursor"]}, token=token))["data"]["users"]
    assert second["pageInfo"]["hasNextPage"] is False
    emails = [node["email"] for node in first["nodes"] + second["nodes"]]
    assert sorted(emails) == ["admin@a.example", "user@a.example", "user@a1.example"]


async def test_validation_is_cached_across_requests(gql, world):
    """Parsing and validating the same document again must hit strawberry's caches (issue 2: fast by default)."""
    from strawberry.extensions.validation_cache import _get_validate_cache

    cache = _get_validate_cache(1024)
    query = "query CachedValidation { me { email organisation { name } } }"
    await gql(query, token=world.tokens["user_a"])
    hits = cache.cache_info().hits
    for _ in range(3):
        await gql(query, token=world.tokens["user_a"])
    assert cache.cache_info().hits == hits + 3
