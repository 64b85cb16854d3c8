"""Metering points over GraphQL: create, update, delete, list with filters, node; consumers keep their own
points and never see another consumer's; staff keep their organisation's and see their subtree's."""

from __future__ import annotations

from sqlalchemy import func, select

from graph.relay import to_global_id
from models import metering as mt
from models.audit import AuditEvent
from tests.factories import add_metering_point, snapshot
from tests.metering.helpers import CREATE, DELETE, LIST, NODE, UPDATE

MOSCOW = "SAMPLE:msk-0001"
BERLIN = "SAMPLE:ber-0001"


def point_input(**extra) -> dict:
    return {"resource": "COLD_WATER", "roomName": "Flat 16 bathroom", "timeZone": "Europe/Moscow", **extra}


async def create(gql, token: str, **extra) -> dict:
    response = await gql(CREATE, {"input": point_input(**extra)}, token=token)
    return response["data"]["meteringPointCreate"]


async def test_a_consumer_creates_their_own_point_with_a_structured_address(gql, runtime, consumers):
    payload = await create(gql, consumers.tokens["olga"], addressHandle=MOSCOW, accountNumber=" 7712345678 ")
    assert payload["errors"] == []
    point = payload["meteringPoint"]
    assert point["own"] is True and point["meter"] is None
    assert point["accountNumber"] == "7712345678" and point["timeZone"] == "Europe/Moscow"
    address = point["address"]
    assert address["handle"] == MOSCOW and address["source"] == "SAMPLE"
    assert address["city"] == "Москва" and address["country"] == "Россия" and address["house"]
    assert address["postcode"] and address["latitude"] and address["longitude"] and address["displayName"]
    async with runtime.session_factory() as session:
        row = await session.scalar(select(mt.MeteringPoint))
        assert row.owner_id == consumers.users["olga"].id and row.organisation_id == consumers.organisation.id
        assert (
            await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "metering_point.created")
            )
            == 1
        )


async def test_an_address_is_stored_once_per_source_and_external_id(gql, runtime, consumers):
    for token in (consumers.tokens["olga"], consumers.tokens["ivan"], consumers.tokens["olga"]):
        assert (await create(gql, token, addressHandle=BERLIN, timeZone="Europe/Berlin"))["errors"] == []
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(mt.Address)) == 1


async def test_bad_input_gets_typed_errors_and_changes_nothing(gql, runtime, consumers):
    token = consumers.tokens["olga"]
    before = await snapshot(runtime)
    cases = [
        ({"timeZone": "Mars/Olympus_Mons"}, ("INVALID", ["timeZone"])),
        ({"timeZone": "../../etc/passwd"}, ("INVALID", ["timeZone"])),
        ({"roomName": "  "}, ("REQUIRED", ["roomName"])),
        ({"roomName": "x" * 201}, ("TOO_LONG", ["roomName"])),
        ({"roomName": "Flat\n16"}, ("INVALID", ["roomName"])),
        ({"accountNumber": "1" * 51}, ("TOO_LONG", ["accountNumber"])),
        ({"addressHandle": "nonsense"}, ("INVALID", ["addressHandle"])),
        ({"addressHandle": "SAMPLE:msk-9999"}, ("NOT_FOUND", ["addressHandle"])),
        ({"addressHandle": "NOMINATIM:W1"}, ("NOT_FOUND", ["addressHandle"])),  # the embedded directory has none
    ]
    for extra, (code, field) in cases:
        payload = await create(gql, token, **extra)
        assert payload["meteringPoint"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], extra
    assert await snapshot(runtime) == before


async def test_update_changes_what_is_given_and_clears_what_is_null(gql, runtime, consumers):
    token = consumers.tokens["olga"]
    point = (await create(gql, token, addressHandle=MOSCOW, accountNumber="42"))["meteringPoint"]
    response = await gql(
        UPDATE,
        {"input": {"id": point["id"], "resource": "HOT_WATER", "timeZone": "Europe/Berlin", "accountNumber": None}},
        token=token,
    )
    updated = response["data"]["meteringPointUpdate"]["meteringPoint"]
    assert updated["resource"] == "HOT_WATER" and updated["timeZone"] == "Europe/Berlin"
    assert updated["accountNumber"] is None
    assert updated["roomName"] == "Flat 16 bathroom" and updated["address"]["handle"] == MOSCOW
    response = await gql(UPDATE, {"input": {"id": point["id"], "addressHandle": BERLIN}}, token=token)
    assert response["data"]["meteringPointUpdate"]["meteringPoint"]["address"]["city"] == "Berlin"
    response = await gql(UPDATE, {"input": {"id": point["id"], "addressHandle": None}}, token=token)
    assert response["data"]["meteringPointUpdate"]["meteringPoint"]["address"] is None
    before = await snapshot(runtime)
    response = await gql(UPDATE, {"input": {"id": point["id"], "timeZone": "Moscow"}}, token=token)
    assert [e["code"] for e in response["data"]["meteringPointUpdate"]["errors"]] == ["INVALID"]
    assert await snapshot(runtime) == before


