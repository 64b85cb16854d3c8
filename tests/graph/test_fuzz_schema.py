"""Property-based fuzzing of the whole API: every root field of Query and Mutation gets random values
of each argument's type (nested input objects, enums, lists, garbage and real IDs, random cursors,
strings with NUL, very long strings), over the real HTTP app, as an organisation admin and as a
platform admin. Whatever the input, the server answers with a result or a typed error: never
HTTP 500 and never the masked "Unexpected error." of an unhandled exception.

Documents and value strategies are generated from the GraphQL schema itself, so a new root field
or argument is fuzzed without touching this file. Each Hypothesis example is one sweep over all
root fields, so every field is exercised in every example. IDs and strings seen in earlier
answers (the objects the sweep created, their names, serial numbers, e-mail addresses) are fed
back as input, so that resolvers get past "not found" to their real work. Half the requests put
one nasty value (NUL, long text, a crafted cursor, an edge number or time) into an otherwise
plausible request, so that no other refusal hides what it does. `derandomize=True` makes the run
the same in CI every time. Mutations change the database as the sweep goes; the property holds
in every state, so it does not depend on the order.
"""

from __future__ import annotations

import base64
import json
import os
import string
from datetime import UTC

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from graph.http import INTERNAL_ERROR_MESSAGE
from graph.relay import MAX_PK, to_global_id
from graph.schema import NODE_RESOLVERS
from tests.factories import issue_token

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
#: Sweeps per role; each is one request per root field (about 100): about 20 s for the file on
#: SQLite, 40 s on PostgreSQL. FLEETGRAPH_FUZZ_SWEEPS=50 searches longer, and FLEETGRAPH_FUZZ_RANDOM=1
#: draws new examples instead of CI's fixed ones (both for looking for bugs by hand).
SWEEPS = int(os.environ.get("FLEETGRAPH_FUZZ_SWEEPS", "4"))
#: At most this many harvested IDs and strings are kept for reuse.
POOL_SIZE = 300

# --- strings ---------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64_json(value) -> str:
    return _b64(json.dumps(value).encode())  # json, not orjson: numbers beyond 64 bits too


EDGE_TIMES = [
    "2024-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2024-01-01T00:00:00",
]
#: Cursors: base64 of lists shaped like ours (sort key values: a name or a time, then an id) but
#: with nulls, wrong types, huge numbers and times at the ends of the calendar; of random JSON; and
#: of random bytes.
cursor_values = st.one_of(
    st.none(), st.integers(-(2**64), 2**64), st.text(max_size=12), st.booleans(), st.sampled_from(EDGE_TIMES)
)
crafted_cursors = st.one_of(
    st.lists(cursor_values, min_size=1, max_size=2).map(_b64_json),  # our cursors hold one or two values
    st.lists(st.none(), min_size=1, max_size=2).map(_b64_json),
    json_values.map(_b64_json),
    st.binary(max_size=40).map(_b64),
)
#: Long text: over the central 10,000 characters, SQLite's LIKE pattern limit, and NUL deep inside.
long_strings = st.sampled_from([("x", 10_001), ("%_", 25_000), ("ä", 60_000), ("é\x00", 6_000), ("y", 9_999)]).map(
    lambda piece_count: piece_count[0] * piece_count[1]
)


def pick(pool: list[str], fallback: str = "") -> st.SearchStrategy[str]:
    """An element of `pool`, which grows during the test. Hypothesis draws only an index, so its
    choices stay the same whatever the pool holds (it refuses strategies that depend on outside state)."""
    return st.integers(0, POOL_SIZE - 1).map(lambda index: pool[index % len(pool)] if pool else fallback)


def texts(seen: list[str]) -> st.SearchStrategy[str]:
    """Mostly plausible (random text, serial numbers, e-mail addresses, strings the server answered
    with: names, serials …), else nasty (NUL, long text, cursors where text belongs)."""
    plausible = st.one_of(
        st.text(max_size=30),
        st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=14),
        st.text(alphabet=string.ascii_letters + string.digits + "%_\\*.-@/ ,;", max_size=40),  # wildcards, separators
        st.emails(),
        pick(seen),
        pick(seen),
    )
    nasty = st.one_of(
        long_strings,
        st.tuples(plausible, st.text(max_size=3)).map(lambda parts: f"{parts[0]}\x00{parts[1]}"),
        crafted_cursors,
    )
    return st.one_of(plausible, plausible, plausible, nasty)  # with fewer nasty values, each reaches further


