"""A batch without confirmation pushes devices into the receiver's catalogue at once: allowed only within
the sender's subtree (platform admins: anywhere) or to a partner that accepted the partnership by adding
the sender as its partner too. A one-sided partner link (anyone who knows an organisation ID can make one)
only ever gives a PENDING batch the receiver may take or reject."""

from __future__ import annotations

from models import identity as m
from tests.catalogue.batch_helpers import DEVICES, create, device_rows, seed
from tests.factories import add_user, issue_token, snapshot

PARTNER_ADD = """mutation($input: PartnerInput!) {
  partnerAdd(input: $input) { organisation { name } errors { code field } }
}"""


async def test_no_confirmation_needs_an_accepted_partnership(gql, world, runtime):
    await seed(runtime, world)  # A → B partner link, one-sided
    before = await snapshot(runtime)
    refused = await create(gql, world, serials=["A-001", "A-002"], confirmationRequired=False)
    assert refused["batch"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ALLOWED", ["confirmationRequired"])]
    assert await snapshot(runtime) == before
    assert (await gql(DEVICES, token=world.tokens["admin_b"]))["data"]["devices"]["totalCount"] == 1  # only B-001

    # with confirmation the one-sided partner still gets the offer, and decides
    pending = await create(gql, world, reference="REF-P", serials=["A-001"])
    assert pending["errors"] == [] and pending["batch"]["state"] == "PENDING"

    # B accepts the partnership by adding A: now devices may move to B without its confirmation
    uuid_a = (await gql("{ me { organisation { organisationId } } }", token=world.tokens["admin_a"]))["data"]["me"][
        "organisation"
    ]["organisationId"]
    added = await gql(PARTNER_ADD, {"input": {"partnerOrganisationId": uuid_a}}, token=world.tokens["admin_b"])
    assert added["data"]["partnerAdd"]["errors"] == []
    moved = await create(gql, world, reference="REF-2", serials=["A-002"], confirmationRequired=False)
    assert moved["errors"] == [] and moved["batch"]["state"] == "ACCEPTED"
    assert (await device_rows(runtime, "A-002"))["A-002"][0] == world.organisations["b"].id


async def test_no_confirmation_within_the_subtree_and_from_the_platform(gql, world, runtime):
    await seed(runtime, world)
    child = await create(gql, world, serials=["A-003"], receiver="a1", confirmationRequired=False)
    assert child["errors"] == [] and child["batch"]["state"] == "ACCEPTED"
    # the platform (the manufacturer) hands devices over to any organisation
    platform = await create(
        gql, world, token="platform", reference="PLAT-1", serials=["FREE-001"], confirmationRequired=False
    )
    assert platform["errors"] == [] and platform["batch"]["state"] == "ACCEPTED"


async def test_consent_must_name_the_sender_itself(gql, world, runtime):
    """A1 sends; B consented to A1's parent A only: that is no consent to A1."""
    await seed(runtime, world)
    a, a1, b = (world.organisations[k] for k in ("a", "a1", "b"))
    async with runtime.session_factory() as session, session.begin():
        session.add(m.PartnerLink(organisation_id=a1.id, partner_id=b.id))  # A1 links B one-sidedly
        session.add(m.PartnerLink(organisation_id=b.id, partner_id=a.id))  # B links A, not A1
        admin_a1 = await add_user(session, a1, "admin@a1.example", [m.Role.ORGANISATION_ADMIN])
        world.tokens["admin_a1"] = await issue_token(session, admin_a1)
    before = await snapshot(runtime)
    refused = await create(
        gql, world, token="admin_a1", reference="A1-1", serials=["A1-001"], confirmationRequired=False
    )
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ALLOWED", ["confirmationRequired"])]
    assert await snapshot(runtime) == before
    # A itself may: B consented to A
    moved = await create(gql, world, reference="A-1", serials=["A-004"], confirmationRequired=False)
    assert moved["errors"] == [] and moved["batch"]["state"] == "ACCEPTED"
