"""Alarms: raised by ingest (POINTS_STORED), repeated, cleared by the clearing filter, duration rule with the
timer, acknowledge and clear by hand (who and when, audit), the alarms query and its counts, the router
offline system alarm, and the statement budget of evaluation (set-based, not per point)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from graph.workers import transaction
from models import alarms as al
from models import remote as r
from models import telemetry as tel
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import OutboxMessage
from resolvers.monitoring.alarms import engine
from resolvers.monitoring.alarms.evaluation import evaluate_points
from resolvers.monitoring.hooks import POINTS_STORED, StoredPoint
from resolvers.monitoring.telemetry.points import PointIn
from resolvers.monitoring.telemetry.rules import store_points as store_telemetry
from resolvers.monitoring.workers import alarm_timer
from resolvers.monitoring.workers.alarm_timer import raise_due
from resolvers.remote.workers.watchdog import mark_silent_routers_offline
from tests.burst import burst
from tests.monitoring.alarm_helpers import (
    ACKNOWLEDGE,
    ALARMS,
    CLEAR,
    COUNTS,
    CREATE,
    DELETE,
    T0,
    pk,
    seconds,
    seed,
    store_points,
)
from tests.remote.helpers import HEARTBEAT

TEMPERATURE = {
    "name": "HIGH_TEMPERATURE",
    "severity": "HIGH",
    "activationFilters": [{"key": "temperature", "condition": "GT", "value": 80}],
    "clearingFilters": [{"key": "temperature", "condition": "LT", "value": 75}],
}
PRESSURE = {
    "name": "LOW_PRESSURE",
    "severity": "MEDIUM",
    "durationSeconds": 60,
    "activationFilters": [{"key": "pressure", "condition": "LT", "value": 1.5}],
    "clearingFilters": [{"key": "pressure", "condition": "GT", "value": 1.8}],
}
EVERY_STATE = {"states": ["ACTIVE_UNACK", "ACTIVE_ACK", "CLEARED_UNACK", "CLEARED_ACK"]}


async def profile(gql, world, ids, given, token="admin_a", tenant="a") -> str:
    result = await gql(
        CREATE, {"input": {**given, "locationGroupIds": [ids[f"group_{tenant}"]]}}, token=world.tokens[token]
    )
    payload = result["data"]["alarmProfileCreate"]
    assert payload["errors"] == [], payload
    return payload["alarmProfile"]["id"]


async def alarms(gql, world, token="admin_a", **filter_) -> dict:
    result = await gql(ALARMS, {"filter": filter_ or None, "first": 50}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["alarms"]


async def test_raised_repeated_and_cleared_by_ingest(runtime, gql, world):
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    plant, device = ids["plant_a"], ids["device_a"]
    await store_points(runtime, [(plant, device, "temperature", T0, 70)])
    assert (await alarms(gql, world))["totalCount"] == 0
    # a batch with an old high value and a newer low one: the newest decides
    await store_points(
        runtime,
        [(plant, device, "temperature", T0 + seconds(2), 70), (plant, device, "temperature", T0 + seconds(1), 95)],
    )
    assert (await alarms(gql, world))["totalCount"] == 0
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(3), 85)])
    raised = (await alarms(gql, world))["nodes"]
    assert [(a["profileName"], a["severity"], a["state"], a["occurrences"], a["lastValue"]) for a in raised] == [
        ("HIGH_TEMPERATURE", "HIGH", "ACTIVE_UNACK", 1, 85.0)
    ]
    assert raised[0]["location"] == {"name": "Plant a"} and raised[0]["device"] == {"name": "HMI Pumpe 1"}
    # a repeat while open updates it; between the thresholds nothing changes
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(4), 88)])
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(5), 78)])
    again = (await alarms(gql, world))["nodes"]
    assert [(a["id"], a["occurrences"], a["lastValue"]) for a in again] == [(raised[0]["id"], 2, 88.0)]
    # the clearing filter clears it automatically (by nobody)
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(6), 74)])
    assert (await alarms(gql, world))["totalCount"] == 0
    cleared = (await alarms(gql, world, states=["CLEARED_UNACK"]))["nodes"]
    assert [(a["id"], a["state"], a["clearedBy"]) for a in cleared] == [(raised[0]["id"], "CLEARED_UNACK", None)]
    # the next activation raises a new alarm; other devices and locations have their own
    await store_points(
        runtime,
        [(plant, device, "temperature", T0 + seconds(7), 81), (plant, None, "temperature", T0 + seconds(7), 90)],
    )
    active = (await alarms(gql, world))["nodes"]
    assert len(active) == 2 and raised[0]["id"] not in {a["id"] for a in active}
    assert {a["device"]["name"] if a["device"] else None for a in active} == {"HMI Pumpe 1", None}


async def test_concurrent_ingests_make_one_open_alarm(runtime, gql, world):
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    plant, device = ids["plant_a"], ids["device_a"]
    await store_points(runtime, [(plant, device, "temperature", T0, 70)])
    await asyncio.gather(
        *(store_points(runtime, [(plant, device, "temperature", T0 + seconds(n), 90 + n)]) for n in range(1, 5))
    )
    async with runtime.session_factory() as session:
        rows = (await session.execute(select(al.Alarm.occurrences))).scalars().all()
    assert rows == [4]


async def test_duration_rule_waits_and_a_break_cancels(runtime, gql, world):
    ids = await seed(runtime, world)
    await profile(gql, world, ids, PRESSURE)
    plant = ids["plant_a"]
    await store_points(runtime, [(plant, None, "pressure", T0, 1.2)])
    assert (await alarms(gql, world))["totalCount"] == 0
    assert await raise_due(runtime, T0 + seconds(30)) == 0
    # broken before the minute is over: the pending start is gone, the timer raises nothing
    await store_points(runtime, [(plant, None, "pressure", T0 + seconds(40), 1.6)])
    assert await raise_due(runtime, T0 + seconds(120)) == 0
    # holds again from 50 s for a minute: raised at 110 s, not at 100 s
    await store_points(runtime, [(plant, None, "pressure", T0 + seconds(50), 1.1)])
    await store_points(runtime, [(plant, None, "pressure", T0 + seconds(70), 1.0)])
    assert await raise_due(runtime, T0 + seconds(100)) == 0
    assert await raise_due(runtime, T0 + seconds(110)) == 1
    assert await raise_due(runtime, T0 + seconds(200)) == 0  # claimed once
    raised = (await alarms(gql, world))["nodes"]
    assert [(a["profileName"], a["severity"], a["lastValue"]) for a in raised] == [("LOW_PRESSURE", "MEDIUM", 1.0)]
    # while open, a value that still holds repeats it at once
    await store_points(runtime, [(plant, None, "pressure", T0 + seconds(130), 0.9)])
    assert (await alarms(gql, world))["nodes"][0]["occurrences"] == 2
    await store_points(runtime, [(plant, None, "pressure", T0 + seconds(140), 1.9)])
    assert (await alarms(gql, world))["totalCount"] == 0


async def test_acknowledge_and_clear_record_who_and_when(runtime, gql, world):
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    await store_points(runtime, [(ids["plant_a"], ids["device_a"], "temperature", T0, 90)])
    alarm_id = (await alarms(gql, world))["nodes"][0]["id"]
    acknowledged = (await gql(ACKNOWLEDGE, {"id": alarm_id}, token=world.tokens["admin_a"]))["data"]["alarmAcknowledge"]
    assert acknowledged["errors"] == []
    assert (acknowledged["alarm"]["state"], acknowledged["alarm"]["acknowledgedBy"]) == (
        "ACTIVE_ACK",
        "admin@a.example",
    )
    again = (await gql(ACKNOWLEDGE, {"id": alarm_id}, token=world.tokens["admin_a"]))["data"]["alarmAcknowledge"]
    assert again == {"alarm": None, "errors": [{"code": "ALREADY_ACKNOWLEDGED", "field": ["id"]}]}
    assert (await alarms(gql, world))["totalCount"] == 0  # the default view: active and unacknowledged
    cleared = (await gql(CLEAR, {"id": alarm_id}, token=world.tokens["admin_a"]))["data"]["alarmClear"]
    assert (cleared["alarm"]["state"], cleared["alarm"]["clearedBy"]) == ("CLEARED_ACK", "admin@a.example")
    again = (await gql(CLEAR, {"id": alarm_id}, token=world.tokens["admin_a"]))["data"]["alarmClear"]
    assert again["errors"] == [{"code": "ALREADY_CLEARED", "field": ["id"]}]
    # a plain user has no ALARMS_HANDLE; another tenant's admin does not see it
    refused = await gql(ACKNOWLEDGE, {"id": alarm_id}, token=world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = (await gql(CLEAR, {"id": alarm_id}, token=world.tokens["admin_b"]))["data"]["alarmClear"]
    assert other["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    async with runtime.session_factory() as session:
        events = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.actor_label)
                .where(AuditEvent.target_type == "Alarm")
                .order_by(AuditEvent.id)
            )
        ).all()
        row = await session.scalar(select(al.Alarm))
    assert events == [("alarm.acknowledged", "admin@a.example"), ("alarm.cleared", "admin@a.example")]
    assert row is not None and row.acknowledged_at is not None and row.cleared_at is not None and row.open_key is None


async def test_eight_parallel_acknowledges_and_clears_each_have_one_winner(runtime, gql, world):
    """Acknowledge and clear are single-use: one conditional UPDATE each decides the winner, the others are told it
    happened already, and the winner alone is recorded."""
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    await store_points(runtime, [(ids["plant_a"], ids["device_a"], "temperature", T0, 90)])
    alarm_id = (await alarms(gql, world))["nodes"][0]["id"]
    for document, root, refusal in (
        (ACKNOWLEDGE, "alarmAcknowledge", "ALREADY_ACKNOWLEDGED"),
        (CLEAR, "alarmClear", "ALREADY_CLEARED"),
    ):
        results = await burst(
            runtime, 8, lambda _, document=document: gql(document, {"id": alarm_id}, token=world.tokens["admin_a"])
        )
        payloads = [result["data"][root] for result in results]
        outcomes = [",".join(e["code"] for e in payload["errors"]) or "OK" for payload in payloads]
        assert sorted(outcomes) == sorted(["OK", *[refusal] * 7]), payloads
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "Alarm"))).all()
    assert sorted(actions) == ["alarm.acknowledged", "alarm.cleared"]


async def test_deleting_a_profile_clears_its_open_alarms_and_keeps_them(runtime, gql, world):
    ids = await seed(runtime, world)
    made = await profile(gql, world, ids, TEMPERATURE)
    await store_points(runtime, [(ids["plant_a"], ids["device_a"], "temperature", T0, 90)])
    deleted = await gql(DELETE, {"input": {"id": made}}, token=world.tokens["admin_a"])
    assert deleted["data"]["alarmProfileDelete"]["errors"] == []
    kept = (await alarms(gql, world, **EVERY_STATE))["nodes"]
    assert [(a["profileName"], a["state"]) for a in kept] == [("HIGH_TEMPERATURE", "CLEARED_UNACK")]


async def test_query_filters_counts_and_visibility(runtime, gql, world):
    ids = await seed(runtime, world)
    temperature = await profile(gql, world, ids, TEMPERATURE)
    await profile(gql, world, ids, {**PRESSURE, "durationSeconds": None})
    await profile(gql, world, ids, TEMPERATURE, token="admin_b", tenant="b")
    await store_points(
        runtime,
        [
            (ids["plant_a"], ids["device_a"], "temperature", T0, 90),
            (ids["plant_a"], None, "pressure", T0, 1.0),
            (ids["plant_b"], ids["device_b"], "temperature", T0, 90),
        ],
    )
    assert (await alarms(gql, world))["totalCount"] == 2
    assert (await alarms(gql, world, severities=["HIGH"]))["totalCount"] == 1
    assert (await alarms(gql, world, profileIds=[temperature]))["totalCount"] == 1
    assert (await alarms(gql, world, locationIds=[ids["depot_a"]]))["totalCount"] == 0
    assert (await alarms(gql, world, to=T0.isoformat()))["totalCount"] == 0
    counts = (await gql(COUNTS, token=world.tokens["admin_a"]))["data"]["alarmCounts"]
    assert counts == {"low": 0, "medium": 1, "high": 1, "total": 2}
    assert (await alarms(gql, world, token="admin_b"))["totalCount"] == 1
    # a plain user sees the alarms of the locations granted to them only
    assert (await alarms(gql, world, token="user_a"))["totalCount"] == 0
    async with runtime.session_factory() as session, session.begin():
        session.add(r.LocationUserAccess(location_id=pk(ids["plant_a"]), user_id=world.users["user_a"].id))
    assert (await alarms(gql, world, token="user_a"))["totalCount"] == 2


async def test_router_offline_raises_the_system_alarm_and_online_clears_it(runtime, gql, world):
    await seed(runtime, world)
    await mark_silent_routers_offline(runtime, T0 + seconds(600), 90)
    raised = (await alarms(gql, world))["nodes"]
    assert sorted((a["profileName"], a["severity"], a["location"]["name"]) for a in raised) == [
        ("ROUTER_OFFLINE", "HIGH", "Plant a"),
        ("ROUTER_OFFLINE", "HIGH", "Plant a1"),
    ]
    assert [a["profileName"] for a in (await alarms(gql, world, token="admin_b"))["nodes"]] == ["ROUTER_OFFLINE"]
    reporter = world.tokens["platform"]
    beat = await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=reporter)
    assert beat["data"]["routerHeartbeat"]["errors"] == [], beat
    assert [a["location"]["name"] for a in (await alarms(gql, world))["nodes"]] == ["Plant a1"]
    states = sorted(a["state"] for a in (await alarms(gql, world, **EVERY_STATE))["nodes"])
    assert states == ["ACTIVE_UNACK", "CLEARED_UNACK"]
    assert (await alarms(gql, world, token="admin_b"))["totalCount"] == 1


async def test_evaluation_is_set_based(runtime, gql, world, count_sql):
    """A batch's statements do not grow with its points, locations or alarms."""
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    await profile(gql, world, ids, {**PRESSURE, "durationSeconds": None})
    plant, device = ids["plant_a"], ids["device_a"]
    await store_points(runtime, [(plant, device, "temperature", T0, 70), (plant, None, "pressure", T0, 1.6)])

    async def evaluate(points) -> int:
        async with transaction(runtime) as session:
            rows = (
                await session.execute(
                    select(tel.TelemetrySeries.key, tel.TelemetrySeries.id, tel.TelemetrySeries.device_id)
                )
            ).all()
            series = {key: (sid, dev) for key, sid, dev in rows}
            stored = [
                StoredPoint(
                    world.organisations["a"].id, pk(plant), series[key][1], series[key][0], key, T0 + seconds(n), value
                )
                for n, (key, value) in enumerate(points, start=1)
            ]
            with count_sql() as counted:
                await evaluate_points(session, stored)
        return counted.count

    few = await evaluate([("temperature", 90), ("pressure", 1.0)])
    many = await evaluate(
        [("temperature", 90 + n % 5) for n in range(5000)] + [("pressure", 1.0 + n % 3 / 10) for n in range(5000)]
    )
    assert many == few <= 8, (few, many)


