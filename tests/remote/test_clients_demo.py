"""The demo of issue 18's clients and condition notifications: Erika's paired client, kept connected by the demo
simulator's heartbeats, and the maintenance profile that mails when the simulated router reports a fault or its
machine stands still (and when that ends)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select, update

from graph.composition import DEMO
from graph.demo import seed_demo
from models import clients as cl
from models import identity as m
from models.base import utcnow
from models.mail import OutboxMessage, TemplateType
from resolvers.remote.workers import simulator
from resolvers.remote.workers.conditions import notify_condition_changes
from resolvers.remote.workers.simulator import DemoSimulator, SimulatedRouter
from tests.factories import issue_token
from tests.remote.clients_helpers import LIST

PROFILES = """{ notificationProfiles(filter: {nameContains: "Instandhaltung"}) {
  nodes { name events users { email } emails locations { name } } } }"""


async def token_of(runtime, email: str) -> str:
    async with runtime.session_factory() as session, session.begin():
        return await issue_token(session, await session.scalar(select(m.User).where(m.User.email == email)))


async def condition_mails(runtime) -> list[tuple[str, str]]:
    async with runtime.session_factory() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template_type == TemplateType.ROUTER_CONDITION)
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [(row.to_address, row.subject) for row in rows]


async def test_erikas_client_is_kept_connected_by_the_simulator(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    erika = await token_of(runtime, "erika@integra-metering.com")
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(cl.RemoteClient).values(last_heartbeat_at=utcnow() - timedelta(hours=1)))
    nodes = (await gql(LIST, token=erika))["data"]["clients"]["nodes"]
    assert [(n["name"], n["connectionStatus"]) for n in nodes] == [("Erikas Laptop", "DISCONNECTED")]
    await DemoSimulator(runtime).run_round()
    nodes = (await gql(LIST, token=erika))["data"]["clients"]["nodes"]
    assert [(n["name"], n["connectionStatus"]) for n in nodes] == [("Erikas Laptop", "CONNECTED")]


async def test_the_maintenance_profile_mails_the_simulated_fault_and_standstill(gql, runtime, monkeypatch):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    admin = await token_of(runtime, "demo@integra-metering.com")
    assert (await gql(PROFILES, token=admin))["data"]["notificationProfiles"]["nodes"] == [
        {
            "name": "Instandhaltung",
            "events": ["FAULT", "STANDSTILL"],
            "users": [{"email": "demo@integra-metering.com"}],
            "emails": ["instandhaltung@integra-metering.com"],
            "locations": [{"name": "Pumpstation Nord"}],
        }
    ]
    running = DemoSimulator(runtime)
    monkeypatch.setattr(simulator, "CONDITION_STARTS", 0.0)  # a quiet round, not left to chance
    await running.run_round()
    assert await notify_condition_changes(runtime.session_factory, utcnow()) == 0  # nothing wrong yet
    monkeypatch.setattr(simulator, "CONDITION_STARTS", 1.0)
    monkeypatch.setattr(simulator, "CONDITION_ENDS", 0.0)
    await running.run_round()
    assert await notify_condition_changes(runtime.session_factory, utcnow()) == 4  # two events, two recipients
    monkeypatch.setattr(simulator, "CONDITION_STARTS", 0.0)
    monkeypatch.setattr(simulator, "CONDITION_ENDS", 1.0)
    await running.run_round()
    assert await notify_condition_changes(runtime.session_factory, utcnow()) == 4
    mails = await condition_mails(runtime)
    assert len([to for to, _ in mails if to == "demo@integra-metering.com"]) == 4  # in German
    subjects = sorted(subject for to, subject in mails if to == "instandhaltung@integra-metering.com")
    assert subjects == [
        "Fault at Pumpstation Nord",
        "Fault cleared at Pumpstation Nord",
        "Running again at Pumpstation Nord",
        "Standstill at Pumpstation Nord",
    ]


def test_the_simulated_router_reports_a_condition_now_and_then():
    router = SimulatedRouter("R_DEMO", random.Random(18))
    statuses = [router.status() for _ in range(1000)]
    faulty = [status.fault_code for status in statuses if status.fault_code]
    still = [status.standstill for status in statuses if status.standstill]
    # now and then, not always: a few percent of the reports
    assert 0 < len(faulty) < 200 and 0 < len(still) < 200
    assert {status.fault_code for status in statuses} - {None} <= {"E17", "E42", "W03"}
