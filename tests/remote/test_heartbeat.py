"""Heartbeats put a router online with a status sample; the watchdog takes silent routers offline."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select, update

from models import remote as r
from models.base import utcnow
from resolvers.remote.workers.watchdog import mark_silent_routers_offline
from subscriptions import channels
from tests.factories import snapshot
from tests.remote.helpers import HEARTBEAT, api_user_token, log_position, logged_since, register

STATUS = {"cpuLoad": 12.5, "memoryUse": 40.0, "modemState": "CONNECTED", "signalStrength": -71.0, "linkSpeed": 150.0}
ROUTER = """query($id: ID!) { node(id: $id) { ... on Router {
  online stateChangedAt lastHeartbeatAt latestStatus { cpuLoad modemState }
} } }"""
HISTORY = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { node(id: $id) { ... on Router {
  statusSamples(first: $first, after: $after, last: $last, before: $before) {
    totalCount nodes { cpuLoad } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
} } }"""


async def router_row(runtime, common_name: str) -> r.Router:
    async with runtime.session_factory() as session:
        return await session.scalar(select(r.Router).where(r.Router.common_name == common_name))


async def test_heartbeat_marks_online_and_records_status(gql, world, runtime):
    router_id = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    token = await api_user_token(runtime, world, "a", "router@a.example")
    listening = runtime.events.subscriber_count
    events = runtime.events.subscribe(channels.ROUTER_STATE)
    first_event = asyncio.create_task(events.__anext__())
    for _ in range(100):
        if runtime.events.subscriber_count > listening:
            break
        await asyncio.sleep(0.02)
    try:
        payload = (await gql(HEARTBEAT, {"input": {"commonName": "r_a1", "status": STATUS}}, token=token))["data"][
            "routerHeartbeat"
        ]
        event = (await asyncio.wait_for(first_event, timeout=5)).payload
    finally:
        await events.aclose()
    assert payload["errors"] == []
    assert payload["router"]["online"] is True
    assert payload["status"] == {"takenAt": payload["router"]["lastHeartbeatAt"], **STATUS}
    assert event == {
        "kind": "ONLINE",
        "routerId": router_id,
        "locationId": None,
        "connectionId": None,
        "at": payload["router"]["stateChangedAt"],
        "organisationPath": world.organisations["a"].path,
    }

    first_change = payload["router"]["stateChangedAt"]
    again = (await gql(HEARTBEAT, {"input": {"commonName": "R_A1", "status": {"cpuLoad": 50.0}}}, token=token))["data"][
        "routerHeartbeat"
    ]
    # still online: the state did not change, only the heartbeat time
    assert again["router"]["stateChangedAt"] == first_change
    assert again["router"]["lastHeartbeatAt"] > first_change
    seen = (await gql(ROUTER, {"id": router_id}, token=world.tokens["admin_a"]))["data"]["node"]
    assert seen["online"] is True and seen["latestStatus"] == {"cpuLoad": 50.0, "modemState": ""}


async def test_heartbeat_refusals(gql, world, runtime):
    await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    await register(gql, world, "R_B1", "00:00:00:00:00:02", "SN-2", organisation="b")
    await register(gql, world, "R_FREE", "00:00:00:00:00:03", "SN-3", organisation=None)
    token = await api_user_token(runtime, world, "a", "router@a.example")
    before = await snapshot(runtime)
    for given, code in (
        ({"commonName": "R_B1"}, "NOT_FOUND"),  # B's router reads like an unknown one
        ({"commonName": "R_NOPE"}, "NOT_FOUND"),
        ({"commonName": "R_FREE"}, "NOT_FOUND"),  # not assigned: no tenant's API user may report for it
        ({"commonName": "nonsense"}, "INVALID"),
        ({"commonName": "R_A1", "status": {"cpuLoad": 101.0}}, "INVALID"),
        ({"commonName": "R_A1", "status": {"signalStrength": 5.0}}, "INVALID"),
        ({"commonName": "R_A1", "status": {"modemState": "x" * 41}}, "TOO_LONG"),
    ):
        payload = (await gql(HEARTBEAT, {"input": given}, token=token))["data"]["routerHeartbeat"]
        assert [e["code"] for e in payload["errors"]] == [code], given
    result = await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=world.tokens["user_a"])
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(runtime) == before
    # platform admins may report for any router, also an unassigned one
    payload = (await gql(HEARTBEAT, {"input": {"commonName": "R_FREE"}}, token=world.tokens["platform"]))["data"][
        "routerHeartbeat"
    ]
    assert payload["errors"] == [] and payload["router"]["online"] is True


