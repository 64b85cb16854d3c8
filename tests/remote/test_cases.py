"""Cases and calls: create and edit, the closed-case rule, refusals that change nothing, rights and location
visibility, the lists (my cases, per location and device, by status) with their calls, and SQL counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from models import cases as cs
from models.audit import AuditEvent
from tests.factories import snapshot
from tests.remote.cases_helpers import (
    CALL_CREATE,
    CALL_UPDATE,
    CASE_CREATE,
    CASE_UPDATE,
    codes,
    log_call,
    open_case,
    seed_sites,
    settings_ids,
)
from tests.remote.helpers import api_user_token, grant_location

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DETAIL = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Case { description minutesWorked
  status { name } calls(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  nodes { durationMinutes description status { name } activityType { name } user { email } } } } } }"""
LIST = """query($filter: CaseFilter) { cases(filter: $filter, first: 50) { totalCount nodes { description } } }"""


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


async def test_a_case_with_its_calls_from_open_to_closed(gql, world, runtime):
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    case = await open_case(
        gql, world, locationId=ids["north_a"], deviceId=ids["hmi_a"], startedAt=at(0), description=" Pressure gone "
    )
    assert case == {
        "id": case["id"],
        "description": "Pressure gone",
        "startedAt": "2026-11-02T08:00:00+00:00",
        "closed": False,
        "minutesWorked": 0,
        "location": {"name": "North a"},
        "device": {"name": "HMI"},
        "user": {"email": "admin@a.example"},
        "status": {"name": "Open", "closesCase": False},  # the first open status by sequence
    }
    first = await log_call(
        gql,
        world,
        caseId=case["id"],
        startedAt=at(1),
        durationMinutes=45,
        activityTypeId=s["Malfunction"],
        statusId=s["Waiting on us"],
        description="Logs saved",
    )
    assert first["case"] == {"status": {"name": "Waiting on us"}, "minutesWorked": 45}  # the call set the status
    # a call without a status keeps the case's; user_a (CASES_MANAGE, granted the location) logs one
    await grant_location(runtime, world, "user_a", ids["north_a"])
    second = await log_call(
        gql, world, "user_a", caseId=case["id"], startedAt=at(2), durationMinutes=30, activityTypeId=s["Checking"]
    )
    assert second["status"] == {"name": "Waiting on us"} and second["user"] == {"email": "user@a.example"}
    changed = await gql(
        CALL_UPDATE, {"input": {"id": second["id"], "durationMinutes": 20}}, token=world.tokens["admin_a"]
    )
    assert changed["data"]["callUpdate"]["call"]["durationMinutes"] == 20
    updated = await gql(
        CASE_UPDATE,
        {"input": {"id": case["id"], "deviceId": None, "description": "Pressure back"}},
        token=world.tokens["admin_a"],
    )
    assert updated["data"]["caseUpdate"]["case"]["device"] is None
    closing = await log_call(
        gql,
        world,
        caseId=case["id"],
        startedAt=at(3),
        durationMinutes=15,
        activityTypeId=s["Checking"],
        statusId=s["Closed"],
    )
    assert closing["case"] == {"status": {"name": "Closed"}, "minutesWorked": 80}
    await assert_detail_pages(gql, world, case["id"])
    await assert_closed_for_good(gql, world, runtime, case["id"], second["id"], s)
    await assert_audited(runtime)


async def assert_audited(runtime) -> None:
    """Every change of the lifecycle test is in the history, in order."""
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert [a for a in actions if a.startswith("case")] == [
        "case.created",
        "case_call.created",
        "case_call.created",
        "case_call.updated",
        "case.updated",
        "case_call.created",
    ]


async def assert_detail_pages(gql, world, case_id: str) -> None:
    """The case's detail, read by user_a: 80 minutes over three calls, paged two at a time in the order they
    happened."""
    case = {"id": case_id}
    detail = await gql(DETAIL, {"id": case["id"], "first": 2}, token=world.tokens["user_a"])
    shown = detail["data"]["node"]
    assert (shown["minutesWorked"], shown["status"], shown["calls"]["totalCount"]) == (80, {"name": "Closed"}, 3)
    assert [c["durationMinutes"] for c in shown["calls"]["nodes"]] == [45, 20]  # in the order they happened
    assert shown["calls"]["nodes"][0] == {
        "durationMinutes": 45,
        "description": "Logs saved",
        "status": {"name": "Waiting on us"},
        "activityType": {"name": "Malfunction"},
        "user": {"email": "admin@a.example"},
    }
    rest = await gql(
        DETAIL,
        {"id": case["id"], "first": 2, "after": shown["calls"]["pageInfo"]["endCursor"]},
        token=world.tokens["user_a"],
    )
    assert [c["durationMinutes"] for c in rest["data"]["node"]["calls"]["nodes"]] == [15]
    assert rest["data"]["node"]["calls"]["pageInfo"]["hasNextPage"] is False


