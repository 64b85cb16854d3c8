"""Differential test of graph.compiled: generated read-only queries (tests/graph/query_generation.py) run
against the compiled schema and the stock one (`build_schema(compiled=False)`) over the same demo data, as a
platform admin, an organisation admin and an ordinary user, must give the same `data` and the same `errors`
(message, path, locations, extensions, in order). A tally of what the compiled path completed shows it was
used, and a deliberately broken variant shows that a difference would be seen.
"""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections import Counter
from dataclasses import replace
from typing import Any, ClassVar

from graphql import is_non_null_type, parse, validate
from sqlalchemy import select, update

from graph.compiled import CompiledExecutionContext
from graph.composition import DEMO
from graph.demo import seed_demo
from graph.http import build_context
from graph.relay import to_global_id
from graph.schema import build_schema
from graph.settings import Settings
from models import catalogue as c
from models import identity as m
from tests.factories import add_devices, issue_token
from tests.graph.query_generation import Document, Pools, QueryGenerator

#: The callers: a platform admin, an organisation admin, and an ordinary user with few permissions.
ROLES = {
    "platform": "platform@fleetgraph.example",
    "organisation admin": "demo@integra-metering.com",
    "user": "erika@integra-metering.com",
}
#: Documents per role; each selects ROOTS root fields (queries), batched to keep the test fast.
DOCUMENTS = 110
ROOTS = 4
#: Wide limits: the generator stays far below what the server allows per request only in depth and cost.
LIMITS = Settings(max_cost=10**12, max_depth=60, max_aliases=100_000, max_tokens=1_000_000)


class CountingContext(CompiledExecutionContext):
    """The compiled execution, tallying the fields it completed (by type) and those run the normal way."""

    tally: ClassVar[Counter[str]] = Counter()

    def _emit_field(self, source: Any, parent_type: Any, field_details_list: Any, var: str) -> Any:
        emitted = super()._emit_field(source, parent_type, field_details_list, var)
        if emitted is not None:  # the generated code counts each field it completes
            source.lines.append(f"    {source.name(self.tally)}[{f'compiled {parent_type.name}'!r}] += 1")
        return emitted

    def execute_field(self, parent_type: Any, *args: Any) -> Any:
        self.tally[f"normal {parent_type.name}"] += 1
        return super().execute_field(parent_type, *args)


def schemas(compiled_context: type[CompiledExecutionContext] = CountingContext) -> tuple[Any, Any]:
    compiled = build_schema(LIMITS)
    compiled.execution_context_class = compiled_context
    return compiled, build_schema(LIMITS, compiled=False)


async def execute(schema: Any, runtime: Any, token: str, document: Document) -> tuple[Any, list[dict]]:
    """One request's execution, with a fresh context (its own loaders and read session) as HTTP builds it."""
    context = await build_context(runtime, None, f"Bearer {token}")
    try:
        result = await schema.execute(document.text, variable_values=document.variables, context_value=context)
    finally:
        await context.reads.close()
    return result.data, [error.formatted for error in result.errors or ()]


async def differences(runtime, token: str, generator: QueryGenerator, count: int, pair: tuple) -> list[str]:
    """Runs `count` generated documents on both schemas; the documents whose results differ, with both."""
    compiled, stock = pair
    found = []
    for _ in range(count):
        document = generator.document()
        # The same text again with its @include/@skip conditions flipped: compiled selections are kept across
        # requests by document, and must not answer for the other value of a condition.
        flipped = {name: not value if isinstance(value, bool) else value for name, value in document.variables.items()}
        variants = [document] + ([replace(document, variables=flipped)] if flipped != document.variables else [])
        for variant in variants:
            got = await execute(compiled, runtime, token, variant)
            expected = await execute(stock, runtime, token, variant)
            generator.pools.harvest(expected[0], variant)
            if got != expected:
                found.append(f"{variant.text}\nvariables: {variant.variables}\ncompiled: {got}\nstock: {expected}")
    return found


async def refused_roots(schema: Any, runtime, token: str) -> set[str]:
    """The root fields (of those without required arguments) that refuse the caller."""
    refused = set()
    for name, definition in schema._schema.query_type.fields.items():
        if not any(is_non_null_type(argument.type) for argument in definition.args.values()):
            probe = Document(f"{{ {name} {{ __typename }} }}", {}, [name], set(), {})
            if (await execute(schema, runtime, token, probe))[1]:
                refused.add(name)
    return refused


