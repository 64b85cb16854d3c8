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
from models import metering as mt
from models import remote as r
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import EmailTemplate, TemplateType

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
    """A user with the given roles and the password PASSWORD (unless `password_hash` is given)."""
    fields.setdefault("password_hash", _PASSWORD_HASH)
    user = m.User(organisation_id=organisation.id, email=email, name=name or email.split("@")[0].title(), **fields)
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


async def add_user_group(session, organisation_id: int, name: str, members: Sequence[int] = ()) -> m.UserGroup:
    """A user group with the given users (by primary key) as members."""
    group = m.UserGroup(organisation_id=organisation_id, name=name)
    session.add(group)
    await session.flush()
    session.add_all(m.UserGroupMember(group_id=group.id, user_id=user_id) for user_id in members)
    await session.flush()
    return group


async def add_invitation(
    session, organisation_id: int, email: str | None, token_hash: str, *, name: str = "Invitee", **fields
) -> m.Invitation:
    """A created (not yet sent) invitation for a plain user, valid for an hour unless `expires_at` is given."""
    values = {"roles": ["USER"], "expires_at": utcnow() + timedelta(hours=1), **fields}
    invitation = m.Invitation(organisation_id=organisation_id, name=name, email=email, token_hash=token_hash, **values)
    session.add(invitation)
    await session.flush()
    return invitation


async def add_audit_event(session, organisation_id: int, actor_label: str, action: str, **fields) -> AuditEvent:
    event = AuditEvent(organisation_id=organisation_id, actor_label=actor_label, action=action, **fields)
    session.add(event)
    await session.flush()
    return event


async def add_email_template(
    session, organisation_id: int | None, name: str, template_type: TemplateType = TemplateType.INVITE_USER, **fields
) -> EmailTemplate:
    """An (inactive) e-mail template; subject and bodies are a minimal valid template unless given."""
    values = {
        "language": "en",
        "subject": "Hello {{ recipient_name }}",
        "body_html": "<p>{{ link }}</p>",
        "body_text": "{{ link }}",
        **fields,
    }
    template = EmailTemplate(organisation_id=organisation_id, name=name, type=template_type, **values)
    session.add(template)
    await session.flush()
    return template


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


async def add_batch(session, reference: str, organisation_id: int, sender_id: int, label: str = "") -> c.Batch:
    batch = c.Batch(reference=reference, label=label, organisation_id=organisation_id, sender_organisation_id=sender_id)
    session.add(batch)
    await session.flush()
    return batch


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


async def add_key_download(
    session, user_id: int, organisation_id: int, device_ids: Sequence[int], token_hash: str, **fields
) -> c.KeyDownload:
    """A key download of the given devices (one key each), its link valid for five minutes unless given."""
    values = {
        "device_count": len(device_ids),
        "key_count": len(device_ids),
        "expires_at": utcnow() + timedelta(minutes=5),
        **fields,
    }
    download = c.KeyDownload(user_id=user_id, organisation_id=organisation_id, token_hash=token_hash, **values)
    session.add(download)
    await session.flush()
    session.add_all(c.KeyDownloadDevice(key_download_id=download.id, device_id=device_id) for device_id in device_ids)
    await session.flush()
    return download


# --- remote ----------------------------------------------------------------------------------------------


async def add_router(
    session, organisation_id: int | None, common_name: str, mac: str, serial: str, **fields
) -> r.Router:
    router = r.Router(
        common_name=common_name, mac_address=mac, serial_number=serial, organisation_id=organisation_id, **fields
    )
    session.add(router)
    await session.flush()
    return router


async def add_location(session, organisation_id: int, name: str, router_id: int | None = None, **fields) -> r.Location:
    location = r.Location(organisation_id=organisation_id, name=name, router_id=router_id, **fields)
    session.add(location)
    await session.flush()
    return location


async def add_location_device(session, location_id: int, name: str, ip_address: str, **fields) -> r.LocationDevice:
    device = r.LocationDevice(location_id=location_id, name=name, ip_address=ip_address, **fields)
    session.add(device)
    await session.flush()
    return device


async def add_device_template(session, organisation_id: int, name: str, ip_address: str, **fields) -> r.DeviceTemplate:
    template = r.DeviceTemplate(organisation_id=organisation_id, name=name, ip_address=ip_address, **fields)
    session.add(template)
    await session.flush()
    return template


