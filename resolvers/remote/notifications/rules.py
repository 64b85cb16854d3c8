"""Notification profiles (the manual's "Notificatie profielen"): who is told by mail when a router at a
watched location stays offline for longer than the profile's threshold.

A profile belongs to one organisation; holders of LOCATIONS_MANAGE manage the profiles of their
subtree. Its recipients are users of the profile's organisation or below it, or external users let
into that organisation, and plain e-mail addresses; it watches locations and location groups of its
own organisation. Another tenant's profile, user, location or group reads exactly like an unknown one
(NOT_FOUND); one the caller sees but of another organisation than the profile's is WRONG_ORGANISATION.
The mails themselves are written by resolvers.remote.workers.notifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import UNSET, decode_ids, ensure_name_free, flush_unique
from graph.tenancy import visible_organisation, visible_organisation_ids
from models import identity as m
from models import remote as r
from resolvers.audit.rules import record
from resolvers.identity.accounts import clean_email
from resolvers.remote.devices.rules import clean_name
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.notifications.events import clean_events
from resolvers.remote.notifications.loaders import profile_visible

#: A week: a longer silence is no alarm any more.
MAX_MINUTES = 10_080
MAX_EMAILS = 50
MAX_USERS = 200
MAX_LOCATIONS = 500
MAX_GROUPS = 100


def clean_minutes(value: int | None, field: str, *, required: bool) -> int | None:
    if value is None:
        if required:
            raise DomainError(Code.REQUIRED, "A number of minutes is required.", field)
        return None
    if not 1 <= value <= MAX_MINUTES:
        raise DomainError(Code.INVALID, f"Between 1 and {MAX_MINUTES} minutes (a week).", field)
    return value


def clean_emails(values: Sequence[str] | None) -> list[str]:
    """Valid addresses, lower case, each once (in the order given)."""
    values = list(values or [])
    if len(values) > MAX_EMAILS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_EMAILS} e-mail addresses.", "emails")
    cleaned: list[str] = []
    for index, value in enumerate(values):
        try:
            address = clean_email(value or "", "emails")
        except DomainError:  # identity's rule, reported with this domain's code and the item's path
            raise DomainError(Code.INVALID, "Not a valid e-mail address.", ["emails", str(index)]) from None
        if address not in cleaned:
            cleaned.append(address)
    return cleaned


async def clean_users(
    session: AsyncSession, context: Context, organisation: m.Organisation, values: Sequence[str] | None
) -> list[int]:
    """Users of the profile's organisation or below it, or its external users."""
    wanted = decode_ids(values, "User", "userIds", limit=MAX_USERS)
    if not wanted:
        return []
    visible_orgs = visible_organisation_ids(require_principal(context))
    # the caller sees the users of their subtree and the external users let into it
    rows = (
        await session.execute(
            select(m.User.id, m.Organisation.path)
            .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
            .where(
                m.User.id.in_([pk for _, pk in wanted]),
                or_(
                    m.User.organisation_id.in_(visible_orgs),
                    m.User.id.in_(
                        select(r.ExternalUser.user_id).where(r.ExternalUser.organisation_id.in_(visible_orgs))
                    ),
                ),
            )
        )
    ).all()
    paths = dict(rows)
    external = set(
        (
            await session.scalars(
                select(r.ExternalUser.user_id).where(
                    r.ExternalUser.organisation_id == organisation.id,
                    r.ExternalUser.user_id.in_([pk for _, pk in wanted]),
                )
            )
        ).all()
    )
    for index, pk in wanted:
        if pk not in paths:
            raise DomainError(Code.NOT_FOUND, "No such user.", ["userIds", str(index)])
        if not (paths[pk].startswith(organisation.path) or pk in external):
            raise DomainError(
                Code.WRONG_ORGANISATION,
                "The user is neither of the profile's organisation (or below it) nor one of its external users.",
                ["userIds", str(index)],
            )
    return [pk for _, pk in wanted]


