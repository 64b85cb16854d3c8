"""Binding meters to metering points by serial number + PIN or by the QR payload: what each refusal tells,
the rate limit on wrong PINs, single use under concurrency (one conditional UPDATE decides), unbinding."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from graph.errors import DomainError
from graph.relay import to_global_id
from models import identity as m
from models import metering as mt
from resolvers.metering.points.binding import credentials
from tests.burst import burst
from tests.factories import METER_PIN, add_meter, add_metering_point, add_organisation, add_user, issue_token, snapshot
from tests.metering.helpers import BIND, DELETE, UNBIND


@pytest.fixture
async def points(runtime, consumers):
    """olga's and ivan's points without meters, and three meters with PINs (one of them another model)."""
    async with runtime.session_factory() as session, session.begin():
        olga = await add_metering_point(
            session, consumers.organisation.id, "Olga bathroom", owner_id=consumers.users["olga"].id
        )
        ivan = await add_metering_point(
            session, consumers.organisation.id, "Ivan kitchen", owner_id=consumers.users["ivan"].id
        )
        for serial in ("33100050", "33100051"):
            await add_meter(session, serial)
        await add_meter(session, "33100060", model="VSGM-15 IWAN")
        await add_meter(session, "33100099", pin_hash=None)  # no PIN in the catalogue: not bindable
    return {"olga": to_global_id("MeteringPoint", olga.id), "ivan": to_global_id("MeteringPoint", ivan.id)}


def throttle(monkeypatch, runtime, **values) -> None:
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, **values))


async def bind(gql, token: str, point_id: str, **given) -> dict:
    response = await gql(BIND, {"input": {"meteringPointId": point_id, **given}}, token=token)
    return response["data"]["meterBind"]


def codes(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_binding_by_serial_and_pin_shows_serial_model_and_network(gql, consumers, points):
    payload = await bind(gql, consumers.tokens["olga"], points["olga"], serialNumber="33100050", pin=METER_PIN)
    assert payload["errors"] == []
    assert payload["meteringPoint"]["meter"] == {
        "serialNumber": "33100050",
        "manufacturer": "DECAST",
        "model": "VSKM-15 IWAN",
        "network": "NB-IoT",
        "displayName": "33100050 DECAST VSKM-15 IWAN (NB-IoT)",
    }


async def test_binding_by_qr_payload(gql, consumers, points):
    qr = f"fleetgraph:meter?sn=33100060&pin={METER_PIN}"
    payload = await bind(gql, consumers.tokens["olga"], points["olga"], qr=qr)
    assert payload["errors"] == []
    assert payload["meteringPoint"]["meter"]["displayName"] == "33100060 DECAST VSGM-15 IWAN (NB-IoT)"


@pytest.mark.parametrize(
    "qr",
    [
        "fleetgraph:meter?pin=482913&sn=33100050",  # the order is part of the format
        "fleetgraph:meter?sn=33100050&pin=482913&x=1",
        "fleetgraph:meter?sn=33100050",
        "fleetgraph:meter?sn=33100050&pin=482",  # 4 to 8 digits
        "fleetgraph:meter?sn=33%3100050&pin=482913",
        "https://example.com/meter?sn=33100050&pin=482913",
        "FLEETGRAPH:METER?SN=33100050&PIN=482913",
        "fleetgraph:meter?sn=33100050&pin=482913" + "0" * 300,
        "",
    ],
)
def test_the_qr_payload_is_parsed_strictly(qr):
    with pytest.raises(DomainError) as refused:
        credentials(None, None, qr)
    assert (refused.value.code.name, refused.value.field) == ("INVALID", ["qr"])


def test_the_qr_payload_gives_serial_and_pin():
    given = credentials(None, None, " fleetgraph:meter?sn=33100050&pin=482913 ")
    assert (given.serial_number, given.pin, given.field) == ("33100050", "482913", "qr")
    assert "482913" not in repr(given)


async def test_unknown_serial_wrong_pin_and_no_pin_answer_alike(gql, runtime, consumers, points):
    olga = consumers.tokens["olga"]
    answers = [
        await bind(gql, olga, points["olga"], serialNumber="77777777", pin=METER_PIN),
        await bind(gql, olga, points["olga"], serialNumber="33100050", pin="000000"),
        await bind(gql, olga, points["olga"], serialNumber="33100099", pin=METER_PIN),
    ]
    assert all(answer == answers[0] for answer in answers)
    assert codes(answers[0]) == [("NOT_FOUND", ["pin"])]
    async with runtime.session_factory() as session:
        assert (
            await session.scalar(select(mt.MeteringPoint.meter_id).where(mt.MeteringPoint.room_name == "Olga bathroom"))
        ) is None


async def test_already_bound_is_told_only_after_the_correct_pin(gql, consumers, points):
    olga, ivan = consumers.tokens["olga"], consumers.tokens["ivan"]
    assert (await bind(gql, olga, points["olga"], serialNumber="33100050", pin=METER_PIN))["errors"] == []
    wrong = await bind(gql, ivan, points["ivan"], serialNumber="33100050", pin="111111")
    assert codes(wrong) == [("NOT_FOUND", ["pin"])]
    right = await bind(gql, ivan, points["ivan"], serialNumber="33100050", pin=METER_PIN)
    assert codes(right) == [("ALREADY_BOUND", ["pin"])]
    # binding it again to the same point changes nothing; a second meter needs an unbind first
    again = await bind(gql, olga, points["olga"], serialNumber="33100050", pin=METER_PIN)
    assert again["errors"] == [] and again["meteringPoint"]["meter"]["serialNumber"] == "33100050"
    second = await bind(gql, olga, points["olga"], serialNumber="33100051", pin=METER_PIN)
    assert codes(second) == [("NOT_ALLOWED", ["meteringPointId"])]


async def test_malformed_input_is_invalid_and_not_counted(gql, runtime, consumers, points):
    olga = consumers.tokens["olga"]
    before = await snapshot(runtime)
    cases = [
        ({}, ("REQUIRED", ["serialNumber"])),
        ({"serialNumber": "33100050"}, ("INVALID", ["pin"])),
        ({"serialNumber": "33 100050", "pin": METER_PIN}, ("INVALID", ["serialNumber"])),
        ({"serialNumber": "33100050", "pin": "12ab56"}, ("INVALID", ["pin"])),
        ({"qr": "fleetgraph:meter?sn=1&pin=1234", "serialNumber": "1"}, ("INVALID", ["qr"])),
    ]
    for given, expected in cases:
        assert codes(await bind(gql, olga, points["olga"], **given)) == [expected], given
    assert await snapshot(runtime) == before


async def test_a_consumer_cannot_bind_to_or_unbind_another_consumers_point(gql, runtime, consumers, points):
    ivan = consumers.tokens["ivan"]
    unknown = to_global_id("MeteringPoint", 999_999)
    before = await snapshot(runtime)
    other = await bind(gql, ivan, points["olga"], serialNumber="33100050", pin=METER_PIN)
    absent = await bind(gql, ivan, unknown, serialNumber="33100050", pin=METER_PIN)
    assert other == absent and codes(other) == [("NOT_FOUND", ["meteringPointId"])]
    other = (await gql(UNBIND, {"input": {"meteringPointId": points["olga"]}}, token=ivan))["data"]["meterUnbind"]
    absent = (await gql(UNBIND, {"input": {"meteringPointId": unknown}}, token=ivan))["data"]["meterUnbind"]
    assert other == absent and codes(other) == [("NOT_FOUND", ["meteringPointId"])]
    assert await snapshot(runtime) == before  # nothing counted, nothing bound


async def test_wrong_pins_are_rate_limited_per_meter_and_per_caller(gql, runtime, monkeypatch, consumers, points):
    throttle(monkeypatch, runtime, login_slowdown_after=3, login_lock_after=3, login_lock_seconds=900)
    olga, ivan = consumers.tokens["olga"], consumers.tokens["ivan"]
    for pin in ("000001", "000002", "000003"):
        assert codes(await bind(gql, olga, points["olga"], serialNumber="33100050", pin=pin)) == [
            ("NOT_FOUND", ["pin"])
        ]
    # locked for olga (any meter, even with the right PIN) and for the meter (anyone, even with the right PIN)
    locked = await bind(gql, olga, points["olga"], serialNumber="33100051", pin=METER_PIN)
    assert codes(locked) == [("TOO_MANY", ["pin"])]
    locked = await bind(gql, ivan, points["ivan"], serialNumber="33100050", pin=METER_PIN)
    assert codes(locked) == [("TOO_MANY", ["pin"])]
    # another caller and another meter are not affected
    assert (await bind(gql, ivan, points["ivan"], serialNumber="33100051", pin=METER_PIN))["errors"] == []


async def test_parallel_wrong_pins_are_all_counted(gql, runtime, monkeypatch, consumers, points):
    throttle(monkeypatch, runtime, login_slowdown_after=3, login_lock_after=3, login_lock_seconds=900)
    olga = consumers.tokens["olga"]
    answers = await burst(
        runtime, 10, lambda i: bind(gql, olga, points["olga"], serialNumber="33100050", pin=f"{i:06d}")
    )
    found = [codes(answer)[0][0] for answer in answers]
    assert found.count("NOT_FOUND") == 3 and found.count("TOO_MANY") == 7


async def test_one_of_many_parallel_binds_of_a_meter_wins(gql, runtime, monkeypatch, world, consumers):
    """Ten consumers bind the same meter to their own points at once: exactly one point gets it."""
    throttle(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)  # all ten reach the UPDATE
    async with runtime.session_factory() as session, session.begin():
        organisation = await add_organisation(session, "Many consumers", world.organisations["a"])
        tokens, point_ids = [], []
        for index in range(10):
            user = await add_user(session, organisation, f"c{index}@consumer.example", [m.Role.CONSUMER])
            point = await add_metering_point(session, organisation.id, f"Flat {index}", owner_id=user.id)
            tokens.append(await issue_token(session, user))
            point_ids.append(to_global_id("MeteringPoint", point.id))
        await add_meter(session, "33100777")
    answers = await burst(
        runtime, 10, lambda i: bind(gql, tokens[i], point_ids[i], serialNumber="33100777", pin=METER_PIN)
    )
    won = [answer for answer in answers if answer["errors"] == []]
    assert len(won) == 1
    assert sorted(codes(answer)[0][0] for answer in answers if answer["errors"]) == ["ALREADY_BOUND"] * 9
    async with runtime.session_factory() as session:
        bound = (await session.scalars(select(mt.MeteringPoint.id).where(mt.MeteringPoint.meter_id.is_not(None)))).all()
    assert len(bound) == 1


async def test_unbinding_frees_the_meter_and_deleting_the_point_too(gql, consumers, points):
    olga, ivan = consumers.tokens["olga"], consumers.tokens["ivan"]
    assert (await bind(gql, olga, points["olga"], serialNumber="33100050", pin=METER_PIN))["errors"] == []
    unbound = (await gql(UNBIND, {"input": {"meteringPointId": points["olga"]}}, token=olga))["data"]["meterUnbind"]
    assert unbound["errors"] == [] and unbound["meteringPoint"]["meter"] is None
    assert (await bind(gql, ivan, points["ivan"], serialNumber="33100050", pin=METER_PIN))["errors"] == []
    await gql(DELETE, {"input": {"id": points["ivan"]}}, token=ivan)
    assert (await bind(gql, olga, points["olga"], serialNumber="33100050", pin=METER_PIN))["errors"] == []
