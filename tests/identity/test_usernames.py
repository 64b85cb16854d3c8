"""Usernames and customer numbers (issue 18, manual §1.1): a username is unique per organisation, and
customer number + username + password log in alongside e-mail + password, with the same throttle and the
same answer whichever part was wrong."""

from __future__ import annotations

import re

from sqlalchemy import delete, select, update

from models import identity as m
from tests.factories import PASSWORD, add_organisation, add_user, snapshot

LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { accessToken user { email username } errors { code field message } } }"""
USER_CREATE = """mutation($input: UserCreateInput!) {
  userCreate(input: $input) {
    user { email username organisation { customerNumber } } errors { code field message } } }"""
USER_UPDATE = """mutation($input: UserUpdateInput!) {
  userUpdate(input: $input) { user { username } errors { code field message } } }"""
WRONG = "Wrong-Horse#Battery9"


async def customer_number(runtime, organisation: m.Organisation) -> str:
    async with runtime.session_factory() as session:
        return await session.scalar(select(m.Organisation.customer_number).where(m.Organisation.id == organisation.id))


async def set_username(runtime, user: m.User, username: str | None) -> None:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == user.id).values(username=username))


async def forget_failures(runtime) -> None:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(delete(m.LoginThrottle))


async def login(gql, **credentials) -> dict:
    credentials.setdefault("password", PASSWORD)
    response = await gql.raw(LOGIN, {"input": credentials})
    assert response.status_code == 200, response.text
    assert credentials["password"] not in response.text
    return response.json()["data"]["login"]


def new_user(**fields) -> dict:
    return {"input": {"name": "Jan", "email": "jan@a.example", "password": "Correct-Horse#Battery9", **fields}}


async def test_organisations_get_distinct_customer_numbers(gql, world, runtime):
    numbers = {await customer_number(runtime, organisation) for organisation in world.organisations.values()}
    assert len(numbers) == len(world.organisations)
    assert all(re.fullmatch(r"[1-9][0-9]{7}", number) for number in numbers)
    shown = await gql("{ me { organisation { customerNumber } } }", token=world.tokens["admin_a"])
    assert shown["data"]["me"]["organisation"]["customerNumber"] == await customer_number(
        runtime, world.organisations["a"]
    )


async def test_user_create_with_a_username(gql, world, runtime):
    created = await gql(USER_CREATE, new_user(username="  Jan.Jansen "), token=world.tokens["admin_a"])
    payload = created["data"]["userCreate"]
    assert payload["errors"] == []
    assert payload["user"]["username"] == "jan.jansen"
    assert payload["user"]["organisation"]["customerNumber"] == await customer_number(runtime, world.organisations["a"])
    # without one, a user has none and logs in by e-mail
    plain = await gql(USER_CREATE, new_user(email="piet@a.example"), token=world.tokens["admin_a"])
    assert plain["data"]["userCreate"]["user"]["username"] is None


async def test_a_taken_username_is_refused_in_the_organisation_only(gql, world, runtime):
    await set_username(runtime, world.users["user_a"], "jan")
    before = await snapshot(runtime)
    taken = await gql(USER_CREATE, new_user(username="JAN"), token=world.tokens["admin_a"])
    assert taken["data"]["userCreate"] == {
        "user": None,
        "errors": [
            {"code": "DUPLICATE", "field": ["username"], "message": "this username is taken in the organisation"}
        ],
    }
    assert await snapshot(runtime) == before
    # another organisation (B, and A's child A1) may have its own "jan"
    other = await gql(USER_CREATE, new_user(email="jan@b.example", username="jan"), token=world.tokens["admin_b"])
    assert other["data"]["userCreate"]["errors"] == []
    child = await gql(
        USER_CREATE,
        new_user(email="jan@a1.example", username="jan", organisationId=world.id("Organisation", "a1")),
        token=world.tokens["admin_a"],
    )
    assert child["data"]["userCreate"]["errors"] == []


async def test_bad_usernames_are_refused(gql, world, runtime):
    before = await snapshot(runtime)
    for bad, code in (("", "REQUIRED"), ("jan jansen", "INVALID"), (".jan", "INVALID"), ("j" * 65, "TOO_LONG")):
        refused = await gql(USER_CREATE, new_user(username=bad), token=world.tokens["admin_a"])
        assert [(e["code"], e["field"]) for e in refused["data"]["userCreate"]["errors"]] == [(code, ["username"])]
    assert await snapshot(runtime) == before


async def test_user_update_sets_and_clears_the_username(gql, world, runtime):
    user_id, token = world.id("User", "user_a"), world.tokens["admin_a"]
    await set_username(runtime, world.users["admin_a"], "admin")
    set_ = await gql(USER_UPDATE, {"input": {"id": user_id, "username": "Userke"}}, token=token)
    assert set_["data"]["userUpdate"] == {"user": {"username": "userke"}, "errors": []}
    taken = await gql(USER_UPDATE, {"input": {"id": user_id, "username": "admin"}}, token=token)
    assert [e["code"] for e in taken["data"]["userUpdate"]["errors"]] == ["DUPLICATE"]
    # omitted: it stays; null: removed
    kept = await gql(USER_UPDATE, {"input": {"id": user_id, "name": "Renamed"}}, token=token)
    assert kept["data"]["userUpdate"]["user"] == {"username": "userke"}
    cleared = await gql(USER_UPDATE, {"input": {"id": user_id, "username": None}}, token=token)
    assert cleared["data"]["userUpdate"] == {"user": {"username": None}, "errors": []}


async def test_moving_a_user_to_an_organisation_where_the_username_is_taken_is_refused(gql, world, runtime):
    await set_username(runtime, world.users["user_a"], "sam")
    await set_username(runtime, world.users["user_a1"], "sam")
    before = await snapshot(runtime)
    moved = await gql(
        USER_UPDATE,
        {"input": {"id": world.id("User", "user_a"), "organisationId": world.id("Organisation", "a1")}},
        token=world.tokens["admin_a"],
    )
    assert [e["code"] for e in moved["data"]["userUpdate"]["errors"]] == ["DUPLICATE"]
    assert await snapshot(runtime) == before


async def test_login_with_customer_number_and_username(gql, world, runtime):
    await set_username(runtime, world.users["user_a"], "jan")
    number = await customer_number(runtime, world.organisations["a"])
    payload = await login(gql, customerNumber=f" {number} ", username="JAN")
    assert payload["errors"] == [] and payload["accessToken"].startswith("fga_")
    assert payload["user"] == {"email": "user@a.example", "username": "jan"}
    me = await gql("{ me { email } }", token=payload["accessToken"])
    assert me["data"]["me"] == {"email": "user@a.example"}
    # e-mail + password still works
    assert (await login(gql, email="user@a.example"))["accessToken"]


async def test_every_wrong_part_gets_one_answer(gql, world, runtime):
    await set_username(runtime, world.users["user_a"], "jan")
    await set_username(runtime, world.users["user_b"], "piet")
    number_a = await customer_number(runtime, world.organisations["a"])
    number_b = await customer_number(runtime, world.organisations["b"])
    attempts = [
        {"customerNumber": number_a, "username": "jan", "password": WRONG},  # wrong password
        {"customerNumber": number_a, "username": "nobody"},  # unknown username
        {"customerNumber": "99999999" if number_a != "99999999" else "88888888", "username": "jan"},
        {"customerNumber": number_a, "username": "piet"},  # B's user, with A's number
        {"customerNumber": number_b, "username": "jan"},  # A's user, with B's number
    ]
    answers = []
    for credentials in attempts:
        answers.append(await login(gql, **credentials))
        await forget_failures(runtime)  # each answer on its own, not slowed down by the ones before
    for answer in answers:
        assert answer["accessToken"] is None and answer["user"] is None
    assert all(answer["errors"] == answers[0]["errors"] for answer in answers)
    assert [e["code"] for e in answers[0]["errors"]] == ["INVALID_CREDENTIALS"]
    assert answers[0]["errors"][0]["field"] is None


async def test_a_known_account_is_throttled_on_one_key_however_it_is_named(gql, world, runtime):
    """Guessing by username counts on the account's e-mail key: the two ways in do not double the guesses."""
    await set_username(runtime, world.users["user_a"], "jan")
    number = await customer_number(runtime, world.organisations["a"])
    slowdown = runtime.settings.login_slowdown_after
    for _ in range(slowdown):
        refused = await login(gql, customerNumber=number, username="jan", password=WRONG)
        assert [e["code"] for e in refused["errors"]] == ["INVALID_CREDENTIALS"]
    async with runtime.session_factory() as session:
        keys = {row.key: row.failures for row in (await session.scalars(select(m.LoginThrottle))).all()}
    assert keys["account:user@a.example"] == slowdown
    # the e-mail login of the same account is slowed down as well
    slowed = await login(gql, email="user@a.example")
    assert [e["code"] for e in slowed["errors"]] == ["TOO_MANY_ATTEMPTS"]