async def _of_organisation(
    session: AsyncSession,
    context: Context,
    model,
    organisation_id: int,
    values: Sequence[str] | None,
    *,
    kind: str,
    field: str,
    limit: int,
    what: str,
) -> list[int]:
    """Locations or location groups of the profile's organisation: those of the caller's subtree (a
    location granted from another organisation is not the caller's to watch), of that organisation."""
    wanted = decode_ids(values, kind, field, limit=limit)
    if not wanted:
        return []
    owners: dict[int, int] = dict(
        (
            await session.execute(
                select(model.id, model.organisation_id).where(
                    model.id.in_([pk for _, pk in wanted]),
                    model.organisation_id.in_(visible_organisation_ids(require_principal(context))),
                )
            )
        ).all()
    )
    for index, pk in wanted:
        if pk not in owners:
            raise DomainError(Code.NOT_FOUND, f"No such {what[:-1]}.", [field, str(index)])
        if owners[pk] != organisation_id:
            raise DomainError(
                Code.WRONG_ORGANISATION,
                f"The {what[:-1]} belongs to another organisation than the profile.",
                [field, str(index)],
            )
    return [pk for _, pk in wanted]


async def clean_locations(
    session: AsyncSession, context: Context, organisation_id: int, values: Sequence[str] | None
) -> list[int]:
    return await _of_organisation(
        session,
        context,
        r.Location,
        organisation_id,
        values,
        kind="Location",
        field="locationIds",
        limit=MAX_LOCATIONS,
        what="locations",
    )


async def clean_groups(
    session: AsyncSession, context: Context, organisation_id: int, values: Sequence[str] | None
) -> list[int]:
    return await _of_organisation(
        session,
        context,
        r.LocationGroup,
        organisation_id,
        values,
        kind="LocationGroup",
        field="locationGroupIds",
        limit=MAX_GROUPS,
        what="location groups",
    )


@dataclass
class Members:
    """The lists of a profile; None leaves a list as it is (update)."""

    user_ids: list[int] | None = None
    emails: list[str] | None = None
    location_ids: list[int] | None = None
    group_ids: list[int] | None = None


async def visible_profile(session: AsyncSession, context: Context, global_id: str, field: str) -> r.NotificationProfile:
    pk = decode_id(global_id, "NotificationProfile")
    profile = None
    if pk is not None:
        profile = await session.scalar(
            select(r.NotificationProfile).where(r.NotificationProfile.id == pk, profile_visible(context.principal))
        )
    if profile is None:
        raise DomainError(Code.NOT_FOUND, "No such notification profile.", field)
    return profile


def _name_taken() -> DomainError:
    return DomainError(Code.DUPLICATE, "The organisation already has a notification profile with this name.", "name")


async def _clean_members(
    session: AsyncSession,
    context: Context,
    organisation: m.Organisation,
    *,
    user_ids=UNSET,
    emails=UNSET,
    location_ids=UNSET,
    group_ids=UNSET,
) -> Members:
    return Members(
        user_ids=None if user_ids is UNSET else await clean_users(session, context, organisation, user_ids),
        emails=None if emails is UNSET else clean_emails(emails),
        location_ids=None
        if location_ids is UNSET
        else await clean_locations(session, context, organisation.id, location_ids),
        group_ids=None if group_ids is UNSET else await clean_groups(session, context, organisation.id, group_ids),
    )


async def _write_members(session: AsyncSession, profile_id: int, members: Members) -> list[str]:
    """Replace the given lists; returns the names of the lists replaced."""
    changed = []
    for name, values, model, column in (
        ("userIds", members.user_ids, r.NotificationProfileUser, "user_id"),
        ("emails", members.emails, r.NotificationProfileEmail, "email"),
        ("locationIds", members.location_ids, r.NotificationProfileLocation, "location_id"),
        ("locationGroupIds", members.group_ids, r.NotificationProfileLocationGroup, "group_id"),
    ):
        if values is None:
            continue
        await session.execute(delete(model).where(model.profile_id == profile_id))
        session.add_all(model(profile_id=profile_id, **{column: value}) for value in values)
        changed.append(name)
    await session.flush()
    return changed


