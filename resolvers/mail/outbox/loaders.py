"""DataLoader batch functions of the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true

from graph.loaders import related_rows, rows_by_id
from graph.tenancy import visible_organisation_ids
from models.mail import DeliveryAttempt, OutboxMessage


def message_visible(principal: Any) -> ColumnElement[bool]:
    # OUTBOX_READ is a platform admin's; should it be granted to someone else, they see only their subtree's mail
    if principal.is_platform_admin:
        return true()
    return OutboxMessage.organisation_id.in_(visible_organisation_ids(principal))


visible_outbox_messages = rows_by_id(OutboxMessage, message_visible)
#: The attempts of each mail, oldest first.
delivery_attempts = related_rows(DeliveryAttempt, DeliveryAttempt.message_id, order_by=(DeliveryAttempt.id,))
