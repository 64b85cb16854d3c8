"""Notification profiles: create, update, delete, validation, tenancy; and the offline mails they send
(threshold, repeat, one per offline period, never twice, through a real SMTP server)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from graph.relay import from_global_id, to_global_id
from models import identity as m
from models import remote as r
from models.audit import AuditEvent
from models.mail import OutboxMessage
from resolvers.mail.workers.delivery import deliver_due
from resolvers.remote.workers.notifier import _send, claim, due_notifications, notify_offline_routers
from tests.factories import add_user, snapshot
from tests.remote.helpers import grant_location
from tests.smtp import smtp_server, smtp_settings

PROFILE = """notificationProfile { id name offlineMinutes repeatMinutes organisation { name }
  users { email } emails locations { name } locationGroups { name } }"""
CREATE = f"""mutation($input: NotificationProfileCreateInput!) {{
  notificationProfileCreate(input: $input) {{ {PROFILE} errors {{ code field message }} }}
}}"""
UPDATE = f"""mutation($input: NotificationProfileUpdateInput!) {{
  notificationProfileUpdate(input: $input) {{ {PROFILE} errors {{ code field message }} }}
}}"""
DELETE = """mutation($input: NotificationProfileDeleteInput!) {
  notificationProfileDelete(input: $input) { deletedId errors { code field } } }"""
LIST = """query($filter: NotificationProfileFilter) { notificationProfiles(first: 50, filter: $filter) {
  totalCount nodes { name locations { name } } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename ... on NotificationProfile { name emails } } }"""

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


async def seed(runtime, world) -> dict[str, str]:
    """Per tenant: a location with a router, a location group with another; A1 has a location too."""
    ids: dict[str, str] = {}
    async with runtime.session_factory() as session, session.begin():
        for n, key in enumerate(("a", "a1", "b")):
            organisation_id = world.organisations[key].id
            routers = [
                r.Router(
                    common_name=f"R_{key.upper()}{i}",
                    mac_address=f"00:00:00:00:0{n}:0{i}",
                    serial_number=f"SN-{key}-{i}",
                    organisation_id=organisation_id,
                    online=False,
                    last_heartbeat_at=T0 - timedelta(minutes=2),
                    state_changed_at=T0,
                )
                for i in range(2)
            ]
            session.add_all(routers)
            await session.flush()
            depot = r.Location(organisation_id=organisation_id, name=f"Depot {key}", router_id=routers[0].id)
            plant = r.Location(organisation_id=organisation_id, name=f"Plant {key}", router_id=routers[1].id)
            group = r.LocationGroup(organisation_id=organisation_id, name=f"Plants {key}")
            session.add_all([depot, plant, group])
            await session.flush()
            session.add(r.LocationGroupLocation(group_id=group.id, location_id=plant.id))
            ids[f"depot_{key}"] = to_global_id("Location", depot.id)
            ids[f"plant_{key}"] = to_global_id("Location", plant.id)
            ids[f"group_{key}"] = to_global_id("LocationGroup", group.id)
            ids[f"router_depot_{key}"] = to_global_id("Router", routers[0].id)
            ids[f"router_plant_{key}"] = to_global_id("Router", routers[1].id)
    return ids


def pk(global_id: str) -> int:
    return from_global_id(global_id)[1]


async def create(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(
        CREATE, {"input": {"name": "Night shift", "offlineMinutes": 30, **given}}, token=world.tokens[token]
    )
    assert "errors" not in result, result
    return result["data"]["notificationProfileCreate"]


async def update_profile(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(UPDATE, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["notificationProfileUpdate"]


def codes(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


# --- CRUD ---------------------------------------------------------------------------------------------------


async def create_night_shift(gql, world, ids: dict) -> dict:
    """A's profile Night shift (names trimmed, duplicates dropped, lists sorted), as created."""
    made = await create(
        gql,
        world,
        name=" Night shift ",
        offlineMinutes=15,
        repeatMinutes=60,
        userIds=[world.id("User", "user_a"), world.id("User", "user_a1"), world.id("User", "user_a")],
        emails=["Ops@Example.org", " ops@example.org", "night@example.org"],
        locationIds=[ids["depot_a"]],
        locationGroupIds=[ids["group_a"]],
    )
    assert made["errors"] == []
    profile = made["notificationProfile"]
    assert profile == {
        "id": profile["id"],
        "name": "Night shift",
        "offlineMinutes": 15,
        "repeatMinutes": 60,
        "organisation": {"name": "Tenant A"},
        "users": [{"email": "user@a.example"}, {"email": "user@a1.example"}],
        "emails": ["night@example.org", "ops@example.org"],
        "locations": [{"name": "Depot a"}],
        "locationGroups": [{"name": "Plants a"}],
    }
    return profile


