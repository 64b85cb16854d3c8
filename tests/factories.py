"""Test data, written straight into a real database session (each API has its own tests, so setups skip it).

Functions taking a `session` add rows and flush (the caller owns the transaction); functions taking the
`runtime` open their own transaction. Every user shares the one password `PASSWORD`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from graph.auth import hash_token, new_token
from graph.passwords import hash_password
from graph.relay import to_global_id
from models import Base
from models import catalogue as c
from models import identity as m
from models.base import utcnow

PASSWORD = "Correct-Horse#Battery9"
NEW_PASSWORD = "Violet-Kayak#Lantern7"
#: A primary key no row has: IDs built from it are well-formed but unknown.
UNKNOWN_PK = 999_999
#: The manufacturer of the shipped product types (the namespace of serial numbers).
MANUFACTURER = "INTEGRA Metering AG"

_PASSWORD_HASH = hash_password(PASSWORD)


# --- identity --------------------------------------------------------------------------------------------


async def add_organisation(session, name: str, parent: m.Organisation | None = None, **fields) -> m.Organisation:
    organisation = m.Organisation(name=name, parent_id=parent.id if parent else None, **fields)
    session.add(organisation)
    await session.flush()
    organisation.path = f"{parent.path if parent else '/'}{organisation.id}/"
    await session.flush()
    return organisation


async def add_user(
    session, organisation: m.Organisation, email: str, roles: list[m.Role], name: str | None = None, **fields
) -> m.User:
    user = m.User(
        organisation_id=organisation.id,
        email=email,
        name=name or email.split("@")[0].title(),
        password_hash=_PASSWORD_HASH,
        **fields,
    )
    session.add(user)
    await session.flush()
    session.add_all(m.UserRole(user_id=user.id, role=role) for role in roles)
    await session.flush()
    return user


async def issue_token(session, user: m.User, ttl: int = 3600) -> str:
    """A fresh access token of the user (as a login would give)."""
    token = new_token(m.TokenKind.ACCESS)
    now = utcnow()
    session.add(
        m.AuthToken(
            user_id=user.id,
            kind=m.TokenKind.ACCESS,
            token_hash=hash_token(token),
            session_id=str(uuid.uuid4()),
            authenticated_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    await session.flush()
    return token


@dataclass
class World:
    """Two tenants: A (with child organisation A1) and B, plus a platform admin."""

    organisations: dict[str, m.Organisation] = field(default_factory=dict)
    users: dict[str, m.User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def id(self, kind: str, key: str) -> str:
        obj = self.organisations[key] if kind == "Organisation" else self.users[key]
        return to_global_id(kind, obj.id)


async def add_world(session) -> World:
    """The `world` fixture: organisations platform, a (with child a1) and b; users platform, admin_a, user_a,
    user_a1, admin_b and user_b, each with a token."""
    world = World()
    platform = await add_organisation(session, "Platform")
    a = await add_organisation(session, "Tenant A", can_create_organisations=True)
    a1 = await add_organisation(session, "Tenant A1", a)
    b = await add_organisation(session, "Tenant B", can_create_organisations=True)
    world.organisations.update(platform=platform, a=a, a1=a1, b=b)
    world.users["platform"] = await add_user(session, platform, "root@platform.example", [m.Role.PLATFORM_ADMIN])
    world.users["admin_a"] = await add_user(session, a, "admin@a.example", [m.Role.ORGANISATION_ADMIN])
    world.users["user_a"] = await add_user(session, a, "user@a.example", [m.Role.USER])
    world.users["user_a1"] = await add_user(session, a1, "user@a1.example", [m.Role.USER])
    world.users["admin_b"] = await add_user(session, b, "admin@b.example", [m.Role.ORGANISATION_ADMIN])
    world.users["user_b"] = await add_user(session, b, "user@b.example", [m.Role.USER])
    for key, user in world.users.items():
        world.tokens[key] = await issue_token(session, user)
    return world


# --- catalogue -------------------------------------------------------------------------------------------


async def product_type_ids(runtime) -> dict[str, int]:
    """The shipped product types: {name: id}."""
    async with runtime.session_factory() as session:
        return dict((await session.execute(select(c.ProductType.name, c.ProductType.id))).all())


async def add_batch(runtime, reference: str, organisation_id: int, sender_id: int, label: str = "") -> int:
    async with runtime.session_factory() as session, session.begin():
        batch = c.Batch(
            reference=reference, label=label, organisation_id=organisation_id, sender_organisation_id=sender_id
        )
        session.add(batch)
        await session.flush()
        return batch.id


async def add_device(
    session,
    serial: str,
    product_type_id: int,
    organisation_id: int | None,
    *,
    claimed: bool = False,
    batch_id: int | None = None,
    labels: Sequence[str] = (),
) -> c.Device:
    device = c.Device(
        manufacturer=MANUFACTURER,
        serial_number=serial,
        product_type_id=product_type_id,
        organisation_id=organisation_id,
        batch_id=batch_id,
        claim_status=c.ClaimStatus.CLAIMED if claimed else c.ClaimStatus.UNCLAIMED,
    )
    session.add(device)
    await session.flush()
    session.add_all(c.DeviceLabel(device_id=device.id, label=label) for label in labels)
    return device


async def add_devices(
    runtime, organisation_id: int | None, rows: list[tuple], *, batch_id: int | None = None
) -> dict[str, int]:
    """rows: (serial, product type name, claimed?, [labels]) -> {serial: device id}."""
    types = await product_type_ids(runtime)
    ids = {}
    async with runtime.session_factory() as session, session.begin():
        for serial, type_name, claimed, labels in rows:
            device = await add_device(
                session, serial, types[type_name], organisation_id, claimed=claimed, batch_id=batch_id, labels=labels
            )
            ids[serial] = device.id
    return ids


# --- reading back ----------------------------------------------------------------------------------------


async def snapshot(runtime) -> dict[str, list[tuple]]:
    """Every row of every table (to show that a refused call changed nothing)."""
    tables = {}
    async with runtime.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table).order_by(*table.primary_key.columns))).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables
