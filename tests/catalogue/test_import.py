"""Importing devices with their keys from a CSV key file: over a GraphQL multipart request and from
the CLI, all or nothing, every bad row reported, no key ever in an error, a log line or the audit."""

from __future__ import annotations

import json
import logging
import secrets
import time

import pytest
from sqlalchemy import func, select

from graph.errors import RowProblems
from models import catalogue as c
from models.audit import AuditEvent
from resolvers.catalogue.imports import parsing
from resolvers.catalogue.imports import rules as imports
from resolvers.catalogue.keys import open_device_key
from resolvers.catalogue.product_types.rules import MANUFACTURER
from tests.environment import run_fleetgraph
from tests.factories import add_devices, snapshot

IMPORT = """mutation($file: Upload!, $dryRun: Boolean! = false) {
  deviceImport(input: {file: $file, dryRun: $dryRun}) { deviceCount keyCount dryRun errorCount errors { code
    field message } }
}"""
HEADER = "serial_number,product_type,key_kind,algorithm,key"


def key_hex(length: int = 16) -> str:
    return secrets.token_bytes(length).hex().upper()


async def upload(
    client, token: str | None, content: bytes | str, *, dry_run: bool = False, name: str = "keys.csv"
) -> dict:
    if isinstance(content, str):
        content = content.encode()
    headers = {"Accept": "application/graphql-response+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": IMPORT, "variables": {"file": None, "dryRun": dry_run}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, content, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def import_file(client, world, content: bytes | str, **kwargs) -> dict:
    body = await upload(client, world.tokens["platform"], content, **kwargs)
    assert "errors" not in body, body
    return body["data"]["deviceImport"]


async def counts(runtime) -> dict[str, int]:
    async with runtime.session_factory() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in (c.Device, c.DeviceKey, c.DeviceLabel, AuditEvent)
        }


def lines_of(result: dict) -> list[tuple[int, str | None, str]]:
    """(line, column, code) of each row error, checking the message carries the same line."""
    found = []
    for error in result["errors"]:
        line, column = error["field"][1], (error["field"][2] if len(error["field"]) == 3 else None)
        assert error["message"].startswith(f"Line {line}: "), error
        found.append((int(line), column, error["code"]))
    return found