def cursors(seen_cursors: list[str], seen: list[str]) -> st.SearchStrategy[str]:
    """For `after`/`before`: real cursors of earlier pages, crafted ones, and any text."""
    return st.one_of(pick(seen_cursors), crafted_cursors, crafted_cursors, texts(seen))


def datetimes(seen: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat()),
        st.datetimes().map(lambda moment: moment.isoformat()),  # no offset
        st.sampled_from([*EDGE_TIMES, "2024-02-30T00:00:00Z", ""]),
        texts(seen),
    )


def ids(real_ids: list[str], seen: list[str]) -> st.SearchStrategy[str]:
    """Global IDs: of real objects, well-formed ones of every node type with random keys, and garbage."""
    type_names = st.sampled_from(sorted(NODE_RESOLVERS)) | st.text(max_size=12)
    numbers = st.integers(0, 2 * MAX_PK) | st.sampled_from([0, 1, MAX_PK, MAX_PK + 1, 10**18])
    return st.one_of(
        pick(real_ids),
        pick(real_ids),
        st.builds(to_global_id, type_names, numbers),
        st.text(max_size=20).map(lambda text: _b64(text.encode())),
        texts(seen),
    )


# --- values of any input type ----------------------------------------------------------------------


class Pools:
    """IDs and strings for the strategies: the world's, and those harvested from answers."""

    def __init__(self, real_ids: list[str]) -> None:
        self.ids = list(real_ids)
        self.texts: list[str] = []
        self.cursors: list[str] = []

    def harvest(self, value, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                self.harvest(item, name)
        elif isinstance(value, list):
            for item in value:
                self.harvest(item, key)
        elif isinstance(value, str):
            pool = self.ids if key == "id" else self.cursors if key.endswith(("cursor", "Cursor")) else self.texts
            if value not in pool and len(value) <= 200 and len(pool) < POOL_SIZE:
                pool.append(value)

    def scalar(self, name: str) -> st.SearchStrategy:
        return {
            "String": lambda: texts(self.texts),
            "ID": lambda: ids(self.ids, self.texts),
            "Int": lambda: st.integers(-3, 60) | st.sampled_from([0, 500, 501, 2**31 - 1, -(2**31)]),
            "Float": lambda: st.floats(allow_nan=False, allow_infinity=False),
            "Boolean": st.booleans,
            "DateTime": lambda: datetimes(self.texts),
            "Date": lambda: st.dates().map(str) | texts(self.texts),
            "JSON": lambda: json_values,
            # a telemetry point's value: numbers and booleans are values, anything else a per-point error
            "TelemetryValue": lambda: (
                st.floats(allow_nan=False, allow_infinity=False) | st.booleans() | texts(self.texts)
            ),
            "Upload": st.none,  # files need a multipart request: null stands in for a missing file
        }[name]()

    def value(self, graphql_type, depth: int = 0) -> st.SearchStrategy:
        """Values of `graphql_type` as a client sends them in `variables`; null only where the type
        allows it (null for a non-null type would only exercise graphql-core's coercion)."""
        if isinstance(graphql_type, GraphQLNonNull):
            return self._present(graphql_type.of_type, depth)
        return st.none() | self._present(graphql_type, depth)

    def _present(self, graphql_type, depth: int) -> st.SearchStrategy:
        if isinstance(graphql_type, GraphQLList):
            return st.lists(self.value(graphql_type.of_type, depth + 1), max_size=4)
        if isinstance(graphql_type, GraphQLEnumType):
            return st.sampled_from(sorted(graphql_type.values))
        if isinstance(graphql_type, GraphQLInputObjectType):
            return self.fields(graphql_type.fields, depth)
        assert isinstance(graphql_type, GraphQLScalarType), graphql_type
        return self.scalar(graphql_type.name)

    def fields(self, specs, depth: int = 0, focus: tuple[str, ...] = ()) -> st.SearchStrategy[dict]:
        """An input object's fields or a field's arguments: required ones always, the others maybe; or,
        with a `focus`, the required ones and the one it points into, with a nasty value at its end
        (so that no other refusal hides what that value does)."""
        required, optional = {}, {}
        for name, spec in specs.items():
            needed = isinstance(spec.type, GraphQLNonNull) and spec.default_value is Undefined
            if focus and name == focus[0]:
                required[name] = self.focused(spec.type, focus[1:], name, depth + 1)
                continue
            if (focus or depth > 4) and not needed:
                continue  # next to a nasty value only what is required; and nested input objects are bounded
            if _is_cursor(name, spec):
                strategy = st.none() | cursors(self.cursors, self.texts)
            else:
                strategy = self.value(spec.type, depth + 1)
            (required if needed else optional)[name] = strategy
        return sparse_dictionaries(required, optional)

    def focused(self, graphql_type, focus: tuple[str, ...], name: str, depth: int) -> st.SearchStrategy:
        if isinstance(graphql_type, GraphQLNonNull):
            graphql_type = graphql_type.of_type
        if isinstance(graphql_type, GraphQLList):
            item = graphql_type.of_type
            return st.tuples(
                st.lists(self.value(item, depth + 1), max_size=2), self.focused(item, focus, name, depth + 1)
            ).map(lambda parts: [*parts[0], parts[1]])
        if isinstance(graphql_type, GraphQLInputObjectType):
            return self.fields(graphql_type.fields, depth, focus)
        return self.nasty(graphql_type.name, name)

    def nasty(self, scalar: str, name: str) -> st.SearchStrategy:
        """Values at the edges of a scalar type."""
        if scalar in ("String", "ID"):
            if name in ("after", "before"):
                return crafted_cursors
            return st.one_of(
                long_strings,
                st.tuples(texts(self.texts), st.text(max_size=3)).map(lambda parts: f"{parts[0]}\x00{parts[1]}"),
                crafted_cursors,
            )
        return {
            "Int": lambda: st.sampled_from([2**31 - 1, -(2**31), -1, 0, 501, 10_001]),
            "Float": lambda: st.sampled_from([1e308, -1e308, 5e-324, -0.0]),
            "DateTime": lambda: st.sampled_from([*EDGE_TIMES, "2024-02-30T00:00:00Z", "", "now"]),
            "Date": lambda: st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-30", "", "today"]),
            "JSON": lambda: json_values,
        }.get(scalar, lambda: self.scalar(scalar))()

    def arguments(self, field) -> st.SearchStrategy[dict]:
        """Variables for a root field: in half the cases random throughout, in the other half mostly
        plausible with one nasty value at one scalar argument or input field."""
        paths = _scalar_paths(field.args)
        plain = self.fields(field.args)
        if not paths:
            return plain
        return plain | st.sampled_from(paths).flatmap(lambda path: self.fields(field.args, focus=path))


def _is_cursor(name: str, spec) -> bool:
    return name in ("after", "before") and get_named_type(spec.type).name == "String"


def _scalar_paths(specs, depth: int = 0) -> list[tuple[str, ...]]:
    """Paths to every scalar argument or input field (`("input", "manufacturer")`), nested input objects too."""
    paths = []
    for name, spec in specs.items():
        named = get_named_type(spec.type)
        if isinstance(named, GraphQLInputObjectType):
            if depth < 4:
                paths += [(name, *rest) for rest in _scalar_paths(named.fields, depth + 1)]
        elif isinstance(named, GraphQLScalarType) and named.name not in ("Boolean", "Upload"):
            paths.append((name,))
    return paths


@st.composite
def sparse_dictionaries(draw, required: dict, optional: dict) -> dict:
    """Required keys always, each optional one in a quarter of the cases: with every optional argument
    at once, the first refusal (both `first` and `last` …) would hide what the others do."""
    value = {name: draw(strategy) for name, strategy in required.items()}
    for name, strategy in optional.items():
        if draw(st.integers(0, 3)) == 0:
            value[name] = draw(strategy)
    return value


# --- documents -------------------------------------------------------------------------------------


def _no_required_arguments(field) -> bool:
    return not any(isinstance(argument.type, GraphQLNonNull) for argument in field.args.values())


def selection(graphql_type, depth: int = 0) -> str:
    """`{ __typename <leaves> <objects { __typename <leaves> }> }`: enough to run the root field's
    resolver and the fields right under it (a payload's object and errors, a page's nodes)."""
    named = get_named_type(graphql_type)
    if is_leaf_type(named):
        return ""
    fields = ["__typename"]
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        for name, field in named.fields.items():
            child = get_named_type(field.type)
            if not _no_required_arguments(field):
                continue
            if is_leaf_type(child):
                fields.append(name)
            elif depth == 0:
                fields.append(f"{name} {selection(child, depth + 1)}")
    return "{ " + " ".join(fields) + " }"


def document(operation: str, name: str, field) -> str:
    arguments = list(field.args.items())
    if not arguments:
        return f"{operation} {{ {name} {selection(field.type)} }}"
    definitions = ", ".join(f"${argument}: {spec.type}" for argument, spec in arguments)
    passed = ", ".join(f"{argument}: ${argument}" for argument, _ in arguments)
    return f"{operation} Fuzz({definitions}) {{ {name}({passed}) {selection(field.type)} }}"


def root_fields(schema: GraphQLSchema) -> list[tuple[str, str, object]]:
    return [
        (operation, name, field)
        for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type))
        for name, field in sorted(root.fields.items())
    ]


