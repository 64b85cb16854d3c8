"""Test fixtures: a real database (SQLite file, or PostgreSQL when FLEETGRAPH_TEST_DATABASE_URL is
set), a real event bus (memory, or Redis when FLEETGRAPH_TEST_BROADCAST_URL is set), the app over
ASGI for HTTP tests, a real uvicorn server for websocket and browser tests, and a real browser
(Debian's chromium, headless, driven by Playwright). Fixtures used by one
folder only are in that folder's conftest.py; test data comes from tests/factories.py."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import threading
import traceback
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import event, text

from graph.app import create_app
from graph.runtime import Runtime
from models import Base
from tests.environment import TEST_DATABASE_URL, app_client, free_port, make_settings
from tests.factories import World, add_world

EVENT_LOG_TABLES = {"event_log", "event_log_horizon"}
#: The sequences of the given tables' serial and identity columns, back to 1 (as SQLite's rowids after a DELETE).
RESTART_SEQUENCES = text(
    "SELECT setval(s.oid, 1, false) FROM pg_class s "
    "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') JOIN pg_class t ON t.oid = d.refobjid "
    "WHERE s.relkind = 'S' AND t.relname = ANY(:tables)"
)


def pytest_unconfigure(config) -> None:
    """A thread still running when the run ends (an aiosqlite connection never closed, a server never stopped)
    would keep the interpreter from exiting until CI kills it, with no word of why: name it, show where it
    stands, and end the run as failed."""
    left = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in left:
        thread.join(timeout=5)
    left = [t for t in left if t.is_alive()]
    if not left:
        return
    frames = sys._current_frames()
    for thread in left:
        where = "".join(traceback.format_stack(frames[thread.ident])) if thread.ident in frames else "?"
        sys.stderr.write(f"\n== thread {thread.name!r} still running after the tests:\n{where}")
    sys.stderr.flush()
    os._exit(3)


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
    # The event log stays: like a real one it only grows, and the runtime's stream remembers its last cursor.
    tables = [table.name for table in reversed(Base.metadata.sorted_tables) if table.name not in EVENT_LOG_TABLES]
    async with runtime.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # DELETE, children first, in one round trip, and the tables' sequences restarted: a TRUNCATE of all
            # tables took 0.2 s (new files for each), a quarter of the suite's time on PostgreSQL.
            deletes = "; ".join(f"DELETE FROM {table}" for table in tables)
            await connection.execute(text(f"DO $$ BEGIN {deletes}; END $$"))
            await connection.execute(RESTART_SEQUENCES, {"tables": tables})
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
    async with app_client(app) as http:
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


@pytest.fixture
async def world(runtime) -> World:
    async with runtime.session_factory() as session, session.begin():
        return await add_world(session)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        #: Pool check-outs the counted statements ran on (a request reads through one session:
        #: graph.context.RequestReads). The event stream's timer takes its own, which is not counted.
        self.checkout_serials: set[int] = set()

    @property
    def checkouts(self) -> int:
        return len(self.checkout_serials)

    @property
    def count(self) -> int:
        return len(self.statements)


def _stream_timer_work(statement: str) -> bool:
    """The runtime's event stream reads and prunes the event log on a timer, whatever the test does: not
    counted (writing an event, with its change, is)."""
    return "event_log" in statement and not statement.lstrip().upper().startswith("INSERT")


@pytest.fixture
def count_sql(runtime):
    """Context manager counting the SQL statements sent while it is open."""

    @contextlib.contextmanager
    def counting():
        counter = StatementCounter()
        serials = itertools.count()

        def listener(conn, cursor, statement, parameters, context, executemany):
            if not _stream_timer_work(statement):
                counter.statements.append(statement)
                counter.checkout_serials.add(conn.info.get("checkout_serial", -1))

        def checkout(_dbapi_connection, connection_record, _proxy):
            connection_record.info["checkout_serial"] = next(serials)

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", listener)
        event.listen(runtime.engine.sync_engine, "checkout", checkout)
        try:
            yield counter
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", listener)
            event.remove(runtime.engine.sync_engine, "checkout", checkout)

    return counting


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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing_browser(reason: str) -> None:
    if os.environ.get("FLEETGRAPH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (FLEETGRAPH_REQUIRE_BROWSER=1 makes this an error)")
    pytest.skip(f"{reason}: install Debian's chromium (apt-get install chromium) to run the browser tests")


@pytest.fixture
async def browser():
    """Headless Debian chromium; the test is skipped without it (failed with FLEETGRAPH_REQUIRE_BROWSER=1)."""
    if not CHROMIUM.exists():
        _missing_browser(f"{CHROMIUM} is not installed")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing_browser("the playwright package is not installed")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
