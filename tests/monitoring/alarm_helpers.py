"""Shared helpers of the alarm tests: seeding locations, storing telemetry points the way ingest does (rows
plus the POINTS_STORED hook in one transaction), and the GraphQL documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from graph.relay import from_global_id, to_global_id
from graph.workers import transaction
from models import remote as r
from models import telemetry as tel
from resolvers.monitoring.hooks import POINTS_STORED, StoredPoint

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

PROFILE = """alarmProfile { id name severity description durationSeconds system organisation { name }
  activationFilters { key condition value } clearingFilters { key condition value }
  locations { name } locationGroups { name } }"""
CREATE = f"""mutation($input: AlarmProfileCreateInput!) {{
  alarmProfileCreate(input: $input) {{ {PROFILE} errors {{ code field message }} }} }}"""
UPDATE = f"""mutation($input: AlarmProfileUpdateInput!) {{
  alarmProfileUpdate(input: $input) {{ {PROFILE} errors {{ code field message }} }} }}"""
DELETE = """mutation($input: AlarmProfileDeleteInput!) {
  alarmProfileDelete(input: $input) { deletedId errors { code field } } }"""
ALARM = """id profileName severity state occurrences lastKey lastValue acknowledgedBy clearedBy
  location { name } device { name }"""
ALARMS = f"""query($filter: AlarmFilter, $first: Int, $after: String) {{
  alarms(filter: $filter, first: $first, after: $after) {{ totalCount nodes {{ {ALARM} }}
    pageInfo {{ hasNextPage endCursor }} }} }}"""
COUNTS = """query($filter: AlarmFilter) { alarmCounts(filter: $filter) { low medium high total } }"""
ACKNOWLEDGE = f"""mutation($id: ID!) {{ alarmAcknowledge(input: {{id: $id}}) {{
  alarm {{ {ALARM} }} errors {{ code field }} }} }}"""
CLEAR = f"""mutation($id: ID!) {{ alarmClear(input: {{id: $id}}) {{ alarm {{ {ALARM} }} errors {{ code field }} }} }}"""


def pk(global_id: str) -> int:
    return from_global_id(global_id)[1]


async def seed(runtime, world) -> dict[str, str]:
    """Per tenant (a, a1, b): location Plant with router and device "HMI Pumpe 1", location Depot; group
    Plants holding Plant."""
    ids: dict[str, str] = {}
    async with runtime.session_factory() as session, session.begin():
        for n, key in enumerate(("a", "a1", "b")):
            organisation_id = world.organisations[key].id
            router = r.Router(
                common_name=f"R_{key.upper()}1",
                mac_address=f"00:00:00:00:0{n}:01",
                serial_number=f"SN-{key}",
                organisation_id=organisation_id,
                online=True,
                last_heartbeat_at=T0,
                state_changed_at=T0,
            )
            session.add(router)
            await session.flush()
            plant = r.Location(organisation_id=organisation_id, name=f"Plant {key}", router_id=router.id)
            depot = r.Location(organisation_id=organisation_id, name=f"Depot {key}")
            group = r.LocationGroup(organisation_id=organisation_id, name=f"Plants {key}")
            session.add_all([plant, depot, group])
            await session.flush()
            device = r.LocationDevice(location_id=plant.id, name="HMI Pumpe 1", ip_address=f"10.0.{n}.10")
            session.add_all([device, r.LocationGroupLocation(group_id=group.id, location_id=plant.id)])
            await session.flush()
            ids.update(
                {
                    f"plant_{key}": to_global_id("Location", plant.id),
                    f"depot_{key}": to_global_id("Location", depot.id),
                    f"group_{key}": to_global_id("LocationGroup", group.id),
                    f"device_{key}": to_global_id("LocationDevice", device.id),
                    f"router_{key}": to_global_id("Router", router.id),
                }
            )
    return ids


async def store_points(runtime, points: list[tuple[str, str | None, str, datetime, float]]) -> None:
    """(location ID, device ID or None, key, at, value): written as ingest writes them (last write wins, the
    series' latest value kept), then POINTS_STORED in the same transaction."""
    async with transaction(runtime) as session:
        stored = []
        for location_id, device_id, key, at, value in points:
            location = await session.get(r.Location, pk(location_id))
            assert location is not None
            device_pk = pk(device_id) if device_id else None
            series = await session.scalar(
                select(tel.TelemetrySeries).where(
                    tel.TelemetrySeries.location_id == location.id,
                    tel.TelemetrySeries.device_id.is_(None)
                    if device_pk is None
                    else tel.TelemetrySeries.device_id == device_pk,
                    tel.TelemetrySeries.key == key,
                )
            )
            if series is None:
                series = tel.TelemetrySeries(
                    organisation_id=location.organisation_id, location_id=location.id, device_id=device_pk, key=key
                )
                session.add(series)
                await session.flush()
            await session.merge(tel.TelemetryPoint(series_id=series.id, at=at, value=value))
            if series.last_at is None or at >= series.last_at:
                series.last_at, series.last_value = at, value
            stored.append(StoredPoint(location.organisation_id, location.id, device_pk, series.id, key, at, value))
        await session.flush()
        await POINTS_STORED(session, stored)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