async def assert_closed_for_good(gql, world, runtime, case_id: str, call_id: str, s: dict) -> None:
    """A closed case takes no change, no call and no call change (CASE_CLOSED), and nothing changes."""
    token = world.tokens["admin_a"]
    before = await snapshot(runtime)
    edit = await gql(CASE_UPDATE, {"input": {"id": case_id, "statusId": s["Open"]}}, token=token)
    assert codes(edit["data"]["caseUpdate"]) == [("CASE_CLOSED", ["id"])]
    call = await gql(
        CALL_CREATE, {"input": {"caseId": case_id, "durationMinutes": 5, "activityTypeId": s["Checking"]}}, token=token
    )
    assert codes(call["data"]["callCreate"]) == [("CASE_CLOSED", ["caseId"])]
    change = await gql(CALL_UPDATE, {"input": {"id": call_id, "statusId": s["Open"]}}, token=token)
    assert codes(change["data"]["callUpdate"]) == [("CASE_CLOSED", ["id"])]
    assert await snapshot(runtime) == before


async def test_case_closed_by_its_own_status(gql, world, runtime):
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    case = await open_case(gql, world, locationId=ids["south_a"])
    closed = await gql(
        CASE_UPDATE, {"input": {"id": case["id"], "statusId": s["Closed"]}}, token=world.tokens["admin_a"]
    )
    assert closed["data"]["caseUpdate"]["case"]["closed"] is True
    listed = await gql(LIST, {"filter": {"closed": True}}, token=world.tokens["admin_a"])
    assert listed["data"]["cases"]["totalCount"] == 1


async def test_bad_input_is_refused_and_changes_nothing(gql, world, runtime):
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    a1 = await settings_ids(gql, world, organisation="a1")  # A's admin sees A1's statuses: not for A's cases
    case = await open_case(gql, world, locationId=ids["north_a"])
    token = world.tokens["admin_a"]
    before = await snapshot(runtime)
    for given, expected in (
        ({"locationId": ids["north_b"]}, [("NOT_FOUND", ["locationId"])]),
        ({"locationId": ids["north_a"], "deviceId": ids["hmi_a1"]}, [("NOT_FOUND", ["deviceId"])]),
        ({"locationId": ids["south_a"], "deviceId": ids["hmi_a"]}, [("NOT_FOUND", ["deviceId"])]),
        ({"locationId": ids["north_a"], "statusId": a1["Open"]}, [("NOT_FOUND", ["statusId"])]),
        ({"locationId": ids["north_a"], "description": "x" * 4001}, [("TOO_LONG", ["description"])]),
        ({"locationId": ids["north_a"], "startedAt": "2099-01-01T00:00:00+00:00"}, [("INVALID", ["startedAt"])]),
    ):
        refused = await gql(CASE_CREATE, {"input": given}, token=token)
        assert codes(refused["data"]["caseCreate"]) == expected, given
    for given, expected in (
        ({"durationMinutes": -1, "activityTypeId": s["Checking"]}, [("INVALID", ["durationMinutes"])]),
        ({"durationMinutes": 10081, "activityTypeId": s["Checking"]}, [("INVALID", ["durationMinutes"])]),
        ({"durationMinutes": 5, "activityTypeId": a1["Checking"]}, [("NOT_FOUND", ["activityTypeId"])]),
        (
            {"durationMinutes": 5, "activityTypeId": s["Checking"], "statusId": a1["Closed"]},
            [("NOT_FOUND", ["statusId"])],
        ),
        ({"durationMinutes": 5, "activityTypeId": s["Open"]}, [("NOT_FOUND", ["activityTypeId"])]),  # wrong kind
    ):
        refused = await gql(CALL_CREATE, {"input": {"caseId": case["id"], **given}}, token=token)
        assert codes(refused["data"]["callCreate"]) == expected, given
    assert await snapshot(runtime) == before


async def test_rights_and_location_visibility(gql, world, runtime):
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    case = await open_case(gql, world, locationId=ids["north_a"])
    other = await open_case(gql, world, locationId=ids["south_a"], description="Not yours")
    before = await snapshot(runtime)
    # user_a sees no case until granted the location, and cannot add to a case they do not see
    assert (await gql(LIST, token=world.tokens["user_a"]))["data"]["cases"]["totalCount"] == 0
    hidden = await gql(
        CALL_CREATE,
        {"input": {"caseId": case["id"], "durationMinutes": 1, "activityTypeId": s["Checking"]}},
        token=world.tokens["user_a"],
    )
    assert codes(hidden["data"]["callCreate"]) == [("NOT_FOUND", ["caseId"])]
    assert await snapshot(runtime) == before
    await grant_location(runtime, world, "user_a", ids["north_a"])
    seen = await gql(LIST, token=world.tokens["user_a"])
    assert [n["description"] for n in seen["data"]["cases"]["nodes"]] == [""]
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": other["id"]}, token=world.tokens["user_a"])
    assert node["data"]["node"] is None
    # another tenant's admin sees nothing of A's cases
    assert (await gql(LIST, token=world.tokens["admin_b"]))["data"]["cases"]["totalCount"] == 0
    # an API user reads locations (LOCATIONS_READ) but holds no CASES_MANAGE
    api = await api_user_token(runtime, world, "a", "api@a.example")
    before = await snapshot(runtime)
    refused = await gql(CASE_CREATE, {"input": {"locationId": ids["north_a"]}}, token=api)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN" and refused["data"] is None
    assert await snapshot(runtime) == before


