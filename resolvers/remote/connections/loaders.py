"""Who sees which connections, and their batch function."""

from __future__ import annotations

from sqlalchemy import or_, true
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models import remote as r
from resolvers.remote.scope import sees_whole_subtree


def connection_visible(principal) -> ColumnElement[bool]:
    """Own connections, and for managers every connection at a location of their subtree."""
    if principal.is_platform_admin:
        return true()
    own = r.RouterConnection.user_id == principal.user_id
    if sees_whole_subtree(principal):
        # the connection's organisation is its location's (copied when it was made)
        return or_(own, r.RouterConnection.organisation_id.in_(visible_organisation_ids(principal)))
    return own


visible_connections = rows_by_id(r.RouterConnection, connection_visible)
