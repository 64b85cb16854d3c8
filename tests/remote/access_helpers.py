"""Shared setup of the access, location group and external user tests: locations with routers, inserted
directly (their API has its own tests), and a listener for router events."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from sqlalchemy import select

from graph.relay import to_global_id
from models import remote as r
from subscriptions import channels
from tests.factories import add_connection, add_location, add_router, add_user_group

ACCESS_SET = """mutation($input: LocationAccessSetInput!) {
  locationAccessSet(input: $input) {
    location { name users { email } userGroups { name } }
    errors { code field message }
  }
}"""
MY_LOCATIONS = "{ locations { nodes { name organisation { name } router { commonName } } } }"


@dataclass
class Places:
    """Locations (with a router each) by name, as global IDs and primary keys."""

    ids: dict[str, str] = field(default_factory=dict)
    pks: dict[str, int] = field(default_factory=dict)
    routers: dict[str, int] = field(default_factory=dict)


async def add_locations(runtime, world, spec: dict[str, str]) -> Places:
    """{location name: organisation key} -> locations, each with its own router."""
    places = Places()
    async with runtime.session_factory() as session, session.begin():
        for n, (name, organisation) in enumerate(spec.items()):
            organisation_id = world.organisations[organisation].id
            router = await add_router(
                session, organisation_id, f"R_ACC{n:03d}", f"00:00:00:AC:00:{n:02X}", f"ACC{n:03d}"
            )
            location = await add_location(session, organisation_id, name, router.id)
            places.ids[name], places.pks[name], places.routers[name] = (
                to_global_id("Location", location.id),
                location.id,
                router.id,
            )
    return places


async def add_group(runtime, world, organisation: str, name: str, members: list[str]) -> str:
    """A user group of the organisation with the given world users; its global ID."""
    async with runtime.session_factory() as session, session.begin():
        members_pks = [world.users[key].id for key in members]
        group = await add_user_group(session, world.organisations[organisation].id, name, members_pks)
        return to_global_id("UserGroup", group.id)


async def connect(runtime, world, places: Places, user: str, location: str) -> int:
    """An active connection of the user to the location (the connect API is not this part's)."""
    async with runtime.session_factory() as session, session.begin():
        location_row = await session.get(r.Location, places.pks[location])
        return (await add_connection(session, location_row, world.users[user].id, "R_ANY")).id


async def connection_row(runtime, pk: int) -> r.RouterConnection:
    async with runtime.session_factory() as session:
        return await session.scalar(select(r.RouterConnection).where(r.RouterConnection.id == pk))


async def location_names(gql, token: str) -> list[str]:
    result = await gql(MY_LOCATIONS, token=token)
    assert "errors" not in result, result
    return [node["name"] for node in result["data"]["locations"]["nodes"]]


@contextlib.asynccontextmanager
async def router_events(runtime):
    """Collects ROUTER_STATE events published while open (call `settle` before reading)."""
    listening = runtime.events.subscriber_count
    stream = runtime.events.subscribe(channels.ROUTER_STATE)
    received: list[dict] = []

    async def pump():
        async for event in stream:
            received.append(event.payload)

    task = asyncio.create_task(pump())
    for _ in range(100):
        if runtime.events.subscriber_count > listening:
            break
        await asyncio.sleep(0.02)
    try:
        yield received
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await stream.aclose()


async def wait_for(received: list, count: int) -> list:
    for _ in range(250):
        if len(received) >= count:
            break
        await asyncio.sleep(0.02)
    return received
