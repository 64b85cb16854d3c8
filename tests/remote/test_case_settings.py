"""Case statuses and activity types: the defaults (created once, also under parallel requests), create, update,
delete, refusals that change nothing, and deleting one in use."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from models import cases as cs
from models.audit import AuditEvent
from tests.factories import add_organisation, add_user, issue_token, snapshot
from tests.remote.cases_helpers import (
    CASE_CREATE,
    STATUSES,
    TYPES,
    codes,
    log_call,
    open_case,
    seed_sites,
    settings_ids,
)

STATUS_CREATE = """mutation($input: CaseStatusCreateInput!) { caseStatusCreate(input: $input) {
  caseStatus { id name description sequence hiddenInClient closesCase } errors { code field message } } }"""
STATUS_UPDATE = """mutation($input: CaseStatusUpdateInput!) { caseStatusUpdate(input: $input) {
  caseStatus { name description sequence hiddenInClient closesCase } errors { code field message } } }"""
STATUS_DELETE = """mutation($input: CaseSettingDeleteInput!) { caseStatusDelete(input: $input) {
  deletedId errors { code field message } } }"""
TYPE_CREATE = """mutation($input: ActivityTypeCreateInput!) { activityTypeCreate(input: $input) {
  activityType { id name description } errors { code field message } } }"""
TYPE_UPDATE = """mutation($input: ActivityTypeUpdateInput!) { activityTypeUpdate(input: $input) {
  activityType { name description } errors { code field message } } }"""
TYPE_DELETE = """mutation($input: CaseSettingDeleteInput!) { activityTypeDelete(input: $input) {
  deletedId errors { code field message } } }"""


async def test_defaults_are_the_manuals_and_come_once(gql, world, runtime):
    listed = await gql(STATUSES, token=world.tokens["user_a"])  # anyone of the organisation reads them
    statuses = listed["data"]["caseStatuses"]["nodes"]
    assert [(s["name"], s["sequence"], s["closesCase"], s["hiddenInClient"]) for s in statuses] == [
        ("Open", 10, False, False),
        ("Waiting on customer", 20, False, False),
        ("Waiting on us", 30, False, False),
        ("Closed", 40, True, False),
    ]
    types = (await gql(TYPES, token=world.tokens["admin_a"]))["data"]["activityTypes"]["nodes"]
    assert [t["name"] for t in types] == ["Checking", "Guidance", "Maintenance", "Malfunction", "Software update"]
    # a deleted default does not come back
    waiting = next(s["id"] for s in statuses if s["name"] == "Waiting on us")
    deleted = await gql(STATUS_DELETE, {"input": {"id": waiting}}, token=world.tokens["admin_a"])
    assert deleted["data"]["caseStatusDelete"] == {"deletedId": waiting, "errors": []}
    again = await gql(STATUSES, token=world.tokens["admin_a"])
    assert [s["name"] for s in again["data"]["caseStatuses"]["nodes"]] == ["Open", "Waiting on customer", "Closed"]
    # tenant B has its own
    assert (await gql(STATUSES, token=world.tokens["admin_b"]))["data"]["caseStatuses"]["totalCount"] == 4


async def test_defaults_under_parallel_requests_are_created_once(gql, world, runtime):
    """Ten users of a new organisation ask at once (half statuses, half types): one set of defaults."""
    async with runtime.session_factory() as session, session.begin():
        fresh = await add_organisation(session, "Fresh", world.organisations["a"])
        users = [await add_user(session, fresh, f"u{i}@fresh.example", []) for i in range(10)]
        tokens = [await issue_token(session, user) for user in users]
    answers = await asyncio.gather(*(gql(STATUSES if i % 2 else TYPES, token=token) for i, token in enumerate(tokens)))
    for i, answer in enumerate(answers):
        assert "errors" not in answer, answer
        data = answer["data"]["caseStatuses" if i % 2 else "activityTypes"]
        assert data["totalCount"] == (4 if i % 2 else 5)
    async with runtime.session_factory() as session:
        for model, expected in ((cs.CaseStatus, 4), (cs.ActivityType, 5), (cs.CaseSettingsSeed, 1)):
            count = await session.scalar(
                select(func.count()).select_from(model).where(model.organisation_id == fresh.id)
            )
            assert count == expected, model


async def test_status_create_update_and_refusals(gql, world, runtime):
    token = world.tokens["admin_a"]
    made = await gql(
        STATUS_CREATE,
        {"input": {"name": " Parked ", "description": "On hold", "sequence": 25, "hiddenInClient": True}},
        token=token,
    )
    status = made["data"]["caseStatusCreate"]["caseStatus"]
    assert status == {
        "id": status["id"],
        "name": "Parked",
        "description": "On hold",
        "sequence": 25,
        "hiddenInClient": True,
        "closesCase": False,
    }
    listed = await gql(STATUSES, token=token)  # the defaults came first, the new one sorts in by sequence
    assert [s["name"] for s in listed["data"]["caseStatuses"]["nodes"]][:3] == ["Open", "Waiting on customer", "Parked"]
    before = await snapshot(runtime)
    for given, expected in (
        ({"name": "Open"}, [("DUPLICATE", ["name"])]),
        ({"name": "  "}, [("REQUIRED", ["name"])]),
        ({"name": "x" * 101}, [("TOO_LONG", ["name"])]),
        ({"name": "Late", "sequence": -1}, [("INVALID", ["sequence"])]),
        ({"name": "Line\nbreak"}, [("INVALID", ["name"])]),
    ):
        refused = await gql(STATUS_CREATE, {"input": given}, token=token)
        assert codes(refused["data"]["caseStatusCreate"]) == expected, given
    renamed = await gql(STATUS_UPDATE, {"input": {"id": status["id"], "name": "Open"}}, token=token)
    assert codes(renamed["data"]["caseStatusUpdate"]) == [("DUPLICATE", ["name"])]
    assert await snapshot(runtime) == before
    # without PORTAL_MANAGE: forbidden
    forbidden = await gql(STATUS_CREATE, {"input": {"name": "Mine"}}, token=world.tokens["user_a"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    changed = await gql(
        STATUS_UPDATE, {"input": {"id": status["id"], "closesCase": True, "description": "Done"}}, token=token
    )
    assert changed["data"]["caseStatusUpdate"]["caseStatus"] == {
        "name": "Parked",
        "description": "Done",
        "sequence": 25,
        "hiddenInClient": True,
        "closesCase": True,
    }
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "CaseStatus").order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["case_status.created", "case_status.updated"]


async def test_activity_type_crud(gql, world, runtime):
    token = world.tokens["admin_a"]
    made = await gql(TYPE_CREATE, {"input": {"name": "Installation", "description": "New kit"}}, token=token)
    kind = made["data"]["activityTypeCreate"]["activityType"]
    assert (kind["name"], kind["description"]) == ("Installation", "New kit")
    duplicate = await gql(TYPE_CREATE, {"input": {"name": "Guidance"}}, token=token)
    assert codes(duplicate["data"]["activityTypeCreate"]) == [("DUPLICATE", ["name"])]
    changed = await gql(TYPE_UPDATE, {"input": {"id": kind["id"], "name": "Setup"}}, token=token)
    assert changed["data"]["activityTypeUpdate"]["activityType"] == {"name": "Setup", "description": "New kit"}
    deleted = await gql(TYPE_DELETE, {"input": {"id": kind["id"]}}, token=token)
    assert deleted["data"]["activityTypeDelete"] == {"deletedId": kind["id"], "errors": []}
    names = [t["name"] for t in (await gql(TYPES, token=token))["data"]["activityTypes"]["nodes"]]
    assert "Setup" not in names and len(names) == 5


async def test_deleting_a_status_or_type_in_use_is_refused(gql, world, runtime):
    ids = await seed_sites(runtime, world)
    settings = await settings_ids(gql, world)
    case = await open_case(gql, world, locationId=ids["north_a"])  # Open
    for status in ("Waiting on us", "Waiting on customer"):  # the case ends in the second
        await log_call(
            gql,
            world,
            caseId=case["id"],
            durationMinutes=5,
            activityTypeId=settings["Checking"],
            statusId=settings[status],
        )
    token = world.tokens["admin_a"]
    before = await snapshot(runtime)
    for document, root, name in (
        (STATUS_DELETE, "caseStatusDelete", "Waiting on us"),  # only a call has it
        (STATUS_DELETE, "caseStatusDelete", "Waiting on customer"),  # the case's and a call's
        (TYPE_DELETE, "activityTypeDelete", "Checking"),
    ):
        refused = await gql(document, {"input": {"id": settings[name]}}, token=token)
        assert codes(refused["data"][root]) == [("IN_USE", ["id"])], name
    assert await snapshot(runtime) == before
    # the case's first status is no longer used by anything
    free = await gql(STATUS_DELETE, {"input": {"id": settings["Open"]}}, token=token)
    assert free["data"]["caseStatusDelete"]["errors"] == []
    unused = await gql(TYPE_DELETE, {"input": {"id": settings["Guidance"]}}, token=token)
    assert unused["data"]["activityTypeDelete"]["errors"] == []


async def test_parallel_first_cases_share_one_set_of_defaults(gql, world, runtime):
    """Eight cases opened at once in an organisation that never needed its defaults: all Open, one set."""
    ids = await seed_sites(runtime, world)
    answers = await asyncio.gather(
        *(
            gql(CASE_CREATE, {"input": {"locationId": ids["north_a"], "description": f"case {n}"}}, token=token)
            for n, token in enumerate([world.tokens["admin_a"]] * 8)
        )
    )
    for answer in answers:
        assert "errors" not in answer, answer
        assert answer["data"]["caseCreate"]["errors"] == [] and answer["data"]["caseCreate"]["case"]["status"] == {
            "name": "Open",
            "closesCase": False,
        }
    async with runtime.session_factory() as session:
        organisation = world.organisations["a"].id
        statuses = (
            await session.scalars(select(cs.CaseStatus.name).where(cs.CaseStatus.organisation_id == organisation))
        ).all()
        cases = await session.scalar(select(func.count(func.distinct(cs.Case.status_id))))
    assert sorted(statuses) == ["Closed", "Open", "Waiting on customer", "Waiting on us"]
    assert cases == 1