async def test_usernames_in_two_organisations_log_in_their_own_user(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        c = await add_organisation(session, "Tenant C")
        await add_user(session, c, "jan@c.example", [m.Role.USER], username="jan")
    await set_username(runtime, world.users["user_a"], "jan")
    async with runtime.session_factory() as session:
        number_c = await session.scalar(select(m.Organisation.customer_number).where(m.Organisation.name == "Tenant C"))
    payload = await login(gql, customerNumber=number_c, username="jan")
    assert payload["user"] == {"email": "jan@c.example", "username": "jan"}


async def test_incomplete_or_mixed_credentials_are_refused_without_counting(gql, world, runtime):
    number = await customer_number(runtime, world.organisations["a"])
    mixed = await login(gql, email="user@a.example", customerNumber=number, username="jan")
    assert [(e["code"], e["field"]) for e in mixed["errors"]] == [("INVALID", ["email"])]
    neither = await login(gql)
    assert [(e["code"], e["field"]) for e in neither["errors"]] == [("REQUIRED", ["email"])]
    # outside an organisation's own login domain the customer number is needed
    no_number = await login(gql, username="jan")
    assert [(e["code"], e["field"]) for e in no_number["errors"]] == [("REQUIRED", ["customerNumber"])]
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(m.LoginThrottle))).all() == []


