"""The device list at 100, 1,000 and 10,000 devices: fleetgraph's nested `devices` connection next to the
same rows read with raw SQLAlchemy Core and written with orjson, in process and over HTTP (issue 15).

Seeds a scratch SQLite file (or an empty database given with --database-url) with one tenant per list
size: an organisation, its organisation admin with an access token, and exactly that many devices (with
product type, batch, labels and keys), next to each other so that every list is read out of all of them.
Then, per list size, in interleaved rounds (the order rotating every round):

    execute       runtime.schema.execute() with an authenticated context, result.data -> orjson
    core          core_device_page() on one connection, orjson: no auth, no HTTP (the floor)
    asgi_graphql  the fleetgraph app through httpx.ASGITransport (auth, HTTP layer, execution)
    asgi_raw      the plain Starlette app below through httpx.ASGITransport (token lookup + DEVICES_READ, Core)
    http_graphql  POST /graphql on a real uvicorn process running fleetgraph as it ships
    http_raw      GET /devices on a real uvicorn process running the plain app

Pages hold at most 5,000 rows (graph.relay.MAX_PAGE_SIZE): 10,000 devices are two requests on every side,
the second with the first one's `endCursor` as `after`. Before anything is timed every side must answer
the same data, page by page.

    .venv/bin/python bench/lists.py                      # 100, 1,000 and 10,000 devices on scratch SQLite
    .venv/bin/python bench/lists.py --quick              # 100 and 1,000 devices, a few rounds
    .venv/bin/python bench/lists.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_lists

Results go to bench/results/lists_<database>.json; bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import random
import secrets
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import catalogue
import common
from common import ROOT

COUNTS = (100, 1_000, 10_000)
#: Timed rounds per list size (every side once per round) and untimed ones first.
RUNS = {100: 40, 1_000: 15, 10_000: 5}
WARMUP = {100: 5, 1_000: 2, 10_000: 1}
PAGE = 5_000  # graph.relay.MAX_PAGE_SIZE
#: Well above the query's cost at 5,000 devices (≈ 60,000, or ≈ 115,000 with keys); the default is 50,000.
MAX_COST = 1_000_000
LABELS = ["building-a", "building-b", "north", "south", "leak-watch", "replace-2027", "pilot"]


def query(with_keys: bool) -> str:
    keys = " keys { kind algorithm state }" if with_keys else ""
    return (
        "query($first: Int, $after: String) { devices(first: $first, after: $after) { edges { node {"
        f" id serialNumber productType {{ name }} organisation {{ name }} batch {{ reference }} labels{keys} }} }}"
        " pageInfo { hasNextPage endCursor } } }"
    )


# --------------------------------------------------------------------------------------------------
# The raw side: SQLAlchemy Core + orjson (in this process and in the plain server)


def _beyond(device, after: str | None) -> list[Any]:
    """The keyset condition of graph.relay for (serial number, id) after a cursor of ours."""
    import orjson
    from sqlalchemy import and_, or_

    if after is None:
        return []
    serial, pk = orjson.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))
    return [or_(device.c.serial_number > serial, and_(device.c.serial_number == serial, device.c.id > pk))]


async def _per_device(connection, statement, ids: list[int]) -> dict[int, list[Any]]:
    """Rows of a to-many statement (device_id first) grouped by device, for every id of the page."""
    found: dict[int, list[Any]] = {pk: [] for pk in ids}
    if ids:
        for row in await connection.execute(statement):
            found[row[0]].append(row)
    return found


async def core_device_page(connection, org_path: str, first: int, after: str | None, with_keys: bool) -> dict:
    """One page of the list with Core: the page joined with its to-one relations, then labels (and keys)
    of its devices in one statement each; the GraphQL answer's shape."""
    from sqlalchemy import select

    from models import catalogue as c
    from models import identity as m

    device, product_type, batch = c.Device.__table__, c.ProductType.__table__, c.Batch.__table__
    owner, label, key = m.Organisation.__table__.alias("owner"), c.DeviceLabel.__table__, c.DeviceKey.__table__
    rows = (
        await connection.execute(
            select(
                device.c.id,
                device.c.serial_number,
                product_type.c.name.label("pt_name"),
                owner.c.name.label("org_name"),
                batch.c.reference,
            )
            .select_from(
                device.join(product_type, product_type.c.id == device.c.product_type_id)
                .outerjoin(owner, owner.c.id == device.c.organisation_id)
                .outerjoin(batch, batch.c.id == device.c.batch_id)
            )
            .where(catalogue.device_visible(org_path), *_beyond(device, after))
            .order_by(device.c.serial_number, device.c.id)
            .limit(first + 1)
        )
    ).all()
    has_next, rows = len(rows) > first, rows[:first]
    ids = [row.id for row in rows]
    labels = await _per_device(
        connection,
        select(label.c.device_id, label.c.label).where(label.c.device_id.in_(ids)).order_by(label.c.label),
        ids,
    )
    keys: dict[int, list[Any]] = {}
    if with_keys:
        keys = await _per_device(
            connection,
            select(key.c.device_id, key.c.kind, key.c.algorithm, key.c.state)
            .where(key.c.device_id.in_(ids))
            .order_by(key.c.kind, key.c.id),
            ids,
        )
    edges = [{"node": _node(row, labels[row.id], keys.get(row.id), with_keys)} for row in rows]
    end = catalogue.encode_cursor([rows[-1].serial_number, rows[-1].id]) if rows else None
    return {"edges": edges, "pageInfo": {"hasNextPage": has_next, "endCursor": end}}