async def add_location_group(
    session, organisation_id: int, name: str, locations: Sequence[int] = (), users: Sequence[int] = ()
) -> r.LocationGroup:
    """A location group with the given locations and users (by primary key)."""
    group = r.LocationGroup(organisation_id=organisation_id, name=name)
    session.add(group)
    await session.flush()
    session.add_all(r.LocationGroupLocation(group_id=group.id, location_id=pk) for pk in locations)
    session.add_all(r.LocationGroupUser(group_id=group.id, user_id=pk) for pk in users)
    await session.flush()
    return group


async def add_external_user(session, organisation_id: int, user: m.User) -> r.ExternalUser:
    """`user` (of another organisation) becomes an external user of the organisation."""
    external = r.ExternalUser(organisation_id=organisation_id, user_id=user.id)
    session.add(external)
    await session.flush()
    return external


async def add_external_user_invitation(session, organisation_id: int, email: str) -> r.ExternalUserInvitation:
    invitation = r.ExternalUserInvitation(organisation_id=organisation_id, email=email)
    session.add(invitation)
    await session.flush()
    return invitation


async def add_connection(
    session, location: r.Location, user_id: int, router_common_name: str, **fields
) -> r.RouterConnection:
    """An active connection of the user to the location (through its router, if it has one)."""
    values = {"router_id": location.router_id, **fields}
    connection = r.RouterConnection(
        organisation_id=location.organisation_id,
        location_id=location.id,
        router_common_name=router_common_name,
        user_id=user_id,
        **values,
    )
    session.add(connection)
    await session.flush()
    return connection


async def add_connection_licence(session, organisation_id: int, max_active_connections: int) -> r.ConnectionLicence:
    licence = r.ConnectionLicence(organisation_id=organisation_id, max_active_connections=max_active_connections)
    session.add(licence)
    await session.flush()
    return licence


async def add_notification_profile(
    session,
    organisation_id: int,
    name: str,
    offline_minutes: int,
    locations: Sequence[int] = (),
    groups: Sequence[int] = (),
) -> r.NotificationProfile:
    """A notification profile watching the given locations and location groups (by primary key)."""
    profile = r.NotificationProfile(organisation_id=organisation_id, name=name, offline_minutes=offline_minutes)
    session.add(profile)
    await session.flush()
    session.add_all(r.NotificationProfileLocation(profile_id=profile.id, location_id=pk) for pk in locations)
    session.add_all(r.NotificationProfileLocationGroup(profile_id=profile.id, group_id=pk) for pk in groups)
    await session.flush()
    return profile


# --- reading back ----------------------------------------------------------------------------------------


# --- metering (issue 17: metering points) -----------------------------------------------------------------

#: The passport PIN of meters made by add_meter (hashed once: Argon2 takes a tenth of a second).
METER_PIN = "482913"
_METER_PIN_HASH = hash_password(METER_PIN)


async def add_meter(
    session, serial: str, *, model: str = "VSKM-15 IWAN", pin_hash: str | None = _METER_PIN_HASH
) -> c.Device:
    """A DECAST NB-IoT water meter of the catalogue with the passport PIN METER_PIN (unless `pin_hash` says)."""
    product_type = await session.scalar(select(c.ProductType).where(c.ProductType.name == model))
    device = c.Device(
        manufacturer=product_type.manufacturer,
        serial_number=serial,
        product_type_id=product_type.id,
        organisation_id=None,
        pin_hash=pin_hash,
    )
    session.add(device)
    await session.flush()
    return device


async def add_metering_point(
    session, organisation_id: int, room_name: str, *, owner_id: int | None = None, **fields
) -> mt.MeteringPoint:
    """A metering point (cold water, Europe/Moscow unless given): a consumer's with `owner_id`, else staff's."""
    values = {"resource": mt.Resource.COLD_WATER, "time_zone": "Europe/Moscow", **fields}
    point = mt.MeteringPoint(organisation_id=organisation_id, owner_id=owner_id, room_name=room_name, **values)
    session.add(point)
    await session.flush()
    return point


async def snapshot(runtime) -> dict[str, list[tuple]]:
    """Every row of every table (to show that a refused call changed nothing)."""
    tables = {}
    async with runtime.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table).order_by(*table.primary_key.columns))).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables
