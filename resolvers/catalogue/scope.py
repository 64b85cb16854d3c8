"""Who sees which catalogue rows: the visibility conditions every feature of the catalogue shares."""

from __future__ import annotations

from sqlalchemy import or_, true
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Principal
from graph.tenancy import visible_organisation_ids
from models import catalogue as c


def device_visible(principal: Principal) -> ColumnElement[bool]:
    """Devices owned within the caller's subtree; platform admins see every device (also unowned ones)."""
    if principal.is_platform_admin:
        return true()
    return c.Device.organisation_id.in_(visible_organisation_ids(principal))


def batch_visible(principal: Principal) -> ColumnElement[bool]:
    """A batch is seen by its sender and its receiver (and their ancestors)."""
    if principal.is_platform_admin:
        return true()
    visible = visible_organisation_ids(principal)
    return or_(c.Batch.organisation_id.in_(visible), c.Batch.sender_organisation_id.in_(visible))


def key_download_visible(principal: Principal) -> ColumnElement[bool]:
    """Downloads made in the caller's organisation subtree (platform admins: all)."""
    if principal.is_platform_admin:
        return true()
    return c.KeyDownload.organisation_id.in_(visible_organisation_ids(principal))