async def assert_nothing_of_it_is_left_but_its_audit_events(runtime):
    """No rows of a deleted profile are left; created, updated twice and deleted are in the history."""
    async with runtime.session_factory() as session:
        for model in (
            r.NotificationProfile,
            r.NotificationProfileUser,
            r.NotificationProfileEmail,
            r.NotificationProfileLocation,
            r.NotificationProfileLocationGroup,
        ):
            assert (await session.scalars(select(model))).all() == [], model
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "NotificationProfile").order_by(AuditEvent.id)
            )
        ).all()
    assert actions == [
        "notification_profile.created",
        "notification_profile.updated",
        "notification_profile.updated",
        "notification_profile.deleted",
    ]


async def test_create_update_delete(gql, world, runtime):
    ids = await seed(runtime, world)
    profile = await create_night_shift(gql, world, ids)
    # fields left out stay; a list given replaces the old one, null empties it
    changed = await update_profile(
        gql,
        world,
        id=profile["id"],
        repeatMinutes=None,
        emails=["day@example.org"],
        locationIds=[ids["plant_a"], ids["depot_a"]],
        locationGroupIds=None,
    )
    assert changed["errors"] == []
    assert changed["notificationProfile"] == {
        **profile,
        "repeatMinutes": None,
        "emails": ["day@example.org"],
        "locations": [{"name": "Depot a"}, {"name": "Plant a"}],
        "locationGroups": [],
    }
    renamed = await update_profile(gql, world, id=profile["id"], name="Weekend", offlineMinutes=10080)
    assert (renamed["notificationProfile"]["name"], renamed["notificationProfile"]["offlineMinutes"]) == (
        "Weekend",
        10080,
    )
    assert renamed["notificationProfile"]["users"] == profile["users"]

    listed = (await gql(LIST, {"filter": {"nameContains": "week"}}, token=world.tokens["admin_a"]))["data"][
        "notificationProfiles"
    ]
    assert listed == {
        "totalCount": 1,
        "nodes": [{"name": "Weekend", "locations": [{"name": "Depot a"}, {"name": "Plant a"}]}],
    }
    found = (await gql(NODE, {"id": profile["id"]}, token=world.tokens["admin_a"]))["data"]["node"]
    assert found == {"__typename": "NotificationProfile", "name": "Weekend", "emails": ["day@example.org"]}

    deleted = (await gql(DELETE, {"input": {"id": profile["id"]}}, token=world.tokens["admin_a"]))["data"]
    assert deleted["notificationProfileDelete"] == {"deletedId": profile["id"], "errors": []}
    assert (await gql(NODE, {"id": profile["id"]}, token=world.tokens["admin_a"]))["data"]["node"] is None
    await assert_nothing_of_it_is_left_but_its_audit_events(runtime)


async def test_profile_of_a_child_organisation_and_external_users(gql, world, runtime):
    ids = await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        # user_b let into A as an external user: a recipient for A's profiles, not for A1's
        session.add(r.ExternalUser(organisation_id=world.organisations["a"].id, user_id=world.users["user_b"].id))
    child = await create(
        gql,
        world,
        organisationId=world.id("Organisation", "a1"),
        userIds=[world.id("User", "user_a1")],
        locationIds=[ids["depot_a1"]],
        locationGroupIds=[ids["group_a1"]],
    )
    assert child["errors"] == [] and child["notificationProfile"]["organisation"] == {"name": "Tenant A1"}
    own = await create(gql, world, userIds=[world.id("User", "user_b")])
    assert own["errors"] == [] and own["notificationProfile"]["users"] == [{"email": "user@b.example"}]
    # names are unique per organisation, not across them
    assert codes(await create(gql, world)) == [("DUPLICATE", ["name"])]
    before = await snapshot(runtime)
    a1 = world.id("Organisation", "a1")
    for given, expected in (
        (
            {"userIds": [world.id("User", "user_a1"), world.id("User", "user_a")]},
            ("WRONG_ORGANISATION", ["userIds", "1"]),
        ),
        ({"userIds": [world.id("User", "user_b")]}, ("WRONG_ORGANISATION", ["userIds", "0"])),
        ({"locationIds": [ids["depot_a1"], ids["depot_a"]]}, ("WRONG_ORGANISATION", ["locationIds", "1"])),
        ({"locationGroupIds": [ids["group_a"]]}, ("WRONG_ORGANISATION", ["locationGroupIds", "0"])),
    ):
        payload = await create(gql, world, name="Child 2", organisationId=a1, **given)
        assert payload["notificationProfile"] is None and codes(payload) == [expected], given
    assert await snapshot(runtime) == before


