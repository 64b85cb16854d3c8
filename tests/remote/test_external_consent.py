"""Consent of external users: externalUserAdd only invites an address. Until the user (or an admin of
their organisation) accepts, the inviting side learns nothing of the address (whether anybody has it,
in which organisation) and cannot give it locations; after it, the inviting side sees their name and
e-mail address only, wherever the user shows up (externalUsers, a location's users, effective access,
location groups, notification profiles), never their roles, 2FA, organisation or its ID."""

from __future__ import annotations

import json

from sqlalchemy import select

from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from models.audit import AuditEvent
from tests.factories import UNKNOWN_PK, add_organisation, snapshot
from tests.remote.access_helpers import ACCESS_SET, add_locations

ADD = """mutation($input: ExternalUserAddInput!) {
  externalUserAdd(input: $input) { invitation { id email organisationName organisation { name } } errors { code
    field message } }
}"""
ACCEPT = """mutation($input: ExternalUserInvitationIdInput!) {
  externalUserInvitationAccept(input: $input) { externalUser { user { id name email } organisation { name } }
    errors { code field } }
}"""
DELETE = """mutation($input: ExternalUserInvitationIdInput!) {
  externalUserInvitationDelete(input: $input) { deletedId errors { code field } }
}"""
SENT = "{ externalUserInvitations { totalCount nodes { email organisationName organisation { name } } } }"
RECEIVED = "{ receivedExternalUserInvitations { totalCount nodes { email organisationName organisation { name } } } }"
NODE = "query($id: ID!) { node(id: $id) { ... on ExternalUserInvitation { email organisationName } } }"
#: Everything a User shows: of an external user only name and e-mail may come through.
USER_FIELDS = (
    "id name email roles grantedPermissions groups { name } twoFactorEnabled twoFactorRequired isActive language "
    "csvDelimiter csvThousandsSeparator createdAt organisation { organisationId name yourReference }"
)


async def call(gql, world, document: str, root: str, token: str = "admin_a", **given) -> dict:
    result = await gql(document, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"][root]


async def invite(gql, world, email: str, token: str = "admin_a") -> dict:
    made = await call(gql, world, ADD, "externalUserAdd", token=token, email=email)
    assert made["errors"] == [], made
    return made["invitation"]


async def audit(runtime, organisation_id: int) -> list[str]:
    async with runtime.session_factory() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.organisation_id == organisation_id)
                    .order_by(AuditEvent.id)
                )
            ).all()
        )


async def test_an_invitation_tells_nothing_of_the_address(gql, world, runtime):
    answers = {}
    for address in ("user@b.example", "nobody@nowhere.example", "root@platform.example"):
        invitation = await invite(gql, world, address)
        invitation.pop("id")
        answers[address] = json.dumps(invitation, sort_keys=True).replace(address, "<address>")
    # a user of B, an address nobody has and the platform's admin: the same answer
    assert len(set(answers.values())) == 1
    assert json.loads(answers["user@b.example"]) == {
        "email": "<address>",
        "organisationName": "Tenant A",
        "organisation": {"name": "Tenant A"},
    }
    assert (await gql(SENT, token=world.tokens["admin_a"]))["data"]["externalUserInvitations"]["totalCount"] == 3
    # not let in yet: B's user reads like an unknown one, and nothing of them shows
    assert (await gql("{ externalUsers { totalCount } }", token=world.tokens["admin_a"]))["data"]["externalUsers"][
        "totalCount"
    ] == 0
    places = await add_locations(runtime, world, {"Depot": "a"})
    before = await snapshot(runtime)
    for user_id in (world.id("User", "user_b"), to_global_id("User", UNKNOWN_PK)):
        refused = await call(
            gql, world, ACCESS_SET, "locationAccessSet", locationId=places.ids["Depot"], userIds=[user_id]
        )
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["userIds", "0"])]
    assert await snapshot(runtime) == before
    assert await audit(runtime, world.organisations["b"].id) == []  # B's history tells A nothing either


