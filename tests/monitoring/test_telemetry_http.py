"""POST /telemetry with a location's device token: tokens created (shown once, stored hashed) and revoked by
MONITORING_MANAGE users, JSON (points, ThingsBoard style) and InfluxDB line protocol, typed JSON errors with
status codes, nothing stored on any refusal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from graph.auth import hash_token
from graph.relay import to_global_id
from models import telemetry as tel
from models.audit import AuditEvent
from models.base import utcnow
from tests.factories import add_location, add_location_device

CREATE = """mutation($input: TelemetryTokenCreateInput!) { telemetryTokenCreate(input: $input) {
  token telemetryToken { id name revokedAt location { name } } errors { code field } } }"""
REVOKE = """mutation($id: ID!) { telemetryTokenRevoke(input: {id: $id}) {
  telemetryToken { revokedAt } errors { code } } }"""
TOKENS = """query($id: ID!) { telemetryTokens(locationId: $id) { totalCount nodes { name revokedAt } } }"""


async def seed(runtime, world) -> dict[str, int]:
    async with runtime.session_factory() as session, session.begin():
        plant = await add_location(session, world.organisations["a"].id, "Plant")
        pump = await add_location_device(session, plant.id, "Pump", "10.0.0.2")
        return {"plant": plant.id, "pump": pump.id}


async def new_token(gql, world, location_pk: int) -> tuple[str, str]:
    result = await gql(
        CREATE, {"input": {"locationId": to_global_id("Location", location_pk), "name": "PLC"}}, world.tokens["admin_a"]
    )
    payload = result["data"]["telemetryTokenCreate"]
    assert payload["errors"] == [] and payload["token"].startswith("fgt_")
    return payload["token"], payload["telemetryToken"]["id"]


async def stored(runtime) -> list[tuple[str, float]]:
    async with runtime.session_factory() as session:
        rows = await session.execute(
            select(tel.TelemetrySeries.key, tel.TelemetryPoint.value)
            .join(tel.TelemetrySeries, tel.TelemetrySeries.id == tel.TelemetryPoint.series_id)
            .order_by(tel.TelemetrySeries.key, tel.TelemetryPoint.at)
        )
        return [tuple(row) for row in rows]


def bearer(token: str, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


async def test_tokens_are_shown_once_stored_hashed_listed_and_revoked(runtime, world, gql, client):
    ids = await seed(runtime, world)
    token, token_id = await new_token(gql, world, ids["plant"])
    async with runtime.session_factory() as session:
        row = await session.scalar(select(tel.TelemetryToken))
        assert row.token_hash == hash_token(token) and token not in str(row.__dict__)
        actions = set(await session.scalars(select(AuditEvent.action)))
    assert "telemetry_token.created" in actions
    listed = await gql(TOKENS, {"id": to_global_id("Location", ids["plant"])}, world.tokens["admin_a"])
    assert listed["data"]["telemetryTokens"] == {"totalCount": 1, "nodes": [{"name": "PLC", "revokedAt": None}]}
    # a plain user (no MONITORING_MANAGE) may not create one; another tenant's admin does not see the location
    refused = await gql(
        CREATE, {"input": {"locationId": to_global_id("Location", ids["plant"]), "name": "x"}}, world.tokens["user_a"]
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await gql(
        CREATE, {"input": {"locationId": to_global_id("Location", ids["plant"]), "name": "x"}}, world.tokens["admin_b"]
    )
    assert [e["code"] for e in other["data"]["telemetryTokenCreate"]["errors"]] == ["NOT_FOUND"]

    response = await client.post("/telemetry", json={"points": [{"key": "level", "value": 1}]}, headers=bearer(token))
    assert response.status_code == 200 and response.json() == {"stored": 1}
    revoked = await gql(REVOKE, {"id": token_id}, world.tokens["admin_a"])
    assert revoked["data"]["telemetryTokenRevoke"]["telemetryToken"]["revokedAt"] is not None
    response = await client.post("/telemetry", json={"points": [{"key": "level", "value": 2}]}, headers=bearer(token))
    assert response.status_code == 401 and response.json()["errors"][0]["code"] == "UNAUTHENTICATED"
    assert await stored(runtime) == [("level", 1.0)]


AUDIT = """query($id: ID) { auditEvents(first: 10, filter: {locationId: $id}) { nodes { action } } }"""


async def test_token_changes_are_in_the_history_of_their_location(runtime, world, gql):
    ids = await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        depot = (await add_location(session, world.organisations["a"].id, "Depot")).id
    _, token_id = await new_token(gql, world, ids["plant"])
    await gql(REVOKE, {"id": token_id}, world.tokens["admin_a"])

    async def history(location_pk: int) -> list[str]:
        result = await gql(AUDIT, {"id": to_global_id("Location", location_pk)}, world.tokens["admin_a"])
        return [node["action"] for node in result["data"]["auditEvents"]["nodes"]]

    assert await history(ids["plant"]) == ["telemetry_token.revoked", "telemetry_token.created"]
    assert await history(depot) == []


async def test_json_thingsboard_and_line_protocol_bodies(runtime, world, gql, client):
    ids = await seed(runtime, world)
    token, _ = await new_token(gql, world, ids["plant"])
    device = to_global_id("LocationDevice", ids["pump"])
    now = utcnow()
    ms = int((now - timedelta(minutes=1)).timestamp() * 1000)
    response = await client.post(
        "/telemetry", json={"ts": ms, "values": {"temperature": 71.5, "running": True}}, headers=bearer(token)
    )
    assert response.json() == {"stored": 2}
    response = await client.post(
        "/telemetry",
        json=[{"ts": ms + 1000, "deviceId": device, "values": {"temperature": 72.0}}],
        headers=bearer(token),
    )
    assert response.json() == {"stored": 1}
    ns = int(now.timestamp()) * 10**9
    lines = (
        f"# a comment\nplant,deviceId={device} temperature=73.5,count=3i {ns}\n"
        f'plant pressure=2.5,ok=t,label="fine\\"quoted" {ns}\n'
    )
    response = await client.post("/telemetry", content=lines.encode(), headers=bearer(token, "text/plain"))
    # the string field is a bad point: nothing of the body is stored
    assert response.status_code == 422
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [("INVALID", ["points", "4", "value"])]
    lines = f"plant,deviceId={device} temperature=73.5,count=3i {ns // 10**6}\nplant pressure=2.5,ok=t {ns // 10**6}\n"
    response = await client.post(
        "/telemetry?precision=ms", content=lines.encode(), headers=bearer(token, "text/plain; charset=utf-8")
    )
    assert response.status_code == 200 and response.json() == {"stored": 4}
    assert await stored(runtime) == [
        ("count", 3.0),
        ("ok", 1.0),
        ("pressure", 2.5),
        ("running", 1.0),
        ("temperature", 71.5),
        ("temperature", 72.0),
        ("temperature", 73.5),
    ]


async def test_refusals_have_status_codes_and_store_nothing(runtime, world, gql, client):
    ids = await seed(runtime, world)
    token, _ = await new_token(gql, world, ids["plant"])
    point = {"points": [{"key": "level", "value": 1}]}
    assert (await client.post("/telemetry", json=point)).status_code == 401
    unknown = await client.post("/telemetry", json=point, headers=bearer("fgt_" + "x" * 43))
    assert unknown.status_code == 401
    big = b'{"points": [' + b" " * 2_000_001 + b"]}"
    response = await client.post("/telemetry", content=big, headers=bearer(token))
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "PAYLOAD_TOO_LARGE"
    for body, content_type in (
        (b"{not json", "application/json"),
        (b"plant", "text/plain"),
        (b'{"points": 3}', "application/json"),
    ):
        response = await client.post("/telemetry", content=body, headers=bearer(token, content_type))
        assert response.status_code == 400 and response.json()["errors"][0]["code"] == "BAD_REQUEST", body
    response = await client.post("/telemetry", content=b"<xml/>", headers=bearer(token, "application/xml"))
    assert response.status_code == 415
    old = (utcnow() - timedelta(days=30)).isoformat()
    response = await client.post(
        "/telemetry",
        json={"points": [{"key": "ok", "value": 1}, {"key": "old", "value": 1, "at": old}]},
        headers=bearer(token),
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"code": "INVALID", "field": ["points", "1", "at"], "message": "Point 1: older than the late window (7 days)"}
    ]
    unhashable = {"points": [{"key": ["k"], "value": 1}, {"key": {"k": 1}, "value": {}}]}
    response = await client.post("/telemetry", json=unhashable, headers=bearer(token))
    assert response.status_code == 422
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("REQUIRED", ["points", "0", "key"]),
        ("REQUIRED", ["points", "1", "key"]),
        ("INVALID", ["points", "1", "value"]),
    ]
    too_many = {"points": [{"key": "k", "value": 1}] * 10_001}
    response = await client.post("/telemetry", json=too_many, headers=bearer(token))
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "TOO_MANY"
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(tel.TelemetryPoint)) == 0