CREATE_REFUSALS = [
    ({"name": "  "}, "REQUIRED", ["name"]),
    ({"name": "x" * 201}, "TOO_LONG", ["name"]),
    ({"name": "Taken"}, "DUPLICATE", ["name"]),
    ({"offlineMinutes": 0}, "INVALID", ["offlineMinutes"]),
    ({"offlineMinutes": -5}, "INVALID", ["offlineMinutes"]),
    ({"offlineMinutes": 10081}, "INVALID", ["offlineMinutes"]),
    ({"repeatMinutes": 0}, "INVALID", ["repeatMinutes"]),
    ({"repeatMinutes": 10081}, "INVALID", ["repeatMinutes"]),
    ({"emails": ["ok@example.org", "not an address"]}, "INVALID", ["emails", "1"]),
    ({"emails": ["@example.org"]}, "INVALID", ["emails", "0"]),
    ({"emails": [f"p{i}@example.org" for i in range(51)]}, "TOO_MANY", ["emails"]),
    ({"userIds": ["!!!"]}, "NOT_FOUND", ["userIds", "0"]),
    ({"locationIds": ["TG9jYXRpb246OTk5OTk5"]}, "NOT_FOUND", ["locationIds", "0"]),  # Location:999999
]


async def test_create_refusals_change_nothing(gql, world, runtime):
    ids = await seed(runtime, world)
    assert (await create(gql, world, name="Taken"))["errors"] == []
    before = await snapshot(runtime)
    for given, code, field in CREATE_REFUSALS:
        # a valid list next to the bad field: nothing of it is written either
        payload = await create(gql, world, **{"locationIds": [ids["depot_a"]], "emails": ["ops@example.org"], **given})
        assert payload["notificationProfile"] is None, given
        assert codes(payload) == [(code, field)], given
    assert await snapshot(runtime) == before
    # the largest allowed list goes through
    most = await create(gql, world, name="Many", emails=[f"p{i}@example.org" for i in range(50)])
    assert most["errors"] == [] and len(most["notificationProfile"]["emails"]) == 50


async def test_update_refusals_change_nothing(gql, world, runtime):
    ids = await seed(runtime, world)
    await create(gql, world, name="Taken")
    profile = (await create(gql, world, locationIds=[ids["depot_a"]]))["notificationProfile"]["id"]
    before = await snapshot(runtime)
    for given, code, field in [
        ({"name": None}, "REQUIRED", ["name"]),
        ({"name": "Taken"}, "DUPLICATE", ["name"]),
        ({"offlineMinutes": None}, "REQUIRED", ["offlineMinutes"]),
        ({"offlineMinutes": 0}, "INVALID", ["offlineMinutes"]),
        ({"name": "Renamed", "emails": ["x@"]}, "INVALID", ["emails", "0"]),
        ({"emails": ["ok@example.org"], "locationIds": [ids["depot_b"]]}, "NOT_FOUND", ["locationIds", "0"]),
        ({"userIds": [world.id("User", "user_b")]}, "NOT_FOUND", ["userIds", "0"]),
        ({"locationGroupIds": [ids["group_b"]]}, "NOT_FOUND", ["locationGroupIds", "0"]),
    ]:
        payload = await update_profile(gql, world, id=profile, **given)
        assert payload["notificationProfile"] is None, given
        assert codes(payload) == [(code, field)], given
    assert await snapshot(runtime) == before


