"""Where the time of one `node(id:)` request goes, measured in-process (no sockets).

Companion to single_object.py: it times the pieces of a GraphQL request one by one, in the same
process, interleaved in blocks so that machine noise hits every piece alike, on a fresh SQLite file:

- auth               graph.auth.authenticate(): token lookup + roles/permissions (2 statements)
- execute            runtime.schema.execute() as shipped, with an already authenticated context
- execute_no_limits  only ParserCache + ValidationCache, none of the limit extensions
- execute_bare       no schema extensions at all (parse and validate every time)
- loaders_sql        the two DataLoader batch functions the query ends up calling, called directly
                     (the SQL part of execution: visible_users + organisations, 2 sessions)
- asgi_graphql       the whole fleetgraph app through httpx.ASGITransport (auth + execute + HTTP layer)
- asgi_plain         the plain Starlette endpoint of single_object.py through httpx.ASGITransport

Then: SQL statements per request, and per package cProfile's own time for the two asgi_* pieces
(cProfile inflates everything; read the shares).

    .venv/bin/python bench/breakdown.py        # writes bench/results/breakdown.json
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import common
import single_object
from common import ROOT

BLOCK = 100


async def count_statements(engine, call) -> int:
    from sqlalchemy import event

    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        await call()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    return len(statements)


def package_of(filename: str, function: str) -> str:
    if filename == "~":  # C functions: waiting for aiosqlite's thread is epoll.poll
        return "waiting (epoll)" if "epoll" in function else "C builtins"
    for marker, name in (
        ("/graph/", "fleetgraph"),
        ("/resolvers/", "fleetgraph"),
        ("/models/", "fleetgraph"),
        ("/bench/", "bench (plain app)"),
    ):
        if filename.startswith(str(ROOT)) and marker in filename:
            return name
    for package in (
        "strawberry",
        "graphql",
        "sqlalchemy",
        "aiosqlite",
        "starlette",
        "httpx",
        "httpcore",
        "asyncio",
        "greenlet",
        "anyio",
    ):
        if f"/{package}/" in filename:
            return "httpx (client)" if package in ("httpx", "httpcore") else package
    return "other stdlib"


async def profile_by_package(call, calls: int) -> dict:
    """cProfile's own time per package, per request (inflated by cProfile: read the shares, not the ms)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await call()
    profiler.disable()
    totals: dict[str, float] = {}
    thread_hops = 0
    for (filename, _line, function), (_cc, _nc, own, _cum, callers) in pstats.Stats(profiler).stats.items():
        bucket = package_of(filename, function)
        totals[bucket] = totals.get(bucket, 0.0) + own
        if filename == "~" and "put_nowait" in function:
            # every aiosqlite call is one job put on its thread's queue, and one wait for the answer
            thread_hops += sum(stats[1] for caller, stats in callers.items() if caller[0].endswith("aiosqlite/core.py"))
    total = sum(totals.values())
    return {
        "total_ms": round(total / calls * 1000, 2),
        "aiosqlite_thread_round_trips": round(thread_hops / calls, 1),
        "packages": {
            name: {"ms": round(value / calls * 1000, 2), "share": f"{value / total:.0%}"}
            for name, value in sorted(totals.items(), key=lambda item: -item[1])
            if value / total >= 0.01
        },
    }


