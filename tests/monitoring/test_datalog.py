"""Data monitoring per location: activation and settings, the monitored-location list with its status derived
from real state (and its SQL statement count), datalog devices of location devices and templates with typed
settings, validation (nothing changed on bad input), sealed secrets, and the event history by location."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from graph.relay import to_global_id
from graph.workers import transaction
from models import datalog as dl
from models import remote as r
from models.audit import AuditEvent
from models.base import utcnow
from resolvers.monitoring.datalog.rules import open_secrets
from tests.factories import add_location_device, snapshot
from tests.monitoring.datalog_helpers import (
    ACTIVATE,
    CREATE_DEVICE,
    DEACTIVATE,
    DELETE_DEVICE,
    LIST,
    MODBUS,
    MODBUS_VARIABLES,
    UPDATE,
    UPDATE_DEVICE,
    call,
    codes,
    seed_site,
    store_point,
)


async def activate(gql, world, site, token="admin_a", **given) -> dict:
    return await call(
        gql, ACTIVATE, "dataMonitoringActivate", {"locationId": site["location"], **given}, world.tokens[token]
    )


async def modbus_device(gql, world, site, token="admin_a", **given) -> dict:
    payload = {
        "locationDeviceId": site["device"],
        "name": "PLC Modbus",
        "settings": MODBUS,
        "variables": MODBUS_VARIABLES,
    }
    return await call(gql, CREATE_DEVICE, "datalogDeviceCreate", {**payload, **given}, world.tokens[token])


async def mark_applied(runtime, site) -> None:
    async with transaction(runtime) as session:
        await session.execute(
            update(dl.MonitoredLocation)
            .where(dl.MonitoredLocation.location_id == site["location_pk"])
            .values(config_state=dl.ConfigState.APPLIED, config_applied_at=utcnow())
        )


async def test_activate_update_deactivate(gql, world, runtime):
    site = await seed_site(runtime, world)
    made = await activate(gql, world, site, sendFrequencySeconds=30, cloudHost="THINGSBOARD", silenceSeconds=120)
    assert made["errors"] == []
    assert made["monitoredLocation"] == {
        "sendFrequencySeconds": 30,
        "cloudHost": "THINGSBOARD",
        "silenceSeconds": 120,
        "configurationState": None,
        "configurationReason": "",
        "location": {"name": "Plant a 0"},
        "status": {"code": "NO_CONFIGURATION", "reason": "No datalog device applies to the location's devices."},
    }
    again = await activate(gql, world, site)
    assert codes(again) == [("DUPLICATE", ["locationId"])]
    changed = await call(
        gql,
        UPDATE,
        "dataMonitoringUpdate",
        {"locationId": site["location"], "cloudHost": "HELIX"},
        world.tokens["admin_a"],
    )
    assert (changed["monitoredLocation"]["cloudHost"], changed["monitoredLocation"]["sendFrequencySeconds"]) == (
        "HELIX",
        30,
    )
    ended = await call(
        gql, DEACTIVATE, "dataMonitoringDeactivate", {"locationId": site["location"]}, world.tokens["admin_a"]
    )
    assert ended == {"locationId": site["location"], "errors": []}
    async with runtime.session_factory() as session:
        assert await session.get(dl.MonitoredLocation, site["location_pk"]) is None
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.location_id == site["location_pk"]).order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["datalog.activated", "datalog.settings_changed", "datalog.deactivated"]


async def test_bad_settings_change_nothing(gql, world, runtime):
    site = await seed_site(runtime, world)
    before = await snapshot(runtime)
    for given, expected in (
        ({"sendFrequencySeconds": 0}, [("INVALID", ["sendFrequencySeconds"])]),
        ({"silenceSeconds": 10**9}, [("INVALID", ["silenceSeconds"])]),
        ({"locationId": to_global_id("Location", 999999)}, [("NOT_FOUND", ["locationId"])]),
    ):
        payload = await activate(gql, world, site, **given)
        assert codes(payload) == expected
    assert await snapshot(runtime) == before
    # a plain user may read but not manage
    refused = await gql(ACTIVATE, {"input": {"locationId": site["location"]}}, token=world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_status_is_derived_from_real_state(gql, world, runtime):
    """Each status with its cause, in order: no device, never applied, other host, router offline, silence."""
    site = await seed_site(runtime, world, online=False)

    async def status() -> dict:
        result = await gql(LIST, {"first": 10}, token=world.tokens["admin_a"])
        return result["data"]["monitoredLocations"]["nodes"][0]["status"]

    await activate(gql, world, site, cloudHost="DOCKERS", silenceSeconds=60)
    assert (await status())["code"] == "NO_CONFIGURATION"
    await modbus_device(gql, world, site)
    assert (await status())["reason"] == "No configuration was ever applied by the router."
    await mark_applied(runtime, site)
    assert (await status())["code"] == "OTHER_CLOUD_HOST"
    await call(
        gql,
        UPDATE,
        "dataMonitoringUpdate",
        {"locationId": site["location"], "cloudHost": "HELIX"},
        world.tokens["admin_a"],
    )
    assert await status() == {
        "code": "NO_MQTT_CONNECTION",
        "reason": "The location's router is offline.",
        "lastTelemetryAt": None,
    }
    async with transaction(runtime) as session:
        await session.execute(update(r.Router).where(r.Router.id == site["router_pk"]).values(online=True))
    assert (await status())["code"] == "ACTIVE_NO_NEW_TELEMETRY"
    await store_point(runtime, site, "old", 1.0, utcnow() - timedelta(seconds=120))
    assert (await status())["code"] == "ACTIVE_NO_NEW_TELEMETRY"
    await store_point(runtime, site, "temperature", 21.5)
    found = await status()
    assert found["code"] == "ACTIVE" and found["lastTelemetryAt"] is not None
    async with transaction(runtime) as session:
        await session.execute(
            update(dl.MonitoredLocation).values(config_state=dl.ConfigState.FAILED, config_reason="bad register")
        )
    assert await status() == {
        "code": "UNKNOWN",
        "reason": "The last upload failed: bad register.",
        "lastTelemetryAt": found["lastTelemetryAt"],
    }


async def test_list_shows_what_the_caller_sees_in_bounded_statements(gql, world, runtime, count_sql):
    sites = [await seed_site(runtime, world, n=n) for n in range(6)]
    other = await seed_site(runtime, world, "b")
    for site in sites:
        await activate(gql, world, site)
        await modbus_device(gql, world, site)
    await activate(gql, world, other, token="admin_b")
    with count_sql() as counted:
        result = await gql(LIST, {"first": 4}, token=world.tokens["admin_a"])
    page = result["data"]["monitoredLocations"]
    assert page["totalCount"] == 6 and page["pageInfo"]["hasNextPage"]
    assert [node["location"]["name"] for node in page["nodes"]] == [f"Plant a {n}" for n in range(4)]
    assert page["nodes"][0]["datalogDevices"][0]["datalogDevice"] == {"name": "PLC Modbus", "protocol": "MODBUS"}
    # token, page, count, and one each for locations, statuses, datalog devices: not one per location
    assert len(counted.statements) == 6, counted.statements
    rest = await gql(LIST, {"first": 4, "after": page["pageInfo"]["endCursor"]}, token=world.tokens["admin_a"])
    assert len(rest["data"]["monitoredLocations"]["nodes"]) == 2
    # a plain user sees only the locations granted to them: none here
    mine = await gql(LIST, {"first": 10}, token=world.tokens["user_a"])
    assert mine["data"]["monitoredLocations"]["totalCount"] == 0
    theirs = await gql(LIST, {"first": 10}, token=world.tokens["admin_b"])
    assert [n["location"]["name"] for n in theirs["data"]["monitoredLocations"]["nodes"]] == ["Plant b 0"]


async def test_each_protocol_with_typed_settings_and_sealed_secrets(gql, world, runtime, caplog):
    site = await seed_site(runtime, world)
    opc = await modbus_device(
        gql, world, site,
        name="OPC",
        settings={"opcUa": {"port": 4840, "endpointUrl": "opc.tcp://192.168.1.10:4840", "securityMode": "SIGN",
                            "securityPolicy": "BASIC256SHA256", "username": "reader", "password": "Opc-Secret-1"}},
        variables=[{"key": "temp", "unit": "°C", "opcUa": {"nodeId": "ns=2;s=Pump1.Temperature"}}],
    )  # fmt: skip
    assert opc["errors"] == []
    assert opc["datalogDevice"]["settings"]["opcUa"]["passwordSet"] is True
    assert "Opc-Secret-1" not in str(opc)
    snmp = await modbus_device(
        gql, world, site,
        name="UPS",
        settings={"snmp": {"server": "192.168.1.40", "devices": [
            {"name": "ups", "version": "V2C", "community": "c0mmunity"},
            {"name": "pdu", "version": "V3", "username": "ops", "authProtocol": "SHA", "authPassword": "Auth-Secret-1",
             "privacyProtocol": "AES", "privacyPassword": "Priv-Secret-1", "baseOid": "1.3.6.1.4.1"}]}},
        variables=[{"key": "load", "snmp": {"device": "pdu", "oid": "1.3.6.1.4.1.318.1.1.1.4.2.3.0"}}],
    )  # fmt: skip
    assert snmp["errors"] == []
    devices = snmp["datalogDevice"]["settings"]["snmp"]["devices"]
    assert [(d["name"], d["secretsSet"]) for d in devices] == [
        ("ups", ["community"]),
        ("pdu", ["authPassword", "privacyPassword"]),
    ]
    bacnet = await modbus_device(
        gql, world, site, name="AHU", settings={"bacnet": {"serverIp": "192.168.1.30", "deviceInstance": 1001}},
        variables=[{"key": "supply", "bacnet": {"objectType": "analog-input", "instance": 1}}],
    )  # fmt: skip
    assert bacnet["datalogDevice"]["variables"][0]["bacnet"] == {
        "objectType": "analog-input",
        "instance": 1,
        "property": "present-value",
    }
    async with runtime.session_factory() as session:
        rows = {row.name: row for row in (await session.scalars(select(dl.DatalogDevice))).all()}
    assert b"Opc-Secret-1" not in rows["OPC"].secrets_sealed
    assert open_secrets(runtime.sealer, rows["OPC"]) == {"password": "Opc-Secret-1"}
    assert open_secrets(runtime.sealer, rows["UPS"])["devices"]["pdu"]["privacyPassword"] == "Priv-Secret-1"
    # an update that leaves the password out keeps it; an empty one removes it
    opc_id = opc["datalogDevice"]["id"]
    kept = await call(gql, UPDATE_DEVICE, "datalogDeviceUpdate", {"id": opc_id, "settings": {"opcUa": {
        "endpointUrl": "opc.tcp://192.168.1.11:4840"}}}, world.tokens["admin_a"])  # fmt: skip
    assert kept["datalogDevice"]["settings"]["opcUa"]["passwordSet"] is True
    removed = await call(gql, UPDATE_DEVICE, "datalogDeviceUpdate", {"id": opc_id, "settings": {"opcUa": {
        "endpointUrl": "opc.tcp://192.168.1.11:4840", "password": ""}}}, world.tokens["admin_a"])  # fmt: skip
    assert removed["datalogDevice"]["settings"]["opcUa"]["passwordSet"] is False
    logged = caplog.text
    assert all(secret not in logged for secret in ("Opc-Secret-1", "c0mmunity", "Auth-Secret-1", "Priv-Secret-1"))


async def test_bad_datalog_devices_are_refused_with_nothing_changed(gql, world, runtime):
    site = await seed_site(runtime, world)
    before = await snapshot(runtime)
    cases = [
        ({"settings": {}}, [("INVALID", ["settings"])]),
        ({"settings": {**MODBUS, "bacnet": {"serverIp": "10.0.0.1", "deviceInstance": 1}}},
         [("INVALID", ["settings"])]),
        ({"settings": {"modbus": {"host": "bad host!", "unitId": 1}}}, [("INVALID", ["settings", "modbus", "host"])]),
        ({"settings": {"modbus": {"host": "plc.local", "unitId": 300}}},
         [("INVALID", ["settings", "modbus", "unitId"])]),
        ({"settings": {"opcUa": {"endpointUrl": "http://x"}}, "variables": []},
         [("INVALID", ["settings", "opcUa", "endpointUrl"])]),
        ({"variables": [{"key": "t", "opcUa": {"nodeId": "x"}}]}, [("INVALID", ["variables", "0", "opcUa"])]),
        ({"variables": [{"key": "t"}]}, [("INVALID", ["variables", "0"])]),
        ({"variables": [MODBUS_VARIABLES[0], MODBUS_VARIABLES[0]]}, [("DUPLICATE", ["variables", "1", "key"])]),
        ({"variables": [{**MODBUS_VARIABLES[0], "key": "bad key"}]}, [("INVALID", ["variables", "0", "key"])]),
        ({"deviceTemplateId": site["template"]}, [("INVALID", ["locationDeviceId"])]),
        ({"settings": {"snmp": {"server": "10.0.0.2", "devices": [{"name": "x", "version": "V1", "baseOid": "1.x"}]}},
          "variables": []}, [("INVALID", ["settings", "snmp", "devices", "0", "baseOid"])]),
    ]  # fmt: skip
    for given, expected in cases:
        payload = await modbus_device(gql, world, site, **given)
        assert codes(payload) == expected, given
        assert payload["datalogDevice"] is None
    assert await snapshot(runtime) == before


async def test_template_datalog_devices_apply_to_devices_made_from_it(gql, world, runtime):
    site = await seed_site(runtime, world)
    await activate(gql, world, site)
    made = await modbus_device(gql, world, site, locationDeviceId=None, deviceTemplateId=site["template"], name="Tpl")
    assert made["datalogDevice"]["fromTemplate"] is True
    assert (made["datalogDevice"]["deviceTemplateId"], made["datalogDevice"]["locationDeviceId"]) == (
        site["template"],
        None,
    )
    # a device made from the template gets it; an edit of the template's shows at once (read through)
    async with transaction(runtime) as session:
        await add_location_device(
            session, site["location_pk"], "From template", "192.168.1.21", template_id=site["template_pk"]
        )
    await call(
        gql,
        UPDATE_DEVICE,
        "datalogDeviceUpdate",
        {"id": made["datalogDevice"]["id"], "name": "Tpl v2"},
        world.tokens["admin_a"],
    )
    result = await gql(LIST, {"first": 10}, token=world.tokens["admin_a"])
    applied = result["data"]["monitoredLocations"]["nodes"][0]["datalogDevices"]
    assert [a["datalogDevice"]["name"] for a in applied] == ["Tpl v2"]
    deleted = await call(
        gql, DELETE_DEVICE, "datalogDeviceDelete", {"id": made["datalogDevice"]["id"]}, world.tokens["admin_a"]
    )
    assert deleted["errors"] == []
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "DatalogDevice"))
        ).all()
    assert sorted(actions) == ["datalog.device_created", "datalog.device_deleted", "datalog.device_updated"]


AUDIT = """query($filter: AuditEventFilter) { auditEvents(first: 20, filter: $filter) { nodes { action } } }"""


async def test_event_history_filtered_by_location(gql, world, runtime):
    one, two = await seed_site(runtime, world, n=1), await seed_site(runtime, world, n=2)
    await activate(gql, world, one)
    await activate(gql, world, two)
    await modbus_device(gql, world, two)
    result = await gql(AUDIT, {"filter": {"locationId": two["location"]}}, token=world.tokens["admin_a"])
    assert [n["action"] for n in result["data"]["auditEvents"]["nodes"]] == [
        "datalog.device_created",
        "datalog.activated",
    ]
    # another tenant's admin sees nothing of it, as for an unknown location
    theirs = await gql(AUDIT, {"filter": {"locationId": two["location"]}}, token=world.tokens["admin_b"])
    assert theirs["data"]["auditEvents"]["nodes"] == []


async def test_snmp_variables_must_keep_their_device(gql, world, runtime):
    site = await seed_site(runtime, world)
    ups = {"name": "ups", "version": "V1", "community": "public"}
    made = await modbus_device(
        gql, world, site, name="UPS", settings={"snmp": {"server": "10.0.0.4", "devices": [ups]}},
        variables=[{"key": "load", "snmp": {"device": "ups", "oid": "1.3.6.1.2.1.33.1.4.4.1.5.1"}}],
    )  # fmt: skip
    before = await snapshot(runtime)
    renamed = {"snmp": {"server": "10.0.0.4", "devices": [{**ups, "name": "ups2"}]}}
    refused = await call(
        gql, UPDATE_DEVICE, "datalogDeviceUpdate", {"id": made["datalogDevice"]["id"], "settings": renamed},
        world.tokens["admin_a"],
    )  # fmt: skip
    assert codes(refused) == [("INVALID", ["variables"])]
    assert await snapshot(runtime) == before


LATEST = """query($id: ID!) { telemetryLatest(locationId: $id, first: 20) {
  nodes { key unit dataType device { name } } } }"""
INGEST = """mutation($input: TelemetryIngestInput!) { telemetryIngest(input: $input) { stored errors { code } } }"""


def variable(key: str, unit: str, data_type: str, register: int) -> dict:
    address = {"register": register, "function": "HOLDING_REGISTER", "valueType": "FLOAT32"}
    return {"key": key, "unit": unit, "dataType": data_type, "modbus": address}


async def ingest(gql, world, site, points: list[dict]) -> None:
    given = {"locationId": site["location"], "points": points}
    result = await gql(INGEST, {"input": given}, token=world.tokens["admin_a"])
    assert result["data"]["telemetryIngest"] == {"stored": len(points), "errors": []}, result


async def series_types(gql, world, site) -> dict[tuple[str, str | None], tuple[str, str]]:
    result = await gql(LATEST, {"id": site["location"]}, token=world.tokens["admin_a"])
    nodes = result["data"]["telemetryLatest"]["nodes"]
    return {(n["key"], (n["device"] or {}).get("name")): (n["unit"], n["dataType"]) for n in nodes}


async def test_a_datalog_variable_gives_its_series_unit_and_data_type(gql, world, runtime, count_sql):
    """Issue 16: each chosen variable becomes a telemetry key with unit and data type, at ingest for a new
    series and on saving the datalog device for series that exist."""
    site = await seed_site(runtime, world)
    made = await modbus_device(
        gql, world, site, variables=[variable("boiler_temp", "°C", "INTEGER", 0), variable("valve", "", "BOOLEAN", 2)]
    )
    assert made["errors"] == []
    device = site["device"]
    await ingest(
        gql,
        world,
        site,
        [
            {"key": "boiler_temp", "value": 71, "deviceId": device},
            {"key": "boiler_temp", "value": 70},  # the location's own series of the key takes it too
            {"key": "valve", "value": 1, "deviceId": device},  # a number; the variable says BOOLEAN
            {"key": "flow", "value": 3.5, "deviceId": device},  # no variable: as before
        ],
    )
    plc = "PLC a 0"
    assert await series_types(gql, world, site) == {
        ("boiler_temp", plc): ("°C", "INTEGER"),
        ("boiler_temp", None): ("°C", "INTEGER"),
        ("valve", plc): ("", "BOOLEAN"),
        ("flow", plc): ("", "FLOAT"),
    }
    # saving the device again updates the series that exist, in a bounded number of statements
    changed = [variable("boiler_temp", "K", "FLOAT", 0), variable("flow", "m³/h", "FLOAT", 4)]
    with count_sql() as counter:
        updated = await call(
            gql,
            UPDATE_DEVICE,
            "datalogDeviceUpdate",
            {"id": made["datalogDevice"]["id"], "variables": changed},
            world.tokens["admin_a"],
        )
    assert updated["errors"] == []
    series_statements = [s for s in counter.statements if "telemetry_series" in s]
    assert len(series_statements) == 2, series_statements  # read the series, one UPDATE for all of them
    assert await series_types(gql, world, site) == {
        ("boiler_temp", plc): ("K", "FLOAT"),
        ("boiler_temp", None): ("K", "FLOAT"),
        ("valve", plc): ("", "BOOLEAN"),  # its variable went: the series keeps what its history was measured in
        ("flow", plc): ("m³/h", "FLOAT"),
    }


async def test_a_template_datalog_device_types_the_series_of_devices_made_from_it(gql, world, runtime):
    site = await seed_site(runtime, world)
    async with transaction(runtime) as session:
        made_from = await add_location_device(
            session, site["location_pk"], "From template", "192.168.1.21", template_id=site["template_pk"]
        )
    point = {"key": "boiler_temp", "value": 60, "deviceId": to_global_id("LocationDevice", made_from.id)}
    await ingest(gql, world, site, [point])
    assert await series_types(gql, world, site) == {("boiler_temp", "From template"): ("", "FLOAT")}
    made = await modbus_device(
        gql,
        world,
        site,
        locationDeviceId=None,
        deviceTemplateId=site["template"],
        variables=[variable("boiler_temp", "°C", "INTEGER", 0)],
    )
    assert made["errors"] == []
    assert await series_types(gql, world, site) == {("boiler_temp", "From template"): ("°C", "INTEGER")}