async def test_other_tenants_ids_read_like_unknown_ones(gql, world, runtime):
    ids = await seed(runtime, world)
    profile = (await create(gql, world, locationIds=[ids["depot_a"]]))["notificationProfile"]["id"]
    unknown_profile = to_global_id("NotificationProfile", 999_999)
    before = await snapshot(runtime)
    for given, unknown, field in (
        ({"userIds": [world.id("User", "user_b")]}, {"userIds": [to_global_id("User", 999_999)]}, ["userIds", "0"]),
        ({"locationIds": [ids["depot_b"]]}, {"locationIds": [to_global_id("Location", 999_999)]}, ["locationIds", "0"]),
        (
            {"locationGroupIds": [ids["group_b"]]},
            {"locationGroupIds": [to_global_id("LocationGroup", 999_999)]},
            ["locationGroupIds", "0"],
        ),
        (
            {"organisationId": world.id("Organisation", "b")},
            {"organisationId": to_global_id("Organisation", 999_999)},
            ["organisationId"],
        ),
    ):
        other, missing = await create(gql, world, name="Spy", **given), await create(gql, world, name="Spy", **unknown)
        assert codes(other) == codes(missing) == [("NOT_FOUND", field)]
        assert other["errors"][0]["message"] == missing["errors"][0]["message"]
    # a location granted to A's admin from B is seen, never A's to watch
    await grant_location(runtime, world, "admin_a", ids["depot_b"])
    granted = await create(gql, world, name="Spy", locationIds=[ids["depot_b"]])
    assert codes(granted) == [("NOT_FOUND", ["locationIds", "0"])]
    before = await snapshot(runtime)
    # B's admin: A's profile reads like an unknown one everywhere
    for document, variables, root in (
        (UPDATE, {"id": profile, "name": "Spy"}, "notificationProfileUpdate"),
        (DELETE, {"id": profile}, "notificationProfileDelete"),
    ):
        other = await gql(document, {"input": variables}, token=world.tokens["admin_b"])
        missing = await gql(document, {"input": {**variables, "id": unknown_profile}}, token=world.tokens["admin_b"])
        assert other["data"][root]["errors"] == missing["data"][root]["errors"]
        assert [(e["code"], e["field"]) for e in other["data"][root]["errors"]] == [("NOT_FOUND", ["id"])]
    assert (await gql(NODE, {"id": profile}, token=world.tokens["admin_b"]))["data"]["node"] is None
    assert (await gql(LIST, token=world.tokens["admin_b"]))["data"]["notificationProfiles"]["totalCount"] == 0
    assert await snapshot(runtime) == before


async def test_without_locations_manage_forbidden(gql, world, runtime):
    ids = await seed(runtime, world)
    profile = (await create(gql, world, locationIds=[ids["depot_a"]]))["notificationProfile"]["id"]
    before = await snapshot(runtime)
    for document, variables in (
        (CREATE, {"input": {"name": "Mine", "offlineMinutes": 5}}),
        (UPDATE, {"input": {"id": profile, "name": "Mine"}}),
        (DELETE, {"input": {"id": profile}}),
        (LIST, {}),
    ):
        result = await gql(document, variables, token=world.tokens["user_a"])
        assert result["data"] is None and result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(NODE, {"id": profile}, token=world.tokens["user_a"]))["data"]["node"] is None
    assert await snapshot(runtime) == before


# --- the offline mails ---------------------------------------------------------------------------------------


async def profile_for(gql, world, **given) -> int:
    payload = await create(gql, world, **given)
    assert payload["errors"] == [], payload
    return pk(payload["notificationProfile"]["id"])


async def outbox(runtime) -> list[tuple[str, str, str]]:
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [(row.to_address, row.language, row.subject) for row in rows]


async def sent_rows(runtime) -> list[tuple[int, int, datetime, datetime, int]]:
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(r.OfflineNotification).order_by(r.OfflineNotification.router_id))).all()
    return [(row.profile_id, row.router_id, row.offline_since, row.last_sent_at, row.sent_count) for row in rows]


async def set_router(runtime, global_id: str, **values) -> None:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(r.Router).where(r.Router.id == pk(global_id)).values(**values))


