"""Demo data: the organisations and users of the manuals (credentials listed in README), then what each
domain adds for them (Domain.demo: steps `(session, DemoTenants)`, run in composition order)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.passwords import hash_password
from graph.secrets import Sealer
from models import identity as m

DEMO_USERS = [
    # (organisation key, name, email, password, roles)
    ("platform", "Platform Admin", "platform@fleetgraph.example", "Schluessel#Kette58", [m.Role.PLATFORM_ADMIN]),
    ("integra", "Demo Integra", "demo@integra-metering.com", "Wasser-Zaehler#47", [m.Role.ORGANISATION_ADMIN]),
    ("integra", "Erika Muster", "erika@integra-metering.com", "Heizung-Ablesen#93", [m.Role.USER]),
    ("service", "Max Service", "max@service.integra-metering.com", "Techniker!Einsatz62", [m.Role.ORGANISATION_ADMIN]),
    ("integra", "Integra API", "api@integra-metering.com", "Maschinen-Zugang#71", [m.Role.API_USER]),
    ("partner", "Paula Partner", "paula@partner-metering.example", "Gast&Schleuse84", [m.Role.ORGANISATION_ADMIN]),
]


async def _organisation(session: AsyncSession, name: str, parent: m.Organisation | None, **fields) -> m.Organisation:
    organisation = m.Organisation(name=name, parent_id=parent.id if parent else None, **fields)
    session.add(organisation)
    await session.flush()
    organisation.path = f"{parent.path if parent else '/'}{organisation.id}/"
    return organisation


@dataclass(frozen=True)
class DemoTenants:
    """What every domain's demo data hangs on."""

    #: By the keys of DEMO_USERS ("platform", "integra", "service", "partner").
    organisations: dict[str, m.Organisation]
    #: User ids by e-mail address.
    users: dict[str, int]
    #: The server's master key sealer (e.g. demo device keys are sealed with it, so the key download works).
    sealer: Sealer


DemoStep = Callable[[AsyncSession, DemoTenants], Awaitable[None]]


async def seed_demo(
    session_factory: async_sessionmaker[AsyncSession], sealer: Sealer, steps: Sequence[DemoStep]
) -> bool:
    """Create the demo data once, in one transaction: the tenants, then each of `steps` (the domains' demo
    data, graph.composition.DEMO); False when the database already has organisations."""
    async with session_factory() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(m.Organisation)):
            return False
        organisations = await _demo_organisations(session)
        tenants = DemoTenants(organisations, await _demo_users(session, organisations), sealer)
        for step in steps:
            await step(session, tenants)
        return True


async def _demo_organisations(session: AsyncSession) -> dict[str, m.Organisation]:
    """The platform, IntegraDemo with its service subsidiary, and IntegraDemo's partner."""
    organisations = {"platform": await _organisation(session, "fleetgraph Platform", None)}
    organisations["integra"] = await _organisation(
        session, "IntegraDemo", None, can_create_organisations=True, your_reference="KMS-DEMO"
    )
    organisations["service"] = await _organisation(
        session, "IntegraDemo Service", organisations["integra"], your_reference="SRV-01"
    )
    organisations["partner"] = await _organisation(session, "Partner Metering GmbH", None)
    session.add(m.PartnerLink(organisation_id=organisations["integra"].id, partner_id=organisations["partner"].id))
    return organisations


async def _demo_users(session: AsyncSession, organisations: dict[str, m.Organisation]) -> dict[str, int]:
    """DEMO_USERS with their passwords and roles; returns their ids by e-mail address."""
    users: dict[str, int] = {}
    for key, name, email, password, roles in DEMO_USERS:
        user = m.User(
            organisation_id=organisations[key].id,
            name=name,
            email=email,
            language="de" if key != "platform" else "en",
        )
        user.password_hash = hash_password(password)
        session.add(user)
        await session.flush()
        session.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash))
        session.add_all(m.UserRole(user_id=user.id, role=role) for role in roles)
        users[email] = user.id
    return users