def _node(row: Any, labels: list[Any], keys: list[Any] | None, with_keys: bool) -> dict[str, Any]:
    node = {
        "id": catalogue.to_global_id("Device", row.id),
        "serialNumber": row.serial_number,
        "productType": {"name": row.pt_name},
        "organisation": None if row.org_name is None else {"name": row.org_name},
        "batch": None if row.reference is None else {"reference": row.reference},
        "labels": [text for _, text in labels],
    }
    if with_keys:
        node["keys"] = [
            {"kind": k.kind.value, "algorithm": k.algorithm.value, "state": k.state.value} for k in keys or ()
        ]
    return node


def create_plain_app(settings):
    """GET /devices?first=&after=[&keys=1]: the token lookup and DEVICES_READ by hand (common.authorise),
    then core_device_page, orjson; GET /ping."""
    import orjson
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from graph.db import create_engine
    from models import identity as m

    engine = create_engine(settings)  # same engine set-up as fleetgraph (SQLite pragmas, pool)

    async def devices(request: Request) -> Response:
        params = request.query_params
        async with engine.connect() as connection:
            caller = await common.authorise(connection, request, m.Permission.DEVICES_READ)
            if caller is None:
                return common.refused()
            page = await core_device_page(
                connection, caller.path, int(params["first"]), params.get("after"), params.get("keys") == "1"
            )
        return Response(orjson.dumps({"data": {"devices": page}}), media_type="application/json")

    return common.plain_app(engine, [Route("/devices", devices)])


# --------------------------------------------------------------------------------------------------
# Seeding: one tenant per list size, Core bulk inserts


