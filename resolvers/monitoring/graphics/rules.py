"""Graphical configurations: create, change, delete (each an audit event with the location)."""

from __future__ import annotations

import math
import re
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from graph.rules import clean_text
from graph.svg import BadSvg, sanitise
from models import datalog as dl
from models import remote as r
from resolvers.monitoring.datalog.protocols import KEY
from resolvers.monitoring.datalog.rules import record_at_location
from resolvers.monitoring.errors import MonitoringErrorCode as Code
from resolvers.monitoring.graphics.types import GraphicActionKind
from resolvers.remote.scope import location_managed, visible_location

MAX_BINDINGS = 500
MAX_ITEMS = 20
COLOUR = re.compile(r"#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}|[a-z]{3,20}")


def _svg(text: str) -> tuple[str, list[str]]:
    try:
        return sanitise(text)
    except BadSvg as exc:
        raise DomainError(Code.INVALID, str(exc), "svg") from None


def _number(value: str, field: list[str], *, positive: bool = False) -> str:
    try:
        number = float(value)
    except ValueError:
        raise DomainError(Code.INVALID, "A number is needed.", field) from None
    if not math.isfinite(number) or (positive and number <= 0):
        raise DomainError(Code.INVALID, "A positive number is needed." if positive else "A number is needed.", field)
    return value.strip()


def _action(given: Any, field: list[str]) -> dict:
    value = clean_text(given.value, [*field, "value"], max_length=200, required=False, single_line=True)
    kind = given.kind
    if kind is GraphicActionKind.COLOUR and not COLOUR.fullmatch(value):
        raise DomainError(Code.INVALID, "A colour is #rgb, #rrggbb or a colour name.", [*field, "value"])
    if kind is GraphicActionKind.SIZE:
        value = _number(value, [*field, "value"], positive=True)
    if kind is GraphicActionKind.ROTATION:
        value = _number(value, [*field, "value"])
    if kind is GraphicActionKind.REMOVE and value:
        raise DomainError(Code.INVALID, "REMOVE takes no value.", [*field, "value"])
    return {"kind": kind.value, "value": value}


def _bindings(given: list[Any], element_ids: list[str]) -> list[dict]:
    if len(given) > MAX_BINDINGS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_BINDINGS} bindings.", "bindings")
    known, bindings = set(element_ids), []
    for n, binding in enumerate(given):
        at = ["bindings", str(n)]
        if binding.element_id not in known:
            raise DomainError(Code.NOT_FOUND, "The SVG has no element with this id.", [*at, "elementId"])
        if not KEY.fullmatch(binding.key):
            raise DomainError(Code.INVALID, "A key is 1-100 letters, digits, _ . or -.", [*at, "key"])
        if max(len(binding.conditions), len(binding.actions), len(binding.animations)) > MAX_ITEMS:
            raise DomainError(Code.TOO_MANY, f"At most {MAX_ITEMS} conditions, actions and animations.", at)
        if not binding.actions and not binding.animations:
            raise DomainError(Code.REQUIRED, "A binding needs an action or an animation.", [*at, "actions"])
        for c, condition in enumerate(binding.conditions):
            if not math.isfinite(condition.value):
                raise DomainError(Code.INVALID, "A number is needed.", [*at, "conditions", str(c), "value"])
        bindings.append(
            {
                "elementId": binding.element_id,
                "key": binding.key,
                "conditions": [{"operator": c.operator.value, "value": c.value} for c in binding.conditions],
                "actions": [_action(a, [*at, "actions", str(i)]) for i, a in enumerate(binding.actions)],
                "animations": sorted({a.value for a in binding.animations}),
            }
        )
    return bindings


async def create_graphic(session: AsyncSession, context: Context, given: Any) -> dl.Graphic:
    location = await visible_location(session, context, given.location_id, "locationId", managed=True)
    name = clean_text(given.name, "name", max_length=200, single_line=True)
    svg, element_ids = _svg(given.svg)
    graphic = dl.Graphic(
        location_id=location.id,
        name=name,
        svg=svg,
        element_ids=element_ids,
        bindings=_bindings(given.bindings, element_ids),
    )
    session.add(graphic)
    await session.flush()
    await record_at_location(session, context, "datalog.graphic_created", location, {"name": name})
    return graphic


async def managed_graphic(session: AsyncSession, context: Context, global_id: str) -> tuple[dl.Graphic, r.Location]:
    pk = decode_id(global_id, "Graphic")
    row = None
    if pk is not None:
        row = (
            await session.execute(
                select(dl.Graphic, r.Location)
                .join(r.Location, r.Location.id == dl.Graphic.location_id)
                .where(dl.Graphic.id == pk, location_managed(context.principal))
                .with_for_update(of=dl.Graphic)
            )
        ).first()
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such graphical configuration.", "id")
    return row[0], row[1]


async def update_graphic(session: AsyncSession, context: Context, given: Any) -> dl.Graphic:
    """Fields left out stay; a new SVG keeps the bindings whose elements it still has only if none is given."""
    graphic, location = await managed_graphic(session, context, given.id)
    if given.name is not strawberry.UNSET and given.name is not None:
        graphic.name = clean_text(given.name, "name", max_length=200, single_line=True)
    if given.svg is not strawberry.UNSET and given.svg is not None:
        graphic.svg, graphic.element_ids = _svg(given.svg)
    if given.bindings is not strawberry.UNSET and given.bindings is not None:
        graphic.bindings = _bindings(given.bindings, graphic.element_ids)
    else:
        known = set(graphic.element_ids)
        graphic.bindings = [b for b in graphic.bindings if b["elementId"] in known]
    await record_at_location(session, context, "datalog.graphic_updated", location, {"name": graphic.name})
    return graphic


async def delete_graphic(session: AsyncSession, context: Context, global_id: str) -> None:
    graphic, location = await managed_graphic(session, context, global_id)
    await record_at_location(session, context, "datalog.graphic_deleted", location, {"name": graphic.name})
    await session.delete(graphic)
