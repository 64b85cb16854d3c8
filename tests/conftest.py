"""Test fixtures: a real database (SQLite file, or PostgreSQL when FLEETGRAPH_TEST_DATABASE_URL is
set), a real event bus (memory, or Redis when FLEETGRAPH_TEST_BROADCAST_URL is set), the app over
ASGI for HTTP tests and a real uvicorn server for websocket and browser tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import event, text

from graph.app import create_app
from graph.auth import hash_token, new_token
from graph.passwords import hash_password
from graph.relay import to_global_id
from graph.runtime import Runtime
from graph.settings import Settings
from models import Base
from models import identity as m
from models.base import utcnow

TEST_DATABASE_URL = os.environ.get("FLEETGRAPH_TEST_DATABASE_URL", "")
TEST_BROADCAST_URL = os.environ.get("FLEETGRAPH_TEST_BROADCAST_URL", "memory://")
PASSWORD = "Correct-Horse#Battery9"
MASTER_KEY = "5f" * 32


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = dict(
        data_dir=data_dir,
        database_url=TEST_DATABASE_URL,
        broadcast_url=TEST_BROADCAST_URL,
        master_key=MASTER_KEY,
        # tests call the watchdog themselves, with an explicit time (a ticking task would also skew SQL counts)
        router_watchdog_seconds=0,
    )
    values.update(overrides)
    return Settings(**values)


async def _reset_postgres(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
async def runtime(tmp_path_factory) -> Runtime:
    if TEST_DATABASE_URL.startswith("postgresql"):
        await _reset_postgres(TEST_DATABASE_URL)
    runtime = Runtime(make_settings(tmp_path_factory.mktemp("data")))
    await runtime.start(auto_migrate=True)
    yield runtime
    await runtime.stop()


@pytest.fixture(autouse=True)
async def clean_database(request):
    """Every test starts with empty tables (only for tests that use the database)."""
    if "runtime" not in request.fixturenames:
        yield
        return
    runtime: Runtime = request.getfixturevalue("runtime")
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with runtime.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))
    await runtime.install_shipped_data()  # present in every real database
    yield


@pytest.fixture
def app(runtime):
    return create_app(runtime.settings, runtime=runtime)


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict | None = None, token: str | None = None, **kwargs
    ) -> httpx.Response:
        headers = {"Accept": "application/graphql-response+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers, **kwargs
        )

    async def __call__(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        response = await self.raw(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def gql(client) -> GraphQLClient:
    return GraphQLClient(client)


@dataclass
class World:
    """Two tenants: A (with child organisation A1) and B, plus a platform admin."""

    organisations: dict[str, m.Organisation] = field(default_factory=dict)
    users: dict[str, m.User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def id(self, kind: str, key: str) -> str:
        obj = self.organisations[key] if kind == "Organisation" else self.users[key]
        return to_global_id(kind, obj.id)


async def add_organisation(session, name: str, parent: m.Organisation | None = None, **fields) -> m.Organisation:
    organisation = m.Organisation(name=name, parent_id=parent.id if parent else None, **fields)
    session.add(organisation)
    await session.flush()
    organisation.path = f"{parent.path if parent else '/'}{organisation.id}/"
    await session.flush()
    return organisation


_PASSWORD_HASH = hash_password(PASSWORD)


async def add_user(
    session, organisation: m.Organisation, email: str, roles: list[m.Role], name: str | None = None, **fields
) -> m.User:
    user = m.User(
        organisation_id=organisation.id,
        email=email,
        name=name or email.split("@")[0].title(),
        password_hash=_PASSWORD_HASH,
        **fields,
    )
    session.add(user)
    await session.flush()
    session.add_all(m.UserRole(user_id=user.id, role=role) for role in roles)
    await session.flush()
    return user


async def issue_token(session, user: m.User, ttl: int = 3600) -> str:
    token = new_token(m.TokenKind.ACCESS)
    now = utcnow()
    session.add(
        m.AuthToken(
            user_id=user.id,
            kind=m.TokenKind.ACCESS,
            token_hash=hash_token(token),
            session_id=str(uuid.uuid4()),
            authenticated_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    await session.flush()
    return token


@pytest.fixture
async def world(runtime) -> World:
    world = World()
    async with runtime.session_factory() as session, session.begin():
        platform = await add_organisation(session, "Platform")
        a = await add_organisation(session, "Tenant A", can_create_organisations=True)
        a1 = await add_organisation(session, "Tenant A1", a)
        b = await add_organisation(session, "Tenant B", can_create_organisations=True)
        world.organisations.update(platform=platform, a=a, a1=a1, b=b)
        world.users["platform"] = await add_user(session, platform, "root@platform.example", [m.Role.PLATFORM_ADMIN])
        world.users["admin_a"] = await add_user(session, a, "admin@a.example", [m.Role.ORGANISATION_ADMIN])
        world.users["user_a"] = await add_user(session, a, "user@a.example", [m.Role.USER])
        world.users["user_a1"] = await add_user(session, a1, "user@a1.example", [m.Role.USER])
        world.users["admin_b"] = await add_user(session, b, "admin@b.example", [m.Role.ORGANISATION_ADMIN])
        world.users["user_b"] = await add_user(session, b, "user@b.example", [m.Role.USER])
        for key, user in world.users.items():
            world.tokens[key] = await issue_token(session, user)
    return world


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_sql(runtime):
    """Context manager counting the SQL statements sent while it is open."""

    @contextlib.contextmanager
    def counting():
        counter = StatementCounter()

        def listener(conn, cursor, statement, parameters, context, executemany):
            counter.statements.append(statement)

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", listener)
        try:
            yield counter
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", listener)

    return counting


def wait_until_healthy(process, port: int, deadline_seconds: float = 60) -> None:
    """Poll a `fleetgraph serve` subprocess's /health (bounded) until it answers 200."""
    import time

    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "server did not become healthy"
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def live_server(app):
    """The app on a real uvicorn server at 127.0.0.1 (the runtime is already started)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="websockets-sansio")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)
