"""A user's federated identities (issue 19): listed on `User.federatedIdentities` (and `samlLinkedAt`) for the
user and whoever may read them, and unlinked by `federatedIdentityUnlink`: by the user or a user manager who may
manage them, never the user's last way in, once under parallel requests, audited."""

from __future__ import annotations

from sqlalchemy import func, select, update

from graph.relay import decode_id, to_global_id
from models import audit as audit_models
from models import federation as fed
from models import identity as m
from models import saml as saml_models
from tests.burst import burst
from tests.factories import add_user, issue_token

N = 8
IDENTITIES = """query($id: ID!) { node(id: $id) { ... on User {
  federatedIdentities { id provider email linkedAt lastSignInAt } samlLinkedAt } } }"""
NODE = "query($id: ID!) { node(id: $id) { __typename ... on FederatedIdentity { provider email } } }"
UNLINK = """mutation($id: ID!) { federatedIdentityUnlink(input: {id: $id}) {
  unlinkedId user { email federatedIdentities { provider } } errors { code field message } } }"""


async def link(runtime, user: m.User, provider: str, subject: str = "") -> str:
    async with runtime.session_factory() as session, session.begin():
        row = fed.FederatedIdentity(
            provider=provider, subject=subject or f"{provider}-{user.id}", user_id=user.id, email=user.email
        )
        session.add(row)
        await session.flush()
        return to_global_id("FederatedIdentity", row.id)


async def saml_link(runtime, user: m.User) -> None:
    async with runtime.session_factory() as session, session.begin():
        session.add(
            saml_models.SamlLink(user_id=user.id, organisation_id=user.organisation_id, idp_entity_id="https://idp")
        )


async def without_password(runtime, user: m.User) -> None:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == user.id).values(password_hash=None))


async def unlink(gql, token: str, identity_id: str) -> dict:
    return (await gql(UNLINK, {"id": identity_id}, token=token))["data"]["federatedIdentityUnlink"]


def codes(answer: dict) -> list[str]:
    return [error["code"] for error in answer["errors"]]


async def remaining(runtime) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(fed.FederatedIdentity)) or 0


async def unlinked_events(runtime) -> list[dict]:
    async with runtime.session_factory() as session:
        return list(
            await session.scalars(
                select(audit_models.AuditEvent.details)
                .where(audit_models.AuditEvent.action == "user.federated_identity_unlinked")
                .order_by(audit_models.AuditEvent.id)  # in the order they happened (PostgreSQL keeps no order)
            )
        )


async def test_the_user_and_those_who_may_read_them_see_the_identities(gql, world, runtime):
    user = world.users["user_a1"]
    entra = await link(runtime, user, "entra")
    await link(runtime, user, "yandex")
    await saml_link(runtime, user)
    own = (await gql(IDENTITIES, {"id": world.id("User", "user_a1")}, token=world.tokens["user_a1"]))["data"]["node"]
    assert [i["provider"] for i in own["federatedIdentities"]] == ["entra", "yandex"]
    assert own["federatedIdentities"][0]["id"] == entra and own["federatedIdentities"][0]["email"] == user.email
    assert own["samlLinkedAt"] is not None
    # A's admin and A's plain user (USERS_READ) read A1's user: they see them too
    for reader in ("admin_a", "user_a", "platform"):
        seen = (await gql(IDENTITIES, {"id": world.id("User", "user_a1")}, token=world.tokens[reader]))["data"]
        assert len(seen["node"]["federatedIdentities"]) == 2 and seen["node"]["samlLinkedAt"], reader
        assert (await gql(NODE, {"id": entra}, token=world.tokens[reader]))["data"]["node"]["provider"] == "entra"
    # another tenant's admin, and A1's user for A's users, see nothing: the node reads like an unknown one
    assert (await gql(NODE, {"id": entra}, token=world.tokens["admin_b"]))["data"]["node"] is None
    other = await link(runtime, world.users["user_a"], "entra")
    assert (await gql(NODE, {"id": other}, token=world.tokens["user_a1"]))["data"]["node"] is None
    me = "{ me { federatedIdentities { provider } samlLinkedAt } }"
    assert (await gql(me, token=world.tokens["user_a"]))["data"]["me"] == {
        "federatedIdentities": [{"provider": "entra"}],
        "samlLinkedAt": None,
    }


