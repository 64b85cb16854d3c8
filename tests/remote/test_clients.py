"""Remote clients: registration without a login, pairing by the shown key (one winner among parallel
pairings), heartbeats by secret and the connection status they give, list, rename, remove, throttling."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import delete, select, update

from graph.auth import hash_token
from models import clients as cl
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from tests.burst import burst
from tests.factories import add_user, issue_token, snapshot
from tests.remote.clients_helpers import HEARTBEAT, LIST, PAIR, REGISTER

RENAME = """mutation($id: ID!, $name: String!) {
  clientRename(input: {id: $id, name: $name}) { client { name } errors { code field } } }"""
REMOVE = """mutation($id: ID!) { clientRemove(input: {id: $id}) { deletedId errors { code field } } }"""


def settings(monkeypatch, runtime, **values) -> None:
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, **values))


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def register(gql, version: str = "RemoteClient/2.4 Windows") -> dict:
    payload = (await gql(REGISTER, {"input": {"version": version}}))["data"]["clientRegister"]
    assert payload["errors"] == [], payload
    return payload


async def pair(gql, token: str, key: str, name: str = "Laptop") -> dict:
    return (await gql(PAIR, {"key": key, "name": name}, token=token))["data"]["clientPair"]


async def heartbeat(gql, secret: str) -> dict:
    return (await gql(HEARTBEAT, {"secret": secret}))["data"]["clientHeartbeat"]


async def test_a_client_registers_is_paired_by_its_key_and_reports_its_connection(gql, runtime, world):
    registered = await register(gql)
    key, secret = registered["pairingKey"], registered["secret"]
    assert len(key) == 9 and key[4] == "-" and secret.startswith("fgc_")
    # neither is stored: only their hashes
    async with runtime.session_factory() as session:
        row = await session.scalar(select(cl.RemoteClient))
    assert row.secret_hash == hash_token(secret) and secret not in repr(row.__dict__)
    assert row.user_id is None and row.version == "RemoteClient/2.4 Windows"

    waiting = await heartbeat(gql, secret)
    assert waiting == {
        "paired": False,
        "name": "",
        "connectionStatus": "CONNECTED",
        "pairingKeyExpiresAt": registered["pairingKeyExpiresAt"],
        "errors": [],
    }
    # typed any case, without the dash
    paired = await pair(gql, world.tokens["user_a"], key.replace("-", "").lower(), " Workshop PC ")
    assert paired["errors"] == []
    assert paired["client"]["name"] == "Workshop PC" and paired["client"]["connectionStatus"] == "CONNECTED"
    assert (await heartbeat(gql, secret))["paired"] is True

    listed = (await gql(LIST, token=world.tokens["user_a"]))["data"]["clients"]
    assert [(n["name"], n["connectionStatus"]) for n in listed["nodes"]] == [("Workshop PC", "CONNECTED")]
    assert (await gql(LIST, token=world.tokens["user_b"]))["data"]["clients"]["totalCount"] == 0
    # the key is used up
    assert codes(await pair(gql, world.tokens["user_b"], key)) == [("NOT_FOUND", ["key"])]
    async with runtime.session_factory() as session:
        audit = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("client.%")).order_by(AuditEvent.id)
            )
        ).all()
    assert audit == ["client.registered", "client.paired"]


async def test_silence_longer_than_the_setting_is_disconnected(gql, runtime, monkeypatch, world):
    registered = await register(gql)
    client_id = (await pair(gql, world.tokens["user_a"], registered["pairingKey"]))["client"]["id"]
    assert (await gql(LIST, token=world.tokens["user_a"]))["data"]["clients"]["nodes"][0]["connectionStatus"] == (
        "DISCONNECTED"  # registered, never sent a heartbeat
    )
    await heartbeat(gql, registered["secret"])
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(cl.RemoteClient).values(last_heartbeat_at=utcnow() - timedelta(seconds=60)))
    settings(monkeypatch, runtime, client_offline_after_seconds=90)
    node = (await gql(LIST, token=world.tokens["user_a"]))["data"]["clients"]["nodes"][0]
    assert (node["id"], node["connectionStatus"]) == (client_id, "CONNECTED")
    settings(monkeypatch, runtime, client_offline_after_seconds=30)
    node = (await gql(LIST, token=world.tokens["user_a"]))["data"]["clients"]["nodes"][0]
    assert node["connectionStatus"] == "DISCONNECTED"


async def test_the_users_client_connection_status(gql, runtime, world):
    status = "query { clientConnectionStatus }"
    assert (await gql(status, token=world.tokens["user_a"]))["data"] == {"clientConnectionStatus": "DISCONNECTED"}
    registered = await register(gql)
    await heartbeat(gql, registered["secret"])  # not paired yet: nobody's
    assert (await gql(status, token=world.tokens["user_a"]))["data"] == {"clientConnectionStatus": "DISCONNECTED"}
    assert (await pair(gql, world.tokens["user_a"], registered["pairingKey"]))["errors"] == []
    assert (await gql(status, token=world.tokens["user_a"]))["data"] == {"clientConnectionStatus": "CONNECTED"}
    assert (await gql(status, token=world.tokens["user_b"]))["data"] == {"clientConnectionStatus": "DISCONNECTED"}
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(cl.RemoteClient).values(last_heartbeat_at=utcnow() - timedelta(hours=1)))
    assert (await gql(status, token=world.tokens["user_a"]))["data"] == {"clientConnectionStatus": "DISCONNECTED"}


async def test_an_expired_key_pairs_nothing(gql, runtime, world):
    registered = await register(gql)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(cl.RemoteClient).values(pairing_expires_at=utcnow() - timedelta(seconds=1)))
    before = await snapshot(runtime)
    assert codes(await pair(gql, world.tokens["user_a"], registered["pairingKey"])) == [("NOT_FOUND", ["key"])]
    after = await snapshot(runtime)
    assert after["remote_client"] == before["remote_client"]


async def test_bad_input_is_typed_and_changes_nothing(gql, runtime, world):
    registered = await register(gql)
    token = world.tokens["user_a"]
    before = await snapshot(runtime)
    for key, name, expected in (
        ("", "Laptop", ("REQUIRED", ["key"])),
        ("ABCD-EFG", "Laptop", ("INVALID", ["key"])),
        ("ABCD-EFG0", "Laptop", ("INVALID", ["key"])),  # 0 is not in the alphabet
        (registered["pairingKey"], "  ", ("REQUIRED", ["name"])),
        (registered["pairingKey"], "x" * 201, ("TOO_LONG", ["name"])),
    ):
        assert codes(await pair(gql, token, key, name)) == [expected]
    assert await snapshot(runtime) == before  # malformed input is not even counted
    unknown = await heartbeat(gql, "fgc_nobody")
    assert codes(unknown) == [("NOT_FOUND", ["secret"])] and unknown["paired"] is None


async def test_exactly_one_of_parallel_pairings_wins(gql, runtime, monkeypatch, world):
    """Eight users type the same key at once: one client, one owner."""
    settings(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)
    registered = await register(gql)
    async with runtime.session_factory() as session, session.begin():
        tokens = [
            await issue_token(
                session, await add_user(session, world.organisations["a"], f"u{i}@a.example", [m.Role.USER])
            )
            for i in range(8)
        ]
    answers = await burst(runtime, 8, lambda i: pair(gql, tokens[i], registered["pairingKey"], f"PC {i}"))
    won = [answer for answer in answers if answer["errors"] == []]
    assert len(won) == 1
    assert sorted(codes(answer)[0][0] for answer in answers if answer["errors"]) == ["NOT_FOUND"] * 7
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(cl.RemoteClient))).all()
    assert len(rows) == 1 and rows[0].user_id is not None and rows[0].name == won[0]["client"]["name"]


async def test_wrong_keys_are_throttled_per_user(gql, runtime, monkeypatch, world):
    settings(monkeypatch, runtime, login_slowdown_after=3, login_lock_after=3, login_lock_seconds=900)
    registered = await register(gql)
    for key in ("AAAA-AAAA", "AAAA-AAAB", "AAAA-AAAC"):
        assert codes(await pair(gql, world.tokens["user_a"], key)) == [("NOT_FOUND", ["key"])]
    # locked: even the right key is not checked for this user
    assert codes(await pair(gql, world.tokens["user_a"], registered["pairingKey"])) == [("TOO_MANY", ["key"])]
    assert (await pair(gql, world.tokens["admin_a"], registered["pairingKey"]))["errors"] == []


async def test_registrations_are_throttled_per_address_and_bounded(gql, runtime, monkeypatch):
    settings(monkeypatch, runtime, login_slowdown_after=2, login_lock_after=2, login_lock_seconds=900)
    await register(gql)
    await register(gql)
    refused = (await gql(REGISTER, {"input": {}}))["data"]["clientRegister"]
    assert codes(refused) == [("TOO_MANY", None)] and refused["secret"] is None
    async with runtime.session_factory() as session, session.begin():
        await session.execute(delete(m.LoginThrottle))  # the lock is over
    settings(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100, client_max_pending=3)
    await register(gql)
    full = (await gql(REGISTER, {"input": {}}))["data"]["clientRegister"]
    assert codes(full) == [("TOO_MANY", None)]
    async with runtime.session_factory() as session:
        assert len((await session.scalars(select(cl.RemoteClient))).all()) == 3
    # expired pending clients make room
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(cl.RemoteClient).values(pairing_expires_at=utcnow() - timedelta(seconds=1)))
    await register(gql)
    async with runtime.session_factory() as session:
        assert len((await session.scalars(select(cl.RemoteClient))).all()) == 1


async def test_unknown_secrets_are_throttled_per_address(gql, runtime, monkeypatch):
    settings(monkeypatch, runtime, login_slowdown_after=2, login_lock_after=2, login_lock_seconds=900)
    assert codes(await heartbeat(gql, "fgc_guess1")) == [("NOT_FOUND", ["secret"])]
    assert codes(await heartbeat(gql, "fgc_guess2")) == [("NOT_FOUND", ["secret"])]
    assert codes(await heartbeat(gql, "fgc_guess3")) == [("TOO_MANY", None)]


async def test_rename_and_remove_only_ones_own(gql, runtime, world):
    registered = await register(gql)
    client_id = (await pair(gql, world.tokens["user_a"], registered["pairingKey"]))["client"]["id"]
    before = await snapshot(runtime)
    other = (await gql(RENAME, {"id": client_id, "name": "Mine now"}, token=world.tokens["admin_a"]))["data"]
    assert codes(other["clientRename"]) == [("NOT_FOUND", ["id"])]
    other = (await gql(REMOVE, {"id": client_id}, token=world.tokens["admin_a"]))["data"]
    assert codes(other["clientRemove"]) == [("NOT_FOUND", ["id"])]
    assert await snapshot(runtime) == before
    renamed = (await gql(RENAME, {"id": client_id, "name": "Office"}, token=world.tokens["user_a"]))["data"]
    assert renamed["clientRename"] == {"client": {"name": "Office"}, "errors": []}
    removed = (await gql(REMOVE, {"id": client_id}, token=world.tokens["user_a"]))["data"]["clientRemove"]
    assert removed == {"deletedId": client_id, "errors": []}
    # its secret stops working
    assert codes(await heartbeat(gql, registered["secret"])) == [("NOT_FOUND", ["secret"])]


async def test_clients_need_clients_use(gql, runtime, world):
    async with runtime.session_factory() as session, session.begin():
        consumer = await add_user(session, world.organisations["a"], "c@a.example", [m.Role.CONSUMER])
        token = await issue_token(session, consumer)
    registered = await register(gql)
    result = await gql(PAIR, {"key": registered["pairingKey"], "name": "x"}, token=token)
    assert result["data"] is None and result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(LIST, token=token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_list_reads_one_page_in_a_bounded_number_of_statements(gql, runtime, world, count_sql):
    for n in range(3):
        registered = await register(gql, f"v{n}")
        assert (await pair(gql, world.tokens["user_a"], registered["pairingKey"], f"PC {n}"))["errors"] == []
    with count_sql() as counter:
        listed = (await gql(LIST, token=world.tokens["user_a"]))["data"]["clients"]
    assert [node["name"] for node in listed["nodes"]] == ["PC 0", "PC 1", "PC 2"]
    assert counter.count <= 3, counter.statements  # the caller's token, the page, the count