async def _tenant(connection, name: str, manufacturer: int, now: datetime) -> dict[str, Any]:
    """An organisation with an organisation admin (DEVICES_READ), an access token and four batches."""
    from models import catalogue as c
    from models import identity as m

    org_t = m.Organisation.__table__
    (org,) = await catalogue.insert_returning_ids(
        connection, org_t, [{"name": name, "public_id": str(uuid.uuid4()), "path": "", "created_at": now}]
    )
    await connection.execute(org_t.update().where(org_t.c.id == org).values(path=f"/{org}/"))
    (user,) = await catalogue.insert_returning_ids(
        connection,
        m.User.__table__,
        [{"organisation_id": org, "email": f"bench-{uuid.uuid4().hex[:8]}@bench.example", "name": "Bench Reader"}],
    )
    token = await catalogue.make_organisation_admin(connection, user, now)
    batches = await catalogue.insert_returning_ids(
        connection,
        c.Batch.__table__,
        [
            {
                "reference": f"LS-{org}-{i + 1:03d}",
                "sender_organisation_id": manufacturer,
                "organisation_id": org,
                "state": c.BatchState.ACCEPTED,
                "created_at": now,
            }
            for i in range(4)
        ],
    )
    return {"org": org, "path": f"/{org}/", "token": token, "batches": batches}


def _device_rows(rng: random.Random, tenants: dict[int, dict[str, Any]], product_types, now: datetime):
    """Every tenant's devices, shuffled together (so a list reads its tenant's rows out of all of them):
    85 % in a batch of the tenant, a third with one or two labels, one key per key kind of the type."""
    from models import catalogue as c
    from resolvers.catalogue.product_types.rules import MANUFACTURER

    specs = [(tenant, rng.choice(product_types)) for count, tenant in tenants.items() for _ in range(count)]
    rng.shuffle(specs)
    devices, labels, keys = [], [], []
    for i, (tenant, pt) in enumerate(specs):
        devices.append(
            {
                "manufacturer": MANUFACTURER,
                "serial_number": f"{30_000_000 + i * 7:08d}",
                "product_type_id": pt.id,
                "organisation_id": tenant["org"],
                "claim_status": c.ClaimStatus.CLAIMED,
                "batch_id": rng.choice(tenant["batches"]) if rng.random() < 0.85 else None,
                "created_at": now,
                "claimed_at": now,
            }
        )
        labels.append(sorted(rng.sample(LABELS, rng.choice([1, 2]))) if rng.random() < 0.33 else [])
        keys.append(pt.key_kinds)
    return devices, labels, keys


async def _insert_relations(connection, rng: random.Random, ids, devices, labels, kinds, now: datetime) -> None:
    """The devices' batch memberships, labels and keys."""
    from models import catalogue as c

    await catalogue.insert_many(
        connection,
        c.BatchDevice.__table__,
        [{"batch_id": d["batch_id"], "device_id": pk} for pk, d in zip(ids, devices, strict=True) if d["batch_id"]],
    )
    await catalogue.insert_many(
        connection,
        c.DeviceLabel.__table__,
        [{"device_id": pk, "label": text} for pk, texts in zip(ids, labels, strict=True) for text in texts],
    )
    # The list shows a key's metadata only: the sealed value can be any bytes here.
    await catalogue.insert_many(
        connection,
        c.DeviceKey.__table__,
        [
            {
                "device_id": pk,
                "kind": kind,
                "algorithm": c.KeyAlgorithm.AES_128,
                "sealed": rng.randbytes(40),
                "master_key_version": 1,
                "state": c.KeyState.ACTIVE,
                "created_at": now,
            }
            for pk, key_kinds in zip(ids, kinds, strict=True)
            for kind in key_kinds
        ],
    )


