"""DataLoader batch functions of federated identities and SAML links (one statement per batch).

A user's identities are seen by the user and by whoever may read that user (USERS_READ within the caller's
organisations): the condition is part of the statement, so another tenant's identity loads like none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select

from graph.context import Principal
from graph.loaders import related_rows, rows_by_id
from graph.tenancy import visible_organisation_ids
from models import federation as fed
from models import identity as m
from models import saml as saml_models


def readable_user(user_id: Any) -> Any:
    """Visibility of rows keyed by `user_id`: the caller's own, or any of a user the caller may read."""

    def visible(principal: Principal) -> ColumnElement[bool]:
        own = user_id == principal.user_id
        if m.Permission.USERS_READ not in principal.permissions:
            return own
        readable = select(m.User.id).where(m.User.organisation_id.in_(visible_organisation_ids(principal)))
        return or_(own, user_id.in_(readable))

    return visible


FI = fed.FederatedIdentity
identities_by_user = related_rows(FI, FI.user_id, order_by=(FI.linked_at, FI.id), visible=readable_user(FI.user_id))
visible_identities = rows_by_id(FI, readable_user(FI.user_id))
saml_links_by_user = rows_by_id(
    saml_models.SamlLink, readable_user(saml_models.SamlLink.user_id), key=saml_models.SamlLink.user_id
)
