"""Shared helpers of the remote tests: registering routers, creating locations and their devices, connecting."""

from __future__ import annotations

from graph.relay import from_global_id
from models import identity as m
from models import remote as r
from subscriptions import channels
from subscriptions import log as event_log
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

    async with runtime.session_factory() as session, session.begin():
        session.add(r.LocationUserAccess(location_id=from_global_id(location_id)[1], user_id=world.users[user_key].id))


CONNECTION = (
    "connection { id routerCommonName deviceName userName userEmail startedAt endedAt endReason "
    "duration active location { name } router { commonName } }"
)
CONNECT = f"""mutation($input: RouterConnectInput!) {{
  routerConnect(input: $input) {{ result {CONNECTION} errors {{ code field message }} }}
}}"""
DISCONNECT = f"""mutation($input: RouterDisconnectInput) {{
  routerDisconnect(input: $input) {{ result {CONNECTION} errors {{ code field message }} }}
}}"""
LOCATION_DEVICE = (
    "device { id name description ipAddress services { type port path username } template { name } location { name } }"
)
LOCATION_DEVICE_CREATE = f"""mutation($input: LocationDeviceCreateInput!) {{
  locationDeviceCreate(input: $input) {{ {LOCATION_DEVICE} errors {{ code field message }} }}
}}"""


async def create_location_device(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(LOCATION_DEVICE_CREATE, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["locationDeviceCreate"]


async def log_position(runtime) -> int:
    """The event log's newest cursor: pass it to `logged_since` to see what a worker committed after it."""
    async with runtime.session_factory() as session:
        return await event_log.newest_cursor(session)


async def logged_since(runtime, position: int, channel: str = channels.ROUTER_STATE) -> list[tuple[str, dict]]:
    """The (channel, payload) of every event of `channel` written to the event log after `position`."""
    async with runtime.session_factory() as session:
        events = await event_log.read_after(session, position, channels=[channel], limit=100_000)
    return [(event.channel, event.payload) for event in events]