async def notify(runtime, now: datetime) -> int:
    return await notify_offline_routers(runtime.session_factory, now, public_url="https://portal.example")


async def test_one_mail_after_the_threshold_then_none(gql, world, runtime):
    ids = await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_a"].id).values(language="de"))
    profile = await profile_for(
        gql,
        world,
        offlineMinutes=30,
        userIds=[world.id("User", "user_a")],
        emails=["ops@example.org"],
        locationIds=[ids["depot_a"]],
    )
    assert await notify(runtime, T0 + timedelta(minutes=29, seconds=59)) == 0
    assert await outbox(runtime) == []
    assert await notify(runtime, T0 + timedelta(minutes=30)) == 2
    mails = await outbox(runtime)
    assert [(to, language) for to, language, _ in mails] == [("user@a.example", "de"), ("ops@example.org", "en")]
    assert mails[0][2] == "Router R_A0 am Standort Depot a ist offline"
    assert mails[1][2] == "Router R_A0 at Depot a is offline"
    assert await sent_rows(runtime) == [(profile, pk(ids["router_depot_a"]), T0, T0 + timedelta(minutes=30), 1)]
    # the same round again, and later on: no repeat was asked for
    assert await notify(runtime, T0 + timedelta(minutes=30)) == 0
    assert await notify(runtime, T0 + timedelta(days=3)) == 0
    assert len(await outbox(runtime)) == 2


async def test_repeats_every_repeat_minutes_while_offline(gql, world, runtime):
    ids = await seed(runtime, world)
    profile = await profile_for(
        gql, world, offlineMinutes=10, repeatMinutes=60, emails=["ops@example.org"], locationIds=[ids["depot_a"]]
    )
    router = pk(ids["router_depot_a"])
    assert await notify(runtime, T0 + timedelta(minutes=10)) == 1
    assert await notify(runtime, T0 + timedelta(minutes=69)) == 0
    assert await notify(runtime, T0 + timedelta(minutes=70)) == 1
    assert await notify(runtime, T0 + timedelta(minutes=70)) == 0
    assert await notify(runtime, T0 + timedelta(minutes=135)) == 1
    assert await sent_rows(runtime) == [(profile, router, T0, T0 + timedelta(minutes=135), 3)]


async def test_new_offline_period_starts_over(gql, world, runtime):
    ids = await seed(runtime, world)
    profile = await profile_for(gql, world, offlineMinutes=5, emails=["ops@example.org"], locationIds=[ids["depot_a"]])
    router = pk(ids["router_depot_a"])
    assert await notify(runtime, T0 + timedelta(minutes=5)) == 1
    # back online: nothing; offline again at T1: a mail once the threshold passed again
    t1 = T0 + timedelta(hours=2)
    await set_router(
        runtime,
        ids["router_depot_a"],
        online=True,
        last_heartbeat_at=t1 - timedelta(minutes=10),
        state_changed_at=t1 - timedelta(minutes=10),
    )
    assert await notify(runtime, t1) == 0
    await set_router(runtime, ids["router_depot_a"], online=False, state_changed_at=t1)
    assert await notify(runtime, t1 + timedelta(minutes=4)) == 0
    assert await notify(runtime, t1 + timedelta(minutes=5)) == 1
    assert await sent_rows(runtime) == [(profile, router, t1, t1 + timedelta(minutes=5), 1)]


async def test_who_and_what_is_reported(gql, world, runtime):
    """Locations through a group count; online routers, routers that never reported, unwatched locations,
    inactive users and other profiles' locations do not."""
    ids = await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        gone = await add_user(session, world.organisations["a"], "gone@a.example", [m.Role.USER], is_active=False)
    await profile_for(
        gql,
        world,
        offlineMinutes=5,
        userIds=[to_global_id("User", gone.id), world.id("User", "user_a")],
        emails=["user@a.example", "ops@example.org"],
        locationGroupIds=[ids["group_a"]],
    )
    await profile_for(
        gql, world, token="admin_b", offlineMinutes=5, emails=["ops@b.example"], locationIds=[ids["depot_b"]]
    )
    await set_router(runtime, ids["router_depot_b"], online=True)
    assert await notify(runtime, T0 + timedelta(hours=1)) == 2
    # the plant (through the group) of A only; user_a once although also listed by address
    assert sorted((to, subject) for to, _, subject in await outbox(runtime)) == [
        ("ops@example.org", "Router R_A1 at Plant a is offline"),
        ("user@a.example", "Router R_A1 at Plant a is offline"),
    ]
    # a router that never sent a heartbeat has not gone offline: no mail
    async with runtime.session_factory() as session, session.begin():
        await session.execute(delete(r.OfflineNotification))
    await set_router(runtime, ids["router_plant_a"], last_heartbeat_at=None)
    assert await notify(runtime, T0 + timedelta(hours=2)) == 0