async def demo_world(runtime) -> tuple[dict[str, str], Pools]:
    """The demo data with a few more devices (unowned, another tenant's, without batch); the roles'
    tokens, and pools seeded with the data's IDs."""
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    pools = Pools()
    async with runtime.session_factory() as session, session.begin():
        organisations = dict((await session.execute(select(m.Organisation.name, m.Organisation.id))).all())
        tokens = {
            role: await issue_token(session, await session.scalar(select(m.User).where(m.User.email == email)))
            for role, email in ROLES.items()
        }
    await add_devices(
        runtime, None, [("UNOWNED-1", "TOPAS Mbus", False, ["Lager"]), ("UNOWNED-2", "TOPAS Mbus", False, [])]
    )
    await add_devices(runtime, organisations["Partner Metering GmbH"], [("PARTNER-1", "TOPAS Lora W8", True, ["Gast"])])
    await add_devices(
        runtime, organisations["IntegraDemo"], [("LOOSE-1", "aquastream LoRa", False, ["Haus B", "Haus A"])]
    )
    async with runtime.session_factory() as session:
        for model, type_name in (
            (c.Device, "Device"), (c.Batch, "Batch"), (c.ProductType, "ProductType"),
            (m.Organisation, "Organisation"), (m.User, "User"),
        ):  # fmt: skip
            for pk in await session.scalars(select(model.id).order_by(model.id)):
                pools.add_id(to_global_id(type_name, pk))
    return tokens, pools


def test_generator_covers_the_features():
    """The documents are valid and use what the compiled path must get right: without this, the
    differential test could pass on documents too plain to tell."""
    schema = build_schema(LIMITS)._schema
    pools = Pools()
    pools.add_id(to_global_id("Device", 1))
    generator = QueryGenerator(schema, pools, roots_per_document=ROOTS)
    roots: Counter[str] = Counter()
    for _ in range(300):
        document = generator.document()
        assert validate(schema, parse(document.text)) == [], document.text
        roots.update(document.roots)
    counts = generator.counts
    for feature in (
        "alias", "second_alias", "merged_field", "repeated_field", "named_fragment", "fragment_reused",
        "inline_fragment", "inline_fragment_untyped", "inline_on_abstract", "inline_on_interface",
        "typename", "include", "skip", "variable_condition", "argument_variable",
    ):  # fmt: skip
        assert counts[feature] >= 20, (feature, counts)
    assert roots["devices"] >= 0.35 * sum(roots.values())
    assert {"node", "nodes", "me", "organisations", "users", "batches"} <= set(roots)


async def test_compiled_and_stock_execution_agree(runtime):
    tokens, pools = await demo_world(runtime)
    CountingContext.tally = tally = Counter()
    pair = schemas()
    generator = QueryGenerator(pair[0]._schema, pools, roots_per_document=ROOTS)
    started = time.monotonic()
    for role, token in tokens.items():
        generator.rare_roots = await refused_roots(pair[1], runtime, token)
        found = await differences(runtime, token, generator, DOCUMENTS, pair)
        assert not found, f"{role}: {len(found)} differences, the first:\n{found[0]}"
    queries = generator.counts["documents"] * ROOTS
    assert queries >= 1000
    # The compiled path did the device list's work, not only a field here and there.
    compiled_devices, normal_devices = tally["compiled Device"], tally["normal Device"]
    assert compiled_devices >= 5000 and compiled_devices >= 2 * normal_devices, tally
    compiled_fields = sum(n for key, n in tally.items() if key.startswith("compiled"))
    assert compiled_fields >= 20_000, tally
    normal_fields = sum(tally.values()) - compiled_fields
    print(
        f"{queries} queries in {time.monotonic() - started:.1f} s: "
        f"{compiled_fields} fields compiled, {normal_fields} normal"
    )


class MangledSerialNumbers(CountingContext):
    """A broken compiled path: serial numbers it completes come out reversed."""

    def _emit_field(self, source: Any, parent_type: Any, field_details_list: Any, var: str) -> Any:
        emitted = super()._emit_field(source, parent_type, field_details_list, var)
        if emitted is not None and field_details_list[0].node.name.value == "serialNumber":
            source.lines.append(f"    {var} = {var}[::-1]")
        return emitted


