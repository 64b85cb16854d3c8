"""The `fleetgraph` command, run as a real process on its own SQLite data directory."""

from __future__ import annotations

import os
import subprocess

import httpx

from graph.schema import export_sdl
from tests.environment import FLEETGRAPH, free_port, run_fleetgraph, wait_until_healthy


def test_export_schema_prints_the_sdl(tmp_path):
    result = run_fleetgraph(tmp_path, "export-schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == export_sdl()


def test_serve_refuses_an_unmigrated_database(tmp_path):
    result = run_fleetgraph(tmp_path, "serve", "--port", str(free_port()), timeout=60)
    assert result.returncode == 1
    assert "not migrated" in result.stderr and "fleetgraph migrate" in result.stderr


def test_migrate_then_create_admin(tmp_path):
    assert run_fleetgraph(tmp_path, "migrate").returncode == 0
    assert (tmp_path / "fleetgraph.db").exists()
    created = run_fleetgraph(
        tmp_path, "create-admin", "--email", "Ops@Example.org", env={"FLEETGRAPH_ADMIN_PASSWORD": "Leitstand#Nord74"}
    )
    assert created.returncode == 0, created.stderr
    assert "ops@example.org" in created.stdout
    again = run_fleetgraph(
        tmp_path, "create-admin", "--email", "ops@example.org", env={"FLEETGRAPH_ADMIN_PASSWORD": "Leitstand#Nord74"}
    )
    assert again.returncode == 1 and "exists" in again.stderr
    weak = run_fleetgraph(
        tmp_path, "create-admin", "--email", "weak@example.org", env={"FLEETGRAPH_ADMIN_PASSWORD": "Kurz#1x"}
    )
    assert weak.returncode == 1 and "at least 12 characters" in weak.stderr
    assert "Kurz#1x" not in weak.stderr + weak.stdout  # the password itself is never echoed


def test_serve_demo_gives_a_working_api(tmp_path):
    """What the README's first command does: migrate, load demo data, serve."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment["FLEETGRAPH_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [FLEETGRAPH, "serve", "--demo", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_healthy(process, port)
        login = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={
                "query": 'mutation { login(input: {email: "demo@integra-metering.com", password: "Wasser-Zaehler#47"}) '
                "{ accessToken user { organisation { name } } errors { code } } }"
            },
            timeout=10,
        ).json()["data"]["login"]
        assert login["errors"] == [] and login["user"]["organisation"]["name"] == "IntegraDemo"
        me = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ me { email } }"},
            headers={"Authorization": f"Bearer {login['accessToken']}"},
            timeout=10,
        ).json()
        assert me["data"]["me"]["email"] == "demo@integra-metering.com"
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/graphql" in output
