"""DataLoader batch functions of the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models.audit import AuditEvent


def event_visible(principal: Any) -> ColumnElement[bool]:
    """Platform admins see every event (those of no organisation too); others their subtree's."""
    if principal.is_platform_admin:
        return true()
    return AuditEvent.organisation_id.in_(visible_organisation_ids(principal))


visible_audit_events = rows_by_id(AuditEvent, event_visible)

#: For the live stream's shared loaders (graph.loaders.SharedLoaders): the subscriber checks the path itself.
audit_events = rows_by_id(AuditEvent)