async def test_good_file_stores_devices_and_sealed_keys(client, world, runtime):
    app_key, oms_key, lora_key = key_hex(), key_hex(), key_hex()
    content = (
        "\ufeffserial_number;product_type;key_kind;algorithm;key;labels\r\n"
        f"IMP-0001;TOPAS SONIC;LORAWAN_APP_KEY;AES_128;{app_key.lower()};Lot 7|Hall 2\r\n"
        f"IMP-0001;topas sonic;OMS_KEY;AES_128;{oms_key};Lot 7\r\n"
        "\r\n"
        f'IMP-0002;"aquastream LoRa";LORAWAN_APP_KEY;AES_128;{lora_key};\r\n'
    )
    before = await counts(runtime)
    result = await import_file(client, world, content)
    assert result == {"deviceCount": 2, "keyCount": 3, "dryRun": False, "errorCount": 0, "errors": []}
    after = await counts(runtime)
    assert after["device"] - before["device"] == 2 and after["device_key"] - before["device_key"] == 3
    assert after["device_label"] - before["device_label"] == 2

    async with runtime.session_factory() as session:
        devices = {d.serial_number: d for d in (await session.scalars(select(c.Device))).all()}
        keys = (await session.scalars(select(c.DeviceKey).order_by(c.DeviceKey.id))).all()
        labels = (await session.execute(select(c.DeviceLabel.device_id, c.DeviceLabel.label))).all()
        types = {pt.id: pt.name for pt in (await session.scalars(select(c.ProductType))).all()}
        event = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "devices.imported"))).one()
    first, second = devices["IMP-0001"], devices["IMP-0002"]
    for device in (first, second):
        assert (
            device.claim_status == c.ClaimStatus.UNCLAIMED
            and device.organisation_id is None
            and device.batch_id is None
        )
        assert device.manufacturer == MANUFACTURER
    assert types[first.product_type_id] == "TOPAS SONIC" and types[second.product_type_id] == "aquastream LoRa"
    assert sorted(labels) == [(first.id, "Hall 2"), (first.id, "Lot 7")]
    opened = {(key.device_id, key.kind): open_device_key(runtime.sealer, key).hex().upper() for key in keys}
    assert opened == {
        (first.id, c.KeyKind.LORAWAN_APP_KEY): app_key,
        (first.id, c.KeyKind.OMS_KEY): oms_key,
        (second.id, c.KeyKind.LORAWAN_APP_KEY): lora_key,
    }
    assert all(key.algorithm == c.KeyAlgorithm.AES_128 and key.state == c.KeyState.ACTIVE for key in keys)
    assert all(app_key not in bytes(key.sealed).hex().upper() for key in keys)  # sealed, not stored as is
    assert event.actor_user_id == world.users["platform"].id and event.organisation_id is None
    assert event.details == {
        "deviceCount": 2,
        "keyCount": 3,
        "source": "api",
        "filename": "keys.csv",
        "productTypes": {"TOPAS SONIC": 1, "aquastream LoRa": 1},
    }


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
async def test_each_delimiter_and_any_column_order(client, world, runtime, delimiter):
    key = key_hex(32)
    labels = '"north|roof"' if delimiter == "|" else "north|roof"
    content = delimiter.join(["key", "labels", "algorithm", "serial_number", "key_kind", "product_type"]) + "\n"
    content += delimiter.join([key, labels, "AES_256", "D-1", "OTHER", "TOPAS Mbus"]) + "\n"
    async with runtime.session_factory() as session, session.begin():
        # a product type carrying OTHER keys, as a manufacturer may add
        session.add(
            c.ProductType(
                name="TOPAS Mbus X",
                manufacturer=MANUFACTURER,
                radio_technology=c.RadioTechnology.MBUS,
                key_kinds=["OMS_KEY", "OTHER"],
            )
        )
    content = content.replace("TOPAS Mbus", "TOPAS Mbus X")
    result = await import_file(client, world, content)
    assert result["errors"] == [] and (result["deviceCount"], result["keyCount"]) == (1, 1)
    async with runtime.session_factory() as session:
        stored = (await session.scalars(select(c.DeviceKey))).one()
        labels = (await session.scalars(select(c.DeviceLabel.label).order_by(c.DeviceLabel.label))).all()
    assert open_device_key(runtime.sealer, stored).hex().upper() == key
    assert labels == ["north", "roof"]


async def add_existing_devices_and_another_manufacturer(runtime, world):
    """EXISTS-1 and EXISTS-2 in the catalogue, and a product type of another manufacturer."""
    await add_devices(
        runtime,
        world.organisations["a"].id,
        [("EXISTS-1", "TOPAS Lora W8", False, []), ("EXISTS-2", "TOPAS Mbus", False, [])],
    )
    async with runtime.session_factory() as session, session.begin():
        session.add(
            c.ProductType(
                name="Other Meter",
                manufacturer="Other GmbH",
                radio_technology=c.RadioTechnology.LORAWAN,
                key_kinds=["LORAWAN_APP_KEY"],
            )
        )


