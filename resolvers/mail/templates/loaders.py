"""DataLoader batch functions of e-mail templates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models.mail import EmailTemplate


def reachable(principal: Any) -> ColumnElement[bool]:
    """System defaults and the templates of the caller's subtree."""
    return or_(
        EmailTemplate.organisation_id.is_(None),
        EmailTemplate.organisation_id.in_(visible_organisation_ids(principal)),
    )


visible_templates = rows_by_id(EmailTemplate, reachable)
