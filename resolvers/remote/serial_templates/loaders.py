"""Who sees which serial device templates, and their batch function."""

from __future__ import annotations

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models import remote as r
from models.identity import Permission


def serial_template_visible(principal) -> ColumnElement[bool]:
    """As device templates: LOCATIONS_MANAGE holders see (and manage) those of their subtree, platform
    admins all, everybody else none (a serial device's `template` is null for them)."""
    if principal.is_platform_admin:
        return true()
    if Permission.LOCATIONS_MANAGE not in principal.permissions:
        return false()
    return r.SerialDeviceTemplate.organisation_id.in_(visible_organisation_ids(principal))


visible_serial_templates = rows_by_id(r.SerialDeviceTemplate, serial_template_visible)
