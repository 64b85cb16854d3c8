"""Call search (the manual's Zoeken in calls): every filter finds its call and leaves out one that must not
match; each result shows its case; visibility and SQL statement counts of the lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.remote.cases_helpers import log_call, open_case, seed_sites, settings_ids
from tests.remote.helpers import grant_location

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SEARCH = """query($filter: CallFilter) { calls(filter: $filter, first: 50) { totalCount
  nodes { description case { description location { name } } } } }"""


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


async def two_cases(gql, world, runtime) -> tuple[dict, dict]:
    """Case "pump" at North a about the HMI (calls "hmi check" by admin_a, then "hmi closed" by user_a, closing
    it) and case "tank" at South a (call "tank guidance" by admin_a, Waiting on customer)."""
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    await grant_location(runtime, world, "user_a", ids["north_a"])
    pump = await open_case(gql, world, locationId=ids["north_a"], deviceId=ids["hmi_a"], description="pump")
    tank = await open_case(gql, world, locationId=ids["south_a"], description="tank")
    await log_call(
        gql,
        world,
        caseId=pump["id"],
        startedAt=at(1),
        durationMinutes=10,
        activityTypeId=s["Checking"],
        description="HMI check",
    )
    await log_call(
        gql,
        world,
        caseId=tank["id"],
        startedAt=at(5),
        durationMinutes=20,
        activityTypeId=s["Guidance"],
        statusId=s["Waiting on customer"],
        description="Tank guidance",
    )
    await log_call(
        gql,
        world,
        "user_a",
        caseId=pump["id"],
        startedAt=at(9),
        durationMinutes=5,
        activityTypeId=s["Maintenance"],
        statusId=s["Closed"],
        description="HMI closed",
    )
    return ids, s


async def test_each_search_filter_matches_and_leaves_out(gql, world, runtime):
    ids, s = await two_cases(gql, world, runtime)

    async def found(**given) -> list[str]:
        result = await gql(SEARCH, {"filter": given}, token=world.tokens["admin_a"])
        assert "errors" not in result, result
        return [n["description"] for n in result["data"]["calls"]["nodes"]]

    assert await found() == ["HMI closed", "Tank guidance", "HMI check"]  # newest first
    assert await found(**{"from": at(5)}) == ["HMI closed", "Tank guidance"]
    assert await found(to=at(5)) == ["HMI check"]
    assert await found(**{"from": at(2), "to": at(6)}) == ["Tank guidance"]
    assert await found(locationId=ids["south_a"]) == ["Tank guidance"]
    assert await found(descriptionContains="hmi") == ["HMI closed", "HMI check"]
    assert await found(descriptionContains="100%") == []  # wildcards are literal
    assert await found(caseClosed=True) == ["HMI closed", "HMI check"]
    assert await found(caseClosed=False) == ["Tank guidance"]
    assert await found(deviceId=ids["hmi_a"]) == ["HMI closed", "HMI check"]
    assert await found(deviceId=ids["plc_a"]) == []
    assert await found(activityTypeId=s["Guidance"]) == ["Tank guidance"]
    assert await found(statusId=s["Closed"]) == ["HMI closed"]
    assert await found(userId=world.id("User", "user_a")) == ["HMI closed"]
    assert await found(userId=world.id("User", "admin_a"), caseClosed=True) == ["HMI check"]
    # each result shows its case
    result = await gql(SEARCH, {"filter": {"activityTypeId": s["Guidance"]}}, token=world.tokens["admin_a"])
    assert result["data"]["calls"]["nodes"][0]["case"] == {"description": "tank", "location": {"name": "South a"}}


async def test_search_follows_location_visibility(gql, world, runtime):
    await two_cases(gql, world, runtime)
    user = await gql(SEARCH, token=world.tokens["user_a"])  # granted North a only
    assert [n["description"] for n in user["data"]["calls"]["nodes"]] == ["HMI closed", "HMI check"]
    assert (await gql(SEARCH, token=world.tokens["admin_b"]))["data"]["calls"]["totalCount"] == 0
    malformed = await gql(SEARCH, {"filter": {"statusId": "x"}}, token=world.tokens["admin_a"])
    assert malformed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


CASES_PAGE = """{ cases(first: 100) { totalCount nodes { description closed minutesWorked location { name }
  device { name } user { email } status { name }
  calls(first: 3) { totalCount nodes { durationMinutes activityType { name } status { name } user { email } } } } } }"""
CALLS_PAGE = """{ calls(first: 100) { nodes { description activityType { name } status { name } user { email }
  case { description location { name } device { name } status { name } } } } }"""


async def many_cases(gql, world, runtime, ids, s, count: int, prefix: str) -> None:
    for n in range(count):
        case = await open_case(gql, world, locationId=ids["north_a"], deviceId=ids["hmi_a"], description=f"{prefix}{n}")
        for m in range(2):
            await log_call(gql, world, caseId=case["id"], durationMinutes=m + 1, activityTypeId=s["Checking"])


@pytest.mark.parametrize("query", [CASES_PAGE, CALLS_PAGE], ids=["cases", "calls"])
async def test_list_statements_do_not_depend_on_the_page_size(gql, world, runtime, count_sql, query):
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    measured = []
    for size, prefix in ((3, "small"), (12, "large")):
        await many_cases(gql, world, runtime, ids, s, size, prefix)
        with count_sql() as counter:
            result = await gql(query, token=world.tokens["admin_a"])
        assert "errors" not in result, result
        measured.append(counter.count)
    assert measured[0] == measured[1], measured
    # authentication, the page, its count, and one statement per relation (the calls: one for every case's page)
    assert measured[0] == (10 if query is CASES_PAGE else 8), measured
    if query is CASES_PAGE:
        node = result["data"]["cases"]["nodes"][0]
        assert (node["minutesWorked"], node["calls"]["totalCount"], len(node["calls"]["nodes"])) == (3, 2, 2)
