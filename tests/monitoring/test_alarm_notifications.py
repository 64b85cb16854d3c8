"""Alarm notifications (§21.11): per user settings, mails for all or chosen profiles on raise / change /
clear, in the user's language, through the outbox to a real SMTP server; validation and audit."""

from __future__ import annotations

from sqlalchemy import select, update

from models import identity as m
from models.audit import AuditEvent
from models.mail import OutboxMessage
from resolvers.mail.workers.delivery import deliver_due
from tests.monitoring.alarm_helpers import CREATE, T0, seconds, seed, store_points
from tests.smtp import smtp_server, smtp_settings

SET = """mutation($input: AlarmNotificationSettingSetInput!) { alarmNotificationSettingSet(input: $input) {
  setting { id userEmail email allProfiles onRaise onChange onClear organisation { name } profiles { name } }
  errors { code field } } }"""
REMOVE = (
    """mutation($id: ID!) { alarmNotificationSettingRemove(input: {id: $id}) { removedId errors { code field } } }"""
)
LIST = "{ alarmNotificationSettings(first: 50) { totalCount nodes { userEmail allProfiles profiles { name } } } }"


async def make_profile(gql, world, ids, name: str, key: str) -> str:
    given = {
        "name": name,
        "severity": "HIGH",
        "locationGroupIds": [ids["group_a"]],
        "activationFilters": [{"key": key, "condition": "GT", "value": 80}],
        "clearingFilters": [{"key": key, "condition": "LT", "value": 75}],
    }
    made = (await gql(CREATE, {"input": given}, token=world.tokens["admin_a"]))["data"]["alarmProfileCreate"]
    assert made["errors"] == [], made
    return made["alarmProfile"]["id"]


async def set_setting(gql, world, **given) -> dict:
    result = await gql(SET, {"input": given}, token=world.tokens["admin_a"])
    assert "errors" not in result, result
    return result["data"]["alarmNotificationSettingSet"]


async def outbox(runtime) -> list[tuple[str, str]]:
    async with runtime.session_factory() as session:
        return [
            tuple(row)
            for row in (
                await session.execute(
                    select(OutboxMessage.to_address, OutboxMessage.subject).order_by(OutboxMessage.id)
                )
            ).all()
        ]


async def test_mails_for_raise_and_clear_in_the_users_language(gql, world, runtime):
    ids = await seed(runtime, world)
    temperature = await make_profile(gql, world, ids, "HIGH_TEMPERATURE", "temperature")
    await make_profile(gql, world, ids, "HIGH_SPEED", "speed")
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_a"].id).values(language="de"))
    made = await set_setting(gql, world, userId=world.id("User", "admin_a"))  # all profiles, raise and clear
    assert made["errors"] == [] and made["setting"]["allProfiles"] is True
    chosen = await set_setting(
        gql, world, userId=world.id("User", "user_a"), allProfiles=False, profileIds=[temperature], onChange=True
    )
    assert chosen["setting"]["profiles"] == [{"name": "HIGH_TEMPERATURE"}]
    plant, device = ids["plant_a"], ids["device_a"]
    await store_points(runtime, [(plant, device, "temperature", T0, 85), (plant, device, "speed", T0, 90)])
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(1), 86)])
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(2), 70)])
    queued = await outbox(runtime)
    assert sorted(queued) == sorted(
        [
            ("admin@a.example", "[HIGH] HIGH_TEMPERATURE raised at Plant a (HMI Pumpe 1)"),
            ("admin@a.example", "[HIGH] HIGH_SPEED raised at Plant a (HMI Pumpe 1)"),
            ("user@a.example", "[HIGH] HIGH_TEMPERATURE ausgelöst: Plant a (HMI Pumpe 1)"),
            ("user@a.example", "[HIGH] HIGH_TEMPERATURE wiederholt: Plant a (HMI Pumpe 1)"),
            ("admin@a.example", "[HIGH] HIGH_TEMPERATURE cleared at Plant a (HMI Pumpe 1)"),
            ("user@a.example", "[HIGH] HIGH_TEMPERATURE aufgehoben: Plant a (HMI Pumpe 1)"),
        ]
    )
    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port)
        assert await deliver_due(runtime, settings=settings) == 6
    german = next(message for message in collector.messages if "ausgelöst" in message["Subject"])
    text = german.get_body(("plain",)).get_content()
    assert text.startswith("Hallo ") and "temperature = 85.0" in text and "/alarms/" in text


async def test_no_mail_when_off_or_for_another_tenant_and_bad_input_changes_nothing(gql, world, runtime):
    ids = await seed(runtime, world)
    await make_profile(gql, world, ids, "HIGH_TEMPERATURE", "temperature")
    off = await set_setting(gql, world, userId=world.id("User", "admin_a"), email=False)
    assert off["errors"] == []
    bad = [
        ({"userId": world.id("User", "user_b")}, [{"code": "NOT_FOUND", "field": ["userId"]}]),
        (
            {"userId": world.id("User", "user_a1"), "organisationId": world.id("Organisation", "b")},
            [{"code": "NOT_FOUND", "field": ["organisationId"]}],
        ),
        (
            {"userId": world.id("User", "user_a"), "organisationId": world.id("Organisation", "a1")},
            [{"code": "WRONG_ORGANISATION", "field": ["userId"]}],
        ),
        ({"userId": world.id("User", "user_a"), "allProfiles": False}, [{"code": "REQUIRED", "field": ["profileIds"]}]),
    ]
    for given, errors in bad:
        assert (await set_setting(gql, world, **given))["errors"] == errors, given
    await store_points(runtime, [(ids["plant_a"], ids["device_a"], "temperature", T0, 85)])
    await store_points(runtime, [(ids["plant_b"], ids["device_b"], "temperature", T0, 85)])
    assert await outbox(runtime) == []
    listed = (await gql(LIST, token=world.tokens["admin_a"]))["data"]["alarmNotificationSettings"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["userEmail"] == "admin@a.example"
    assert (await gql(LIST, token=world.tokens["admin_b"]))["data"]["alarmNotificationSettings"]["totalCount"] == 0
    other = (await gql(REMOVE, {"id": off["setting"]["id"]}, token=world.tokens["admin_b"]))["data"]
    assert other["alarmNotificationSettingRemove"]["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    removed = (await gql(REMOVE, {"id": off["setting"]["id"]}, token=world.tokens["admin_a"]))["data"]
    assert removed["alarmNotificationSettingRemove"]["errors"] == []
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.startswith("alarm_notification"))
                .order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["alarm_notification.set", "alarm_notification.removed"]
