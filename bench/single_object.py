"""Single-object read over HTTP: fleetgraph's GraphQL endpoint next to a plain Starlette endpoint.

Both servers run at the same time as real uvicorn processes on 127.0.0.1, on the same database (a
fresh, migrated SQLite file in a temporary directory, or --database-url), and read the same user
row and its organisation's name. Requests go to them in alternating blocks so that machine noise
hits both sides alike. Results go to bench/results/single_object.json; bench/README.md explains them.

    .venv/bin/python bench/single_object.py                      # 2000 requests per side, sequential and 10 at once
    .venv/bin/python bench/single_object.py --database-url postgresql+asyncpg://u:p@127.0.0.1/bench_db
    PYTHONPATH=/path/to/pyinstrument .venv/bin/python bench/single_object.py --profile /tmp/prof

Targets (every one answers with the same JSON body shape, encoded with orjson):
- graphql  POST /graphql `node(id:)` with the bearer token: fleetgraph as it ships.
- plain    GET /users/{id} on a plain Starlette app with the bearer token, doing the same work by
           hand with SQLAlchemy Core: token lookup (unknown/revoked/expired/deactivated refused),
           roles and granted permissions -> USERS_READ, two-factor enrolment, tenancy-scoped read
           of the user joined to its organisation. This is the fair baseline and the recorded ratio.
- bare     GET /bare/users/{id}: the same row with no auth at all (one SELECT): the floor for a DB read.
- ping     GET /ping: no database (uvicorn + Starlette + client): the floor for a request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import signal
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import common
from common import ROOT

QUERY = "query($id: ID!) { node(id: $id) { ... on User { name email organisation { name } } } }"
BLOCK = 200  # requests per side before switching to the next side


# --------------------------------------------------------------------------------------------------
# The plain Starlette app (runs inside a server subprocess)


def create_plain_app(settings):
    """Hand-written endpoints doing what node(id:) (and `me`) do for a User, with SQLAlchemy Core.

    Long because the endpoints share the engine and the token lookup in one closure, as a small app would."""
    import orjson
    from sqlalchemy import select
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from graph.auth import bearer_token, hash_token
    from graph.db import create_engine
    from graph.relay import decode_id, to_global_id
    from models import identity as m
    from models.base import utcnow

    engine = create_engine(settings)  # same engine set-up as fleetgraph (SQLite pragmas, pool)
    token_t, user_t, org_t = m.AuthToken.__table__, m.User.__table__, m.Organisation.__table__

    token_lookup = select(
        token_t.c.user_id,
        token_t.c.revoked_at,
        token_t.c.expires_at,
        user_t.c.is_active,
        user_t.c.require_two_factor,
        user_t.c.totp_confirmed,
        org_t.c.path,
        org_t.c.require_two_factor.label("org_require_two_factor"),
    ).select_from(
        token_t.join(user_t, user_t.c.id == token_t.c.user_id).join(org_t, org_t.c.id == user_t.c.organisation_id)
    )

    me_lookup = token_lookup.add_columns(user_t.c.name, org_t.c.name.label("organisation"))

    def json_response(payload: Any, status: int = 200) -> Response:
        return Response(orjson.dumps(payload), status_code=status, media_type="application/json")

    def not_found() -> Response:
        # same answer for unknown and other tenants' IDs, as in the GraphQL API
        return json_response({"data": {"node": None}})

    async def signed_in(connection, request: Request, lookup):
        """The row `lookup` (token_lookup or more) finds for the bearer token if it is valid, else None."""
        token = bearer_token(request.headers.get("authorization"))
        if token is None or len(token) > 200:
            return None
        row = (
            await connection.execute(
                lookup.where(token_t.c.token_hash == hash_token(token), token_t.c.kind == m.TokenKind.ACCESS)
            )
        ).one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.is_active:
            return None
        return row

    async def user(request: Request) -> Response:
        pk = decode_id(request.path_params["id"], "User")
        async with engine.connect() as connection:
            row = await signed_in(connection, request, token_lookup)
            if row is None:
                return json_response({"error": "UNAUTHENTICATED"}, 401)
            roles, permissions = await common.load_grants(connection, row.user_id)
            if (row.require_two_factor or row.org_require_two_factor) and not row.totp_confirmed:
                return json_response({"error": "FORBIDDEN"}, 403)
            if m.Permission.USERS_READ not in permissions:
                return json_response({"error": "FORBIDDEN"}, 403)
            if pk is None:
                return not_found()
            statement = (
                select(user_t.c.name, user_t.c.email, org_t.c.name.label("organisation"))
                .select_from(user_t.join(org_t, org_t.c.id == user_t.c.organisation_id))
                .where(user_t.c.id == pk)
            )
            if m.Role.PLATFORM_ADMIN not in roles:
                statement = statement.where(org_t.c.path.startswith(row.path, autoescape=True))
            found = (await connection.execute(statement)).one_or_none()
        if found is None:
            return not_found()
        return json_response(
            {"data": {"node": {"name": found.name, "email": found.email, "organisation": {"name": found.organisation}}}}
        )

    async def bare_user(request: Request) -> Response:
        pk = decode_id(request.path_params["id"], "User")
        async with engine.connect() as connection:
            found = (
                await connection.execute(
                    select(user_t.c.name, user_t.c.email, org_t.c.name.label("organisation"))
                    .select_from(user_t.join(org_t, org_t.c.id == user_t.c.organisation_id))
                    .where(user_t.c.id == pk)
                )
            ).one_or_none()
        if found is None:
            return not_found()
        return json_response(
            {"data": {"node": {"name": found.name, "email": found.email, "organisation": {"name": found.organisation}}}}
        )

    async def me(request: Request) -> Response:
        """What `{ me { id name organisation { name } } }` does, by hand: the token lookup (the same statement
        as /users/{id}: it joins the user and the organisation, so it already has the names) and the roles and
        grants (authentication loads them for every request); me allows a pending two-factor enrolment."""
        async with engine.connect() as connection:
            row = await signed_in(connection, request, me_lookup)
            if row is None:
                return json_response({"error": "UNAUTHENTICATED"}, 401)
            await common.load_grants(connection, row.user_id)
        return json_response(
            {
                "data": {
                    "me": {
                        "id": to_global_id("User", row.user_id),
                        "name": row.name,
                        "organisation": {"name": row.organisation},
                    }
                }
            }
        )

    return common.plain_app(
        engine, [Route("/users/{id}", user), Route("/bare/users/{id}", bare_user), Route("/me", me)]
    )


# --------------------------------------------------------------------------------------------------
# Server subprocess


class SignalProfiler:
    """Profiles the server's main thread between SIGUSR1 and SIGUSR2 (pyinstrument, else cProfile)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.profiler: Any = None

    def start(self, *_: Any) -> None:
        try:
            from pyinstrument import Profiler

            # The whole thread, not per task: the event loop's own work (HTTP parsing, scheduling) counts too.
            self.profiler = Profiler(interval=0.0005, async_mode="disabled")
        except ImportError:
            import cProfile

            self.profiler = cProfile.Profile()
            self.profiler.enable()
            return
        self.profiler.start()

    def stop(self, *_: Any) -> None:
        if self.profiler is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if hasattr(self.profiler, "output_text"):
            self.profiler.stop()
            text = self.profiler.output_text(unicode=True, color=False, show_all=False)
        else:
            import io
            import pstats

            self.profiler.disable()
            out = io.StringIO()
            pstats.Stats(self.profiler, stream=out).sort_stats("cumulative").print_stats(60)
            text = out.getvalue()
        unfinished = self.directory / f".{self.name}.txt"
        unfinished.write_text(text)
        unfinished.rename(self.directory / f"{self.name}.txt")  # appears whole: the client polls for it
        self.profiler = None


