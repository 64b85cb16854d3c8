"""The event history: the `auditEvents` query, its live subscription, and node lookup."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from functools import partial
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.auth import reauthenticate
from graph.context import Context
from graph.errors import BadUserInput
from graph.filters import contains
from graph.lookahead import LookAhead
from graph.permissions import needs, require_permission
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from graph.tenancy import path_visible
from models.audit import AuditEvent as AuditEventModel
from models.identity import Permission
from resolvers.audit.loaders import audit_events, event_visible, visible_audit_events
from resolvers.audit.types import AuditEvent
from subscriptions import channels
from subscriptions.delivery import sent
from subscriptions.log import LoggedEvent
from subscriptions.stream import AFTER_DESCRIPTION, parse_cursor


@strawberry.input(description="Narrow the event history.")
class AuditEventFilter:
    action: str | None = strawberry.field(default=None, description='Exact action, e.g. "user.login_failed".')
    actor: str | None = strawberry.field(default=None, description="Actor contains (case-insensitive).")
    since: datetime | None = strawberry.field(default=None, description="At or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Before this time.")
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="About this location (data monitoring actions record their location)."
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Event history of your organisation and its descendants, newest first.",
        permission_classes=[needs(Permission.AUDIT_READ)],
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[AuditEvent]:
        statement = select(AuditEventModel).where(event_visible(info.context.principal))
        if filter is not None:
            if filter.action:
                if "\x00" in filter.action:  # PostgreSQL rejects NUL with an error; nothing could match it
                    raise BadUserInput("Text filters cannot contain NUL characters.", argument="filter.action")
                statement = statement.where(AuditEventModel.action == filter.action)
            if filter.actor:
                statement = statement.where(contains(AuditEventModel.actor_label, filter.actor, "filter.actor"))
            if filter.since:
                statement = statement.where(AuditEventModel.created_at >= filter.since)
            if filter.until:
                statement = statement.where(AuditEventModel.created_at < filter.until)
            if filter.location_id is not None:
                # the organisation filter above keeps other tenants' events out whatever the ID names
                location_pk = decode_id(filter.location_id, "Location")
                if location_pk is None:
                    raise BadUserInput("Not a location ID.", argument="filter.locationId")
                statement = statement.where(AuditEventModel.location_id == location_pk)
        keys = [SortKey(AuditEventModel.id, descending=True)]
        return await paginate(
            info.context,
            statement,
            keys,
            AuditEvent.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, AuditEvent),
        )


@strawberry.type
class AuditSubscription:
    @strawberry.subscription(
        description="Audit events of your organisation and its descendants as they are recorded.",
        permission_classes=[needs(Permission.AUDIT_READ)],
    )
    async def audit_event_recorded(
        self,
        info: Info,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
    ) -> AsyncGenerator[AuditEvent, None]:
        context = info.context
        principal = require_permission(context, Permission.AUDIT_READ)
        async for event in context.runtime.events.subscribe(
            channels.AUDIT,
            parse_cursor(after),
            context.subscription_owner(Permission.AUDIT_READ),
            partial(_could_see, context),
        ):
            path = event.payload["organisationPath"]
            if not path_visible(principal, path):
                continue
            # Logout, expiry, deactivation or a withdrawn permission end the subscription. The event's row and
            # the tokens of all its subscribers are loaded once for all of them (event.shared).
            await reauthenticate(context, event.shared)
            principal = require_permission(context, Permission.AUDIT_READ)
            context.reset_loaders()
            row = await event.shared(audit_events).load(event.payload["id"])
            if row is not None and path_visible(principal, path):
                result = event.shared.value("audit-event", AuditEvent.from_model, row, str(event.cursor))
                if not await sent(event, result, context):
                    yield result


def _could_see(context: Context, event: LoggedEvent) -> bool:
    """At dispatch, without waking the subscription: False only when its checked rights rule the event out."""
    principal = context.principal
    if principal is None or not event.shared.rights_checked(context):
        return True
    return path_visible(principal, event.payload["organisationPath"])


NODE_RESOLVERS = {
    "AuditEvent": (
        Permission.AUDIT_READ,
        node_loader(visible_audit_events, AuditEvent.from_model),
    ),
}
