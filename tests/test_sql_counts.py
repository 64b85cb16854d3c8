"""No N+1: lists with their relations run in a fixed number of SQL statements, whatever their length.

Each list below is requested for a small and a large data set; the statement count must be the same
and equal to the budget stated next to it. A relation resolved per row instead of through a
DataLoader adds one statement per row and fails both assertions.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from graph.auth import hash_token
from graph.schema import build_schema
from models import federation as fed
from models import identity as m
from models import saml as saml_models
from models import telemetry as tel
from models.base import utcnow
from tests.factories import add_organisation, add_user, issue_token

#: Every request authenticates first: the token with its user, organisation, roles and granted permissions in
#: one statement, whose user and organisation rows then answer the request's loaders.
AUTH = 1

ME = "{ me { id name email organisation { id name } } }"
# nothing but authentication: the caller's own user and organisation come with it
ME_BUDGET = AUTH

USERS = """{ users(first: 500) {
  totalCount
  nodes { name email organisation { name parent { name } } roles grantedPermissions groups { name } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations 1 + roles 1 + granted permissions 1 + groups 1 (the
# parents are Tenant A, the caller's own organisation: authentication brought it)
USERS_BUDGET = AUTH + 6

ORGANISATIONS = (
    "{ organisations(first: 500) { totalCount nodes { name parent { name } partners { name organisationId } } } }"
)
# authentication 1 + page 1 + totalCount 1 + partners 1 (the parents are the caller's own organisation, which
# authentication brought into the request's organisation loader; the page's look-ahead takes them from there)
ORGANISATIONS_BUDGET = AUTH + 3

GROUPS = """{ userGroups(first: 500) {
  totalCount
  nodes { name organisation { name } members { name email roles organisation { name } } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations 1 + members 1 + roles 1 (members belong to their group's
# organisation: the page's look-ahead put those rows into the request's organisation loader, which answers them)
GROUPS_BUDGET = AUTH + 5


async def populate(runtime, world, size: int) -> None:
    """`size` users, organisations and groups below tenant A, every relation filled in."""
    async with runtime.session_factory() as session, session.begin():
        a = await session.get(m.Organisation, world.organisations["a"].id)
        children = [await add_organisation(session, f"Child {i:03d}", a) for i in range(size)]
        users = [
            await add_user(
                session,
                children[i % len(children)],
                f"person{i:03d}@a.example",
                [m.Role.USER, m.Role.API_USER] if i % 2 else [m.Role.USER],
            )
            for i in range(size)
        ]
        session.add_all(m.UserPermission(user_id=u.id, permission=m.Permission.AUDIT_READ) for u in users[::3])
        session.add_all(m.PartnerLink(organisation_id=c.id, partner_id=world.organisations["b"].id) for c in children)
        session.add_all(
            m.PartnerLink(organisation_id=c.id, partner_id=world.organisations["platform"].id) for c in children[::2]
        )
        await session.flush()
        for i, child in enumerate(children):
            group = m.UserGroup(organisation_id=child.id, name=f"Group {i:03d}")
            session.add(group)
            await session.flush()
            session.add_all(
                m.UserGroupMember(group_id=group.id, user_id=u.id) for u in users if u.organisation_id == child.id
            )
        await session.flush()


async def statements(gql, count_sql, token: str, query: str) -> tuple[int, dict]:
    with count_sql() as counter:
        result = await gql(query, token=token)
    assert "errors" not in result, result
    return counter.count, result["data"]


@pytest.mark.parametrize("size", [10, 100])
async def test_users_list_with_relations(gql, world, runtime, count_sql, size):
    await populate(runtime, world, size)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], USERS)
    nodes = data["users"]["nodes"]
    assert len(nodes) == data["users"]["totalCount"] == size + 3
    person = next(n for n in nodes if n["email"] == "person001@a.example")
    assert person["organisation"] == {"name": "Child 001", "parent": {"name": "Tenant A"}}
    assert person["roles"] == ["API_USER", "USER"] and person["groups"] == [{"name": "Group 001"}]
    assert sum(1 for n in nodes if n["grantedPermissions"] == ["AUDIT_READ"]) == len(range(0, size, 3))
    assert count == USERS_BUDGET


@pytest.mark.parametrize("size", [10, 100])
async def test_organisations_list_with_partners(gql, world, runtime, count_sql, size):
    await populate(runtime, world, size)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ORGANISATIONS)
    nodes = data["organisations"]["nodes"]
    assert len(nodes) == data["organisations"]["totalCount"] == size + 2
    child = next(n for n in nodes if n["name"] == "Child 000")
    assert child["parent"] == {"name": "Tenant A"}
    assert [p["name"] for p in child["partners"]] == ["Platform", "Tenant B"]
    assert count == ORGANISATIONS_BUDGET


@pytest.mark.parametrize("size", [10, 100])
async def test_user_groups_with_members(gql, world, runtime, count_sql, size):
    await populate(runtime, world, size)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], GROUPS)
    nodes = data["userGroups"]["nodes"]
    assert len(nodes) == data["userGroups"]["totalCount"] == size
    assert nodes[1]["members"] == [
        {
            "name": "Person001",
            "email": "person001@a.example",
            "roles": ["API_USER", "USER"],
            "organisation": {"name": "Child 001"},
        }
    ]
    assert count == GROUPS_BUDGET


async def test_counts_do_not_depend_on_size(gql, world, runtime, count_sql):
    """The same three requests, once with 10 and once with 100 more rows: equal statement counts."""
    measured = []
    for size in (10, 90):
        await populate_more(runtime, world, size, prefix=f"s{size}")
        measured.append(
            [(await statements(gql, count_sql, world.tokens["admin_a"], q))[0] for q in (USERS, ORGANISATIONS, GROUPS)]
        )
    assert measured[0] == measured[1] == [USERS_BUDGET, ORGANISATIONS_BUDGET, GROUPS_BUDGET]


async def child_ids(session) -> list[int]:
    """The IDs of the organisations `populate` made below tenant A."""
    return list(await session.scalars(select(m.Organisation.id).where(m.Organisation.name.startswith("Child "))))


async def populate_more(runtime, world, size: int, prefix: str) -> None:
    async with runtime.session_factory() as session, session.begin():
        a = await session.get(m.Organisation, world.organisations["a"].id)
        for i in range(size):
            child = await add_organisation(session, f"{prefix} child {i:03d}", a)
            user = await add_user(session, child, f"{prefix}.{i:03d}@a.example", [m.Role.USER])
            session.add(m.PartnerLink(organisation_id=child.id, partner_id=world.organisations["b"].id))
            group = m.UserGroup(organisation_id=child.id, name=f"{prefix} group {i:03d}")
            session.add(group)
            await session.flush()
            session.add(m.UserGroupMember(group_id=group.id, user_id=user.id))
        await session.flush()


INVITATIONS = """{ invitations(first: 500) {
  totalCount
  nodes { name email state roles organisation { name } invitedBy { name } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations 1 + inviting users 1
INVITATIONS_BUDGET = AUTH + 4


@pytest.mark.parametrize("size", [10, 100])
async def test_invitations_list_with_relations(gql, world, runtime, count_sql, size):
    await populate(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        inviters = [world.users["admin_a"].id, world.users["user_a"].id]
        session.add_all(
            m.Invitation(
                organisation_id=children[i % len(children)],
                invited_by_id=inviters[i % 2],
                name=f"Invitee {i:03d}",
                email=f"invitee{i:03d}@example.org",
                roles=["USER"],
                token_hash=hash_token(secrets.token_urlsafe(16)),
                expires_at=utcnow() + timedelta(hours=72),
            )
            for i in range(size)
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], INVITATIONS)
    nodes = data["invitations"]["nodes"]
    assert len(nodes) == data["invitations"]["totalCount"] == size
    assert {n["invitedBy"]["name"] for n in nodes} == {world.users["admin_a"].name, world.users["user_a"].name}
    assert all(n["organisation"]["name"].startswith("Child ") for n in nodes)
    assert count == INVITATIONS_BUDGET


DEVICES = """query($first: Int) { devices(first: $first) {
  totalCount
  nodes { serialNumber claimStatus labels keys { kind } productType { name radioTechnology } organisation { name }
    batch { reference label } }
} }"""
# authentication 1 + page 1 (product type, organisation and batch joined into it: graph.lookahead) + totalCount 1
# + labels 1 + keys 1
DEVICES_BUDGET = AUTH + 4


@pytest.fixture(scope="module")
def roomy_schema(runtime):
    """The schema with a cost limit that lets this selection through at 5,000 devices (about 24 a device):
    the cost limit, not a fixed page size, bounds the work (an operator raises FLEETGRAPH_MAX_COST)."""
    return build_schema(dataclasses.replace(runtime.settings, max_cost=200_000))


@pytest.mark.parametrize("size", [100, 1000, 5000])
async def test_device_catalogue_page_with_relations(gql, world, runtime, count_sql, size, roomy_schema, monkeypatch):
    """The catalogue page: every relation filled in, spread over several product types, owners and batches; the
    same statements for a page of 100 and of 5,000 (the page size limit), all on one connection."""
    from models import catalogue as c

    monkeypatch.setattr(runtime, "schema", roomy_schema)
    await populate(runtime, world, 20)  # owners to spread the devices over (their count does not change the SQL)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        product_types = (await session.scalars(select(c.ProductType.id).order_by(c.ProductType.id))).all()
        batches = [
            c.Batch(
                reference=f"REF-{i:03d}",
                label=f"Label {i}",
                organisation_id=children[i % len(children)],
                sender_organisation_id=world.organisations["platform"].id,
            )
            for i in range(size // 5 or 1)
        ]
        session.add_all(batches)
        await session.flush()
        devices = [
            c.Device(
                manufacturer="INTEGRA Metering AG",
                serial_number=f"SN{i:05d}",
                product_type_id=product_types[i % len(product_types)],
                organisation_id=children[i % len(children)],
                batch_id=batches[i % len(batches)].id if i % 2 else None,
                claim_status=c.ClaimStatus.CLAIMED if i % 3 else c.ClaimStatus.UNCLAIMED,
            )
            for i in range(size)
        ]
        session.add_all(devices)
        await session.flush()
        session.add_all(c.DeviceLabel(device_id=d.id, label=label) for d in devices[::2] for label in ("north", "roof"))
    with count_sql() as counter:
        result = await gql(DEVICES, {"first": size}, token=world.tokens["admin_a"])
    assert "errors" not in result, result
    nodes = result["data"]["devices"]["nodes"]
    assert len(nodes) == result["data"]["devices"]["totalCount"] == size
    assert nodes[0]["labels"] == ["north", "roof"] and nodes[1]["labels"] == [] and nodes[0]["batch"] is None
    assert nodes[1]["batch"]["reference"].startswith("REF-") and nodes[1]["organisation"]["name"].startswith("Child ")
    assert len({n["productType"]["name"] for n in nodes}) == min(size, len(product_types))
    assert nodes[0]["keys"] == [] and counter.count == DEVICES_BUDGET and counter.checkouts == 1


AUDIT_EVENTS = "{ auditEvents(first: 500) { totalCount nodes { action actor targetId organisation { name } } } }"
# authentication 1 + page 1 + totalCount 1 + organisations 1
AUDIT_EVENTS_BUDGET = AUTH + 3


@pytest.mark.parametrize("size", [10, 100])
async def test_audit_events_list_with_organisation(gql, world, runtime, count_sql, size):
    from models.audit import AuditEvent

    await populate(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        session.add_all(
            AuditEvent(
                organisation_id=children[i % len(children)],
                actor_label="admin@a.example",
                action="user.updated",
                target_type="User",
                target_id=world.users["user_a"].id,
            )
            for i in range(size)
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], AUDIT_EVENTS)
    nodes = data["auditEvents"]["nodes"]
    assert len(nodes) == data["auditEvents"]["totalCount"] == size
    assert all(n["organisation"]["name"].startswith("Child ") for n in nodes)
    assert count == AUDIT_EVENTS_BUDGET


OUTBOX_MESSAGES = """{ outboxMessages(first: 500) {
  totalCount nodes { toAddress status deliveryAttempts { outcome error } }
} }"""
# authentication 1 + page 1 + totalCount 1 + delivery attempts 1
OUTBOX_MESSAGES_BUDGET = AUTH + 3


@pytest.mark.parametrize("size", [3, 30])
async def test_outbox_list_with_delivery_attempts(gql, world, runtime, count_sql, size):
    from models.mail import DeliveryAttempt, OutboxMessage, OutboxStatus

    async with runtime.session_factory() as session, session.begin():
        messages = [
            OutboxMessage(
                organisation_id=world.organisations["a"].id if i % 2 else None,
                language="en",
                to_address=f"to{i:03d}@example.org",
                subject=f"Mail {i}",
                body_html="",
                body_text="",
                message_id=f"<{i}.{secrets.token_hex(8)}@fleetgraph.test>",
                status=OutboxStatus.FAILED if i % 3 else OutboxStatus.PENDING,
                attempts=2 if i % 3 else 0,
            )
            for i in range(size)
        ]
        session.add_all(messages)
        await session.flush()
        session.add_all(
            DeliveryAttempt(message_id=message.id, outcome="failed", error=f"boom {k}")
            for i, message in enumerate(messages)
            if i % 3
            for k in range(2)
        )
    count, data = await statements(gql, count_sql, world.tokens["platform"], OUTBOX_MESSAGES)
    nodes = data["outboxMessages"]["nodes"]
    assert len(nodes) == data["outboxMessages"]["totalCount"] == size
    by_address = {n["toAddress"]: n for n in nodes}
    assert by_address["to000@example.org"]["deliveryAttempts"] == []
    assert by_address["to001@example.org"]["deliveryAttempts"] == [
        {"outcome": "failed", "error": "boom 0"},
        {"outcome": "failed", "error": "boom 1"},
    ]
    assert count == OUTBOX_MESSAGES_BUDGET


EMAIL_TEMPLATES = "{ emailTemplates(first: 500) { totalCount nodes { name isSystemDefault organisation { name } } } }"
# authentication 1 + page 1 + totalCount 1 + organisations 1 (system defaults have none)
EMAIL_TEMPLATES_BUDGET = AUTH + 3


@pytest.mark.parametrize("size", [3, 30])
async def test_email_template_list_with_organisation(gql, world, runtime, count_sql, size):
    from tests.factories import add_email_template

    await populate(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        for i in range(size):
            await add_email_template(session, children[i % len(children)], f"Own {i:03d}")
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], EMAIL_TEMPLATES)
    nodes = data["emailTemplates"]["nodes"]
    own = [n for n in nodes if not n["isSystemDefault"]]
    assert len(nodes) == data["emailTemplates"]["totalCount"] and len(own) == size
    assert all(n["organisation"]["name"].startswith("Child ") for n in own)
    assert all(n["organisation"] is None for n in nodes if n["isSystemDefault"]) and len(nodes) > size
    assert count == EMAIL_TEMPLATES_BUDGET


BATCHES = """{ batches(first: 50) {
  totalCount
  nodes { reference label state confirmationRequired deviceCount organisationName senderOrganisationName
          organisation { name } senderOrganisation { name } createdBy { name }
          devices(first: 2) { totalCount nodes { serialNumber } } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations (receivers and senders together) 1 + device counts 1
# + creators 1 + the devices pages of all batches 1 + their totalCounts 1
BATCHES_BUDGET = AUTH + 7


@pytest.mark.parametrize("size", [10, 50])
async def test_batch_list_with_relations(gql, world, runtime, count_sql, size):
    """50 batches with receiver, sender, creator, device count and a page of their devices."""
    from models import catalogue as c

    await populate(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        product_type = await session.scalar(select(c.ProductType.id).limit(1))
        creators = [world.users["admin_a"].id, world.users["user_a"].id]
        batches = [
            c.Batch(
                reference=f"REF-{i:03d}",
                label=f"Label {i}",
                organisation_id=children[i % len(children)],
                sender_organisation_id=world.organisations["a"].id,
                created_by_id=creators[i % 2],
            )
            for i in range(size)
        ]
        session.add_all(batches)
        await session.flush()
        devices = [
            c.Device(
                manufacturer="INTEGRA Metering AG",
                serial_number=f"SN{i:05d}",
                product_type_id=product_type,
                organisation_id=world.organisations["a"].id,
                batch_id=batches[i // 3].id,
            )
            for i in range(size * 3)
        ]
        session.add_all(devices)
        await session.flush()
        session.add_all(c.BatchDevice(batch_id=d.batch_id, device_id=d.id) for d in devices)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], BATCHES)
    nodes = data["batches"]["nodes"]
    assert len(nodes) == data["batches"]["totalCount"] == size
    assert all(
        n["deviceCount"] == 3 and n["devices"]["totalCount"] == 3 and len(n["devices"]["nodes"]) == 2 for n in nodes
    )
    assert all(
        n["organisation"]["name"] == n["organisationName"] and n["senderOrganisation"] == {"name": "Tenant A"}
        for n in nodes
    )
    assert {n["createdBy"]["name"] for n in nodes} == {world.users["admin_a"].name, world.users["user_a"].name}
    assert count == BATCHES_BUDGET


KEY_DOWNLOADS = """{ keyDownloads(first: 500) {
  totalCount
  nodes { deviceCount keyCount user { email } organisation { name }
          devices(first: 3) { totalCount nodes { serialNumber productType { name } } } }
} }"""
# authentication 1 + page 1 + totalCount 1 + users 1 + organisations 1 + device pages 1 (one ROW_NUMBER() statement for
# every download) + device counts 1 + product types 1
KEY_DOWNLOADS_BUDGET = AUTH + 7


@pytest.mark.parametrize("size", [10, 100])
async def test_key_downloads_list_with_relations(gql, world, runtime, count_sql, size):
    from models import catalogue as c

    await populate(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        creators = (
            await session.scalars(select(m.User.id).where(m.User.email.startswith("person")).order_by(m.User.id))
        ).all()
        creator_orgs = dict((await session.execute(select(m.User.id, m.User.organisation_id))).all())
        product_types = (await session.scalars(select(c.ProductType.id).order_by(c.ProductType.id))).all()
        devices = [
            c.Device(
                manufacturer="INTEGRA Metering AG",
                serial_number=f"SN{i:05d}",
                claim_status=c.ClaimStatus.CLAIMED,
                product_type_id=product_types[i % len(product_types)],
                organisation_id=children[i % len(children)],
            )
            for i in range(size)
        ]
        session.add_all(devices)
        await session.flush()
        for i in range(size):
            user_id = creators[i % len(creators)]
            download = c.KeyDownload(
                user_id=user_id,
                organisation_id=creator_orgs[user_id],
                device_count=5,
                key_count=5,
                token_hash=hash_token(secrets.token_urlsafe(16)),
                expires_at=utcnow() + timedelta(minutes=5),
            )
            session.add(download)
            await session.flush()
            session.add_all(
                c.KeyDownloadDevice(key_download_id=download.id, device_id=devices[(i + j) % size].id) for j in range(5)
            )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], KEY_DOWNLOADS)
    nodes = data["keyDownloads"]["nodes"]
    assert len(nodes) == data["keyDownloads"]["totalCount"] == size
    assert all(
        n["user"]["email"].startswith("person") and n["organisation"]["name"].startswith("Child ") for n in nodes
    )
    assert all(n["devices"]["totalCount"] == 5 and len(n["devices"]["nodes"]) == 3 for n in nodes)
    assert len({d["productType"]["name"] for n in nodes for d in n["devices"]["nodes"]}) > 1
    assert count == KEY_DOWNLOADS_BUDGET


DEVICE_KEYS = "{ devices(first: 100) { nodes { serialNumber keys { kind algorithm state validUntil } } } }"
# authentication 1 + page 1 + the keys of every device on it 1
DEVICE_KEYS_BUDGET = AUTH + 2


@pytest.mark.parametrize("size", [10, 100])
async def test_device_keys_metadata_on_the_catalogue_page(gql, world, runtime, count_sql, size):
    """Key metadata of a page of devices in one statement; no field carries the key."""
    from models import catalogue as c
    from resolvers.catalogue.keys import seal_device_key

    async with runtime.session_factory() as session, session.begin():
        product_type = await session.scalar(select(c.ProductType.id).limit(1))
        devices = [
            c.Device(
                manufacturer="INTEGRA Metering AG",
                serial_number=f"SN{i:05d}",
                product_type_id=product_type,
                organisation_id=world.organisations["a"].id,
            )
            for i in range(size)
        ]
        session.add_all(devices)
        await session.flush()
        for device in devices:
            for kind in (c.KeyKind.LORAWAN_APP_KEY, c.KeyKind.OMS_KEY):
                sealed, version = seal_device_key(
                    runtime.sealer, device.id, kind, c.KeyAlgorithm.AES_128, bytes(range(16))
                )
                session.add(
                    c.DeviceKey(
                        device_id=device.id,
                        kind=kind,
                        algorithm=c.KeyAlgorithm.AES_128,
                        sealed=sealed,
                        master_key_version=version,
                    )
                )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], DEVICE_KEYS)
    nodes = data["devices"]["nodes"]
    assert len(nodes) == size
    assert all(
        n["keys"]
        == [
            {"kind": "LORAWAN_APP_KEY", "algorithm": "AES_128", "state": "ACTIVE", "validUntil": None},
            {"kind": "OMS_KEY", "algorithm": "AES_128", "state": "ACTIVE", "validUntil": None},
        ]
        for n in nodes
    )
    assert bytes(range(16)).hex() not in str(data).lower()
    assert count == DEVICE_KEYS_BUDGET


# 200 a page: with the devices and their services (lists without paging, costed at 10 each) a page of 500 is
# beyond the query cost limit
LOCATIONS = """{ locations(first: 200) {
  totalCount
  nodes {
    name latitude longitude pinned organisation { name }
    router { commonName online stateChangedAt latestStatus { takenAt cpuLoad signalStrength modemState } }
    devices { name ipAddress services { type port } }
  }
} }"""
# authentication 1 + page 1 + totalCount 1 + pins 1 + organisations 1 + routers 1 + latest status 1 + devices 1
# + their services 1 (pins, routers and devices loaded with the page: graph.lookahead)
LOCATIONS_BUDGET = AUTH + 8


def status_samples(routers: list, start) -> list:
    """Three samples for two routers in ten (the newest must come back), one for seven in ten, none for one in
    ten."""
    from models import remote as r

    newest_wanted = [
        r.RouterStatusSample(
            router_id=router.id, taken_at=start + timedelta(minutes=k), cpu_load=float(k), modem_state=f"S{k}"
        )
        for router in routers[1::10] + routers[2::10]
        for k in range(3)
    ]
    return newest_wanted + [
        r.RouterStatusSample(router_id=router.id, taken_at=start, cpu_load=0.0)
        for i, router in enumerate(routers)
        if i % 10 not in (0, 1, 2)
    ]


async def add_dashboard(runtime, world, size: int) -> None:
    """`size` routers of the child organisations with status samples, their locations (every fourth without a
    router), pins, and devices with services."""
    from models import remote as r

    start = utcnow() - timedelta(hours=1)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        routers = [
            r.Router(
                common_name=f"R_{i:05d}",
                mac_address=f"00:00:00:00:{i // 256:02X}:{i % 256:02X}",
                serial_number=f"RSN{i:05d}",
                organisation_id=children[i % len(children)],
                online=bool(i % 2),
                last_heartbeat_at=start,
            )
            for i in range(size)
        ]
        session.add_all(routers)
        await session.flush()
        session.add_all(status_samples(routers, start))
        locations = [
            r.Location(
                organisation_id=router.organisation_id,
                name=f"Location {i:05d}",
                router_id=router.id if i % 4 else None,
                latitude=52.0 + i / 1000,
                longitude=5.0,
            )
            for i, router in enumerate(routers)
        ]
        session.add_all(locations)
        await session.flush()
        session.add_all(r.LocationPin(user_id=world.users["admin_a"].id, location_id=loc.id) for loc in locations[::3])
        # two devices behind every other router, the first with two services
        devices = [
            r.LocationDevice(location_id=loc.id, name=f"Device {k}", ip_address=f"192.168.{k}.{i % 250 + 1}")
            for i, loc in enumerate(locations)
            if i % 2
            for k in range(2)
        ]
        session.add_all(devices)
        await session.flush()
        session.add_all(
            r.LocationDeviceService(device_id=device.id, service_type=kind, port=port)
            for device in devices[::2]
            for kind, port in ((r.ServiceType.HTTP, 80), (r.ServiceType.TCP, 502))
        )


@pytest.mark.parametrize("size", [20, 200])
async def test_locations_dashboard(gql, world, runtime, count_sql, size):
    """The dashboard and map: locations with coordinates, pin, router state and latest status in one request."""
    await populate(runtime, world, 10)
    await add_dashboard(runtime, world, size)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], LOCATIONS)
    nodes = data["locations"]["nodes"]
    assert len(nodes) == data["locations"]["totalCount"] == size
    assert nodes[0]["router"] is None and nodes[0]["pinned"] is True and nodes[1]["pinned"] is False
    assert nodes[1]["router"]["commonName"] == "R_00001" and nodes[1]["router"]["online"] is True
    assert (
        nodes[1]["router"]["latestStatus"]["cpuLoad"] == 2.0
        and nodes[1]["router"]["latestStatus"]["modemState"] == "S2"
    )
    assert nodes[2]["router"]["online"] is False and nodes[2]["latitude"] == 52.002
    assert all(n["organisation"]["name"].startswith("Child ") for n in nodes)
    assert nodes[0]["devices"] == [] and nodes[1]["devices"] == [
        {
            "name": "Device 0",
            "ipAddress": "192.168.0.2",
            "services": [{"type": "HTTP", "port": 80}, {"type": "TCP", "port": 502}],
        },
        {"name": "Device 1", "ipAddress": "192.168.1.2", "services": []},
    ]
    assert sum(len(n["devices"]) for n in nodes) == size
    assert count == LOCATIONS_BUDGET


ROUTERS = """{ routers(first: 500) {
  totalCount nodes { commonName online organisation { name } location { name } latestStatus { cpuLoad } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations 1 + locations 1 + latest status 1 (locations and latest
# status loaded with the page: graph.lookahead)
ROUTERS_BUDGET = AUTH + 5


@pytest.mark.parametrize("size", [20, 200])
async def test_router_list(gql, world, runtime, count_sql, size):
    from models import remote as r

    async with runtime.session_factory() as session, session.begin():
        a = await session.get(m.Organisation, world.organisations["a"].id)
        children = [await add_organisation(session, f"Child {i:03d}", a) for i in range(5)]
        routers = [
            r.Router(
                common_name=f"R_{i:05d}",
                mac_address=f"00:00:00:00:{i // 256:02X}:{i % 256:02X}",
                serial_number=f"RSN{i:05d}",
                organisation_id=children[i % 5].id,
            )
            for i in range(size)
        ]
        session.add_all(routers)
        await session.flush()
        session.add_all(
            r.Location(organisation_id=x.organisation_id, name=f"Location {i}", router_id=x.id)
            for i, x in enumerate(routers)
            if i % 2
        )
        session.add_all(r.RouterStatusSample(router_id=x.id, cpu_load=float(k)) for x in routers for k in range(2))
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ROUTERS)
    nodes = data["routers"]["nodes"]
    assert len(nodes) == data["routers"]["totalCount"] == size
    assert nodes[0]["location"] is None and nodes[1]["location"] == {"name": "Location 1"}
    assert nodes[1]["organisation"] == {"name": "Child 001"} and nodes[1]["latestStatus"] == {"cpuLoad": 1.0}
    assert count == ROUTERS_BUDGET


DEVICE_TEMPLATES = """{ deviceTemplates(first: 500, filter: {includeInactive: true}) {
  totalCount nodes { name ipAddress inactive organisation { name } services { type port path username } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations 1 + services 1
DEVICE_TEMPLATES_BUDGET = AUTH + 4


@pytest.mark.parametrize("size", [10, 100])
async def test_device_template_list(gql, world, runtime, count_sql, size):
    from models import remote as r

    await populate(runtime, world, 10)
    async with runtime.session_factory() as session, session.begin():
        children = await child_ids(session)
        templates = [
            r.DeviceTemplate(
                organisation_id=children[i % len(children)],
                name=f"Template {i:03d}",
                ip_address=f"10.0.{i // 250}.{i % 250 + 1}",
                inactive=i % 5 == 0,
            )
            for i in range(size)
        ]
        session.add_all(templates)
        await session.flush()
        session.add_all(
            r.DeviceTemplateService(template_id=t.id, service_type=r.ServiceType.SSH, port=22, username="op")
            for t in templates[1::2]
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], DEVICE_TEMPLATES)
    nodes = data["deviceTemplates"]["nodes"]
    assert len(nodes) == data["deviceTemplates"]["totalCount"] == size
    assert nodes[0]["services"] == [] and nodes[0]["inactive"] is True
    assert nodes[1]["services"] == [{"type": "SSH", "port": 22, "path": "", "username": "op"}]
    assert nodes[1]["organisation"] == {"name": "Child 001"}
    assert count == DEVICE_TEMPLATES_BUDGET


# --- access part: location groups and the dashboard's access fields ---------------------------------------


async def _access_world(runtime, world, size: int) -> None:
    """`size` locations of tenant A, each given to user_a directly, every other one to user_a1 as well, every
    third to the user group Crew, and each in one of five location groups of user_a and user_a1."""
    from models import remote as r

    async with runtime.session_factory() as session, session.begin():
        a = world.organisations["a"].id
        user_a, user_a1 = world.users["user_a"].id, world.users["user_a1"].id
        crew = m.UserGroup(organisation_id=a, name="Crew")
        groups = [r.LocationGroup(organisation_id=a, name=f"Group {k}") for k in range(5)]
        locations = [r.Location(organisation_id=a, name=f"Location {i:03d}") for i in range(size)]
        session.add_all([crew, *groups, *locations])
        await session.flush()
        session.add_all(m.UserGroupMember(group_id=crew.id, user_id=pk) for pk in (user_a, user_a1))
        session.add_all(r.LocationUserAccess(location_id=loc.id, user_id=user_a) for loc in locations)
        session.add_all(r.LocationUserAccess(location_id=loc.id, user_id=user_a1) for loc in locations[1::2])
        session.add_all(r.LocationUserGroupAccess(location_id=loc.id, user_group_id=crew.id) for loc in locations[::3])
        session.add_all(
            r.LocationGroupLocation(group_id=groups[i % 5].id, location_id=loc.id) for i, loc in enumerate(locations)
        )
        session.add_all(
            r.LocationGroupUser(group_id=group.id, user_id=pk) for group in groups for pk in (user_a, user_a1)
        )


# 100 a page: nested lists without paging are costed at 10 each (a page of 200 is beyond the cost limit)
LOCATION_ACCESS = """{ locations(first: 100) {
  totalCount
  nodes {
    name users { email } userGroups { name } groups { name }
    effectiveAccess { user { email } via userGroups { name } locationGroups { name } }
  }
} }"""
# authentication 1 + page 1 + totalCount 1 + direct users 1 + user groups 1 + location groups 1 + effective access 1
# + its user groups 1 + its location groups 1 (may the caller read the grants? the locations are its own
# organisation's, which authentication brought)
LOCATION_ACCESS_BUDGET = AUTH + 8


@pytest.mark.parametrize("size", [10, 100])
async def test_locations_dashboard_access(gql, world, runtime, count_sql, size):
    await _access_world(runtime, world, size)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], LOCATION_ACCESS)
    nodes = data["locations"]["nodes"]
    assert len(nodes) == data["locations"]["totalCount"] == size
    assert nodes[0]["users"] == [{"email": "user@a.example"}] and nodes[0]["userGroups"] == [{"name": "Crew"}]
    assert nodes[0]["groups"] == [{"name": "Group 0"}] and nodes[1]["groups"] == [{"name": "Group 1"}]
    assert nodes[0]["effectiveAccess"] == [
        {
            "user": {"email": "user@a.example"},
            "via": ["DIRECT", "USER_GROUP", "LOCATION_GROUP"],
            "userGroups": [{"name": "Crew"}],
            "locationGroups": [{"name": "Group 0"}],
        },
        {
            "user": {"email": "user@a1.example"},
            "via": ["USER_GROUP", "LOCATION_GROUP"],
            "userGroups": [{"name": "Crew"}],
            "locationGroups": [{"name": "Group 0"}],
        },
    ]
    assert [e["via"] for e in nodes[1]["effectiveAccess"]] == [["DIRECT", "LOCATION_GROUP"]] * 2
    assert count == LOCATION_ACCESS_BUDGET


LOCATION_GROUPS = (
    "{ locationGroups(first: 500) { totalCount nodes { name organisation { name } locations { name } "
    "users { email } } } }"
)
# authentication 1 + page 1 + totalCount 1 + locations 1 + users 1 (the groups are the caller's own organisation's,
# which authentication brought; users are shown to managers: the organisation loader answers that too)
LOCATION_GROUPS_BUDGET = AUTH + 4


@pytest.mark.parametrize("size", [10, 100])
async def test_location_group_list(gql, world, runtime, count_sql, size):
    from models import remote as r

    await _access_world(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        session.add_all(
            r.LocationGroup(organisation_id=world.organisations["a"].id, name=f"Extra {i:03d}") for i in range(size)
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], LOCATION_GROUPS)
    nodes = data["locationGroups"]["nodes"]
    assert len(nodes) == data["locationGroups"]["totalCount"] == size + 5
    assert nodes[0]["name"] == "Extra 000" and nodes[0]["locations"] == [] and nodes[0]["users"] == []
    group_0 = next(n for n in nodes if n["name"] == "Group 0")
    assert len(group_0["locations"]) == size // 5 and group_0["users"] == [
        {"email": "user@a.example"},
        {"email": "user@a1.example"},
    ]
    assert group_0["organisation"] == {"name": "Tenant A"}
    assert count == LOCATION_GROUPS_BUDGET


# --- connections (part: connections) ---------------------------------------------------------------------

ACTIVE_CONNECTIONS = """{ activeConnections(first: 500) {
  totalCount nodes { userName userEmail routerCommonName deviceName startedAt user { email } location { name }
    router { commonName online } }
} }"""
# authentication 1 + page 1 + totalCount 1 + user names 1 + users 1 + locations 1 + routers 1 (users, locations and
# routers loaded with the page: graph.lookahead)
ACTIVE_CONNECTIONS_BUDGET = AUTH + 6


async def add_active_connections(runtime, world, size: int) -> None:
    """`size` users of five child organisations of A, each connected at a location of their own (every other
    one has an ended connection besides)."""
    from models import remote as r

    start = utcnow() - timedelta(hours=1)
    async with runtime.session_factory() as session, session.begin():
        a = await session.get(m.Organisation, world.organisations["a"].id)
        children = [await add_organisation(session, f"Child {i:03d}", a) for i in range(5)]
        users = [
            await add_user(session, children[i % 5], f"engineer{i:03d}@a.example", [m.Role.USER]) for i in range(size)
        ]
        routers = [
            r.Router(
                common_name=f"R_{i:05d}",
                mac_address=f"00:00:00:00:{i // 256:02X}:{i % 256:02X}",
                serial_number=f"RSN{i:05d}",
                organisation_id=children[i % 5].id,
                online=True,
            )
            for i in range(size)
        ]
        session.add_all(routers)
        await session.flush()
        locations = [
            r.Location(organisation_id=x.organisation_id, name=f"Location {i:05d}", router_id=x.id)
            for i, x in enumerate(routers)
        ]
        session.add_all(locations)
        await session.flush()
        # one connection per user, an ended one besides for every other user (not listed)
        session.add_all(
            r.RouterConnection(
                organisation_id=loc.organisation_id,
                location_id=loc.id,
                router_id=loc.router_id,
                router_common_name=f"R_{i:05d}",
                user_id=users[i].id,
                device_name=f"PLC {i}",
                started_at=start + timedelta(seconds=i),
            )
            for i, loc in enumerate(locations)
        )
        session.add_all(
            r.RouterConnection(
                organisation_id=loc.organisation_id,
                location_id=loc.id,
                router_id=loc.router_id,
                router_common_name=f"R_{i:05d}",
                user_id=users[i].id,
                started_at=start,
                ended_at=start,
                end_reason=r.ConnectionEnd.DISCONNECTED,
            )
            for i, loc in enumerate(locations)
            if i % 2
        )


@pytest.mark.parametrize("size", [20, 200])
async def test_active_connections_list(gql, world, runtime, count_sql, size):
    """The manual's "active connections" page: who holds a licence now, where, through which router."""
    await add_active_connections(runtime, world, size)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ACTIVE_CONNECTIONS)
    nodes = data["activeConnections"]["nodes"]
    assert len(nodes) == data["activeConnections"]["totalCount"] == size
    newest = size - 1
    assert nodes[0] == {
        "userName": nodes[0]["userName"],
        "userEmail": f"engineer{newest:03d}@a.example",
        "routerCommonName": f"R_{newest:05d}",
        "deviceName": f"PLC {newest}",
        "startedAt": nodes[0]["startedAt"],
        "user": {"email": f"engineer{newest:03d}@a.example"},
        "location": {"name": f"Location {newest:05d}"},
        "router": {"commonName": f"R_{newest:05d}", "online": True},
    }
    assert count == ACTIVE_CONNECTIONS_BUDGET


NOTIFICATION_PROFILES = """{ notificationProfiles(first: 500) {
  totalCount nodes { name offlineMinutes repeatMinutes organisation { name } users { email } emails
                     locations { name } locationGroups { name } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations 1 + users 1 + emails 1 + locations 1 + location groups 1
NOTIFICATION_PROFILES_BUDGET = AUTH + 7


@pytest.mark.parametrize("size", [10, 50])
async def test_notification_profile_list(gql, world, runtime, count_sql, size):
    from models import remote as r

    await populate(runtime, world, 10)
    async with runtime.session_factory() as session, session.begin():
        children = (
            await session.scalars(
                select(m.Organisation.id).where(m.Organisation.name.startswith("Child ")).order_by(m.Organisation.name)
            )
        ).all()
        users = (
            await session.scalars(select(m.User.id).where(m.User.email.startswith("person")).order_by(m.User.email))
        ).all()
        profiles = [
            r.NotificationProfile(
                organisation_id=children[i % len(children)],
                name=f"Profile {i:03d}",
                offline_minutes=5 + i,
                repeat_minutes=60 if i % 2 else None,
            )
            for i in range(size)
        ]
        locations = [
            r.Location(organisation_id=children[i % len(children)], name=f"Location {i:03d}") for i in range(size)
        ]
        groups = [
            r.LocationGroup(organisation_id=children[i % len(children)], name=f"Group {i:03d}") for i in range(size)
        ]
        session.add_all(profiles + locations + groups)
        await session.flush()
        for i, profile in enumerate(profiles):
            session.add_all(
                [
                    r.NotificationProfileUser(profile_id=profile.id, user_id=users[i % len(users)]),
                    r.NotificationProfileEmail(profile_id=profile.id, email=f"ops{i}@example.org"),
                    r.NotificationProfileEmail(profile_id=profile.id, email=f"night{i}@example.org"),
                    r.NotificationProfileLocation(profile_id=profile.id, location_id=locations[i].id),
                    r.NotificationProfileLocationGroup(profile_id=profile.id, group_id=groups[i].id),
                ]
            )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], NOTIFICATION_PROFILES)
    nodes = data["notificationProfiles"]["nodes"]
    assert len(nodes) == data["notificationProfiles"]["totalCount"] == size
    assert nodes[1] == {
        "name": "Profile 001",
        "offlineMinutes": 6,
        "repeatMinutes": 60,
        "organisation": {"name": "Child 001"},
        "users": [{"email": "person001@a.example"}],
        "emails": ["night1@example.org", "ops1@example.org"],
        "locations": [{"name": "Location 001"}],
        "locationGroups": [{"name": "Group 001"}],
    }
    assert count == NOTIFICATION_PROFILES_BUDGET


TELEMETRY_LATEST = """query($id: ID!) { telemetryLatest(locationId: $id, first: 500) {
  totalCount nodes { key unit dataType lastAt lastValue device { name } } } }"""
# authentication 1 + page 1 + totalCount 1 + devices 1
TELEMETRY_LATEST_BUDGET = AUTH + 3


@pytest.mark.parametrize("size", [10, 50])
async def test_telemetry_latest_values_with_devices(gql, world, runtime, count_sql, size):
    from graph.relay import to_global_id
    from models import remote as r
    from models import telemetry as tel

    async with runtime.session_factory() as session, session.begin():
        location = r.Location(organisation_id=world.organisations["a"].id, name="Plant")
        session.add(location)
        await session.flush()
        devices = [r.LocationDevice(location_id=location.id, name=f"PLC {i}", ip_address="10.0.0.2") for i in range(5)]
        session.add_all(devices)
        await session.flush()
        session.add_all(
            tel.TelemetrySeries(
                organisation_id=location.organisation_id,
                location_id=location.id,
                device_id=devices[i % 5].id if i % 2 else None,
                key=f"key{i:03d}",
                last_at=utcnow(),
                last_value=float(i),
            )
            for i in range(size)
        )
    variables = {"id": to_global_id("Location", location.id)}
    with count_sql() as counter:
        result = await gql(TELEMETRY_LATEST, variables, world.tokens["admin_a"])
    nodes = result["data"]["telemetryLatest"]["nodes"]
    assert len(nodes) == size and nodes[1]["device"] == {"name": "PLC 1"} and nodes[0]["device"] is None
    assert counter.count == TELEMETRY_LATEST_BUDGET, counter.statements


async def test_the_callers_own_user_and_organisation_cost_nothing_beyond_authentication(gql, world, count_sql):
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ME)
    assert data["me"]["email"] == "admin@a.example" and data["me"]["organisation"]["name"] == "Tenant A"
    assert count == ME_BUDGET


MONITORED_LOCATIONS = """{ monitoredLocations(first: 500) { totalCount nodes { cloudHost location { name }
  status { code reason } datalogDevices { locationDeviceId datalogDevice { name } } graphics { name } } } }"""
# authentication 1 + page 1 + totalCount 1 + locations 1 + statuses 1 + datalog devices 1 + graphics 1
MONITORED_LOCATIONS_BUDGET = AUTH + 6


@pytest.mark.parametrize("size", [10, 100])
async def test_monitored_locations_with_status_devices_and_graphics(gql, world, runtime, count_sql, size):
    from models import datalog as dl
    from models import remote as r

    async with runtime.session_factory() as session, session.begin():
        organisation = world.organisations["a"].id
        locations = [r.Location(organisation_id=organisation, name=f"Location {i:03d}") for i in range(size)]
        session.add_all(locations)
        await session.flush()
        devices = [
            r.LocationDevice(location_id=location.id, name="PLC", ip_address="10.0.0.1") for location in locations
        ]
        session.add_all(devices)
        await session.flush()
        for location, device in zip(locations, devices, strict=True):
            session.add_all(
                [
                    dl.MonitoredLocation(
                        location_id=location.id, send_frequency_seconds=60, cloud_host=dl.CloudHost.HELIX,
                        silence_seconds=60, config_reason="",
                    ),
                    dl.DatalogDevice(
                        organisation_id=organisation, location_device_id=device.id, name="Modbus",
                        protocol=dl.Protocol.MODBUS, variables=[],
                        settings={"port": 502, "host": "10.0.0.1", "unitId": 1, "mode": "TCP"},
                    ),
                    dl.Graphic(location_id=location.id, name="Plant", svg="<svg/>", element_ids=[], bindings=[]),
                ]
            )  # fmt: skip
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], MONITORED_LOCATIONS)
    nodes = data["monitoredLocations"]["nodes"]
    assert len(nodes) == data["monitoredLocations"]["totalCount"] == size
    assert nodes[1]["location"] == {"name": "Location 001"} and nodes[1]["status"]["code"] == "NO_CONFIGURATION"
    assert nodes[1]["datalogDevices"][0]["datalogDevice"] == {"name": "Modbus"}
    assert count == MONITORED_LOCATIONS_BUDGET


ALARM_PROFILES = """{ alarmProfiles(first: 500) {
  totalCount nodes { name severity system organisation { name } activationFilters { key condition value }
                     clearingFilters { key } locations { name } locationGroups { name } }
} }"""
# authentication 1 + page 1 + totalCount 1 + organisations 1 + activation filters 1 + clearing filters 1
# + locations 1 + location groups 1
ALARM_PROFILES_BUDGET = AUTH + 7
ALARMS = """{ alarms(first: 500, filter: {states: [ACTIVE_UNACK, CLEARED_UNACK]}) {
  totalCount nodes { profileName severity state occurrences location { name } device { name } }
} }
"""
# authentication 1 + page 1 + totalCount 1 + locations 1 + devices 1
ALARMS_BUDGET = AUTH + 4
ALARM_COUNTS = "{ alarmCounts { low medium high total } }"
# authentication 1 + the counts 1 (grouped by severity)
ALARM_COUNTS_BUDGET = AUTH + 1


async def populate_alarms(runtime, world, size: int) -> None:
    """`size` alarm profiles of tenant A's children, each on a location and a group, with an alarm there on a
    device (every other one cleared)."""
    from models import alarms as al
    from models import remote as r

    await populate(runtime, world, 10)
    async with runtime.session_factory() as session, session.begin():
        children = (
            await session.scalars(
                select(m.Organisation.id).where(m.Organisation.name.startswith("Child ")).order_by(m.Organisation.name)
            )
        ).all()
        for i in range(size):
            organisation = children[i % len(children)]
            location = r.Location(organisation_id=organisation, name=f"Location {i:03d}")
            group = r.LocationGroup(organisation_id=organisation, name=f"Group {i:03d}")
            profile = al.AlarmProfile(organisation_id=organisation, name=f"P{i:03d}", severity=al.Severity.LOW)
            session.add_all([location, group, profile])
            await session.flush()
            device = r.LocationDevice(location_id=location.id, name=f"PLC {i}", ip_address="10.0.0.1")
            session.add_all([device, al.AlarmProfileLocation(profile_id=profile.id, location_id=location.id)])
            session.add(al.AlarmProfileLocationGroup(profile_id=profile.id, group_id=group.id))
            for kind in al.FilterKind:
                session.add(
                    al.AlarmProfileFilter(
                        profile_id=profile.id, kind=kind, position=0, key="t", condition=al.Condition.GT, value=i
                    )
                )
            await session.flush()
            session.add(
                al.Alarm(
                    organisation_id=organisation,
                    profile_id=profile.id,
                    profile_name=profile.name,
                    severity=al.Severity.LOW,
                    location_id=location.id,
                    device_id=device.id,
                    cleared=i % 2 == 1,
                    open_key=None if i % 2 else f"{profile.id}:{location.id}:{device.id}",
                )
            )


@pytest.mark.parametrize("size", [10, 50])
async def test_alarm_profiles_alarms_and_counts(gql, world, runtime, count_sql, size):
    await populate_alarms(runtime, world, size)
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ALARM_PROFILES)
    assert data["alarmProfiles"]["totalCount"] == size + 1  # and the system profile
    assert data["alarmProfiles"]["nodes"][1]["locations"] == [{"name": "Location 001"}]
    assert count == ALARM_PROFILES_BUDGET
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ALARMS)
    assert len(data["alarms"]["nodes"]) == data["alarms"]["totalCount"] == size
    assert {node["device"]["name"] for node in data["alarms"]["nodes"]} == {f"PLC {i}" for i in range(size)}
    assert count == ALARMS_BUDGET
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ALARM_COUNTS)
    assert data["alarmCounts"] == {"low": size // 2, "medium": 0, "high": 0, "total": size // 2}
    assert count == ALARM_COUNTS_BUDGET


FORWARDING_TARGETS = """{ forwardingTargets(first: 500) {
  totalCount nodes { name platform values { key } influxdb { bucket } location { name } }
} }"""
# authentication 1 + page 1 + totalCount 1 + locations 1
FORWARDING_TARGETS_BUDGET = AUTH + 3
FORWARDING_DELIVERIES = """query($id: ID!) { forwardingDeliveries(targetId: $id, first: 500) {
  totalCount nodes { idempotencyKey state attempts lastError attemptHistory { status error durationMs } }
} }"""
# authentication 1 + the target 1 + page 1 + totalCount 1 + attempts 1
FORWARDING_DELIVERIES_BUDGET = AUTH + 4


@pytest.mark.parametrize("size", [10, 100])
async def test_forwarding_targets_with_locations_and_a_delivery_history(gql, world, runtime, count_sql, size):
    from graph.relay import to_global_id
    from models import forwarding as fw
    from models import remote as r

    async with runtime.session_factory() as session, session.begin():
        locations = [
            r.Location(organisation_id=world.organisations["a"].id, name=f"Plant {i:03d}") for i in range(size)
        ]
        session.add_all(locations)
        await session.flush()
        targets = [
            fw.ForwardingTarget(
                organisation_id=world.organisations["a"].id,
                location_id=location.id,
                name=f"Target {i:03d}",
                platform=fw.Platform.INFLUXDB,
                values=[{"key": "temperature", "measurement": "climate", "dataType": "FLOAT"}],
                settings={"url": "http://127.0.0.1:9", "organisation": "acme", "bucket": f"b{i}"},
            )
            for i, location in enumerate(locations)
        ]
        session.add_all(targets)
        await session.flush()
        queued = [
            fw.OutboundDelivery(
                kind="forwarding.influxdb", target_id=targets[0].id, idempotency_key=f"k{i}", payload={}
            )
            for i in range(size)
        ]
        session.add_all(queued)
        await session.flush()
        session.add_all(
            fw.OutboundAttempt(delivery_id=delivery.id, status=status, error=error)
            for delivery in queued
            for status, error in (("failed", "InfluxDB answered 500: "), ("delivered", ""))
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], FORWARDING_TARGETS)
    nodes = data["forwardingTargets"]["nodes"]
    assert len(nodes) == data["forwardingTargets"]["totalCount"] == size
    assert nodes[1]["location"] == {"name": "Plant 001"} and nodes[1]["influxdb"] == {"bucket": "b1"}
    assert count == FORWARDING_TARGETS_BUDGET

    with count_sql() as counter:
        result = await gql(
            FORWARDING_DELIVERIES, {"id": to_global_id("ForwardingTarget", targets[0].id)}, world.tokens["admin_a"]
        )
    history = result["data"]["forwardingDeliveries"]
    assert history["totalCount"] == len(history["nodes"]) == size
    assert history["nodes"][0]["idempotencyKey"] == f"k{size - 1}"  # newest first
    assert history["nodes"][0]["attemptHistory"] == [
        {"status": "delivered", "error": None, "durationMs": 0},
        {"status": "failed", "error": "InfluxDB answered 500: ", "durationMs": 0},
    ]
    assert counter.count == FORWARDING_DELIVERIES_BUDGET


# --- metering points (issue 17, part: metering points) ---------------------------------------------------

METERING_POINTS = """query($filter: MeteringPointFilter) { meteringPoints(first: 500, filter: $filter) {
  totalCount nodes { roomName resource timeZone address { handle city street house }
    meter { serialNumber model network displayName } latestReading { value unit } }
} }"""
# authentication 1 + page 1 + totalCount 1 + addresses 1 + meters (with their product types) 1 + latest readings 1
METERING_POINTS_BUDGET = AUTH + 5


@pytest.mark.parametrize("size", [10, 100])
async def test_metering_points_with_addresses_and_meters(gql, world, runtime, count_sql, size):
    from models import catalogue as c
    from models import metering as mt
    from resolvers.metering.addresses.directory import sample_addresses

    async with runtime.session_factory() as session, session.begin():
        consumer = await add_user(session, world.organisations["a"], "consumer@a.example", [m.Role.CONSUMER])
        token = await issue_token(session, consumer)
        addresses = [mt.Address(**found.columns()) for found in list(sample_addresses().values())[:size]]
        session.add_all(addresses)
        model = await session.scalar(select(c.ProductType).where(c.ProductType.name == "VSKM-15 IWAN"))
        meters = [
            c.Device(manufacturer="DECAST", serial_number=f"3310{i:04d}", product_type_id=model.id) for i in range(size)
        ]
        session.add_all(meters)
        await session.flush()
        session.add_all(
            mt.MeteringPoint(
                organisation_id=world.organisations["a"].id,
                owner_id=consumer.id if i % 2 else None,
                resource=mt.Resource.COLD_WATER,
                room_name=f"Flat {i:03d}",
                time_zone="Europe/Moscow",
                address_id=address.id,
                meter_id=meter.id,
            )
            for i, (address, meter) in enumerate(zip(addresses, meters, strict=True))
        )
        # every other meter has read something (its series' latest value)
        session.add_all(
            tel.TelemetrySeries(
                organisation_id=world.organisations["a"].id,
                meter_id=meter.id,
                key="volume",
                unit="m³",
                last_at=utcnow(),
                last_value=float(i),
            )
            for i, meter in enumerate(meters)
            if i % 2 == 0
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], METERING_POINTS)
    nodes = data["meteringPoints"]["nodes"]
    assert len(nodes) == data["meteringPoints"]["totalCount"] == size
    assert nodes[0]["latestReading"] == {"value": 0.0, "unit": "m³"} and nodes[1]["latestReading"] is None
    assert nodes[1]["meter"]["displayName"] == "33100001 DECAST VSKM-15 IWAN (NB-IoT)" and nodes[1]["address"]["house"]
    assert count == METERING_POINTS_BUDGET
    # a consumer's list (their own half), searched by address: the same statements
    with count_sql() as counter:
        result = await gql(METERING_POINTS, {"filter": {"search": "a"}}, token)
    assert result["data"]["meteringPoints"]["totalCount"] == size // 2
    assert counter.count == METERING_POINTS_BUDGET


# --- metering notifications (issue 17, part: notifications): the bell on the points list ---------------------


@pytest.mark.parametrize("size", [10, 100])
async def test_metering_points_with_the_callers_bell(gql, world, runtime, count_sql, size):
    from models import metering as mt

    async with runtime.session_factory() as session, session.begin():
        points = [
            mt.MeteringPoint(
                organisation_id=world.organisations["a"].id,
                resource=mt.Resource.COLD_WATER,
                room_name=f"Flat {i:03d}",
                time_zone="Europe/Moscow",
            )
            for i in range(size)
        ]
        session.add_all(points)
        await session.flush()
        session.add_all(
            mt.MeteringPointSubscription(metering_point_id=point.id, user_id=user_id)
            for i, point in enumerate(points)
            for user_id in [world.users["admin_a"].id, world.users["user_a"].id][: 1 + i % 2]
            if i % 3
        )
    query = "{ meteringPoints(first: 500) { totalCount nodes { roomName subscribed } } }"
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], query)
    nodes = data["meteringPoints"]["nodes"]
    assert len(nodes) == size and [node["subscribed"] for node in nodes[:4]] == [False, True, True, False]
    # authentication 1 + page 1 + totalCount 1 + the caller's bells 1
    assert count == AUTH + 3


# --- metering readings (issue 17, part: readings) ----------------------------------------------------------

METERING_POINT_READINGS = """query($id: ID!, $aggregation: ReadingAggregation) {
  meteringPointReadings(meteringPointId: $id, aggregation: $aggregation, first: 1000) { key count at values } }"""
# authentication 1 + the point with its meter's reading series 1 + the readings 1 (raw or aggregated)
METERING_POINT_READINGS_BUDGET = AUTH + 2


async def add_metered_points(runtime, world, size: int) -> tuple[list[int], list[int]]:
    """`size` metering points of tenant A, each with a meter whose volume series has a latest value; the first
    meter has `size` readings six hours apart. Returns (point pks, meter pks)."""
    from models import catalogue as c
    from models import metering as mt
    from models import telemetry as tel

    now = utcnow()
    async with runtime.session_factory() as session, session.begin():
        product = await session.scalar(select(c.ProductType.id).where(c.ProductType.name == "TOPAS Lora W8"))
        meters = [
            c.Device(
                manufacturer="INTEGRA",
                serial_number=f"M{i:05d}",
                product_type_id=product,
                organisation_id=world.organisations["a"].id,
            )
            for i in range(size)
        ]
        session.add_all(meters)
        await session.flush()
        points = [
            mt.MeteringPoint(
                organisation_id=world.organisations["a"].id,
                meter_id=meter.id,
                resource=mt.Resource.COLD_WATER,
                room_name=f"Flat {i}",
                time_zone="Europe/Moscow",
            )
            for i, meter in enumerate(meters)
        ]
        series = [
            tel.TelemetrySeries(
                organisation_id=meter.organisation_id,
                meter_id=meter.id,
                key="volume",
                unit="m³",
                last_at=now,
                last_value=1.0,
            )
            for meter in meters
        ]
        session.add_all([*points, *series])
        await session.flush()
        session.add_all(
            tel.TelemetryPoint(series_id=series[0].id, at=now - timedelta(hours=6 * i), value=float(i))
            for i in range(size)
        )
    return [point.id for point in points], [meter.id for meter in meters]


@pytest.mark.parametrize("size", [10, 200])
async def test_metering_point_readings_and_the_latest_reading_loader(gql, world, runtime, count_sql, size):
    from graph.context import Context
    from graph.relay import to_global_id
    from resolvers.metering.readings.loaders import latest_readings_of_meters

    points, meters = await add_metered_points(runtime, world, size)
    variables = {"id": to_global_id("MeteringPoint", points[0])}
    counts = {}
    for aggregation in ("NONE", "DAY", "MONTH"):
        with count_sql() as counter:
            result = await gql(
                METERING_POINT_READINGS, {**variables, "aggregation": aggregation}, world.tokens["admin_a"]
            )
        counts[aggregation] = result["data"]["meteringPointReadings"]["count"]
        assert counter.count == METERING_POINT_READINGS_BUDGET, counter.statements
    assert counts["NONE"] == size > counts["DAY"] >= counts["MONTH"] >= 1

    # the metering point's latestReading: one statement for a list of any length
    context = Context(runtime)
    with count_sql() as counter:
        latest = await latest_readings_of_meters(context, meters)
    assert counter.count == 1 and len(latest) == size and all(reading is not None for reading in latest)


METER_GATEWAY_TOKENS = (
    """{ meterGatewayTokens(first: 500) { totalCount nodes { id name organisationId createdAt revokedAt } } }"""
)
# authentication 1 + page 1 + totalCount 1
METER_GATEWAY_TOKENS_BUDGET = AUTH + 2


@pytest.mark.parametrize("size", [10, 100])
async def test_meter_gateway_token_list(gql, world, runtime, count_sql, size):
    from models import metering as mt

    async with runtime.session_factory() as session, session.begin():
        session.add_all(
            mt.MeterGatewayToken(
                organisation_id=world.organisations["a" if i % 2 else "a1"].id, name=f"LNS {i}", token_hash=f"{i:064d}"
            )
            for i in range(size)
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], METER_GATEWAY_TOKENS)
    assert data["meterGatewayTokens"]["totalCount"] == len(data["meterGatewayTokens"]["nodes"]) == size
    assert count == METER_GATEWAY_TOKENS_BUDGET


# --- accounts (issue 17): contact addresses on me and on the users list ------------------------------------

ME_CONTACTS = "{ me { email phone contactEmails { id email confirmedAt } } }"
# authentication 1 + contact addresses 1
ME_CONTACTS_BUDGET = AUTH + 1
USERS_CONTACTS = "{ users(first: 500) { totalCount nodes { email phone contactEmails { email } } } }"
# authentication 1 + page 1 + totalCount 1 + contact addresses 1 (only the caller's show)
USERS_CONTACTS_BUDGET = AUTH + 3


@pytest.mark.parametrize("size", [3, 10])
async def test_contact_addresses_on_me_and_the_users_list(gql, world, runtime, count_sql, size):
    await populate(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        session.add_all(
            m.ContactEmail(user_id=user.id, email=f"contact{i}@{key}.example", confirmed_at=utcnow() if i % 2 else None)
            for key, user in world.users.items()
            for i in range(size)
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], ME_CONTACTS)
    assert [c["email"] for c in data["me"]["contactEmails"]] == [f"contact{i}@admin_a.example" for i in range(size)]
    assert count == ME_CONTACTS_BUDGET

    count, data = await statements(gql, count_sql, world.tokens["admin_a"], USERS_CONTACTS)
    listed = {node["email"]: node["contactEmails"] for node in data["users"]["nodes"]}
    assert len(listed["admin@a.example"]) == size and listed["user@a.example"] == []  # only one's own
    assert count == USERS_CONTACTS_BUDGET


# --- federated sign-in (issue 19): identities and SAML links on the users list ---------------------------------

USERS_IDENTITIES = "{ users(first: 500) { totalCount nodes { email federatedIdentities { provider } } } }"
# authentication 1 + page 1 + totalCount 1 + identities 1
USERS_IDENTITIES_BUDGET = AUTH + 3
USERS_SAML = "{ users(first: 500) { totalCount nodes { email federatedIdentities { provider } samlLinkedAt } } }"
# ... + SAML links 1
USERS_SAML_BUDGET = AUTH + 4


@pytest.mark.parametrize("size", [10, 100])
async def test_federated_identities_on_the_users_list(gql, world, runtime, count_sql, size):
    await populate(runtime, world, size)
    async with runtime.session_factory() as session, session.begin():
        users = list(await session.scalars(select(m.User).where(m.User.email.startswith("person"))))
        session.add_all(
            fed.FederatedIdentity(provider=provider, subject=f"{provider}-{u.id}", user_id=u.id, email=u.email)
            for u in users
            for provider in ("entra", "yandex")
        )
        session.add_all(
            saml_models.SamlLink(user_id=u.id, organisation_id=u.organisation_id, idp_entity_id="https://idp")
            for u in users[::2]
        )
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], USERS_IDENTITIES)
    nodes = data["users"]["nodes"]
    assert len(nodes) == size + 3
    assert sum(1 for n in nodes if [i["provider"] for i in n["federatedIdentities"]] == ["entra", "yandex"]) == size
    assert count == USERS_IDENTITIES_BUDGET
    count, data = await statements(gql, count_sql, world.tokens["admin_a"], USERS_SAML)
    assert sum(1 for n in data["users"]["nodes"] if n["samlLinkedAt"]) == len(users[::2])
    assert count == USERS_SAML_BUDGET


# --- metering integrations (issue 17, part: integrations) ---------------------------------------------------

INTEGRATIONS = """query($id: ID!) { integrations(meteringPointId: $id, first: 500) {
  totalCount nodes { id kind periodicity nextTransferDate timeOfDay email { recipient } webhook { url secretSet }
    cityPortal { payerId apartment responsiblePerson } } } }"""
INTEGRATION_RUNS = """query($id: ID!) { integrationRuns(integrationId: $id, first: 500) {
  totalCount nodes { period trigger status error payloadDigest deliveryId } } }"""
# authentication 1 + page 1 + totalCount 1 (each kind's fields are columns of the row)
INTEGRATIONS_BUDGET = AUTH + 2


async def add_integrations_with_runs(runtime, world, size: int):
    """A consumer's metering point with `size` integrations of three kinds, the first with `size` runs."""
    from datetime import date

    from models import metering as mt
    from resolvers.metering.integrations.timing import set_next

    kinds = [
        (mt.IntegrationKind.EMAIL, {"recipient": "uk@management.example"}),
        (mt.IntegrationKind.WEBHOOK, {"url": "https://hooks.example/r"}),
        (
            mt.IntegrationKind.CITY_PORTAL,
            {"payerId": "2919282910", "apartment": "203", "responsiblePerson": "Мартынов А"},
        ),
    ]
    async with runtime.session_factory() as session, session.begin():
        consumer = await add_user(session, world.organisations["a"], "consumer@a.example", [m.Role.CONSUMER])
        token = await issue_token(session, consumer)
        point = mt.MeteringPoint(
            organisation_id=world.organisations["a"].id,
            owner_id=consumer.id,
            resource=mt.Resource.COLD_WATER,
            room_name="Flat 16",
            time_zone="Europe/Moscow",
            account_number="7712345678",
        )
        session.add(point)
        await session.flush()
        integrations = []
        for i in range(size):
            kind, settings = kinds[i % 3]
            integration = mt.Integration(
                organisation_id=point.organisation_id,
                metering_point_id=point.id,
                kind=kind,
                periodicity="DAILY",
                first_date=date(2030, 1, 1),
                at_minute=600,
                settings=settings,
                secret=b"sealed" if kind is mt.IntegrationKind.WEBHOOK else None,
            )
            set_next(integration, point.time_zone, utcnow())
            integrations.append(integration)
        session.add_all(integrations)
        await session.flush()
        session.add_all(
            mt.IntegrationRun(
                integration_id=integrations[0].id,
                period=date(2029, 1, 1 + i % 28),
                trigger="SCHEDULE",
                status=mt.RunStatus.DELIVERED,
                payload_digest="0" * 64,
                delivery_id=i,
            )
            for i in range(size)
        )
    return token, point, integrations


@pytest.mark.parametrize("size", [10, 100])
async def test_integrations_of_a_point_and_their_runs(gql, world, runtime, count_sql, size):
    from graph.relay import to_global_id

    token, point, integrations = await add_integrations_with_runs(runtime, world, size)
    point_id, integration_id = to_global_id("MeteringPoint", point.id), to_global_id("Integration", integrations[0].id)
    for caller in (world.tokens["admin_a"], token):  # staff and the point's consumer: the same statements
        with count_sql() as counter:
            result = await gql(INTEGRATIONS, {"id": point_id}, caller)
        assert result["data"]["integrations"]["totalCount"] == size == len(result["data"]["integrations"]["nodes"])
        assert counter.count == INTEGRATIONS_BUDGET
        with count_sql() as counter:
            result = await gql(INTEGRATION_RUNS, {"id": integration_id}, caller)
        assert result["data"]["integrationRuns"]["totalCount"] == size
        assert counter.count == INTEGRATIONS_BUDGET
