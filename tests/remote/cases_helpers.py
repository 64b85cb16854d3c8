"""Shared helpers of the cases tests: the documents and a seeded world of locations, devices and grants."""

from __future__ import annotations

from graph.relay import to_global_id
from tests.factories import add_location, add_location_device

CASE = """id description startedAt closed minutesWorked location { name } device { name } user { email }
  status { name closesCase }"""
CASE_CREATE = f"""mutation($input: CaseCreateInput!) {{
  caseCreate(input: $input) {{ case {{ {CASE} }} errors {{ code field message }} }} }}"""
CASE_UPDATE = f"""mutation($input: CaseUpdateInput!) {{
  caseUpdate(input: $input) {{ case {{ {CASE} }} errors {{ code field message }} }} }}"""
CALL = "id startedAt durationMinutes description activityType { name } status { name } user { email }"
CALL_CREATE = f"""mutation($input: CallCreateInput!) {{
  callCreate(input: $input) {{ call {{ {CALL} case {{ status {{ name }} minutesWorked }} }}
    errors {{ code field message }} }} }}"""
CALL_UPDATE = f"""mutation($input: CallUpdateInput!) {{
  callUpdate(input: $input) {{ call {{ {CALL} }} errors {{ code field message }} }} }}"""
STATUSES = """query($org: ID) { caseStatuses(organisationId: $org, first: 50) { totalCount
  nodes { id name description sequence hiddenInClient closesCase } } }"""
TYPES = """query($org: ID) { activityTypes(organisationId: $org, first: 50) { totalCount
  nodes { id name description } } }"""


async def seed_sites(runtime, world) -> dict[str, str]:
    """Per tenant (a, a1, b): locations North and South, North with devices HMI and PLC."""
    ids: dict[str, str] = {}
    async with runtime.session_factory() as session, session.begin():
        for key in ("a", "a1", "b"):
            organisation = world.organisations[key].id
            north = await add_location(session, organisation, f"North {key}")
            south = await add_location(session, organisation, f"South {key}")
            hmi = await add_location_device(session, north.id, "HMI", "192.168.1.10")
            plc = await add_location_device(session, north.id, "PLC", "192.168.1.20")
            ids[f"north_{key}"] = to_global_id("Location", north.id)
            ids[f"south_{key}"] = to_global_id("Location", south.id)
            ids[f"hmi_{key}"] = to_global_id("LocationDevice", hmi.id)
            ids[f"plc_{key}"] = to_global_id("LocationDevice", plc.id)
    return ids


async def settings_ids(gql, world, token: str = "admin_a", organisation: str | None = None) -> dict[str, str]:
    """The organisation's statuses and activity types by name (listing creates the defaults)."""
    variables = {"org": world.id("Organisation", organisation) if organisation else None}
    statuses = (await gql(STATUSES, variables, token=world.tokens[token]))["data"]["caseStatuses"]["nodes"]
    types = (await gql(TYPES, variables, token=world.tokens[token]))["data"]["activityTypes"]["nodes"]
    return {node["name"]: node["id"] for node in statuses + types}


async def open_case(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(CASE_CREATE, {"input": given}, token=world.tokens[token])
    payload = result["data"]["caseCreate"]
    assert payload["errors"] == [], payload
    return payload["case"]


async def log_call(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(CALL_CREATE, {"input": given}, token=world.tokens[token])
    payload = result["data"]["callCreate"]
    assert payload["errors"] == [], payload
    return payload["call"]


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]