async def seed(settings, counts: list[int]) -> dict[int, dict[str, Any]]:
    """Migrate (which installs the product types), then one tenant per count with that many devices."""
    from sqlalchemy import func, select

    from graph.runtime import Runtime
    from models import catalogue as c
    from models import identity as m

    rng = random.Random(15)
    runtime = Runtime(settings)
    await runtime.start(auto_migrate=True)
    try:
        async with runtime.engine.begin() as connection:
            if (await connection.execute(select(func.count()).select_from(c.Device.__table__))).scalar_one():
                raise SystemExit(
                    "the database already has devices: use an empty database (or the default scratch file)"
                )
            now = datetime.now(UTC)
            (manufacturer,) = await catalogue.insert_returning_ids(
                connection,
                m.Organisation.__table__,
                [{"name": "Bench Manufacturer", "public_id": str(uuid.uuid4()), "path": "", "created_at": now}],
            )
            tenants = {n: await _tenant(connection, f"Bench Utility {n}", manufacturer, now) for n in counts}
            product_types = (
                await connection.execute(select(c.ProductType.id, c.ProductType.key_kinds).order_by(c.ProductType.id))
            ).all()
            devices, labels, kinds = _device_rows(rng, tenants, product_types, now)
            ids = await catalogue.insert_returning_ids(connection, c.Device.__table__, devices)
            await _insert_relations(connection, rng, ids, devices, labels, kinds, now)
        if not settings.is_sqlite:
            async with runtime.engine.begin() as connection:
                await connection.exec_driver_sql("ANALYZE")
        return tenants
    finally:
        await runtime.stop()


# --------------------------------------------------------------------------------------------------
# Measuring


async def all_pages(fetch, count: int) -> list[bytes]:
    """The bodies of the list of `count` devices, PAGE at most per request: `fetch(first, after)` gives one
    body; the next request goes after the previous page's endCursor (so only a page with a successor is
    parsed, on every side alike)."""
    import orjson

    bodies: list[bytes] = []
    after, left = None, count
    while True:
        bodies.append(await fetch(min(left, PAGE), after))
        left -= PAGE
        if left <= 0:
            return bodies
        after = orjson.loads(bodies[-1])["data"]["devices"]["pageInfo"]["endCursor"]


def checked(name: str, status: int, body: bytes) -> bytes:
    """Every answer must be a real, successful one (checked on every timed call: a search of the bytes is cheap)."""
    if status != 200 or b'"errors"' in body:
        raise SystemExit(f"{name} failed: {status} {body[:300]!r}")
    return body


class Sides:
    """The six ways of reading one tenant's list; `fetchers(with_keys)` gives `fetch(first, after)` per side."""

    def __init__(self, runtime, plain_app, engine, urls: dict[str, str], http, tenant: dict[str, Any]) -> None:
        import httpx

        from graph.app import create_app

        self.runtime, self.engine, self.urls, self.http, self.tenant = runtime, engine, urls, http, tenant
        self.headers = common.graphql_headers(tenant["token"])
        self.asgi_graphql = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime.settings, runtime=runtime)), base_url="http://bench"
        )
        self.asgi_raw_app = plain_app
        self.asgi_raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=plain_app), base_url="http://bench")

    async def aclose(self) -> None:
        await self.asgi_graphql.aclose()
        await self.asgi_raw.aclose()

    def fetchers(self, principal, with_keys: bool) -> dict[str, Any]:
        import orjson

        from graph.context import Context

        document, keys = query(with_keys), "&keys=1" if with_keys else ""

        async def execute(first: int, after: str | None) -> bytes:
            result = await self.runtime.schema.execute(
                document,
                variable_values={"first": first, "after": after},
                context_value=Context(self.runtime, principal=principal),
            )
            if result.errors:
                raise SystemExit(f"execute failed: {result.errors}")
            return orjson.dumps({"data": result.data})

        async def core(first: int, after: str | None) -> bytes:
            async with self.engine.connect() as connection:
                page = await core_device_page(connection, self.tenant["path"], first, after, with_keys)
            return orjson.dumps({"data": {"devices": page}})

        def graphql_post(name: str, client, url: str):
            async def fetch(first: int, after: str | None) -> bytes:
                body = orjson.dumps({"query": document, "variables": {"first": first, "after": after}})
                response = await client.post(url, content=body, headers=self.headers)
                return checked(name, response.status_code, response.content)

            return fetch

        def raw_get(name: str, client, url: str):
            async def fetch(first: int, after: str | None) -> bytes:
                params = f"?first={first}{keys}" + (f"&after={after}" if after else "")
                response = await client.get(url + params, headers=self.headers)
                return checked(name, response.status_code, response.content)

            return fetch

        return {
            "execute": execute,
            "core": core,
            "asgi_graphql": graphql_post("asgi_graphql", self.asgi_graphql, "/graphql"),
            "asgi_raw": raw_get("asgi_raw", self.asgi_raw, "/devices"),
            "http_graphql": graphql_post("http_graphql", self.http, self.urls["graphql"] + "/graphql"),
            "http_raw": raw_get("http_raw", self.http, self.urls["plain"] + "/devices"),
        }


