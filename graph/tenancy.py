"""Who sees what: a caller sees their organisation and its descendants (platform admins see all)."""

from __future__ import annotations

from sqlalchemy import Select, select, true
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Principal
from models.identity import Organisation


def organisation_visible(principal: Principal) -> ColumnElement[bool]:
    if principal.is_platform_admin:
        return true()
    return Organisation.path.startswith(principal.organisation_path, autoescape=True)


def visible_organisation_ids(principal: Principal) -> Select[tuple[int]]:
    return select(Organisation.id).where(organisation_visible(principal))


def path_visible(principal: Principal, path: str) -> bool:
    return principal.is_platform_admin or path.startswith(principal.organisation_path)
