"""Tenancy: an object of another organisation reads exactly like one that does not exist.

For every query and mutation argument that takes an ID (found by walking the schema, so a new one
cannot be forgotten) the admin of tenant A calls it once with an ID of tenant B and once with an
unknown but well-formed ID: the two answers must be identical apart from the ID itself, and the
database must not change at all. A control call with an ID of A's own shows that the argument does
reach objects (so a case that refused everything would not pass). Malformed IDs get a typed error
or null, never an internal error, and change nothing either.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from graphql import GraphQLInputObjectType, GraphQLSchema, get_named_type
from sqlalchemy import select

from graph.relay import to_global_id
from graph.schema import build_schema
from models import alarms as al
from models import branding as br
from models import cases as cs
from models import datalog as dl
from models import federation as fed
from models import identity as m
from models import portal as pt
from models import remote as r
from models.base import utcnow
from models.catalogue import DeviceKey, KeyAlgorithm, KeyKind
from models.clients import RemoteClient
from models.forwarding import DeliveryState, ForwardingTarget, OutboundDelivery, Platform
from models.metering import (
    Integration,
    IntegrationKind,
    IntegrationRun,
    MeterGatewayToken,
    MeteringPoint,
    Resource,
    RunStatus,
)
from models.remote import Location
from models.telemetry import TelemetryPoint, TelemetrySeries, TelemetryToken
from resolvers.catalogue.keys import seal_device_key
from resolvers.metering.integrations.timing import set_next
from resolvers.monitoring.workers.datalog_demo import SimulatedRouterLink
from resolvers.remote.case_settings.defaults import ensure_defaults
from tests.factories import (
    METER_PIN,
    NEW_PASSWORD,
    UNKNOWN_PK,
    World,
    add_audit_event,
    add_batch,
    add_connection,
    add_connection_licence,
    add_device,
    add_device_template,
    add_email_template,
    add_external_user,
    add_external_user_invitation,
    add_invitation,
    add_key_download,
    add_location,
    add_location_device,
    add_location_group,
    add_meter,
    add_metering_point,
    add_notification_profile,
    add_router,
    add_user,
    add_user_group,
    product_type_ids,
    snapshot,
)

# --- the ID-taking arguments of the schema ---------------------------------------------------------------


def _id_paths(type_: Any, prefix: str, seen: frozenset[str]) -> list[str]:
    named = get_named_type(type_)
    if named.name == "ID":
        return [prefix]
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return [
            path
            for name, input_field in named.fields.items()
            for path in _id_paths(input_field.type, f"{prefix}.{name}", seen | {named.name})
        ]
    return []


def id_arguments(schema: GraphQLSchema) -> set[str]:
    """Every root field argument (or input field within one) of type ID or [ID], as "Root.field(arg.path)"."""
    found = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is None:
            continue
        for field_name, field_def in root.fields.items():
            for arg_name, arg in field_def.args.items():
                found.update(f"{root.name}.{field_name}({path})" for path in _id_paths(arg.type, arg_name, frozenset()))
    return found


# --- the two tenants, with something of every kind -------------------------------------------------------


@dataclass
class Tenancy:
    world: World
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> {"a": visible ID, "b": other tenant's ID}
    pks: dict[str, dict[str, int]] = field(default_factory=dict)
    platform_uuid: str = ""

    def id(self, kind: str, tenant: str) -> str:
        return self.ids[kind][tenant]


TENANTS = ("a", "b")
#: The organisation of a tenant's objects that A's admin acts on in the control calls: A's child A1 for A.
CONTROLLED = {"a": "a1", "b": "b"}


async def identity_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: a group (with its plain user), a partner link to the platform, an audit event and an
    invitation (A's to its child A1); A's own objects are the children and plain users."""
    platform = world.organisations["platform"]
    groups, events, invitations = {}, {}, {}
    for tenant in TENANTS:
        organisation = world.organisations[tenant]
        session.add(m.PartnerLink(organisation_id=organisation.id, partner_id=platform.id))
        group = await add_user_group(session, organisation.id, f"Group {tenant}", [world.users[f"user_{tenant}"].id])
        event = await add_audit_event(session, organisation.id, f"admin@{tenant}.example", "test.seeded")
        invitation = await add_invitation(
            session,
            world.organisations[CONTROLLED[tenant]].id,
            f"invitee@{tenant}.example",
            f"{tenant}" * 64,
            name=f"Invitee {tenant}",
        )
        groups[tenant], events[tenant], invitations[tenant] = group.id, event.id, invitation.id
    templates = {
        tenant: (await add_email_template(session, world.organisations[tenant].id, f"Template {tenant}")).id
        for tenant in TENANTS
    }
    return {
        "User": {"a": world.users["user_a"].id, "b": world.users["user_b"].id},
        "Organisation": {"a": world.organisations["a1"].id, "b": world.organisations["b"].id},
        "UserGroup": groups,
        "AuditEvent": events,
        "Invitation": invitations,
        "EmailTemplate": templates,
    }


async def catalogue_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: a batch with a claimed device (with a key: a key download of A's own device, the control
    call, succeeds) of a product type the other tenant has no device of, and a key download of it."""
    types = await product_type_ids(runtime)
    platform = world.organisations["platform"].id
    batches, devices, kinds, downloads = {}, {}, {}, {}
    for tenant, type_name in (("a", "TOPAS Lora W8"), ("b", "TOPAS Mbus")):
        organisation = world.organisations[tenant].id
        batch = await add_batch(session, f"REF-{tenant}", organisation, platform)
        device = await add_device(
            session, f"SN-{tenant}", types[type_name], organisation, claimed=True, batch_id=batch.id
        )
        sealed, version = seal_device_key(runtime.sealer, device.id, KeyKind.OMS_KEY, KeyAlgorithm.AES_128, bytes(16))
        session.add(
            DeviceKey(
                device_id=device.id,
                kind=KeyKind.OMS_KEY,
                algorithm=KeyAlgorithm.AES_128,
                sealed=sealed,
                master_key_version=version,
            )
        )
        download = await add_key_download(
            session, world.users[f"admin_{tenant}"].id, organisation, [device.id], f"{tenant}" * 64
        )
        batches[tenant], devices[tenant], kinds[tenant] = batch.id, device.id, types[type_name]
        downloads[tenant] = download.id
    # a device of A's in no batch, to hand on in a new one (batchCreate's control call); of a third product
    # type, so that "all A's keys of A's product type" (keyDownloadCreate's control call) stays all claimed
    await add_device(session, "SN-a-spare", types["RUBIN SONIC"], world.organisations["a"].id)
    return {"Batch": batches, "Device": devices, "ProductType": kinds, "KeyDownload": downloads}


async def remote_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: a free router, a location with another router, a device at the location and an (active)
    device template."""
    routers, locations, devices, templates = {}, {}, {}, {}
    for n, tenant in enumerate(TENANTS):
        organisation = world.organisations[tenant].id
        free = await add_router(
            session, organisation, f"R_FREE{tenant.upper()}", f"00:00:00:00:00:1{n}", f"RSN-free-{tenant}"
        )
        placed = await add_router(
            session, organisation, f"R_PLACED{tenant.upper()}", f"00:00:00:00:00:2{n}", f"RSN-placed-{tenant}"
        )
        location = await add_location(
            session, organisation, f"Location {tenant}", placed.id, latitude=52.0, longitude=5.0
        )
        routers[tenant], locations[tenant] = free.id, location.id
    for tenant in TENANTS:
        device = await add_location_device(session, locations[tenant], f"Device {tenant}", "192.168.1.10")
        template = await add_device_template(
            session, world.organisations[tenant].id, f"Template {tenant}", "192.168.1.20"
        )
        devices[tenant], templates[tenant] = device.id, template.id
    return {"Router": routers, "Location": locations, "LocationDevice": devices, "DeviceTemplate": templates}


async def access_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: a location group with its location and its plain user, an external user (a user of the
    platform organisation, so of neither tenant); the platform invites each tenant's plain user (A's admin
    may accept or decline for user_a: the control calls), and each tenant invites an address of nobody's."""
    platform = world.organisations["platform"]
    location_groups, external_users, received = {}, {}, {}
    for tenant in TENANTS:
        organisation = world.organisations[tenant].id
        location_group = await add_location_group(
            session,
            organisation,
            f"Location group {tenant}",
            locations=[pks["Location"][tenant]],
            users=[world.users[f"user_{tenant}"].id],
        )
        outsider = await add_user(
            session, platform, f"external-{tenant}@platform.example", [], name=f"External {tenant}", password_hash=None
        )
        await add_external_user(session, organisation, outsider)
        location_groups[tenant], external_users[tenant] = location_group.id, outsider.id
    for tenant in TENANTS:
        invitation = await add_external_user_invitation(session, platform.id, f"user@{tenant}.example")
        await add_external_user_invitation(session, world.organisations[tenant].id, f"guest-{tenant}@elsewhere.example")
        received[tenant] = invitation.id
    return {"LocationGroup": location_groups, "ExternalUser": external_users, "ExternalUserInvitation": received}


async def connection_and_notification_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant's user is connected at its location, and A's child A1 and B hold a licence
    (connectionLicence's control call reads A1's limit). Each tenant has a location group with its location,
    and a profile watching both; the group is the control object of the profiles' locationGroupIds cases."""
    connections, profiles = {}, {}
    for tenant in TENANTS:
        location = await session.get(Location, pks["Location"][tenant])
        connection = await add_connection(
            session, location, world.users[f"user_{tenant}"].id, f"R_PLACED{tenant.upper()}", router_id=None
        )
        await add_connection_licence(session, world.organisations[CONTROLLED[tenant]].id, 5)
        connections[tenant] = connection.id
    for tenant in TENANTS:
        organisation, location = world.organisations[tenant].id, pks["Location"][tenant]
        group = await add_location_group(session, organisation, f"Notified group {tenant}", locations=[location])
        profile = await add_notification_profile(
            session, organisation, f"Profile {tenant}", 30, locations=[location], groups=[group.id]
        )
        profiles[tenant] = profile.id
    return {"RemoteConnection": connections, "NotificationProfile": profiles}


TENANCY_SVG = '<svg xmlns="http://www.w3.org/2000/svg"><rect id="x"/></svg>'


async def datalog_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: a monitored location with an online router and a device with a Modbus datalog device, and an
    audit event about its (unmonitored) location of the remote part (auditEvents' filter.locationId)."""
    monitored, devices, graphics = {}, {}, {}
    for n, tenant in enumerate(TENANTS):
        organisation = world.organisations[tenant].id
        router = await add_router(
            session, organisation, f"R_DATALOG{tenant.upper()}", f"00:00:00:00:00:3{n}", f"RSN-dl-{tenant}", online=True
        )
        location = await add_location(session, organisation, f"Monitored {tenant}", router.id)
        session.add(
            dl.MonitoredLocation(
                location_id=location.id, send_frequency_seconds=60, cloud_host=dl.CloudHost.HELIX, silence_seconds=60
            )
        )
        device = await add_location_device(session, location.id, f"PLC {tenant}", "192.168.1.10")
        datalog_device = dl.DatalogDevice(
            organisation_id=organisation,
            location_device_id=device.id,
            name=f"Modbus {tenant}",
            protocol=dl.Protocol.MODBUS,
            settings={"port": 502, "host": "192.168.1.10", "unitId": 1, "mode": "TCP", "secretsSet": {}},
            variables=[],
        )
        session.add(datalog_device)
        await session.flush()
        await add_audit_event(session, organisation, "admin", "datalog.activated", location_id=pks["Location"][tenant])
        graphic = dl.Graphic(
            location_id=location.id, name=f"Graphic {tenant}", svg=TENANCY_SVG, element_ids=["x"], bindings=[]
        )
        session.add(graphic)
        await session.flush()
        monitored[tenant], devices[tenant], graphics[tenant] = location.id, datalog_device.id, graphic.id
    return {"MonitoredLocation": monitored, "DatalogDevice": devices, "Graphic": graphics}


async def alarm_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: an alarm profile on its location, and an active, unacknowledged alarm of it there."""
    profiles, alarms = {}, {}
    for tenant in TENANTS:
        organisation, location = world.organisations[tenant].id, pks["Location"][tenant]
        profile = al.AlarmProfile(organisation_id=organisation, name=f"HOT_{tenant}", severity=al.Severity.HIGH)
        session.add(profile)
        await session.flush()
        session.add(al.AlarmProfileLocation(profile_id=profile.id, location_id=location))
        for kind, position in ((al.FilterKind.ACTIVATION, 0), (al.FilterKind.CLEARING, 0)):
            session.add(
                al.AlarmProfileFilter(
                    profile_id=profile.id, kind=kind, position=position, key="t", condition=al.Condition.GT, value=1
                )
            )
        alarm = al.Alarm(
            organisation_id=organisation,
            profile_id=profile.id,
            profile_name=profile.name,
            severity=al.Severity.HIGH,
            location_id=location,
            open_key=f"{profile.id}:{location}:0",
        )
        session.add(alarm)
        await session.flush()
        profiles[tenant], alarms[tenant] = profile.id, alarm.id
        # an acknowledge of it, recorded at its location as the rule does (auditEvents(filter.locationId) finds it)
        await add_audit_event(
            session,
            organisation,
            f"admin@{tenant}.example",
            "alarm.acknowledged",
            target_type="Alarm",
            target_id=alarm.id,
            location_id=location,
        )
    settings = {}
    for tenant in TENANTS:
        setting = al.AlarmNotificationSetting(
            organisation_id=world.organisations[tenant].id, user_id=world.users[f"user_{tenant}"].id
        )
        session.add(setting)
        await session.flush()
        settings[tenant] = setting.id
    return {"AlarmProfile": profiles, "Alarm": alarms, "AlarmNotificationSetting": settings}


#: When the tenancy fixture's telemetry points were measured (an hour ago, within the late window).
TELEMETRY_AT = utcnow().replace(microsecond=0) - timedelta(hours=1)
TELEMETRY_PERIOD = {"from": (TELEMETRY_AT - timedelta(hours=1)).isoformat(), "to": utcnow().isoformat()}


async def telemetry_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant's location device has a temperature series with one point; each location a device token."""
    series, tokens = {}, {}
    for tenant in TENANTS:
        row = TelemetrySeries(
            organisation_id=world.organisations[tenant].id,
            location_id=pks["Location"][tenant],
            device_id=pks["LocationDevice"][tenant],
            key="temperature",
            last_at=TELEMETRY_AT,
            last_value=70.0,
        )
        session.add(row)
        await session.flush()
        session.add(TelemetryPoint(series_id=row.id, at=TELEMETRY_AT, value=70.0))
        series[tenant] = row.id
        token = TelemetryToken(
            organisation_id=world.organisations[tenant].id,
            location_id=pks["Location"][tenant],
            name=f"Token {tenant}",
            token_hash=f"{tenant:0>64}",
        )
        session.add(token)
        await session.flush()
        tokens[tenant] = token.id
    return {"TelemetrySeries": series, "TelemetryToken": tokens}


# --- accounts (issue 17) ---
async def account_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant's admin: an unconfirmed contact address (only its owner sees it, so A's admin acts on their own)."""
    contacts = {}
    for tenant in TENANTS:
        contact = m.ContactEmail(user_id=world.users[f"admin_{tenant}"].id, email=f"contact@{tenant}.example")
        session.add(contact)
        await session.flush()
        contacts[tenant] = contact.id
    return {"ContactEmail": contacts}


async def federated_identity_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Issue 19: each tenant's plain user (who has a password: unlinking it is allowed, A's is the control) has an
    account at a provider linked."""
    identities = {}
    for tenant in TENANTS:
        user = world.users[f"user_{tenant}"]
        identity = fed.FederatedIdentity(
            provider="entra", subject=f"subject-{tenant}", user_id=user.id, email=user.email
        )
        session.add(identity)
        await session.flush()
        identities[tenant] = identity.id
    return {"FederatedIdentity": identities}


