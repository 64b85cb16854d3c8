"""Shared helpers of the remote access tests."""

from __future__ import annotations

from models import identity as m
from tests.factories import add_user, issue_token

REGISTER = """mutation($input: RouterRegisterInput!) {
  routerRegister(input: $input) {
    router { id commonName macAddress serialNumber model firmware online organisation { name } }
    errors { code field message }
  }
}"""
ASSIGN = """mutation($input: RouterAssignInput!) {
  routerAssign(input: $input) { router { id organisation { name } } errors { code field message } }
}"""
HEARTBEAT = """mutation($input: RouterHeartbeatInput!) {
  routerHeartbeat(input: $input) {
    router { id online lastHeartbeatAt stateChangedAt }
    status { takenAt cpuLoad memoryUse modemState signalStrength linkSpeed }
    errors { code field message }
  }
}"""
LOCATION_CREATE = """mutation($input: LocationCreateInput!) {
  locationCreate(input: $input) {
    location { id name latitude longitude organisation { name } router { commonName } pinned }
    errors { code field message }
  }
}"""


async def register(gql, world, common_name: str, mac: str, serial: str, organisation: str | None = "a") -> str:
    variables = {"commonName": common_name, "macAddress": mac, "serialNumber": serial}
    if organisation is not None:
        variables["organisationId"] = world.id("Organisation", organisation)
    result = await gql(REGISTER, {"input": variables}, token=world.tokens["platform"])
    payload = result["data"]["routerRegister"]
    assert payload["errors"] == [], payload
    return payload["router"]["id"]


async def api_user_token(runtime, world, organisation: str, email: str) -> str:
    async with runtime.session_factory() as session, session.begin():
        user = await add_user(session, world.organisations[organisation], email, [m.Role.API_USER])
        return await issue_token(session, user)


async def grant_location(runtime, world, user_key: str, location_id: str) -> None:
    """Give a user direct access to a location (the access API has its own tests)."""
    from graph.relay import from_global_id
    from models import remote as r

    async with runtime.session_factory() as session, session.begin():
        session.add(r.LocationUserAccess(location_id=from_global_id(location_id)[1], user_id=world.users[user_key].id))
