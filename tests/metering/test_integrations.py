"""Integrations through the API: create, update, delete and list per point, each kind's fields and typed errors,
the account number a settlement centre needs, the sealed webhook secret, consumers' isolation, synchronise."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from graph.relay import to_global_id
from models import metering as mt
from tests.factories import snapshot
from tests.metering.helpers import UPDATE as POINT_UPDATE
from tests.metering.integrations_helpers import (
    CREATE,
    DELETE,
    LIST,
    NODE,
    RUNS,
    SECRET,
    SYNCHRONISE,
    UPDATE,
    Receiver,
    pin_schedule_clock,
    point_id,
    seed_points,
    serve,
)


@pytest.fixture
async def seeded(runtime, world):
    return await seed_points(runtime, world)


def portal(point: str, **fields) -> dict:
    return {
        "meteringPointId": point,
        "kind": "CITY_PORTAL",
        "nextTransferDate": "2030-03-25",
        "periodicity": "MONTHLY",
        "cityPortal": {"payerId": "2919282910", "apartment": "203", **fields},
    }


async def create(gql, token: str, data: dict) -> dict:
    return (await gql(CREATE, {"input": data}, token))["data"]["integrationCreate"]


async def test_city_portal_integration_is_created_listed_masked_and_updated(gql, seeded, monkeypatch):
    pin_schedule_clock(monkeypatch)
    anna = seeded.tokens["anna"]
    created = await create(gql, anna, portal(point_id(seeded, "anna"), responsiblePerson="Мартынов Артём Дмитриевич"))
    assert created["errors"] == []
    integration = created["integration"]
    assert integration["kind"] == "CITY_PORTAL" and integration["periodicity"] == "MONTHLY"
    assert integration["nextTransferDate"] == "2030-03-25" and integration["timeOfDay"] == "10:00"
    # 10:00 in Moscow (UTC+3)
    assert integration["nextTransferAt"].startswith("2030-03-25T07:00:00")
    assert integration["cityPortal"] == {
        "payerId": "2919282910",
        "apartment": "203",
        "responsiblePerson": "М***в Артём Дмитриевич",
    }
    listed = (await gql(LIST, {"id": point_id(seeded, "anna")}, anna))["data"]["integrations"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["id"] == integration["id"]

    changed = (
        await gql(UPDATE, {"input": {"id": integration["id"], "periodicity": "DAILY", "timeOfDay": "21:30"}}, anna)
    )["data"]["integrationUpdate"]
    assert changed["errors"] == []
    assert changed["integration"]["periodicity"] == "DAILY" and changed["integration"]["timeOfDay"] == "21:30"
    assert changed["integration"]["nextTransferAt"].startswith("2030-03-25T18:30:00")
    assert changed["integration"]["cityPortal"]["payerId"] == "2919282910"  # fields left out stay


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"cityPortal": {"payerId": "KOD-1", "apartment": "1"}}, "INVALID", ["cityPortal", "payerId"]),
        ({"cityPortal": {"payerId": "2919282910", "apartment": " "}}, "REQUIRED", ["cityPortal", "apartment"]),
        ({"cityPortal": None}, "REQUIRED", "cityPortal"),
        ({"cityPortal": None, "webhook": {"url": "https://x.example/h", "secret": SECRET}}, "INVALID", "webhook"),
        ({"timeOfDay": "25:00"}, "INVALID", "timeOfDay"),
        ({"nextTransferDate": "9999-12-31"}, "INVALID", "nextTransferDate"),
    ],
)
async def test_bad_input_gets_a_typed_error_and_stores_nothing(runtime, gql, seeded, data, code, field):
    answer = await create(gql, seeded.tokens["anna"], {**portal(point_id(seeded, "anna")), **data})
    assert answer["integration"] is None
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [
        (code, field if isinstance(field, list) else [field])
    ]
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(mt.Integration))).all() == []


async def test_settlement_centres_need_the_account_number(runtime, gql, seeded):
    async with runtime.session_factory() as session, session.begin():
        point = await session.get(mt.MeteringPoint, seeded.points["anna"])
        point.account_number = None
    anna = seeded.tokens["anna"]
    for kind, fields in (
        ("CITY_PORTAL", {"cityPortal": {"payerId": "2919282910", "apartment": "203"}}),
        ("STATE_HOUSING", {"stateHousing": {"unifiedAccountNumber": "12AB345678"}}),
        ("UTILITY", {"utility": {"subscriberNumber": "55512345"}}),
    ):
        data = {**portal(point_id(seeded, "anna")), "kind": kind, "cityPortal": None, **fields}
        answer = await create(gql, anna, data)
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [("ACCOUNT_NUMBER_REQUIRED", ["meteringPointId"])]
    email = {
        "meteringPointId": point_id(seeded, "anna"),
        "kind": "EMAIL",
        "nextTransferDate": "2030-01-20",
        "periodicity": "WEEKLY",
        "email": {"recipient": "uk@management.example"},
    }
    assert (await create(gql, anna, email))["errors"] == []


async def test_the_webhook_secret_is_sealed_and_never_returned(runtime, gql, seeded):
    data = {
        "meteringPointId": point_id(seeded, "anna"),
        "kind": "WEBHOOK",
        "nextTransferDate": "2030-01-20",
        "periodicity": "DAILY",
        "webhook": {"url": "https://hooks.example/readings", "secret": SECRET},
    }
    answer = await create(gql, seeded.tokens["anna"], data)
    assert answer["integration"]["webhook"] == {"url": "https://hooks.example/readings", "secretSet": True}
    assert SECRET not in str(answer)
    async with runtime.session_factory() as session:
        row = (await session.scalars(select(mt.Integration))).one()
    assert SECRET.encode() not in row.secret and row.secret_version == runtime.sealer.version
    short = {**data, "webhook": {"url": "https://hooks.example/readings", "secret": "short"}}
    assert [e["field"] for e in (await create(gql, seeded.tokens["anna"], short))["errors"]] == [["webhook", "secret"]]


async def test_a_consumer_sees_and_changes_only_their_own_points_integrations(gql, seeded, world):
    created = (await create(gql, seeded.tokens["anna"], portal(point_id(seeded, "anna"))))["integration"]
    boris = seeded.tokens["boris"]
    assert (await gql(LIST, {"id": point_id(seeded, "anna")}, boris))["data"]["integrations"]["totalCount"] == 0
    assert (await gql(NODE, {"id": created["id"]}, boris))["data"]["node"] is None
    assert (await gql(RUNS, {"id": created["id"]}, boris))["data"]["integrationRuns"]["totalCount"] == 0
    for document, name in (
        (UPDATE, "integrationUpdate"),
        (DELETE, "integrationDelete"),
        (SYNCHRONISE, "integrationSynchronise"),
    ):
        answer = (await gql(document, {"input": {"id": created["id"]}}, boris))["data"][name]
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [("NOT_FOUND", ["id"])]
    assert [e["code"] for e in (await create(gql, boris, portal(point_id(seeded, "anna"))))["errors"]] == ["NOT_FOUND"]
    # tenant A's staff see their consumers' integrations
    staff = (await gql(LIST, {"id": point_id(seeded, "anna")}, world.tokens["admin_a"]))["data"]["integrations"]
    assert staff["totalCount"] == 1
    deleted = (await gql(DELETE, {"input": {"id": created["id"]}}, seeded.tokens["anna"]))["data"]["integrationDelete"]
    assert deleted == {"deletedId": created["id"], "errors": []}


async def test_synchronise_answers_delivered_device_not_found_and_failed(runtime, gql, seeded):
    receiver = Receiver(script=["missing", "bad"])
    async with serve(receiver.app()) as url:
        runtime.settings = replace(runtime.settings, metering_city_portal_url=url)
        try:
            anna = seeded.tokens["anna"]
            integration = (await create(gql, anna, portal(point_id(seeded, "anna"))))["integration"]
            results = []
            for _ in range(3):
                answer = (await gql(SYNCHRONISE, {"input": {"id": integration["id"]}}, anna))["data"]
                results.append(answer["integrationSynchronise"])
        finally:
            runtime.settings = replace(runtime.settings, metering_city_portal_url="https://portal.invalid/api")
    assert [r["result"] for r in results] == ["DEVICE_NOT_FOUND", "FAILED", "DELIVERED"]
    assert results[0]["reason"] is None and results[0]["integration"]["retryingDeviceNotFound"] is True
    assert results[1]["reason"] == "The city portal answered 422." and results[1]["run"]["status"] == "FAILED"
    assert results[2]["run"]["trigger"] == "SYNCHRONISE" and len(results[2]["run"]["payloadDigest"]) == 64
    (body,) = [b for bodies in receiver.bodies.values() for b in bodies]
    assert body["reading"] == {"key": "volume", "value": 123.5, "unit": "m³", "at": "2026-12-01T06:00:00Z"}
    assert body["fields"] == {"payerId": "2919282910", "apartment": "203"}
    assert body["meteringPoint"]["accountNumber"] == "7712345678"
    runs = (await gql(RUNS, {"id": integration["id"], "first": 10}, anna))["data"]["integrationRuns"]
    assert [n["status"] for n in runs["nodes"]] == ["DELIVERED", "FAILED", "DEVICE_NOT_FOUND"]  # newest first
    shown = (await gql(NODE, {"id": integration["id"]}, anna))["data"]["node"]
    assert shown["cityPortal"]["responsiblePerson"] == "М***в Артём Дмитриевич"
    assert to_global_id("Integration", 0) != integration["id"]


async def test_rotate_master_key_reseals_webhook_secrets(runtime, gql, seeded):
    from graph.secrets import Sealer, reseal_all
    from resolvers.metering.integrations.fields import open_secret
    from resolvers.metering.key_rotation import INTEGRATION_SECRETS

    data = {
        "meteringPointId": point_id(seeded, "anna"),
        "kind": "WEBHOOK",
        "nextTransferDate": "2030-01-20",
        "periodicity": "DAILY",
        "webhook": {"url": "https://hooks.example/readings", "secret": SECRET},
    }
    assert (await create(gql, seeded.tokens["anna"], data))["errors"] == []
    sealer = Sealer(runtime.sealer.keyring.with_new_version())
    report = await reseal_all(runtime.session_factory, sealer, [INTEGRATION_SECRETS])
    assert report.resealed == {"integration secrets": 1} and report.failed == []
    async with runtime.session_factory() as session:
        row = (await session.scalars(select(mt.Integration))).one()
    assert row.secret_version == sealer.version and open_secret(sealer, row.id, row.secret) == SECRET
    assert (await reseal_all(runtime.session_factory, sealer, [INTEGRATION_SECRETS])).resealed == {
        "integration secrets": 0
    }


async def test_without_the_account_number_a_settlement_integration_can_be_turned_off_not_on(runtime, gql, seeded):
    anna = seeded.tokens["anna"]
    integration = (await create(gql, anna, portal(point_id(seeded, "anna"))))["integration"]
    async with runtime.session_factory() as session, session.begin():
        point = await session.get(mt.MeteringPoint, seeded.points["anna"])
        point.account_number = None
    off = (await gql(UPDATE, {"input": {"id": integration["id"], "enabled": False}}, anna))["data"]["integrationUpdate"]
    assert off["errors"] == [] and off["integration"]["enabled"] is False
    on = (await gql(UPDATE, {"input": {"id": integration["id"], "enabled": True}}, anna))["data"]["integrationUpdate"]
    assert [e["code"] for e in on["errors"]] == ["ACCOUNT_NUMBER_REQUIRED"] and on["integration"] is None


async def test_the_account_number_stays_while_an_enabled_settlement_integration_needs_it(runtime, gql, seeded):
    anna, point = seeded.tokens["anna"], point_id(seeded, "anna")
    integration = (await create(gql, anna, portal(point)))["integration"]
    before = await snapshot(runtime)
    for cleared in (None, "   "):
        answer = await gql(
            POINT_UPDATE,
            {
                "input": {
                    "id": point,
                    "accountNumber": cleared,
                    "roomName": "Renamed",
                    "addressHandle": "SAMPLE:msk-0001",
                }
            },
            anna,
        )
        refused = answer["data"]["meteringPointUpdate"]
        assert refused["meteringPoint"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("ACCOUNT_NUMBER_REQUIRED", ["accountNumber"])]
    assert await snapshot(runtime) == before
    # other changes still go through, and once the integration is off the number may go
    renamed = await gql(POINT_UPDATE, {"input": {"id": point, "roomName": "Renamed"}}, anna)
    assert renamed["data"]["meteringPointUpdate"]["errors"] == []
    off = await gql(UPDATE, {"input": {"id": integration["id"], "enabled": False}}, anna)
    assert off["data"]["integrationUpdate"]["errors"] == []
    cleared = await gql(POINT_UPDATE, {"input": {"id": point, "accountNumber": None}}, anna)
    assert cleared["data"]["meteringPointUpdate"]["errors"] == []
    assert cleared["data"]["meteringPointUpdate"]["meteringPoint"]["accountNumber"] is None


async def test_a_new_time_zone_keeps_the_next_transfers_local_date_and_time(gql, seeded, monkeypatch):
    pin_schedule_clock(monkeypatch)
    anna = seeded.tokens["anna"]
    integration = (await create(gql, anna, portal(point_id(seeded, "anna"))))["integration"]
    moved = await gql(POINT_UPDATE, {"input": {"id": point_id(seeded, "anna"), "timeZone": "Europe/Berlin"}}, anna)
    assert moved["data"]["meteringPointUpdate"]["errors"] == []
    shown = (await gql(NODE, {"id": integration["id"]}, anna))["data"]["node"]
    # 25 March 2030 10:00 in Berlin (CET, before the change on the 31st)
    assert shown["nextTransferDate"] == "2030-03-25" and shown["nextTransferAt"].startswith("2030-03-25T09:00:00")