HISTORY = """query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 50) {
  totalCount nodes { action actor } } }"""


async def test_event_history_by_location(runtime, gql, world):
    """Acknowledge and clear are in the history of the alarm's location (the audit event's location column),
    not in another's; the profile, about several locations, is in no location's."""
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)  # on the group holding Plant a
    await store_points(runtime, [(ids["plant_a"], ids["device_a"], "temperature", T0, 90)])
    alarm_id = (await alarms(gql, world))["nodes"][0]["id"]
    await gql(ACKNOWLEDGE, {"id": alarm_id}, token=world.tokens["admin_a"])
    await gql(CLEAR, {"id": alarm_id}, token=world.tokens["admin_a"])

    async def history(location: str, token="admin_a") -> list[tuple[str, str]]:
        result = await gql(HISTORY, {"filter": {"locationId": ids[location]}}, token=world.tokens[token])
        assert "errors" not in result, result
        return [(n["action"], n["actor"]) for n in result["data"]["auditEvents"]["nodes"]]

    assert await history("plant_a") == [
        ("alarm.cleared", "admin@a.example"),
        ("alarm.acknowledged", "admin@a.example"),
    ]
    assert await history("depot_a") == []
    assert await history("plant_a", token="admin_b") == []  # another tenant's admin sees none of it


