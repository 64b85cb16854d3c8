"""What the batch tests share: the batch mutations, seeded devices and reading devices back."""

from __future__ import annotations

from sqlalchemy import select

from models import catalogue as c
from models import identity as m
from tests.factories import add_devices, add_user

CREATE = """mutation($input: BatchCreateInput!) {
  batchCreate(input: $input) {
    batch { id reference label state confirmationRequired decidedAt deviceCount organisationName senderOrganisationName
            organisation { name } senderOrganisation { name } createdBy { email }
            devices { totalCount nodes { serialNumber claimStatus organisation { name } } } }
    errors { code field message }
  }
}"""
TAKE = """mutation($input: BatchTakeOwnershipInput!) {
  batchTakeOwnership(input: $input) {
    batch { reference state decidedAt deviceCount organisation { name }
            devices { totalCount nodes { serialNumber claimStatus claimedAt organisation { name } batch {
              reference } } } }
    errors { code field message }
  }
}"""
REJECT = """mutation($input: BatchRejectInput!) {
  batchReject(input: $input) { batch { reference state decidedAt deviceCount } errors { code field message } }
}"""
DEVICES = "{ devices(first: 100) { totalCount nodes { serialNumber } } }"


async def seed(runtime, world) -> dict[str, int]:
    """A owns four devices (one claimed), A1 one, B one; one is not handed over yet. A may hand batches to B."""
    a, a1, b = (world.organisations[k].id for k in ("a", "a1", "b"))
    ids = await add_devices(
        runtime,
        a,
        [
            ("A-001", "TOPAS Lora W8", True, []),
            ("A-002", "TOPAS Lora W8", False, []),
            ("A-003", "TOPAS Mbus", False, []),
            ("A-004", "TOPAS Mbus", False, []),
        ],
    )
    ids |= await add_devices(runtime, a1, [("A1-001", "TOPAS Mbus", False, [])])
    ids |= await add_devices(runtime, b, [("B-001", "TOPAS Mbus", False, [])])
    ids |= await add_devices(
        runtime, None, [("FREE-001", "TOPAS Mbus", False, []), ("FREE-002", "TOPAS Mbus", False, [])]
    )
    async with runtime.session_factory() as session, session.begin():
        session.add(m.PartnerLink(organisation_id=a, partner_id=b))
        organisation_b = await session.get(m.Organisation, b)
        await add_user(
            session, organisation_b, "chef@b.example", [m.Role.ORGANISATION_ADMIN], name="Chefin B", language="de"
        )
        await add_user(session, organisation_b, "gone@b.example", [m.Role.ORGANISATION_ADMIN], is_active=False)
    return ids


def create_input(world, reference="REF-1", serials=("A-001", "A-002"), receiver="b", **extra) -> dict:
    return {
        "input": {
            "reference": reference,
            "label": "spring delivery",
            "organisationId": world.id("Organisation", receiver),
            "serialNumbers": list(serials),
            **extra,
        }
    }


async def create(gql, world, token="admin_a", **kwargs) -> dict:
    result = await gql(CREATE, create_input(world, **kwargs), token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["batchCreate"]


async def device_rows(runtime, *serials) -> dict[str, tuple]:
    async with runtime.session_factory() as session:
        rows = (
            await session.execute(
                select(
                    c.Device.serial_number,
                    c.Device.organisation_id,
                    c.Device.batch_id,
                    c.Device.claim_status,
                    c.Device.claimed_at,
                ).where(c.Device.serial_number.in_(serials))
            )
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}
