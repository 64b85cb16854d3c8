"""POST /meters/readings with an organisation's meter gateway token: tokens made (shown once, stored hashed) and
revoked by staff with METERING_MANAGE, readings stored as telemetry points of the meter's own series, typed
errors with status codes, nothing written on any refusal, last write wins, and one organisation's token never
writes another's meter."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from graph.auth import hash_token
from models import metering as mt
from models import telemetry as tel
from models.audit import AuditEvent
from models.base import utcnow
from tests.burst import burst
from tests.factories import snapshot
from tests.metering.readings_helpers import add_gateway_token, seed_meters

CREATE = """mutation($input: MeterGatewayTokenCreateInput!) { meterGatewayTokenCreate(input: $input) {
  token meterGatewayToken { id name revokedAt } errors { code field } } }"""
REVOKE = """mutation($id: ID!) { meterGatewayTokenRevoke(input: {id: $id}) {
  meterGatewayToken { revokedAt } errors { code } } }"""
TOKENS = """{ meterGatewayTokens { totalCount nodes { name revokedAt } } }"""
TOKEN_A = "fgm_tenant-a-network-server"


def bearer(token: str, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


async def stored(runtime) -> list[tuple[int | None, int | None, str, str, float]]:
    """(meter, location, key, unit, value) of every point, by meter, key and time."""
    async with runtime.session_factory() as session:
        series = tel.TelemetrySeries
        rows = await session.execute(
            select(series.meter_id, series.location_id, series.key, series.unit, tel.TelemetryPoint.value)
            .join(series, series.id == tel.TelemetryPoint.series_id)
            .order_by(series.meter_id, series.key, tel.TelemetryPoint.at)
        )
        return [tuple(row) for row in rows]


async def with_token(runtime, world) -> None:
    async with runtime.session_factory() as session, session.begin():
        await add_gateway_token(session, world.organisations["a"].id, TOKEN_A)


async def test_tokens_are_shown_once_stored_hashed_and_revoked(runtime, world, gql, client):
    seeded = await seed_meters(runtime, world)
    result = await gql(CREATE, {"input": {"name": "LNS"}}, world.tokens["admin_a"])
    payload = result["data"]["meterGatewayTokenCreate"]
    assert payload["errors"] == [] and payload["token"].startswith("fgm_")
    token, token_id = payload["token"], payload["meterGatewayToken"]["id"]
    async with runtime.session_factory() as session:
        row = await session.scalar(select(mt.MeterGatewayToken))
        assert row.token_hash == hash_token(token) and row.organisation_id == world.organisations["a"].id
        assert "meter_gateway_token.created" in set(await session.scalars(select(AuditEvent.action)))
    # a plain user lacks METERING_MANAGE; a consumer holds it for their own points, but a token writes every
    # meter of an organisation
    refused = await gql(CREATE, {"input": {"name": "x"}}, world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    consumer = await gql(CREATE, {"input": {"name": "x"}}, seeded.tokens["anna"])
    assert [e["code"] for e in consumer["data"]["meterGatewayTokenCreate"]["errors"]] == ["NOT_ALLOWED"]
    listed = await gql(TOKENS, {}, world.tokens["admin_a"])
    assert listed["data"]["meterGatewayTokens"] == {"totalCount": 1, "nodes": [{"name": "LNS", "revokedAt": None}]}
    for other in (world.tokens["admin_b"], seeded.tokens["anna"]):
        assert (await gql(TOKENS, {}, other))["data"]["meterGatewayTokens"]["totalCount"] == 0
    consumer = await gql(REVOKE, {"id": token_id}, seeded.tokens["anna"])
    assert [e["code"] for e in consumer["data"]["meterGatewayTokenRevoke"]["errors"]] == ["NOT_FOUND"]

    body = {"readings": [{"serialNumber": "33100050", "key": "volume", "value": 12.345}]}
    response = await client.post("/meters/readings", json=body, headers=bearer(token))
    assert response.status_code == 200 and response.json() == {"stored": 1}
    revoked = await gql(REVOKE, {"id": token_id}, world.tokens["admin_a"])
    assert revoked["data"]["meterGatewayTokenRevoke"]["meterGatewayToken"]["revokedAt"] is not None
    response = await client.post("/meters/readings", json=body, headers=bearer(token))
    assert response.status_code == 401 and response.json()["errors"][0]["code"] == "UNAUTHENTICATED"
    assert await stored(runtime) == [(seeded.meters["33100050"], None, "volume", "m³", 12.345)]


async def test_readings_are_points_of_the_meters_series(runtime, world, client):
    seeded = await seed_meters(runtime, world)
    await with_token(runtime, world)
    now = utcnow()
    body = {
        "readings": [
            {"serialNumber": "33100050", "key": "volume", "value": 12.5, "at": (now - timedelta(hours=2)).isoformat()},
            {"serialNumber": "33100050", "key": "volume", "value": 12.75, "at": int(now.timestamp() * 1000) - 60_000},
            {"serialNumber": "33100051", "manufacturer": "INTEGRA Metering AG", "key": "volume", "value": 3},
            {"serialNumber": "33100051", "key": "battery", "value": 3.6},
        ]
    }
    response = await client.post("/meters/readings", json=body, headers=bearer(TOKEN_A))
    assert response.status_code == 200 and response.json() == {"stored": 4}
    one, two = seeded.meters["33100050"], seeded.meters["33100051"]
    assert await stored(runtime) == [
        (one, None, "volume", "m³", 12.5),
        (one, None, "volume", "m³", 12.75),
        (two, None, "battery", "", 3.6),
        (two, None, "volume", "m³", 3.0),
    ]
    async with runtime.session_factory() as session:
        latest = await session.scalar(select(tel.TelemetrySeries.last_value).where(tel.TelemetrySeries.meter_id == one))
    assert latest == 12.75


async def test_bad_messages_are_refused_whole(runtime, world, client):
    await seed_meters(runtime, world)
    await with_token(runtime, world)
    good = {"serialNumber": "33100050", "key": "volume", "value": 1.0}
    old = (utcnow() - timedelta(days=8)).isoformat()
    before = await snapshot(runtime)
    cases = [
        # a bad reading among good ones: one problem per bad reading, nothing stored
        (
            [good, {**good, "value": "12"}, {**good, "at": old}, {**good, "key": "bad key!"}],
            422,
            [
                ("INVALID", ["readings", "1", "value"]),
                ("INVALID", ["readings", "2", "at"]),
                ("INVALID", ["readings", "3", "key"]),
            ],
        ),
        # unknown serial, B's meter with A's token, no serial: no such meter of the token's organisation
        (
            [
                good,
                {**good, "serialNumber": "99999999"},
                {**good, "serialNumber": "44100050"},
                {"key": "volume", "value": 1},
            ],
            422,
            [
                ("NOT_FOUND", ["readings", "1", "serialNumber"]),
                ("NOT_FOUND", ["readings", "2", "serialNumber"]),
                ("NOT_FOUND", ["readings", "3", "serialNumber"]),
            ],
        ),
        ([good, {**good, "manufacturer": "Someone Else"}], 422, [("NOT_FOUND", ["readings", "1", "serialNumber"])]),
        ([good, "not an object"], 400, [("BAD_REQUEST", None)]),
    ]
    for readings, status, errors in cases:
        response = await client.post("/meters/readings", json={"readings": readings}, headers=bearer(TOKEN_A))
        assert response.status_code == status, response.text
        assert [(e["code"], e["field"]) for e in response.json()["errors"]] == errors
    for content, headers, status in [
        (b"not json", bearer(TOKEN_A), 400),
        (b'{"points": []}', bearer(TOKEN_A), 400),
        (b"volume=1", bearer(TOKEN_A, "text/plain"), 415),
        (b'{"readings": []}', {"Content-Type": "application/json"}, 401),
        (b'{"readings": []}', bearer("fgm_unknown"), 401),
        (b'{"readings": []}', bearer("fgt_a-location-token"), 401),
    ]:
        response = await client.post("/meters/readings", content=content, headers=headers)
        assert response.status_code == status, response.text
    assert await snapshot(runtime) == before


async def test_last_write_wins_per_meter_key_and_time(runtime, world, client):
    seeded = await seed_meters(runtime, world)
    await with_token(runtime, world)
    at = (utcnow() - timedelta(minutes=5)).isoformat()
    earlier = (utcnow() - timedelta(minutes=10)).isoformat()
    reading = {"serialNumber": "33100050", "key": "volume", "at": at}
    response = await client.post(
        "/meters/readings",
        json={"readings": [{**reading, "value": 1.0}, {**reading, "value": 2.0}]},
        headers=bearer(TOKEN_A),
    )
    assert response.json() == {"stored": 1}
    response = await client.post(
        "/meters/readings",
        json={"readings": [{**reading, "value": 3.0}, {**reading, "at": earlier, "value": 2.5}]},
        headers=bearer(TOKEN_A),
    )
    assert response.json() == {"stored": 2}
    meter = seeded.meters["33100050"]
    assert await stored(runtime) == [(meter, None, "volume", "m³", 2.5), (meter, None, "volume", "m³", 3.0)]
    async with runtime.session_factory() as session:
        latest = await session.scalar(
            select(tel.TelemetrySeries.last_value).where(tel.TelemetrySeries.meter_id == meter)
        )
    assert latest == 3.0  # the earlier reading arrived later but did not move the latest back


async def test_parallel_first_readings_make_one_series_and_a_token_is_revoked_once(runtime, world, gql, client):
    seeded = await seed_meters(runtime, world)
    await with_token(runtime, world)
    start = utcnow() - timedelta(hours=1)

    async def send(index: int):
        reading = {"serialNumber": "33100050", "key": "volume", "value": float(index)}
        body = {"readings": [{**reading, "at": (start + timedelta(minutes=index)).isoformat()}]}
        return await client.post("/meters/readings", json=body, headers=bearer(TOKEN_A))

    responses = await burst(runtime, 8, send)
    assert [response.json() for response in responses] == [{"stored": 1}] * 8
    meter = seeded.meters["33100050"]
    assert await stored(runtime) == [(meter, None, "volume", "m³", float(index)) for index in range(8)]

    made = await gql(CREATE, {"input": {"name": "LNS"}}, world.tokens["admin_a"])
    token_id = made["data"]["meterGatewayTokenCreate"]["meterGatewayToken"]["id"]
    await burst(runtime, 8, lambda _: gql(REVOKE, {"id": token_id}, world.tokens["admin_a"]))
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert sorted(actions) == ["meter_gateway_token.created", "meter_gateway_token.revoked"]