async def test_every_bad_row_is_reported_and_nothing_is_stored(client, world, runtime):
    await add_existing_devices_and_another_manufacturer(runtime, world)
    good = key_hex()
    rows = [
        f"OK-1,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{good}",  # 2 good
        f"BAD-2,No Such Meter,LORAWAN_APP_KEY,AES_128,{key_hex()}",  # 3 unknown product type
        f"BAD-3,aquastream LoRa,LORAWAN_FOO_KEY,AES_128,{key_hex()}",  # 4 unknown key kind
        f"BAD-4,aquastream LoRa,LORAWAN_APP_KEY,AES_512,{key_hex()}",  # 5 unknown algorithm
        "BAD-5,aquastream LoRa,LORAWAN_APP_KEY,AES_128,00112233445566778899AABBCCDDEEZZ",  # 6 not hex
        f"BAD-6,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{key_hex(24)}",  # 7 wrong length
        f"BAD-7,aquastream LoRa,OMS_KEY,AES_128,{key_hex()}",  # 8 kind not carried
        f"BAD 8,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{key_hex()}",  # 9 malformed serial
        f"EXISTS-1,TOPAS Lora W8,LORAWAN_APP_KEY,AES_128,{key_hex()}",  # 10 already in the catalogue
        f"OK-1,TOPAS Lora W8,LORAWAN_APP_KEY,AES_128,{key_hex()}",  # 11 other product type than line 2
        f"OK-12,TOPAS SONIC,OMS_KEY,AES_128,{key_hex()}",  # 12 good
        f"OK-12,TOPAS SONIC,OMS_KEY,AES_128,{key_hex()}",  # 13 duplicate (serial, kind)
        f"BAD-14,aquastream LoRa,LORAWAN_APP_KEY,{key_hex()}",  # 14 too few fields
        f",aquastream LoRa,LORAWAN_APP_KEY,AES_128,{key_hex()}",  # 15 serial missing
        "BAD-16,aquastream LoRa,LORAWAN_APP_KEY,AES_128,",  # 16 key missing
        f"EXISTS-2,Other Meter,LORAWAN_APP_KEY,AES_128,{key_hex()}",  # 17 good: another manufacturer's namespace
        f"BAD-18,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{key_hex()},extra",  # 18 too many fields
        f"BAD-19,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{key_hex()[:-1]}",  # 19 odd number of hex digits
    ]
    content = HEADER + "\n" + "\n".join(rows) + "\n"
    before = await snapshot(runtime)
    result = await import_file(client, world, content)
    assert (result["deviceCount"], result["keyCount"], result["dryRun"]) == (0, 0, False)
    assert lines_of(result) == [
        (3, "product_type", "NOT_FOUND"),
        (4, "key_kind", "INVALID"),
        (5, "algorithm", "INVALID"),
        (6, "key", "INVALID"),
        (7, "key", "INVALID"),
        (8, "key_kind", "INVALID"),
        (9, "serial_number", "INVALID"),
        (10, "serial_number", "DUPLICATE"),
        (11, "product_type", "INVALID"),
        (11, "key_kind", "DUPLICATE"),  # OK-1 has its LORAWAN_APP_KEY on line 2 already
        (13, "key_kind", "DUPLICATE"),
        (14, None, "INVALID"),
        (15, "serial_number", "REQUIRED"),
        (16, "key", "REQUIRED"),
        (18, None, "INVALID"),
        (19, "key", "INVALID"),
    ], result
    assert result["errorCount"] == 16
    messages: dict[int, str] = {}
    for error in result["errors"]:
        messages[int(error["field"][1])] = messages.get(int(error["field"][1]), "") + error["message"]
    assert "AES_128 key has 16 bytes" in messages[7] and "not 24" in messages[7]
    assert "carries no OMS_KEY" in messages[8]
    assert "another product type on line 2" in messages[11] and "LORAWAN_APP_KEY key on line 2" in messages[11]
    assert "on line 12" in messages[13]
    assert "4 fields, but the header has 5" in messages[14] and "6 fields" in messages[18]
    assert await snapshot(runtime) == before  # nothing stored, not even an audit event


async def test_the_column_count_error_points_at_the_row_not_a_column(client, world):
    result = await import_file(client, world, HEADER + "\nA,B\n")
    assert result["errors"] == [
        {"code": "INVALID", "field": ["file", "2"], "message": "Line 2: 2 fields, but the header has 5."}
    ]


