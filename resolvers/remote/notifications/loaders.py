"""Who sees which notification profiles, and their batch functions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import group_by, rows_by_id
from graph.tenancy import visible_organisation_ids
from models import identity as m
from models import remote as r
from resolvers.remote.access.loaders import linked_rows, related_users


def profile_visible(principal) -> ColumnElement[bool]:
    """Profiles of the caller's subtree (platform admins: all); only LOCATIONS_MANAGE holders get here."""
    return r.NotificationProfile.organisation_id.in_(visible_organisation_ids(principal))


visible_profiles = rows_by_id(r.NotificationProfile, profile_visible)


async def users_by_profile(context, profile_ids: Sequence[int]) -> list[list[tuple[m.User, str]]]:
    return await related_users(
        context, r.NotificationProfileUser.profile_id, m.User.id == r.NotificationProfileUser.user_id, profile_ids
    )


async def emails_by_profile(context, profile_ids: Sequence[int]) -> list[list[str]]:
    async with context.session() as session:
        rows = (
            await session.execute(
                select(r.NotificationProfileEmail.profile_id, r.NotificationProfileEmail.email)
                .where(r.NotificationProfileEmail.profile_id.in_(profile_ids))
                .order_by(r.NotificationProfileEmail.email)
            )
        ).all()
    return group_by([(row[0], row[1]) for row in rows], profile_ids)


async def locations_by_profile(context, profile_ids: Sequence[int]) -> list[list[r.Location]]:
    return await linked_rows(
        context,
        r.NotificationProfileLocation.profile_id,
        r.Location,
        r.Location.id == r.NotificationProfileLocation.location_id,
        profile_ids,
        r.Location.name,
        r.Location.id,
    )


async def groups_by_profile(context, profile_ids: Sequence[int]) -> list[list[r.LocationGroup]]:
    return await linked_rows(
        context,
        r.NotificationProfileLocationGroup.profile_id,
        r.LocationGroup,
        r.LocationGroup.id == r.NotificationProfileLocationGroup.group_id,
        profile_ids,
        r.LocationGroup.name,
        r.LocationGroup.id,
    )