#: (GraphQL side, its raw counterpart) for the ratios.
PAIRS = {
    "in_process_execute": ("execute", "core"),
    "asgi": ("asgi_graphql", "asgi_raw"),
    "http": ("http_graphql", "http_raw"),
}


async def same_answers(fetchers: dict[str, Any], count: int) -> int:
    """Every side's pages must hold the same data as the Core side's; the size of the whole list's JSON."""
    import orjson

    expected = [orjson.loads(body)["data"] for body in await all_pages(fetchers["core"], count)]
    devices = sum(len(page["devices"]["edges"]) for page in expected)
    if devices != count:
        raise SystemExit(f"core read {devices} devices, expected {count}")
    for name, fetch in fetchers.items():
        answer = [orjson.loads(body)["data"] for body in await all_pages(fetch, count)]
        if answer != expected:
            raise SystemExit(f"{name} answers differently from core:\n{str(answer)[:600]}\n{str(expected)[:600]}")
    return sum(len(orjson.dumps(page)) for page in expected)


async def time_sides(fetchers: dict[str, Any], count: int, runs: int, warmup: int) -> dict[str, Any]:
    """Interleaved rounds (catalogue.interleaved); medians and the ratio of medians per pair."""

    def timed(fetch):
        async def call() -> float:
            began = time.perf_counter()
            await all_pages(fetch, count)
            return time.perf_counter() - began

        return call

    timings = await catalogue.interleaved({name: timed(fetch) for name, fetch in fetchers.items()}, runs, warmup)
    sides = {name: catalogue.summarise(values) for name, values in timings.items()}
    ratios = {
        pair: round(sides[graphql]["median_ms"] / sides[raw]["median_ms"], 2) for pair, (graphql, raw) in PAIRS.items()
    }
    return {"sides": sides, "ratio_median": ratios}


async def profile_list(fetchers: dict[str, Any], engines: dict[str, Any], count: int, calls: int) -> dict[str, Any]:
    """Where the time of the list goes, in process: SQL per list, the garbage collector's share of the wall
    time (gc.callbacks), cProfile's own time per package (breakdown.py's method) and its top functions."""
    import cProfile
    import pstats

    import breakdown

    def whole(name: str):
        async def call() -> None:
            await all_pages(fetchers[name], count)

        return call

    report: dict[str, Any] = {"list_devices": count, "calls": calls, "sql_per_list": {}, "gc": {}, "cprofile": {}}
    for name in ("asgi_graphql", "asgi_raw"):
        with catalogue.counting_sql(engines[name]) as seen:
            await whole(name)()
        report["sql_per_list"][name] = seen
        report["gc"][name] = await gc_share(whole(name), calls)
        report["cprofile"][name] = await breakdown.profile_by_package(whole(name), calls)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await whole("asgi_graphql")()
    profiler.disable()
    entries = sorted(pstats.Stats(profiler).stats.items(), key=lambda item: -item[1][2])[:30]
    report["cprofile_top_asgi_graphql"] = [
        {
            "function": f"{Path(filename).name}:{line}({function})" if filename != "~" else function,
            "calls_per_list": round(ncalls / calls),
            "own_ms_per_list": round(own / calls * 1000, 2),
            "cumulative_ms_per_list": round(cumulative / calls * 1000, 2),
        }
        for (filename, line, function), (_, ncalls, own, cumulative, _) in entries
    ]
    return report


