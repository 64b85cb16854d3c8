"""Registering many routers from CSV text or an uploaded file: all or nothing, every bad row by line."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from models import remote as r
from tests.factories import snapshot
from tests.remote.helpers import register

BULK = """mutation($input: RouterRegisterBulkInput!) {
  routerRegisterBulk(input: $input) {
    registeredCount dryRun errorCount routers { commonName macAddress organisation { name } }
    errors { code field message }
  }
}"""


async def router_count(runtime) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(r.Router))


async def test_bulk_from_text(gql, world, runtime):
    text = "Serial Number;commonName;MAC_ADDRESS;model\nSN-1;r_m1;00-00-00-00-00-01;RUT241\n\nSN-2;R_M2;000000000002;\n"
    dry = (await gql(BULK, {"input": {"csv": text, "dryRun": True}}, token=world.tokens["platform"]))["data"][
        "routerRegisterBulk"
    ]
    assert (dry["registeredCount"], dry["dryRun"], dry["errors"]) == (2, True, [])
    assert await router_count(runtime) == 0
    done = (
        await gql(
            BULK,
            {"input": {"csv": text, "organisationId": world.id("Organisation", "a")}},
            token=world.tokens["platform"],
        )
    )["data"]["routerRegisterBulk"]
    assert done["errors"] == [] and done["registeredCount"] == 2
    assert done["routers"] == [
        {"commonName": "R_M1", "macAddress": "00:00:00:00:00:01", "organisation": {"name": "Tenant A"}},
        {"commonName": "R_M2", "macAddress": "00:00:00:00:00:02", "organisation": {"name": "Tenant A"}},
    ]


async def test_bulk_reports_every_bad_row_and_stores_nothing(gql, world, runtime):
    await register(gql, world, "R_OLD", "00:00:00:00:00:99", "SN-OLD")
    before = await snapshot(runtime)
    text = "\n".join(
        [
            "common_name,mac_address,serial_number",
            "R_M1,00:00:00:00:00:01,SN-1",  # line 2: fine
            "M1X,00:00:00:00:00:02,SN-2",  # line 3: bad common name
            "R_M3,00:00:00:00:00,SN-3",  # line 4: bad MAC
            "R_M1,00:00:00:00:00:05,SN-5",  # line 5: repeats line 2's common name
            "R_M6,00:00:00:00:00:99,SN-6",  # line 6: MAC already registered
            "R_M7,00:00:00:00:00:07,",  # line 7: no serial number
        ]
    )
    payload = (await gql(BULK, {"input": {"csv": text}}, token=world.tokens["platform"]))["data"]["routerRegisterBulk"]
    assert payload["registeredCount"] == 0 and payload["routers"] == [] and payload["errorCount"] == 5
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID", ["csv", "3", "common_name"]),
        ("INVALID", ["csv", "4", "mac_address"]),
        ("DUPLICATE", ["csv", "5", "common_name"]),
        ("DUPLICATE", ["csv", "6", "mac_address"]),
        ("REQUIRED", ["csv", "7", "serial_number"]),
    ]
    assert all(e["message"].startswith(f"Line {e['field'][1]}:") for e in payload["errors"])
    assert await snapshot(runtime) == before

    for given, code in (
        ({"csv": "name;mac\nx;y"}, "INVALID"),
        ({"csv": "common_name;mac_address;serial_number\n"}, "REQUIRED"),
        ({}, "REQUIRED"),
    ):
        refused = (await gql(BULK, {"input": given}, token=world.tokens["platform"]))["data"]["routerRegisterBulk"]
        assert [e["code"] for e in refused["errors"]] == [code], given
    result = await gql(
        BULK,
        {"input": {"csv": "common_name;mac_address;serial_number\nR_X;000000000001;S"}},
        token=world.tokens["admin_a"],
    )
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(runtime) == before


async def test_bulk_from_upload(client, world, runtime):
    content = "\ufeffcommon_name\tmac_address\tserial_number\nR_U1\t00:00:00:00:00:11\tSN-U1\n".encode()
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": BULK, "variables": {"input": {"file": None}}}),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("routers.csv", content, "text/csv")},
        headers={"Authorization": f"Bearer {world.tokens['platform']}"},
    )
    payload = response.json()["data"]["routerRegisterBulk"]
    assert payload["errors"] == [] and [x["commonName"] for x in payload["routers"]] == ["R_U1"]
    assert await router_count(runtime) == 1
