"""Demo data: the organisations and users of the manuals (credentials listed in README)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.passwords import hash_password
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


async def seed_demo(session_factory: async_sessionmaker[AsyncSession]) -> bool:
    """Create the demo data once; False when the database already has organisations."""
    async with session_factory() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(m.Organisation)):
            return False
        organisations = {"platform": await _organisation(session, "fleetgraph Platform", None)}
        organisations["integra"] = await _organisation(
            session, "IntegraDemo", None, can_create_organisations=True, your_reference="KMS-DEMO"
        )
        organisations["service"] = await _organisation(session, "IntegraDemo Service", organisations["integra"], your_reference="SRV-01")
        organisations["partner"] = await _organisation(session, "Partner Metering GmbH", None)
        session.add(m.PartnerLink(organisation_id=organisations["integra"].id, partner_id=organisations["partner"].id))
        for key, name, email, password, roles in DEMO_USERS:
            user = m.User(organisation_id=organisations[key].id, name=name, email=email, language="de" if key != "platform" else "en")
            user.password_hash = hash_password(password)
            session.add(user)
            await session.flush()
            session.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash))
            session.add_all(m.UserRole(user_id=user.id, role=role) for role in roles)
        return True
