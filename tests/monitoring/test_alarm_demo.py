"""The demo's alarm profiles and history, and the alarm the simulator's temperature wave raises and clears."""

from __future__ import annotations

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from models.base import utcnow
from tests.factories import issue_token
from tests.monitoring.alarm_helpers import seconds, store_points

PROFILES = "{ alarmProfiles { nodes { name severity durationSeconds system locations { name } } } }"
ALARMS = """query($states: [AlarmState!]) { alarms(filter: {states: $states}) { totalCount
  nodes { profileName state location { name } device { name } } } }"""
COUNTS = "{ alarmCounts { low medium high total } }"


async def test_demo_profiles_history_and_a_live_alarm(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    async with runtime.session_factory() as session, session.begin():
        admin = await session.scalar(select(m.User).where(m.User.email == "demo@integra-metering.com"))
        token = await issue_token(session, admin)
        north = await session.scalar(select(r.Location).where(r.Location.name == "Pumpstation Nord"))
        hmi = await session.scalar(select(r.LocationDevice).where(r.LocationDevice.name == "HMI Pumpe 1"))
    profiles = (await gql(PROFILES, token=token))["data"]["alarmProfiles"]["nodes"]
    assert [(p["name"], p["severity"], p["durationSeconds"], p["system"]) for p in profiles] == [
        ("HIGH_TEMPERATURE", "HIGH", None, False),
        ("LOW_PRESSURE", "MEDIUM", 60, False),
        ("ROUTER_OFFLINE", "HIGH", None, True),
    ]
    assert profiles[0]["locations"] == [{"name": "Pumpstation Nord"}, {"name": "Wasserwerk Süd"}]
    active = (await gql(ALARMS, token=token))["data"]["alarms"]["nodes"]
    assert [(a["profileName"], a["location"]["name"]) for a in active] == [("ROUTER_OFFLINE", "Wasserwerk Süd")]
    history = (await gql(ALARMS, {"states": ["CLEARED_ACK", "CLEARED_UNACK"]}, token=token))["data"]["alarms"]
    assert history["totalCount"] == 3
    # the simulator's wave (through the same hook as real ingest): up over 80 raises, down under 75 clears
    location, device = to_global_id("Location", north.id), to_global_id("LocationDevice", hmi.id)
    now = utcnow()
    for n, value in enumerate((70.0, 78.0, 84.0, 89.0, 82.0, 76.0, 72.0)):
        await store_points(runtime, [(location, device, "temperature", now + seconds(n * 20), value)])
        if value == 89.0:
            counts = (await gql(COUNTS, token=token))["data"]["alarmCounts"]
            assert counts == {"low": 0, "medium": 0, "high": 2, "total": 2}
    assert (await gql(COUNTS, token=token))["data"]["alarmCounts"]["total"] == 1
    history = (await gql(ALARMS, {"states": ["CLEARED_UNACK"]}, token=token))["data"]["alarms"]["nodes"]
    assert ("HIGH_TEMPERATURE", "Pumpstation Nord", {"name": "HMI Pumpe 1"}) in [
        (a["profileName"], a["location"]["name"], a["device"]) for a in history
    ]