async def test_only_the_invited_side_accepts(gql, world, runtime):
    invitation = await invite(gql, world, "user@b.example")
    before = await snapshot(runtime)
    # the inviting side may not accept for them; someone neither side reads it like an unknown one
    assert (await call(gql, world, ACCEPT, "externalUserInvitationAccept", id=invitation["id"]))["errors"] == [
        {"code": "NOT_ALLOWED", "field": ["id"]}
    ]
    unknown = to_global_id("ExternalUserInvitation", UNKNOWN_PK)
    for token, invitation_id in (("user_a", invitation["id"]), ("user_a", unknown), ("user_a1", invitation["id"])):
        refused = await call(gql, world, ACCEPT, "externalUserInvitationAccept", token=token, id=invitation_id)
        assert refused["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}], token
        assert (await gql(NODE, {"id": invitation_id}, token=world.tokens[token]))["data"]["node"] is None
    assert await snapshot(runtime) == before

    # the invited user and their organisation's admin see it: who invites, not the inviter's organisation itself
    expected = {
        "totalCount": 1,
        "nodes": [{"email": "user@b.example", "organisationName": "Tenant A", "organisation": None}],
    }
    for token in ("user_b", "admin_b"):
        assert (await gql(RECEIVED, token=world.tokens[token]))["data"]["receivedExternalUserInvitations"] == expected
    for token in ("user_a", "admin_a", "user_a1"):
        assert (await gql(RECEIVED, token=world.tokens[token]))["data"]["receivedExternalUserInvitations"][
            "totalCount"
        ] == 0
    # B's admin accepts for their user
    accepted = await call(gql, world, ACCEPT, "externalUserInvitationAccept", token="admin_b", id=invitation["id"])
    assert accepted == {
        "externalUser": {
            "user": {"id": world.id("User", "user_b"), "name": "User", "email": "user@b.example"},
            "organisation": {"name": "Tenant A"},
        },
        "errors": [],
    }
    assert await audit(runtime, world.organisations["a"].id) == ["external_user.invited", "external_user.added"]
    assert await audit(runtime, world.organisations["b"].id) == ["external_user.invitation_accepted"]
    # A's history names the invited address, not which of B's people acted, nor from where
    history = (
        await gql(
            "{ auditEvents(first: 5) { nodes { action actor clientAddress details } } }", token=world.tokens["admin_a"]
        )
    )["data"]["auditEvents"]["nodes"]
    added = next(event for event in history if event["action"] == "external_user.added")
    assert (added["actor"], added["clientAddress"]) == ("user@b.example", "")
    assert "admin@b.example" not in json.dumps(history)
    # spent
    again = await call(gql, world, ACCEPT, "externalUserInvitationAccept", token="user_b", id=invitation["id"])
    assert again["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    assert (await gql(SENT, token=world.tokens["admin_a"]))["data"]["externalUserInvitations"]["totalCount"] == 0


async def grant_group_and_notify(gql, world, places, external: str):
    """A's admin gives the external user the depot, puts them in a location group and a notification profile."""
    given = await call(
        gql,
        world,
        ACCESS_SET,
        "locationAccessSet",
        locationId=places.ids["Depot"],
        userIds=[external, world.id("User", "user_a")],
    )
    assert given["errors"] == []
    group = await gql(
        """mutation($input: LocationGroupCreateInput!) { locationGroupCreate(input: $input) { errors { code } } }""",
        {"input": {"name": "North", "locationIds": [places.ids["Depot"]], "userIds": [external]}},
        token=world.tokens["admin_a"],
    )
    assert group["data"]["locationGroupCreate"]["errors"] == []
    profile = await gql(
        """mutation($input: NotificationProfileCreateInput!) {
      notificationProfileCreate(input: $input) { errors { code } } }""",
        {"input": {"name": "Night", "offlineMinutes": 5, "userIds": [external]}},
        token=world.tokens["admin_a"],
    )
    assert profile["data"]["notificationProfileCreate"]["errors"] == []


async def users_seen_by_admin_a(gql, world) -> dict:
    """The users of A's locations (direct, effective, by group), groups and profiles, as A's admin sees them."""
    data = {}
    for document in (
        f"{{ locations(first: 5) {{ nodes {{ users {{ {USER_FIELDS} }} "
        f"effectiveAccess {{ user {{ {USER_FIELDS} }} }} }} }} }}",
        f"{{ locations(first: 5) {{ nodes {{ groups {{ users {{ {USER_FIELDS} }} }} }} }} }}",
        f"{{ locationGroups(first: 5) {{ nodes {{ users {{ {USER_FIELDS} }} }} }} }}",
        f"{{ notificationProfiles(first: 5) {{ nodes {{ users {{ {USER_FIELDS} }} }} }} }}",
    ):
        seen = await gql(document, token=world.tokens["admin_a"])
        assert "errors" not in seen, seen
        for key, value in seen["data"].items():
            if key in data:  # the second locations query: merge its groups in
                data[key]["nodes"][0].update(value["nodes"][0])
            else:
                data[key] = value
    return data


async def test_after_consent_the_inviting_side_sees_name_and_email_only(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a"})
    invitation = await invite(gql, world, "user@b.example")
    assert (await call(gql, world, ACCEPT, "externalUserInvitationAccept", token="user_b", id=invitation["id"]))[
        "errors"
    ] == []
    external = world.id("User", "user_b")
    # externalUsers: a person, not a User: roles, 2FA and organisation are no fields of it
    refused = await gql.raw(
        "{ externalUsers { nodes { user { roles twoFactorEnabled organisation { organisationId } } } } }",
        None,
        world.tokens["admin_a"],
    )
    assert refused.status_code == 400 and "Cannot query field 'roles' on type 'ExternalPerson'" in refused.text

    await grant_group_and_notify(gql, world, places, external)

    data = await users_seen_by_admin_a(gql, world)
    outsider = {
        "id": external,
        "name": "User",
        "email": "user@b.example",
        "roles": [],
        "grantedPermissions": [],
        "groups": [],
        "twoFactorEnabled": None,
        "twoFactorRequired": None,
        "isActive": None,
        "language": None,
        "csvDelimiter": None,
        "csvThousandsSeparator": None,
        "createdAt": None,
        "organisation": None,
    }
    location = data["locations"]["nodes"][0]
    [b_user] = [u for u in location["users"] if u["email"] == "user@b.example"]
    [a_user] = [u for u in location["users"] if u["email"] == "user@a.example"]
    assert b_user == outsider
    # A's own user, seen by A's admin: everything
    assert a_user["roles"] == ["USER"] and a_user["organisation"]["name"] == "Tenant A" and a_user["isActive"] is True
    [b_entry] = [e["user"] for e in location["effectiveAccess"] if e["user"]["email"] == "user@b.example"]
    assert b_entry == outsider
    assert location["groups"][0]["users"] == [outsider]
    assert data["locationGroups"]["nodes"][0]["users"] == [outsider]
    assert data["notificationProfiles"]["nodes"][0]["users"] == [outsider]
    assert "Tenant B" not in json.dumps(data)
    # and their user ID finds nothing
    assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": external}, token=world.tokens["admin_a"]))[
        "data"
    ]["node"] is None

    # the user sees themselves in full
    me = (
        await gql(
            f"{{ locations(first: 5) {{ nodes {{ users {{ {USER_FIELDS} }} }} }} }}", token=world.tokens["user_b"]
        )
    )["data"]
    assert me["locations"]["nodes"][0]["users"][0]["organisation"]["name"] == "Tenant B"


async def test_declined_and_withdrawn_invitations(gql, world, runtime):
    to_b = await invite(gql, world, "user@b.example")
    to_nobody = await invite(gql, world, "nobody@nowhere.example")
    before = await snapshot(runtime)
    # B's side cannot touch an invitation not addressed to it; A's plain user cannot either
    for token, invitation in (("admin_b", to_nobody), ("user_b", to_nobody), ("user_a", to_b)):
        refused = await call(gql, world, DELETE, "externalUserInvitationDelete", token=token, id=invitation["id"])
        assert refused == {"deletedId": None, "errors": [{"code": "NOT_FOUND", "field": ["id"]}]}, token
    assert await snapshot(runtime) == before
    declined = await call(gql, world, DELETE, "externalUserInvitationDelete", token="admin_b", id=to_b["id"])
    assert declined == {"deletedId": to_b["id"], "errors": []}
    withdrawn = await call(gql, world, DELETE, "externalUserInvitationDelete", id=to_nobody["id"])
    assert withdrawn == {"deletedId": to_nobody["id"], "errors": []}
    assert (await gql(SENT, token=world.tokens["admin_a"]))["data"]["externalUserInvitations"]["totalCount"] == 0
    assert (await call(gql, world, ACCEPT, "externalUserInvitationAccept", token="user_b", id=to_b["id"]))[
        "errors"
    ] == [{"code": "NOT_FOUND", "field": ["id"]}]
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(r.ExternalUser))).all() == []
    assert (await audit(runtime, world.organisations["a"].id))[-2:] == [
        "external_user.invitation_declined",
        "external_user.invitation_withdrawn",
    ]
    assert (await audit(runtime, world.organisations["b"].id)) == ["external_user.invitation_declined"]
    history = (
        await gql("{ auditEvents(first: 10) { nodes { action actor clientAddress } } }", token=world.tokens["admin_a"])
    )["data"]["auditEvents"]["nodes"]
    assert {"action": "external_user.invitation_declined", "actor": "user@b.example", "clientAddress": ""} in history
    assert "admin@b.example" not in json.dumps(history)
    # an invitation may be made again after a refusal
    assert (await invite(gql, world, "user@b.example"))["email"] == "user@b.example"


