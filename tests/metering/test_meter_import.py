"""The catalogue's CSV import with the optional pin column: stored as an Argon2id hash only (never the PIN), one
PIN per device, checked like every other cell; an imported meter binds with its PIN."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import select

from graph.passwords import verify_password
from graph.relay import to_global_id
from models import catalogue as c
from models.audit import AuditEvent
from tests.factories import add_metering_point, snapshot
from tests.metering.helpers import BIND

IMPORT = """mutation($file: Upload!) {
  deviceImport(input: {file: $file}) { deviceCount keyCount errorCount errors { code field message } }
}"""


async def upload(client, token: str, content: str) -> dict:
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": IMPORT, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("meters.csv", content.encode(), "text/csv")},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["deviceImport"]


def key() -> str:
    return secrets.token_bytes(16).hex()


async def test_imported_pins_are_hashed_and_bind(client, gql, runtime, world, consumers):
    content = (
        "serial_number;product_type;key_kind;algorithm;key;pin\n"
        f"33200001;VSKM-15 IWAN;OTHER;AES_128;{key()};271828\n"
        f"33200002;VSGM-15 IWAN;OTHER;AES_128;{key()};\n"
    )
    report = await upload(client, world.tokens["platform"], content)
    assert report["errors"] == [] and report["deviceCount"] == 2
    async with runtime.session_factory() as session:
        devices = {d.serial_number: d for d in (await session.scalars(select(c.Device))).all()}
        details = json.dumps([e.details for e in (await session.scalars(select(AuditEvent))).all()])
        point = await add_metering_point(
            session, consumers.organisation.id, "Bath", owner_id=consumers.users["olga"].id
        )
        await session.commit()
    assert devices["33200001"].manufacturer == "DECAST"
    assert verify_password(devices["33200001"].pin_hash, "271828") and "271828" not in devices["33200001"].pin_hash
    assert devices["33200002"].pin_hash is None
    assert "271828" not in details
    payload = await gql(
        BIND,
        {
            "input": {
                "meteringPointId": to_global_id("MeteringPoint", point.id),
                "qr": "fleetgraph:meter?sn=33200001&pin=271828",
            }
        },
        token=consumers.tokens["olga"],
    )
    assert payload["data"]["meterBind"]["errors"] == []


async def test_bad_pins_are_reported_by_line_without_the_cell(client, runtime, world):
    content = (
        "serial_number,product_type,key_kind,algorithm,key,pin\n"
        f"33200003,VSKM-15 IWAN,OTHER,AES_128,{key()},12a4\n"
        f"33200004,VSKM-15 IWAN,OTHER,AES_128,{key()},123\n"
    )
    before = await snapshot(runtime)
    report = await upload(client, world.tokens["platform"], content)
    assert [(e["code"], e["field"]) for e in report["errors"]] == [
        ("INVALID", ["file", "2", "pin"]),
        ("INVALID", ["file", "3", "pin"]),
    ]
    assert all("12a4" not in e["message"] for e in report["errors"])
    assert await snapshot(runtime) == before