@pytest.mark.parametrize(
    ("content", "name", "code", "message"),
    [
        (b"", "keys.csv", "REQUIRED", "The file is empty"),
        (b"\xef\xbb\xbf \n\n", "keys.csv", "REQUIRED", "The file is empty"),
        (HEADER.encode() + b"\n", "keys.csv", "REQUIRED", "header but no rows"),
        (
            b"serial,type,kind,algorithm,key\nA,B,C,D,E\n",
            "keys.csv",
            "INVALID",
            "Line 1: the header must name the columns",
        ),
        (
            HEADER.encode() + b",colour\n",
            "keys.csv",
            "INVALID",
            "Line 1: the header names an unknown or repeated column",
        ),
        (HEADER.encode() + b",key\n", "keys.csv", "INVALID", "Line 1: the header names an unknown or repeated column"),
        (HEADER.encode() + b"\nA1,TOPAS SONIC,OMS_KEY,AES_128,\xff\xfe\n", "keys.csv", "INVALID", "Line 2: not UTF-8"),
        (HEADER.encode() + b"\n", "keys.xlsx", "INVALID", "must end in .csv or .txt or .tsv"),
        (
            HEADER.encode() + b'\nA1,TOPAS SONIC,OMS_KEY,AES_128,"' + b"0" * 200_000 + b'"\n',
            "keys.csv",
            "INVALID",
            "Line 2: unreadable CSV (a field over 131072 characters?); the rest was not read.",
        ),
    ],
)
async def test_whole_file_problems(client, world, runtime, content, name, code, message):
    before = await counts(runtime)
    result = await import_file(client, world, content, name=name)
    assert result["errorCount"] == 1 and result["errors"][0]["code"] == code, result
    assert message in result["errors"][0]["message"]
    assert await counts(runtime) == before


async def test_dry_run_checks_and_stores_nothing(client, world, runtime):
    content = (
        HEADER
        + "\n"
        + "\n".join(
            f"DRY-{i},TOPAS SONIC,{kind},AES_128,{key_hex()}"
            for i in range(3)
            for kind in ("LORAWAN_APP_KEY", "OMS_KEY")
        )
        + "\n"
    )
    before = await snapshot(runtime)
    result = await import_file(client, world, content, dry_run=True)
    assert result == {"deviceCount": 3, "keyCount": 6, "dryRun": True, "errorCount": 0, "errors": []}
    assert await snapshot(runtime) == before
    bad = await import_file(client, world, content + "DRY-9,TOPAS SONIC,OMS_KEY,AES_128,00\n", dry_run=True)
    assert bad["dryRun"] is True and lines_of(bad) == [(8, "key", "INVALID")]
    assert await snapshot(runtime) == before
    # the real run afterwards stores what the dry run promised
    assert (await import_file(client, world, content))["deviceCount"] == 3


@pytest.mark.parametrize("user", ["admin_a", "user_a", "admin_b"])
async def test_only_platform_admins_import(client, world, runtime, user):
    content = HEADER + f"\nNOPE-1,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{key_hex()}\n"
    before = await counts(runtime)
    body = await upload(client, world.tokens[user], content)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await upload(client, None, content)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await counts(runtime) == before


async def test_errors_are_capped_with_a_count_of_the_rest(client, world, runtime):
    content = (
        HEADER + "\n" + "\n".join(f"CAP-{i},No Such Meter,OMS_KEY,AES_128,{key_hex()}" for i in range(1500)) + "\n"
    )
    result = await import_file(client, world, content)
    assert result["errorCount"] == 1500  # one problem per row: the product type
    assert len(result["errors"]) == imports.MAX_REPORTED_ERRORS + 1
    assert [int(e["field"][1]) for e in result["errors"][:-1]] == list(range(2, 2 + imports.MAX_REPORTED_ERRORS))
    assert result["errors"][-1] == {"code": "TOO_MANY", "field": ["file"], "message": "… and 500 more problems."}
    assert (await counts(runtime))["device"] == 0