async def forwarding_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: an InfluxDB forwarding target at its location with one FAILED delivery (its history, and what
    forwardingDeliveryRetry's control call queues again)."""
    targets = {}
    for tenant in TENANTS:
        target = ForwardingTarget(
            organisation_id=world.organisations[tenant].id,
            location_id=pks["Location"][tenant],
            name=f"Influx {tenant}",
            platform=Platform.INFLUXDB,
            values=[{"key": "temperature", "measurement": "climate", "dataType": "FLOAT"}],
            settings={"url": "http://127.0.0.1:9", "organisation": "acme", "bucket": tenant},
        )
        session.add(target)
        await session.flush()
        session.add(
            OutboundDelivery(
                kind="forwarding.influxdb",
                target_id=target.id,
                idempotency_key=f"tenancy-{tenant}",
                payload={},
                state=DeliveryState.FAILED,
            )
        )
        targets[tenant] = target.id
    return {"ForwardingTarget": targets}


async def metering_point_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant: a metering point of its staff (A's in its child A1) without a meter, and a meter with a PIN
    free to bind (meterBind's control call binds A's point to it)."""
    await add_meter(session, "33100050")
    points = {}
    for tenant in TENANTS:
        point = await add_metering_point(session, world.organisations[CONTROLLED[tenant]].id, f"Boiler room {tenant}")
        points[tenant] = point.id
    return {"MeteringPoint": points}


async def metering_readings_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Metering readings (issue 17): each tenant's catalogue device is the meter of a second metering point, with
    one reading; each tenant has a meter gateway token."""
    points, tokens = {}, {}
    for tenant in TENANTS:
        organisation = world.organisations[CONTROLLED[tenant]].id
        meter = pks["Device"][tenant]
        point = MeteringPoint(
            organisation_id=organisation,
            meter_id=meter,
            resource=Resource.COLD_WATER,
            room_name=f"Flat {tenant}",
            time_zone="Europe/Moscow",
        )
        series = TelemetrySeries(
            organisation_id=organisation, meter_id=meter, key="volume", unit="m³", last_at=TELEMETRY_AT, last_value=1.0
        )
        token = MeterGatewayToken(organisation_id=organisation, name=f"LNS {tenant}", token_hash=f"m{tenant:0>63}")
        session.add_all([point, series, token])
        await session.flush()
        session.add(TelemetryPoint(series_id=series.id, at=TELEMETRY_AT, value=1.0))
        points[tenant], tokens[tenant] = point.id, token.id
    # named MeteredPoint here: the points part's MeteringPoint has no meter (meterBind's control binds one)
    return {"MeteredPoint": points, "MeterGatewayToken": tokens}


async def metering_integration_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Integrations (issue 17, part: integrations): an e-mail integration of each tenant's metering point, with a
    delivered run in its history."""
    integrations = {}
    for tenant in TENANTS:
        point = await session.get(MeteringPoint, pks["MeteringPoint"][tenant])
        integration = Integration(
            organisation_id=point.organisation_id,
            metering_point_id=point.id,
            kind=IntegrationKind.EMAIL,
            periodicity="MONTHLY",
            first_date=date(2030, 1, 25),
            at_minute=600,
            settings={"recipient": f"uk-{tenant}@management.example"},
        )
        set_next(integration, point.time_zone, utcnow())
        session.add(integration)
        await session.flush()
        session.add(
            IntegrationRun(
                integration_id=integration.id, period=date(2029, 12, 25), trigger="SCHEDULE", status=RunStatus.DELIVERED
            )
        )
        integrations[tenant] = integration.id
    return {"Integration": integrations}


async def case_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Cases (issue 18): each tenant's defaults, a case at its location about its device with a call by its plain
    user (Checking, Waiting on us: the "used" status and type), and a spare status and activity type that
    nothing uses (deleting them is the control call)."""
    found: dict[str, dict[str, int]] = {
        kind: {} for kind in ("Case", "CaseCall", "CaseStatus", "ActivityType", "UsedCaseStatus", "UsedActivityType")
    }
    for tenant in TENANTS:
        organisation = world.organisations[tenant].id
        await ensure_defaults(session, organisation)
        named = {
            name: pk
            for model in (cs.CaseStatus, cs.ActivityType)
            for name, pk in (
                await session.execute(select(model.name, model.id).where(model.organisation_id == organisation))
            ).all()
        }
        spare_status = cs.CaseStatus(organisation_id=organisation, name="Spare", sequence=50)
        spare_type = cs.ActivityType(organisation_id=organisation, name="Spare")
        case = cs.Case(
            organisation_id=organisation,
            location_id=pks["Location"][tenant],
            device_id=pks["LocationDevice"][tenant],
            user_id=world.users[f"admin_{tenant}"].id,
            status_id=named["Waiting on us"],
            description=f"Case {tenant}",
        )
        session.add_all([spare_status, spare_type, case])
        await session.flush()
        call = cs.CaseCall(
            case_id=case.id,
            started_at=utcnow(),
            duration_minutes=15,
            activity_type_id=named["Checking"],
            status_id=named["Waiting on us"],
            user_id=world.users[f"user_{tenant}"].id,
        )
        session.add(call)
        await session.flush()
        for kind, pk in (
            ("Case", case.id),
            ("CaseCall", call.id),
            ("CaseStatus", spare_status.id),
            ("ActivityType", spare_type.id),
            ("UsedCaseStatus", named["Waiting on us"]),
            ("UsedActivityType", named["Checking"]),
        ):
            found[kind][tenant] = pk
    return found


async def serial_and_configuration_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Issue 18 (serial): each tenant has a serial device template and a serial device at its location, a
    configuration group with its free router in it (adding it again is the control call: nothing changes), and a
    device at its location linked to a device template of its own (not the seeded one, which the link control
    call links)."""
    serial = {
        "protocol": r.SerialProtocol.MODBUS_RTU,
        "baud_rate": 9600,
        "data_bits": 8,
        "stop_bits": r.SerialStopBits.ONE,
        "parity": r.SerialParity.NONE,
        "serial_mode": r.SerialMode.RS485,
    }
    templates, devices, groups, linked = {}, {}, {}, {}
    for tenant in TENANTS:
        organisation, location = world.organisations[tenant].id, pks["Location"][tenant]
        template = r.SerialDeviceTemplate(organisation_id=organisation, name=f"Serial template {tenant}", **serial)
        group = r.ConfigurationGroup(organisation_id=organisation, name=f"Configuration {tenant}")
        followed = await add_device_template(session, organisation, f"Linked template {tenant}", "192.168.1.30")
        session.add_all([template, group])
        await session.flush()
        device = r.LocationSerialDevice(location_id=location, name=f"Serial {tenant}", **serial)
        link = r.LocationDevice(
            location_id=location,
            name=f"Linked {tenant}",
            ip_address="192.168.1.30",
            template_id=followed.id,
            template_linked=True,
        )
        session.add_all([device, link])
        router = await session.get(r.Router, pks["Router"][tenant])
        router.configuration_group_id = group.id
        await session.flush()
        templates[tenant], devices[tenant], groups[tenant], linked[tenant] = template.id, device.id, group.id, link.id
    return {
        "SerialDeviceTemplate": templates,
        "LocationSerialDevice": devices,
        "ConfigurationGroup": groups,
        "LinkedDevice": linked,
    }


async def portal_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Portal (issue 18): A1 is A's customer and A holds a licence pool (A1's licences come from the connection
    part); a router of A1's that A may take back; a firewall rule of each tenant and of A1."""
    session.add(pt.Customer(organisation_id=world.organisations["a1"].id, reseller_id=world.organisations["a"].id))
    await add_connection_licence(session, world.organisations["a"].id, 10)
    resold = await add_router(session, world.organisations["a1"].id, "R_RESOLDA", "00:00:00:00:18:01", "RSN-resold-a")
    rules = {}
    for key in ("a", "a1", "b"):
        rule = pt.FirewallRule(
            organisation_id=world.organisations[key].id,
            direction=pt.FirewallDirection.INBOUND,
            protocol=pt.FirewallProtocol.TCP,
            port_from=443,
            port_to=443,
            source="0.0.0.0/0",
            destination="192.168.1.0/24",
        )
        session.add(rule)
        await session.flush()
        rules[key] = rule.id
    return {
        "CustomerRouter": {"a": resold.id, "b": pks["Router"]["b"]},
        "FirewallRule": {"a": rules["a"], "b": rules["b"]},
    }


async def client_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Clients (issue 18): each tenant's admin has paired a desktop client."""
    clients = {}
    for tenant in TENANTS:
        client = RemoteClient(
            user_id=world.users[f"admin_{tenant}"].id,
            name=f"PC {tenant}",
            secret_hash=f"{tenant}" * 64,
            paired_at=utcnow(),
        )
        session.add(client)
        await session.flush()
        clients[tenant] = client.id
    return {"RemoteClient": clients}


async def login_domain_objects(session, runtime, world: World, pks: dict) -> dict[str, dict[str, int]]:
    """Each tenant (A: its child A1): a verified login domain (verifying it again needs no DNS lookup)."""
    domains = {}
    for tenant in TENANTS:
        organisation = world.organisations[CONTROLLED[tenant]]
        name = f"portal.{tenant}.example"
        row = br.LoginDomain(
            organisation_id=organisation.id,
            domain=name,
            token="0" * 32,
            state=br.LoginDomainState.VERIFIED,
            verified_domain=name,
            verified_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        domains[tenant] = row.id
    return {"LoginDomain": domains}


@pytest.fixture
async def tenancy(world, runtime) -> AsyncIterator[Tenancy]:
    """Both tenants get something of every kind (see the parts above)."""
    t = Tenancy(world)
    async with runtime.session_factory() as session, session.begin():
        t.platform_uuid = (await session.get(m.Organisation, world.organisations["platform"].id)).public_id
        for part in (identity_objects, catalogue_objects, remote_objects, access_objects):
            t.pks.update(await part(session, runtime, world, t.pks))
        t.pks.update(await connection_and_notification_objects(session, runtime, world, t.pks))
        t.pks.update(await datalog_objects(session, runtime, world, t.pks))
        t.pks.update(await alarm_objects(session, runtime, world, t.pks))
        t.pks.update(await telemetry_objects(session, runtime, world, t.pks))
        t.pks.update(await forwarding_objects(session, runtime, world, t.pks))
        t.pks.update(await metering_point_objects(session, runtime, world, t.pks))
        t.pks.update(await metering_readings_objects(session, runtime, world, t.pks))
        t.pks.update(await account_objects(session, runtime, world, t.pks))  # accounts (issue 17)
        t.pks.update(await federated_identity_objects(session, runtime, world, t.pks))  # issue 19
        t.pks.update(await metering_integration_objects(session, runtime, world, t.pks))
        t.pks.update(await case_objects(session, runtime, world, t.pks))
        t.pks.update(await serial_and_configuration_objects(session, runtime, world, t.pks))  # issue 18 (serial)
        t.pks.update(await portal_objects(session, runtime, world, t.pks))  # portal (issue 18)
        t.pks.update(await client_objects(session, runtime, world, t.pks))
        t.pks.update(await login_domain_objects(session, runtime, world, t.pks))  # issue 18: login identity
    t.ids = {
        kind: {tenant: to_global_id(kind, pk) for tenant, pk in by_tenant.items()} for kind, by_tenant in t.pks.items()
    }
    for kind in t.ids:
        t.ids[kind]["unknown"] = to_global_id(kind, UNKNOWN_PK)
    # a metering point with a meter and readings (readings part) is a MeteringPoint
    t.ids["MeteredPoint"] = {
        key: to_global_id("MeteringPoint", pk) for key, pk in {**t.pks["MeteredPoint"], "unknown": UNKNOWN_PK}.items()
    }
    # a monitored location is named by its location's ID (datalog part)
    t.ids["MonitoredLocation"] = {
        key: to_global_id("Location", pk) for key, pk in {**t.pks["MonitoredLocation"], "unknown": UNKNOWN_PK}.items()
    }
    # a status or activity type that cases and calls have (cases part) is named like any other
    for kind, real in (("UsedCaseStatus", "CaseStatus"), ("UsedActivityType", "ActivityType")):
        t.ids[kind] = {key: to_global_id(real, pk) for key, pk in {**t.pks[kind], "unknown": UNKNOWN_PK}.items()}
    # a device linked to a template is a LocationDevice (issue 18, serial)
    t.ids["LinkedDevice"] = {
        key: to_global_id("LocationDevice", pk) for key, pk in {**t.pks["LinkedDevice"], "unknown": UNKNOWN_PK}.items()
    }
    # an external user is named by a user ID (access part)
    t.ids["ExternalUser"] = {
        key: to_global_id("User", pk) for key, pk in {**t.pks["ExternalUser"], "unknown": UNKNOWN_PK}.items()
    }
    # a router given to a customer is named by a router ID (portal part)
    t.ids["CustomerRouter"] = {
        key: to_global_id("Router", pk) for key, pk in {**t.pks["CustomerRouter"], "unknown": UNKNOWN_PK}.items()
    }
    # uploads and discovery need a router link: the demo's simulated routers answer (control calls)
    link = SimulatedRouterLink(runtime)
    link.start()
    yield t
    await link.stop()


# --- one case per ID argument ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    argument: str  # as found by id_arguments()
    kind: str  # the type of object the ID should name
    document: str
    variables: Callable[[Tenancy, Any], dict]
    token: str = "admin_a"
    #: Where to look in the answer for "did it reach the object": a payload field or a query field.
    root: str = ""
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.argument}{'[' + self.label + ']' if self.label else ''}"

    @property
    def is_mutation(self) -> bool:
        return self.argument.startswith("Mutation.")


def mutation(name: str, input_type: str, selection: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} errors {{ code field message }} }} }}"
    )