async def run(args: argparse.Namespace) -> dict:
    import httpx
    import orjson
    import strawberry
    from strawberry.extensions import ParserCache, ValidationCache
    from strawberry.extensions.validation_cache import _get_validate_cache  # the LRU that ValidationCache(1024) uses

    from graph.app import create_app
    from graph.auth import authenticate
    from graph.context import Context
    from graph.runtime import Runtime
    from graph.schema import Mutation, Query, Subscription
    from graph.settings import Settings
    from resolvers.identity import loaders

    data_dir = Path(tempfile.mkdtemp(prefix="fleetgraph-breakdown-"))
    settings = Settings(data_dir=data_dir, master_key=secrets.token_hex(32), log_level="WARNING")
    seed = await single_object.prepare_database(settings)
    runtime = Runtime(settings)
    await runtime.start()
    token, global_id = seed["token"], seed["global_id"]
    principal, problem = await authenticate(runtime.session_factory, token)
    assert principal is not None, problem
    variables = {"id": global_id}
    expected = {"node": seed["expected"]}

    schemas = {
        "execute": runtime.schema,
        "execute_no_limits": strawberry.Schema(
            query=Query,
            mutation=Mutation,
            subscription=Subscription,
            extensions=[partial(ParserCache, maxsize=1024), partial(ValidationCache, maxsize=1024)],
        ),
        "execute_bare": strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription),
    }

    def executor(schema):
        async def call() -> None:
            result = await schema.execute(
                single_object.QUERY, variable_values=variables, context_value=Context(runtime, principal=principal)
            )
            assert result.errors is None and result.data == expected, (result.errors, result.data)

        return call

    async def auth() -> None:
        assert (await authenticate(runtime.session_factory, token))[0] is not None

    async def loaders_sql() -> None:
        context = Context(runtime, principal=principal)
        (user,) = await loaders.visible_users(context, [seed["user_id"]])
        (organisation,) = await loaders.organisations(context, [user.organisation_id])
        assert organisation is not None

    plain_app = single_object.create_plain_app(settings)
    engines = {"asgi_graphql": runtime.engine, "asgi_plain": plain_app.state.engine}
    graphql_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, runtime=runtime)), base_url="http://bench"
    )
    plain_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=plain_app), base_url="http://bench")
    body = orjson.dumps({"query": single_object.QUERY, "variables": variables})
    graphql_headers = common.graphql_headers(token)

    async def asgi_graphql() -> None:
        response = await graphql_client.post("/graphql", content=body, headers=graphql_headers)
        assert response.status_code == 200 and response.json()["data"] == expected, response.text

    async def asgi_plain() -> None:
        response = await plain_client.get(f"/users/{global_id}", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["data"] == expected, response.text

    pieces = {
        "auth": auth,
        **{name: executor(schema) for name, schema in schemas.items()},
        "loaders_sql": loaders_sql,
        "asgi_graphql": asgi_graphql,
        "asgi_plain": asgi_plain,
    }
    timings: dict[str, list[float]] = {name: [] for name in pieces}
    cache_hits = {}
    try:
        # Does the validation cache hit? 20 identical requests as shipped (before b94d390 it never did).
        before = _get_validate_cache(1024).cache_info().hits
        for _ in range(20):
            await pieces["execute"]()
        cache_hits["execute"] = f"{_get_validate_cache(1024).cache_info().hits - before} of 20"
        for call in pieces.values():
            for _ in range(args.warmup):
                await call()
        done = 0
        while done < args.calls:
            count = min(BLOCK, args.calls - done)
            for name, call in pieces.items():
                for _ in range(count):
                    started = time.perf_counter()
                    await call()
                    timings[name].append(time.perf_counter() - started)
            done += count
        statements = {name: await count_statements(engines[name], pieces[name]) for name in engines}
        profiles = {name: await profile_by_package(pieces[name], args.profile_calls) for name in engines}
    finally:
        for http in (graphql_client, plain_client):
            await http.aclose()
        await plain_app.state.engine.dispose()
        await runtime.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    return {
        "benchmark": "breakdown",
        "calls_per_piece": args.calls,
        "machine": common.machine(),
        "pieces": {
            name: {
                "median_ms": round(statistics.median(values) * 1000, 3),
                "p95_ms": round(sorted(values)[int(0.95 * (len(values) - 1))] * 1000, 3),
            }
            for name, values in timings.items()
        },
        "validation_cache_hits": cache_hits,
        "sql_statements_per_request": statements,
        "profile_calls": args.profile_calls,
        "cprofile_ms_per_request_by_package": profiles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile-calls", type=int, default=300, help="requests per app under cProfile")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "breakdown.json"))
    args = parser.parse_args()
    if not (1 <= args.calls <= 20_000 and 0 <= args.warmup <= 1000 and 1 <= args.profile_calls <= 5000):
        parser.error("--calls 1..20000, --warmup 0..1000, --profile-calls 1..5000")
    report = asyncio.run(run(args))
    print(f"{'piece':<20} {'median ms':>10} {'p95 ms':>8}")
    for name, piece in report["pieces"].items():
        print(f"{name:<20} {piece['median_ms']:>10.3f} {piece['p95_ms']:>8.3f}")
    print(f"validation cache hits: {report['validation_cache_hits']}")
    print(f"SQL statements per request: {report['sql_statements_per_request']}")
    for name, profile in report["cprofile_ms_per_request_by_package"].items():
        print(
            f"\n{name} under cProfile: {profile['total_ms']} ms/request, "
            f"{profile['aiosqlite_thread_round_trips']} aiosqlite thread round trips/request"
        )
        for package, share in profile["packages"].items():
            print(f"  {package:<20} {share['ms']:>7.2f} ms {share['share']:>5}")
    common.write_report(report, args.output, blank_line=False)


if __name__ == "__main__":
    main()