async def test_a_consumer_never_reaches_another_consumers_point(gql, runtime, consumers):
    olga, ivan = consumers.tokens["olga"], consumers.tokens["ivan"]
    point = (await create(gql, olga, roomName="Olga's kitchen"))["meteringPoint"]
    unknown = to_global_id("MeteringPoint", 999_999)
    before = await snapshot(runtime)

    assert (await gql(LIST, {}, token=ivan))["data"]["meteringPoints"]["totalCount"] == 0
    assert (await gql(NODE, {"id": point["id"]}, token=ivan))["data"]["node"] is None
    for document, root, variables in (
        (UPDATE, "meteringPointUpdate", {"roomName": "Mine now"}),
        (DELETE, "meteringPointDelete", {}),
    ):
        other = await gql(document, {"input": {"id": point["id"], **variables}}, token=ivan)
        absent = await gql(document, {"input": {"id": unknown, **variables}}, token=ivan)
        assert other["data"][root]["errors"] == absent["data"][root]["errors"]
        assert [e["code"] for e in other["data"][root]["errors"]] == ["NOT_FOUND"]
    assert await snapshot(runtime) == before
    # olga herself still has it, unchanged
    nodes = (await gql(LIST, {}, token=olga))["data"]["meteringPoints"]["nodes"]
    assert [n["roomName"] for n in nodes] == ["Olga's kitchen"]


async def test_staff_see_their_subtrees_points_and_consumers_only_their_own(gql, runtime, world, consumers):
    admin_a = world.tokens["admin_a"]
    staff_point = (await create(gql, admin_a, roomName="Boiler room"))["meteringPoint"]
    assert staff_point["own"] is False
    await create(gql, consumers.tokens["olga"], roomName="Flat 16 bathroom")
    await create(gql, consumers.tokens["ivan"], roomName="Flat 3 kitchen")

    staff_sees = (await gql(LIST, {}, token=admin_a))["data"]["meteringPoints"]["nodes"]
    assert [n["roomName"] for n in staff_sees] == ["Boiler room", "Flat 16 bathroom", "Flat 3 kitchen"]
    olga_sees = (await gql(LIST, {}, token=consumers.tokens["olga"]))["data"]["meteringPoints"]["nodes"]
    assert [n["roomName"] for n in olga_sees] == ["Flat 16 bathroom"]
    assert (await gql(LIST, {}, token=world.tokens["admin_b"]))["data"]["meteringPoints"]["totalCount"] == 0
    # staff change a consumer's point of their subtree
    consumer_point = next(n for n in staff_sees if n["roomName"] == "Flat 3 kitchen")
    response = await gql(UPDATE, {"input": {"id": consumer_point["id"], "accountNumber": "99"}}, token=admin_a)
    assert response["data"]["meteringPointUpdate"]["errors"] == []
    # plain users have no metering permissions
    response = await gql(LIST, {}, token=world.tokens["user_a"])
    assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_list_filters_by_resource_room_address_and_organisation(gql, runtime, world, consumers):
    olga = consumers.tokens["olga"]
    await create(gql, olga, roomName="Bathroom", addressHandle=MOSCOW)
    await create(gql, olga, roomName="Kitchen", resource="HOT_WATER", addressHandle=BERLIN)
    async with runtime.session_factory() as session, session.begin():
        await add_metering_point(session, world.organisations["a"].id, "Staff heat", resource=mt.Resource.HEAT)

    async def rooms(token: str, **filter) -> list[str]:
        response = await gql(LIST, {"filter": filter}, token=token)
        return [n["roomName"] for n in response["data"]["meteringPoints"]["nodes"]]

    assert await rooms(olga, resource="HOT_WATER") == ["Kitchen"]
    assert await rooms(olga, search="BATH") == ["Bathroom"]
    assert await rooms(olga, search="berlin") == ["Kitchen"]
    assert await rooms(olga, search="100%_") == []
    admin_a = world.tokens["admin_a"]
    assert await rooms(admin_a, organisationId=world.id("Organisation", "a")) == ["Staff heat"]
    assert await rooms(admin_a, organisationId=to_global_id("Organisation", consumers.organisation.id)) == [
        "Bathroom",
        "Kitchen",
    ]
    assert await rooms(admin_a, organisationId=world.id("Organisation", "b")) == []
    response = await gql(LIST, {"filter": {"organisationId": "nonsense"}}, token=admin_a)
    assert response["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_delete_removes_the_point(gql, runtime, consumers):
    olga = consumers.tokens["olga"]
    point = (await create(gql, olga))["meteringPoint"]
    response = await gql(DELETE, {"input": {"id": point["id"]}}, token=olga)
    assert response["data"]["meteringPointDelete"] == {"deletedId": point["id"], "errors": []}
    assert (await gql(NODE, {"id": point["id"]}, token=olga))["data"]["node"] is None
