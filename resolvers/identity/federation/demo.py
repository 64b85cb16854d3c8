"""Demo data of federated sign-in (issue 19): Erika of IntegraDemo has her Entra ID account linked, as the
first sign-in with a verified e-mail would have linked it (a demo server configures no provider, so it shows
the row, not a live sign-in)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import federation as fed

DEMO_FEDERATED_EMAIL = "erika@integra-metering.com"
DEMO_PROVIDER = "entra"
DEMO_SUBJECT = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"


async def seed_demo_federation(session: AsyncSession, tenants: DemoTenants) -> None:
    session.add(
        fed.FederatedIdentity(
            provider=DEMO_PROVIDER,
            subject=DEMO_SUBJECT,
            user_id=tenants.users[DEMO_FEDERATED_EMAIL],
            email=DEMO_FEDERATED_EMAIL,
        )
    )
