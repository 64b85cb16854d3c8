"""The `fleetgraph` command, run as a real process on its own SQLite data directory."""

from __future__ import annotations

import socket

import httpx

from graph.cli import own_url
from graph.schema import export_sdl
from tests.environment import free_port, run_fleetgraph, serve_demo


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
    """What the README's first command does: migrate, load demo data, serve; quietly, and once."""
    with serve_demo(tmp_path) as served:
        login = httpx.post(
            f"{served.base_url}/graphql",
            json={
                "query": 'mutation { login(input: {email: "demo@integra-metering.com", password: "Wasser-Zaehler#47"}) '
                "{ accessToken user { organisation { name } } errors { code } } }"
            },
            timeout=10,
        ).json()["data"]["login"]
        assert login["errors"] == [] and login["user"]["organisation"]["name"] == "IntegraDemo"
        me = httpx.post(
            f"{served.base_url}/graphql",
            json={"query": "{ me { email } }"},
            headers={"Authorization": f"Bearer {login['accessToken']}"},
            timeout=10,
        ).json()
        assert me["data"]["me"]["email"] == "demo@integra-metering.com"
    assert f"{served.base_url}/graphql" in served.output
    assert "demo data created" in served.output
    assert "alembic" not in served.output  # no migration chatter at start

    with serve_demo(tmp_path) as restarted:
        pass
    assert "demo data present" in restarted.output and "demo data created" not in restarted.output
    assert "alembic" not in restarted.output


def test_links_in_mails_point_at_the_address_serve_listens_on():
    assert own_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert own_url("::1", 8080) == "http://[::1]:8080"
    # listening everywhere: a browser elsewhere needs the machine's name, not 0.0.0.0
    assert own_url("0.0.0.0", 8000) == f"http://{socket.getfqdn()}:8000"