async def test_case_lists_mine_per_location_device_and_status(gql, world, runtime):
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    for location in ("north_a", "south_a"):
        await grant_location(runtime, world, "user_a", ids[location])
    await open_case(
        gql,
        world,
        "user_a",
        locationId=ids["north_a"],
        deviceId=ids["hmi_a"],
        startedAt=at(1),
        description="opened by user",
    )
    called_by_user = await open_case(gql, world, locationId=ids["south_a"], startedAt=at(2), description="called")
    await log_call(
        gql,
        world,
        "user_a",
        caseId=called_by_user["id"],
        durationMinutes=5,
        activityTypeId=s["Checking"],
        statusId=s["Waiting on customer"],
    )
    await open_case(
        gql, world, locationId=ids["north_a"], deviceId=ids["plc_a"], startedAt=at(3), description="admin's"
    )

    async def listed(token: str, **given) -> list[str]:
        result = await gql(LIST, {"filter": given}, token=world.tokens[token])
        assert "errors" not in result, result
        return [n["description"] for n in result["data"]["cases"]["nodes"]]

    assert await listed("user_a", mine=True) == ["called", "opened by user"]  # newest first
    assert await listed("admin_a", mine=True) == ["admin's", "called"]
    assert await listed("admin_a", locationId=ids["north_a"]) == ["admin's", "opened by user"]
    assert await listed("admin_a", deviceId=ids["hmi_a"]) == ["opened by user"]
    assert await listed("admin_a", statusIds=[s["Waiting on customer"]]) == ["called"]
    assert await listed("admin_a", statusIds=[s["Open"], s["Waiting on customer"]]) == [
        "admin's",
        "called",
        "opened by user",
    ]
    assert await listed("admin_a", locationId=ids["north_a"], statusIds=[s["Waiting on customer"]]) == []
    assert await listed("admin_a", closed=False) == ["admin's", "called", "opened by user"]
    malformed = await gql(LIST, {"filter": {"locationId": "nonsense"}}, token=world.tokens["admin_a"])
    assert malformed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_parallel_calls_that_close_the_case_close_it_once(gql, world, runtime):
    """Eight calls each closing the case at once: one is logged, the others find the case closed."""
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    case = await open_case(gql, world, locationId=ids["north_a"])
    given = {"caseId": case["id"], "durationMinutes": 5, "activityTypeId": s["Checking"], "statusId": s["Closed"]}
    answers = await asyncio.gather(
        *(
            gql(CALL_CREATE, {"input": {**given, "description": f"call {n}"}}, token=world.tokens["admin_a"])
            for n in range(8)
        )
    )
    outcomes = sorted(codes(answer["data"]["callCreate"]) == [] for answer in answers)
    assert outcomes == [False] * 7 + [True]
    assert all(codes(a["data"]["callCreate"]) in ([], [("CASE_CLOSED", ["caseId"])]) for a in answers)
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(cs.CaseCall)) == 1


async def test_cases_go_with_their_location_and_lose_a_deleted_device(gql, world, runtime):
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    north = await open_case(gql, world, locationId=ids["north_a"], deviceId=ids["hmi_a"], description="north")
    await log_call(gql, world, caseId=north["id"], durationMinutes=5, activityTypeId=s["Checking"])
    south = await open_case(gql, world, locationId=ids["south_a"], description="south")
    token = world.tokens["admin_a"]
    deleted = await gql(
        "mutation($id: ID!) { locationDeviceDelete(input: {id: $id}) { errors { code } } }",
        {"id": ids["hmi_a"]},
        token=token,
    )
    assert deleted["data"]["locationDeviceDelete"]["errors"] == []
    node = "query($id: ID!) { node(id: $id) { ... on Case { device { name } minutesWorked } } }"
    assert (await gql(node, {"id": north["id"]}, token=token))["data"]["node"] == {"device": None, "minutesWorked": 5}
    gone = await gql(
        "mutation($id: ID!) { locationDelete(input: {id: $id}) { errors { code } } }",
        {"id": ids["south_a"]},
        token=token,
    )
    assert gone["data"]["locationDelete"]["errors"] == []
    assert (await gql(node, {"id": south["id"]}, token=token))["data"]["node"] is None
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(cs.Case.description))).all() == ["north"]