def test_too_many_rows():
    """Reading stops at the limit with one error on the first line past it."""
    content = (HEADER + "\n" + "x\n" * (parsing.MAX_ROWS + 5)).encode()  # rows of one field: cheap to check
    problems = RowProblems("file", None)
    parsing.parse(content, [], problems)
    assert problems.count == parsing.MAX_ROWS + 1
    last = problems.kept[-1]
    assert (last.line, last.code.value, last.message) == (
        parsing.MAX_ROWS + 2,
        "TOO_MANY",
        f"Line {parsing.MAX_ROWS + 2}: more than {parsing.MAX_ROWS} rows: split the file.",
    )


async def test_a_file_of_20000_rows(client, world, runtime, count_sql):
    devices = 10_000
    lines = [HEADER]
    expected = {}
    for i in range(devices):
        for kind in ("LORAWAN_APP_KEY", "OMS_KEY"):
            key = key_hex()
            lines.append(f"BIG-{i:06d},TOPAS SONIC,{kind},AES_128,{key}")
            if i % 997 == 0:
                expected[(f"BIG-{i:06d}", kind)] = key
    started = time.monotonic()
    with count_sql() as counter:
        result = await import_file(client, world, "\n".join(lines) + "\n")
    elapsed = time.monotonic() - started
    assert result == {"deviceCount": devices, "keyCount": 2 * devices, "dryRun": False, "errorCount": 0, "errors": []}
    assert counter.count < 150, counter.count  # bulk: a statement per 1000 rows, not per row
    assert elapsed < 120
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(c.Device)) == devices
        assert await session.scalar(select(func.count()).select_from(c.DeviceKey)) == 2 * devices
        sample = (
            await session.execute(
                select(c.Device.serial_number, c.DeviceKey)
                .join(c.DeviceKey, c.DeviceKey.device_id == c.Device.id)
                .where(c.Device.serial_number.in_({serial for serial, _ in expected}))
            )
        ).all()
    assert {
        (serial, key.kind.value): open_device_key(runtime.sealer, key).hex().upper() for serial, key in sample
    } == expected
    # re-importing the same file: every device is already in the catalogue, and nothing changes
    again = await import_file(client, world, "\n".join(lines) + "\n")
    assert again["errorCount"] == devices and again["errors"][0]["code"] == "DUPLICATE"


async def test_no_key_in_errors_logs_or_audit(client, world, runtime, caplog):
    caplog.set_level(logging.DEBUG)
    secret_keys = [key_hex(), key_hex(), key_hex(24), key_hex()]
    content = (
        HEADER + "\n"
        f"LEAK-1,aquastream LoRa,OMS_KEY,AES_128,{secret_keys[0]}\n"  # kind not carried
        f"LEAK-2,aquastream LoRa,LORAWAN_APP_KEY,DES,{secret_keys[1]}\n"  # wrong length
        f"LEAK-3,{secret_keys[2]},LORAWAN_APP_KEY,AES_128,{secret_keys[2]}\n"  # a key in the product type column
        f"{secret_keys[3]} x,aquastream LoRa,{secret_keys[3]},{secret_keys[3]},{secret_keys[3]}\n"  # a key everywhere
        f"LEAK-5,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{secret_keys[3]},{secret_keys[3]}\n"  # too many fields
    )
    body = await upload(client, world.tokens["platform"], content)
    result = body["data"]["deviceImport"]
    assert result["errorCount"] >= 5
    good_key = key_hex()
    ok = await import_file(client, world, HEADER + f"\nLEAK-OK,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{good_key}\n")
    assert ok["deviceCount"] == 1
    async with runtime.session_factory() as session:
        details = [json.dumps(e.details) for e in (await session.scalars(select(AuditEvent))).all()]
    text = json.dumps(body) + json.dumps(ok) + caplog.text + "".join(details)
    for key in [*secret_keys, good_key]:
        for form in (key, key.lower(), key[:16], key[:16].lower()):
            assert form not in text