async def gc_share(call, calls: int) -> dict[str, Any]:
    """Time spent in the garbage collector while `call` runs `calls` times, with the thresholds in force."""
    spent = [0.0]
    collections = {0: 0, 1: 0, 2: 0}
    began = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - began[0]
            collections[info["generation"]] += 1

    gc.callbacks.append(callback)
    started = time.perf_counter()
    try:
        for _ in range(calls):
            await call()
    finally:
        gc.callbacks.remove(callback)
    wall = time.perf_counter() - started
    return {
        "thresholds": list(gc.get_threshold()),
        "gc_ms_per_list": round(spent[0] / calls * 1000, 2),
        "wall_ms_per_list": round(wall / calls * 1000, 2),
        "share": f"{spent[0] / wall:.1%}",
        "collections_per_list": {str(g): round(n / calls, 2) for g, n in collections.items()},
    }


async def measure(args: argparse.Namespace, runtime, sides: Sides, count: int) -> tuple[dict[str, Any], Any]:
    """One list size: the same answers everywhere, then the timed rounds; at 1,000 devices also the profile."""
    from graph.auth import authenticate

    principal, problem = await authenticate(runtime.session_factory, sides.tenant["token"])
    assert principal is not None, problem
    fetchers = sides.fetchers(principal, args.keys)
    size = await same_answers(fetchers, count)
    print(f"{count} devices: every side answers the same data ({size} bytes of JSON)")
    runs, warmup = args.runs or RUNS[count], WARMUP[count] if args.runs is None else 1
    result = {"json_bytes": size, "runs": runs, **await time_sides(fetchers, count, runs, warmup)}
    print_count(count, result)
    if count != 1_000 or not args.profile_calls:
        return result, None
    engines = {"asgi_graphql": runtime.engine, "asgi_raw": sides.asgi_raw_app.state.engine}
    return result, await profile_list(fetchers, engines, count, args.profile_calls)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from sqlalchemy.engine import make_url

    from graph.app import collect_garbage_less_often
    from graph.db import create_engine
    from graph.runtime import Runtime
    from graph.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="bench-lists-", dir="/tmp"))
    master_key = secrets.token_hex(32)
    settings = Settings(
        data_dir=data_dir, database_url=args.database_url, master_key=master_key, log_level="WARNING", max_cost=MAX_COST
    )
    database = "sqlite" if settings.is_sqlite else make_url(settings.effective_database_url).get_backend_name()
    info = common.machine()
    print(f"database: {database} ({make_url(settings.effective_database_url).render_as_string(hide_password=True)})")
    started = time.perf_counter()
    tenants = await seed(settings, args.counts)
    print(f"seeded {sum(args.counts)} devices in {time.perf_counter() - started:.1f} s")

    env = common.server_env(data_dir, args.database_url, master_key) | {"FLEETGRAPH_MAX_COST": str(MAX_COST)}
    servers = {kind: common.Server(__file__, kind, env) for kind in ("graphql", "plain")}
    runtime = Runtime(settings)
    await runtime.start()
    plain_app, engine = create_plain_app(settings), create_engine(settings)
    http = httpx.AsyncClient(timeout=300)
    opened: list[Sides] = []
    results: dict[str, Any] = {}
    profile: dict[str, Any] | None = None
    try:
        await servers["graphql"].wait_ready(http, "/health")
        await servers["plain"].wait_ready(http, "/ping")
        urls = {kind: server.base_url for kind, server in servers.items()}
        # As `fleetgraph serve` does (graph.app's lifespan; the fleetgraph server does it itself): the in-process
        # sides run with the collector settings of the server.
        collect_garbage_less_often()
        for count in args.counts:
            opened.append(Sides(runtime, plain_app, engine, urls, http, tenants[count]))
            results[str(count)], measured = await measure(args, runtime, opened[-1], count)
            profile = profile or measured
    finally:
        for sides in opened:
            await sides.aclose()
        await http.aclose()
        for pool in (engine, plain_app.state.engine):
            await pool.dispose()
        await runtime.stop()
        for server in servers.values():
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    info["load_average_at_end"] = common.load_average()
    described = {"database": database, "query": query(args.keys), "page_size": PAGE, "max_cost": MAX_COST}
    return {"benchmark": "lists", **described, "machine": info, "results": results, "profile": profile}