DATALOG_MODBUS = {"modbus": {"host": "192.168.1.10"}}
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def node_cases() -> list[Case]:
    cases = []
    for kind in (
        "User",
        "Organisation",
        "UserGroup",
        "AuditEvent",
        "Invitation",
        "Device",
        "Batch",
        "KeyDownload",
        "Router",
        "Location",
        "LocationDevice",
        "DeviceTemplate",
        "DatalogDevice",
        "Graphic",
        "TelemetrySeries",
        "TelemetryToken",
        "ForwardingTarget",
        "MeteringPoint",
        "MeterGatewayToken",
        "ContactEmail",  # accounts (issue 17)
        "FederatedIdentity",  # issue 19
        "Integration",
        "Case",  # cases (issue 18)
        "CaseCall",
        "CaseStatus",
        "ActivityType",
        "RemoteClient",  # clients (issue 18): a user's own only
    ):
        cases.append(Case("Query.node(id)", kind, NODE, lambda t, x: {"id": x}, root="node", label=kind))
        # one of A's own next to the ID under test: the answer differs only where that ID is
        cases.append(
            Case(
                "Query.nodes(ids)",
                kind,
                NODES,
                lambda t, x, kind=kind: {"ids": [t.id(kind, "a"), x]},
                root="nodes",
                label=kind,
            )
        )
    return cases


TELEMETRY_HISTORY = """query($location: ID!, $device: ID, $from: DateTime, $to: DateTime) {
  telemetryHistory(locationId: $location, deviceId: $device, key: "temperature", from: $from, to: $to) {
    totalCount: count timestamps values } }"""

