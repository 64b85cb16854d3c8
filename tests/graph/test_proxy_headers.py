"""Which client address the per-address login throttle sees: X-Forwarded-For counts only from the
proxies in FLEETGRAPH_TRUSTED_PROXIES (none by default), whatever server runs the app.

The real-server test starts `fleetgraph serve` itself (uvicorn as the CLI starts it) on a SQLite file
of its own, whatever database the suite runs on: what it tests is HTTP, not the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from graph.app import create_app
from graph.settings import Settings, SettingsError
from models import identity as m
from models.audit import AuditEvent
from tests.environment import MASTER_KEY, app_client, free_port, wait_until_healthy

FLEETGRAPH = str(Path(sys.executable).with_name("fleetgraph"))
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
CLAIMED = "203.0.113.9"  # what the header says; never contacted
EMAIL = "nobody@example.com"


async def fail_a_login(http: httpx.AsyncClient, forwarded_for: str = CLAIMED) -> None:
    response = await http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": EMAIL, "password": "Wrong#Pass9x"}}},
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


async def throttled_addresses(engine) -> tuple[set[str], list[str]]:
    """The addresses the throttle counted failures for, and those the audit history recorded."""
    async with engine.connect() as connection:
        keys = set((await connection.scalars(select(m.LoginThrottle.key))).all())
        audited = list(
            (
                await connection.scalars(
                    select(AuditEvent.client_address).where(AuditEvent.action == "user.login_failed")
                )
            ).all()
        )
    assert f"account:{EMAIL}" in keys
    return {key.removeprefix("address:") for key in keys if key.startswith("address:")}, audited


@pytest.mark.parametrize(
    ("trusted", "expected"), [(None, "127.0.0.1"), ("127.0.0.1", CLAIMED)], ids=["default", "trusted"]
)
async def test_a_real_server_believes_forwarded_for_only_from_trusted_proxies(tmp_path, trusted, expected):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment.update(
        FLEETGRAPH_DATA_DIR=str(tmp_path),
        FLEETGRAPH_MASTER_KEY=MASTER_KEY,
        FLEETGRAPH_LOG_LEVEL="WARNING",
        FLEETGRAPH_ROUTER_WATCHDOG_SECONDS="0",
    )
    if trusted is not None:
        environment["FLEETGRAPH_TRUSTED_PROXIES"] = trusted
    migrated = subprocess.run([FLEETGRAPH, "migrate"], env=environment, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    # log level WARNING: little output, so the pipe (read only on failure) never fills up
    server = subprocess.Popen(
        [FLEETGRAPH, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'fleetgraph.db'}")
    try:
        wait_until_healthy(server, port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await fail_a_login(http)
        assert await throttled_addresses(engine) == ({expected}, [expected])
    finally:
        await engine.dispose()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        ("", CLAIMED, "127.0.0.1"),  # the default: no proxy is believed
        ("10.0.0.0/8", CLAIMED, "127.0.0.1"),  # a proxy elsewhere, not the peer
        ("127.0.0.0/8", CLAIMED, CLAIMED),
        # each proxy appends the address it saw: the client is the last one no trusted proxy sent
        ("127.0.0.0/8, 10.0.0.0/8", f"198.51.100.7, {CLAIMED}, 10.1.2.3", CLAIMED),
    ],
)
async def test_the_app_itself_decides_which_proxies_it_believes(runtime, trusted, forwarded_for, expected):
    # No server at all here (ASGI from httpx, the peer given as 127.0.0.1): the app's own rule holds.
    app = create_app(replace(runtime.settings, trusted_proxies=trusted), runtime=runtime)
    async with app_client(app, client=("127.0.0.1", 40000)) as http:
        await fail_a_login(http, forwarded_for)
    assert await throttled_addresses(runtime.engine) == ({expected}, [expected])


@pytest.mark.parametrize("value", ["*", "proxy.example", "127.0.0.1, 10.0.0.0/33"])
def test_trusted_proxies_must_be_addresses_or_networks(value):
    with pytest.raises(SettingsError, match="FLEETGRAPH_TRUSTED_PROXIES"):
        Settings.from_env({"FLEETGRAPH_TRUSTED_PROXIES": value})


def test_trusted_networks_are_normalised():
    settings = Settings.from_env({"FLEETGRAPH_TRUSTED_PROXIES": " 10.1.2.3/8,::1 ,, 192.0.2.10"})
    assert settings.trusted_proxy_list == ["10.0.0.0/8", "::1", "192.0.2.10"]
    assert Settings().trusted_proxy_list == []
