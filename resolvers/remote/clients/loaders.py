"""Whose clients a caller sees: only their own (a client is a user's program, not an organisation's)."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import rows_by_id
from models import clients as cl


def client_visible(principal) -> ColumnElement[bool]:
    return cl.RemoteClient.user_id == principal.user_id


visible_clients = rows_by_id(cl.RemoteClient, client_visible)
