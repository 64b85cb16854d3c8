"""Enumeration across tenants: an ID or an e-mail address outside the caller's reach answers exactly like
an unknown one, in filters and in the mutations that take an address.

E-mail addresses are unique on the whole platform. Mutations that only offer something to an address
(invitationCreate/Update, userUpdate's e-mail change, externalUserAdd) accept an address held outside the
caller's reach like a free one; its owner is refused later, when confirming. userCreate makes the account
on the spot, so it cannot take such an address: it answers one DUPLICATE "this e-mail address cannot be
used" for every taken address, never saying where or whose it is.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from graph.relay import to_global_id
from models import identity as m
from models.mail import OutboxMessage
from tests.catalogue.batch_helpers import create as batch_create
from tests.catalogue.batch_helpers import seed as seed_batches
from tests.factories import NEW_PASSWORD, UNKNOWN_PK, snapshot
from tests.identity import email_change_helpers as email_change
from tests.identity import invitation_helpers as invitations
from tests.mail.opened import outbox

ORGANISATIONS = "query($id: ID!) { organisations(filter: {parentId: $id}) { totalCount nodes { name } } }"
USER_CREATE = """mutation($input: UserCreateInput!) {
  userCreate(input: $input) { user { email } errors { code field message } } }"""


def same_apart_from(first: dict, first_value: str, second: dict, second_value: str) -> bool:
    return json.dumps(first, sort_keys=True).replace(first_value, "<X>") == json.dumps(second, sort_keys=True).replace(
        second_value, "<X>"
    )


# --- IDs in filters ----------------------------------------------------------------------------------------


async def test_parent_filter_with_an_invisible_ancestor_reads_like_an_unknown_id(gql, world):
    # A1's user does not see A, but A is A1's parent: the filter must not find A1 through it
    token = world.tokens["user_a1"]
    invisible, unknown = world.id("Organisation", "a"), to_global_id("Organisation", UNKNOWN_PK)
    with_invisible = await gql(ORGANISATIONS, {"id": invisible}, token=token)
    with_unknown = await gql(ORGANISATIONS, {"id": unknown}, token=token)
    assert with_invisible == with_unknown
    assert with_invisible["data"] == {"organisations": {"totalCount": 0, "nodes": []}}
    # control: A's admin sees A, and finds its child through it
    own = await gql(ORGANISATIONS, {"id": invisible}, token=world.tokens["admin_a"])
    assert own["data"]["organisations"] == {"totalCount": 1, "nodes": [{"name": "Tenant A1"}]}


async def test_batch_filters_with_an_invisible_batch_read_like_unknown_ones(gql, world, runtime):
    """A sends A1's device in a pending batch to its partner B: the batch is A's and B's, not A1's."""
    await seed_batches(runtime, world)
    made = await batch_create(gql, world, reference="REF-HIDDEN", serials=["A1-001"])
    assert made["errors"] == []
    batch_id = made["batch"]["id"]
    token = world.tokens["user_a1"]
    query = "query($f: DeviceFilter) { devices(filter: $f) { totalCount nodes { serialNumber batch { reference } } } }"
    by_id = await gql(query, {"f": {"batchId": batch_id}}, token=token)
    by_unknown_id = await gql(query, {"f": {"batchId": to_global_id("Batch", UNKNOWN_PK)}}, token=token)
    by_reference = await gql(query, {"f": {"batchReference": "REF-HIDDEN"}}, token=token)
    by_unknown_reference = await gql(query, {"f": {"batchReference": "REF-NONE"}}, token=token)
    assert by_id == by_unknown_id == by_reference == by_unknown_reference
    assert by_id["data"] == {"devices": {"totalCount": 0, "nodes": []}}
    # A1 still sees its device
    assert (await gql(query, {"f": {"serialNumber": "A1-001"}}, token=token))["data"]["devices"]["totalCount"] == 1
    # control: the sender finds the device through its batch
    seen = await gql(query, {"f": {"batchId": batch_id}}, token=world.tokens["admin_a"])
    assert seen["data"]["devices"]["totalCount"] == 1


# --- e-mail addresses --------------------------------------------------------------------------------------


async def test_invitations_take_an_address_outside_reach_like_a_free_one(gql, world, runtime):
    taken = await invitations.create(gql, world, email="User@B.example")  # B's user: outside A's reach
    free = await invitations.create(gql, world, email="nobody@nowhere.example")
    for payload in (taken, free):
        payload["invitation"].pop("id"), payload["invitation"].pop("createdAt"), payload["invitation"].pop("expiresAt")
        payload.pop("registrationLink")
    assert same_apart_from(taken, "user@b.example", free, "nobody@nowhere.example")
    # within reach the admin already sees the user: refused at once
    result = await gql(
        invitations.CREATE, {"input": {"name": "Ida", "email": "user@a1.example"}}, token=world.tokens["admin_a"]
    )
    assert invitations.errors(result, "invitationCreate") == [("DUPLICATE", ["email"])]


async def test_the_owner_of_a_taken_address_is_refused_when_accepting(gql, world, runtime):
    created = await invitations.create(gql, world, email="user@b.example")
    before = await snapshot(runtime)
    refused = await invitations.accept(gql, invitations.token_of(created["registrationLink"]))
    assert [(e["code"], e["field"], e["message"]) for e in refused["errors"]] == [
        ("DUPLICATE", ["email"], "this e-mail address cannot be used")
    ]
    assert await snapshot(runtime) == before  # the invitation stays open, no user is made


async def test_an_email_change_to_an_address_outside_reach_waits_for_its_owner(gql, world, runtime):
    taken = await email_change.change(gql, world, "admin@b.example")
    free = await email_change.change(gql, world, "nobody@nowhere.example")
    assert taken == free == {"user": {"email": "user@a.example"}, "errors": []}
    async with runtime.session_factory() as session:
        mails = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [mail.to_address for mail in mails] == ["admin@b.example", "nobody@nowhere.example"]
    # the second request voided the first link; ask again and follow it: the address is B's, so refused
    await email_change.change(gql, world, "admin@b.example")
    mail = (await outbox(runtime))[-1]
    confirmed = await email_change.confirm(gql, email_change.token_of(mail))
    assert confirmed == {"email": None, "errors": [{"code": "DUPLICATE", "field": ["email"]}]}
    async with runtime.session_factory() as session:
        assert (
            await session.scalar(select(m.User.email).where(m.User.id == world.users["user_a"].id)) == "user@a.example"
        )


async def test_user_create_gives_one_answer_for_every_taken_address(gql, world, runtime):
    """userCreate cannot take a taken address (the account exists at once), so it refuses; the answer must
    not say where the address is (guard: the old code answered uniformly too, with another text)."""
    before = await snapshot(runtime)
    answers = []
    for address in ("user@a1.example", "user@b.example", "root@platform.example"):
        result = await gql(
            USER_CREATE,
            {"input": {"name": "New", "email": address, "password": NEW_PASSWORD}},
            token=world.tokens["admin_a"],
        )
        answers.append(result["data"]["userCreate"])
    assert (
        answers
        == [
            {
                "user": None,
                "errors": [{"code": "DUPLICATE", "field": ["email"], "message": "this e-mail address cannot be used"}],
            }
        ]
        * 3
    )
    assert await snapshot(runtime) == before