def test_cli_import_refuses_then_imports(tmp_path):
    assert run_fleetgraph(tmp_path, "migrate").returncode == 0
    key = key_hex()
    good = tmp_path / "keys.csv"
    good.write_text(
        HEADER + f"\nCLI-1,TOPAS SONIC,LORAWAN_APP_KEY,AES_128,{key}\nCLI-1,TOPAS SONIC,OMS_KEY,AES_128,{key_hex()}\n"
        f"CLI-2,TOPAS Mbus,OMS_KEY,AES_128,{key_hex()}\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "".join(f"\nCLI-B{i},No Such Meter,OMS_KEY,AES_128,{key}" for i in range(1200))
        + f"\nCLI-X,TOPAS SONIC,OMS_KEY,AES_128,{key[:-2]}\n"
    )

    refused = run_fleetgraph(tmp_path, "import-devices", str(bad))
    assert refused.returncode == 1
    printed = [line for line in refused.stderr.splitlines() if ": Line " in line]
    assert len(printed) == 1201  # every bad row, no cap on the command line
    assert printed[0].endswith("Line 2: unknown product type (the names are listed by the productTypes query).")
    assert "Line 1202: a AES_128 key has 16 bytes (32 hex characters), not 15" in refused.stderr
    assert "1201 problems; nothing was imported" in refused.stderr
    assert key not in refused.stderr + refused.stdout and key.lower() not in refused.stderr + refused.stdout

    dry = run_fleetgraph(tmp_path, "import-devices", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would import 2 devices with 3 keys" in dry.stdout
    done = run_fleetgraph(tmp_path, "import-devices", str(good))
    assert done.returncode == 0, done.stderr
    assert "imported 2 devices with 3 keys" in done.stdout
    # the second run proves the first stored them (and the dry run did not: it would have refused the first)
    again = run_fleetgraph(tmp_path, "import-devices", str(good))
    assert again.returncode == 1
    assert "Line 2: the serial number is already in the catalogue." in again.stderr
    assert "Line 4: the serial number is already in the catalogue." in again.stderr
    missing = run_fleetgraph(tmp_path, "import-devices", str(tmp_path / "nope.csv"))
    assert missing.returncode != 0


def test_cli_audit_event(tmp_path):
    """The CLI's import is in the audit history with actor "cli"; the keys open with the same master key."""
    import sqlite3

    assert run_fleetgraph(tmp_path, "migrate").returncode == 0
    key = key_hex()
    path = tmp_path / "k.txt"
    path.write_text(HEADER + f"\nAUD-1,aquastream LoRa,LORAWAN_APP_KEY,AES_128,{key}\n")
    assert run_fleetgraph(tmp_path, "import-devices", str(path)).returncode == 0
    with sqlite3.connect(tmp_path / "fleetgraph.db") as db:
        actor, details = db.execute(
            "SELECT actor_label, details FROM audit_event WHERE action = 'devices.imported'"
        ).fetchone()
        device_id, kind, algorithm, sealed = db.execute(
            "SELECT device_id, kind, algorithm, sealed FROM device_key"
        ).fetchone()
    assert actor == "cli"
    assert json.loads(details) == {
        "deviceCount": 1,
        "keyCount": 1,
        "source": "cli",
        "filename": "k.txt",
        "productTypes": {"aquastream LoRa": 1},
    }
    from graph.secrets import load_sealer
    from graph.settings import Settings

    sealer = load_sealer(Settings(data_dir=tmp_path))
    row = c.DeviceKey(device_id=device_id, kind=c.KeyKind(kind), algorithm=c.KeyAlgorithm(algorithm), sealed=sealed)
    assert open_device_key(sealer, row).hex().upper() == key
