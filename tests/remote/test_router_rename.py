"""A router's common name after a factory reset (the manual, §5): routerRename, by platform admins for any
router and by an organisation's admins for the routers of their subtree; audited, unique."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from models import remote as r
from models.audit import AuditEvent
from tests.factories import snapshot
from tests.remote.helpers import LOCATION_CREATE, grant_location, register

RENAME = """mutation($input: RouterRenameInput!) { routerRename(input: $input) {
  router { id commonName macAddress } errors { code field message } } }"""


async def rename(gql, world, token: str, **given) -> dict:
    result = await gql(RENAME, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["routerRename"]


async def refused(gql, world, runtime, token: str, **given):
    before = await snapshot(runtime)
    payload = await rename(gql, world, token, **given)
    assert await snapshot(runtime) == before and payload["router"] is None
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_admins_rename_their_routers_and_it_is_audited(gql, world, runtime):
    router = await register(gql, world, "R_OLD1", "00:00:00:00:00:01", "SN1")
    child = await register(gql, world, "R_CHILD", "00:00:00:00:00:02", "SN2", organisation="a1")
    renamed = await rename(gql, world, "admin_a", routerId=router, commonName=" r_new1 ")
    assert renamed["errors"] == [] and renamed["router"]["commonName"] == "R_NEW1"
    assert (await rename(gql, world, "admin_a", routerId=child, commonName="R_CHILD2"))["errors"] == []
    assert (await rename(gql, world, "platform", routerId=router, commonName="R_NEW2"))["errors"] == []
    # the same name again changes nothing and records nothing
    assert (await rename(gql, world, "platform", routerId=router, commonName="R_NEW2"))["errors"] == []
    async with runtime.session_factory() as session:
        events = (
            (
                await session.execute(
                    select(AuditEvent.details).where(AuditEvent.action == "router.renamed").order_by(AuditEvent.id)
                )
            )
            .scalars()
            .all()
        )
        names = (await session.scalars(select(r.Router.common_name).order_by(r.Router.id))).all()
    assert [(e["oldCommonName"], e["commonName"]) for e in events] == [
        ("R_OLD1", "R_NEW1"),
        ("R_CHILD", "R_CHILD2"),
        ("R_NEW1", "R_NEW2"),
    ]
    assert names == ["R_NEW2", "R_CHILD2"]


async def test_refusals_are_typed_and_change_nothing(gql, world, runtime):
    router = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN1")
    await register(gql, world, "R_A2", "00:00:00:00:00:02", "SN2")
    b_router = await register(gql, world, "R_B1", "00:00:00:00:00:03", "SN3", organisation="b")
    unassigned = await register(gql, world, "R_FREE", "00:00:00:00:00:04", "SN4", organisation=None)
    for given, expected in (
        ({"commonName": "R_A2"}, ("DUPLICATE", ["commonName"])),
        ({"commonName": "r_a2"}, ("DUPLICATE", ["commonName"])),
        ({"commonName": "   "}, ("REQUIRED", ["commonName"])),
        ({"commonName": "ROUTER 1"}, ("INVALID", ["commonName"])),
        ({"commonName": "R_" + "X" * 62}, ("INVALID", ["commonName"])),
    ):
        assert await refused(gql, world, runtime, "admin_a", routerId=router, **given) == [expected], given
    assert await refused(gql, world, runtime, "admin_a", routerId=b_router, commonName="R_MINE") == [
        ("NOT_FOUND", ["routerId"])
    ]
    assert await refused(gql, world, runtime, "admin_a", routerId=unassigned, commonName="R_MINE") == [
        ("NOT_FOUND", ["routerId"])
    ]
    # plain users may not rename (not even a router at a location granted to them)
    forbidden = await gql(RENAME, {"input": {"routerId": router, "commonName": "R_X"}}, token=world.tokens["user_a"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_router_reached_through_a_granted_location_is_not_renamed(gql, world, runtime):
    """B's admin reaches B's router only; a router of A's at a location granted to B's admin stays A's to rename."""
    router = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN1")
    made = await gql(LOCATION_CREATE, {"input": {"name": "Depot", "routerId": router}}, token=world.tokens["admin_a"])
    site = made["data"]["locationCreate"]["location"]["id"]
    await grant_location(runtime, world, "admin_b", site)
    seen = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": router}, token=world.tokens["admin_b"])
    assert seen["data"]["node"] == {"id": router}
    assert await refused(gql, world, runtime, "admin_b", routerId=router, commonName="R_MINE") == [
        ("NOT_FOUND", ["routerId"])
    ]


async def test_parallel_renames_to_one_name_have_one_winner(gql, world, runtime):
    routers = [await register(gql, world, f"R_P{n}", f"00:00:00:00:01:{n:02X}", f"SNP{n}") for n in range(8)]
    answers = await asyncio.gather(
        *(rename(gql, world, "admin_a", routerId=router, commonName="R_AFTERRESET") for router in routers)
    )
    assert sorted(tuple(e["code"] for e in a["errors"]) for a in answers) == [()] + [("DUPLICATE",)] * 7
    async with runtime.session_factory() as session:
        names = (await session.scalars(select(r.Router.common_name))).all()
        renamed = (await session.scalars(select(AuditEvent.id).where(AuditEvent.action == "router.renamed"))).all()
    assert names.count("R_AFTERRESET") == 1 and len(renamed) == 1