def serve(kind: str, port: int, profile_dir: str | None) -> None:
    if profile_dir:
        profiler = SignalProfiler(Path(profile_dir), kind)
        signal.signal(signal.SIGUSR1, profiler.start)
        signal.signal(signal.SIGUSR2, profiler.stop)
    # Profiling uses asyncio's own loop: with uvloop (C) a wall-clock sampler charges the time the loop
    # sat idle to whichever Python function runs next, while asyncio's idle time shows up in select().
    common.serve(kind, port, create_plain_app, loop="asyncio" if profile_dir else "auto")


# --------------------------------------------------------------------------------------------------
# Set-up: database, seed rows, servers


async def prepare_database(settings) -> dict[str, Any]:
    """Migrate, then add one organisation, one user (role USER) and an access token for that user."""
    from graph.auth import hash_token, new_token
    from graph.relay import to_global_id
    from graph.runtime import Runtime
    from models import identity as m
    from models.base import utcnow

    runtime = Runtime(settings)
    await runtime.start(auto_migrate=True)
    try:
        marker = uuid.uuid4().hex[:12]  # unique names: --database-url may point at a database with other rows
        token = new_token(m.TokenKind.ACCESS)
        async with runtime.session_factory() as session, session.begin():
            organisation = m.Organisation(name=f"Bench Metering {marker}")
            session.add(organisation)
            await session.flush()
            organisation.path = f"/{organisation.id}/"
            user = m.User(organisation_id=organisation.id, name="Bench Reader", email=f"bench-{marker}@bench.example")
            session.add(user)
            await session.flush()
            session.add(m.UserRole(user_id=user.id, role=m.Role.USER))
            now = utcnow()
            session.add(
                m.AuthToken(
                    user_id=user.id,
                    kind=m.TokenKind.ACCESS,
                    token_hash=hash_token(token),
                    session_id=str(uuid.uuid4()),
                    authenticated_at=now,
                    expires_at=now + timedelta(hours=6),
                )
            )
        return {
            "token": token,
            "user_id": user.id,
            "organisation_id": organisation.id,
            "global_id": to_global_id("User", user.id),
            "expected": {"name": user.name, "email": user.email, "organisation": {"name": organisation.name}},
        }
    finally:
        await runtime.stop()