async def test_a_batch_over_more_devices_than_a_chunk(runtime, gql, world, count_sql):
    """1,200 devices in one batch (more than a CHUNK): 1,200 alarms and 1,200 pending starts, in a few
    statements (SQLite's limit of bound parameters per statement is kept)."""
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    await profile(gql, world, ids, PRESSURE)
    async with runtime.session_factory() as session, session.begin():
        devices = [
            r.LocationDevice(location_id=pk(ids["plant_a"]), name=f"D{n}", ip_address="10.1.0.1") for n in range(1200)
        ]
        session.add_all(devices)
        await session.flush()
        device_ids = [device.id for device in devices]
    organisation, location = world.organisations["a"].id, pk(ids["plant_a"])
    points = [
        StoredPoint(organisation, location, device, 10_000 + n, "temperature", T0, 90.0)
        for n, device in enumerate(device_ids)
    ]
    points += [
        StoredPoint(organisation, location, device, 20_000 + n, "pressure", T0, 1.0)
        for n, device in enumerate(device_ids)
    ]
    async with transaction(runtime) as session:
        with count_sql() as counted:
            await evaluate_points(session, points)
    async with runtime.session_factory() as session:
        assert len((await session.scalars(select(al.Alarm.id))).all()) == 1200
        assert len((await session.scalars(select(al.AlarmPending.id))).all()) == 1200
    assert counted.count <= 16, counted.count


