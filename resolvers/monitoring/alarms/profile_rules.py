"""Alarm profiles (the manual's §21.10 "Alarm profielen"): create, update, delete.

A profile belongs to one organisation; holders of MONITORING_MANAGE manage the profiles of their subtree.
System profiles (no organisation) are seen by them and refused as NOT_ALLOWED. A profile applies to
locations and location groups of its own organisation: another tenant's reads like an unknown one
(NOT_FOUND), one of the caller's subtree but another organisation is WRONG_ORGANISATION.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import UNSET, clean_text, ensure_name_free, flush_unique
from graph.tenancy import target_organisation
from models import alarms as al
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.monitoring.alarms.engine import clear_open
from resolvers.monitoring.alarms.loaders import profile_visible
from resolvers.monitoring.errors import MonitoringErrorCode as Code
from resolvers.remote.notifications.rules import clean_groups, clean_locations

MAX_NAME = 100
MAX_DESCRIPTION = 1000
MAX_KEY = 100
MAX_FILTERS = 20
#: A day: a condition that must hold longer is a report, not an alarm.
MAX_DURATION = 86_400


@dataclass(frozen=True)
class Filter:
    key: str
    condition: al.Condition
    value: float


def clean_filters(values: Sequence[Any] | None, field: str) -> list[Filter]:
    """One or more (key, condition, value); all of them must hold."""
    values = list(values or [])
    if not values:
        raise DomainError(Code.REQUIRED, "At least one filter is required.", field)
    if len(values) > MAX_FILTERS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_FILTERS} filters.", field)
    cleaned = []
    for index, given in enumerate(values):
        key = clean_text(given.key, [field, str(index), "key"], max_length=MAX_KEY, single_line=True)
        value = float(given.value)
        if not math.isfinite(value):
            raise DomainError(Code.INVALID, "A finite number is required.", [field, str(index), "value"])
        cleaned.append(Filter(key, al.Condition(given.condition.value), value))
    return cleaned


def clean_duration(value: int | None) -> int | None:
    if value is None or value == 0:
        return None
    if not 1 <= value <= MAX_DURATION:
        raise DomainError(Code.INVALID, f"Between 0 and {MAX_DURATION} seconds (a day).", "durationSeconds")
    return value


@dataclass
class Targets:
    """The locations and groups a profile applies to; None leaves a list as it is (update)."""

    location_ids: list[int] | None = None
    group_ids: list[int] | None = None


async def _clean_targets(session, context, organisation_id: int, location_ids, group_ids) -> Targets:
    """Locations and groups of the profile's organisation, checked as notification profiles check theirs
    (another tenant's: NOT_FOUND; of the caller's subtree but another organisation: WRONG_ORGANISATION; the
    codes map by name to this domain's)."""
    targets = Targets()
    if location_ids is not UNSET:
        targets.location_ids = await clean_locations(session, context, organisation_id, location_ids or [])
    if group_ids is not UNSET:
        targets.group_ids = await clean_groups(session, context, organisation_id, group_ids or [])
    return targets


async def _write_targets(session: AsyncSession, profile_id: int, targets: Targets) -> list[str]:
    changed = []
    for name, values, model, column in (
        ("locationIds", targets.location_ids, al.AlarmProfileLocation, "location_id"),
        ("locationGroupIds", targets.group_ids, al.AlarmProfileLocationGroup, "group_id"),
    ):
        if values is None:
            continue
        await session.execute(delete(model).where(model.profile_id == profile_id))
        session.add_all(model(profile_id=profile_id, **{column: value}) for value in values)
        changed.append(name)
    await session.flush()
    return changed


async def _write_filters(session: AsyncSession, profile_id: int, kind: al.FilterKind, filters: list[Filter]) -> None:
    await session.execute(
        delete(al.AlarmProfileFilter).where(
            al.AlarmProfileFilter.profile_id == profile_id, al.AlarmProfileFilter.kind == kind
        )
    )
    session.add_all(
        al.AlarmProfileFilter(
            profile_id=profile_id, kind=kind, position=i, key=f.key, condition=f.condition, value=f.value
        )
        for i, f in enumerate(filters)
    )


async def managed_profile(session: AsyncSession, context: Context, global_id: str, field: str) -> al.AlarmProfile:
    """A profile the caller sees; a system profile is NOT_ALLOWED (read-only)."""
    pk = decode_id(global_id, "AlarmProfile")
    profile = None
    if pk is not None:
        profile = await session.scalar(
            select(al.AlarmProfile).where(al.AlarmProfile.id == pk, profile_visible(context.principal))
        )
    if profile is None:
        raise DomainError(Code.NOT_FOUND, "No such alarm profile.", field)
    if profile.organisation_id is None:
        raise DomainError(Code.NOT_ALLOWED, "System alarm profiles cannot be changed.", field)
    return profile


def _name_taken() -> DomainError:
    return DomainError(Code.DUPLICATE, "The organisation already has an alarm profile with this name.", "name")


def _profile_details(profile: al.AlarmProfile, **more: object) -> dict[str, object]:
    return {"name": profile.name, "severity": profile.severity.value, **more}


async def create_profile(session: AsyncSession, context: Context, given) -> al.AlarmProfile:
    """`given`: the create input (name, severity, description, activation and clearing filters, duration,
    organisation, locations and groups)."""
    name = clean_text(given.name, "name", max_length=MAX_NAME, single_line=True)
    description = clean_text(given.description, "description", max_length=MAX_DESCRIPTION, required=False)
    activation = clean_filters(given.activation_filters, "activationFilters")
    clearing = clean_filters(given.clearing_filters, "clearingFilters")
    duration = clean_duration(given.duration_seconds)
    organisation = await target_organisation(
        session, require_principal(context), given.organisation_id, "organisationId"
    )
    targets = await _clean_targets(
        session, context, organisation.id, given.location_ids or [], given.location_group_ids or []
    )
    await ensure_name_free(session, al.AlarmProfile, organisation.id, name, _name_taken())
    profile = al.AlarmProfile(
        organisation_id=organisation.id,
        name=name,
        severity=al.Severity(given.severity.value),
        description=description,
        duration_seconds=duration,
    )
    session.add(profile)
    await flush_unique(session, _name_taken())
    await _write_filters(session, profile.id, al.FilterKind.ACTIVATION, activation)
    await _write_filters(session, profile.id, al.FilterKind.CLEARING, clearing)
    await _write_targets(session, profile.id, targets)
    # a profile applies to several locations (or groups of them): no one location_id
    await record(
        session,
        context,
        "alarm_profile.created",
        organisation_id=organisation.id,
        target_type="AlarmProfile",
        target_id=profile.id,
        details=_profile_details(
            profile, locations=len(targets.location_ids or []), locationGroups=len(targets.group_ids or [])
        ),
    )
    return profile


_FIELDS = {"name": "name", "severity": "severity", "description": "description", "duration_seconds": "durationSeconds"}


async def update_profile(session: AsyncSession, context: Context, given) -> al.AlarmProfile:
    """Fields left out (UNSET) stay; a list given replaces the old one. Changed filters drop the pending
    starts of duration alarms: the new conditions must hold for the whole duration again."""
    profile = await managed_profile(session, context, given.id, "id")
    assert profile.organisation_id is not None  # managed_profile refuses system profiles
    changes: dict[str, object] = {}
    if given.name is not UNSET and given.name is not None:
        changes["name"] = name = clean_text(given.name, "name", max_length=MAX_NAME, single_line=True)
        await ensure_name_free(
            session, al.AlarmProfile, profile.organisation_id, name, _name_taken(), except_id=profile.id
        )
    if given.severity is not UNSET and given.severity is not None:
        changes["severity"] = al.Severity(given.severity.value)
    if given.description is not UNSET:
        changes["description"] = clean_text(
            given.description, "description", max_length=MAX_DESCRIPTION, required=False
        )
    if given.duration_seconds is not UNSET:
        changes["duration_seconds"] = clean_duration(given.duration_seconds)
    filters: dict[al.FilterKind, list[Filter]] = {}
    if given.activation_filters is not UNSET:
        filters[al.FilterKind.ACTIVATION] = clean_filters(given.activation_filters, "activationFilters")
    if given.clearing_filters is not UNSET:
        filters[al.FilterKind.CLEARING] = clean_filters(given.clearing_filters, "clearingFilters")
    targets = await _clean_targets(
        session, context, profile.organisation_id, given.location_ids, given.location_group_ids
    )
    for key, value in changes.items():
        setattr(profile, key, value)
    profile.updated_at = utcnow()
    await flush_unique(session, _name_taken())
    for kind, cleaned in filters.items():
        await _write_filters(session, profile.id, kind, cleaned)
    if filters or "duration_seconds" in changes:
        await session.execute(delete(al.AlarmPending).where(al.AlarmPending.profile_id == profile.id))
    replaced = await _write_targets(session, profile.id, targets)
    changed = sorted(_FIELDS[k] for k in changes) + sorted(
        "activationFilters" if kind is al.FilterKind.ACTIVATION else "clearingFilters" for kind in filters
    )
    # a profile applies to several locations (or groups of them): no one location_id
    await record(
        session,
        context,
        "alarm_profile.updated",
        organisation_id=profile.organisation_id,
        target_type="AlarmProfile",
        target_id=profile.id,
        details=_profile_details(profile, fields=changed + replaced),
    )
    return profile


async def delete_profile(session: AsyncSession, context: Context, profile_id: str) -> int:
    """Its filters, targets and pending starts go with it; its alarms stay in the history (with its name)
    and open ones are cleared (nothing else would clear them any more)."""
    profile = await managed_profile(session, context, profile_id, "id")
    pk, organisation_id, details = profile.id, profile.organisation_id, _profile_details(profile)
    still_open = select(al.Alarm.open_key).where(al.Alarm.profile_id == pk, al.Alarm.open_key.is_not(None))
    await clear_open(session, [key for key in (await session.scalars(still_open)).all() if key], utcnow())
    await session.delete(profile)
    await session.flush()
    # a profile applies to several locations (or groups of them): no one location_id
    await record(
        session,
        context,
        "alarm_profile.deleted",
        organisation_id=organisation_id,
        target_type="AlarmProfile",
        target_id=pk,
        details=details,
    )
    return pk
