"""What the benchmark scripts share: the server subprocess, free ports, percentiles, the machine
description, the plain apps' grant lookup, GraphQL headers and writing a report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))  # run as a script from anywhere, against this checkout

PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "orjson",
    "httpx",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(data_dir: Path, database_url: str, master_key: str) -> dict[str, str]:
    """The environment of a server subprocess: ours without FLEETGRAPH_*, then the bench's settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLEETGRAPH_")}
    env.update(
        FLEETGRAPH_DATA_DIR=str(data_dir),
        FLEETGRAPH_DATABASE_URL=database_url,
        FLEETGRAPH_MASTER_KEY=master_key,
        FLEETGRAPH_BROADCAST_URL="memory://",
        FLEETGRAPH_LOG_LEVEL="WARNING",
    )
    return env


def serve(kind: str, port: int, create_plain_app, loop: str = "auto") -> None:
    """In the server subprocess: fleetgraph ("graphql") or the script's plain app, under uvicorn."""
    import uvicorn

    from graph.settings import Settings

    settings = Settings.from_env()
    if kind == "graphql":
        from graph.app import create_app

        app = create_app(settings)
    else:
        from graph.app import collect_garbage_less_often

        app = create_plain_app(settings)
        # The collector settings fleetgraph's lifespan applies, so that neither side wins on garbage collection.
        collect_garbage_less_often()
    # Same server settings for both sides: uvicorn's standard extras (uvloop, httptools), no access log.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, loop=loop)


class Server:
    """`script --serve kind --port N [extra…]` as a subprocess on a free port of 127.0.0.1."""

    def __init__(self, script: str, kind: str, env: dict[str, str], extra: list[str] | None = None) -> None:
        self.kind = kind
        self.port = free_port()
        command = [
            sys.executable,
            str(Path(script).resolve()),
            "--serve",
            kind,
            "--port",
            str(self.port),
            *(extra or []),
        ]
        self.process = subprocess.Popen(command, env=env, cwd=str(ROOT))
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, client, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the {self.kind} server exited with {self.process.returncode}")
            with contextlib.suppress(Exception):  # not listening yet
                if (await client.get(self.base_url + path)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise SystemExit(f"the {self.kind} server did not become ready in {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def percentile(ordered: list[float], p: float) -> float:
    """The sample nearest to the p-th percentile of sorted samples."""
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def graphql_headers(token: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "accept": "application/graphql-response+json",
    }


async def load_grants(connection, user_id: int):
    """What graph.auth does for roles and granted permissions, by hand in one statement: (roles, permissions)."""
    from sqlalchemy import String, literal, select, type_coerce, union_all

    from graph.permissions import effective_permissions
    from models import identity as m

    role_t, granted_t = m.UserRole.__table__, m.UserPermission.__table__
    grants = (
        await connection.execute(
            union_all(
                select(literal("role"), type_coerce(role_t.c.role, String)).where(role_t.c.user_id == user_id),
                select(literal("permission"), type_coerce(granted_t.c.permission, String)).where(
                    granted_t.c.user_id == user_id
                ),
            )
        )
    ).all()
    roles = frozenset(m.Role(value) for kind, value in grants if kind == "role")
    return roles, effective_permissions(
        roles, frozenset(m.Permission(value) for kind, value in grants if kind == "permission")
    )


async def authorise(connection, request, permission):
    """What graph.auth does (token, user, organisation; roles and grants), by hand on one connection: the
    caller's row (user_id, csv_delimiter, path of the organisation) if it holds `permission`, else None."""
    from sqlalchemy import select

    from graph.auth import bearer_token, hash_token
    from models import identity as m
    from models.base import utcnow

    token = bearer_token(request.headers.get("authorization"))
    if token is None or len(token) > 200:
        return None
    token_t, user_t, org_t = m.AuthToken.__table__, m.User.__table__, m.Organisation.__table__
    row = (
        await connection.execute(
            select(
                token_t.c.user_id,
                token_t.c.revoked_at,
                token_t.c.expires_at,
                user_t.c.is_active,
                user_t.c.csv_delimiter,
                org_t.c.path,
            )
            .select_from(
                token_t.join(user_t, user_t.c.id == token_t.c.user_id).join(
                    org_t, org_t.c.id == user_t.c.organisation_id
                )
            )
            .where(token_t.c.token_hash == hash_token(token), token_t.c.kind == m.TokenKind.ACCESS)
        )
    ).one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.is_active:
        return None
    _, permissions = await load_grants(connection, row.user_id)
    return row if permission in permissions else None


def refused():
    """The plain apps' answer when `authorise` says no."""
    import orjson
    from starlette.responses import Response

    return Response(
        orjson.dumps({"error": "UNAUTHENTICATED or FORBIDDEN"}), status_code=403, media_type="application/json"
    )


def plain_app(engine, routes: list):
    """A plain Starlette app with `routes` and GET /ping (no database: the floor of a request), which
    disposes of `engine` when it stops; the engine is `app.state.engine` for in-process use."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def ping(request) -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await engine.dispose()

    app = Starlette(routes=[*routes, Route("/ping", ping)], lifespan=lifespan)
    app.state.engine = engine
    return app


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    from importlib import metadata

    cpu = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "fleetgraph_commit": commit,
        "load_average_at_start": load_average(),
    }


def write_report(report: dict[str, Any], output: str, blank_line: bool = True) -> None:
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{chr(10) if blank_line else ''}written to {path}")