async def test_migration_0022_gives_existing_organisations_customer_numbers(tmp_path):
    """Organisations made before 0022 get distinct customer numbers from it (SQLite file of its own)."""
    from sqlalchemy import text

    from graph.db import create_engine, migrate
    from graph.settings import Settings

    engine = create_engine(Settings(data_dir=tmp_path))
    try:
        await migrate(engine, "0021")
        async with engine.begin() as connection:
            for i in range(5):
                await connection.execute(
                    text(
                        "INSERT INTO organisation (public_id, name, your_reference, can_create_organisations, path, "
                        "password_min_length, password_history, require_two_factor, created_at) "
                        "VALUES (:p, :n, '', false, '/', 12, 3, false, CURRENT_TIMESTAMP)"
                    ),
                    {"p": f"uuid-{i}", "n": f"Old {i}"},
                )
        await migrate(engine)
        async with engine.connect() as connection:
            numbers = (await connection.execute(text("SELECT customer_number FROM organisation"))).scalars().all()
    finally:
        await engine.dispose()
    assert len(numbers) == len(set(numbers)) == 5
    assert all(re.fullmatch(r"[1-9][0-9]{7}", number) for number in numbers)


async def test_of_parallel_creates_with_one_username_one_wins(gql, world, runtime):
    import asyncio

    answers = await asyncio.gather(
        *(
            gql(USER_CREATE, new_user(email=f"racer{i}@a.example", username="racer"), token=world.tokens["admin_a"])
            for i in range(8)
        )
    )
    codes = sorted(tuple(e["code"] for e in answer["data"]["userCreate"]["errors"]) for answer in answers)
    assert codes == [()] + [("DUPLICATE",)] * 7
    async with runtime.session_factory() as session:
        racers = (await session.scalars(select(m.User.email).where(m.User.username == "racer"))).all()
    assert len(racers) == 1
