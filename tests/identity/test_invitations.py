"""Invitations: every state transition, refused transitions, links (hashed, single use, expiring), the mail, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from graph.auth import hash_token
from graph.relay import to_global_id
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import TemplateType
from resolvers.identity.invitations.rules import PREVIEW_TOKEN
from resolvers.mail.defaults import DEFAULTS
from tests.factories import NEW_PASSWORD, snapshot
from tests.identity.invitation_helpers import CREATE, ERRORS, INVITATION, accept, create, errors, token_of
from tests.mail.opened import outbox

UPDATE = (
    f"mutation($input: InvitationUpdateInput!) {{ invitationUpdate(input: $input) {{ invitation {{ "
    f"{INVITATION} }} {ERRORS} }} }}"
)
SEND = (
    f"mutation($input: InvitationIdInput!) {{ invitationSend(input: $input) {{ invitation {{ "
    f"{INVITATION} }} {ERRORS} }} }}"
)
REVOKE = (
    f"mutation($input: InvitationIdInput!) {{ invitationRevoke(input: $input) {{ invitation {{ "
    f"{INVITATION} }} {ERRORS} }} }}"
)
PREVIEW = (
    f"mutation($input: InvitationIdInput!) {{ invitationPreview(input: $input) {{ subject html text {ERRORS} }} }}"
)
LIST = f"""query($filter: InvitationFilter, $first: Int, $after: String) {{
  invitations(filter: $filter, first: $first, after: $after) {{ totalCount nodes {{ {INVITATION} }} pageInfo {{
    hasNextPage endCursor }} }} }}"""
NODE = "query($id: ID!) { node(id: $id) { ... on Invitation { name state } } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"


async def send(gql, world, invitation_id: str, token="admin_a") -> dict:
    result = await gql(SEND, {"input": {"id": invitation_id}}, token=world.tokens[token])
    assert result["data"]["invitationSend"]["errors"] == [], result
    return result["data"]["invitationSend"]["invitation"]


async def invitation_row(runtime, global_id: str) -> m.Invitation:
    from graph.relay import from_global_id

    async with runtime.session_factory() as session:
        return await session.get(m.Invitation, from_global_id(global_id)[1])


async def expire(runtime, global_id: str) -> None:
    row = await invitation_row(runtime, global_id)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.Invitation).where(m.Invitation.id == row.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def actions(runtime) -> list[str]:
    async with runtime.session_factory() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEvent.action).where(AuditEvent.action.like("invitation.%")).order_by(AuditEvent.id)
                )
            ).all()
        )


# --- create ----------------------------------------------------------------------------------------------


async def test_create_stores_only_the_hash_of_the_token(gql, world, runtime):
    payload = await create(
        gql, world, roles=["USER", "EXTERNAL_USER"], language="DE", organisationId=world.id("Organisation", "a1")
    )
    invitation = payload["invitation"]
    assert {k: invitation[k] for k in ("name", "email", "language", "roles", "state", "sentAt", "acceptedAt")} == {
        "name": "Ida Invited",
        "email": "ida@example.org",
        "language": "DE",
        "roles": ["USER", "EXTERNAL_USER"],
        "state": "CREATED",
        "sentAt": None,
        "acceptedAt": None,
    }
    assert invitation["organisation"] == {"name": "Tenant A1"}
    assert invitation["invitedBy"] == {"email": "admin@a.example"}
    link = payload["registrationLink"]
    assert link.startswith(f"{runtime.settings.link_base_url}/register?token=")
    token = token_of(link)
    assert len(token) >= 40
    row = await invitation_row(runtime, invitation["id"])
    assert row.token_hash == hash_token(token)
    # the token itself is nowhere in the database
    assert all(token not in repr(rows) for rows in (await snapshot(runtime)).values())
    # valid for the configured hours
    assert abs((row.expires_at - row.created_at) - timedelta(hours=runtime.settings.invitation_ttl_hours)) < timedelta(
        minutes=1
    )
    assert await actions(runtime) == ["invitation.created"]


REFUSED_CREATES = {
    "platform admin role": ({"roles": ["PLATFORM_ADMIN"]}, "NOT_ALLOWED", ["roles"]),
    "no roles": ({"roles": []}, "REQUIRED", ["roles"]),
    "other tenant's organisation": ({"organisationId": "B"}, "NOT_FOUND", ["organisationId"]),
    "unknown organisation": ({"organisationId": "UNKNOWN"}, "NOT_FOUND", ["organisationId"]),
    "bad e-mail": ({"email": "not-an-address"}, "INVALID", ["email"]),
    # a user the admin sees; another tenant's address is accepted like a free one (tests/identity/test_enumeration.py)
    "e-mail of an existing user": ({"email": "USER@a1.example"}, "DUPLICATE", ["email"]),
    "blank name": ({"name": "  "}, "REQUIRED", ["name"]),
}


@pytest.mark.parametrize("case", REFUSED_CREATES, ids=list(REFUSED_CREATES))
async def test_create_refuses_and_changes_nothing(gql, world, runtime, case):
    change, code, field = REFUSED_CREATES[case]
    if change.get("organisationId") == "B":
        change = {"organisationId": world.id("Organisation", "b")}
    elif change.get("organisationId") == "UNKNOWN":
        change = {"organisationId": to_global_id("Organisation", 999_999)}
    before = await snapshot(runtime)
    result = await gql(
        CREATE, {"input": {"name": "Ida", "email": "ida@example.org", **change}}, token=world.tokens["admin_a"]
    )
    assert errors(result, "invitationCreate") == [(code, field)]
    assert result["data"]["invitationCreate"]["invitation"] is None
    assert result["data"]["invitationCreate"]["registrationLink"] is None
    assert await snapshot(runtime) == before


async def test_invitations_need_the_permission(gql, world, runtime):
    result = await gql(CREATE, {"input": {"name": "Ida"}}, token=world.tokens["user_a"])
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
    result = await gql(LIST, token=world.tokens["user_a"])
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
    result = await gql(CREATE, {"input": {"name": "Ida"}})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["UNAUTHENTICATED"]


# --- send, preview, the mail ------------------------------------------------------------------------------


async def test_send_writes_the_mail_and_moves_to_sent(gql, world, runtime):
    created = await create(gql, world)
    invitation = await send(gql, world, created["invitation"]["id"])
    assert invitation["state"] == "SENT" and invitation["sentAt"] is not None
    [mail] = await outbox(runtime)
    assert (mail.to_address, mail.template_type, mail.language, mail.organisation_id) == (
        "ida@example.org",
        TemplateType.INVITE_USER,
        "en",
        world.organisations["a"].id,
    )
    assert "Ida Invited" in mail.body_text and "Tenant A" in mail.body_text and "Admin" in mail.body_text
    token = token_of(mail.body_text)
    assert token in mail.body_html
    assert (await invitation_row(runtime, invitation["id"])).token_hash == hash_token(token)
    # sending makes a new link: the one shown at creation no longer works
    assert token != token_of(created["registrationLink"])
    assert errors({"data": {"x": await accept(gql, token_of(created["registrationLink"]))}}, "x") == [
        ("INVALID_TOKEN", ["token"])
    ]
    assert await actions(runtime) == ["invitation.created", "invitation.sent"]


async def test_resend_issues_a_fresh_link_and_the_old_one_dies(gql, world, runtime):
    created = await create(gql, world)
    await send(gql, world, created["invitation"]["id"])
    await send(gql, world, created["invitation"]["id"])
    first, second = await outbox(runtime)
    old, new = token_of(first.body_text), token_of(second.body_text)
    assert old != new
    assert (await accept(gql, old))["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await accept(gql, new))["errors"] == []
    assert await actions(runtime) == [
        "invitation.created",
        "invitation.sent",
        "invitation.resent",
        "invitation.accepted",
    ]


async def test_mail_is_in_the_invitees_language(gql, world, runtime):
    created = await create(gql, world, language="DE")
    await send(gql, world, created["invitation"]["id"])
    [mail] = await outbox(runtime)
    # German where a German default is shipped, else the English fallback
    language = "de" if "de" in DEFAULTS[TemplateType.INVITE_USER] else "en"
    subject = DEFAULTS[TemplateType.INVITE_USER][language][0]
    expected = subject.replace("{{ inviter_name }}", "Admin").replace("{{ organisation_name }}", "Tenant A")
    assert mail.language == language
    assert mail.subject == " ".join(expected.split())


async def test_send_needs_an_address(gql, world, runtime):
    created = await create(gql, world, email=None)
    before = await snapshot(runtime)
    result = await gql(SEND, {"input": {"id": created["invitation"]["id"]}}, token=world.tokens["admin_a"])
    assert errors(result, "invitationSend") == [("REQUIRED", ["email"])]
    assert await snapshot(runtime) == before


async def test_preview_renders_without_the_real_token_and_sends_nothing(gql, world, runtime):
    created = await create(gql, world, name="Paula Preview")
    before = await snapshot(runtime)
    result = await gql(PREVIEW, {"input": {"id": created["invitation"]["id"]}}, token=world.tokens["admin_a"])
    preview = result["data"]["invitationPreview"]
    assert preview["errors"] == []
    assert "Tenant A" in preview["subject"]
    assert "Paula Preview" in preview["html"] and "Paula Preview" in preview["text"]
    assert f"token={PREVIEW_TOKEN}" in preview["text"]
    real = token_of(created["registrationLink"])
    assert real not in preview["html"] + preview["text"] + preview["subject"]
    assert await snapshot(runtime) == before
    # the preview's token is no key to anything
    assert (await accept(gql, PREVIEW_TOKEN))["errors"][0]["code"] == "INVALID_TOKEN"


# --- accept -----------------------------------------------------------------------------------------------


async def test_accept_creates_the_user_once(gql, world, runtime):
    created = await create(
        gql, world, roles=["ORGANISATION_ADMIN"], language="FR", organisationId=world.id("Organisation", "a1")
    )
    await send(gql, world, created["invitation"]["id"])
    token = token_of((await outbox(runtime))[0].body_text)
    result = await accept(gql, token)
    assert result == {
        "user": {
            "name": "Ida Invited",
            "email": "ida@example.org",
            "language": "FR",
            "roles": ["ORGANISATION_ADMIN"],
            "organisation": {"name": "Tenant A1"},
        },
        "errors": [],
    }
    login = (await gql(LOGIN, {"input": {"email": "ida@example.org", "password": NEW_PASSWORD}}))["data"]["login"]
    assert login["errors"] == [] and login["accessToken"]
    listed = (await gql(LIST, token=world.tokens["admin_a"]))["data"]["invitations"]["nodes"][0]
    assert listed["state"] == "ACCEPTED" and listed["acceptedAt"] is not None
    # single use
    before = await snapshot(runtime)
    again = await accept(gql, token, email="someone.else@example.org")
    assert again == {
        "user": None,
        "errors": [{"code": "INVALID_TOKEN", "field": ["token"], "message": again["errors"][0]["message"]}],
    }
    assert await snapshot(runtime) == before
    assert await actions(runtime) == ["invitation.created", "invitation.sent", "invitation.accepted"]


async def test_accept_without_an_address_in_the_invitation_takes_one(gql, world, runtime):
    created = await create(gql, world, email=None)
    token = token_of(created["registrationLink"])  # handed on by the admin
    before = await snapshot(runtime)
    assert [(e["code"], e["field"]) for e in (await accept(gql, token))["errors"]] == [("REQUIRED", ["email"])]
    assert [(e["code"], e["field"]) for e in (await accept(gql, token, email="user@a.example"))["errors"]] == [
        ("DUPLICATE", ["email"])
    ]
    assert await snapshot(runtime) == before
    result = await accept(gql, token, email=" Walk.In@Example.org ")
    assert result["errors"] == [] and result["user"]["email"] == "walk.in@example.org"


async def test_accept_refuses_a_weak_password_and_changes_nothing(gql, world, runtime):
    created = await create(gql, world)
    token = token_of(created["registrationLink"])
    before = await snapshot(runtime)
    for password, code in (("short", "WEAK_PASSWORD"), ("ida@example.org-Ida Invited", "WEAK_PASSWORD")):
        result = await accept(gql, token, password=password)
        assert [e["code"] for e in result["errors"]] == [code], result
    other_address = await accept(gql, token, email="other@example.org")
    assert [(e["code"], e["field"]) for e in other_address["errors"]] == [("INVALID", ["email"])]
    assert await snapshot(runtime) == before
    assert (await accept(gql, token, email="IDA@example.org"))["errors"] == []


async def test_unknown_revoked_and_used_tokens_answer_alike(gql, world, runtime):
    revoked = await create(gql, world, email="rev@example.org")
    await gql(REVOKE, {"input": {"id": revoked["invitation"]["id"]}}, token=world.tokens["admin_a"])
    used = await create(gql, world, email="used@example.org")
    assert (await accept(gql, token_of(used["registrationLink"])))["errors"] == []
    answers = [
        await accept(gql, token_of(revoked["registrationLink"])),
        await accept(gql, token_of(used["registrationLink"])),
        await accept(gql, "a" * 43),
        await accept(gql, ""),
        await accept(gql, "x" * 10_000),
    ]
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0]["errors"][0]["code"] == "INVALID_TOKEN"


# --- expiry -----------------------------------------------------------------------------------------------


async def test_expired_link_is_refused_and_stored_as_expired(gql, world, runtime):
    created = await create(gql, world)
    invitation_id = created["invitation"]["id"]
    await send(gql, world, invitation_id)
    token = token_of((await outbox(runtime))[0].body_text)
    await expire(runtime, invitation_id)
    # read as EXPIRED before anyone tried the link (nothing was written)
    assert (await invitation_row(runtime, invitation_id)).state == m.InvitationState.SENT
    listed = await gql(LIST, {"filter": {"state": "EXPIRED"}}, token=world.tokens["admin_a"])
    assert [n["state"] for n in listed["data"]["invitations"]["nodes"]] == ["EXPIRED"]
    assert (await gql(LIST, {"filter": {"state": "SENT"}}, token=world.tokens["admin_a"]))["data"]["invitations"][
        "totalCount"
    ] == 0
    node = await gql(NODE, {"id": invitation_id}, token=world.tokens["admin_a"])
    assert node["data"]["node"]["state"] == "EXPIRED"

    result = await accept(gql, token)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("EXPIRED", ["token"])]
    assert result["user"] is None
    assert (await invitation_row(runtime, invitation_id)).state == m.InvitationState.EXPIRED
    # no user was made, and the link stays expired (answered alike, nothing more written)
    assert (await gql(LOGIN, {"input": {"email": "ida@example.org", "password": NEW_PASSWORD}}))["data"]["login"][
        "errors"
    ]
    before = await snapshot(runtime)
    assert await accept(gql, token) == result
    assert await snapshot(runtime) == before
    # the invitation is closed: no edit, send or revoke brings it back
    for mutation, field in ((SEND, "invitationSend"), (REVOKE, "invitationRevoke"), (UPDATE, "invitationUpdate")):
        refused = await gql(mutation, {"input": {"id": invitation_id}}, token=world.tokens["admin_a"])
        assert errors(refused, field) == [("EXPIRED", ["id"])], field
    assert await snapshot(runtime) == before
    assert await actions(runtime) == ["invitation.created", "invitation.sent", "invitation.expired"]


@pytest.mark.parametrize(
    "mutation,field,extra",
    [
        (SEND, "invitationSend", {}),
        (REVOKE, "invitationRevoke", {}),
        (UPDATE, "invitationUpdate", {"name": "Late"}),
    ],
)
async def test_expired_invitation_cannot_be_sent_revoked_or_edited(gql, world, runtime, mutation, field, extra):
    created = await create(gql, world)
    await expire(runtime, created["invitation"]["id"])
    before = await snapshot(runtime)
    result = await gql(mutation, {"input": {"id": created["invitation"]["id"], **extra}}, token=world.tokens["admin_a"])
    assert errors(result, field) == [("EXPIRED", ["id"])]
    assert await snapshot(runtime) == before


# --- revoke and refused transitions -----------------------------------------------------------------------


async def test_revoke_from_created_and_from_sent(gql, world, runtime):
    created = await create(gql, world, email="one@example.org")
    sent = await create(gql, world, email="two@example.org")
    await send(gql, world, sent["invitation"]["id"])
    for payload in (created, sent):
        result = await gql(REVOKE, {"input": {"id": payload["invitation"]["id"]}}, token=world.tokens["admin_a"])
        assert result["data"]["invitationRevoke"]["errors"] == []
        assert result["data"]["invitationRevoke"]["invitation"]["state"] == "REVOKED"
    token = token_of((await outbox(runtime))[0].body_text)
    assert (await accept(gql, token))["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await actions(runtime)).count("invitation.revoked") == 2


@pytest.mark.parametrize("final", ["REVOKED", "ACCEPTED"])
async def test_closed_invitations_refuse_every_transition(gql, world, runtime, final):
    created = await create(gql, world)
    invitation_id = created["invitation"]["id"]
    if final == "REVOKED":
        await gql(REVOKE, {"input": {"id": invitation_id}}, token=world.tokens["admin_a"])
    else:
        assert (await accept(gql, token_of(created["registrationLink"])))["errors"] == []
    before = await snapshot(runtime)
    for mutation, field, extra in (
        (SEND, "invitationSend", {}),
        (REVOKE, "invitationRevoke", {}),
        (UPDATE, "invitationUpdate", {"name": "Changed"}),
    ):
        result = await gql(mutation, {"input": {"id": invitation_id, **extra}}, token=world.tokens["admin_a"])
        assert errors(result, field) == [("INVALID_STATE", ["id"])], field
    assert await snapshot(runtime) == before


# --- update -----------------------------------------------------------------------------------------------


async def test_update_name_roles_and_language(gql, world, runtime):
    created = await create(gql, world)
    result = await gql(
        UPDATE,
        {
            "input": {
                "id": created["invitation"]["id"],
                "name": "Ida Renamed",
                "roles": ["EXTERNAL_USER"],
                "language": "SV",
            }
        },
        token=world.tokens["admin_a"],
    )
    invitation = result["data"]["invitationUpdate"]["invitation"]
    assert (invitation["name"], invitation["roles"], invitation["language"], invitation["state"]) == (
        "Ida Renamed",
        ["EXTERNAL_USER"],
        "SV",
        "CREATED",
    )
    # the creation link still works: nothing about the address changed
    user = (await accept(gql, token_of(created["registrationLink"])))["user"]
    assert (user["name"], user["roles"], user["language"]) == ("Ida Renamed", ["EXTERNAL_USER"], "SV")


async def test_new_address_kills_the_sent_link(gql, world, runtime):
    created = await create(gql, world)
    await send(gql, world, created["invitation"]["id"])
    old = token_of((await outbox(runtime))[0].body_text)
    result = await gql(
        UPDATE,
        {"input": {"id": created["invitation"]["id"], "email": "ida.correct@example.org"}},
        token=world.tokens["admin_a"],
    )
    invitation = result["data"]["invitationUpdate"]["invitation"]
    assert (invitation["email"], invitation["state"], invitation["sentAt"]) == (
        "ida.correct@example.org",
        "CREATED",
        None,
    )
    assert (await accept(gql, old))["errors"][0]["code"] == "INVALID_TOKEN"
    await send(gql, world, created["invitation"]["id"])
    mail = (await outbox(runtime))[1]
    assert mail.to_address == "ida.correct@example.org"
    assert (await accept(gql, token_of(mail.body_text)))["user"]["email"] == "ida.correct@example.org"


REFUSED_UPDATES = {
    "platform admin role": ({"roles": ["PLATFORM_ADMIN"]}, "NOT_ALLOWED", ["roles"]),
    "bad e-mail": ({"email": "nope"}, "INVALID", ["email"]),
    "existing user's e-mail": ({"email": "user@a.example"}, "DUPLICATE", ["email"]),
    "oversized name": ({"name": "x" * 201}, "TOO_LONG", ["name"]),
}


@pytest.mark.parametrize("case", REFUSED_UPDATES, ids=list(REFUSED_UPDATES))
async def test_update_refuses_and_changes_nothing(gql, world, runtime, case):
    change, code, field = REFUSED_UPDATES[case]
    created = await create(gql, world)
    await send(gql, world, created["invitation"]["id"])
    before = await snapshot(runtime)
    result = await gql(
        UPDATE,
        {"input": {"id": created["invitation"]["id"], "language": "IT", **change}},
        token=world.tokens["admin_a"],
    )
    assert errors(result, "invitationUpdate") == [(code, field)]
    assert await snapshot(runtime) == before


# --- tenancy and the list -------------------------------------------------------------------------------


async def test_other_tenants_invitations_read_like_unknown_ones(gql, world, runtime):
    created = await create(gql, world, token="admin_b")
    invitation_id = created["invitation"]["id"]
    unknown = to_global_id("Invitation", 999_999)
    assert (await gql(LIST, token=world.tokens["admin_a"]))["data"]["invitations"]["totalCount"] == 0
    assert (await gql(NODE, {"id": invitation_id}, token=world.tokens["admin_a"]))["data"]["node"] is None
    before = await snapshot(runtime)
    for mutation, field, extra in (
        (SEND, "invitationSend", {}),
        (REVOKE, "invitationRevoke", {}),
        (UPDATE, "invitationUpdate", {"name": "Hijack"}),
        (PREVIEW, "invitationPreview", {}),
    ):
        other = await gql(mutation, {"input": {"id": invitation_id, **extra}}, token=world.tokens["admin_a"])
        missing = await gql(mutation, {"input": {"id": unknown, **extra}}, token=world.tokens["admin_a"])
        assert other == missing and errors(other, field) == [("NOT_FOUND", ["id"])]
    assert await snapshot(runtime) == before
    # the platform admin sees every tenant's invitations
    assert (await gql(LIST, token=world.tokens["platform"]))["data"]["invitations"]["totalCount"] == 1


async def test_list_filters_and_pages(gql, world, runtime):
    for index in range(5):
        await create(
            gql,
            world,
            name=f"Person {index}",
            email=f"p{index}@example.org",
            organisationId=world.id("Organisation", "a1" if index % 2 else "a"),
        )
    sent = await create(gql, world, name="Sent One", email="sent@example.org")
    await send(gql, world, sent["invitation"]["id"])
    token = world.tokens["admin_a"]

    async def names(**variables) -> list[str]:
        result = await gql(LIST, variables, token=token)
        return sorted(n["name"] for n in result["data"]["invitations"]["nodes"])

    assert await names(filter={"state": "SENT"}) == ["Sent One"]
    assert len(await names(filter={"state": "CREATED"})) == 5
    assert await names(filter={"name": "person 3"}) == ["Person 3"]
    assert await names(filter={"email": "P4@"}) == ["Person 4"]
    assert await names(filter={"organisationId": world.id("Organisation", "a1")}) == ["Person 1", "Person 3"]
    first = (await gql(LIST, {"first": 4}, token=token))["data"]["invitations"]
    assert first["totalCount"] == 6 and first["pageInfo"]["hasNextPage"]
    rest = (await gql(LIST, {"first": 4, "after": first["pageInfo"]["endCursor"]}, token=token))["data"]["invitations"]
    seen = [n["name"] for n in first["nodes"]] + [n["name"] for n in rest["nodes"]]
    assert sorted(seen) == sorted([f"Person {i}" for i in range(5)] + ["Sent One"])
    assert not rest["pageInfo"]["hasNextPage"]
    # a user of A1 with the permission sees A1's invitations only
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["user_a1"].id, permission=m.Permission.INVITATIONS_MANAGE))
    result = await gql(LIST, token=world.tokens["user_a1"])
    assert sorted(n["name"] for n in result["data"]["invitations"]["nodes"]) == ["Person 1", "Person 3"]
