"""External users added by company number + username + e-mail address (issue 18, manual §3.2): all three must
name one user of that organisation; any mismatch gets one answer that says nothing of which part was wrong,
and changes nothing."""

from __future__ import annotations

from sqlalchemy import select, update

from models import identity as m
from models import remote as r
from tests.factories import snapshot

ADD = """mutation($input: ExternalUserAddInput!) {
  externalUserAdd(input: $input) { invitation { email organisation { name } } errors { code field message } }
}"""


async def add(gql, world, **given) -> dict:
    result = await gql(ADD, {"input": given}, token=world.tokens["admin_a"])
    assert "errors" not in result, result
    return result["data"]["externalUserAdd"]


async def prepare(runtime, world) -> tuple[str, str]:
    """B's user gets the username "piet", B's admin "boss"; the customer numbers of B and A."""
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_b"].id).values(username="piet"))
        await session.execute(update(m.User).where(m.User.id == world.users["admin_b"].id).values(username="boss"))
        numbers = dict((await session.execute(select(m.Organisation.name, m.Organisation.customer_number))).all())
    return numbers["Tenant B"], numbers["Tenant A"]


async def test_all_three_matching_invite_the_user(gql, world, runtime):
    number_b, _ = await prepare(runtime, world)
    made = await add(gql, world, email="User@B.example", customerNumber=f" {number_b} ", username="PIET")
    assert made["errors"] == []
    assert made["invitation"] == {"email": "user@b.example", "organisation": {"name": "Tenant A"}}
    async with runtime.session_factory() as session:
        invited = (await session.scalars(select(r.ExternalUserInvitation.email))).all()
    assert invited == ["user@b.example"]


async def test_any_mismatch_gets_one_answer_and_changes_nothing(gql, world, runtime):
    number_b, number_a = await prepare(runtime, world)
    before = await snapshot(runtime)
    answers = [
        await add(gql, world, email="user@b.example", customerNumber=number_b, username="nobody"),  # username
        await add(gql, world, email="admin@b.example", customerNumber=number_b, username="piet"),  # someone else's
        await add(gql, world, email="nobody@b.example", customerNumber=number_b, username="piet"),  # unknown address
        await add(gql, world, email="user@b.example", customerNumber=number_a, username="piet"),  # other number
        await add(gql, world, email="user@b.example", customerNumber="00000000", username="piet"),  # unknown number
    ]
    for answer in answers:
        assert answer == answers[0]
    assert answers[0] == {
        "invitation": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "field": None,
                "message": "No user has this company number, username and e-mail address.",
            }
        ],
    }
    assert await snapshot(runtime) == before


async def test_the_company_number_and_username_go_together(gql, world, runtime):
    number_b, _ = await prepare(runtime, world)
    before = await snapshot(runtime)
    alone = await add(gql, world, email="user@b.example", customerNumber=number_b)
    assert [(e["code"], e["field"]) for e in alone["errors"]] == [("REQUIRED", ["username"])]
    alone = await add(gql, world, email="user@b.example", username="piet")
    assert [(e["code"], e["field"]) for e in alone["errors"]] == [("REQUIRED", ["customerNumber"])]
    assert await snapshot(runtime) == before
