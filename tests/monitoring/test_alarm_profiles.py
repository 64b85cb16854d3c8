"""Alarm profiles: create, update, delete, validation (nothing changed on bad input), system profiles
read-only, the list and its SQL statements, audit events."""

from __future__ import annotations

from sqlalchemy import func, select

from models import alarms as al
from models.audit import AuditEvent
from tests.monitoring.alarm_helpers import CREATE, DELETE, UPDATE, seed

LIST = """query($filter: AlarmProfileFilter) { alarmProfiles(first: 50, filter: $filter) {
  totalCount nodes { name system severity activationFilters { key condition value }
  clearingFilters { key } locations { name } locationGroups { name } organisation { name } } } }"""
HIGH_TEMPERATURE = {
    "name": " HIGH_TEMPERATURE ",
    "severity": "HIGH",
    "description": "Pump too hot",
    "activationFilters": [{"key": "temperature", "condition": "GT", "value": 80}],
    "clearingFilters": [{"key": "temperature", "condition": "LT", "value": 75}],
}


async def create(gql, world, token="admin_a", **given) -> dict:
    result = await gql(CREATE, {"input": {**HIGH_TEMPERATURE, **given}}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["alarmProfileCreate"]


def codes(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_create_update_delete_with_audit(runtime, gql, world):
    ids = await seed(runtime, world)
    made = await create(gql, world, locationIds=[ids["depot_a"]], locationGroupIds=[ids["group_a"]])
    assert made["errors"] == []
    profile = made["alarmProfile"]
    assert profile == {
        "id": profile["id"],
        "name": "HIGH_TEMPERATURE",
        "severity": "HIGH",
        "description": "Pump too hot",
        "durationSeconds": None,
        "system": False,
        "organisation": {"name": "Tenant A"},
        "activationFilters": [{"key": "temperature", "condition": "GT", "value": 80.0}],
        "clearingFilters": [{"key": "temperature", "condition": "LT", "value": 75.0}],
        "locations": [{"name": "Depot a"}],
        "locationGroups": [{"name": "Plants a"}],
    }
    changed = (
        await gql(
            UPDATE,
            {
                "input": {
                    "id": profile["id"],
                    "severity": "MEDIUM",
                    "durationSeconds": 60,
                    "locationIds": [],
                    "activationFilters": [
                        {"key": "temperature", "condition": "GT", "value": 85},
                        {"key": "pressure", "condition": "NE", "value": 0},
                    ],
                }
            },
            token=world.tokens["admin_a"],
        )
    )["data"]["alarmProfileUpdate"]
    assert changed["errors"] == []
    assert changed["alarmProfile"]["severity"] == "MEDIUM"
    assert changed["alarmProfile"]["durationSeconds"] == 60
    assert changed["alarmProfile"]["locations"] == []
    assert [f["key"] for f in changed["alarmProfile"]["activationFilters"]] == ["temperature", "pressure"]
    deleted = (await gql(DELETE, {"input": {"id": profile["id"]}}, token=world.tokens["admin_a"]))["data"]
    assert deleted["alarmProfileDelete"] == {"deletedId": profile["id"], "errors": []}
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "AlarmProfile").order_by(AuditEvent.id)
            )
        ).all()
        assert actions == ["alarm_profile.created", "alarm_profile.updated", "alarm_profile.deleted"]
        assert await session.scalar(select(func.count()).select_from(al.AlarmProfileFilter)) == 0


async def test_bad_input_is_refused_and_changes_nothing(runtime, gql, world):
    ids = await seed(runtime, world)
    cases = [
        ({"name": " "}, [("REQUIRED", ["name"])]),
        ({"name": "x" * 101}, [("TOO_LONG", ["name"])]),
        ({"activationFilters": []}, [("REQUIRED", ["activationFilters"])]),
        ({"clearingFilters": []}, [("REQUIRED", ["clearingFilters"])]),
        (
            {"clearingFilters": [{"key": "", "condition": "LT", "value": 1}]},
            [("REQUIRED", ["clearingFilters", "0", "key"])],
        ),
        ({"durationSeconds": -5}, [("INVALID", ["durationSeconds"])]),
        ({"locationIds": [ids["depot_b"]]}, [("NOT_FOUND", ["locationIds", "0"])]),
        ({"locationIds": [ids["plant_a1"]]}, [("WRONG_ORGANISATION", ["locationIds", "0"])]),
        ({"locationGroupIds": [ids["group_b"]]}, [("NOT_FOUND", ["locationGroupIds", "0"])]),
        ({"organisationId": world.id("Organisation", "b")}, [("NOT_FOUND", ["organisationId"])]),
    ]
    for given, expected in cases:
        payload = await create(gql, world, **given)
        assert codes(payload) == expected, given
        assert payload["alarmProfile"] is None
    await create(gql, world)
    assert codes(await create(gql, world)) == [("DUPLICATE", ["name"])]
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(al.AlarmProfile)) == 2  # one + the system one


async def test_system_profiles_are_listed_and_read_only(runtime, gql, world):
    await seed(runtime, world)
    await create(gql, world)
    listed = (await gql(LIST, token=world.tokens["admin_a"]))["data"]["alarmProfiles"]
    assert [(n["name"], n["system"]) for n in listed["nodes"]] == [
        ("HIGH_TEMPERATURE", False),
        ("ROUTER_OFFLINE", True),
    ]
    assert listed["nodes"][1]["organisation"] is None
    system_id = (
        await gql("{ alarmProfiles(filter: {system: true}) { nodes { id } } }", token=world.tokens["admin_a"])
    )["data"]["alarmProfiles"]["nodes"][0]["id"]
    updated = await gql(UPDATE, {"input": {"id": system_id, "severity": "LOW"}}, token=world.tokens["admin_a"])
    assert codes(updated["data"]["alarmProfileUpdate"]) == [("NOT_ALLOWED", ["id"])]
    deleted = (await gql(DELETE, {"input": {"id": system_id}}, token=world.tokens["admin_a"]))["data"]
    assert codes(deleted["alarmProfileDelete"]) == [("NOT_ALLOWED", ["id"])]
    # another tenant sees its own and the system ones only; a user without MONITORING_MANAGE none
    other = (await gql(LIST, token=world.tokens["admin_b"]))["data"]["alarmProfiles"]
    assert [n["name"] for n in other["nodes"]] == ["ROUTER_OFFLINE"]
    refused = await gql(LIST, token=world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_list_statements_do_not_grow_with_profiles(runtime, gql, world, count_sql):
    ids = await seed(runtime, world)
    for n in range(3):
        await create(gql, world, name=f"P{n}", locationIds=[ids["depot_a"]], locationGroupIds=[ids["group_a"]])
    with count_sql() as few:
        await gql(LIST, token=world.tokens["admin_a"])
    for n in range(3, 12):
        await create(gql, world, name=f"P{n}", locationIds=[ids["plant_a"]], locationGroupIds=[ids["group_a"]])
    with count_sql() as many:
        result = await gql(LIST, token=world.tokens["admin_a"])
    assert len(result["data"]["alarmProfiles"]["nodes"]) == 13
    assert many.count == few.count