def print_count(count: int, result: dict[str, Any]) -> None:
    print(f"\n{count} devices ({result['runs']} rounds, {result['json_bytes']} bytes)")
    print(f"{'side':<14} {'median ms':>10} {'p90 ms':>9} {'min ms':>9}")
    for name, side in result["sides"].items():
        print(f"{name:<14} {side['median_ms']:>10.2f} {side['p90_ms']:>9.2f} {side['min_ms']:>9.2f}")
    print("ratio GraphQL/raw (medians): " + ", ".join(f"{k} {v}x" for k, v in result["ratio_median"].items()))


def print_profile(profile: dict[str, Any]) -> None:
    print(f"\nprofile at {profile['list_devices']} devices ({profile['calls']} lists per side, in process)")
    for name in ("asgi_graphql", "asgi_raw"):
        sql, collector, packages = profile["sql_per_list"][name], profile["gc"][name], profile["cprofile"][name]
        print(
            f"{name}: {sql['statements']} statements in {sql['connections']} check-outs; garbage collector"
            f" {collector['share']} of the wall time"
            f" ({collector['gc_ms_per_list']} of {collector['wall_ms_per_list']} ms)"
        )
        print("  cProfile: " + ", ".join(f"{p} {s['share']}" for p, s in list(packages["packages"].items())[:8]))
    print("top functions of asgi_graphql by own time (ms per list under cProfile):")
    for entry in profile["cprofile_top_asgi_graphql"][:20]:
        print(f"  {entry['own_ms_per_list']:>8.2f} {entry['calls_per_list']:>8} {entry['function']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--counts", type=int, nargs="+", default=list(COUNTS), help="list sizes (default 100 1000 10000)"
    )
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 devices, 5 rounds, 5 profiled lists")
    parser.add_argument("--runs", type=int, help="timed rounds per list size (default 40 / 15 / 5 by size)")
    parser.add_argument("--keys", action="store_true", help="also select every device's keys { kind algorithm state }")
    parser.add_argument(
        "--profile-calls", type=int, default=20, help="lists of 1,000 devices profiled per side (default 20; 0: none)"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="SQLAlchemy async URL of an EMPTY database of your own; default a scratch SQLite file under /tmp. "
        "The seeded rows stay there: drop it afterwards.",
    )
    parser.add_argument("--output", help="default bench/results/lists_<database>[_keys].json")
    parser.add_argument("--serve", choices=("graphql", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        common.serve(args.serve, args.port, create_plain_app)
        return
    if args.quick:
        args.counts, args.runs, args.profile_calls = [100, 1_000], args.runs or 5, min(args.profile_calls, 5)
    if not (
        all(1 <= n <= 100_000 for n in args.counts) and 1 <= (args.runs or 1) <= 1000 and 0 <= args.profile_calls <= 500
    ):
        parser.error("--counts 1..100000, --runs 1..1000, --profile-calls 0..500")
    for count in args.counts:
        RUNS.setdefault(count, 5)
        WARMUP.setdefault(count, 1)
    report = asyncio.run(run(args))
    if report["profile"]:
        print_profile(report["profile"])
    database = report["database"]
    common.write_report(
        report, args.output or str(ROOT / "bench" / "results" / f"lists_{database}{'_keys' if args.keys else ''}.json")
    )


if __name__ == "__main__":
    main()
