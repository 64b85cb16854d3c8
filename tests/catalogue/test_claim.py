"""Claiming devices, one and many: the manuals' "Claim device"."""

from __future__ import annotations

from sqlalchemy import select

from models import catalogue as c
from models.audit import AuditEvent
from tests.factories import add_devices, snapshot

CLAIM = """mutation($input: DeviceClaimInput!) {
  deviceClaim(input: $input) { device { serialNumber claimStatus claimedAt organisation { name } } errors { code
    field message } }
}"""
BULK = """mutation($input: DeviceClaimBulkInput!) {
  deviceClaimBulk(input: $input) {
    dryRun claimedCount results { serialNumber outcome device { serialNumber claimStatus } } errors { code field
      message }
  }
}"""


async def seed(runtime, world) -> dict[str, int]:
    ids = await add_devices(
        runtime,
        world.organisations["a"].id,
        [
            ("21N001052", "TOPAS Lora W8", True, []),
            ("21N001064", "TOPAS Lora W8", False, []),
            ("9999991", "CalecST III WM-Bus", False, []),
        ],
    )
    ids |= await add_devices(runtime, world.organisations["a1"].id, [("9999992", "aquastream LoRa", False, [])])
    ids |= await add_devices(
        runtime,
        world.organisations["b"].id,
        [("B-UNCLAIMED", "TOPAS Mbus", False, []), ("B-CLAIMED", "TOPAS Mbus", True, [])],
    )
    ids |= await add_devices(runtime, None, [("NOT-HANDED-OVER", "TOPAS Mbus", False, [])])
    return ids


async def status(runtime, serial: str) -> tuple[c.ClaimStatus, object]:
    async with runtime.session_factory() as session:
        row = (
            await session.execute(
                select(c.Device.claim_status, c.Device.claimed_at).where(c.Device.serial_number == serial)
            )
        ).one()
    return row[0], row[1]


async def test_claim_one_device(gql, world, runtime):
    await seed(runtime, world)
    result = (await gql(CLAIM, {"input": {"serialNumber": " 21N001064 "}}, token=world.tokens["admin_a"]))["data"][
        "deviceClaim"
    ]
    assert result["errors"] == []
    assert result["device"]["claimStatus"] == "CLAIMED" and result["device"]["claimedAt"] is not None
    assert result["device"]["organisation"] == {"name": "Tenant A"}
    claim_status, claimed_at = await status(runtime, "21N001064")
    assert claim_status == c.ClaimStatus.CLAIMED and claimed_at is not None
    async with runtime.session_factory() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "device.claimed"))).all()
    assert [(e.organisation_id, e.details["serialNumber"]) for e in events] == [
        (world.organisations["a"].id, "21N001064")
    ]

    # the parent's admin may claim a device of its child organisation; claiming twice is refused
    result = (await gql(CLAIM, {"input": {"serialNumber": "9999992"}}, token=world.tokens["admin_a"]))["data"][
        "deviceClaim"
    ]
    assert result["errors"] == [] and result["device"]["organisation"] == {"name": "Tenant A1"}
    again = (await gql(CLAIM, {"input": {"serialNumber": "21N001064"}}, token=world.tokens["admin_a"]))["data"][
        "deviceClaim"
    ]
    assert again == {
        "device": None,
        "errors": [{"code": "ALREADY_CLAIMED", "field": ["serialNumber"], "message": "The device is already claimed."}],
    }


async def test_other_organisations_devices_read_like_unknown_ones(gql, world, runtime):
    await seed(runtime, world)
    token = world.tokens["admin_a"]
    before = await snapshot(runtime)
    answers = {}
    for serial in ("B-UNCLAIMED", "B-CLAIMED", "NOT-HANDED-OVER", "NO-SUCH-DEVICE"):
        answers[serial] = (await gql(CLAIM, {"input": {"serialNumber": serial}}, token=token))["data"]["deviceClaim"]
    assert await snapshot(runtime) == before
    expected = {
        "device": None,
        "errors": [{"code": "NOT_FOUND", "field": ["serialNumber"], "message": "No device with this serial number."}],
    }
    assert all(answer == expected for answer in answers.values()), answers
    # B's admin claims B's device; a plain user (no DEVICES_CLAIM) is refused outright
    result = await gql(CLAIM, {"input": {"serialNumber": "B-UNCLAIMED"}}, token=world.tokens["admin_b"])
    assert result["data"]["deviceClaim"]["errors"] == []
    refused = await gql.raw(CLAIM, {"input": {"serialNumber": "9999991"}}, token=world.tokens["user_a1"])
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await status(runtime, "9999991"))[0] == c.ClaimStatus.UNCLAIMED


