"""Batch functions of integrations: one statement per batch."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Principal
from graph.loaders import rows_by_id
from models import metering as mt
from resolvers.metering.scope import metering_point_visible


def integration_visible(principal: Principal) -> ColumnElement[bool]:
    """An integration is seen with its metering point (a consumer: only their own points')."""
    points = select(mt.MeteringPoint.id).where(metering_point_visible(principal))
    return mt.Integration.metering_point_id.in_(points)


visible_integrations = rows_by_id(mt.Integration, integration_visible)