async def test_the_user_unlinks_their_own_identity(gql, world, runtime):
    identity = await link(runtime, world.users["user_a"], "entra")
    answer = await unlink(gql, world.tokens["user_a"], identity)
    assert answer["errors"] == [] and answer["unlinkedId"] == identity
    assert answer["user"] == {"email": "user@a.example", "federatedIdentities": []}
    assert await remaining(runtime) == 0
    assert await unlinked_events(runtime) == [
        {"provider": "entra", "identityId": decode_id(identity, "FederatedIdentity")}
    ]
    again = await unlink(gql, world.tokens["user_a"], identity)
    assert codes(again) == ["NOT_FOUND"] and again["unlinkedId"] is None


async def test_the_last_way_in_is_kept(gql, world, runtime):
    user = world.users["user_a"]
    await without_password(runtime, user)
    entra, yandex = await link(runtime, user, "entra"), await link(runtime, user, "yandex")
    assert (await unlink(gql, world.tokens["user_a"], entra))["errors"] == []  # yandex remains
    refused = await unlink(gql, world.tokens["user_a"], yandex)
    assert codes(refused) == ["LAST_SIGN_IN_METHOD"] and refused["errors"][0]["field"] == ["id"]
    assert await remaining(runtime) == 1
    await saml_link(runtime, user)  # a SAML sign-in is a way in
    assert (await unlink(gql, world.tokens["user_a"], yandex))["errors"] == []
    assert [e["provider"] for e in await unlinked_events(runtime)] == ["entra", "yandex"]


async def test_a_user_manager_unlinks_for_users_they_may_manage(gql, world, runtime):
    identity = await link(runtime, world.users["user_a1"], "entra")
    # a plain user reads A1's users but manages nobody
    assert codes(await unlink(gql, world.tokens["user_a"], identity)) == ["NOT_ALLOWED"]
    # another tenant's admin: as unknown
    assert codes(await unlink(gql, world.tokens["admin_b"], identity)) == ["NOT_FOUND"]
    assert await remaining(runtime) == 1
    assert (await unlink(gql, world.tokens["admin_a"], identity))["errors"] == []
    # someone holding more than the manager (here a platform admin placed in A) is not theirs to change
    async with runtime.session_factory() as session, session.begin():
        a = await session.get(m.Organisation, world.organisations["a"].id)
        mighty = await add_user(session, a, "mighty@a.example", [m.Role.PLATFORM_ADMIN])
        await issue_token(session, mighty)
    held = await link(runtime, mighty, "entra")
    assert codes(await unlink(gql, world.tokens["admin_a"], held)) == ["NOT_ALLOWED"]
    assert await remaining(runtime) == 1 and len(await unlinked_events(runtime)) == 1


async def test_parallel_unlinks_of_one_identity_unlink_it_once(gql, world, runtime):
    identity = await link(runtime, world.users["user_a"], "entra")
    answers = await burst(runtime, N, lambda _: unlink(gql, world.tokens["user_a"], identity))
    assert sorted(tuple(codes(a)) for a in answers) == [()] + [("NOT_FOUND",)] * (N - 1)
    assert await remaining(runtime) == 0 and len(await unlinked_events(runtime)) == 1


async def test_parallel_unlinks_of_a_passwordless_users_identities_keep_one(gql, world, runtime):
    user = world.users["user_a"]
    await without_password(runtime, user)
    identities = [await link(runtime, user, f"p{i}") for i in range(N)]
    answers = await burst(runtime, N, lambda i: unlink(gql, world.tokens["user_a"], identities[i]))
    assert sorted(tuple(codes(a)) for a in answers) == [()] * (N - 1) + [("LAST_SIGN_IN_METHOD",)]
    assert await remaining(runtime) == 1 and len(await unlinked_events(runtime)) == N - 1