async def test_old_starts_of_long_durations_do_not_delay_short_ones(runtime, gql, world, monkeypatch):
    ids = await seed(runtime, world)
    await profile(gql, world, ids, {**PRESSURE, "durationSeconds": 86_400})
    level = {**PRESSURE, "name": "HIGH_LEVEL", "activationFilters": [{"key": "level", "condition": "GT", "value": 5}]}
    await profile(gql, world, ids, level)
    monkeypatch.setattr(alarm_timer, "CHUNK", 1)  # one start per round: the oldest must be a due one
    await store_points(runtime, [(ids["plant_a"], None, "pressure", T0, 1.0)])
    await store_points(runtime, [(ids["plant_a"], None, "level", T0 + seconds(10), 9.0)])
    assert await raise_due(runtime, T0 + seconds(100)) == 1
    assert [a["profileName"] for a in (await alarms(gql, world))["nodes"]] == ["HIGH_LEVEL"]


async def ingest(runtime, location: str, points: list[tuple[str | None, str, datetime, float]]) -> None:
    """(device ID or None, key, at, value) through the real ingest rule (last write wins, latest values)."""
    async with transaction(runtime) as session:
        found = await session.get(r.Location, pk(location))
        await store_telemetry(
            session, None, found, [PointIn(key, value, at, device) for device, key, at, value in points]
        )