async def test_watchdog_takes_silent_routers_offline_and_heartbeat_brings_them_back(gql, world, runtime):
    router_id = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    await register(gql, world, "R_A2", "00:00:00:00:00:02", "SN-2")
    token = await api_user_token(runtime, world, "a", "router@a.example")
    for name in ("R_A1", "R_A2"):
        await gql(HEARTBEAT, {"input": {"commonName": name}}, token=token)
    # R_A1 went silent two minutes ago; R_A2 reported just now
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(r.Router)
            .where(r.Router.common_name == "R_A1")
            .values(last_heartbeat_at=utcnow() - timedelta(seconds=120))
        )
    now = utcnow()

    position = await log_position(runtime)
    assert await mark_silent_routers_offline(runtime, now, 180) == []
    flipped = await mark_silent_routers_offline(runtime, now, 90)
    assert flipped == [(await router_row(runtime, "R_A1")).id]
    assert await logged_since(runtime, position) == [
        (
            channels.ROUTER_STATE,
            {
                "kind": "OFFLINE",
                "routerId": router_id,
                "locationId": None,
                "connectionId": None,
                "at": now.isoformat(),
                "organisationPath": world.organisations["a"].path,
            },
        )
    ]
    silent, fresh = await router_row(runtime, "R_A1"), await router_row(runtime, "R_A2")
    assert (silent.online, silent.state_changed_at) == (False, now)
    assert fresh.online is True
    # a second round finds nothing more to do
    assert await mark_silent_routers_offline(runtime, now, 90) == []

    back = (await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=token))["data"]["routerHeartbeat"]
    assert back["router"]["online"] is True and back["router"]["stateChangedAt"] > now.isoformat()
    offline = await gql(
        "{ locations(filter: {online: false}) { totalCount } routers(filter: {online: false}) { totalCount } }",
        token=world.tokens["user_a"],
    )
    assert offline["data"]["routers"]["totalCount"] == 0


async def test_watchdog_task_runs_with_the_runtime(gql, world, runtime):
    """The runtime's worker ticks the same function with the configured silence."""
    from resolvers.remote.workers.watchdog import RouterWatchdog

    await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(r.Router).values(online=True, last_heartbeat_at=utcnow() - timedelta(hours=1)))
    # the test runtime has the watchdog off (0); this one ticks every 50 ms
    ticking = SimpleNamespace(
        settings=dataclasses.replace(runtime.settings, router_watchdog_seconds=0.05),
        session_factory=runtime.session_factory,
        bus=runtime.bus,
    )
    watchdog = RouterWatchdog(ticking)
    watchdog.start()
    try:
        for _ in range(100):
            if not (await router_row(runtime, "R_A1")).online:
                break
            await asyncio.sleep(0.05)
    finally:
        await watchdog.stop()
    assert (await router_row(runtime, "R_A1")).online is False


async def test_status_history_pages_both_ways(gql, world, runtime):
    router_id = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    token = await api_user_token(runtime, world, "a", "router@a.example")
    for load in range(7):
        await gql(HEARTBEAT, {"input": {"commonName": "R_A1", "status": {"cpuLoad": float(load)}}}, token=token)

    async def page(**arguments):
        result = await gql(HISTORY, {"id": router_id, **arguments}, token=world.tokens["admin_a"])
        return result["data"]["node"]["statusSamples"]

    newest = await page(first=3)
    assert newest["totalCount"] == 7
    assert [n["cpuLoad"] for n in newest["nodes"]] == [6.0, 5.0, 4.0]
    assert newest["pageInfo"]["hasNextPage"] is True
    older = await page(first=3, after=newest["pageInfo"]["endCursor"])
    assert [n["cpuLoad"] for n in older["nodes"]] == [3.0, 2.0, 1.0]
    oldest = await page(first=3, after=older["pageInfo"]["endCursor"])
    assert [n["cpuLoad"] for n in oldest["nodes"]] == [0.0] and oldest["pageInfo"]["hasNextPage"] is False
    # and back towards the newest
    back = await page(last=3, before=older["pageInfo"]["startCursor"])
    assert [n["cpuLoad"] for n in back["nodes"]] == [6.0, 5.0, 4.0]
    assert back["pageInfo"]["hasPreviousPage"] is False
    tail = await page(last=2)
    assert [n["cpuLoad"] for n in tail["nodes"]] == [1.0, 0.0]


async def test_watchdogs_in_parallel_flip_each_router_once(gql, world, runtime):
    """Several processes run the watchdog: every silent router goes offline once, with one event."""
    async with runtime.session_factory() as session, session.begin():
        session.add_all(
            r.Router(
                common_name=f"R_{i:04d}",
                mac_address=f"00:00:00:00:{i // 256:02X}:{i % 256:02X}",
                serial_number=f"SN-{i}",
                organisation_id=world.organisations["a"].id,
                online=True,
                last_heartbeat_at=utcnow() - timedelta(minutes=10),
            )
            for i in range(1200)
        )
    position = await log_position(runtime)
    now = utcnow()
    rounds = await asyncio.gather(*(mark_silent_routers_offline(runtime, now, 90) for _ in range(3)))
    published = [payload["routerId"] for _, payload in await logged_since(runtime, position)]
    flipped = [pk for found in rounds for pk in found]
    assert len(flipped) == len(set(flipped)) == 1200
    assert len(published) == len(set(published)) == 1200
    async with runtime.session_factory() as session:
        assert await session.scalar(select(r.Router.id).where(r.Router.online.is_(True))) is None


def test_organisation_admins_can_give_every_tenant_role():
    """An organisation admin creates API users (for its routers) and users: they must hold those roles' permissions."""
    from graph.permissions import ROLE_PERMISSIONS
    from models.identity import Permission, Role

    admin = ROLE_PERMISSIONS[Role.ORGANISATION_ADMIN]
    for role in (Role.USER, Role.API_USER, Role.EXTERNAL_USER):
        assert ROLE_PERMISSIONS[role] <= admin, role
    assert Permission.ROUTERS_REPORT in ROLE_PERMISSIONS[Role.API_USER]
    assert Permission.ROUTERS_REGISTER not in admin
