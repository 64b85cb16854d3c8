"""Documents and seed data shared by the datalog tests."""

from __future__ import annotations

from datetime import datetime

from graph.relay import to_global_id
from graph.workers import transaction
from models import telemetry as tel
from models.base import utcnow
from resolvers.monitoring.hooks import POINTS_STORED, StoredPoint
from tests.factories import add_device_template, add_location, add_location_device, add_router

ERRORS = "errors { code field message }"
MONITORED = """monitoredLocation { sendFrequencySeconds cloudHost silenceSeconds configurationState
  configurationReason location { name } status { code reason } }"""
ACTIVATE = f"""mutation($input: DataMonitoringActivateInput!) {{
  dataMonitoringActivate(input: $input) {{ {MONITORED} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: DataMonitoringUpdateInput!) {{
  dataMonitoringUpdate(input: $input) {{ {MONITORED} {ERRORS} }} }}"""
DEACTIVATE = f"""mutation($input: DataMonitoringLocationInput!) {{
  dataMonitoringDeactivate(input: $input) {{ locationId {ERRORS} }} }}"""
UPLOAD = f"""mutation($input: DataMonitoringLocationInput!) {{
  dataMonitoringUpload(input: $input) {{ {MONITORED} {ERRORS} }} }}"""
LIST = """query($first: Int, $after: String) { monitoredLocations(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { location { name } cloudHost status { code reason lastTelemetryAt }
    datalogDevices { locationDeviceId datalogDevice { name protocol } } } } }"""
DEVICE = """datalogDevice { id name protocol fromTemplate locationDeviceId deviceTemplateId
  settings { opcUa { port endpointUrl securityMode securityPolicy username passwordSet }
    bacnet { serverIp port deviceInstance } modbus { port host unitId mode }
    snmp { port server devices { name version username authProtocol privacyProtocol baseOid secretsSet } } }
  variables { key unit dataType opcUa { nodeId } bacnet { objectType instance property }
    modbus { register function valueType } snmp { device oid } } }"""
CREATE_DEVICE = f"""mutation($input: DatalogDeviceCreateInput!) {{
  datalogDeviceCreate(input: $input) {{ {DEVICE} monitoredLocation {{ configurationState }} {ERRORS} }} }}"""
UPDATE_DEVICE = f"""mutation($input: DatalogDeviceUpdateInput!) {{
  datalogDeviceUpdate(input: $input) {{ {DEVICE} monitoredLocation {{ configurationState }} {ERRORS} }} }}"""
DELETE_DEVICE = f"""mutation($input: DatalogDeviceDeleteInput!) {{
  datalogDeviceDelete(input: $input) {{ deletedId {ERRORS} }} }}"""
DISCOVER = f"""mutation($input: DatalogDiscoverInput!) {{ datalogDiscover(input: $input) {{
  result {{ action nodes {{ nodeId browseName hasChildren }} devices {{ deviceInstance address name }}
    objects {{ objectType instance presentValue }} registers {{ register value }} varbinds {{ oid type value }} }}
  {ERRORS} }} }}"""

MODBUS = {"modbus": {"host": "192.168.1.10", "port": 502, "unitId": 1, "mode": "TCP"}}
MODBUS_VARIABLES = [
    {
        "key": "temperature",
        "unit": "°C",
        "modbus": {"register": 0, "function": "HOLDING_REGISTER", "valueType": "FLOAT32"},
    },
    {
        "key": "pressure",
        "unit": "bar",
        "modbus": {"register": 2, "function": "HOLDING_REGISTER", "valueType": "FLOAT32"},
    },
]


async def seed_site(runtime, world, tenant: str = "a", *, online: bool = True, n: int = 0) -> dict:
    """A location of `tenant` with a router (online or not), a device, and a device template."""
    async with transaction(runtime) as session:
        organisation = world.organisations[tenant].id
        router = await add_router(
            session, organisation, f"R_DL{tenant.upper()}{n}", f"00:00:00:00:{n:02d}:0{'ab'.index(tenant[0])}",
            f"SN-dl-{tenant}-{n}", online=online,
        )  # fmt: skip
        location = await add_location(session, organisation, f"Plant {tenant} {n}", router.id)
        device = await add_location_device(session, location.id, f"PLC {tenant} {n}", "192.168.1.10")
        template = await add_device_template(session, organisation, f"Template {tenant} {n}", "192.168.1.20")
        return {
            "location": to_global_id("Location", location.id),
            "location_pk": location.id,
            "router_pk": router.id,
            "common_name": router.common_name,
            "device": to_global_id("LocationDevice", device.id),
            "device_pk": device.id,
            "template": to_global_id("DeviceTemplate", template.id),
            "template_pk": template.id,
            "organisation_pk": organisation,
        }


async def store_point(runtime, site: dict, key: str, value: float, at: datetime | None = None) -> None:
    """A telemetry point as ingest would store it (until telemetry ingest lands: series, point, hook)."""
    at = at or utcnow()
    async with transaction(runtime) as session:
        series = tel.TelemetrySeries(
            organisation_id=site["organisation_pk"],
            location_id=site["location_pk"],
            key=key,
            last_at=at,
            last_value=value,
        )
        session.add(series)
        await session.flush()
        session.add(tel.TelemetryPoint(series_id=series.id, at=at, value=value))
        point = StoredPoint(site["organisation_pk"], site["location_pk"], None, series.id, key, at, value)
        await POINTS_STORED(session, [point])


async def call(gql, document: str, name: str, given: dict, token: str) -> dict:
    result = await gql(document, {"input": given}, token=token)
    assert "errors" not in result, result
    return result["data"][name]


def codes(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]