async def remove_seed(settings, seed: dict[str, Any]) -> None:
    from sqlalchemy import delete

    from graph.db import create_engine
    from models import identity as m

    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            for table, column, value in (
                (m.AuthToken, m.AuthToken.user_id, seed["user_id"]),
                (m.UserRole, m.UserRole.user_id, seed["user_id"]),
                (m.User, m.User.id, seed["user_id"]),
                (m.Organisation, m.Organisation.id, seed["organisation_id"]),
            ):
                await connection.execute(delete(table).where(column == value))
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------------------------------
# Load generation


class Target:
    def __init__(self, name: str, client, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> None:
        self.name = name
        self.client = client
        self.method = method
        self.url = url
        self.body = body
        self.headers = headers
        self.latencies: dict[int, list[float]] = {}
        self.elapsed: dict[int, float] = {}

    async def once(self):
        return await self.client.request(self.method, self.url, content=self.body, headers=self.headers)

    async def block(self, count: int, concurrency: int, record: bool = True) -> None:
        latencies = self.latencies.setdefault(concurrency, [])
        failures: list[str] = []
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0 and not failures:
                remaining -= 1
                started = time.perf_counter()
                response = await self.once()
                finished = time.perf_counter()
                # cheap checks outside the timed span: every answer must be a real, successful one
                if response.status_code != 200 or b'"errors"' in response.content:
                    failures.append(f"{response.status_code} {response.text[:300]}")
                if record:
                    latencies.append(finished - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if record:
            self.elapsed[concurrency] = self.elapsed.get(concurrency, 0.0) + time.perf_counter() - started
        if failures:
            raise SystemExit(f"{self.name}: a request failed: {failures[0]}")


def summarise(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)

    return {
        "requests": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(common.percentile(ordered, 95) * 1000, 3),
        "p99_ms": round(common.percentile(ordered, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "min_ms": round(ordered[0] * 1000, 3),
        "requests_per_s": round(len(ordered) / elapsed, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import orjson
    from sqlalchemy.engine import make_url

    from graph.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="fleetgraph-bench-"))
    master_key = secrets.token_hex(32)
    settings = Settings(data_dir=data_dir, database_url=args.database_url, master_key=master_key, log_level="WARNING")
    database = "sqlite" if settings.is_sqlite else make_url(settings.effective_database_url).get_backend_name()
    info = common.machine()
    print(f"database: {database} ({make_url(settings.effective_database_url).render_as_string(hide_password=True)})")
    seed = await prepare_database(settings)

    env = common.server_env(data_dir, args.database_url, master_key)
    extra = ["--profile-dir", args.profile] if args.profile else []
    servers = {kind: common.Server(__file__, kind, env, extra) for kind in ("graphql", "plain")}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    clients: list[Any] = []

    def client():  # one connection pool per target
        clients.append(httpx.AsyncClient(limits=limits, timeout=30))
        return clients[-1]

    try:
        for name, server in servers.items():
            await server.wait_ready(client(), "/ping" if name == "plain" else "/health")
        auth = {"authorization": f"Bearer {seed['token']}"}
        graphql_body = orjson.dumps({"query": QUERY, "variables": {"id": seed["global_id"]}})
        graphql_headers = common.graphql_headers(seed["token"])
        plain = servers["plain"].base_url
        targets = [
            Target(
                "graphql", client(), "POST", servers["graphql"].base_url + "/graphql", graphql_body, graphql_headers
            ),
            Target(
                "plain",
                client(),
                "GET",
                f"{plain}/users/{seed['global_id']}",
                None,
                {**auth, "accept": "application/json"},
            ),
            Target(
                "bare", client(), "GET", f"{plain}/bare/users/{seed['global_id']}", None, {"accept": "application/json"}
            ),
            Target("ping", client(), "GET", f"{plain}/ping", None, {"accept": "application/json"}),
        ]
        # Same answer from both sides before anything is timed.
        expected = {"node": seed["expected"]}
        for target in targets:
            if target.name == "ping":
                continue
            body = (await target.once()).json()
            if body.get("data") != expected:
                raise SystemExit(f"{target.name} answered {body}, expected data {expected}")
        print(f"both sides answer {json.dumps(expected)}")

        for target in targets:
            await target.block(args.warmup, 1, record=False)
        for concurrency in args.concurrency:
            done = 0
            order = list(targets)
            while done < args.requests:
                count = min(BLOCK, args.requests - done)
                for target in order:
                    await target.block(count, concurrency)
                order = order[1:] + order[:1]  # rotate who goes first
                done += count

        results: dict[str, Any] = {}
        for concurrency in args.concurrency:
            sides = {t.name: summarise(t.latencies[concurrency], t.elapsed[concurrency]) for t in targets}
            graphql, plain = sides["graphql"], sides["plain"]
            results[str(concurrency)] = {
                "concurrency": concurrency,
                "sides": sides,
                "ratio_median": round(graphql["median_ms"] / plain["median_ms"], 2),
                "ratio_p95": round(graphql["p95_ms"] / plain["p95_ms"], 2),
                "ratio_throughput": round(plain["requests_per_s"] / graphql["requests_per_s"], 2),
                "ratio_median_vs_bare": round(graphql["median_ms"] / sides["bare"]["median_ms"], 2),
            }

        if args.profile:
            # After the measurements: the profilers slow the servers down.
            for name, target in (("graphql", targets[0]), ("plain", targets[1])):
                servers[name].process.send_signal(signal.SIGUSR1)
                await asyncio.sleep(0.2)
                await target.block(args.requests, 1, record=False)
                servers[name].process.send_signal(signal.SIGUSR2)
                report = Path(args.profile) / f"{name}.txt"
                for _ in range(1200):  # rendering a long profile takes a while
                    if report.exists():
                        break
                    await asyncio.sleep(0.05)
                print(f"profile of {name}: {report}" if report.exists() else f"no profile of {name} was written")
    finally:
        for client in clients:
            await client.aclose()
        for server in servers.values():
            server.stop()
        if args.database_url:  # not our temporary file: leave the database as it was
            await remove_seed(settings, seed)
        shutil.rmtree(data_dir, ignore_errors=True)

    info["load_average_at_end"] = common.load_average()
    return {
        "benchmark": "single_object",
        "query": QUERY,
        "database": database,
        "requests_per_side": args.requests,
        "warmup_per_side": args.warmup,
        "block": BLOCK,
        "machine": info,
        "runs": results,
    }


def print_table(report: dict[str, Any]) -> None:
    for run_ in report["runs"].values():
        print(
            f"\nconcurrency {run_['concurrency']}"
            f" ({report['requests_per_side']} requests per side, {report['database']})"
        )
        print(f"{'side':<20} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}")
        for name, side in run_["sides"].items():
            print(
                f"{name:<20} {side['median_ms']:>10.3f} {side['p95_ms']:>8.3f} {side['p99_ms']:>8.3f}"
                f" {side['requests_per_s']:>8.1f}"
            )
        print(
            f"ratio GraphQL/plain: median {run_['ratio_median']}x, p95 {run_['ratio_p95']}x, "
            f"throughput {run_['ratio_throughput']}x (GraphQL/bare median {run_['ratio_median_vs_bare']}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per side and concurrency level")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests per side first")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 10], help="requests in flight (1 = sequential)"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="SQLAlchemy async URL; default a temporary SQLite file. "
        "Seeds one organisation/user/token there (removed afterwards); use a database of your own.",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "single_object.json"))
    parser.add_argument(
        "--profile", metavar="DIR", help="afterwards, profile each server over --requests sequential requests"
    )
    parser.add_argument("--serve", choices=("graphql", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.profile_dir)
        return
    # Bounded: a benchmark must not turn into a load test by a typo.
    if not (
        1 <= args.requests <= 100_000 and 0 <= args.warmup <= 10_000 and all(1 <= c <= 64 for c in args.concurrency)
    ):
        parser.error("--requests 1..100000, --warmup 0..10000, --concurrency 1..64")
    report = asyncio.run(run(args))
    print_table(report)
    common.write_report(report, args.output)


if __name__ == "__main__":
    main()