async def test_a_difference_is_detected(runtime):
    tokens, pools = await demo_world(runtime)
    generator = QueryGenerator(build_schema(LIMITS)._schema, pools, roots_per_document=ROOTS, seed=7)
    found = await differences(runtime, tokens["organisation admin"], generator, 15, schemas(MangledSerialNumbers))
    assert found


async def test_a_refused_sibling_leaves_no_resolver_unawaited(runtime):
    """Regression: `me { organisation }` has one field left to await once the compiled fields are done. It
    was awaited in a task of its own, which the refused sibling `b` cancelled before it started, so its
    resolver's coroutine was never awaited ("coroutine … was never awaited", which the stock execution,
    awaiting a single field in place, does not give)."""
    tokens, _pools = await demo_world(runtime)
    document = Document(
        f'{{ d: devices {{ totalCount }} b: effectiveLocationAccess(userId: "{to_global_id("User", 1)}") '
        "{ totalCount } me { organisation { parent { name } } } }",
        {}, [], set(), {},
    )  # fmt: skip
    for schema in schemas():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data, errors = await execute(schema, runtime, tokens["user"], document)
            for _ in range(5):  # the cancelled tasks finish
                await asyncio.sleep(0)
            gc.collect()
        assert data is None and [error["path"] for error in errors] == [["b"]]
        assert not [warning for warning in caught if "never awaited" in str(warning.message)]


async def test_compiled_selections_are_kept_across_requests(runtime, monkeypatch):
    """A request with a query seen before reuses its compiled functions (none made again), and one whose
    @include condition differs gets its own: kept by (type, the parsed document's nodes, Boolean variables)."""
    # an empty store: one that earlier tests filled to MAX_COMPILED would be dropped (cleared) in the middle
    monkeypatch.setattr(CompiledExecutionContext, "_compiled", {})
    tokens, _pools = await demo_world(runtime)
    text = (
        "query($labels: Boolean!) { devices(first: 5) { edges { node { serialNumber labels @include(if: $labels) "
        "organisation { name } } } } }"
    )
    compiled, _stock = schemas()
    kept = CompiledExecutionContext._compiled
    with_labels = Document(text, {"labels": True}, [], set(), {})
    first = await execute(compiled, runtime, tokens["organisation admin"], with_labels)
    made = len(kept)
    assert "labels" in first[0]["devices"]["edges"][0]["node"]
    again = await execute(compiled, runtime, tokens["organisation admin"], with_labels)
    assert again == first and len(kept) == made
    without = await execute(
        compiled, runtime, tokens["organisation admin"], replace(with_labels, variables={"labels": False})
    )
    assert "labels" not in without[0]["devices"]["edges"][0]["node"] and len(kept) > made
    assert (
        without[0]["devices"]["edges"][0]["node"]["organisation"]
        == first[0]["devices"]["edges"][0]["node"]["organisation"]
    )


async def test_relations_of_related_objects_are_loaded_ahead_level_by_level(runtime):
    """A list loads what the query selects on its items' related objects too (a device's batch and who created
    it, a user's groups and their organisation), so those fields are completed by the compiled path, not
    executed per row through DataLoaders: no field but the roots goes the normal way."""
    tokens, _pools = await demo_world(runtime)
    async with runtime.session_factory() as session, session.begin():
        admin = await session.scalar(select(m.User).where(m.User.email == ROLES["organisation admin"]))
        await session.execute(update(c.Batch).values(created_by_id=admin.id))
        group = m.UserGroup(organisation_id=admin.organisation_id, name="Night shift")
        session.add(group)
        await session.flush()
        session.add(m.UserGroupMember(group_id=group.id, user_id=admin.id))
    document = Document(
        "{ devices(first: 50) { nodes { serialNumber organisation { name parent { name } } batch { reference "
        "createdBy { email } } } } users(first: 50) { nodes { email groups { name organisation { name } } } } }",
        {}, [], set(), {},
    )  # fmt: skip
    CountingContext.tally = tally = Counter()
    compiled, stock = schemas()
    got = await execute(compiled, runtime, tokens["platform"], document)
    assert got == await execute(stock, runtime, tokens["platform"], document)
    data = got[0]
    assert any(node["batch"] and node["batch"]["createdBy"] for node in data["devices"]["nodes"])
    assert any(group["organisation"] for node in data["users"]["nodes"] for group in node["groups"])
    assert tally["compiled Organisation"] and tally["compiled User"] and tally["compiled UserGroup"], tally
    assert not [key for key in tally if key.startswith("normal") and key != "normal Query"], tally