async def test_never_sent_twice(gql, world, runtime):
    """Two rounds at the same moment (two server processes) send once; a router back online between
    the query and the claim gets none."""
    ids = await seed(runtime, world)
    await profile_for(
        gql, world, offlineMinutes=5, emails=["ops@example.org"], locationIds=[ids["depot_a"], ids["plant_a"]]
    )
    now = T0 + timedelta(minutes=10)
    results = await asyncio.gather(notify(runtime, now), notify(runtime, now))
    assert sorted(results) in ([0, 2], [1, 1])
    assert len(await outbox(runtime)) == 2
    # the claim itself: the second one for the same period finds nothing due
    async with runtime.session_factory() as session:
        due = await due_notifications(session, now + timedelta(minutes=1))
    assert due == []
    await set_router(runtime, ids["router_depot_a"], state_changed_at=T0 + timedelta(minutes=20))  # a new period
    async with runtime.session_factory() as session:
        due = await due_notifications(session, now + timedelta(minutes=30))
    assert len(due) == 1
    async with runtime.session_factory() as session, session.begin():
        assert await claim(session, due[0], now + timedelta(minutes=30), None) == 1
    async with runtime.session_factory() as session, session.begin():
        assert await claim(session, due[0], now + timedelta(minutes=30), None) is None
    # due, but the router came back before the mail was claimed
    await set_router(runtime, ids["router_plant_a"], state_changed_at=T0 + timedelta(minutes=20))
    async with runtime.session_factory() as session:
        due = await due_notifications(session, now + timedelta(minutes=30))
    assert [d.router_id for d in due] == [pk(ids["router_plant_a"])]
    await set_router(runtime, ids["router_plant_a"], online=True, state_changed_at=now + timedelta(minutes=29))
    async with runtime.session_factory() as session, session.begin():
        assert await _send(session, due[0], now + timedelta(minutes=30), "") == 0
    assert len(await outbox(runtime)) == 2


async def test_the_watchdog_round_sends_them(gql, world, runtime):
    from models.base import utcnow
    from resolvers.remote.workers.watchdog import RouterWatchdog

    ids = await seed(runtime, world)
    await profile_for(gql, world, offlineMinutes=5, emails=["ops@example.org"], locationIds=[ids["depot_a"]])
    await set_router(runtime, ids["router_depot_a"], state_changed_at=utcnow() - timedelta(minutes=6))
    await RouterWatchdog(runtime).run_round()
    assert [to for to, _, _ in await outbox(runtime)] == ["ops@example.org"]


async def test_delivered_to_a_real_smtp_server(gql, world, runtime):
    ids = await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_a"].id).values(language="fr"))
    await profile_for(
        gql,
        world,
        name="Nuit",
        offlineMinutes=30,
        userIds=[world.id("User", "user_a")],
        emails=["ops@example.org"],
        locationIds=[ids["depot_a"]],
    )
    assert await notify(runtime, T0 + timedelta(minutes=45)) == 2
    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port)
        assert await deliver_due(runtime, settings=settings) == 2
        assert await deliver_due(runtime, settings=settings) == 0
    received = {message["To"]: message for message in collector.messages}
    assert set(received) == {"user@a.example", "ops@example.org"}
    french = received["user@a.example"]
    assert french["Subject"] == "Le routeur R_A0 du site Depot a est hors ligne"
    text = french.get_body(("plain",)).get_content()
    assert "depuis 2026-12-02 08:00 UTC, soit 45 minutes" in text and "profil d'alerte Nuit" in text
    english = received["ops@example.org"].get_body(("plain",)).get_content()
    assert english.startswith("Hello ops@example.org,")
    assert f"https://portal.example/locations/{ids['depot_a']}" in english
