"""The demo's data monitoring: two monitored locations, a Modbus datalog device on "HMI Pumpe 1" applied; without
MQTT the demo runs simulated routers that acknowledge uploads and answer discovery like real ones."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from graph.settings import Settings
from models import datalog as dl
from models import identity as m
from resolvers.monitoring.domain import DOMAIN
from resolvers.monitoring.workers.datalog_demo import SimulatedRouterLink
from resolvers.monitoring.workers.datalog_link import MqttRouterLink
from tests.factories import issue_token
from tests.monitoring.datalog_helpers import DISCOVER, LIST, MODBUS, UPLOAD, call


async def admin_token(runtime) -> str:
    async with runtime.session_factory() as session, session.begin():
        user = await session.scalar(select(m.User).where(m.User.email == "demo@integra-metering.com"))
        return await issue_token(session, user)


def test_the_link_is_mqtt_when_configured_and_simulated_only_in_the_demo(tmp_path):
    (link_factory,) = [factory for factory in DOMAIN.workers if factory.__name__ == "_datalog_link"]

    def runtime(**settings) -> SimpleNamespace:
        return SimpleNamespace(settings=Settings(data_dir=tmp_path, **settings))

    assert isinstance(link_factory(runtime(demo=True)), SimulatedRouterLink)
    assert isinstance(link_factory(runtime(demo=True, mqtt_url="mqtt://127.0.0.1:1883")), MqttRouterLink)
    assert link_factory(runtime()) is None


async def test_demo_locations_upload_and_discovery(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    token = await admin_token(runtime)
    listed = (await gql(LIST, {"first": 10}, token=token))["data"]["monitoredLocations"]["nodes"]
    assert [(n["location"]["name"], n["cloudHost"]) for n in listed] == [
        ("Pumpstation Nord", "HELIX"),
        ("Wasserwerk Süd", "HELIX"),
    ]
    assert listed[0]["datalogDevices"][0]["datalogDevice"] == {"name": "Pumpe 1 Modbus", "protocol": "MODBUS"}
    # applied, router reporting, and the seeded history ends now: active
    assert listed[0]["status"]["code"] == "ACTIVE"
    assert listed[1]["status"]["code"] == "NO_CONFIGURATION"
    async with runtime.session_factory() as session:
        nord = await session.scalar(select(dl.MonitoredLocation).where(dl.MonitoredLocation.config_state.is_not(None)))
    link = SimulatedRouterLink(runtime, delay=0.05)
    link.start()
    try:
        location_id = await _location_id(gql, token)
        uploaded = await call(gql, UPLOAD, "dataMonitoringUpload", {"locationId": location_id}, token)
        assert uploaded["monitoredLocation"]["configurationState"] == "PENDING"

        for _ in range(200):  # bounded: the simulated router answers after 0.05 s
            async with runtime.session_factory() as session:
                row = await session.get(dl.MonitoredLocation, nord.location_id)
            if row.config_state is dl.ConfigState.APPLIED:
                break
            await asyncio.sleep(0.02)
        assert row.config_state is dl.ConfigState.APPLIED and row.config_request_id != f"demo-{nord.location_id}"
        given = {"locationId": location_id, "action": "MODBUS_READ", "register": 0, "count": 3, "settings": MODBUS}
        found = await call(gql, DISCOVER, "datalogDiscover", given, token)
        assert [v["register"] for v in found["result"]["registers"]] == [0, 1, 2]
    finally:
        await link.stop()


async def _location_id(gql, token) -> str:
    result = await gql('{ locations(filter: {nameContains: "Nord"}) { nodes { id } } }', token=token)
    return result["data"]["locations"]["nodes"][0]["id"]