async def create_profile(
    session: AsyncSession,
    context: Context,
    *,
    name: str,
    organisation_id: str | None,
    offline_minutes: int,
    repeat_minutes: int | None,
    user_ids=None,
    emails=None,
    location_ids=None,
    group_ids=None,
    events=None,
) -> r.NotificationProfile:
    """Long because it checks every list and the events (issue 18) before it writes anything."""
    name = clean_name(name)
    flags = clean_events(events)
    offline = clean_minutes(offline_minutes, "offlineMinutes", required=True)
    repeat = clean_minutes(repeat_minutes, "repeatMinutes", required=False)
    if organisation_id is None:
        organisation = await session.get(m.Organisation, require_principal(context).organisation_id)
    else:
        organisation = await visible_organisation(
            session, require_principal(context), organisation_id, "organisationId"
        )
    assert organisation is not None  # the caller's organisation exists: their user references it
    members = await _clean_members(
        session,
        context,
        organisation,
        user_ids=user_ids or [],
        emails=emails or [],
        location_ids=location_ids or [],
        group_ids=group_ids or [],
    )
    await ensure_name_free(session, r.NotificationProfile, organisation.id, name, _name_taken())
    profile = r.NotificationProfile(
        organisation_id=organisation.id, name=name, offline_minutes=offline, repeat_minutes=repeat, **flags
    )
    session.add(profile)
    await flush_unique(session, _name_taken())
    await _write_members(session, profile.id, members)
    await record(
        session,
        context,
        "notification_profile.created",
        organisation_id=organisation.id,
        target_type="NotificationProfile",
        target_id=profile.id,
        # every list was given, so none is None (`or []` only tells the type checker)
        details={
            "name": name,
            "offlineMinutes": offline,
            "repeatMinutes": repeat,
            "events": [column for column, on in flags.items() if on],
            "users": len(members.user_ids or []),
            "emails": len(members.emails or []),
            "locations": len(members.location_ids or []),
            "locationGroups": len(members.group_ids or []),
        },
    )
    return profile


async def update_profile(
    session: AsyncSession,
    context: Context,
    profile_id: str,
    *,
    name=UNSET,
    offline_minutes=UNSET,
    repeat_minutes=UNSET,
    user_ids=UNSET,
    emails=UNSET,
    location_ids=UNSET,
    group_ids=UNSET,
    events=UNSET,
) -> r.NotificationProfile:
    """Fields left out stay; a list given replaces the old one (null or [] empties it). Long because it cleans
    each field of the partial update (and the events, issue 18) in turn."""
    profile = await visible_profile(session, context, profile_id, "id")
    organisation = await session.get(m.Organisation, profile.organisation_id)
    assert organisation is not None  # the profile references its organisation (a foreign key)
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = new_name = clean_name(name)
        await ensure_name_free(
            session, r.NotificationProfile, profile.organisation_id, new_name, _name_taken(), except_id=profile.id
        )
    if offline_minutes is not UNSET:
        changes["offline_minutes"] = clean_minutes(offline_minutes, "offlineMinutes", required=True)
    if repeat_minutes is not UNSET:  # null: once per offline period
        changes["repeat_minutes"] = clean_minutes(repeat_minutes, "repeatMinutes", required=False)
    if events is not UNSET:  # null: OFFLINE only, as on create
        changes.update({k: v for k, v in clean_events(events).items() if getattr(profile, k) != v})
    members = await _clean_members(
        session,
        context,
        organisation,
        **{
            key: (value or []) if value is not UNSET else UNSET
            for key, value in (
                ("user_ids", user_ids),
                ("emails", emails),
                ("location_ids", location_ids),
                ("group_ids", group_ids),
            )
        },
    )
    for key, value in changes.items():
        setattr(profile, key, value)
    await flush_unique(session, _name_taken())
    replaced = await _write_members(session, profile.id, members)
    changed = sorted(
        {"offline_minutes": "offlineMinutes", "repeat_minutes": "repeatMinutes"}.get(
            k, "events" if k[:3] == "on_" else k
        )
        for k in changes
    )
    if changed or replaced:
        await record(
            session,
            context,
            "notification_profile.updated",
            organisation_id=profile.organisation_id,
            target_type="NotificationProfile",
            target_id=profile.id,
            details={"name": profile.name, "fields": changed + replaced},
        )
    return profile


async def delete_profile(session: AsyncSession, context: Context, profile_id: str) -> int:
    profile = await visible_profile(session, context, profile_id, "id")
    pk, name, organisation_id = profile.id, profile.name, profile.organisation_id
    await session.delete(profile)  # its lists and sent-notification rows go with it (ON DELETE CASCADE)
    await session.flush()
    await record(
        session,
        context,
        "notification_profile.deleted",
        organisation_id=organisation_id,
        target_type="NotificationProfile",
        target_id=pk,
        details={"name": name},
    )
    return pk