# --- the property ----------------------------------------------------------------------------------


def short(value):
    """`value` with long strings cut, for a readable failure report."""
    if isinstance(value, str):
        return value if len(value) <= 80 else f"{value[:40]}…({len(value)} characters)"
    if isinstance(value, list):
        return [short(item) for item in value]
    if isinstance(value, dict):
        return {key: short(item) for key, item in value.items()}
    return value


def unhandled(response, payload: dict | None) -> str | None:
    """Why `response` shows an unhandled failure, or None."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    if payload is None:  # not JSON: only for refusals of the HTTP layer (e.g. 413), never for a crash
        return None if response.status_code in (400, 413) else f"HTTP {response.status_code}, not JSON"
    for error in payload.get("errors") or []:
        if error.get("message") == INTERNAL_ERROR_MESSAGE:
            return str(error)
    return None


@pytest.mark.parametrize("role", ["admin_a", "platform"])
@settings(
    max_examples=SWEEPS,
    deadline=None,
    derandomize=not os.environ.get("FLEETGRAPH_FUZZ_RANDOM"),  # fixed examples by default: CI is reproducible
    database=None,
    phases=[Phase.explicit, Phase.generate],  # a sweep is ~100 requests: report every failure, do not shrink
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
async def test_no_root_field_crashes_on_random_input(data, role, runtime, client, world):
    pools = Pools(
        [world.id("Organisation", key) for key in world.organisations] + [world.id("User", key) for key in world.users]
    )
    user = world.users[role]
    failures = []
    for operation, name, field in root_fields(runtime.schema._schema):
        variables = data.draw(pools.arguments(field), label=name)
        # A fresh token per request: the sweep may log itself out (`logout`) or end its sessions.
        async with runtime.session_factory() as session, session.begin():
            token = await issue_token(session, user)
        response = await client.post(
            "/graphql",
            json={"query": document(operation, name, field), "variables": variables},
            headers={"Accept": GRAPHQL_RESPONSE_JSON, "Authorization": f"Bearer {token}"},
        )
        try:
            payload = response.json()
        except ValueError:
            payload = None
        problem = unhandled(response, payload)
        if problem:
            failures.append(f"{name}({short(variables)!r}): {problem}")
        elif payload and payload.get("data"):
            pools.harvest(payload["data"])
    assert not failures, "\n".join(failures)