CASES: list[Case] = [
    *node_cases(),
    Case(
        "Query.users(filter.organisationId)",
        "Organisation",
        (
            "query($id: ID!) { users(filter: {organisationId: $id}) { totalCount nodes { email } pageInfo { "
            "hasNextPage } } }"
        ),
        lambda t, x: {"id": x},
        root="users",
    ),
    Case(
        "Query.organisations(filter.parentId)",
        "Organisation",
        "query($id: ID!) { organisations(filter: {parentId: $id}) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="organisations",
    ),
    Case(
        "Query.userGroups(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { userGroups(filter: {organisationId: $id}) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="userGroups",
    ),
    Case(
        "Mutation.userCreate(input.organisationId)",
        "Organisation",
        mutation("userCreate", "UserCreateInput", "user { id }"),
        lambda t, x: {
            "input": {"name": "New", "email": "new@example.org", "password": NEW_PASSWORD, "organisationId": x}
        },
        root="userCreate",
    ),
    Case(
        "Mutation.userUpdate(input.id)",
        "User",
        mutation("userUpdate", "UserUpdateInput", "user { id name }"),
        lambda t, x: {"input": {"id": x, "name": "Hijacked", "roles": ["ORGANISATION_ADMIN"]}},
        root="userUpdate",
    ),
    Case(
        "Mutation.userUpdate(input.organisationId)",
        "Organisation",
        mutation("userUpdate", "UserUpdateInput", "user { id }"),
        lambda t, x: {"input": {"id": t.id("User", "a"), "organisationId": x}},
        root="userUpdate",
    ),
    Case(
        "Mutation.userDeactivate(input.id)",
        "User",
        mutation("userDeactivate", "UserIdInput", "user { isActive }"),
        lambda t, x: {"input": {"id": x}},
        root="userDeactivate",
    ),
    Case(
        "Mutation.userReactivate(input.id)",
        "User",
        mutation("userReactivate", "UserIdInput", "user { isActive }"),
        lambda t, x: {"input": {"id": x}},
        root="userReactivate",
    ),
    Case(
        "Mutation.userDelete(input.id)",
        "User",
        mutation("userDelete", "UserIdInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="userDelete",
    ),
    Case(
        "Mutation.userPermissionsSet(input.id)",
        "User",
        mutation("userPermissionsSet", "UserPermissionsSetInput", "user { grantedPermissions }"),
        lambda t, x: {"input": {"id": x, "permissions": ["AUDIT_READ"]}},
        root="userPermissionsSet",
    ),
    Case(
        "Mutation.userPasswordSet(input.userId)",
        "User",
        mutation("userPasswordSet", "UserPasswordSetInput", "user { id }"),
        lambda t, x: {"input": {"userId": x, "newPassword": NEW_PASSWORD}},
        root="userPasswordSet",
    ),
    Case(
        "Mutation.organisationCreate(input.parentId)",
        "Organisation",
        mutation("organisationCreate", "OrganisationCreateInput", "organisation { name }"),
        lambda t, x: {"input": {"name": "Planted", "parentId": x}},
        root="organisationCreate",
    ),
    Case(
        "Mutation.organisationUpdate(input.id)",
        "Organisation",
        mutation("organisationUpdate", "OrganisationUpdateInput", "organisation { name }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "canCreateOrganisations": True}},
        root="organisationUpdate",
    ),
    Case(
        "Mutation.partnerAdd(input.organisationId)",
        "Organisation",
        mutation("partnerAdd", "PartnerInput", "organisation { name partners { name } }"),
        lambda t, x: {"input": {"organisationId": x, "partnerOrganisationId": t.platform_uuid}},
        root="partnerAdd",
        label="link an organisation to the platform",
    ),
    Case(
        "Mutation.partnerRemove(input.organisationId)",
        "Organisation",
        mutation("partnerRemove", "PartnerInput", "organisation { name partners { name } }"),
        lambda t, x: {"input": {"organisationId": x, "partnerOrganisationId": t.platform_uuid}},
        root="partnerRemove",
    ),
    Case(
        "Mutation.userGroupCreate(input.organisationId)",
        "Organisation",
        mutation("userGroupCreate", "UserGroupCreateInput", "userGroup { name }"),
        lambda t, x: {"input": {"name": "Planted", "organisationId": x}},
        root="userGroupCreate",
    ),
    Case(
        "Mutation.userGroupCreate(input.memberIds)",
        "User",
        mutation("userGroupCreate", "UserGroupCreateInput", "userGroup { name members { email } }"),
        lambda t, x: {"input": {"name": "Spies", "memberIds": [x]}},
        root="userGroupCreate",
    ),
    Case(
        "Mutation.userGroupUpdate(input.id)",
        "UserGroup",
        mutation("userGroupUpdate", "UserGroupUpdateInput", "userGroup { name }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "memberIds": []}},
        root="userGroupUpdate",
    ),
    Case(
        "Mutation.userGroupUpdate(input.memberIds)",
        "User",
        mutation("userGroupUpdate", "UserGroupUpdateInput", "userGroup { members { email } }"),
        lambda t, x: {"input": {"id": t.id("UserGroup", "a"), "memberIds": [x]}},
        root="userGroupUpdate",
    ),
    Case("Query.node(id)", "EmailTemplate", NODE, lambda t, x: {"id": x}, root="node", label="EmailTemplate"),
    Case(
        "Query.nodes(ids)",
        "EmailTemplate",
        NODES,
        lambda t, x: {"ids": [t.id("EmailTemplate", "a"), x]},
        root="nodes",
        label="EmailTemplate",
    ),
    Case(
        "Mutation.emailTemplateCopy(input.id)",
        "EmailTemplate",
        mutation("emailTemplateCopy", "EmailTemplateIdInput", "emailTemplate { name subject }"),
        lambda t, x: {"input": {"id": x}},
        root="emailTemplateCopy",
    ),
    Case(
        "Mutation.emailTemplateUpdate(input.id)",
        "EmailTemplate",
        mutation("emailTemplateUpdate", "EmailTemplateUpdateInput", "emailTemplate { name subject }"),
        lambda t, x: {"input": {"id": x, "name": "Hijacked", "subject": "Hijacked {{ recipient_name }}"}},
        root="emailTemplateUpdate",
    ),
    Case(
        "Mutation.emailTemplateActivate(input.id)",
        "EmailTemplate",
        mutation("emailTemplateActivate", "EmailTemplateIdInput", "emailTemplate { isActive }"),
        lambda t, x: {"input": {"id": x}},
        root="emailTemplateActivate",
    ),
    Case(
        "Mutation.emailTemplateDeactivate(input.id)",
        "EmailTemplate",
        mutation("emailTemplateDeactivate", "EmailTemplateIdInput", "emailTemplate { isActive }"),
        lambda t, x: {"input": {"id": x}},
        root="emailTemplateDeactivate",
    ),
    Case(
        "Mutation.emailTemplateDelete(input.id)",
        "EmailTemplate",
        mutation("emailTemplateDelete", "EmailTemplateIdInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="emailTemplateDelete",
    ),
    Case(
        "Mutation.emailTemplatePreview(input.id)",
        "EmailTemplate",
        mutation("emailTemplatePreview", "EmailTemplatePreviewInput", "preview { subject bodyText }"),
        lambda t, x: {"input": {"id": x}},
        root="emailTemplatePreview",
    ),
    Case(
        "Mutation.emailTemplateSendTest(input.id)",
        "EmailTemplate",
        mutation("emailTemplateSendTest", "EmailTemplateSendTestInput", "emailTemplate { name } messageId"),
        lambda t, x: {"input": {"id": x, "toAddress": "probe@example.org"}},
        root="emailTemplateSendTest",
    ),
    Case(
        "Mutation.userGroupDelete(input.id)",
        "UserGroup",
        mutation("userGroupDelete", "UserGroupIdInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="userGroupDelete",
    ),
    Case(
        "Query.invitations(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { invitations(filter: {organisationId: $id}) { totalCount nodes { name email } } }",
        lambda t, x: {"id": x},
        root="invitations",
    ),
    Case(
        "Mutation.invitationCreate(input.organisationId)",
        "Organisation",
        mutation("invitationCreate", "InvitationCreateInput", "invitation { name } registrationLink"),
        lambda t, x: {"input": {"name": "Planted", "email": "planted@example.org", "organisationId": x}},
        root="invitationCreate",
    ),
    Case(
        "Mutation.invitationUpdate(input.id)",
        "Invitation",
        mutation("invitationUpdate", "InvitationUpdateInput", "invitation { name email }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "email": "spy@example.org"}},
        root="invitationUpdate",
    ),
    Case(
        "Mutation.invitationSend(input.id)",
        "Invitation",
        mutation("invitationSend", "InvitationIdInput", "invitation { state }"),
        lambda t, x: {"input": {"id": x}},
        root="invitationSend",
    ),
    Case(
        "Mutation.invitationRevoke(input.id)",
        "Invitation",
        mutation("invitationRevoke", "InvitationIdInput", "invitation { state }"),
        lambda t, x: {"input": {"id": x}},
        root="invitationRevoke",
    ),
    Case(
        "Mutation.invitationPreview(input.id)",
        "Invitation",
        mutation("invitationPreview", "InvitationIdInput", "subject text"),
        lambda t, x: {"input": {"id": x}},
        root="invitationPreview",
    ),
    # product types are shared: one that only B's devices have reads like an unknown one (no device of A matches)
    Case(
        "Query.devices(filter.productTypeId)",
        "ProductType",
        "query($id: ID!) { devices(filter: {productTypeId: $id}) { totalCount nodes { serialNumber } } }",
        lambda t, x: {"id": x},
        root="devices",
    ),
    Case(
        "Mutation.batchCreate(input.organisationId)",
        "Organisation",
        mutation("batchCreate", "BatchCreateInput", "batch { reference deviceCount }"),
        lambda t, x: {
            "input": {"reference": "REF-new", "label": "Spring", "organisationId": x, "serialNumbers": ["SN-a-spare"]}
        },
        root="batchCreate",
    ),
    Case(
        "Mutation.batchReject(input.id)",
        "Batch",
        mutation("batchReject", "BatchRejectInput", "batch { reference state }"),
        lambda t, x: {"input": {"id": x}},
        root="batchReject",
    ),
    Case(
        "Query.batches(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { batches(filter: {organisationId: $id}) { totalCount nodes { reference } } }",
        lambda t, x: {"id": x},
        root="batches",
    ),
    Case(
        "Query.devices(filter.batchId)",
        "Batch",
        "query($id: ID!) { devices(filter: {batchId: $id}) { totalCount nodes { serialNumber } } }",
        lambda t, x: {"id": x},
        root="devices",
    ),
    # key downloads: another tenant's device, product type or batch selects nothing, like an unknown one
    Case(
        "Mutation.keyDownloadCreate(input.deviceIds)",
        "Device",
        mutation("keyDownloadCreate", "KeyDownloadCreateInput", "keyDownload { deviceCount keyCount } url"),
        lambda t, x: {"input": {"deviceIds": [x]}},
        root="keyDownloadCreate",
    ),
    Case(
        "Mutation.keyDownloadCreate(input.filter.productTypeId)",
        "ProductType",
        mutation("keyDownloadCreate", "KeyDownloadCreateInput", "keyDownload { deviceCount keyCount }"),
        lambda t, x: {"input": {"filter": {"productTypeId": x}}},
        root="keyDownloadCreate",
    ),
    Case(
        "Mutation.keyDownloadCreate(input.filter.batchId)",
        "Batch",
        mutation("keyDownloadCreate", "KeyDownloadCreateInput", "keyDownload { deviceCount keyCount }"),
        lambda t, x: {"input": {"filter": {"batchId": x}}},
        root="keyDownloadCreate",
    ),
    # remote access: another tenant's organisation, router or location reads like an unknown one
    Case(
        "Mutation.locationCreate(input.organisationId)",
        "Organisation",
        mutation("locationCreate", "LocationCreateInput", "location { name }"),
        lambda t, x: {"input": {"name": "New place", "organisationId": x}},
        root="locationCreate",
    ),
    Case(
        "Mutation.locationCreate(input.routerId)",
        "Router",
        mutation("locationCreate", "LocationCreateInput", "location { name router { commonName } }"),
        lambda t, x: {"input": {"name": "New place", "routerId": x}},
        root="locationCreate",
    ),
    Case(
        "Mutation.locationUpdate(input.id)",
        "Location",
        mutation("locationUpdate", "LocationUpdateInput", "location { name }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed"}},
        root="locationUpdate",
    ),
    Case(
        "Mutation.locationDelete(input.id)",
        "Location",
        mutation("locationDelete", "LocationDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="locationDelete",
    ),
    Case(
        "Mutation.locationAssignRouter(input.locationId)",
        "Location",
        mutation("locationAssignRouter", "LocationAssignRouterInput", "location { name router { commonName } }"),
        lambda t, x: {"input": {"locationId": x, "routerId": None}},
        root="locationAssignRouter",
    ),
    Case(
        "Mutation.locationAssignRouter(input.routerId)",
        "Router",
        mutation("locationAssignRouter", "LocationAssignRouterInput", "location { name router { commonName } }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "routerId": x}},
        root="locationAssignRouter",
    ),
    Case(
        "Mutation.locationPin(input.locationId)",
        "Location",
        mutation("locationPin", "LocationPinInput", "location { name pinned }"),
        lambda t, x: {"input": {"locationId": x, "pinned": True}},
        root="locationPin",
    ),
    # devices behind a router and device templates
    Case(
        "Mutation.locationDeviceCreate(input.locationId)",
        "Location",
        mutation("locationDeviceCreate", "LocationDeviceCreateInput", "device { name }"),
        lambda t, x: {"input": {"locationId": x, "name": "Planted", "ipAddress": "10.0.0.1"}},
        root="locationDeviceCreate",
    ),
    Case(
        "Mutation.locationDeviceUpdate(input.id)",
        "LocationDevice",
        mutation("locationDeviceUpdate", "LocationDeviceUpdateInput", "device { name ipAddress }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "ipAddress": "10.0.0.2"}},
        root="locationDeviceUpdate",
    ),
    Case(
        "Mutation.locationDeviceDelete(input.id)",
        "LocationDevice",
        mutation("locationDeviceDelete", "LocationDeviceDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="locationDeviceDelete",
    ),
    Case(
        "Query.deviceTemplates(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { deviceTemplates(filter: {organisationId: $id}) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="deviceTemplates",
    ),
    Case(
        "Mutation.deviceTemplateCreate(input.organisationId)",
        "Organisation",
        mutation("deviceTemplateCreate", "DeviceTemplateCreateInput", "deviceTemplate { name }"),
        lambda t, x: {"input": {"name": "Planted", "ipAddress": "10.0.0.1", "organisationId": x}},
        root="deviceTemplateCreate",
    ),
    Case(
        "Mutation.deviceTemplateCreate(input.fromDeviceId)",
        "LocationDevice",
        mutation("deviceTemplateCreate", "DeviceTemplateCreateInput", "deviceTemplate { name ipAddress }"),
        lambda t, x: {"input": {"fromDeviceId": x}},
        root="deviceTemplateCreate",
    ),
    Case(
        "Mutation.deviceTemplateUpdate(input.id)",
        "DeviceTemplate",
        mutation("deviceTemplateUpdate", "DeviceTemplateUpdateInput", "deviceTemplate { name inactive }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "inactive": True}},
        root="deviceTemplateUpdate",
    ),
    Case(
        "Mutation.deviceTemplateDelete(input.id)",
        "DeviceTemplate",
        mutation("deviceTemplateDelete", "DeviceTemplateDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="deviceTemplateDelete",
    ),
    Case(
        "Mutation.locationApplyDeviceTemplate(input.locationId)",
        "Location",
        mutation("locationApplyDeviceTemplate", "LocationApplyDeviceTemplateInput", "device { name ipAddress }"),
        lambda t, x: {"input": {"locationId": x, "templateId": t.id("DeviceTemplate", "a")}},
        root="locationApplyDeviceTemplate",
    ),
    Case(
        "Mutation.locationApplyDeviceTemplate(input.templateId)",
        "DeviceTemplate",
        mutation("locationApplyDeviceTemplate", "LocationApplyDeviceTemplateInput", "device { name ipAddress }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "templateId": x}},
        root="locationApplyDeviceTemplate",
    ),
    # access: location grants, location groups, external users, effective access
    Case("Query.node(id)", "LocationGroup", NODE, lambda t, x: {"id": x}, root="node", label="LocationGroup"),
    Case(
        "Query.nodes(ids)",
        "LocationGroup",
        NODES,
        lambda t, x: {"ids": [t.id("LocationGroup", "a"), x]},
        root="nodes",
        label="LocationGroup",
    ),
    Case(
        "Mutation.locationAccessSet(input.locationId)",
        "Location",
        mutation("locationAccessSet", "LocationAccessSetInput", "location { name users { email } }"),
        lambda t, x: {"input": {"locationId": x, "userIds": [], "userGroupIds": []}},
        root="locationAccessSet",
    ),
    Case(
        "Mutation.locationAccessSet(input.userIds)",
        "User",
        mutation("locationAccessSet", "LocationAccessSetInput", "location { name users { email } }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "userIds": [x]}},
        root="locationAccessSet",
    ),
    Case(
        "Mutation.locationAccessSet(input.userGroupIds)",
        "UserGroup",
        mutation("locationAccessSet", "LocationAccessSetInput", "location { name userGroups { name } }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "userGroupIds": [x]}},
        root="locationAccessSet",
    ),
    Case(
        "Mutation.locationGroupCreate(input.organisationId)",
        "Organisation",
        mutation("locationGroupCreate", "LocationGroupCreateInput", "locationGroup { name }"),
        lambda t, x: {"input": {"name": "Planted", "organisationId": x}},
        root="locationGroupCreate",
    ),
    Case(
        "Mutation.locationGroupCreate(input.locationIds)",
        "Location",
        mutation("locationGroupCreate", "LocationGroupCreateInput", "locationGroup { name locations { name } }"),
        lambda t, x: {"input": {"name": "Planted", "locationIds": [x]}},
        root="locationGroupCreate",
    ),
    Case(
        "Mutation.locationGroupCreate(input.userIds)",
        "User",
        mutation("locationGroupCreate", "LocationGroupCreateInput", "locationGroup { name users { email } }"),
        lambda t, x: {"input": {"name": "Planted", "userIds": [x]}},
        root="locationGroupCreate",
    ),
    Case(
        "Mutation.locationGroupUpdate(input.id)",
        "LocationGroup",
        mutation("locationGroupUpdate", "LocationGroupUpdateInput", "locationGroup { name users { email } }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "userIds": []}},
        root="locationGroupUpdate",
    ),
    Case(
        "Mutation.locationGroupUpdate(input.locationIds)",
        "Location",
        mutation("locationGroupUpdate", "LocationGroupUpdateInput", "locationGroup { locations { name } }"),
        lambda t, x: {"input": {"id": t.id("LocationGroup", "a"), "locationIds": [x]}},
        root="locationGroupUpdate",
    ),
    Case(
        "Mutation.locationGroupUpdate(input.userIds)",
        "User",
        mutation("locationGroupUpdate", "LocationGroupUpdateInput", "locationGroup { users { email } }"),
        lambda t, x: {"input": {"id": t.id("LocationGroup", "a"), "userIds": [x]}},
        root="locationGroupUpdate",
    ),
    Case(
        "Mutation.locationGroupDelete(input.id)",
        "LocationGroup",
        mutation("locationGroupDelete", "LocationGroupDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="locationGroupDelete",
    ),
    Case(
        "Query.locationGroups(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { locationGroups(filter: {organisationId: $id}) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="locationGroups",
    ),
    Case(
        "Mutation.externalUserAdd(input.organisationId)",
        "Organisation",
        mutation("externalUserAdd", "ExternalUserAddInput", "invitation { email organisation { name } }"),
        lambda t, x: {"input": {"email": "user@b.example", "organisationId": x}},
        root="externalUserAdd",
    ),
    Case(
        "Query.externalUserInvitations(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { externalUserInvitations(filter: {organisationId: $id}) { totalCount nodes { email } } }",
        lambda t, x: {"id": x},
        root="externalUserInvitations",
    ),
    # invitations addressed to a user of A's (accepted or declined by A's admin: the control calls)
    Case(
        "Mutation.externalUserInvitationAccept(input.id)",
        "ExternalUserInvitation",
        mutation("externalUserInvitationAccept", "ExternalUserInvitationIdInput", "externalUser { user { email } }"),
        lambda t, x: {"input": {"id": x}},
        root="externalUserInvitationAccept",
    ),
    Case(
        "Mutation.externalUserInvitationDelete(input.id)",
        "ExternalUserInvitation",
        mutation("externalUserInvitationDelete", "ExternalUserInvitationIdInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="externalUserInvitationDelete",
    ),
    Case(
        "Query.node(id)",
        "ExternalUserInvitation",
        NODE,
        lambda t, x: {"id": x},
        root="node",
        label="ExternalUserInvitation",
    ),
    Case(
        "Query.nodes(ids)",
        "ExternalUserInvitation",
        NODES,
        lambda t, x: {"ids": [t.id("ExternalUserInvitation", "a"), x]},
        root="nodes",
        label="ExternalUserInvitation",
    ),
    Case(
        "Mutation.externalUserRemove(input.userId)",
        "ExternalUser",
        mutation("externalUserRemove", "ExternalUserRemoveInput", "removedUserId"),
        lambda t, x: {"input": {"userId": x}},
        root="externalUserRemove",
    ),
    Case(
        "Mutation.externalUserRemove(input.organisationId)",
        "Organisation",
        mutation("externalUserRemove", "ExternalUserRemoveInput", "removedUserId"),
        lambda t, x: {"input": {"userId": t.id("ExternalUser", "a"), "organisationId": x}},
        root="externalUserRemove",
    ),
    Case(
        "Query.externalUsers(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { externalUsers(filter: {organisationId: $id}) { totalCount nodes { user { email } } } }",
        lambda t, x: {"id": x},
        root="externalUsers",
    ),
    Case(
        "Query.effectiveLocationAccess(userId)",
        "User",
        "query($id: ID!) { effectiveLocationAccess(userId: $id) { totalCount nodes { location { name } via } } }",
        lambda t, x: {"id": x},
        root="effectiveLocationAccess",
    ),
    # connections (part: connections). A's placed router is offline: the control connect answers ROUTER_OFFLINE
    # (a result, no input error), so it reached the location and device.
    Case(
        "Mutation.routerConnect(input.locationId)",
        "Location",
        mutation("routerConnect", "RouterConnectInput", "result connection { id }"),
        lambda t, x: {"input": {"locationId": x}},
        root="routerConnect",
    ),
    Case(
        "Mutation.routerConnect(input.deviceId)",
        "LocationDevice",
        mutation("routerConnect", "RouterConnectInput", "result connection { id }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "deviceId": x}},
        root="routerConnect",
    ),
    # a manager ends a connection at a location of the subtree (the control: A's user's)
    Case(
        "Mutation.routerDisconnect(input.connectionId)",
        "RemoteConnection",
        mutation("routerDisconnect", "RouterDisconnectInput", "result connection { routerCommonName endReason }"),
        lambda t, x: {"input": {"connectionId": x}},
        root="routerDisconnect",
    ),
    # not found reads as null like an unknown organisation; `maxActive` stands in for the count of "reached"
    Case(
        "Query.connectionLicence(organisationId)",
        "Organisation",
        "query($id: ID) { connectionLicence(organisationId: $id) { totalCount: maxActive active } }",
        lambda t, x: {"id": x},
        root="connectionLicence",
    ),
    Case("Query.node(id)", "RemoteConnection", NODE, lambda t, x: {"id": x}, root="node", label="RemoteConnection"),
    Case(
        "Query.nodes(ids)",
        "RemoteConnection",
        NODES,
        lambda t, x: {"ids": [t.id("RemoteConnection", "a"), x]},
        root="nodes",
        label="RemoteConnection",
    ),
    # notification profiles (part: notifications): another tenant's profile, user, location or location group
    Case(
        "Query.node(id)", "NotificationProfile", NODE, lambda t, x: {"id": x}, root="node", label="NotificationProfile"
    ),
    Case(
        "Query.nodes(ids)",
        "NotificationProfile",
        NODES,
        lambda t, x: {"ids": [t.id("NotificationProfile", "a"), x]},
        root="nodes",
        label="NotificationProfile",
    ),
    Case(
        "Mutation.notificationProfileCreate(input.organisationId)",
        "Organisation",
        mutation("notificationProfileCreate", "NotificationProfileCreateInput", "notificationProfile { name }"),
        lambda t, x: {"input": {"name": "Planted", "offlineMinutes": 5, "organisationId": x}},
        root="notificationProfileCreate",
    ),
    Case(
        "Mutation.notificationProfileCreate(input.userIds)",
        "User",
        mutation(
            "notificationProfileCreate", "NotificationProfileCreateInput", "notificationProfile { users { email } }"
        ),
        lambda t, x: {"input": {"name": "Spies", "offlineMinutes": 5, "userIds": [x]}},
        root="notificationProfileCreate",
    ),
    Case(
        "Mutation.notificationProfileCreate(input.locationIds)",
        "Location",
        mutation(
            "notificationProfileCreate", "NotificationProfileCreateInput", "notificationProfile { locations { name } }"
        ),
        lambda t, x: {"input": {"name": "Spies", "offlineMinutes": 5, "locationIds": [x]}},
        root="notificationProfileCreate",
    ),
    Case(
        "Mutation.notificationProfileCreate(input.locationGroupIds)",
        "LocationGroup",
        mutation(
            "notificationProfileCreate",
            "NotificationProfileCreateInput",
            "notificationProfile { locationGroups { name } }",
        ),
        lambda t, x: {"input": {"name": "Spies", "offlineMinutes": 5, "locationGroupIds": [x]}},
        root="notificationProfileCreate",
    ),
    Case(
        "Mutation.notificationProfileUpdate(input.id)",
        "NotificationProfile",
        mutation(
            "notificationProfileUpdate", "NotificationProfileUpdateInput", "notificationProfile { name offlineMinutes }"
        ),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "offlineMinutes": 5, "emails": ["spy@example.org"]}},
        root="notificationProfileUpdate",
    ),
    Case(
        "Mutation.notificationProfileUpdate(input.userIds)",
        "User",
        mutation(
            "notificationProfileUpdate", "NotificationProfileUpdateInput", "notificationProfile { users { email } }"
        ),
        lambda t, x: {"input": {"id": t.id("NotificationProfile", "a"), "userIds": [x]}},
        root="notificationProfileUpdate",
    ),
    Case(
        "Mutation.notificationProfileUpdate(input.locationIds)",
        "Location",
        mutation(
            "notificationProfileUpdate", "NotificationProfileUpdateInput", "notificationProfile { locations { name } }"
        ),
        lambda t, x: {"input": {"id": t.id("NotificationProfile", "a"), "locationIds": [x]}},
        root="notificationProfileUpdate",
    ),
    Case(
        "Mutation.notificationProfileUpdate(input.locationGroupIds)",
        "LocationGroup",
        mutation(
            "notificationProfileUpdate",
            "NotificationProfileUpdateInput",
            "notificationProfile { locationGroups { name } }",
        ),
        lambda t, x: {"input": {"id": t.id("NotificationProfile", "a"), "locationGroupIds": [x]}},
        root="notificationProfileUpdate",
    ),
    Case(
        "Mutation.notificationProfileDelete(input.id)",
        "NotificationProfile",
        mutation("notificationProfileDelete", "NotificationProfileDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="notificationProfileDelete",
    ),
    Case(
        "Query.auditEvents(filter.locationId)",
        "Location",
        "query($id: ID) { auditEvents(first: 5, filter: {locationId: $id}) { totalCount nodes { action } } }",
        lambda t, x: {"id": x},
        root="auditEvents",
    ),
    Case(
        "Mutation.dataMonitoringActivate(input.locationId)",
        "Location",
        mutation("dataMonitoringActivate", "DataMonitoringActivateInput", "monitoredLocation { cloudHost }"),
        lambda t, x: {"input": {"locationId": x}},
        root="dataMonitoringActivate",
    ),
    Case(
        "Mutation.dataMonitoringUpdate(input.locationId)",
        "MonitoredLocation",
        mutation("dataMonitoringUpdate", "DataMonitoringUpdateInput", "monitoredLocation { cloudHost }"),
        lambda t, x: {"input": {"locationId": x, "cloudHost": "DOCKERS"}},
        root="dataMonitoringUpdate",
    ),
    Case(
        "Mutation.dataMonitoringDeactivate(input.locationId)",
        "MonitoredLocation",
        mutation("dataMonitoringDeactivate", "DataMonitoringLocationInput", "locationId"),
        lambda t, x: {"input": {"locationId": x}},
        root="dataMonitoringDeactivate",
    ),
    Case(
        "Mutation.dataMonitoringUpload(input.locationId)",
        "MonitoredLocation",
        mutation("dataMonitoringUpload", "DataMonitoringLocationInput", "monitoredLocation { configurationState }"),
        lambda t, x: {"input": {"locationId": x}},
        root="dataMonitoringUpload",
    ),
    Case(
        "Mutation.datalogDiscover(input.locationId)",
        "MonitoredLocation",
        mutation("datalogDiscover", "DatalogDiscoverInput", "result { registers { register } }"),
        lambda t, x: {"input": {"locationId": x, "action": "MODBUS_READ", "settings": DATALOG_MODBUS}},
        root="datalogDiscover",
    ),
    Case(
        "Mutation.datalogDiscover(input.datalogDeviceId)",
        "DatalogDevice",
        mutation("datalogDiscover", "DatalogDiscoverInput", "result { registers { register } }"),
        lambda t, x: {
            "input": {
                "locationId": t.ids["MonitoredLocation"]["a"],
                "action": "MODBUS_READ",
                "settings": DATALOG_MODBUS,
                "datalogDeviceId": x,
            }
        },
        root="datalogDiscover",
    ),
    Case(
        "Mutation.datalogDeviceCreate(input.locationDeviceId)",
        "LocationDevice",
        mutation("datalogDeviceCreate", "DatalogDeviceCreateInput", "datalogDevice { name }"),
        lambda t, x: {"input": {"locationDeviceId": x, "name": "Spy", "settings": DATALOG_MODBUS, "variables": []}},
        root="datalogDeviceCreate",
    ),
    Case(
        "Mutation.datalogDeviceCreate(input.deviceTemplateId)",
        "DeviceTemplate",
        mutation("datalogDeviceCreate", "DatalogDeviceCreateInput", "datalogDevice { name }"),
        lambda t, x: {"input": {"deviceTemplateId": x, "name": "Spy", "settings": DATALOG_MODBUS, "variables": []}},
        root="datalogDeviceCreate",
    ),
    Case(
        "Mutation.datalogDeviceUpdate(input.id)",
        "DatalogDevice",
        mutation("datalogDeviceUpdate", "DatalogDeviceUpdateInput", "datalogDevice { name }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed"}},
        root="datalogDeviceUpdate",
    ),
    Case(
        "Mutation.datalogDeviceDelete(input.id)",
        "DatalogDevice",
        mutation("datalogDeviceDelete", "DatalogDeviceDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="datalogDeviceDelete",
    ),
    Case(
        "Mutation.graphicCreate(input.locationId)",
        "Location",
        mutation("graphicCreate", "GraphicCreateInput", "graphic { name }"),
        lambda t, x: {"input": {"locationId": x, "name": "Spy", "svg": TENANCY_SVG}},
        root="graphicCreate",
    ),
    Case(
        "Mutation.graphicUpdate(input.id)",
        "Graphic",
        mutation("graphicUpdate", "GraphicUpdateInput", "graphic { name }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed"}},
        root="graphicUpdate",
    ),
    Case(
        "Mutation.graphicDelete(input.id)",
        "Graphic",
        mutation("graphicDelete", "GraphicDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="graphicDelete",
    ),
    # alarm profiles and alarms (monitoring): another tenant's profile, alarm, location or location group
    *[
        case
        for kind in ("AlarmProfile", "Alarm")
        for case in (
            Case("Query.node(id)", kind, NODE, lambda t, x: {"id": x}, root="node", label=kind),
            Case(
                "Query.nodes(ids)",
                kind,
                NODES,
                lambda t, x, kind=kind: {"ids": [t.id(kind, "a"), x]},
                root="nodes",
                label=kind,
            ),
        )
    ],
    *[
        Case(
            f"Mutation.alarmProfileCreate(input.{field})",
            kind,
            mutation("alarmProfileCreate", "AlarmProfileCreateInput", "alarmProfile { name }"),
            lambda t, x, field=field, many=many: {"input": {**ALARM_PROFILE, field: [x] if many else x}},
            root="alarmProfileCreate",
        )
        for field, kind, many in (
            ("organisationId", "Organisation", False),
            ("locationIds", "Location", True),
            ("locationGroupIds", "LocationGroup", True),
        )
    ],
    *[
        Case(
            f"Mutation.alarmProfileUpdate(input.{field})",
            kind,
            mutation("alarmProfileUpdate", "AlarmProfileUpdateInput", "alarmProfile { name }"),
            lambda t, x, field=field: (
                {"input": {"id": x, "name": "Renamed"}}
                if field == "id"
                else {"input": {"id": t.id("AlarmProfile", "a"), field: [x]}}
            ),
            root="alarmProfileUpdate",
        )
        for field, kind in (("id", "AlarmProfile"), ("locationIds", "Location"), ("locationGroupIds", "LocationGroup"))
    ],
    Case(
        "Mutation.alarmProfileDelete(input.id)",
        "AlarmProfile",
        mutation("alarmProfileDelete", "AlarmProfileDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="alarmProfileDelete",
    ),
    *[
        Case(
            f"Mutation.{name}(input.id)",
            "Alarm",
            mutation(name, "AlarmHandleInput", "alarm { state }"),
            lambda t, x: {"input": {"id": x}},
            root=name,
        )
        for name in ("alarmAcknowledge", "alarmClear")
    ],
    *[
        Case(
            f"Query.{name}(filter.{field})",
            kind,
            f"query($ids: [ID!]) {{ {name}(filter: {{{field}: $ids}}) {{ {selection} }} }}",
            lambda t, x: {"ids": [x]},
            root=name,
        )
        for name, selection in (("alarms", "totalCount"), ("alarmCounts", "totalCount: total"))
        for field, kind in (("locationIds", "Location"), ("profileIds", "AlarmProfile"))
    ],
    # alarm notification settings: another tenant's user, organisation, profile or setting
    *[
        Case(
            f"Mutation.alarmNotificationSettingSet(input.{field})",
            kind,
            mutation("alarmNotificationSettingSet", "AlarmNotificationSettingSetInput", "setting { allProfiles }"),
            variables,
            root="alarmNotificationSettingSet",
        )
        for field, kind, variables in (
            ("userId", "User", lambda t, x: {"input": {"userId": x}}),
            (
                "organisationId",
                "Organisation",
                lambda t, x: {"input": {"userId": t.world.id("User", "user_a1"), "organisationId": x}},
            ),
            (
                "profileIds",
                "AlarmProfile",
                lambda t, x: {
                    "input": {"userId": t.world.id("User", "user_a"), "allProfiles": False, "profileIds": [x]}
                },
            ),
        )
    ],
    Case(
        "Mutation.alarmNotificationSettingRemove(input.id)",
        "AlarmNotificationSetting",
        mutation("alarmNotificationSettingRemove", "AlarmNotificationSettingRemoveInput", "removedId"),
        lambda t, x: {"input": {"id": x}},
        root="alarmNotificationSettingRemove",
    ),
    # telemetry (the tenancy fixture's series are on each tenant's location device)
    Case(
        "Mutation.telemetryIngest(input.locationId)",
        "Location",
        mutation("telemetryIngest", "TelemetryIngestInput", "stored"),
        lambda t, x: {"input": {"locationId": x, "points": [{"key": "level", "value": 1.5}]}},
        root="telemetryIngest",
    ),
    Case(
        "Mutation.telemetryIngest(input.points.deviceId)",
        "LocationDevice",
        mutation("telemetryIngest", "TelemetryIngestInput", "stored"),
        lambda t, x: {
            "input": {"locationId": t.id("Location", "a"), "points": [{"key": "k", "value": 1, "deviceId": x}]}
        },
        root="telemetryIngest",
    ),
    Case(
        "Mutation.telemetryIngest(input.series.deviceId)",
        "LocationDevice",
        mutation("telemetryIngest", "TelemetryIngestInput", "stored"),
        lambda t, x: {
            "input": {
                "locationId": t.id("Location", "a"),
                "series": [{"key": "k", "deviceId": x, "timestamps": [TELEMETRY_AT.isoformat()], "values": [2]}],
            }
        },
        root="telemetryIngest",
    ),
    Case(
        "Query.telemetryLatest(locationId)",
        "Location",
        "query($id: ID!) { telemetryLatest(locationId: $id) { totalCount nodes { key lastValue } } }",
        lambda t, x: {"id": x},
        root="telemetryLatest",
    ),
    Case(
        "Query.telemetryHistory(locationId)",
        "Location",
        TELEMETRY_HISTORY,
        lambda t, x: {"location": x, "device": t.id("LocationDevice", "a"), **TELEMETRY_PERIOD},
        root="telemetryHistory",
    ),
    Case(
        "Query.telemetryHistory(deviceId)",
        "LocationDevice",
        TELEMETRY_HISTORY,
        lambda t, x: {"location": t.id("Location", "a"), "device": x, **TELEMETRY_PERIOD},
        root="telemetryHistory",
    ),
    Case(
        "Mutation.telemetryTokenCreate(input.locationId)",
        "Location",
        mutation("telemetryTokenCreate", "TelemetryTokenCreateInput", "telemetryToken { name }"),
        lambda t, x: {"input": {"locationId": x, "name": "Spy"}},
        root="telemetryTokenCreate",
    ),
    Case(
        "Mutation.telemetryTokenRevoke(input.id)",
        "TelemetryToken",
        mutation("telemetryTokenRevoke", "TelemetryTokenRevokeInput", "telemetryToken { name }"),
        lambda t, x: {"input": {"id": x}},
        root="telemetryTokenRevoke",
    ),
    Case(
        "Query.telemetryTokens(locationId)",
        "Location",
        "query($id: ID!) { telemetryTokens(locationId: $id) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="telemetryTokens",
    ),
    Case(
        "Query.telemetryRetention(organisationId)",
        "Organisation",
        "query($id: ID!) { telemetryRetention(organisationId: $id) { totalCount: days isDefault } }",
        lambda t, x: {"id": x},
        root="telemetryRetention",
    ),
    Case(
        "Mutation.telemetryRetentionSet(input.organisationId)",
        "Organisation",
        mutation("telemetryRetentionSet", "TelemetryRetentionSetInput", "retention { days }"),
        lambda t, x: {"input": {"organisationId": x, "days": 30}},
        root="telemetryRetentionSet",
    ),
    # forwarding (issue 16)
    Case(
        "Query.forwardingTargets(locationIds)",
        "Location",
        "query($ids: [ID!]) { forwardingTargets(locationIds: $ids) { totalCount nodes { name } } }",
        lambda t, x: {"ids": [x]},
        root="forwardingTargets",
    ),
    Case(
        "Query.forwardingDeliveries(targetId)",
        "ForwardingTarget",
        "query($id: ID!) { forwardingDeliveries(targetId: $id) { totalCount nodes { idempotencyKey state } } }",
        lambda t, x: {"id": x},
        root="forwardingDeliveries",
    ),
    Case(
        "Mutation.forwardingTargetCreate(input.locationId)",
        "Location",
        mutation("forwardingTargetCreate", "ForwardingTargetCreateInput", "forwardingTarget { name }"),
        lambda t, x: {
            "input": {
                "locationId": x,
                "name": "Spy",
                "platform": "INFLUXDB",
                "values": [{"key": "temperature"}],
                "influxdb": {"url": "http://127.0.0.1:9", "organisation": "o", "bucket": "b", "token": "t"},
            }
        },
        root="forwardingTargetCreate",
    ),
    Case(
        "Mutation.forwardingTargetUpdate(input.id)",
        "ForwardingTarget",
        mutation("forwardingTargetUpdate", "ForwardingTargetUpdateInput", "forwardingTarget { name enabled }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed", "enabled": False}},
        root="forwardingTargetUpdate",
    ),
    Case(
        "Mutation.forwardingTargetDelete(input.id)",
        "ForwardingTarget",
        mutation("forwardingTargetDelete", "ForwardingTargetDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="forwardingTargetDelete",
    ),
    Case(
        "Mutation.forwardingDeliveryRetry(input.targetId)",
        "ForwardingTarget",
        mutation("forwardingDeliveryRetry", "ForwardingDeliveryRetryInput", "forwardingDelivery { state }"),
        lambda t, x: {"input": {"targetId": x, "idempotencyKey": "tenancy-a"}},
        root="forwardingDeliveryRetry",
    ),
    # metering readings (issue 17, part: readings): another tenant's metering point or gateway token, or an
    # organisation outside the subtree, reads like an unknown one
    Case(
        "Query.meteringPointReadings(meteringPointId)",
        "MeteredPoint",
        "query($id: ID!) { meteringPointReadings(meteringPointId: $id) { totalCount: count values } }",
        lambda t, x: {"id": x},
        root="meteringPointReadings",
    ),
    Case(
        "Query.meterGatewayTokens(organisationId)",
        "Organisation",
        "query($id: ID) { meterGatewayTokens(organisationId: $id) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="meterGatewayTokens",
    ),
    Case(
        "Mutation.meterGatewayTokenCreate(input.organisationId)",
        "Organisation",
        mutation("meterGatewayTokenCreate", "MeterGatewayTokenCreateInput", "meterGatewayToken { name }"),
        lambda t, x: {"input": {"organisationId": x, "name": "LNS"}},
        root="meterGatewayTokenCreate",
    ),
    Case(
        "Mutation.meterGatewayTokenRevoke(input.id)",
        "MeterGatewayToken",
        mutation("meterGatewayTokenRevoke", "MeterGatewayTokenRevokeInput", "meterGatewayToken { name }"),
        lambda t, x: {"input": {"id": x}},
        root="meterGatewayTokenRevoke",
    ),
    # --- accounts (issue 17): a user's contact addresses are theirs alone ---
    Case(
        "Mutation.contactEmailResend(input.id)",
        "ContactEmail",
        mutation("contactEmailResend", "ContactEmailIdInput", "contactEmail { id email }"),
        lambda t, x: {"input": {"id": x}},
        root="contactEmailResend",
    ),
    Case(
        "Mutation.contactEmailRemove(input.id)",
        "ContactEmail",
        mutation("contactEmailRemove", "ContactEmailIdInput", "contactEmail { id email }"),
        lambda t, x: {"input": {"id": x}},
        root="contactEmailRemove",
    ),
    # --- issue 19: a user's federated identities, seen and unlinked within reach ---
    Case(
        "Mutation.federatedIdentityUnlink(input.id)",
        "FederatedIdentity",
        mutation("federatedIdentityUnlink", "FederatedIdentityUnlinkInput", "unlinkedId"),
        lambda t, x: {"input": {"id": x}},
        root="federatedIdentityUnlink",
    ),
]

ALARM_PROFILE = {
    "name": "Planted",
    "severity": "LOW",
    "activationFilters": [{"key": "t", "condition": "GT", "value": 1}],
    "clearingFilters": [{"key": "t", "condition": "LT", "value": 1}],
}

# metering points (issue 17, part: metering points)
CASES += [
    Case(
        "Query.meteringPoints(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { meteringPoints(filter: {organisationId: $id}) { totalCount nodes { roomName } } }",
        lambda t, x: {"id": x},
        root="meteringPoints",
    ),
    Case(
        "Mutation.meteringPointUpdate(input.id)",
        "MeteringPoint",
        mutation("meteringPointUpdate", "MeteringPointUpdateInput", "meteringPoint { roomName }"),
        lambda t, x: {"input": {"id": x, "roomName": "Renamed", "timeZone": "Europe/Berlin"}},
        root="meteringPointUpdate",
    ),
    Case(
        "Mutation.meteringPointDelete(input.id)",
        "MeteringPoint",
        mutation("meteringPointDelete", "MeteringPointDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="meteringPointDelete",
    ),
    Case(
        "Mutation.meterBind(input.meteringPointId)",
        "MeteringPoint",
        mutation("meterBind", "MeterBindInput", "meteringPoint { meter { displayName } }"),
        lambda t, x: {"input": {"meteringPointId": x, "serialNumber": "33100050", "pin": METER_PIN}},
        root="meterBind",
    ),
    Case(
        "Mutation.meterUnbind(input.meteringPointId)",
        "MeteringPoint",
        mutation("meterUnbind", "MeterUnbindInput", "meteringPoint { roomName }"),
        lambda t, x: {"input": {"meteringPointId": x}},
        root="meterUnbind",
    ),
]

# metering integrations (issue 17, part: integrations): another tenant's metering point or integration reads like
# an unknown one (lists are empty, mutations answer NOT_FOUND)
CASES += [
    Case(
        "Query.integrations(meteringPointId)",
        "MeteringPoint",
        "query($id: ID!) { integrations(meteringPointId: $id) { totalCount nodes { kind } } }",
        lambda t, x: {"id": x},
        root="integrations",
    ),
    Case(
        "Query.integrationRuns(integrationId)",
        "Integration",
        "query($id: ID!) { integrationRuns(integrationId: $id) { totalCount nodes { status } } }",
        lambda t, x: {"id": x},
        root="integrationRuns",
    ),
    Case(
        "Mutation.integrationCreate(input.meteringPointId)",
        "MeteringPoint",
        mutation("integrationCreate", "IntegrationCreateInput", "integration { kind }"),
        lambda t, x: {
            "input": {
                "meteringPointId": x,
                "kind": "EMAIL",
                "nextTransferDate": "2030-02-20",
                "periodicity": "WEEKLY",
                "email": {"recipient": "uk@management.example"},
            }
        },
        root="integrationCreate",
    ),
    Case(
        "Mutation.integrationUpdate(input.id)",
        "Integration",
        mutation("integrationUpdate", "IntegrationUpdateInput", "integration { periodicity }"),
        lambda t, x: {"input": {"id": x, "periodicity": "DAILY"}},
        root="integrationUpdate",
    ),
    Case(
        "Mutation.integrationDelete(input.id)",
        "Integration",
        mutation("integrationDelete", "IntegrationIdInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="integrationDelete",
    ),
    Case(
        "Mutation.integrationSynchronise(input.id)",
        "Integration",
        mutation("integrationSynchronise", "IntegrationIdInput", "result"),
        lambda t, x: {"input": {"id": x}},
        root="integrationSynchronise",
    ),
]

# metering notifications (issue 17, part: notifications): the bell of a point one sees
CASES += [
    Case(
        "Mutation.meteringPointSubscribe(input.meteringPointId)",
        "MeteringPoint",
        mutation("meteringPointSubscribe", "MeteringPointSubscriptionInput", "meteringPoint { subscribed }"),
        lambda t, x: {"input": {"meteringPointId": x}},
        root="meteringPointSubscribe",
    ),
    Case(
        "Mutation.meteringPointUnsubscribe(input.meteringPointId)",
        "MeteringPoint",
        mutation("meteringPointUnsubscribe", "MeteringPointSubscriptionInput", "meteringPoint { subscribed }"),
        lambda t, x: {"input": {"meteringPointId": x}},
        root="meteringPointUnsubscribe",
    ),
]

# cases (issue 18): another tenant's case, call, status, activity type, location, device, user or organisation
# reads like an unknown one (lists are empty, mutations answer NOT_FOUND)
CASE_A = {"durationMinutes": 5}
CASES += [
    Case(
        "Query.cases(filter.locationId)",
        "Location",
        "query($id: ID!) { cases(filter: {locationId: $id}) { totalCount nodes { description } } }",
        lambda t, x: {"id": x},
        root="cases",
    ),
    Case(
        "Query.cases(filter.deviceId)",
        "LocationDevice",
        "query($id: ID!) { cases(filter: {deviceId: $id}) { totalCount nodes { description } } }",
        lambda t, x: {"id": x},
        root="cases",
    ),
    Case(
        "Query.cases(filter.statusIds)",
        "UsedCaseStatus",
        "query($id: ID!) { cases(filter: {statusIds: [$id]}) { totalCount nodes { description } } }",
        lambda t, x: {"id": x},
        root="cases",
    ),
    *[
        Case(
            f"Query.calls(filter.{name})",
            kind,
            f"query($id: ID!) {{ calls(filter: {{{name}: $id}}) {{ totalCount nodes {{ durationMinutes }} }} }}",
            lambda t, x: {"id": x},
            root="calls",
        )
        for name, kind in (
            ("locationId", "Location"),
            ("deviceId", "LocationDevice"),
            ("activityTypeId", "UsedActivityType"),
            ("statusId", "UsedCaseStatus"),
            ("userId", "User"),
        )
    ],
    *[
        Case(
            f"Query.{root}(organisationId)",
            "Organisation",
            f"query($id: ID!) {{ {root}(organisationId: $id) {{ totalCount nodes {{ name }} }} }}",
            lambda t, x: {"id": x},
            root=root,
        )
        for root in ("caseStatuses", "activityTypes")
    ],
    Case(
        "Mutation.caseCreate(input.locationId)",
        "Location",
        mutation("caseCreate", "CaseCreateInput", "case { description }"),
        lambda t, x: {"input": {"locationId": x}},
        root="caseCreate",
    ),
    Case(
        "Mutation.caseCreate(input.deviceId)",
        "LocationDevice",
        mutation("caseCreate", "CaseCreateInput", "case { description }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "deviceId": x}},
        root="caseCreate",
    ),
    Case(
        "Mutation.caseCreate(input.statusId)",
        "CaseStatus",
        mutation("caseCreate", "CaseCreateInput", "case { description }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "statusId": x}},
        root="caseCreate",
    ),
    Case(
        "Mutation.caseUpdate(input.id)",
        "Case",
        mutation("caseUpdate", "CaseUpdateInput", "case { description }"),
        lambda t, x: {"input": {"id": x, "description": "Renamed"}},
        root="caseUpdate",
    ),
    Case(
        "Mutation.caseUpdate(input.deviceId)",
        "LocationDevice",
        mutation("caseUpdate", "CaseUpdateInput", "case { description }"),
        lambda t, x: {"input": {"id": t.id("Case", "a"), "deviceId": x}},
        root="caseUpdate",
    ),
    Case(
        "Mutation.caseUpdate(input.statusId)",
        "CaseStatus",
        mutation("caseUpdate", "CaseUpdateInput", "case { description }"),
        lambda t, x: {"input": {"id": t.id("Case", "a"), "statusId": x}},
        root="caseUpdate",
    ),
    Case(
        "Mutation.callCreate(input.caseId)",
        "Case",
        mutation("callCreate", "CallCreateInput", "call { durationMinutes }"),
        lambda t, x: {"input": {"caseId": x, "activityTypeId": t.id("ActivityType", "a"), **CASE_A}},
        root="callCreate",
    ),
    Case(
        "Mutation.callCreate(input.activityTypeId)",
        "ActivityType",
        mutation("callCreate", "CallCreateInput", "call { durationMinutes }"),
        lambda t, x: {"input": {"caseId": t.id("Case", "a"), "activityTypeId": x, **CASE_A}},
        root="callCreate",
    ),
    Case(
        "Mutation.callCreate(input.statusId)",
        "CaseStatus",
        mutation("callCreate", "CallCreateInput", "call { durationMinutes }"),
        lambda t, x: {
            "input": {"caseId": t.id("Case", "a"), "activityTypeId": t.id("ActivityType", "a"), "statusId": x, **CASE_A}
        },
        root="callCreate",
    ),
    Case(
        "Mutation.callUpdate(input.id)",
        "CaseCall",
        mutation("callUpdate", "CallUpdateInput", "call { durationMinutes }"),
        lambda t, x: {"input": {"id": x, "durationMinutes": 7}},
        root="callUpdate",
    ),
    Case(
        "Mutation.callUpdate(input.activityTypeId)",
        "ActivityType",
        mutation("callUpdate", "CallUpdateInput", "call { durationMinutes }"),
        lambda t, x: {"input": {"id": t.id("CaseCall", "a"), "activityTypeId": x}},
        root="callUpdate",
    ),
    Case(
        "Mutation.callUpdate(input.statusId)",
        "CaseStatus",
        mutation("callUpdate", "CallUpdateInput", "call { durationMinutes }"),
        lambda t, x: {"input": {"id": t.id("CaseCall", "a"), "statusId": x}},
        root="callUpdate",
    ),
    *[
        Case(
            f"Mutation.{name}Create(input.organisationId)",
            "Organisation",
            mutation(f"{name}Create", f"{name[0].upper()}{name[1:]}CreateInput", f"{name} {{ name }}"),
            lambda t, x: {"input": {"organisationId": x, "name": "New one"}},
            root=f"{name}Create",
        )
        for name in ("caseStatus", "activityType")
    ],
    *[
        Case(
            f"Mutation.{name}Update(input.id)",
            kind,
            mutation(f"{name}Update", f"{name[0].upper()}{name[1:]}UpdateInput", f"{name} {{ name }}"),
            lambda t, x: {"input": {"id": x, "name": "Renamed"}},
            root=f"{name}Update",
        )
        for name, kind in (("caseStatus", "CaseStatus"), ("activityType", "ActivityType"))
    ],
    *[
        Case(
            f"Mutation.{name}Delete(input.id)",
            kind,
            mutation(f"{name}Delete", "CaseSettingDeleteInput", "deletedId"),
            lambda t, x: {"input": {"id": x}},
            root=f"{name}Delete",
        )
        for name, kind in (("caseStatus", "CaseStatus"), ("activityType", "ActivityType"))
    ],
]

# issue 18 (serial): serial devices and their templates, configuration groups, template links, router rename
SERIAL_SETTINGS = {
    "protocol": "MODBUS_RTU",
    "baudRate": 19200,
    "dataBits": 8,
    "stopBits": "ONE",
    "parity": "EVEN",
    "serialMode": "RS232",
}
CASES += [
    *(
        Case(argument, kind, document, variables, root=root, label=kind)
        for kind in ("LocationSerialDevice", "SerialDeviceTemplate", "ConfigurationGroup")
        for argument, document, variables, root in (
            ("Query.node(id)", NODE, lambda t, x: {"id": x}, "node"),
            ("Query.nodes(ids)", NODES, lambda t, x, kind=kind: {"ids": [t.id(kind, "a"), x]}, "nodes"),
        )
    ),
    Case(
        "Query.locationSerialDevices(locationId)",
        "Location",
        "query($id: ID!) { locationSerialDevices(locationId: $id) { totalCount nodes { name baudRate } } }",
        lambda t, x: {"id": x},
        root="locationSerialDevices",
    ),
    Case(
        "Query.serialDeviceTemplates(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { serialDeviceTemplates(filter: {organisationId: $id}) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="serialDeviceTemplates",
    ),
    Case(
        "Mutation.locationSerialDeviceCreate(input.locationId)",
        "Location",
        mutation("locationSerialDeviceCreate", "LocationSerialDeviceCreateInput", "serialDevice { name }"),
        lambda t, x: {"input": {"locationId": x, "name": "Planted", **SERIAL_SETTINGS}},
        root="locationSerialDeviceCreate",
    ),
    Case(
        "Mutation.locationSerialDeviceCreate(input.templateId)",
        "SerialDeviceTemplate",
        mutation("locationSerialDeviceCreate", "LocationSerialDeviceCreateInput", "serialDevice { name }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "templateId": x}},
        root="locationSerialDeviceCreate",
    ),
    Case(
        "Mutation.locationSerialDeviceUpdate(input.id)",
        "LocationSerialDevice",
        mutation("locationSerialDeviceUpdate", "LocationSerialDeviceUpdateInput", "serialDevice { baudRate }"),
        lambda t, x: {"input": {"id": x, "baudRate": 115200}},
        root="locationSerialDeviceUpdate",
    ),
    Case(
        "Mutation.locationSerialDeviceDelete(input.id)",
        "LocationSerialDevice",
        mutation("locationSerialDeviceDelete", "LocationSerialDeviceDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="locationSerialDeviceDelete",
    ),
    Case(
        "Mutation.serialDeviceTemplateCreate(input.organisationId)",
        "Organisation",
        mutation("serialDeviceTemplateCreate", "SerialDeviceTemplateCreateInput", "serialDeviceTemplate { name }"),
        lambda t, x: {"input": {"organisationId": x, "name": "Planted", **SERIAL_SETTINGS}},
        root="serialDeviceTemplateCreate",
    ),
    Case(
        "Mutation.serialDeviceTemplateUpdate(input.id)",
        "SerialDeviceTemplate",
        mutation("serialDeviceTemplateUpdate", "SerialDeviceTemplateUpdateInput", "serialDeviceTemplate { parity }"),
        lambda t, x: {"input": {"id": x, "parity": "ODD"}},
        root="serialDeviceTemplateUpdate",
    ),
    Case(
        "Mutation.serialDeviceTemplateDelete(input.id)",
        "SerialDeviceTemplate",
        mutation("serialDeviceTemplateDelete", "SerialDeviceTemplateDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="serialDeviceTemplateDelete",
    ),
    Case(
        "Query.configurationGroups(filter.organisationId)",
        "Organisation",
        "query($id: ID!) { configurationGroups(filter: {organisationId: $id}) { totalCount nodes { name } } }",
        lambda t, x: {"id": x},
        root="configurationGroups",
    ),
    Case(
        "Query.configurationGroupRouters(configurationGroupId)",
        "ConfigurationGroup",
        "query($id: ID!) { configurationGroupRouters(configurationGroupId: $id) { totalCount nodes { commonName } } }",
        lambda t, x: {"id": x},
        root="configurationGroupRouters",
    ),
    Case(
        "Mutation.configurationGroupCreate(input.organisationId)",
        "Organisation",
        mutation("configurationGroupCreate", "ConfigurationGroupCreateInput", "configurationGroup { name }"),
        lambda t, x: {"input": {"organisationId": x, "name": "Planted"}},
        root="configurationGroupCreate",
    ),
    Case(
        "Mutation.configurationGroupUpdate(input.id)",
        "ConfigurationGroup",
        mutation("configurationGroupUpdate", "ConfigurationGroupUpdateInput", "configurationGroup { name }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed"}},
        root="configurationGroupUpdate",
    ),
    Case(
        "Mutation.configurationGroupDelete(input.id)",
        "ConfigurationGroup",
        mutation("configurationGroupDelete", "ConfigurationGroupDeleteInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="configurationGroupDelete",
    ),
    *(
        Case(
            f"Mutation.{name}(input.{argument})",
            kind,
            mutation(name, "ConfigurationGroupRouterInput", "configurationGroup { name }"),
            variables,
            root=name,
        )
        for name in ("configurationGroupAddRouter", "configurationGroupRemoveRouter")
        for argument, kind, variables in (
            (
                "configurationGroupId",
                "ConfigurationGroup",
                lambda t, x: {"input": {"configurationGroupId": x, "routerId": t.id("Router", "a")}},
            ),
            (
                "routerId",
                "Router",
                lambda t, x: {"input": {"configurationGroupId": t.id("ConfigurationGroup", "a"), "routerId": x}},
            ),
        )
    ),
    Case(
        "Mutation.locationDeviceTemplateLink(input.locationId)",
        "Location",
        mutation("locationDeviceTemplateLink", "LocationDeviceTemplateLinkInput", "device { name templateLinked }"),
        lambda t, x: {"input": {"locationId": x, "templateId": t.id("DeviceTemplate", "a")}},
        root="locationDeviceTemplateLink",
    ),
    Case(
        "Mutation.locationDeviceTemplateLink(input.templateId)",
        "DeviceTemplate",
        mutation("locationDeviceTemplateLink", "LocationDeviceTemplateLinkInput", "device { name templateLinked }"),
        lambda t, x: {"input": {"locationId": t.id("Location", "a"), "templateId": x}},
        root="locationDeviceTemplateLink",
    ),
    Case(
        "Mutation.locationDeviceTemplateCopy(input.deviceId)",
        "LinkedDevice",
        mutation("locationDeviceTemplateCopy", "LocationDeviceTemplateLinkEndInput", "device { templateLinked }"),
        lambda t, x: {"input": {"deviceId": x}},
        root="locationDeviceTemplateCopy",
    ),
    Case(
        "Mutation.locationDeviceTemplateUnlink(input.deviceId)",
        "LinkedDevice",
        mutation("locationDeviceTemplateUnlink", "LocationDeviceTemplateLinkEndInput", "deletedId"),
        lambda t, x: {"input": {"deviceId": x}},
        root="locationDeviceTemplateUnlink",
    ),
    Case(
        "Mutation.routerRename(input.routerId)",
        "Router",
        mutation("routerRename", "RouterRenameInput", "router { commonName }"),
        lambda t, x: {"input": {"routerId": x, "commonName": "R_RENAMED"}},
        root="routerRename",
    ),
]

# portal (issue 18): A's customer A1 (licences, routers), local network, firewall rules
PORTAL_NETWORK = {"subnet": "192.168.10.0/24", "gateway": "192.168.10.1", "dnsServers": ["9.9.9.9"]}
CASES += [
    Case(
        "Mutation.customerLicencesGive(input.customerId)",
        "Organisation",
        mutation("customerLicencesGive", "CustomerLicencesInput", "licences"),
        lambda t, x: {"input": {"customerId": x, "count": 1}},
        root="customerLicencesGive",
    ),
    Case(
        "Mutation.customerLicencesTakeBack(input.customerId)",
        "Organisation",
        mutation("customerLicencesTakeBack", "CustomerLicencesInput", "licences"),
        lambda t, x: {"input": {"customerId": x, "count": 1}},
        root="customerLicencesTakeBack",
    ),
    Case(
        "Mutation.customerRouterAssign(input.routerId)",
        "Router",
        mutation("customerRouterAssign", "CustomerRouterAssignInput", "router { commonName }"),
        lambda t, x: {"input": {"routerId": x, "customerId": t.id("Organisation", "a")}},
        root="customerRouterAssign",
    ),
    Case(
        "Mutation.customerRouterAssign(input.customerId)",
        "Organisation",
        mutation("customerRouterAssign", "CustomerRouterAssignInput", "router { commonName }"),
        lambda t, x: {"input": {"routerId": t.id("Router", "a"), "customerId": x}},
        root="customerRouterAssign",
    ),
    Case(
        "Mutation.customerRouterTakeBack(input.routerId)",
        "CustomerRouter",
        mutation("customerRouterTakeBack", "CustomerRouterTakeBackInput", "router { commonName }"),
        lambda t, x: {"input": {"routerId": x}},
        root="customerRouterTakeBack",
    ),
    Case(
        "Mutation.localNetworkDefaultsSet(input.organisationId)",
        "Organisation",
        mutation("localNetworkDefaultsSet", "NetworkDefaultsSetInput", "settings { subnet }"),
        lambda t, x: {"input": {"organisationId": x, **PORTAL_NETWORK}},
        root="localNetworkDefaultsSet",
    ),
    Case(
        "Mutation.locationNetworkSet(input.locationId)",
        "Location",
        mutation("locationNetworkSet", "LocationNetworkSetInput", "location { name }"),
        lambda t, x: {"input": {"locationId": x, **PORTAL_NETWORK}},
        root="locationNetworkSet",
    ),
    Case(
        "Query.firewallRules(organisationId)",
        "Organisation",
        "query($id: ID) { firewallRules(organisationId: $id) { totalCount nodes { id ports } } }",
        lambda t, x: {"id": x},
        root="firewallRules",
    ),
    Case("Query.node(id)", "FirewallRule", NODE, lambda t, x: {"id": x}, root="node", label="FirewallRule"),
]

# clients (issue 18): another user's client reads like an unknown one; effectiveAccess of another tenant's
# location lists nobody
CASES += [
    Case(
        "Query.effectiveAccess(locationId)",
        "Location",
        "query($id: ID!) { effectiveAccess(locationId: $id) { totalCount nodes { user { email } via } } }",
        lambda t, x: {"id": x},
        root="effectiveAccess",
    ),
    Case(
        "Mutation.clientRename(input.id)",
        "RemoteClient",
        mutation("clientRename", "ClientRenameInput", "client { name }"),
        lambda t, x: {"input": {"id": x, "name": "Renamed"}},
        root="clientRename",
    ),
    Case(
        "Mutation.clientRemove(input.id)",
        "RemoteClient",
        mutation("clientRemove", "ClientRemoveInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="clientRemove",
    ),
]

# login identity (issue 18): themes and login domains of an organisation one sees
CASES += [
    Case(
        "Mutation.themeSet(input.organisationId)",
        "Organisation",
        mutation("themeSet", "ThemeSetInput", "organisation { theme { name } }"),
        lambda t, x: {"input": {"organisationId": x, "name": "Themed"}},
        root="themeSet",
    ),
    Case(
        "Query.loginDomains(organisationId)",
        "Organisation",
        "query($id: ID!) { loginDomains(organisationId: $id) { totalCount nodes { domain } } }",
        lambda t, x: {"id": x},
        root="loginDomains",
    ),
    Case(
        "Mutation.loginDomainAdd(input.organisationId)",
        "Organisation",
        mutation("loginDomainAdd", "LoginDomainAddInput", "loginDomain { domain }"),
        lambda t, x: {"input": {"organisationId": x, "domain": "portal.new.example"}},
        root="loginDomainAdd",
    ),
    Case(
        "Mutation.loginDomainVerify(input.id)",
        "LoginDomain",
        mutation("loginDomainVerify", "LoginDomainIdInput", "loginDomain { state }"),
        lambda t, x: {"input": {"id": x}},
        root="loginDomainVerify",
    ),
    Case(
        "Mutation.loginDomainDelete(input.id)",
        "LoginDomain",
        mutation("loginDomainDelete", "LoginDomainIdInput", "deletedId"),
        lambda t, x: {"input": {"id": x}},
        root="loginDomainDelete",
    ),
]

# SAML sign-in (issue 19): the SAML configuration of an organisation one sees
CASES += [
    Case(
        "Query.samlConfiguration(organisationId)",
        "Organisation",
        "query($id: ID) { samlConfiguration(organisationId: $id) { organisationId mode attributeEmail } }",
        lambda t, x: {"id": x},
        root="samlConfiguration",
    ),
    Case(
        "Mutation.samlConfigure(input.organisationId)",
        "Organisation",
        mutation("samlConfigure", "SamlConfigureInput", "configuration { attributeEmail }"),
        lambda t, x: {"input": {"organisationId": x, "attributeEmail": "mail"}},
        root="samlConfigure",
    ),
]

# A control call uses the visible object of the case's kind (for organisations: the child A1);
# these cases need tenant A itself, where the seeded partner link, group and child are.
A_ITSELF = {
    "Query.organisations(filter.parentId)",
    "Query.userGroups(filter.organisationId)",
    "Mutation.partnerRemove(input.organisationId)",
    "Mutation.organisationCreate(input.parentId)",  # A1 may not create organisations
    "Query.batches(filter.organisationId)",  # the seeded batch is addressed to A
    "Query.deviceTemplates(filter.organisationId)",  # the seeded template is A's
    # access: the seeded location group and external user are A's
    "Query.locationGroups(filter.organisationId)",
    "Query.externalUsers(filter.organisationId)",
    "Query.externalUserInvitations(filter.organisationId)",
    "Mutation.externalUserRemove(input.organisationId)",
    # issue 18 (serial): the seeded serial device template and configuration group are A's
    "Query.serialDeviceTemplates(filter.organisationId)",
    "Query.configurationGroups(filter.organisationId)",
}

# Fields only platform admins may use (who see every tenant): no tenant admin can call them at all.
# Their tenancy, for anyone granted OUTBOX_READ besides, is tested in tests/mail/test_outbox_api.py
# (a reader of tenant A sees B's mail exactly like unknown mail; only platform admins may resend).
PLATFORM_ONLY = {
    "Query.outboxMessages(filter.organisationId)",
    "Mutation.outboxMessageRetry(input.id)",
    # routers are registered and assigned by the platform (tenancy of what tenants see: tests/remote)
    "Mutation.routerRegister(input.organisationId)",
    "Mutation.routerAssign(input.routerId)",
    "Mutation.routerAssign(input.organisationId)",
    "Mutation.routerRegisterBulk(input.organisationId)",
    # connection licences are set by the platform (part: connections; tests/remote/test_connections.py)
    "Mutation.connectionLicenceSet(input.organisationId)",
    # firewall rules are kept by the platform (portal, issue 18; tests/remote/test_firewall_rules.py)
    "Mutation.firewallRuleCreate(input.organisationId)",
    "Mutation.firewallRuleDelete(input.id)",
}


# Subscriptions run over websockets: their ID filters have the same two tests in tests/remote/test_live_state.py
# and tests/monitoring/test_alarm_stream.py
# (another tenant's ID reads like an unknown one; malformed IDs get a typed error).
OVER_WEBSOCKETS = {
    "Subscription.routerConnectionState(filter.routerIds)",
    "Subscription.routerConnectionState(filter.locationIds)",
    # tests/monitoring/test_alarm_stream.py
    "Subscription.alarms(filter.locationIds)",
    "Subscription.alarms(filter.profileIds)",
}


def test_every_id_argument_has_a_tenancy_case():
    """A new field that takes an ID fails here until it gets a case above."""
    in_schema = id_arguments(build_schema()._schema)
    covered = {case.argument for case in CASES} | PLATFORM_ONLY | OVER_WEBSOCKETS
    assert in_schema - covered == set(), f"ID arguments without a tenancy case: {sorted(in_schema - covered)}"
    assert covered - in_schema == set(), f"cases for arguments that no longer exist: {sorted(covered - in_schema)}"
    # the walk itself finds nested and list IDs
    assert {
        "Query.nodes(ids)",
        "Mutation.userGroupCreate(input.memberIds)",
        "Query.users(filter.organisationId)",
    } <= in_schema


def normalise(response: dict, global_id: str) -> str:
    return json.dumps(response, sort_keys=True).replace(json.dumps(global_id)[1:-1], "<ID>")


def reached(case: Case, response: dict) -> bool:
    """Whether the call found the object (the control's answer)."""
    data = (response.get("data") or {}).get(case.root)
    if case.is_mutation:
        return data is not None and data["errors"] == []
    if case.root == "node":
        return data is not None
    if case.root == "nodes":
        return data is not None and all(item is not None for item in data)
    # a single object (samlConfiguration) is reached when it is there; a list when it has items
    return data is not None and data.get("totalCount", 1) > 0


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_other_tenants_id_reads_like_an_unknown_one(gql, tenancy, runtime, case):
    token = tenancy.world.tokens[case.token]
    other, unknown = tenancy.id(case.kind, "b"), tenancy.id(case.kind, "unknown")
    before = await snapshot(runtime)

    with_other = await gql(case.document, case.variables(tenancy, other), token=token)
    with_unknown = await gql(case.document, case.variables(tenancy, unknown), token=token)
    assert await snapshot(runtime) == before, "a call with another tenant's or an unknown ID changed the database"

    assert normalise(with_other, other) == normalise(with_unknown, unknown)
    assert not reached(case, with_other)
    if case.is_mutation:
        assert [e["code"] for e in with_other["data"][case.root]["errors"]] == ["NOT_FOUND"]

    # control: an ID of A's own is reached, so the sameness above is not a blanket refusal
    own = tenancy.world.id("Organisation", "a") if case.argument in A_ITSELF else tenancy.id(case.kind, "a")
    with_own = await gql(case.document, case.variables(tenancy, own), token=token)
    assert reached(case, with_own), with_own
    assert normalise(with_own, own) != normalise(with_unknown, unknown)


def malformed_ids(tenancy: Tenancy, case: Case) -> dict[str, str]:
    kind = case.kind
    own_pk = tenancy.pks[kind]["a"]
    wrong_kind = "Organisation" if kind != "Organisation" else "User"

    def encoded(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    ids = {
        "punctuation": "!!!",
        "empty": "",
        "whitespace": "   ",
        "base64 of garbage": encoded(b"\xff\xfe\x00garbage\x80"),
        "no separator": encoded(kind.encode()),
        "no number": encoded(f"{kind}:".encode()),
        "not a number": encoded(f"{kind}:abc".encode()),
        "negative": encoded(f"{kind}:-1".encode()),
        "non-ASCII digits": encoded(f"{kind}:\u0661".encode()),
        "beyond 32 bits": to_global_id(kind, 2**40),
        "very long number": encoded(f"{kind}:{'9' * 40}".encode()),
        "very long string": "A" * 10_000,
        "unknown type": to_global_id("Nonsense", own_pk),
    }
    if case.root not in ("node", "nodes"):  # node(id) takes any type
        # the pk of a visible object under another type: must not resolve to that object
        ids["wrong type, visible pk"] = to_global_id(wrong_kind, own_pk)
    return ids


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_malformed_ids_get_a_typed_error_or_null(gql, tenancy, runtime, case):
    token = tenancy.world.tokens[case.token]
    before = await snapshot(runtime)
    for label, bad in malformed_ids(tenancy, case).items():  # the database is compared once, after all of them
        response = await gql.raw(case.document, case.variables(tenancy, bad), token=token)
        assert response.status_code < 500, (label, response.text)
        body = response.json()
        for error in body.get("errors", []):
            assert error.get("extensions", {}).get("code") not in (None, "INTERNAL_SERVER_ERROR"), (label, error)
        data = (body.get("data") or {}).get(case.root)
        if case.is_mutation:
            # a payload with a typed error, or (if the ID failed coercion) a request error
            assert (data is not None and data["errors"]) or body.get("errors"), (label, body)
            if data is not None:
                assert [e["code"] for e in data["errors"]] in (["NOT_FOUND"], ["INVALID"]), (label, data)
        elif case.root == "node":
            assert data is None, (label, body)
        elif case.root == "nodes":
            assert data is not None and data[1] is None and data[0] is not None, (label, body)
        else:
            assert data is None and [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (
                label,
                body,
            )
    assert await snapshot(runtime) == before, "a call with a malformed ID changed the database"
