"""The demo stays alive: `serve --demo` runs the demo simulator, so the reporting demo router stays online
past the offline timeout and Erika can connect at any time; the silent one stays offline."""

from __future__ import annotations

import time
from types import SimpleNamespace

import httpx

from graph.demo import DEMO_USERS
from graph.settings import Settings
from resolvers.remote.demo import ERIKA, REPORTING_ROUTERS
from resolvers.remote.domain import DOMAIN
from resolvers.remote.workers.simulator import DemoSimulator
from tests.environment import serve_demo

OFFLINE_AFTER_SECONDS = 2
PASSWORDS = {email: password for _, _, email, password, _ in DEMO_USERS}
ROUTERS = """{ routers(first: 10) { nodes { commonName online lastHeartbeatAt
  statusSamples(first: 20) { nodes { cpuLoad memoryUse signalStrength linkSpeed modemState } } } } }"""
NETWORKS = "{ locations { nodes { name localNetwork { reportedSubnet matchesRouter } } } }"

SILENT_ROUTER = "R_M26118014A81B8900"
HEARTBEAT = 'mutation { routerHeartbeat(input: {commonName: "%s"}) { router { online } errors { code } } }'
CONNECT = 'mutation { routerConnect(input: {commonName: "%s"}) { result errors { code } } }'


def graphql(base: str, query: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(f"{base}/graphql", json={"query": query}, headers=headers, timeout=10).json()
    assert "errors" not in answer, answer
    return answer["data"]


def login(base: str, email: str) -> str:
    query = f'mutation {{ login(input: {{email: "{email}", password: "{PASSWORDS[email]}"}}) {{ accessToken }} }}'
    return graphql(base, query)["login"]["accessToken"]


def test_the_demo_router_stays_online_and_erika_can_connect(tmp_path):
    settings = {
        "FLEETGRAPH_ROUTER_OFFLINE_AFTER_SECONDS": str(OFFLINE_AFTER_SECONDS),
        "FLEETGRAPH_ROUTER_WATCHDOG_SECONDS": "0.2",
    }
    with serve_demo(tmp_path, settings) as served:
        base = served.base_url
        admin = login(base, "demo@integra-metering.com")
        # the silent router reports once, to show the watchdog at work: it must be offline again below
        once = graphql(base, HEARTBEAT % SILENT_ROUTER, login(base, "api@integra-metering.com"))["routerHeartbeat"]
        assert once["router"] == {"online": True}, once
        # well past the offline timeout: without heartbeats the watchdog (every 0.2 s) flips a router
        time.sleep(3 * OFFLINE_AFTER_SECONDS)
        routers = {router["commonName"]: router for router in graphql(base, ROUTERS, admin)["routers"]["nodes"]}
        reporting = routers.pop(REPORTING_ROUTERS[0])
        assert reporting["online"] is True
        samples = reporting["statusSamples"]["nodes"]
        assert len(samples) >= 3  # the seeded one and the simulator's
        # plausible and changing: within the ranges a router reports, not one value repeated
        assert all(0 <= s["cpuLoad"] <= 100 and -200 <= s["signalStrength"] <= 0 for s in samples)
        assert len({(s["cpuLoad"], s["signalStrength"], s["linkSpeed"]) for s in samples}) > 1
        assert routers[SILENT_ROUTER]["online"] is False  # the watchdog ran, and the silent router stays silent
        # the reporting router's LAN is the one its location expects (issue 18's local network check)
        networks = {n["name"]: n["localNetwork"] for n in graphql(base, NETWORKS, admin)["locations"]["nodes"]}
        assert networks["Pumpstation Nord"] == {"reportedSubnet": "192.168.1.0/24", "matchesRouter": True}

        erika = login(base, ERIKA)
        connect = graphql(base, CONNECT % REPORTING_ROUTERS[0], erika)["routerConnect"]
        assert connect == {"result": "CONNECTED", "errors": []}
    assert "demo simulator started" in served.output


def test_only_demo_mode_runs_the_simulator(tmp_path):
    def simulators(settings: Settings) -> list[object]:
        runtime = SimpleNamespace(settings=settings)
        return [worker for make in DOMAIN.workers if isinstance(worker := make(runtime), DemoSimulator)]

    assert simulators(Settings(data_dir=tmp_path)) == []
    assert len(simulators(Settings(data_dir=tmp_path, demo=True))) == 1