async def test_invitation_lists_run_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    """Sent and received lists with the inviting organisation: page, totalCount, names, organisations."""
    counts = []
    for size in (3, 30):
        async with runtime.session_factory() as session, session.begin():
            a = await session.get(m.Organisation, world.organisations["a"].id)
            for i in range(size):
                child = await add_organisation(session, f"Inviter {size}-{i:02d}", a)
                session.add(r.ExternalUserInvitation(organisation_id=child.id, email="user@b.example"))
                session.add(
                    r.ExternalUserInvitation(organisation_id=child.id, email=f"guest{size}-{i:02d}@elsewhere.example")
                )
        with count_sql() as sent:
            result = await gql(
                "{ externalUserInvitations(first: 100) { totalCount nodes { email organisationName "
                "organisation { name } } } }",
                token=world.tokens["admin_a"],
            )
        assert result["data"]["externalUserInvitations"]["totalCount"] in (6, 66)
        with count_sql() as received:
            result = await gql(
                "{ receivedExternalUserInvitations(first: 100) { totalCount nodes { email organisationName "
                "organisation { name } } } }",
                token=world.tokens["user_b"],
            )
        assert all(node["organisation"] is None for node in result["data"]["receivedExternalUserInvitations"]["nodes"])
        counts.append((sent.count, received.count))
    # authentication 1 (with the caller's own user and organisation) + page 1 + totalCount 1 + names 1
    # + organisations 1
    assert counts == [(5, 5), (5, 5)]