async def active(gql, world) -> list[tuple[str, int, str, float]]:
    return [
        (a["profileName"], a["occurrences"], a["lastKey"], a["lastValue"]) for a in (await alarms(gql, world))["nodes"]
    ]


HOT_UNDER_PRESSURE = {
    "name": "HOT_UNDER_PRESSURE",
    "severity": "HIGH",
    "activationFilters": [
        {"key": "temperature", "condition": "GT", "value": 80},
        {"key": "pressure", "condition": "NE", "value": 0},
    ],
    "clearingFilters": [{"key": "temperature", "condition": "LT", "value": 75}],
}
VALVE_OPEN = {
    "name": "VALVE_OPEN_WHILE_HOT",
    "severity": "LOW",
    "activationFilters": [
        {"key": "valve", "condition": "EQ", "value": 1},
        {"key": "temperature", "condition": "GT", "value": 80},
    ],
    "clearingFilters": [{"key": "valve", "condition": "EQ", "value": 0}],
}


async def test_every_activation_filter_must_hold_with_missing_keys_from_the_series(runtime, gql, world):
    """Two activation filters (GT and NE; EQ and GT): one holding raises nothing, both do; a key the batch
    lacks is the series' latest value."""
    ids = await seed(runtime, world)
    await profile(gql, world, ids, HOT_UNDER_PRESSURE)
    await profile(gql, world, ids, VALVE_OPEN)
    plant, device = ids["plant_a"], ids["device_a"]
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    await ingest(runtime, plant, [(device, "pressure", start, 0), (device, "valve", start, 0)])
    # temperature alone holds: pressure (0, from its series) is not NE 0, the valve (0) not EQ 1
    await ingest(runtime, plant, [(device, "temperature", start + seconds(1), 90)])
    assert await active(gql, world) == []
    # pressure alone in the batch: the temperature (90) comes from its series, now both filters hold
    await ingest(runtime, plant, [(device, "pressure", start + seconds(2), 2.5)])
    assert await active(gql, world) == [("HOT_UNDER_PRESSURE", 1, "temperature", 90.0)]
    # the valve opens: EQ 1 holds with the temperature of the series
    await ingest(runtime, plant, [(device, "valve", start + seconds(3), 1)])
    assert sorted(await active(gql, world)) == [
        ("HOT_UNDER_PRESSURE", 1, "temperature", 90.0),
        ("VALVE_OPEN_WHILE_HOT", 1, "valve", 1.0),
    ]
    # pressure back to 0 breaks one filter: nothing repeats, and the clearing filter (temperature < 75) does
    # not hold, so the alarm stays open
    await ingest(runtime, plant, [(device, "pressure", start + seconds(4), 0)])
    await ingest(runtime, plant, [(device, "temperature", start + seconds(5), 95)])
    assert sorted(await active(gql, world)) == [
        ("HOT_UNDER_PRESSURE", 1, "temperature", 90.0),
        ("VALVE_OPEN_WHILE_HOT", 2, "valve", 1.0),
    ]
    # the valve closes (EQ 0 clears its alarm); the other holds again when the pressure returns
    await ingest(
        runtime, plant, [(device, "valve", start + seconds(6), 0), (device, "pressure", start + seconds(6), 3)]
    )
    assert await active(gql, world) == [("HOT_UNDER_PRESSURE", 2, "temperature", 95.0)]


