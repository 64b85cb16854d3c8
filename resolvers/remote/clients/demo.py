"""Remote clients' demo data (Domain.demo): Erika has paired her laptop's client. The demo simulator sends its
heartbeats with the demo secret through the rule a real client's go through, so it shows CONNECTED."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.demo import DemoTenants
from models import clients as cl
from models.base import utcnow
from resolvers.remote.demo import ERIKA

#: The demo client's secret: a real one exists only in its client; the demo's simulator plays that client.
DEMO_CLIENT_SECRET = "fgc_demo-erika-laptop-not-a-secret"
DEMO_CLIENT_NAME = "Erikas Laptop"


async def seed_demo_clients(session: AsyncSession, tenants: DemoTenants) -> None:
    now = utcnow()
    session.add(
        cl.RemoteClient(
            user_id=tenants.users[ERIKA],
            name=DEMO_CLIENT_NAME,
            secret_hash=hash_token(DEMO_CLIENT_SECRET),
            version="RemoteClient/2.4 Windows 11",
            registered_at=now,
            paired_at=now,
            last_heartbeat_at=now,
        )
    )
    await session.flush()
