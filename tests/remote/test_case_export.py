"""The case list's export (GET /cases/export.xlsx and .csv): the workbook read back with openpyxl, the CSV
parsed in the user's delimiter, the list's filters and visibility, text that stays text, and refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from models import identity as m
from tests.factories import add_user, issue_token
from tests.remote.cases_helpers import log_call, open_case, seed_sites, settings_ids
from tests.remote.helpers import grant_location

HEADER = ["Case", "Location", "Device", "User", "Started (UTC)", "Minutes worked", "Status", "Closed", "Description"]
START = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


async def seeded(gql, world, runtime) -> tuple[dict, dict, dict]:
    """A closed case "pump" at North a (HMI; 10 + 5 minutes) and an open one at South a whose description
    looks like a formula; user_a is granted North a only."""
    ids = await seed_sites(runtime, world)
    s = await settings_ids(gql, world)
    await grant_location(runtime, world, "user_a", ids["north_a"])
    pump = await open_case(
        gql, world, locationId=ids["north_a"], deviceId=ids["hmi_a"], description="pump", startedAt=START.isoformat()
    )
    await log_call(gql, world, caseId=pump["id"], durationMinutes=10, activityTypeId=s["Checking"])
    await log_call(
        gql, world, "user_a", caseId=pump["id"], durationMinutes=5, activityTypeId=s["Checking"], statusId=s["Closed"]
    )
    tank = await open_case(
        gql,
        world,
        locationId=ids["south_a"],
        description='=HYPERLINK("http://x","y")',
        startedAt=datetime(2026, 11, 3, tzinfo=UTC).isoformat(),
    )
    return ids, s, {"pump": pump["id"], "tank": tank["id"]}


def rows_of(content: bytes) -> list[list]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in book["Cases"].iter_rows(values_only=True)]


async def test_xlsx_export_reads_back_with_the_lists_rows(client, gql, world, runtime):
    ids, s, cases = await seeded(gql, world, runtime)
    auth = {"Authorization": f"Bearer {world.tokens['admin_a']}"}
    response = await client.get("/cases/export.xlsx", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.headers["content-disposition"].startswith('attachment; filename="cases-')
    rows = rows_of(response.content)
    assert rows[0] == HEADER
    assert rows[1:] == [
        [cases["tank"], "South a", None, "Admin", datetime(2026, 11, 3), 0, "Open", "no", '=HYPERLINK("http://x","y")'],
        [cases["pump"], "North a", "HMI", "Admin", datetime(2026, 11, 2, 8, 30), 15, "Closed", "yes", "pump"],
    ]
    # the formula-looking description is text in the workbook, not a formula
    book = load_workbook(io.BytesIO(response.content))
    assert book["Cases"]["I2"].data_type == "s"
    # the list's filters
    open_only = rows_of((await client.get("/cases/export.xlsx?closed=false", headers=auth)).content)
    assert [row[0] for row in open_only[1:]] == [cases["tank"]]
    by_status = await client.get(
        f"/cases/export.xlsx?statusId={s['Closed']}&statusId={s['Waiting on us']}", headers=auth
    )
    assert [row[0] for row in rows_of(by_status.content)[1:]] == [cases["pump"]]
    at_location = await client.get(f"/cases/export.xlsx?locationId={ids['south_a']}", headers=auth)
    assert [row[0] for row in rows_of(at_location.content)[1:]] == [cases["tank"]]


async def test_csv_export_in_the_users_delimiter_with_the_lists_visibility(client, gql, world, runtime):
    _ids, _s, cases = await seeded(gql, world, runtime)
    async with runtime.session_factory() as session, session.begin():
        (await session.get(m.User, world.users["user_a"].id)).csv_delimiter = ","
    response = await client.get(
        "/cases/export.csv?mine=true", headers={"Authorization": f"Bearer {world.tokens['user_a']}"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text), delimiter=","))
    # user_a worked on pump (a call) and sees only North a: the tank case is neither theirs nor visible
    assert rows == [
        HEADER,
        [cases["pump"], "North a", "HMI", "Admin", "2026-11-02 08:30", "15", "Closed", "yes", "pump"],
    ]
    admin = await client.get("/cases/export.csv", headers={"Authorization": f"Bearer {world.tokens['admin_a']}"})
    admin_rows = list(csv.reader(io.StringIO(admin.text), delimiter=";"))
    assert admin_rows[1][-1] == '\'=HYPERLINK("http://x","y")'  # a formula-looking cell is quoted as text
    other = await client.get("/cases/export.csv", headers={"Authorization": f"Bearer {world.tokens['admin_b']}"})
    assert list(csv.reader(io.StringIO(other.text), delimiter=";")) == [HEADER]


async def test_export_refusals(client, gql, world, runtime):
    await seeded(gql, world, runtime)
    assert (await client.get("/cases/export.xlsx")).status_code == 401
    bad_token = await client.get("/cases/export.xlsx", headers={"Authorization": "Bearer fga_not-a-token"})
    assert bad_token.status_code == 401
    auth = {"Authorization": f"Bearer {world.tokens['admin_a']}"}
    assert (await client.get("/cases/export.pdf", headers=auth)).status_code == 404
    assert (await client.get("/cases/export.csv?locationId=nonsense", headers=auth)).status_code == 400
    assert (await client.get("/cases/export.csv?closed=maybe", headers=auth)).status_code == 400
    # a consumer (metering only) holds no LOCATIONS_READ
    async with runtime.session_factory() as session, session.begin():
        consumer = await add_user(session, world.organisations["a"], "consumer@a.example", [m.Role.CONSUMER])
        token = await issue_token(session, consumer)
    refused = await client.get("/cases/export.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and "LOCATIONS_READ" in refused.text
