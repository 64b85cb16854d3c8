"""Writing audit events: in the same transaction as the action, published after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, publish_after_commit
from models.audit import AuditEvent
from models.identity import Organisation
from subscriptions import channels


async def record(
    session: AsyncSession,
    context: Context,
    action: str,
    *,
    organisation_id: int | None,
    target_type: str = "",
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
    actor_user_id: int | None = None,
    actor_label: str | None = None,
    client_address: str | None = None,
    location_id: int | None = None,
) -> AuditEvent:
    """Record who did `action` on what. `details` must hold no secret (no password, token or key).
    `client_address` replaces the request's (e.g. "" for an event of another tenant's history).
    `location_id`: the location the action was about, for the history filtered by location."""
    principal = context.principal
    event = AuditEvent(
        organisation_id=organisation_id,
        actor_user_id=actor_user_id if actor_user_id is not None else (principal.user_id if principal else None),
        actor_label=actor_label or (principal.email if principal else "anonymous"),
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        client_address=context.client_address if client_address is None else client_address,
        location_id=location_id,
    )
    session.add(event)
    await session.flush()
    path = ""
    if organisation_id is not None:
        organisation = await session.get(Organisation, organisation_id)
        path = organisation.path if organisation else ""
    publish_after_commit(session, channels.AUDIT, {"id": event.id, "organisationPath": path})
    return event