async def test_claim_bad_input(gql, world, runtime):
    await seed(runtime, world)
    before = await snapshot(runtime)
    for serial, code in (("", "REQUIRED"), ("   ", "REQUIRED"), ("a b", "INVALID"), ("x" * 65, "INVALID")):
        result = (await gql(CLAIM, {"input": {"serialNumber": serial}}, token=world.tokens["admin_a"]))["data"][
            "deviceClaim"
        ]
        assert result["device"] is None and [e["code"] for e in result["errors"]] == [code], serial
    # NUL in any text argument is refused before execution (graph/inputs.py)
    nul = await gql.raw(CLAIM, {"input": {"serialNumber": "a\x00"}}, token=world.tokens["admin_a"])
    assert nul.status_code == 400 and nul.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await snapshot(runtime) == before
    unauthenticated = await gql.raw(CLAIM, {"input": {"serialNumber": "21N001064"}})
    assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_manufacturer_namespace(gql, world, runtime):
    """The same serial number from two manufacturers: the claim must name the manufacturer."""
    await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        product_type = await session.scalar(select(c.ProductType.id).limit(1))
        session.add(
            c.Device(
                manufacturer="Other Metering",
                serial_number="21N001064",
                product_type_id=product_type,
                organisation_id=world.organisations["a"].id,
            )
        )
    token = world.tokens["admin_a"]
    result = (await gql(CLAIM, {"input": {"serialNumber": "21N001064"}}, token=token))["data"]["deviceClaim"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["manufacturer"])]
    result = await gql(CLAIM, {"input": {"serialNumber": "21N001064", "manufacturer": "Other Metering"}}, token=token)
    assert result["data"]["deviceClaim"]["errors"] == []
    assert (await status(runtime, "9999991"))[0] == c.ClaimStatus.UNCLAIMED
    async with runtime.session_factory() as session:
        rows = (
            await session.execute(
                select(c.Device.manufacturer, c.Device.claim_status)
                .where(c.Device.serial_number == "21N001064")
                .order_by(c.Device.manufacturer)
            )
        ).all()
    assert rows == [("INTEGRA Metering AG", c.ClaimStatus.UNCLAIMED), ("Other Metering", c.ClaimStatus.CLAIMED)]


SERIALS = ["21N001064", "21N001052", "B-UNCLAIMED", "B-CLAIMED", "NOT-HANDED-OVER", "NOPE", "9999992", "21N001064"]


async def test_bulk_dry_run_changes_nothing_and_reports_per_serial(gql, world, runtime):
    await seed(runtime, world)
    before = await snapshot(runtime)
    result = await gql(BULK, {"input": {"serialNumbers": SERIALS, "dryRun": True}}, token=world.tokens["admin_a"])
    payload = result["data"]["deviceClaimBulk"]
    assert await snapshot(runtime) == before
    assert payload["dryRun"] is True and payload["claimedCount"] == 0 and payload["errors"] == []
    outcomes = [(line["serialNumber"], line["outcome"]) for line in payload["results"]]
    # repeated serials count once; another organisation's device, claimed or not, reads as UNKNOWN
    assert outcomes == [
        ("21N001064", "CLAIMABLE"),
        ("21N001052", "ALREADY_CLAIMED"),
        ("B-UNCLAIMED", "UNKNOWN"),
        ("B-CLAIMED", "UNKNOWN"),
        ("NOT-HANDED-OVER", "UNKNOWN"),
        ("NOPE", "UNKNOWN"),
        ("9999992", "CLAIMABLE"),
    ]
    assert all(line["device"] is None for line in payload["results"] if line["outcome"] == "UNKNOWN")


async def test_bulk_claims_the_claimable_ones(gql, world, runtime):
    await seed(runtime, world)
    payload = (await gql(BULK, {"input": {"serialNumbers": SERIALS}}, token=world.tokens["admin_a"]))["data"][
        "deviceClaimBulk"
    ]
    assert payload["errors"] == [] and payload["dryRun"] is False and payload["claimedCount"] == 2
    outcomes = {line["serialNumber"]: line["outcome"] for line in payload["results"]}
    assert outcomes == {
        "21N001064": "CLAIMED",
        "21N001052": "ALREADY_CLAIMED",
        "B-UNCLAIMED": "UNKNOWN",
        "B-CLAIMED": "UNKNOWN",
        "NOT-HANDED-OVER": "UNKNOWN",
        "NOPE": "UNKNOWN",
        "9999992": "CLAIMED",
    }
    claimed = next(line for line in payload["results"] if line["serialNumber"] == "9999992")
    assert claimed["device"] == {"serialNumber": "9999992", "claimStatus": "CLAIMED"}
    for serial, expected in (
        ("21N001064", c.ClaimStatus.CLAIMED),
        ("9999992", c.ClaimStatus.CLAIMED),
        ("B-UNCLAIMED", c.ClaimStatus.UNCLAIMED),
        ("NOT-HANDED-OVER", c.ClaimStatus.UNCLAIMED),
        ("9999991", c.ClaimStatus.UNCLAIMED),
    ):
        claim_status, claimed_at = await status(runtime, serial)
        assert claim_status == expected and (claimed_at is not None) == (expected == c.ClaimStatus.CLAIMED), serial
    async with runtime.session_factory() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "device.claimed_bulk")
                .order_by(AuditEvent.organisation_id)
            )
        ).all()
    # one event per owning organisation
    assert [(e.organisation_id, e.details["serialNumbers"]) for e in events] == [
        (world.organisations["a"].id, ["21N001064"]),
        (world.organisations["a1"].id, ["9999992"]),
    ]
    # running it again claims nothing more
    again = (await gql(BULK, {"input": {"serialNumbers": SERIALS}}, token=world.tokens["admin_a"]))["data"][
        "deviceClaimBulk"
    ]
    assert again["claimedCount"] == 0
    assert {line["outcome"] for line in again["results"]} == {"ALREADY_CLAIMED", "UNKNOWN"}


async def test_bulk_bad_input_refuses_everything(gql, world, runtime):
    await seed(runtime, world)
    before = await snapshot(runtime)
    for serials, code, field in (
        ([str(i) for i in range(1001)], "TOO_MANY", ["serialNumbers"]),
        ([], "REQUIRED", ["serialNumbers"]),
        (["21N001064", " "], "REQUIRED", ["serialNumbers", "1"]),
        (["21N001064", "bad serial"], "INVALID", ["serialNumbers", "1"]),
    ):
        payload = (await gql(BULK, {"input": {"serialNumbers": serials}}, token=world.tokens["admin_a"]))["data"][
            "deviceClaimBulk"
        ]
        assert payload["results"] == [] and [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await snapshot(runtime) == before
    forbidden = await gql.raw(BULK, {"input": {"serialNumbers": ["21N001064"]}}, token=world.tokens["user_a"])
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
