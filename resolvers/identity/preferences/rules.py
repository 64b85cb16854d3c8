"""Personal settings (manual §15): each user sets their own language, dark mode and menu position."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.permissions import require_principal
from graph.rules import UNSET
from models import identity as m
from resolvers.audit.rules import record


@dataclass
class Preferences:
    """What is given; UNSET keeps what is stored."""

    language: str = UNSET
    dark_mode: bool = UNSET
    menu_position: m.MenuPosition = UNSET


async def set_preferences(session: AsyncSession, context: Context, given: Preferences) -> m.User:
    principal = require_principal(context)
    user = await session.get(m.User, principal.user_id, with_for_update=True)
    assert user is not None  # a signed-in user exists
    changed = {}
    for attribute, key in (("language", "language"), ("dark_mode", "darkMode"), ("menu_position", "menuPosition")):
        value = getattr(given, attribute)
        if value is not UNSET and value != getattr(user, attribute):
            setattr(user, attribute, value)
            changed[key] = value
    await session.flush()
    if changed:
        await record(
            session,
            context,
            "user.preferences_set",
            organisation_id=user.organisation_id,
            target_type="User",
            target_id=user.id,
            details=changed,
        )
    return user
