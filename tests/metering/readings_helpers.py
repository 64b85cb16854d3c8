"""Test data of the readings tests: meters (catalogue devices) bound to metering points, written straight with
the models (the metering points work has its own mutations and tests), and a meter gateway token."""

from __future__ import annotations

from dataclasses import dataclass

from graph.auth import hash_token
from models import metering as mt
from models.identity import Role
from tests.factories import World, add_device, add_user, issue_token, product_type_ids

WATER_METER = "TOPAS Lora W8"


@dataclass
class Meters:
    """meters: serial -> device pk; points: name -> metering point pk; tokens: consumer name -> API token."""

    meters: dict[str, int]
    points: dict[str, int]
    tokens: dict[str, str]


async def add_point(session, organisation_id: int, meter_id: int | None, room: str, **fields) -> mt.MeteringPoint:
    fields.setdefault("resource", mt.Resource.COLD_WATER)
    fields.setdefault("time_zone", "Europe/Moscow")
    point = mt.MeteringPoint(organisation_id=organisation_id, meter_id=meter_id, room_name=room, **fields)
    session.add(point)
    await session.flush()
    return point


async def add_gateway_token(session, organisation_id: int, secret: str) -> mt.MeterGatewayToken:
    token = mt.MeterGatewayToken(organisation_id=organisation_id, name="Network server", token_hash=hash_token(secret))
    session.add(token)
    await session.flush()
    return token


async def seed_meters(runtime, world: World) -> Meters:
    """Tenant A owns meters 33100050 and 33100051, tenant B meter 44100050; consumers Anna and Boris (in A) have a
    point each for A's meters, B's staff one for B's meter."""
    types = await product_type_ids(runtime)
    async with runtime.session_factory() as session, session.begin():
        a, b = world.organisations["a"], world.organisations["b"]
        meters = {
            serial: (await add_device(session, serial, types[WATER_METER], owner.id, claimed=True)).id
            for serial, owner in (("33100050", a), ("33100051", a), ("44100050", b))
        }
        anna = await add_user(session, a, "anna@consumers.example", [Role.CONSUMER])
        boris = await add_user(session, a, "boris@consumers.example", [Role.CONSUMER])
        points = {
            "anna": (await add_point(session, a.id, meters["33100050"], "Flat 16 bathroom", owner_id=anna.id)).id,
            "boris": (await add_point(session, a.id, meters["33100051"], "Flat 17 kitchen", owner_id=boris.id)).id,
            "b": (await add_point(session, b.id, meters["44100050"], "Boiler room")).id,
        }
        tokens = {"anna": await issue_token(session, anna), "boris": await issue_token(session, boris)}
        return Meters(meters, points, tokens)