async def test_a_resent_or_late_point_does_not_repeat_an_open_alarm(runtime, gql, world, monkeypatch):
    """Last write wins for the same series and time, and a late point only changes history: neither counts an
    occurrence, sends an UPDATED event or a change mail, nor clears; a newer point does."""
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    setting = await gql(
        NOTIFY, {"input": {"userId": world.id("User", "admin_a"), "onChange": True}}, token=world.tokens["admin_a"]
    )
    assert setting["data"]["alarmNotificationSettingSet"]["errors"] == []
    events: list[str] = []
    publish = engine.publish_after_commit

    def record(session, channel, event) -> None:
        events.append(event["kind"])
        publish(session, channel, event)

    monkeypatch.setattr(engine, "publish_after_commit", record)
    plant, device = ids["plant_a"], ids["device_a"]
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    await ingest(runtime, plant, [(device, "temperature", start + seconds(10), 85)])
    assert (await active(gql, world), events, await mails(runtime)) == (
        [("HIGH_TEMPERATURE", 1, "temperature", 85.0)],
        ["RAISED"],
        1,
    )
    await ingest(runtime, plant, [(device, "temperature", start + seconds(10), 85)])  # the same point again
    await ingest(runtime, plant, [(device, "temperature", start + seconds(5), 95)])  # late, activation holds
    await ingest(runtime, plant, [(device, "temperature", start + seconds(6), 70)])  # late, clearing holds
    # a batch of late and re-sent points together with another series' newer point
    await ingest(
        runtime,
        plant,
        [
            (device, "temperature", start + seconds(7), 99),
            (device, "temperature", start + seconds(10), 85),
            (device, "flow", start + seconds(11), 3),
        ],
    )
    assert (await active(gql, world), events, await mails(runtime)) == (
        [("HIGH_TEMPERATURE", 1, "temperature", 85.0)],
        ["RAISED"],
        1,
    )
    async with runtime.session_factory() as session:  # history has the late points
        stored = (
            await session.scalars(
                select(tel.TelemetryPoint.value)
                .join(tel.TelemetrySeries, tel.TelemetrySeries.id == tel.TelemetryPoint.series_id)
                .where(tel.TelemetrySeries.key == "temperature")
                .order_by(tel.TelemetryPoint.at)
            )
        ).all()
    assert stored == [95, 70, 99, 85]
    # a newer point repeats it
    await ingest(runtime, plant, [(device, "temperature", start + seconds(12), 88)])
    assert (await active(gql, world), events, await mails(runtime)) == (
        [("HIGH_TEMPERATURE", 2, "temperature", 88.0)],
        ["RAISED", "UPDATED"],
        2,
    )


NOTIFY = """mutation($input: AlarmNotificationSettingSetInput!) {
  alarmNotificationSettingSet(input: $input) { errors { code field } } }"""


async def mails(runtime) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage))


async def test_racing_ingests_repeat_once_per_point_that_advanced(runtime, gql, world):
    """Eight ingests of one series at once, in any commit order: only a point later than the latest value as
    committed before it counts (the series are locked and read by the statement that moves them), and the
    newest one is always among them."""
    ids = await seed(runtime, world)
    await profile(gql, world, ids, TEMPERATURE)
    plant, device = ids["plant_a"], ids["device_a"]
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    await ingest(runtime, plant, [(device, "temperature", start, 85)])
    advanced: list[StoredPoint] = []

    async def seen(session, points) -> None:
        advanced.extend(point for point in points if point.advances)

    async def at_once(n: int) -> None:
        await ingest(runtime, plant, [(device, "temperature", start + seconds(n + 1), 90 + n)])

    POINTS_STORED.register(seen)
    try:
        await burst(runtime, 8, at_once)
    finally:
        POINTS_STORED._handlers.remove(seen)
    assert 1 <= len(advanced) <= 8 and max(point.value for point in advanced) == 97
    assert await active(gql, world) == [("HIGH_TEMPERATURE", 1 + len(advanced), "temperature", 97.0)]
